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

    /// <summary>Takes a turn, held until the returned object is disposed.</summary>
    public IDisposable Enter()
    {
        if (!_slots.Wait(_limits.Wait))
            throw new LimitExceededException("concurrent-deploys",
                $"{_limits.MaxConcurrent} deploys are being checked already and none finished within {_limits.Wait.TotalSeconds:0} s; send it again later",
                "raise it with `snapfn serve --max-concurrent-deploys N`, or wait longer with --deploy-wait-seconds")
            {
                RetryAfter = TimeSpan.FromSeconds(Math.Max(5, _limits.Wait.TotalSeconds)),
            };
        return new Turn(_slots);
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Turn(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                slots.Release();
        }
    }
}
