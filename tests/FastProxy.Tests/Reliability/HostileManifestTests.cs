using System.Globalization;
using FastProxy.Manifests;
using FastProxy.Manifests.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// The hostile manifest corpus (<see cref="HostileManifestCorpus"/>) through <see cref="ManifestReader.Load"/> and,
/// as <c>fastproxy validate</c> does when the reader finds nothing, <see cref="ManifestSet.ValidateWithCatalog"/>:
/// each file is refused with an error that names the field and line and says why, nothing throws, and
/// the reader allocates within a bound proportional to the input (it neither expands aliases nor builds
/// past its limits).
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class HostileManifestTests(ITestOutputHelper output)
{
    // Read as bytes, decoded to UTF-16 (2x), a node per scalar, the diagnostics and the catalog's check:
    // measured ~10x the file on the 8 MB document and ~24x on the 1 MB scalar (the parser's buffer grows by
    // doubling and the name is copied into the object and its subject); 32x leaves room without hiding an
    // expansion (billion laughs would be ~10^9x).
    private const long AllocationPerInputByte = 32;

    // Each YAML document costs a fixed amount beyond its bytes (the parser's document events, a mapping
    // scope, its diagnostics even when they are only counted): measured ~2.9 KB on 150k one-line documents.
    private const long AllocationPerDocument = 4 * 1024;
    private const long AllocationSlack = 4 * 1024 * 1024;

    [Fact]
    public void EveryHostileManifest_IsRefusedWithAClearError_WithinBoundedAllocation()
    {
        using var folder = new TempFolder();
        var worstRatio = 0.0;
        var worstName = string.Empty;
        var diagnostics = 0;
        var mostDocuments = 0;
        var perDocument = 0L;
        foreach (var manifest in HostileManifestCorpus.All)
        {
            var path = folder.Write(manifest.Name, manifest.Content);
            var before = GC.GetAllocatedBytesForCurrentThread();
            // As `fastproxy validate` and a reload do: the reader, then the catalog's checks when the reader found no error.
            var set = ManifestReader.Load([path]);
            var catalogErrors = set.HasErrors ? [] : set.ValidateWithCatalog();
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            var printed = set.Printed().Concat(catalogErrors.Select(d => d.ToString())).ToArray();
            Assert.True(set.HasErrors || !catalogErrors.IsEmpty, $"{manifest.Name}: no error; diagnostics:\n{string.Join('\n', printed)}");
            Assert.True(
                printed.Any(line => line.Contains(manifest.Name, StringComparison.Ordinal) && line.Contains(manifest.ExpectedField, StringComparison.Ordinal) && line.Contains(manifest.ExpectedReason, StringComparison.Ordinal)),
                $"{manifest.Name}: no error naming \"{manifest.ExpectedField}\" with \"{manifest.ExpectedReason}\"; got:\n{string.Join('\n', printed.Take(10))}");
            Assert.True(printed.Length <= 1_002, $"{manifest.Name}: {printed.Length} diagnostics");
            Assert.All(printed, line => Assert.True(line.Length <= 2048, $"{manifest.Name}: a diagnostic of {line.Length} characters"));
            Assert.All(printed, line => Assert.DoesNotContain(line, c => char.IsControl(c)));

            var read = Math.Min(manifest.Content.Length, new ManifestReadOptions().MaxFileBytes);
            var documents = read == manifest.Content.Length ? manifest.Content.AsSpan().Count("\n---"u8) + 1 : 0;
            var bound = (AllocationPerInputByte * read) + (AllocationPerDocument * documents) + AllocationSlack;
            Assert.True(allocated <= bound, $"{manifest.Name}: allocated {allocated:N0} bytes for {manifest.Content.Length:N0} input bytes (bound {bound:N0})");
            var ratio = (double)allocated / Math.Max(read, 1);
            if (documents < 1_000 && read > 1024 * 1024 && ratio > worstRatio)
            {
                (worstRatio, worstName) = (ratio, manifest.Name);
            }

            if (documents > mostDocuments)
            {
                (mostDocuments, perDocument) = (documents, allocated / documents);
            }

            diagnostics += printed.Length;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{manifest.Name}: {manifest.Content.Length:N0} bytes, {printed.Length} diagnostic(s), allocated {allocated / 1024.0 / 1024:0.0} MB; first: {printed[0]}"));
        }

        new ReliabilityRow(
            "Hostile manifests (reader)",
            "-",
            string.Create(CultureInfo.InvariantCulture, $"{HostileManifestCorpus.All.Count} files ({HostileManifestCorpus.TotalBytes / 1024.0 / 1024:0} MB): wrong types, duplicate keys, billion laughs, alias cycle, merge key, cross-document anchor, tab indentation, numeric overflow, NUL, UTF-16 without BOM, invalid UTF-8, BOM mid-file, truncated JSON, an 8 MB document, 150k documents, 10k-deep nesting, a 1 MB scalar, a 16 MB+1 file"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: every file refused with its field, line and reason ({diagnostics} diagnostics); allocation at most {worstRatio:0.0}x the input on large files ({worstName}) and {perDocument / 1024.0:0.0} KB per document on {mostDocuments:N0} documents (bound {AllocationPerInputByte}x the bytes + {AllocationPerDocument / 1024} KB a document + 4 MB)"),
            ReliabilityRow.FilterCommand(nameof(HostileManifestTests))).Record(output);
    }
}
