namespace Snapfn.Platform;

/// <summary>
/// Bounds the deploys checked at once (<see cref="DeployLimits.MaxConcurrent"/>): a deploy waits at most
/// <see cref="DeployLimits.Wait"/> for a turn, then is refused with a <see cref="LimitExceededException"/> that
/// says when to try again, rather than queueing minutes of apt runs without end.
/// </summary>
public sealed class DeployGate : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private readonly DeployLimits _limits;

    public DeployGate(DeployLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
        _slots = new SemaphoreSlim(limits.MaxConcurrent, limits.MaxConcurrent);
    }

    /// <summary>Deploys that may still start without waiting.</summary>
    public int Free => _slots.CurrentCount;

    /// <summary>Takes a turn, held until the returned object is disposed; blocks the calling thread while it waits.</summary>
    public Turn Enter() => _slots.Wait(_limits.Wait) ? new Turn(_slots) : throw Busy();

    /// <summary>As <see cref="Enter"/>, without holding a thread while it waits (the daemon's request threads).</summary>
    public async Task<Turn> EnterAsync(CancellationToken cancellation) =>
        await _slots.WaitAsync(_limits.Wait, cancellation).ConfigureAwait(false) ? new Turn(_slots) : throw Busy();

    private LimitExceededException Busy() => new("concurrent-deploys",
        $"{_limits.MaxConcurrent} deploys are being checked already and none finished within {_limits.Wait.TotalSeconds:0} s; send it again later",
        "raise it with `snapfn serve --max-concurrent-deploys N`, or wait longer with --deploy-wait-seconds")
    {
        RetryAfter = TimeSpan.FromSeconds(Math.Max(5, _limits.Wait.TotalSeconds)),
    };

    public void Dispose() => _slots.Dispose();

    /// <summary>One deploy's turn; disposing it lets the next one in.</summary>
    public sealed class Turn(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                slots.Release();
        }
    }
}
