using System.Collections.Immutable;
using System.Globalization;

namespace FastProxy.Manifests.Loading;

/// <summary>
/// Collects every diagnostic of a load. A file lists at most <see cref="ManifestReadOptions.MaxDiagnosticsPerFile"/>;
/// the rest are counted in one closing diagnostic (hostile input must not produce a million lines),
/// but an error left out still counts for <see cref="HasErrors"/>.
/// </summary>
internal sealed class DiagnosticBag
{
    private readonly ImmutableArray<ManifestDiagnostic>.Builder _items = ImmutableArray.CreateBuilder<ManifestDiagnostic>();
    private readonly int _perFile;
    private string? _file;
    private int _inFile;
    private int _suppressed;
    private bool _suppressedError;

    public DiagnosticBag(int perFile) => _perFile = Math.Max(1, perFile);

    public bool HasErrors { get; private set; }

    public void BeginFile(string path)
    {
        EndFile();
        _file = path;
    }

    public void EndFile()
    {
        if (_suppressed > 0 && _file is not null)
        {
            _items.Add(new ManifestDiagnostic
            {
                Severity = _suppressedError ? ManifestSeverity.Error : ManifestSeverity.Warning,
                Location = new ManifestLocation { FilePath = _file },
                Message = string.Create(CultureInfo.InvariantCulture, $"{_suppressed} more diagnostics in this file were not listed"),
            });
        }

        _file = null;
        _inFile = 0;
        _suppressed = 0;
        _suppressedError = false;
    }

    public void Add(ManifestDiagnostic diagnostic)
    {
        var isError = diagnostic.Severity == ManifestSeverity.Error;
        HasErrors |= isError;
        if (_file is not null && ++_inFile > _perFile)
        {
            _suppressed++;
            _suppressedError |= isError;
            return;
        }

        _items.Add(diagnostic);
    }

    public ImmutableArray<ManifestDiagnostic> ToImmutable()
    {
        EndFile();
        return _items.ToImmutable();
    }
}
