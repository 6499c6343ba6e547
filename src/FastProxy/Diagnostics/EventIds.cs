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
}
