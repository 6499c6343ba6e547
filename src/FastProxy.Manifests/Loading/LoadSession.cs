using System.Text;
using FastProxy.Manifests.Mapping;
using FastProxy.Manifests.Syntax;

namespace FastProxy.Manifests.Loading;

/// <summary>One load: reads files one after the other into one set, with one diagnostic list.</summary>
internal sealed class LoadSession
{
    private readonly ManifestReadOptions _options;
    private readonly DiagnosticBag _bag;
    private readonly ManifestSetBuilder _set;
    private readonly DocumentMapper _mapper;

    public LoadSession(ManifestReadOptions options)
    {
        _options = options;
        _bag = new DiagnosticBag(options.MaxDiagnosticsPerFile);
        _set = new ManifestSetBuilder(options.MaxObjects);
        _mapper = new DocumentMapper(options.DefaultNamespace, _bag, _set);
    }

    public DiagnosticBag Bag => _bag;

    /// <summary>True once the object limit stopped the load.</summary>
    public bool IsFull => _set.IsFull;

    public void ReadFile(string path)
    {
        _bag.BeginFile(path);
        if (FileContent.Read(path, _options.MaxFileBytes, _bag) is { } bytes)
        {
            ReadContent(path, bytes, null);
        }

        _bag.EndFile();
    }

    /// <summary>Reads one file's content, given as bytes or (for in-memory input) text.</summary>
    public void ReadContent(string path, byte[]? bytes, string? text)
    {
        text ??= FileContent.Decode(bytes!);
        if (text is null)
        {
            _bag.Add(ManifestFiles.FileError(path, "not valid UTF-8 text"));
            return;
        }

        var limits = new ParseLimits(Math.Max(1, _options.MaxDepth), Math.Max(1, _options.MaxNodesPerFile));
        var syntaxErrors = new List<SyntaxError>();
        SyntaxError? stop;
        try
        {
            stop = ManifestFiles.IsJson(path)
                ? JsonDocumentReader.Read(Utf8Of(bytes, text), limits, syntaxErrors, OnDocument)
                : YamlDocumentReader.Read(text, limits, syntaxErrors, OnDocument);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A parser bug on odd input must not escape the loader: it becomes this file's error.
            stop = new SyntaxError(0, string.Empty, $"the parser failed: {ex.GetType().Name}: {ex.Message}", default);
        }

        Flush(path, syntaxErrors);
        if (stop is { } error)
        {
            _bag.Add(ToDiagnostic(path, error));
        }

        bool OnDocument(ParsedDocument document)
        {
            // Tree errors (duplicate keys, aliases) make the whole document invalid: its objects are not loaded.
            var invalid = syntaxErrors.Count > 0;
            Flush(path, syntaxErrors);
            try
            {
                return _mapper.Map(path, document, invalid) && !_set.IsFull;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _bag.Add(ToDiagnostic(path, new SyntaxError(document.Index, string.Empty, $"internal error while reading this document: {ex.GetType().Name}: {ex.Message}", document.Start)));
                return true;
            }
        }
    }

    public ManifestSet Finish() => new([.. _set.Entries], _bag.ToImmutable(), _bag.HasErrors);

    private static byte[] Utf8Of(byte[]? bytes, string text)
        => bytes is not null && !(bytes is [0xEF, 0xBB, 0xBF, ..] or [0xFF or 0xFE or 0x00, ..]) ? bytes : Encoding.UTF8.GetBytes(text);

    private void Flush(string path, List<SyntaxError> errors)
    {
        foreach (var error in errors)
        {
            _bag.Add(ToDiagnostic(path, error));
        }

        errors.Clear();
    }

    private static ManifestDiagnostic ToDiagnostic(string path, SyntaxError error) => new()
    {
        Severity = ManifestSeverity.Error,
        Location = new ManifestLocation
        {
            FilePath = path,
            Document = error.Document > 0 ? error.Document : null,
            Line = error.Position.IsKnown ? error.Position.Line : null,
            Column = error.Position.IsKnown ? error.Position.Column : null,
        },
        Field = string.IsNullOrEmpty(error.Field) ? null : error.Field,
        Message = error.Message,
    };
}
