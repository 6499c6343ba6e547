using System.Net;
using System.Net.Sockets;
using FastProxy.Transport.Memory;
using Microsoft.AspNetCore.Connections;
using Xunit;

namespace FastProxy.Transport.Tests;

/// <summary>Memory-transport specifics; the shared contract is in <see cref="TransportConformanceTests"/>.</summary>
public sealed class MemoryTransportTests
{
    [Fact]
    public async Task ConnectAsync_UnboundEndpoint_ThrowsConnectionRefused()
    {
        var transport = new MemoryTransport();
        var error = await Assert.ThrowsAsync<SocketException>(() => transport.ConnectAsync(new IPEndPoint(IPAddress.Loopback, 80)).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }

    [Fact]
    public async Task BindAsync_SameEndpointTwice_ThrowsAddressInUse()
    {
        var transport = new MemoryTransport();
        var endPoint = new IPEndPoint(IPAddress.Loopback, 5000);
        await using var listener = await transport.BindAsync(endPoint);
        await Assert.ThrowsAsync<AddressInUseException>(() => transport.BindAsync(endPoint).AsTask());

        // After unbinding, the endpoint is free again.
        await listener.UnbindAsync();
        await using var again = await transport.BindAsync(endPoint);
        Assert.Equal(endPoint, again.EndPoint);
    }

    [Fact]
    public async Task Transports_AreIsolatedNetworks()
    {
        var first = new MemoryTransport();
        await using var listener = await first.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var error = await Assert.ThrowsAsync<SocketException>(() => new MemoryTransport().ConnectAsync(listener.EndPoint).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }

    [Fact]
    public async Task NonIPEndPoint_ConnectsWithSyntheticClientEndPoint()
    {
        var transport = new MemoryTransport();
        var endPoint = new UnixDomainSocketEndPoint("/tmp/fastproxy-memory-test.sock");
        await using var listener = await transport.BindAsync(endPoint);
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await transport.ConnectAsync(endPoint).AsTask().WaitAsync(TestIO.Timeout);
        await using var server = (await accept.WaitAsync(TestIO.Timeout))!;

        Assert.Equal(endPoint, client.RemoteEndPoint);
        Assert.Equal(endPoint, server.LocalEndPoint);
        Assert.NotNull(client.LocalEndPoint);
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
    }

    [Fact]
    public async Task UnbindAsync_ResetsConnectionsNobodyAccepted()
    {
        var transport = new MemoryTransport();
        var listener = await transport.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        await using var client = await transport.ConnectAsync(listener.EndPoint).AsTask().WaitAsync(TestIO.Timeout);

        await listener.UnbindAsync();

        await Assert.ThrowsAsync<ConnectionResetException>(() => TestIO.DrainAsync(client.Transport.Input).WaitAsync(TestIO.Timeout));
    }
}
