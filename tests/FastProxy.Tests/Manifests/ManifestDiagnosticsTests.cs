using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>Every kind of problem, with its exact message: file, document, object, field, line.</summary>
public sealed class ManifestDiagnosticsTests
{
    [Fact]
    public void EveryProblemIsReported_InLineOrder_NotJustTheFirst()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              labels: [a]
              annotations:
                fastproxy.io/balancr: maglev
                fastproxy.io/weight: "2"
            spec:
              type: Cluster
              ports:
                - port: 80.5
                  protocol: SCTP
                - port: 99999999999
                  protocol: tcp
                  name: b
                - port: 81
                  name: c
                  targetPort: "8080"
                - null
              publishNotReadyAddresses: "yes"
              externalTrafficPolicy: Global
              externalIPs: [10.1, 1.2.3.4, null, 300.1.1.1]
              loadBalancerSourceRanges: [10.0.0.0/33, 1.2.3.4]
              selector: [x]
              sessionAffinityConfig: {clientIP: {timeoutSeconds: "60"}}
              frobnicate: true
            """);

        Assert.Empty(set.Services);
        Assert.True(set.HasErrors);
        const string at = "test.yaml[doc 1] service default/web: ";
        Manifests.Lines(
            [
                at + "metadata.labels: must be a mapping, got a list (line 5, column 11)",
                "warning: " + at + "metadata.annotations[fastproxy.io/balancr]: unknown FastProxy annotation (did you mean \"fastproxy.io/balancer\"?); ignored (line 7, column 27)",
                "warning: " + at + "metadata.annotations[fastproxy.io/weight]: applies to Pods only; ignored (line 8, column 26)",
                at + "spec.type: unsupported value \"Cluster\"; supported: ClusterIP, NodePort, LoadBalancer, ExternalName (line 10, column 9)",
                at + "spec.ports[0].port: must be an integer, got 80.5 (line 12, column 13)",
                at + "spec.ports[0].protocol: unsupported value \"SCTP\" (FastProxy does not proxy SCTP); supported: TCP, UDP (line 13, column 17)",
                at + "spec.ports[1].port: must be a 32-bit integer, got 99999999999 (line 14, column 13)",
                at + "spec.ports[1].protocol: unsupported value \"tcp\"; supported: TCP, UDP (line 15, column 17)",
                at + "spec.ports[2].targetPort: must be a port number or a port name; as a name, \"8080\" must contain at least one letter (a-z) (a number must not be quoted) (line 19, column 19)",
                at + "spec.ports[3]: must be a mapping, got null (line 20, column 7)",
                at + "spec.publishNotReadyAddresses: must be true or false, got \"yes\" (line 21, column 29)",
                at + "spec.externalTrafficPolicy: unsupported value \"Global\" (Global is the old name of Cluster); supported: Cluster, Local (line 22, column 26)",
                at + "spec.externalIPs[0]: must be a string, got 10.1 (quote it: \"10.1\") (line 23, column 17)",
                at + "spec.externalIPs[2]: must be a string, got null (line 23, column 32)",
                at + "spec.externalIPs[3]: must be a valid IP address, got \"300.1.1.1\" (line 23, column 38)",
                at + "spec.loadBalancerSourceRanges[0]: must be a CIDR such as 10.0.0.0/8, got \"10.0.0.0/33\" (line 24, column 30)",
                at + "spec.loadBalancerSourceRanges[1]: must be a CIDR such as 10.0.0.0/8, got \"1.2.3.4\" (line 24, column 43)",
                at + "spec.selector: must be a mapping, got a list (line 25, column 13)",
                at + "spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be an integer, got \"60\" (line 26, column 54)",
                "warning: " + at + "spec.frobnicate: unknown field \"frobnicate\"; ignored (line 27, column 3)",
            ],
            set.Printed());
    }

    [Fact]
    public void TheBriefsExample()
    {
        var set = Manifests.Yaml($"{Manifests.Service("ports: [{name: a, port: 80}]", name: "api")}\n---\n{Manifests.Service("ports:\n  - {name: a, port: 80}\n  - {name: b, port: eighty}")}");
        var diagnostic = Assert.Single(set.Diagnostics);
        Assert.Equal("test.yaml[doc 2] service default/web: spec.ports[1].port: must be an integer, got \"eighty\" (line 17, column 23)", diagnostic.ToString());
        Assert.Equal(
            new ManifestDiagnostic
            {
                Severity = ManifestSeverity.Error,
                Location = new ManifestLocation { FilePath = "test.yaml", Document = 2, Line = 17, Column = 23 },
                Subject = "service default/web",
                Field = "spec.ports[1].port",
                Message = "must be an integer, got \"eighty\"",
            },
            diagnostic);
        Assert.Single(set.Services);
    }

    [Theory]
    [InlineData("spec: []", "spec: must be a mapping, got a list (line 4, column 7)")]
    [InlineData("spec: {ports: {port: 80}}", "spec.ports: must be a list, got a mapping (line 4, column 15)")]
    [InlineData("spec: {ports: [{port: 80, name: [a]}]}", "spec.ports[0].name: must be a string, got a list (line 4, column 33)")]
    [InlineData("spec: {ports: [{port: 80}], publishNotReadyAddresses: 1}", "spec.publishNotReadyAddresses: must be true or false, got 1 (line 4, column 55)")]
    [InlineData("spec: {ports: [{port: 80}], externalName: 7}", "spec.externalName: must be a string, got 7 (quote it: \"7\") (line 4, column 43)")]
    [InlineData("spec: {ports: [{port: 80}], clusterIP: 10.0.0.256}", "spec.clusterIP: must be a valid IP address, \"None\" or empty, got \"10.0.0.256\" (line 4, column 40)")]
    [InlineData("spec: {ports: [{port: 80}], loadBalancerIP: nope}", "spec.loadBalancerIP: must be a valid IP address, got \"nope\" (line 4, column 45)")]
    [InlineData("spec: {ports: [{port: 80}], sessionAffinity: Sticky}", "spec.sessionAffinity: unsupported value \"Sticky\"; supported: None, ClientIP (line 4, column 46)")]
    [InlineData("spec: {ports: [{port: 80}], internalTrafficPolicy: local}", "spec.internalTrafficPolicy: unsupported value \"local\"; supported: Cluster, Local (line 4, column 52)")]
    [InlineData("spec: {ports: [{port: 80}], trafficDistribution: Nearby}", "spec.trafficDistribution: unsupported value \"Nearby\"; supported: PreferClose, PreferSameZone, PreferSameNode (line 4, column 50)")]
    [InlineData("spec: {ports: [{port: 80, nodePort: 70000}]}", "spec.ports[0].nodePort: must be 1-65535, got 70000 (line 4, column 37)")]
    [InlineData("spec: {ports: [{port: 80, targetPort: Web_Http}]}", "spec.ports[0].targetPort: must be a port number or a port name; as a name, \"Web_Http\" must contain only lower-case letters (a-z), digits (0-9) and hyphens (-) (line 4, column 39)")]
    [InlineData("spec: {ports: [{port: 80, targetPort: 0x1F90}]}", null)]
    [InlineData("spec: {ports: [{name: x}]}", "spec.ports[0].port: required (line 4, column 16)")]
    public void WrongValues_NameTheField(string spec, string? error)
    {
        var set = Manifests.Yaml($"apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\n{spec}\n");
        Manifests.Lines(error is null ? [] : ["test.yaml[doc 1] service default/web: " + error], set.Errors());
    }

    [Fact]
    public void MissingIdentity_IsAnError()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n---\napiVersion: v1\nkind: Pod\n---\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: v1\nmetadata: {name: s}\n");
        Manifests.Lines(
            [
                "test.yaml[doc 1] pod (no name): metadata.name: required (line 3, column 11)",
                "test.yaml[doc 2] pod (no name): metadata: required (line 5, column 1)",
                "test.yaml[doc 3] pod default/p: apiVersion: required (line 8, column 1)",
                "test.yaml[doc 4]: kind: required (line 11, column 1)",
            ],
            set.Errors());
    }

    [Theory]
    [InlineData("Service", "discovery.k8s.io/v1", "must be \"v1\" for kind Service, got \"discovery.k8s.io/v1\"")]
    [InlineData("Pod", "apps/v1", "must be \"v1\" for kind Pod, got \"apps/v1\"")]
    [InlineData("Endpoints", "discovery.k8s.io/v1", "must be \"v1\" for kind Endpoints, got \"discovery.k8s.io/v1\"")]
    [InlineData("EndpointSlice", "v1", "must be \"discovery.k8s.io/v1\" for kind EndpointSlice, got \"v1\"")]
    [InlineData("EndpointSlice", "discovery.k8s.io/v1beta1", "must be \"discovery.k8s.io/v1\" for kind EndpointSlice, got \"discovery.k8s.io/v1beta1\"")]
    public void ApiVersion_MustMatchTheKind(string kind, string apiVersion, string message)
    {
        var set = Manifests.Yaml($"apiVersion: {apiVersion}\nkind: {kind}\nmetadata: {{name: x}}\n");
        Assert.Contains($"test.yaml[doc 1] {kind.ToLowerInvariant()} default/x: apiVersion: {message} (line 1, column 13)", set.Errors());
    }

    [Fact]
    public void UnknownKinds_AreWarnings_WithASuggestionForTypos()
    {
        var set = Manifests.Yaml("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\napiVersion: v1\nkind: service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: ConfigMapList\nitems: []\n");
        Assert.False(set.HasErrors);
        Manifests.Lines(
            [
                "warning: test.yaml[doc 1] deployment default/d: kind: unsupported kind \"Deployment\"; skipped (FastProxy reads Service, Pod, Endpoints, EndpointSlice) (line 2, column 7)",
                "warning: test.yaml[doc 2] service default/s: kind: unsupported kind \"service\" (did you mean \"Service\"?); skipped (FastProxy reads Service, Pod, Endpoints, EndpointSlice) (line 6, column 7)",
                "warning: test.yaml[doc 3] configmaplist (no name): kind: unsupported kind \"ConfigMapList\"; skipped (FastProxy reads Service, Pod, Endpoints, EndpointSlice and lists of them) (line 10, column 7)",
            ],
            set.Printed());
    }

    [Fact]
    public void UnknownFields_AreWarnings_KnownKubernetesFieldsAreNot()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              uid: 7c9e
              creationTimestamp: "2025-01-01T00:00:00Z"
              managedFields: [{manager: kubectl}]
            spec:
              selectr: {app: web}
              ipFamilyPolicy: SingleStack
              ports: [{port: 80, appProtocol: http, portt: 81}]
            status:
              conditions: []
            extra: 1
            """);
        Assert.False(set.HasErrors);
        Assert.Single(set.Services);
        Manifests.Lines(
            [
                "warning: test.yaml[doc 1] service default/web: spec.selectr: unknown field \"selectr\" (did you mean \"selector\"?); ignored (line 9, column 3)",
                "warning: test.yaml[doc 1] service default/web: spec.ports[0].portt: unknown field \"portt\" (did you mean \"port\"?); ignored (line 11, column 41)",
                "warning: test.yaml[doc 1] service default/web: extra: unknown field \"extra\"; ignored (line 14, column 1)",
            ],
            set.Printed());
    }

    [Fact]
    public void UnknownFastProxyAnnotations_AreWarnings_OthersAreIgnored()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
              annotations:
                fastproxy.io/wieght: "2"
                fastproxy.io/balancer: maglev
                fastproxy.io/health-check: tcp
                prometheus.io/scrape: "true"
            status: {podIP: 127.0.1.1}
            """);
        Assert.False(set.HasErrors);
        Manifests.Lines(
            [
                "warning: test.yaml[doc 1] pod default/p: metadata.annotations[fastproxy.io/wieght]: unknown FastProxy annotation (did you mean \"fastproxy.io/weight\"?); ignored (line 6, column 26)",
                "warning: test.yaml[doc 1] pod default/p: metadata.annotations[fastproxy.io/balancer]: applies to Services only; ignored (line 7, column 28)",
                "warning: test.yaml[doc 1] pod default/p: metadata.annotations[fastproxy.io/health-check]: applies to Services only; ignored (line 8, column 32)",
            ],
            set.Printed());
        Assert.Equal(1, Assert.Single(set.Pods).Weight);
    }

    [Fact]
    public void LabelValues_MustBeStrings()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {version: 1, enabled: true, empty: }\nstatus: {podIP: 127.0.1.1}\n");
        Manifests.Lines(
            [
                "test.yaml[doc 1] pod default/p: metadata.labels[version]: must be a string, got 1 (quote it: \"1\") (line 5, column 21)",
                "test.yaml[doc 1] pod default/p: metadata.labels[enabled]: must be a string, got true (quote it: \"true\") (line 5, column 33)",
            ],
            set.Errors());
    }

    [Fact]
    public void YamlSyntaxError_HasLineAndColumn_AndEarlierDocumentsStillLoad()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: 127.0.1.1}\n---\nkind: Pod\nmetadata:\n  name: [q\n");
        Assert.Single(set.Pods);
        Manifests.Lines(["test.yaml[doc 2]: YAML syntax error: While parsing a flow sequence, did not find expected ',' or ']'. (line 9, column 1)"], set.Errors());
    }

    [Fact]
    public void YamlSyntaxError_BadIndentation()
    {
        var set = Manifests.Yaml("kind: Pod\nmetadata:\n  name: p\n   labels: {}\n");
        var error = Assert.Single(set.Errors());
        Assert.StartsWith("test.yaml[doc 1]: YAML syntax error: ", error, StringComparison.Ordinal);
        Assert.EndsWith("(line 4, column 10)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonSyntaxError_HasLineAndColumn()
    {
        var set = Manifests.Json("{\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"p\",}\n}");
        Manifests.Lines(["test.json[doc 1]: JSON syntax error: The JSON object contains a trailing comma at the end which is not supported in this mode. Change the reader options. (line 3, column 28)"], set.Errors());
    }

    [Fact]
    public void DuplicateKey_IsAnErrorNamingTheKey_AndTheObjectIsNotLoaded()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: a, app: b}\nstatus: {podIP: 127.0.1.1}\n");
        Manifests.Lines(["test.yaml[doc 1]: metadata.labels.app: duplicate key \"app\" (line 5, column 20)"], set.Printed());
        Assert.Empty(set.Pods);
        Assert.True(set.HasErrors);
    }

    [Fact]
    public void DuplicateKey_InJson()
    {
        var set = Manifests.Json("""{"apiVersion": "v1", "kind": "Pod", "kind": "Service"}""");
        Assert.Equal("test.json[doc 1]: kind: duplicate key \"kind\" (line 1, column 37)", set.Errors()[0]);
        Assert.Empty(set.Pods);
    }

    [Fact]
    public void DuplicateObject_IsAnErrorOnTheSecond()
    {
        using var folder = new TempFolder();
        var a = folder.Write("a.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n");
        folder.Write("b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {ports: [{port: 81}]}\n---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\n");

        var set = ManifestReader.Load([folder.Path]);

        Manifests.Lines([$"{Path.Combine(folder.Path, "b.yaml")}[doc 1] service default/web: metadata.name: duplicate service default/web; first defined at {a}[doc 1] (line 3, column 18)"], set.Printed());
        Assert.Equal(80, Assert.Single(set.Services).Ports[0].Port);
        // Another kind may share the name: the Endpoints of a service are named like it.
        Assert.Single(set.Endpoints);
    }

    [Fact]
    public void ComplexKeys_AreRefused()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  ? [a, b]\n  : c\nstatus: {podIP: 127.0.1.1}\n");
        Manifests.Lines(["test.yaml[doc 1]: metadata: mapping keys must be scalars, not a list (line 5, column 5)"], set.Printed());
        Assert.Empty(set.Pods);
    }

    [Fact]
    public void Aliases_AreRefused()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: &l {app: web}\n  annotations: *l\nstatus: {podIP: 127.0.1.1}\n");
        Manifests.Lines(["test.yaml[doc 1]: metadata.annotations: YAML aliases are not supported (*l) (line 6, column 16)"], set.Printed());
        Assert.Empty(set.Pods);
    }

    [Fact]
    public void Diagnostic_ToString_LeavesOutWhatIsUnknown()
    {
        Assert.Equal("boom", new ManifestDiagnostic { Severity = ManifestSeverity.Error, Message = "boom" }.ToString());
        Assert.Equal("warning: a.yaml: boom", new ManifestDiagnostic { Severity = ManifestSeverity.Warning, Location = new ManifestLocation { FilePath = "a.yaml" }, Message = "boom" }.ToString());
        Assert.Equal("service default/web: spec: boom", new ManifestDiagnostic { Severity = ManifestSeverity.Error, Subject = "service default/web", Field = "spec", Message = "boom" }.ToString());
        Assert.Equal(
            "a.yaml[doc 3].items[0] pod default/p: boom (line 7, column 1)",
            new ManifestDiagnostic { Severity = ManifestSeverity.Error, Location = new ManifestLocation { FilePath = "a.yaml", Document = 3, Item = 0, Line = 7 }, Subject = "pod default/p", Message = "boom" }.ToString());
    }

    [Fact]
    public void DiagnosticsPerFile_AreCapped_ButErrorsStillCount()
    {
        var yaml = string.Concat(Enumerable.Range(0, 50).Select(i => $"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec: {{nodeName: 1}}\n"));
        var set = Manifests.Yaml(yaml, new ManifestReadOptions { MaxDiagnosticsPerFile = 10 });
        Assert.Equal(11, set.Diagnostics.Length);
        Assert.Equal("test.yaml: 40 more diagnostics in this file were not listed", set.Diagnostics[^1].ToString());
        Assert.True(set.HasErrors);
    }

    [Fact]
    public void ObjectWithOnlyWarnings_Loads()
    {
        var set = Manifests.Yaml(Manifests.Service("ports: [{port: 80}]\nunknownThing: 1"));
        Assert.Single(set.Services);
        Assert.False(set.HasErrors);
        Assert.Equal(ManifestSeverity.Warning, Assert.Single(set.Diagnostics).Severity);
        Assert.Equal(new NamespacedName("default", "web"), set.Services[0].Id);
    }

    [Fact]
    public void LongValues_AreCutInMessages()
    {
        var huge = new string('x', 100_000);
        var set = Manifests.Yaml($"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nstatus: {{podIP: {huge}}}\n");
        var error = Assert.Single(set.Errors());
        Assert.Equal($"test.yaml[doc 1] pod default/p: status.podIP: must be a valid IP address, got \"{new string('x', 64)}...\" (line 4, column 17)", error);
    }

    [Fact]
    public void ServiceWithoutSpec_IsAnError()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n");
        Manifests.Lines(["test.yaml[doc 1] service default/web: spec: required (line 1, column 1)"], set.Errors());
    }

    [Fact]
    public void DeletionTimestamp_MustBeATime()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, deletionTimestamp: soon}\nstatus: {podIP: 127.0.1.1}\n");
        Manifests.Lines(["test.yaml[doc 1] pod default/p: metadata.deletionTimestamp: must be an RFC 3339 time such as 2025-01-01T00:00:00Z, got \"soon\" (line 3, column 40)"], set.Errors());
    }

    [Fact]
    public void StringTag_MakesAString()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {version: !!str 1}}\nstatus: {podIP: 127.0.1.1}\n");
        Assert.Empty(set.Diagnostics);
        Assert.Equal("1", Assert.Single(set.Pods).Labels["version"]);
    }
}
