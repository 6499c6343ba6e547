namespace FastProxy.Diagnostics;

/// <summary>Every log event id in one place, so ids stay unique and stable across releases.</summary>
internal static class EventIds
{
    public const int ListenerStarted = 1;
    public const int ListenerStopped = 2;
    public const int ListenerBindFailed = 3;
    public const int AcceptLoopFailed = 4;
    public const int SourceRefused = 5;
    public const int NoEndpoints = 10;
    public const int ConnectFailed = 11;
    public const int AllConnectAttemptsFailed = 12;
    public const int ConnectionClosed = 13;
    public const int ForwardingFailed = 14;
    public const int ShutdownAbortingConnections = 20;
    public const int ConnectionMiddlewareFailed = 21;
    public const int PickerFailed = 30;
    public const int ChangeSubscriberFailed = 31;
    public const int LocalPolicyWithoutNodeName = 32;

    // Health (40-59).
    public const int EndpointChecksFailing = 40;
    public const int EndpointChecksPassing = 41;
    public const int EndpointEjected = 42;
    public const int EndpointRestored = 43;
    public const int PanicEntered = 44;
    public const int PanicLeft = 45;
    public const int HealthProbeFailed = 46;
    public const int HealthRefreshFailed = 47;
    public const int HealthCheckNodePortStarted = 48;
    public const int HealthCheckNodePortStopped = 49;
    public const int HealthCheckNodePortBindFailed = 50;
    public const int HealthCheckNodePortRequestFailed = 51;
    // Connection policy (drain, limits, idle timeout, PROXY protocol): 60-79.
    public const int DrainStarted = 60;
    public const int DrainDeadlineReached = 61;
    public const int ClosedByPolicy = 62;
    public const int KeptByPolicy = 63;
    public const int LimitRejected = 64;
    public const int ConnectionQueued = 65;
    public const int QueueTimedOut = 66;
    public const int IdleConnectionsClosed = 67;
    public const int ProxyHeaderRejected = 68;
    public const int ProxyHeaderSourceRefused = 69;
    // UDP forwarding (Forwarding/Udp): 80-99.
    public const int UdpListenerStarted = 80;
    public const int UdpListenerStopped = 81;
    public const int UdpListenerBindFailed = 82;
    public const int UdpReceiveFailed = 83;
    public const int UdpNoEndpoints = 84;
    public const int UdpSessionOpenFailed = 85;
    public const int UdpSourceRefused = 86;
    public const int UdpSessionsEvicted = 87;
    public const int UdpRelayFailed = 88;
    public const int UdpReplyFailed = 89;
    // Embedded DNS (Dns/): 100-109.
    public const int DnsListening = 100;
    public const int DnsRequestFailed = 101;
    public const int DnsForwardFailed = 102;
    public const int DnsTcpLimitReached = 103;
    public const int DnsSocketError = 104;
}
