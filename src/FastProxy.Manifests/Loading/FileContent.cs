using System.Text;

namespace FastProxy.Manifests.Loading;

/// <summary>Reads a file within the size limit and decodes it strictly: UTF-8 (a byte order mark may say UTF-16 or UTF-32 instead).</summary>
internal static class FileContent
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Returns the file's bytes, or null with an error when it is too big or unreadable.</summary>
    public static byte[]? Read(string path, long maxBytes, DiagnosticBag bag)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, FileOptions.SequentialScan);
            if (stream.CanSeek && stream.Length > maxBytes)
            {
                bag.Add(ManifestFiles.FileError(path, TooBig(stream.Length, maxBytes)));
                return null;
            }

            // Read at most one byte past the limit: a file that grows, or a device that never ends, stays bounded.
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, maxBytes + 1 - buffer.Length))) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > maxBytes)
                {
                    bag.Add(ManifestFiles.FileError(path, TooBig(null, maxBytes)));
                    return null;
                }
            }

            return buffer.ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
        {
            bag.Add(ManifestFiles.FileError(path, $"cannot read: {ex.Message}"));
            return null;
        }
    }

    /// <summary>Decodes <paramref name="bytes"/>; null when they are not valid text in the encoding they claim.</summary>
    public static string? Decode(byte[] bytes)
    {
        var (encoding, skip) = bytes switch
        {
            [0xEF, 0xBB, 0xBF, ..] => ((Encoding)StrictUtf8, 3),
            [0xFF, 0xFE, 0x00, 0x00, ..] => (new UTF32Encoding(bigEndian: false, byteOrderMark: false, throwOnInvalidCharacters: true), 4),
            [0x00, 0x00, 0xFE, 0xFF, ..] => (new UTF32Encoding(bigEndian: true, byteOrderMark: false, throwOnInvalidCharacters: true), 4),
            [0xFF, 0xFE, ..] => (new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true), 2),
            [0xFE, 0xFF, ..] => (new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true), 2),
            _ => (StrictUtf8, 0),
        };

        try
        {
            return encoding.GetString(bytes, skip, bytes.Length - skip);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    public static string TooBig(long? size, long maxBytes)
        => size is { } s
            ? $"file is {s} bytes, more than the limit of {maxBytes} (ManifestReadOptions.MaxFileBytes); not read"
            : $"file is more than the limit of {maxBytes} bytes (ManifestReadOptions.MaxFileBytes); not read";
}
