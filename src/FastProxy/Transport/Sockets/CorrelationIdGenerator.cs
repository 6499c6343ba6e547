namespace FastProxy.Transport.Sockets;

/// <summary>
/// Connection ids in Kestrel's format: 13 base-32 characters of a process-wide counter seeded from the clock,
/// so ids from successive process runs rarely collide in aggregated logs.
/// </summary>
internal static class CorrelationIdGenerator
{
    private const string Encode32Chars = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

    private static long s_lastId = DateTime.UtcNow.Ticks;

    public static string GetNextId() => GenerateId(Interlocked.Increment(ref s_lastId));

    private static string GenerateId(long id) =>
        string.Create(13, id, static (buffer, value) =>
        {
            for (var i = buffer.Length - 1; i >= 0; i--)
            {
                buffer[i] = Encode32Chars[(int)(value & 31)];
                value >>= 5;
            }
        });
}
