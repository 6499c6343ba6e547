namespace FastProxy.Manifests;

/// <summary>How serious a <see cref="ManifestDiagnostic"/> is.</summary>
public enum ManifestSeverity
{
    /// <summary>Something was ignored (an unknown field or kind, a pending pod); the rest loads.</summary>
    Warning = 0,

    /// <summary>The object (or file) is invalid and was not loaded; <see cref="ManifestSet.HasErrors"/> is true.</summary>
    Error = 1,
}
