namespace FastProxy.Manifests.Syntax;

/// <summary>Finds the node a field path names (<c>spec.ports[0].nodePort</c>, <c>metadata.annotations[fastproxy.io/weight]</c>) to give a catalog error its line.</summary>
internal static class NodePath
{
    /// <summary>Returns the deepest node along <paramref name="path"/> that exists: the field itself, or its nearest present parent.</summary>
    public static Node Resolve(Node root, string path)
    {
        var current = root;
        var i = 0;
        while (i < path.Length)
        {
            string segment;
            if (path[i] == '[')
            {
                var close = path.IndexOf(']', i + 1);
                if (close < 0)
                {
                    break;
                }

                segment = path[(i + 1)..close];
                i = close + 1;
            }
            else
            {
                var end = path.AsSpan(i).IndexOfAny('.', '[');
                end = end < 0 ? path.Length : i + end;
                segment = path[i..end];
                i = end;
            }

            if (i < path.Length && path[i] == '.')
            {
                i++;
            }

            Node? next = current switch
            {
                MappingNode mapping => mapping.Find(segment),
                SequenceNode sequence when int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) && index < sequence.Items.Count => sequence.Items[index],
                _ => null,
            };
            if (next is null)
            {
                break;
            }

            current = next;
        }

        return current;
    }
}
