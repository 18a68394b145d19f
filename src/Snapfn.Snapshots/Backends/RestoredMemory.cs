using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// One restore's guest memory, as a mode brought it back, plus whatever the mode runs beside the guest (a
/// fault-serving thread, a loader). The VM owns <see cref="Memory"/>; dispose this after the VM.
/// </summary>
public class RestoredMemory : IDisposable
{
    public RestoredMemory(GuestMemory memory)
    {
        Memory = memory;
    }

    public GuestMemory Memory { get; }

    private Action<string>? _stopGuest;
    private string? _pendingStop;

    /// <summary>Gives this restore a way to stop the guest it serves (when serving pages fails).</summary>
    public void AttachGuest(Action<string> stopGuest)
    {
        _stopGuest = stopGuest;
        if (_pendingStop is { } reason)
            stopGuest(reason);
    }

    /// <summary>Stops the guest, now or as soon as one is attached.</summary>
    protected void StopGuest(string reason)
    {
        _pendingStop = reason;
        _stopGuest?.Invoke(reason);
    }

    /// <summary>Runs after the VM exists and before its first instruction (REAP's blocking prefetch).</summary>
    public virtual void BeforeFirstRun()
    {
    }

    /// <summary>Called when the request has finished: stops helpers, so that counters are final.</summary>
    public virtual void AfterRun()
    {
    }

    /// <summary>The mode's counters for this restore (pages served, bytes prefetched, ...).</summary>
    public virtual IReadOnlyDictionary<string, double> Counters => new Dictionary<string, double>();

    /// <summary>Why this restore did not work as its mode says (a helper that failed but did not stop the guest,
    /// such as FaaSnap's loader); null when it did. A degraded run is reported as such, never as the mode's.</summary>
    public virtual string? Degraded => null;

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}
