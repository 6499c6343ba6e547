namespace FastProxy.Catalog;

/// <summary>One reason an object was rejected, in Kubernetes' style: the object, the field path and why.</summary>
/// <param name="Subject">The object, e.g. <c>service default/web</c>.</param>
/// <param name="Field">The field path, e.g. <c>spec.ports[0].port</c>.</param>
/// <param name="Message">Why, e.g. <c>must be 1-65535, got 70000</c>.</param>
public sealed record ValidationError(string Subject, string Field, string Message)
{
    /// <summary>Returns <c>object: field: message</c>.</summary>
    public override string ToString() => $"{Subject}: {Field}: {Message}";
}
