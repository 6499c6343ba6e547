using System.Buffers.Binary;

namespace FastProxy.Dns;

/// <summary>The sections of a response that hold records.</summary>
internal enum DnsSection
{
    Answer,
    Authority,
    Additional,
}

/// <summary>
/// Writes one response into a caller's buffer: header, the question as asked, then records with name
/// compression (RFC 1035 4.1.4), never past a size limit. A record that does not fit is taken back
/// whole; the caller decides what that means (TC for answers, nothing for additional data).
/// </summary>
internal sealed class DnsResponseWriter
{
    // The largest record this server writes: a 255-byte owner, 10 fixed bytes, and at most two
    // 255-byte names plus 20 bytes of SOA numbers as data.
    private const int MaxRecordLength = 1024;

    private readonly byte[] _buffer;
    private readonly int _limit;

    // Name suffixes already written, by lookup form, with their offsets: what later names point to.
    private readonly Dictionary<string, int> _names = new(StringComparer.Ordinal);
    private readonly List<string> _added = [];
    private int _length;
    private ushort _answers;
    private ushort _authority;
    private ushort _additional;

    /// <param name="buffer">Where the response goes: at least <paramref name="limit"/> bytes plus room for one record.</param>
    /// <param name="limit">The largest response allowed (UDP payload size or 65535 on TCP).</param>
    public DnsResponseWriter(byte[] buffer, int limit)
    {
        if (buffer.Length < limit + MaxRecordLength)
        {
            throw new ArgumentException("The buffer must hold the limit plus one record.", nameof(buffer));
        }

        _buffer = buffer;
        _limit = limit;
    }

    /// <summary>The bytes written so far.</summary>
    public int Length => _length;

    /// <summary>The size a buffer must have for <paramref name="limit"/>.</summary>
    public static int BufferSize(int limit) => limit + MaxRecordLength;

    /// <summary>Writes the header (counts are filled in by <see cref="Finish"/>) and, when there is one, the question as the client spelled it.</summary>
    public void Start(ushort id, ushort flags, DnsQuery? question)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer, id);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(2), flags);
        _buffer.AsSpan(4, 8).Clear();
        _length = DnsLimits.HeaderLength;
        if (question is null)
        {
            return;
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(4), 1);
        RememberQuestion(question.WireName, _length);
        question.WireName.CopyTo(_buffer, _length);
        _length += question.WireName.Length;
        WriteUInt16(question.Type);
        WriteUInt16(question.Class);
    }

    /// <summary>Adds a record to a section; false (and nothing written) when it would take the response past the limit less <paramref name="reserve"/>.</summary>
    public bool TryAdd(DnsSection section, in DnsRecord record, int reserve) => section switch
    {
        DnsSection.Answer => TryAdd(record, reserve, ref _answers),
        DnsSection.Authority => TryAdd(record, reserve, ref _authority),
        _ => TryAdd(record, reserve, ref _additional),
    };

    /// <summary>Adds records to a section in order until one does not fit; false when one did not.</summary>
    public bool TryAddAll(DnsSection section, List<DnsRecord> records, int reserve)
    {
        foreach (var record in records)
        {
            if (!TryAdd(section, record, reserve))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Adds the EDNS OPT record (RFC 6891): our payload size, the high bits of an extended rcode, version 0.</summary>
    public void AddOpt(ushort payloadSize, int extendedRcode)
    {
        _buffer[_length++] = 0;
        WriteUInt16(DnsType.Opt);
        WriteUInt16(payloadSize);
        _buffer[_length++] = (byte)(extendedRcode >> 4);
        _buffer[_length++] = 0;
        WriteUInt16(0);
        WriteUInt16(0);
        _additional++;
    }

    /// <summary>Fills in the counts and returns the message's length.</summary>
    public int Finish()
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(6), _answers);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(8), _authority);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(10), _additional);
        return _length;
    }

    /// <summary>Sets or clears header flag bits after the fact (TC once truncation is known).</summary>
    public void SetFlag(ushort bit)
        => BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(2), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(2)) | bit));

    private bool TryAdd(in DnsRecord record, int reserve, ref ushort count)
    {
        var mark = _length;
        var marked = _added.Count;
        if (_length + MaxRecordLength <= _buffer.Length)
        {
            WriteRecord(record);
            if (_length <= _limit - reserve)
            {
                count++;
                return true;
            }
        }

        // Take it back, with the names it made known: nothing may point into bytes that are gone.
        _length = mark;
        for (var i = _added.Count - 1; i >= marked; i--)
        {
            _names.Remove(_added[i]);
        }

        _added.RemoveRange(marked, _added.Count - marked);
        return false;
    }

    private void WriteRecord(in DnsRecord record)
    {
        WriteName(record.Name);
        WriteUInt16(record.Type);
        WriteUInt16(1);   // IN
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(_length), record.Ttl);
        _length += 4;
        var lengthAt = _length;
        _length += 2;
        switch (record.Type)
        {
            case DnsType.A or DnsType.Aaaa:
                record.Address!.TryWriteBytes(_buffer.AsSpan(_length), out var written);
                _length += written;
                break;
            case DnsType.CName or DnsType.Ptr:
                WriteName(record.Target!);
                break;
            case DnsType.Srv:
                WriteUInt16(0);
                WriteUInt16(record.Weight);
                WriteUInt16(record.Port);
                // RFC 2782: the target is not compressed.
                WriteName(record.Target!, compress: false);
                break;
            case DnsType.Txt:
                var text = record.Text!;
                _buffer[_length++] = (byte)text.Length;
                foreach (var c in text)
                {
                    _buffer[_length++] = (byte)c;
                }

                break;
            case DnsType.Soa:
                WriteName(record.Target!);
                WriteName(record.Text!);
                foreach (var number in (ReadOnlySpan<uint>)[record.Serial, 7200, 1800, 86400, record.Ttl])
                {
                    BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(_length), number);
                    _length += 4;
                }

                break;
            default:
                throw new NotSupportedException($"Record type {record.Type} is not written by this server.");
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(lengthAt), (ushort)(_length - lengthAt - 2));
    }

    /// <summary>Writes a name in lookup form, pointing to the longest suffix already written.</summary>
    private void WriteName(string name, bool compress = true)
    {
        if (name.Length + 2 > DnsLimits.MaxNameLength)
        {
            // Kubernetes names are short, but three 63-character labels and a long zone are not.
            throw new InvalidOperationException($"The name '{name}' is longer than DNS allows.");
        }

        var rest = name;
        while (rest.Length > 0)
        {
            if (compress && _names.TryGetValue(rest, out var offset))
            {
                WriteUInt16((ushort)(0xC000 | offset));
                return;
            }

            var dot = rest.IndexOf('.', StringComparison.Ordinal);
            var label = dot < 0 ? rest : rest[..dot];
            if (label.Length is 0 or > DnsLimits.MaxLabelLength)
            {
                throw new InvalidOperationException($"The name '{name}' has an empty or too long label.");
            }

            Remember(rest, _length);
            var lengthAt = _length++;
            for (var i = 0; i < label.Length; i++)
            {
                // Our names are plain; a \DDD escape only comes from a question, which is written verbatim.
                _buffer[_length++] = (byte)label[i];
            }

            _buffer[lengthAt] = (byte)label.Length;
            rest = dot < 0 ? string.Empty : rest[(dot + 1)..];
        }

        _buffer[_length++] = 0;
    }

    /// <summary>Makes every suffix of the question's name a pointer target, so answers about it cost two bytes a name.</summary>
    private void RememberQuestion(byte[] wireName, int offset)
    {
        for (var position = 0; position < wireName.Length && wireName[position] != 0; position += 1 + wireName[position])
        {
            Remember(DnsQueryReader.Presentation(wireName.AsSpan(position)), offset + position);
        }
    }

    private void Remember(string suffix, int offset)
    {
        // A pointer has 14 bits of offset.
        if (offset < 0x4000 && suffix.Length > 0 && _names.TryAdd(suffix, offset))
        {
            _added.Add(suffix);
        }
    }

    private void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_length), value);
        _length += 2;
    }
}
