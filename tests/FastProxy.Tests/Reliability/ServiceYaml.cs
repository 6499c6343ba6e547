using System.Globalization;
using System.Net;
using System.Text;

namespace FastProxy.Tests.Reliability;

/// <summary>The manifests the reliability scenarios serve: one Service on a virtual IP selecting <c>app</c>, and its Pods.</summary>
internal static class ServiceYaml
{
    public static string Render(string service, IPEndPoint virtualEndPoint, int targetPort, string app, IEnumerable<(string Name, string App, IPAddress Address)> pods)
    {
        var yaml = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: {service}
            spec:
              clusterIP: {virtualEndPoint.Address}
              selector:
                app: {app}
              ports:
              - port: {virtualEndPoint.Port}
                targetPort: {targetPort}

            """));
        foreach (var pod in pods)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"""
                ---
                apiVersion: v1
                kind: Pod
                metadata:
                  name: {pod.Name}
                  labels:
                    app: {pod.App}
                status:
                  podIP: {pod.Address}

                """);
        }

        return yaml.ToString();
    }
}
