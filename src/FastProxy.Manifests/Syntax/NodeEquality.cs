namespace FastProxy.Manifests.Syntax;

/// <summary>
/// Whether two trees hold the same content, positions aside. Mapping is deterministic, so an object read
/// from an equal tree is an equal object: a reload compares trees instead of every model field, and a
/// field added to the model later can never be missed by the comparison.
/// </summary>
internal static class NodeEquality
{
    public static bool Equal(Node? a, Node? b)
    {
        // Depth is bounded by the parse limit, so recursion is safe here.
        switch (a, b)
        {
            case (null, null):
                return true;
            case (ScalarNode x, ScalarNode y):
                return x.Type == y.Type && string.Equals(x.Value, y.Value, StringComparison.Ordinal);
            case (SequenceNode x, SequenceNode y):
                if (x.Items.Count != y.Items.Count)
                {
                    return false;
                }

                for (var i = 0; i < x.Items.Count; i++)
                {
                    if (!Equal(x.Items[i], y.Items[i]))
                    {
                        return false;
                    }
                }

                return true;
            case (MappingNode x, MappingNode y):
                if (x.Entries.Count != y.Entries.Count)
                {
                    return false;
                }

                // Key order does not matter; keys are unique, so equal counts and every key found suffice.
                foreach (var (key, value) in x.Entries)
                {
                    if (!Equal(value, y.Find(key.Value)))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }
}
