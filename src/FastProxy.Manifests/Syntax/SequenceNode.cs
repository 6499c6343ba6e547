namespace FastProxy.Manifests.Syntax;

/// <summary>A list.</summary>
internal sealed class SequenceNode : Node
{
    private readonly List<Node> _items = [];

    public SequenceNode(Position start)
        : base(start)
    {
    }

    public IReadOnlyList<Node> Items => _items;

    public void Add(Node item) => _items.Add(item);

    public override string Describe() => "a list";
}
