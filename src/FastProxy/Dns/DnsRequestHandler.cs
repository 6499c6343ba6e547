using System.Buffers;
using FastProxy.Catalog;

namespace FastProxy.Dns;

/// <summary>
/// Turns one query's bytes into one response's bytes, for UDP and TCP alike: reads it, asks the cluster
/// zone, and writes the answer within the transport's size (TC when the answer does not fit). Questions
/// outside the zone are refused, or handed back for the forwarder when there is an upstream.
/// </summary>
internal sealed class DnsRequestHandler
{
    private const ushort Response = 0x8000;
    private const ushort Authoritative = 0x0400;
    private const ushort Truncated = 0x0200;
    private const ushort RecursionAvailable = 0x0080;

    // What the response copies from the query: opcode, RD and CD.
    private const ushort EchoedFlags = 0x7800 | 0x0100 | 0x0010;

    private readonly ServiceCatalog _catalog;
    private readonly ClusterZone _zone;
    private readonly ushort _maxUdpPayload;
    private readonly bool _forwards;

    public DnsRequestHandler(ServiceCatalog catalog, ClusterZone zone, int maxUdpPayload, bool forwards)
    {
        _catalog = catalog;
        _zone = zone;
        _maxUdpPayload = (ushort)maxUdpPayload;
        _forwards = forwards;
    }

    /// <summary>
    /// The response to <paramref name="packet"/>; null when it gets none (not a query), or when
    /// <paramref name="forward"/> is set: the question is outside the zone and goes upstream.
    /// </summary>
    public byte[]? Answer(ReadOnlySpan<byte> packet, bool tcp, out DnsQuery? forward)
    {
        forward = null;
        var status = DnsQueryReader.Read(packet, out var query, out var id);
        switch (status)
        {
            case DnsReadStatus.Drop:
                return null;
            case DnsReadStatus.FormatError or DnsReadStatus.NotImplemented:
                var flags = packet.Length >= 4 ? (ushort)((packet[2] << 8) | packet[3]) : (ushort)0;
                return Write(id, flags, null, status == DnsReadStatus.FormatError ? DnsRcode.FormErr : DnsRcode.NotImp, null, DnsLimits.ClassicUdpPayload);
        }

        var limit = tcp ? DnsLimits.MaxMessage : query!.HasEdns ? Math.Clamp((int)query.UdpPayloadSize, DnsLimits.ClassicUdpPayload, _maxUdpPayload) : DnsLimits.ClassicUdpPayload;
        if (query!.HasEdns && query.EdnsVersion != 0)
        {
            return Write(query.Id, query.Flags, query, DnsRcode.BadVers, null, limit);
        }

        // IN, or ANY (255) as some tools send; CHAOS and the rest are not this server's.
        if (query.Class is not (1 or 255))
        {
            return Write(query.Id, query.Flags, query, DnsRcode.Refused, null, limit);
        }

        try
        {
            var answer = _zone.Resolve(query, _catalog.Current);
            if (answer is not null)
            {
                return Write(query.Id, query.Flags, query, answer.Rcode, answer, limit);
            }
        }
        catch (InvalidOperationException)
        {
            // A name the catalog holds that DNS cannot carry (longer than 255 bytes all told).
            return ServerFailure(query, tcp);
        }

        if (_forwards)
        {
            forward = query;
            return null;
        }

        return Write(query.Id, query.Flags, query, DnsRcode.Refused, null, limit);
    }

    /// <summary>SERVFAIL for a question: the upstream did not answer, or the answer could not be made.</summary>
    public byte[] ServerFailure(DnsQuery query, bool tcp)
        => Write(query.Id, query.Flags, query, DnsRcode.ServFail, null, tcp ? DnsLimits.MaxMessage : DnsLimits.ClassicUdpPayload);

    private byte[] Write(ushort id, ushort queryFlags, DnsQuery? query, int rcode, DnsAnswer? answer, int limit)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(DnsResponseWriter.BufferSize(limit));
        try
        {
            var writer = new DnsResponseWriter(buffer, limit);
            var flags = (ushort)(Response | (queryFlags & EchoedFlags) | (rcode & 0xF)
                | (answer is not null ? Authoritative : 0) | (_forwards ? RecursionAvailable : 0));
            writer.Start(id, flags, query);
            var edns = query is { HasEdns: true };
            var reserve = edns ? DnsLimits.OptRecordLength : 0;
            if (answer is not null)
            {
                var truncated = !writer.TryAddAll(DnsSection.Answer, answer.Answers, reserve)
                    || !writer.TryAddAll(DnsSection.Authority, answer.Authority, reserve);
                if (truncated)
                {
                    writer.SetFlag(Truncated);
                }
                else
                {
                    // Additional data is a courtesy (RFC 2181 9): what does not fit is left out, without TC.
                    writer.TryAddAll(DnsSection.Additional, answer.Additional, reserve);
                }
            }

            if (edns)
            {
                writer.AddOpt(_maxUdpPayload, rcode);
            }

            var length = writer.Finish();
            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
