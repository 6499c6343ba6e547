using System.Text;
using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>What the reader reads: files, folders, multi-document YAML, JSON, lists; and in which order.</summary>
public sealed class ManifestReaderTests
{
    private static string Pod(string name, string ip) => $"""
        apiVersion: v1
        kind: Pod
        metadata: {"{"}name: {name}{"}"}
        status: {"{"}podIP: {ip}{"}"}
        """;

    [Fact]
    public void MultiDocumentYaml_ReadsEveryDocument_AndSkipsEmptyOnes()
    {
        var set = Manifests.Yaml($"""
            ---
            {Pod("a", "127.0.1.1")}
            ---
            # only a comment
            ---
            {Pod("b", "127.0.1.2")}
            ---
            """);
        Assert.Empty(set.Diagnostics);
        Assert.Equal(["a", "b"], set.Pods.Select(p => p.Name));
        Assert.Equal(3, set.FindSource(ManifestObjectKind.Pod, new NamespacedName("default", "b"))!.Document);
    }

    [Fact]
    public void DocumentsAreCountedFromOne()
    {
        var set = Manifests.Yaml($"{Pod("a", "127.0.1.1")}\n---\n{Pod("b", "127.0.1.2")}");
        var source = set.FindSource(ManifestObjectKind.Pod, new NamespacedName("default", "b"))!;
        Assert.Equal(new ManifestLocation { FilePath = "test.yaml", Document = 2, Line = 6, Column = 1 }, source);
        Assert.Equal("test.yaml[doc 2]", source.ToString());
    }

    [Fact]
    public void Json_OneObject()
    {
        var set = Manifests.Json("""
            {
            	"apiVersion": "v1",
            	"kind": "Service",
            	"metadata": {"name": "web"},
            	"spec": {"ports": [{"port": 80, "targetPort": "http"}], "publishNotReadyAddresses": true}
            }
            """);
        Assert.Empty(set.Diagnostics);
        var service = Assert.Single(set.Services);
        Assert.Equal("http", service.Ports[0].TargetPortName);
        Assert.True(service.PublishNotReadyAddresses);
    }

    [Fact]
    public void Json_SeveralValuesAreSeveralDocuments()
    {
        var set = Manifests.Json("""
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "status": {"podIP": "127.0.1.1"}}
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}, "status": {"podIP": "127.0.1.2"}}
            """);
        Assert.Empty(set.Diagnostics);
        Assert.Equal(["a", "b"], set.Pods.Select(p => p.Name));
        Assert.Equal(new ManifestLocation { FilePath = "test.json", Document = 2, Line = 2, Column = 1 }, set.FindSource(ManifestObjectKind.Pod, new NamespacedName("default", "b")));
    }

    [Fact]
    public void Json_TypesAreStrict()
    {
        var set = Manifests.Json("""{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": "80"}]}}""");
        Manifests.Lines(["test.json[doc 1] service default/web: spec.ports[0].port: must be an integer, got \"80\" (line 1, column 98)"], set.Errors());
    }

    [Fact]
    public void List_ItemsAreObjects_LocatedByItem()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: List
            metadata: {resourceVersion: ""}
            items:
              - apiVersion: v1
                kind: Service
                metadata: {name: web}
                spec: {ports: [{port: 80}]}
              - apiVersion: v1
                kind: Pod
                metadata: {name: web-1}
                status: {podIP: 127.0.1.1}
              - apiVersion: v1
                kind: Pod
                metadata: {name: web-2}
                status: {podIP: nope}
            """);
        Assert.Single(set.Services);
        Assert.Single(set.Pods);
        Assert.Equal("test.yaml[doc 1].items[1]", set.FindSource(ManifestObjectKind.Pod, new NamespacedName("default", "web-1"))!.ToString());
        Manifests.Lines(["test.yaml[doc 1].items[2] pod default/web-2: status.podIP: must be a valid IP address, got \"nope\" (line 16, column 21)"], set.Errors());
    }

    [Fact]
    public void TypedList_ItemsMayOmitKindAndApiVersion()
    {
        var set = Manifests.Yaml("""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSliceList
            items:
              - metadata: {name: s1, labels: {kubernetes.io/service-name: web}}
                addressType: IPv4
                endpoints: [{addresses: [127.0.1.1]}]
              - apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: s2, labels: {kubernetes.io/service-name: web}}
                addressType: IPv4
            """);
        Assert.Empty(set.Diagnostics);
        Assert.Equal(["s1", "s2"], set.EndpointSlices.Select(s => s.Name));
    }

    [Fact]
    public void TypedList_ItemOfAnotherKind_IsAnError()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: ServiceList
            items:
              - apiVersion: v1
                kind: Pod
                metadata: {name: p}
                status: {podIP: 127.0.1.1}
            """);
        Manifests.Lines(["test.yaml[doc 1].items[0] pod default/p: kind: must be Service in a ServiceList, got \"Pod\" (line 5, column 11)"], set.Errors());
        Assert.Empty(set.Pods);
    }

    [Fact]
    public void List_InsideAList_IsAnError()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: List\n    items: []\n");
        Manifests.Lines(["test.yaml[doc 1].items[0]: kind: lists inside lists are not supported (line 5, column 11)"], set.Errors());
    }

    [Fact]
    public void List_WrongApiVersion_IsAnError()
    {
        var set = Manifests.Yaml("apiVersion: v2\nkind: PodList\nitems:\n  - metadata: {name: p}\n    status: {podIP: x}\n");
        Manifests.Lines(
            [
                "test.yaml[doc 1] podlist: apiVersion: must be \"v1\" for kind PodList, got \"v2\" (line 1, column 13)",
                "test.yaml[doc 1].items[0] pod default/p: status.podIP: must be a valid IP address, got \"x\" (line 5, column 21)",
            ],
            set.Errors());
    }

    [Fact]
    public void DefaultNamespace_CanBeChanged()
    {
        var set = Manifests.Yaml(Pod("a", "127.0.1.1") + "\n---\n" + Pod("b", "127.0.1.2").Replace("{name: b}", "{name: b, namespace: other}", StringComparison.Ordinal), new ManifestReadOptions { DefaultNamespace = "team-a" });
        Assert.Equal([new NamespacedName("team-a", "a"), new NamespacedName("other", "b")], set.Pods.Select(p => p.Id));
    }

    [Fact]
    public void Folder_ReadsManifestFilesInOrdinalOrder_NotSubfoldersOrHiddenEntries()
    {
        using var folder = new TempFolder();
        folder.Write("b.yml", Pod("b", "127.0.1.2"));
        folder.Write("a.yaml", Pod("a", "127.0.1.1"));
        folder.Write("C.json", """{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c"}, "status": {"podIP": "127.0.1.3"}}""");
        folder.Write("notes.txt", "not a manifest");
        folder.Write(".hidden.yaml", Pod("hidden", "127.0.1.4"));
        folder.Write("..data/web.yaml", Pod("configmap-data", "127.0.1.5"));
        folder.Write("sub/d.yaml", Pod("d", "127.0.1.6"));

        var set = ManifestReader.Load([folder.Path]);

        Assert.Empty(set.Diagnostics);
        // Ordinal: upper case before lower case.
        Assert.Equal(["c", "a", "b"], set.Pods.Select(p => p.Name));
        Assert.Equal(Path.Combine(folder.Path, "a.yaml"), set.FindSource(ManifestObjectKind.Pod, new NamespacedName("default", "a"))!.FilePath);
    }

    [Fact]
    public void Folder_Recursive_ReadsSubfolders_ButNotHiddenOnes()
    {
        using var folder = new TempFolder();
        folder.Write("z.yaml", Pod("z", "127.0.1.1"));
        folder.Write("sub/a.yaml", Pod("sub-a", "127.0.1.2"));
        folder.Write("sub/deeper/b.yaml", Pod("sub-b", "127.0.1.3"));
        folder.Write(".git/c.yaml", Pod("git", "127.0.1.4"));

        var set = ManifestReader.Load([folder.Path], new ManifestReadOptions { Recursive = true });

        Assert.Empty(set.Diagnostics);
        Assert.Equal(["sub-a", "sub-b", "z"], set.Pods.Select(p => p.Name));
    }

    [Fact]
    public void PathsAreReadInTheOrderGiven_AndAFileNamedTwiceOnce()
    {
        using var folder = new TempFolder();
        var b = folder.Write("b.yaml", Pod("b", "127.0.1.2"));
        var a = folder.Write("a.yaml", Pod("a", "127.0.1.1"));
        var other = folder.Write("manifest.txt", Pod("txt", "127.0.1.3"));

        var set = ManifestReader.Load([b, other, folder.Path, a]);

        Assert.Empty(set.Diagnostics);
        // A file given by name is read whatever its extension (as YAML).
        Assert.Equal(["b", "txt", "a"], set.Pods.Select(p => p.Name));
    }

    [Fact]
    public void MissingPath_IsAnError_AndTheRestLoads()
    {
        using var folder = new TempFolder();
        var good = folder.Write("a.yaml", Pod("a", "127.0.1.1"));
        var missing = Path.Combine(folder.Path, "missing.yaml");

        var set = ManifestReader.Load([missing, good, ""]);

        Manifests.Lines([$"{missing}: no such file or folder", "empty path"], set.Printed());
        Assert.True(set.HasErrors);
        Assert.Single(set.Pods);
    }

    [Fact]
    public void EmptyFolder_IsAWarning()
    {
        using var folder = new TempFolder();
        var set = ManifestReader.Load([folder.Path]);
        Manifests.Lines([$"warning: {folder.Path}: folder holds no *.yaml, *.yml or *.json file"], set.Printed());
        Assert.False(set.HasErrors);
    }

    [Fact]
    public void Encodings_Utf8WithBom_Utf16_AndInvalidUtf8()
    {
        using var folder = new TempFolder();
        var withBom = folder.Write("a.yaml", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(Pod("a", "127.0.1.1"))]);
        var utf16 = folder.Write("b.json", [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("""{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}, "status": {"podIP": "127.0.1.2"}}""")]);
        var invalid = folder.Write("c.yaml", [.. Encoding.UTF8.GetBytes("kind: Pod\nname: "), 0xC3, 0x28]);

        var set = ManifestReader.Load([withBom, utf16, invalid]);

        Assert.Equal(["a", "b"], set.Pods.Select(p => p.Name));
        Manifests.Lines([$"{invalid}: not valid UTF-8 text"], set.Printed());
    }

    [Fact]
    public void PathUnderAFile_IsAnError()
    {
        using var folder = new TempFolder();
        var file = folder.Write("a.yaml", Pod("a", "127.0.1.1"));
        var path = Path.Combine(file, "inside.yaml");
        Manifests.Lines([$"{path}: no such file or folder"], ManifestReader.Load([path]).Printed());
    }

    [Fact]
    public void ReadFailure_IsAnErrorNotAnException()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // Opening /proc/self/mem works; reading it at offset 0 fails with EIO: an I/O error mid-read.
        var set = ManifestReader.Load(["/proc/self/mem"]);
        var error = Assert.Single(set.Printed());
        Assert.StartsWith("/proc/self/mem: cannot read: ", error, StringComparison.Ordinal);
        Assert.True(set.HasErrors);
    }

    [Fact]
    public void EndpointsList_And_JsonComments()
    {
        var set = Manifests.Json("""
            // kubectl get endpoints -o json, trimmed
            {
              "apiVersion": "v1",
              "kind": "EndpointsList",
              "items": [
                {"metadata": {"name": "db", "namespace": "data"}, "subsets": [{"addresses": [{"ip": "127.0.1.10"}], "ports": [{"port": 5432}]}]}
              ]
            }
            """);
        Assert.Empty(set.Diagnostics);
        Assert.Equal(new NamespacedName("data", "db"), Assert.Single(set.Endpoints).Id);
        Assert.Equal(new ManifestLocation { FilePath = "test.json", Document = 1, Item = 0, Line = 6, Column = 5 }, set.FindSource(ManifestObjectKind.Endpoints, new NamespacedName("data", "db")));
    }

    [Fact]
    public void HexAndOctalIntegers_AreIntegers()
    {
        var service = Assert.Single(Manifests.Yaml(Manifests.Service("ports: [{port: 0x50, targetPort: 0o17620}]")).Services);
        Assert.Equal((80, 8080), (service.Ports[0].Port, service.Ports[0].TargetPort));
    }
}
