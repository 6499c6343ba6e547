using System.Globalization;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// Durations as Kubernetes tools and Envoy write them, one grammar for every annotation and the sidecar's
/// options: Go's <c>time.ParseDuration</c> units <c>ms</c>, <c>s</c>, <c>m</c> and <c>h</c>, combinable
/// (<c>1m30s</c>) and fractional (<c>1.5s</c>), or a bare whole number of seconds (<c>45</c>).
/// </summary>
internal static class Durations
{
    /// <summary>Parses <paramref name="text"/> (surrounding blanks ignored); false when malformed, negative or beyond any sane limit.</summary>
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            duration = TimeSpan.FromSeconds(Math.Min(seconds, (long)(TimeSpan.MaxValue.TotalSeconds / 2)));
            return true;
        }

        var rest = text.AsSpan();
        var total = 0.0;
        while (!rest.IsEmpty)
        {
            var digits = 0;
            while (digits < rest.Length && (char.IsAsciiDigit(rest[digits]) || rest[digits] == '.'))
            {
                digits++;
            }

            if (digits == 0 || !double.TryParse(rest[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            rest = rest[digits..];
            var (scale, length) = rest.StartsWith("ms", StringComparison.Ordinal) ? (0.001, 2)
                : rest.StartsWith("s", StringComparison.Ordinal) ? (1.0, 1)
                : rest.StartsWith("m", StringComparison.Ordinal) ? (60.0, 1)
                : rest.StartsWith("h", StringComparison.Ordinal) ? (3600.0, 1)
                : (0, 0);
            if (length == 0)
            {
                return false;
            }

            rest = rest[length..];
            total += number * scale;
        }

        // Far beyond any limit the catalog accepts: clamp, so the catalog reports the limit at the field.
        duration = TimeSpan.FromSeconds(Math.Min(total, TimeSpan.MaxValue.TotalSeconds / 2));
        return true;
    }
}
