namespace FastProxy.Model;

/// <summary>Where an endpoint runs and the DNS name it carries: traffic policies and discovery read these.</summary>
/// <param name="NodeName">The node; null when unknown.</param>
/// <param name="Zone">The zone; null when unknown.</param>
/// <param name="Hostname">The DNS host name in a headless service; null when none.</param>
internal readonly record struct EndpointPlacement(string? NodeName, string? Zone, string? Hostname);
