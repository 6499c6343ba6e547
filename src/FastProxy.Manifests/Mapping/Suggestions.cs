namespace FastProxy.Manifests.Mapping;

/// <summary>"Did you mean" for unknown fields, kinds and annotations: most unknown names are typos of known ones.</summary>
internal static class Suggestions
{
    /// <summary>Returns <c> (did you mean "x"?)</c> for the closest candidate within a small edit distance, or empty.</summary>
    public static string DidYouMean(string name, IEnumerable<string> candidates)
    {
        // Long names cannot be typos of short field names; and the distance is quadratic in length.
        if (name.Length > 64)
        {
            return string.Empty;
        }

        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = string.Equals(name, candidate, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(name, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        var allowed = Math.Max(1, Math.Min(3, name.Length / 3));
        return best is not null && bestDistance <= allowed ? $" (did you mean \"{best}\"?)" : string.Empty;
    }

    /// <summary>Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
