using System.Runtime.Versioning;

namespace FastProxy.Transport.Epoll;

/// <summary>Something an <see cref="EpollLoop"/> drives: started on the loop's thread, then told of its sockets' events there.</summary>
[SupportedOSPlatform("linux")]
internal abstract class EpollHandler
{
    /// <summary>This handler's slot in its loop's table, set by the loop before <see cref="Start"/>.</summary>
    internal int Slot { get; set; }

    /// <summary>Tells this handler's registrations from an earlier one's in the same slot, set by the loop.</summary>
    internal uint Sequence { get; set; }

    /// <summary>On the loop thread, once the handler has its slot: watch its sockets (<see cref="EpollLoop.Watch"/>).</summary>
    internal abstract void Start();

    /// <summary>On the loop thread: what epoll reported for a socket watched with <paramref name="tag"/>.</summary>
    internal abstract void OnEvents(bool tag, uint events);
}
