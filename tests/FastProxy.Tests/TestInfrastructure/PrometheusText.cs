using System.Globalization;
using System.Text;

namespace FastProxy.Tests;

/// <summary>
/// A strict parser of the Prometheus text exposition format (version 0.0.4): it throws
/// <see cref="FormatException"/>, with the line number, on anything a Prometheus server would reject or
/// that breaks the format's rules (a family's samples split up, TYPE after samples, a repeated series,
/// histogram buckets that are not cumulative or lack <c>+Inf</c>), so tests can read values from it.
/// </summary>
internal sealed class PrometheusText
{
    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    private PrometheusText(Dictionary<string, Family> families) => Families = families;

    public IReadOnlyDictionary<string, Family> Families { get; }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public sealed class Family(string name)
    {
        public string Name { get; } = name;
        public string Type { get; set; } = "untyped";
        public string? Help { get; set; }
        public List<Sample> Samples { get; } = [];
    }

    /// <summary>Every sample of every family whose sample name is <paramref name="name"/> and whose labels include <paramref name="labels"/>.</summary>
    public IEnumerable<Sample> Find(string name, params (string Key, string Value)[] labels)
        => Families.Values.SelectMany(f => f.Samples)
            .Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));

    /// <summary>The one sample that matches; fails when there is none or more than one.</summary>
    public double Value(string name, params (string Key, string Value)[] labels)
    {
        var matches = Find(name, labels).ToList();
        return matches.Count == 1
            ? matches[0].Value
            : throw new InvalidOperationException($"{matches.Count} samples of {name}{{{string.Join(',', labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}}, expected exactly one.");
    }

    public static PrometheusText Parse(string text)
    {
        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        var series = new HashSet<string>(StringComparer.Ordinal);
        var closed = new HashSet<string>(StringComparer.Ordinal); // families whose samples ended: no more may follow
        string? current = null;
        var lines = text.Split('\n');
        if (lines[^1].Length != 0)
        {
            throw new FormatException("The exposition must end with a line feed.");
        }

        for (var i = 0; i < lines.Length - 1; i++)
        {
            var line = lines[i];
            var at = $"line {i + 1} '{line}'";
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[0] == "#" && parts[1] is "HELP" or "TYPE")
                {
                    var name = parts[2];
                    RequireMetricName(name, at);
                    var family = Open(name, at);
                    if (parts[1] == "TYPE")
                    {
                        if (parts.Length != 4 || !Types.Contains(parts[3]))
                        {
                            throw new FormatException($"{at}: unknown type.");
                        }

                        if (family.Samples.Count > 0 || family.Type != "untyped")
                        {
                            throw new FormatException($"{at}: TYPE must come once, before the family's samples.");
                        }

                        family.Type = parts[3];
                    }
                    else
                    {
                        if (family.Help is not null)
                        {
                            throw new FormatException($"{at}: a second HELP.");
                        }

                        family.Help = parts.Length == 4 ? Unescape(parts[3], quoted: false, at) : string.Empty;
                    }
                }

                continue; // any other # line is a comment
            }

            Sample sample;
            try
            {
                sample = ParseSample(line, at);
            }
            catch (IndexOutOfRangeException)
            {
                throw new FormatException($"{at}: the line ends too early.");
            }

            var familyName = FamilyOf(sample.Name, families);
            var owner = Open(familyName, at);
            CheckSuffix(owner, sample, at);
            var key = sample.Name + "{" + string.Join(',', sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) + "}";
            if (!series.Add(key))
            {
                throw new FormatException($"{at}: series {key} appears twice.");
            }

            owner.Samples.Add(sample);
        }

        foreach (var family in families.Values.Where(f => f.Type == "histogram"))
        {
            CheckHistogram(family);
        }

        return new PrometheusText(families);

        Family Open(string name, string at)
        {
            if (current != name)
            {
                if (closed.Contains(name))
                {
                    throw new FormatException($"{at}: family {name} was already closed; its lines must be together.");
                }

                if (current is not null)
                {
                    closed.Add(current);
                }

                current = name;
            }

            if (!families.TryGetValue(name, out var family))
            {
                families[name] = family = new Family(name);
            }

            return family;
        }
    }

    // A histogram's or summary's samples carry suffixes; they belong to the family without them.
    private static string FamilyOf(string sampleName, Dictionary<string, Family> families)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal)
                && families.TryGetValue(sampleName[..^suffix.Length], out var family)
                && family.Type is "histogram" or "summary")
            {
                return family.Name;
            }
        }

        return sampleName;
    }

    private static void CheckSuffix(Family family, Sample sample, string at)
    {
        if (family.Type == "histogram")
        {
            var suffix = sample.Name[family.Name.Length..];
            if (suffix is not ("_bucket" or "_sum" or "_count"))
            {
                throw new FormatException($"{at}: a histogram sample must be _bucket, _sum or _count.");
            }

            if ((suffix == "_bucket") != sample.Labels.ContainsKey("le"))
            {
                throw new FormatException($"{at}: 'le' belongs on _bucket samples only.");
            }
        }
        else if (family.Type is "counter" or "gauge" or "untyped" && sample.Name != family.Name)
        {
            throw new FormatException($"{at}: sample name differs from its family {family.Name}.");
        }

        if (family.Type == "counter" && (sample.Value < 0 || double.IsNaN(sample.Value)))
        {
            throw new FormatException($"{at}: a counter cannot be negative or NaN.");
        }
    }

    private static void CheckHistogram(Family family)
    {
        var groups = family.Samples.GroupBy(s => string.Join(',', s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)));
        foreach (var group in groups)
        {
            var buckets = group.Where(s => s.Name.EndsWith("_bucket", StringComparison.Ordinal)).ToList();
            var previousBound = double.NegativeInfinity;
            var previousCount = 0.0;
            foreach (var bucket in buckets)
            {
                var bound = ParseValue(bucket.Labels["le"], family.Name);
                if (bound <= previousBound || bucket.Value < previousCount)
                {
                    throw new FormatException($"{family.Name}{{{group.Key}}}: buckets must be in increasing 'le' order with cumulative counts.");
                }

                previousBound = bound;
                previousCount = bucket.Value;
            }

            var count = group.SingleOrDefault(s => s.Name.EndsWith("_count", StringComparison.Ordinal))
                ?? throw new FormatException($"{family.Name}{{{group.Key}}}: no _count.");
            _ = group.SingleOrDefault(s => s.Name.EndsWith("_sum", StringComparison.Ordinal))
                ?? throw new FormatException($"{family.Name}{{{group.Key}}}: no _sum.");
            if (buckets.Count == 0 || !double.IsPositiveInfinity(previousBound) || previousCount != count.Value)
            {
                throw new FormatException($"{family.Name}{{{group.Key}}}: the +Inf bucket must exist and equal _count.");
            }
        }
    }

    private static Sample ParseSample(string line, string at)
    {
        var i = 0;
        while (i < line.Length && IsNameChar(line[i], first: i == 0, colon: true))
        {
            i++;
        }

        var name = line[..i];
        RequireMetricName(name, at);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var start = i;
                while (i < line.Length && IsNameChar(line[i], first: i == start, colon: false))
                {
                    i++;
                }

                var label = line[start..i];
                if (label.Length == 0 || label.StartsWith("__", StringComparison.Ordinal) || line[i] != '=' || line[i + 1] != '"')
                {
                    throw new FormatException($"{at}: bad label at column {i + 1}.");
                }

                i += 2;
                var value = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        value.Append(line[i + 1] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"{at}: bad escape in a label value."),
                        });
                        i += 2;
                    }
                    else
                    {
                        value.Append(line[i++]);
                    }
                }

                i++;
                if (!labels.TryAdd(label, value.ToString()))
                {
                    throw new FormatException($"{at}: label {label} twice.");
                }

                if (line[i] == ',')
                {
                    i++;
                }
                else if (line[i] != '}')
                {
                    throw new FormatException($"{at}: expected ',' or '}}' at column {i + 1}.");
                }
            }

            i++;
        }

        if (i >= line.Length || line[i] != ' ')
        {
            throw new FormatException($"{at}: expected one space before the value.");
        }

        var rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2 || (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
        {
            throw new FormatException($"{at}: expected a value and an optional integer timestamp.");
        }

        return new Sample(name, labels, ParseValue(rest[0], at));
    }

    private static double ParseValue(string text, string at) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ when double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var value) => value,
        _ => throw new FormatException($"{at}: '{text}' is not a number."),
    };

    private static string Unescape(string text, bool quoted, string at)
    {
        var value = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                value.Append(text[i]);
                continue;
            }

            value.Append(i + 1 < text.Length ? text[++i] switch
            {
                '\\' => '\\',
                'n' => '\n',
                '"' when quoted => '"',
                _ => throw new FormatException($"{at}: bad escape."),
            } : throw new FormatException($"{at}: dangling backslash."));
        }

        return value.ToString();
    }

    private static void RequireMetricName(string name, string at)
    {
        if (name.Length == 0 || !name.Select((c, i) => IsNameChar(c, i == 0, colon: true)).All(ok => ok))
        {
            throw new FormatException($"{at}: '{name}' is not a metric name.");
        }
    }

    private static bool IsNameChar(char c, bool first, bool colon)
        => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' || (colon && c == ':') || (!first && c is >= '0' and <= '9');
}
