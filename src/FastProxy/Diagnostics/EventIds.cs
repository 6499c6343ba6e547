namespace FastProxy.Diagnostics;

/// <summary>Every log event id in one place, so ids stay unique and stable across releases.</summary>
internal static class EventIds
{
    public const int ListenerStarted = 1;
    public const int ListenerStopped = 2;
    public const int ListenerBindFailed = 3;
    public const int AcceptLoopFailed = 4;
    public const int SourceRefused = 5;
    public const int ProtocolNotForwarded = 6;
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
    // Embedded DNS (Dns/): 100-109.
    public const int DnsListening = 100;
    public const int DnsRequestFailed = 101;
    public const int DnsForwardFailed = 102;
    public const int DnsTcpLimitReached = 103;
    public const int DnsSocketError = 104;
}
