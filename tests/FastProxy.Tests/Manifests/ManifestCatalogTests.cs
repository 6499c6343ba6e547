using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>From manifests to the catalog: the reload diff, and the catalog's errors located in the files.</summary>
public sealed class ManifestCatalogTests
{
    private const string Web = """
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          clusterIP: 127.96.0.10
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        """;

    private static string Pod(string name, string ip, string extra = "") => $"""
        apiVersion: v1
        kind: Pod
        metadata: {"{"}name: {name}, labels: {"{"}app: web{"}"}{extra}{"}"}
        status: {"{"}podIP: {ip}{"}"}
        """;

    private static string Docs(params string[] documents) => string.Join("\n---\n", documents);

    private static string[] Changes(CatalogUpdate update) => [.. update.Changes.Select(c => $"{c.Kind} {c.Id}")];

    private static string[] Endpoints(ServiceCatalog catalog, string service = "web")
        => [.. catalog.Current.Services[new NamespacedName("default", service)].Ports[0].AllEndpoints.Select(e => e.EndPoint.ToString()).Order(StringComparer.Ordinal)];

    [Fact]
    public void FirstUpdate_SetsEverything()
    {
        var set = Manifests.Yaml(Docs(Web, Pod("web-1", "127.0.1.1"), Pod("web-2", "127.0.1.2"), "apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\n", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-x, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\n"));
        var update = set.ToCatalogUpdate(null);
        Assert.Equal(["SetService default/web", "SetPod default/web-1", "SetPod default/web-2", "SetEndpoints default/web", "SetEndpointSlice default/web-x"], Changes(update));
        Assert.Equal(Changes(update), Changes(set.ToCatalogUpdate(ManifestSet.Empty)));

        var catalog = new ServiceCatalog();
        catalog.Apply(update);
        Assert.Equal(["127.0.1.1:8080", "127.0.1.2:8080"], Endpoints(catalog));
    }

    [Fact]
    public void Reload_SetsWhatIsNewOrChanged_RemovesWhatIsGone_LeavesTheRest()
    {
        var before = Manifests.Yaml(Docs(Web, Pod("web-1", "127.0.1.1"), Pod("web-2", "127.0.1.2"), Pod("web-3", "127.0.1.3")));
        var after = Manifests.Yaml(Docs(
            Web.Replace("targetPort: 8080", "targetPort: 9090", StringComparison.Ordinal),
            // Same content, written differently: not a change.
            "# reformatted\nkind: Pod\napiVersion: v1\nstatus:\n  podIP: 127.0.1.1\nmetadata:\n  labels:\n    app: web\n  name: web-1\n",
            Pod("web-3", "127.0.1.33"),
            Pod("web-4", "127.0.1.4")));
        var catalog = new ServiceCatalog();
        catalog.Apply(before.ToCatalogUpdate());

        var update = after.ToCatalogUpdate(before);

        Assert.Equal(["SetService default/web", "SetPod default/web-3", "SetPod default/web-4", "RemovePod default/web-2"], Changes(update));
        catalog.Apply(update);
        Assert.Equal(["127.0.1.1:9090", "127.0.1.33:9090", "127.0.1.4:9090"], Endpoints(catalog));
    }

    [Fact]
    public void Reload_OfTheSameFiles_IsEmpty()
    {
        using var folder = new TempFolder();
        folder.Write("web.yaml", Docs(Web, Pod("web-1", "127.0.1.1")));
        var first = ManifestReader.Load([folder.Path]);
        Assert.True(ManifestReader.Load([folder.Path]).ToCatalogUpdate(first).IsEmpty);
    }

    [Fact]
    public void Reload_RemovingEveryFile_RemovesEveryObject()
    {
        var before = Manifests.Yaml(Docs(Web, Pod("web-1", "127.0.1.1"), "apiVersion: v1\nkind: Endpoints\nmetadata: {name: db}\n", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: db}}\naddressType: IPv6\n"));
        Assert.Equal(
            ["RemoveService default/web", "RemovePod default/web-1", "RemoveEndpoints default/db", "RemoveEndpointSlice default/s"],
            Changes(ManifestSet.Empty.ToCatalogUpdate(before)));
    }

    [Fact]
    public void Reload_PodGoingPending_IsRemoved()
    {
        var before = Manifests.Yaml(Docs(Web, Pod("web-1", "127.0.1.1")));
        var after = Manifests.Yaml(Docs(Web, "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, labels: {app: web}}\nstatus: {phase: Pending}\n"));
        Assert.Equal(["RemovePod default/web-1"], Changes(after.ToCatalogUpdate(before)));
    }

    [Fact]
    public void Reload_ChangedDefaultNamespace_MovesTheObjects()
    {
        var before = Manifests.Yaml(Pod("web-1", "127.0.1.1"));
        var after = Manifests.Yaml(Pod("web-1", "127.0.1.1"), new ManifestReadOptions { DefaultNamespace = "other" });
        Assert.Equal(["SetPod other/web-1", "RemovePod default/web-1"], Changes(after.ToCatalogUpdate(before)));
    }

    [Fact]
    public void SetWithErrors_CannotBecomeAnUpdate()
    {
        var set = Manifests.Yaml(Docs(Web, "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1}\nstatus: {podIP: nope}\n"));
        Assert.True(set.HasErrors);
        Assert.Throws<InvalidOperationException>(() => set.ToCatalogUpdate(null));
    }

    [Fact]
    public void ValidateWithCatalog_LocatesCatalogErrorsInTheFiles()
    {
        using var folder = new TempFolder();
        var a = folder.Write("a.yaml", Docs(Web, Pod("web-1", "127.0.1.1", ", annotations: {fastproxy.io/weight: \"20000\"}")));
        var b = folder.Write("b.yaml", """
            apiVersion: v1
            kind: List
            items:
              - apiVersion: v1
                kind: Service
                metadata: {name: other}
                spec:
                  clusterIP: 127.96.0.10
                  ports:
                    - {name: a, port: 81}
                    - {name: a, port: 81}
              - apiVersion: v1
                kind: Service
                metadata: {name: Bad}
                spec: {selector: {app: x}}
            """);

        var set = ManifestReader.Load([folder.Path]);
        Assert.Empty(set.Diagnostics);

        Manifests.Lines(
            [
                $"{a}[doc 2] pod default/web-1: metadata.annotations[fastproxy.io/weight]: must be 1-10000, got 20000 (line 11, column 80)",
                $"{b}[doc 1].items[0] service default/other: spec.ports[1].name: duplicate value \"a\" (line 11, column 18)",
                $"{b}[doc 1].items[0] service default/other: spec.ports[1].port: duplicate port 81/Tcp (line 11, column 27)",
                $"{b}[doc 1].items[1] service default/Bad: metadata.name: must consist of lower case alphanumeric characters or '-', start with a letter, and end with an alphanumeric character, got \"Bad\" (line 14, column 22)",
                // The field does not exist: the nearest present parent gives the line.
                $"{b}[doc 1].items[1] service default/Bad: spec.ports: must have at least one port (line 15, column 11)",
            ],
            set.ValidateWithCatalog().Select(d => d.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ValidateWithCatalog_FindsClashesBetweenObjects()
    {
        using var folder = new TempFolder();
        folder.Write("a.yaml", Web);
        var b = folder.Write("b.yaml", Web.Replace("name: web", "name: web2", StringComparison.Ordinal));

        var set = ManifestReader.Load([folder.Path]);

        var error = Assert.Single(set.ValidateWithCatalog());
        Assert.Equal($"{b}[doc 1] service default/web2: spec.clusterIP: 127.96.0.10 is already allocated to service default/web (line 5, column 14)", error.ToString());
        Assert.Equal(new ManifestLocation { FilePath = b, Document = 1, Line = 5, Column = 14 }, error.Location);
    }

    [Fact]
    public void ValidateWithCatalog_UsesTheCatalogOptions()
    {
        var allocated = Web.Replace("  clusterIP: 127.96.0.10\n", string.Empty, StringComparison.Ordinal);
        var set = Manifests.Yaml(Docs(allocated, allocated.Replace("name: web", "name: b", StringComparison.Ordinal), allocated.Replace("name: web", "name: c", StringComparison.Ordinal)));
        Assert.Empty(set.Diagnostics);
        Assert.Empty(set.ValidateWithCatalog());

        // A /30 holds two addresses: the third service finds none.
        var errors = set.ValidateWithCatalog(new ServiceCatalogOptions { ServiceCidr = IPNetwork.Parse("127.200.0.0/30") });
        var error = Assert.Single(errors).ToString();
        Assert.Matches(@"^test\.yaml\[doc \d\] service default/\w+: spec\.clusterIP: no free address left in the service CIDR 127\.200\.0\.0/30 \(line \d+, column 3\)$", error);
    }

    [Fact]
    public void FindSource_GivesFileDocumentAndLine()
    {
        var set = Manifests.Yaml(Docs(Web, Pod("web-1", "127.0.1.1")));
        Assert.Equal(new ManifestLocation { FilePath = "test.yaml", Document = 2, Line = 9, Column = 1 }, set.FindSource(ManifestObjectKind.Pod, new NamespacedName("default", "web-1")));
        Assert.Null(set.FindSource(ManifestObjectKind.Service, new NamespacedName("default", "web-1")));
    }
}
