using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;

namespace FastProxy.Tests.Packaging;

/// <summary>
/// Packs the solution as a release would (`dotnet pack FastProxy.sln`), from the build these tests
/// run after (--no-build, same configuration), and checks what comes out: the library package with its
/// metadata, the sidecar as a .NET tool, nothing else; then installs the tool offline and runs it.
/// About 20 s of CPU-heavy work, so it runs alone, after the parallel tests, and disturbs no timing.
/// </summary>
[Collection(nameof(PackageTests))]
public sealed class PackageTests : IDisposable
{
    private static readonly TimeSpan CommandBound = TimeSpan.FromMinutes(4);
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("fastproxy-pack-");

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public async Task Pack_MakesTheLibraryTheSourceAndTheToolPackagesOnly_AndTheToolInstallsOfflineAndRuns()
    {
        var packages = Path.Combine(_work.FullName, "packages");
        var configuration = typeof(PackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        await RunAsync("dotnet", ["pack", Path.Combine(RepoRoot(), "FastProxy.sln"), "-c", configuration, "--no-build", "-o", packages]);

        var version = Assert.Single(Directory.GetFiles(packages, "FastProxy.Sidecar.*.nupkg")) is var tool
            ? Path.GetFileNameWithoutExtension(tool)["FastProxy.Sidecar.".Length..]
            : null;
        Assert.Equal(
            [$"FastProxy.{version}.nupkg", $"FastProxy.{version}.snupkg", $"FastProxy.Etcd.{version}.nupkg", $"FastProxy.Etcd.{version}.snupkg", $"FastProxy.Kubernetes.{version}.nupkg", $"FastProxy.Kubernetes.{version}.snupkg", $"FastProxy.Manifests.{version}.nupkg", $"FastProxy.Manifests.{version}.snupkg", $"FastProxy.Sidecar.{version}.nupkg", $"FastProxy.Sidecar.{version}.snupkg"],
            Directory.GetFiles(packages).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // The library: assembly, XML docs, README, MIT, repository, tags, the host abstractions it needs.
        using (var library = ZipFile.OpenRead(Path.Combine(packages, $"FastProxy.{version}.nupkg")))
        {
            var files = library.Entries.Select(static e => e.FullName).ToList();
            Assert.Contains("lib/net10.0/FastProxy.dll", files);
            Assert.Contains("lib/net10.0/FastProxy.xml", files);
            Assert.Contains("README.md", files);
            var metadata = Nuspec(library);
            Assert.Equal("MIT", Element(metadata, "license").Value);
            Assert.Equal("README.md", Element(metadata, "readme").Value);
            Assert.Equal("git", Element(metadata, "repository").Attribute("type")?.Value);
            Assert.Contains("load-balancer", Element(metadata, "tags").Value, StringComparison.Ordinal);
            var dependencies = metadata.Descendants().Where(static e => e.Name.LocalName == "dependency").Select(static e => e.Attribute("id")!.Value).ToList();
            Assert.Contains("Microsoft.Extensions.Hosting.Abstractions", dependencies);
            Assert.DoesNotContain("Microsoft.Extensions.Hosting", dependencies); // abstractions only
        }

        // The Kubernetes source: its own package, on the official client and the manifest mapping.
        using (var kubernetes = ZipFile.OpenRead(Path.Combine(packages, $"FastProxy.Kubernetes.{version}.nupkg")))
        {
            Assert.Contains("lib/net10.0/FastProxy.Kubernetes.dll", kubernetes.Entries.Select(static e => e.FullName));
            var dependencies = Nuspec(kubernetes).Descendants().Where(static e => e.Name.LocalName == "dependency").Select(static e => e.Attribute("id")!.Value).ToList();
            Assert.Contains("KubernetesClient", dependencies);
            Assert.Contains("FastProxy.Manifests", dependencies);
        }

        // The sidecar: a .NET tool whose command is fastproxy.
        using (var sidecar = ZipFile.OpenRead(Path.Combine(packages, $"FastProxy.Sidecar.{version}.nupkg")))
        {
            var settings = sidecar.Entries.Single(static e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
            using var stream = settings.Open();
            var command = XDocument.Load(stream).Descendants("Command").Single();
            Assert.Equal("fastproxy", command.Attribute("Name")?.Value);
            Assert.Equal("FastProxy.Sidecar.dll", command.Attribute("EntryPoint")?.Value);
            Assert.Equal("DotnetTool", Nuspec(sidecar).Descendants().Single(static e => e.Name.LocalName == "packageType").Attribute("name")?.Value);
        }

        // Install it from that folder only (no other source, a package cache of its own), then run it.
        var nugetConfig = Path.Combine(_work.FullName, "nuget.config");
        await File.WriteAllTextAsync(nugetConfig, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        var tools = Path.Combine(_work.FullName, "tools");
        var isolated = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_work.FullName, "nuget-cache") };
        await RunAsync("dotnet", ["tool", "install", "FastProxy.Sidecar", "--version", version!, "--tool-path", tools, "--configfile", nugetConfig], isolated);

        var help = await RunAsync(Path.Combine(tools, "fastproxy"), ["--help"], new() { ["DOTNET_ROOT"] = DotnetRoot() });
        Assert.Contains("Kubernetes Service semantics", help, StringComparison.Ordinal);
    }

    private static XElement Nuspec(ZipArchive package)
    {
        var entry = package.Entries.Single(static e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = entry.Open();
        return XDocument.Load(stream).Root!.Elements().Single(static e => e.Name.LocalName == "metadata");
    }

    private static XElement Element(XElement metadata, string name) => metadata.Elements().Single(e => e.Name.LocalName == name);

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastProxy.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No FastProxy.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>The dotnet installation running these tests (shared/Microsoft.NETCore.App/VERSION/ is three levels below it).</summary>
    private static string DotnetRoot() => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));

    private static async Task<string> RunAsync(string file, string[] arguments, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(CommandBound);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var text = await output + await errors;
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)}: exit {process.ExitCode}\n{text}");
        return text;
    }
}

[CollectionDefinition(nameof(PackageTests), DisableParallelization = true)]
public sealed class PackagingRunsAlone;
