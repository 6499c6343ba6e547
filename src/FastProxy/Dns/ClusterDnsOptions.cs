using System.Net;
using Microsoft.Extensions.Logging;

namespace FastProxy.Dns;

/// <summary>Settings of a <see cref="ClusterDnsServer"/>.</summary>
public sealed class ClusterDnsOptions
{
    /// <summary>The default address: loopback port 5353, which needs no privileges.</summary>
    public static readonly IPEndPoint DefaultEndPoint = new(IPAddress.Loopback, 5353);

    /// <summary>Where the server listens, on UDP and TCP alike; port 0 picks a free port (the same for both). Defaults to 127.0.0.1:5353.</summary>
    public IPEndPoint EndPoint { get; set; } = DefaultEndPoint;

    /// <summary>The cluster domain the server is authoritative for (kubelet's <c>--cluster-domain</c>). Defaults to <c>cluster.local</c>.</summary>
    public string ClusterDomain { get; set; } = "cluster.local";

    /// <summary>The TTL of every answer, negative answers included, 0 to 1 hour. Defaults to 5 seconds, as CoreDNS's kubernetes plugin.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A DNS server that questions outside the cluster domain are forwarded to (over UDP, and over TCP when
    /// its UDP answer is truncated and the client asked over TCP). Null refuses them (REFUSED). Defaults to null.
    /// </summary>
    public IPEndPoint? Upstream { get; set; }

    /// <summary>How long a forwarded question waits for the upstream's answer before the client gets SERVFAIL. Defaults to 2 seconds.</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Forwarded questions in flight at most; more get SERVFAIL at once. Defaults to 256.</summary>
    public int MaxConcurrentForwards { get; set; } = 256;

    /// <summary>The largest UDP answer offered to EDNS clients, 512-4096 bytes; larger answers are truncated (TC) and the client asks again over TCP. Defaults to 1232 (the DNS flag day 2020 value, safe from IP fragmentation).</summary>
    public int MaxUdpPayloadSize { get; set; } = 1232;

    /// <summary>Open TCP connections at most; more are closed as they are accepted. Defaults to 128.</summary>
    public int MaxTcpConnections { get; set; } = 128;

    /// <summary>How long a TCP connection may wait for (the rest of) its next query before it is closed (RFC 7766 6.2.3). Defaults to 10 seconds.</summary>
    public TimeSpan TcpIdleTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock of the TCP idle timeout and the upstream timeout. Defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the server logs; null logs nothing. Defaults to null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Checks every setting, as <see cref="ClusterDnsServer"/>'s constructor does.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message names the first bad one and why.</exception>
    public void Validate()
    {
        Check(EndPoint is not null, nameof(EndPoint), "is required");
        Check(IsDomainName(ClusterDomain), nameof(ClusterDomain), $"must be a DNS name of letters, digits and '-' such as cluster.local, got \"{ClusterDomain}\"");
        Check(Ttl >= TimeSpan.Zero && Ttl <= TimeSpan.FromHours(1), nameof(Ttl), $"must be 0 to 1 hour, got {Ttl}");
        Check(UpstreamTimeout > TimeSpan.Zero && UpstreamTimeout <= TimeSpan.FromMinutes(1), nameof(UpstreamTimeout), $"must be more than 0 and at most 1 minute, got {UpstreamTimeout}");
        Check(MaxConcurrentForwards >= 1, nameof(MaxConcurrentForwards), $"must be at least 1, got {MaxConcurrentForwards}");
        Check(MaxUdpPayloadSize is >= DnsLimits.ClassicUdpPayload and <= 4096, nameof(MaxUdpPayloadSize), $"must be 512-4096, got {MaxUdpPayloadSize}");
        Check(MaxTcpConnections >= 1, nameof(MaxTcpConnections), $"must be at least 1, got {MaxTcpConnections}");
        Check(TcpIdleTimeout > TimeSpan.Zero && TcpIdleTimeout <= TimeSpan.FromHours(1), nameof(TcpIdleTimeout), $"must be more than 0 and at most 1 hour, got {TcpIdleTimeout}");
        Check(TimeProvider is not null, nameof(TimeProvider), "is required");
    }

    /// <summary>True for a name such as <c>cluster.local</c>: labels of 1-63 letters, digits and inner '-', at most 200 characters in all (room for service names in front).</summary>
    internal static bool IsDomainName(string? name)
    {
        name = name?.TrimEnd('.');
        if (string.IsNullOrEmpty(name) || name.Length > 200)
        {
            return false;
        }

        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > DnsLimits.MaxLabelLength || label[0] == '-' || label[^1] == '-'
                || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static void Check(bool condition, string field, string reason)
    {
        if (!condition)
        {
            throw new ArgumentException($"{field}: {reason}.", field);
        }
    }
}
