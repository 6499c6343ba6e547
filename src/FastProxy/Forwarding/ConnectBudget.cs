using System.Diagnostics;

namespace FastProxy.Forwarding;

/// <summary>
/// The time all connect attempts of one connection may take together, shared out attempt by attempt:
/// each gets the per-attempt timeout, or what is left when that is less. The forwarder and the
/// in-process connector spend it the same way.
/// </summary>
internal readonly struct ConnectBudget
{
    // Timers fire a little early or late: a sliver of budget left would start a connect that is
    // cancelled at once and blamed on an endpoint that did nothing wrong.
    private static readonly TimeSpan MinimumAttemptTime = TimeSpan.FromMilliseconds(10);

    private readonly long _started;
    private readonly TimeSpan _total;

    /// <summary>Starts the clock on <paramref name="total"/>.</summary>
    public ConnectBudget(TimeSpan total)
    {
        _total = total;
        _started = Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// The next attempt's timeout: <paramref name="attemptTimeout"/>, or what is left of the budget when that is
    /// less (<paramref name="cutByBudget"/>: a timeout then is the budget's end, not the endpoint's fault).
    /// False when too little is left to start an attempt.
    /// </summary>
    public bool TryNextAttempt(TimeSpan attemptTimeout, out TimeSpan timeout, out bool cutByBudget)
    {
        var remaining = _total - Stopwatch.GetElapsedTime(_started);
        cutByBudget = remaining < attemptTimeout;
        timeout = cutByBudget ? remaining : attemptTimeout;
        return remaining >= MinimumAttemptTime;
    }
}
