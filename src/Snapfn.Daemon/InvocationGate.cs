namespace Snapfn.Daemon;

/// <summary>
/// Bounds how many guests run at once (each holds a vCPU thread and the request thread that waits for it) and
/// counts what is in flight, for the drain at shutdown. Work runs synchronously on the request's thread: the
/// VMM's calls block, and the daemon raises the thread pool's minimum to match (see <see cref="DaemonHost"/>).
/// </summary>
public sealed class InvocationGate : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private int _inFlight;

    public InvocationGate(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _slots = new SemaphoreSlim(slots, slots);
    }

    /// <summary>Requests running or waiting for a slot.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(work);
        Interlocked.Increment(ref _inFlight);
        try
        {
            await _slots.WaitAsync(cancellation);
            try
            {
                return work();
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public void Dispose() => _slots.Dispose();
}
