using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>
/// VM shells made ahead of time, so that a restore does not pay for creating a KVM VM, its memory slot and its
/// vCPU thread (about 2-4 ms here). <see cref="Replenish"/> runs after an invocation, outside its timing; a
/// request that finds the pool empty makes its shell inline.
/// Each idle shell holds a KVM VM, a vCPU thread and its guest memory's share of the <see cref="HostMemoryBudget"/>,
/// so the pool is bounded: at most <see cref="MaxIdle"/> shells whatever the sizes asked for (the one idle longest
/// is stopped to make room), none kept idle past the idle timeout, none made when the budget has no room for it,
/// and idle ones are the first to give way when a VM needs the budget.
/// </summary>
public sealed class ShellPool : IDisposable
{
    public const int DefaultMaxIdle = 4;
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(5);

    private readonly IdlePool<ulong, PooledShell> _idle;
    private readonly HostMemoryBudget _budget;
    private readonly int _target;

    /// <param name="target">Shells kept ready per memory size by <see cref="Replenish"/>.</param>
    /// <param name="maxIdle">Idle shells kept at most, all sizes together.</param>
    /// <param name="idleTimeout">How long a shell may stay idle (<see cref="DefaultIdleTimeout"/> when null).</param>
    /// <param name="budget">Where idle shells take their memory's share; unlimited when null.</param>
    public ShellPool(int target = 1, int maxIdle = DefaultMaxIdle, TimeSpan? idleTimeout = null, HostMemoryBudget? budget = null,
        TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        _target = target;
        _budget = budget ?? HostMemoryBudget.Unlimited();
        _idle = new IdlePool<ulong, PooledShell>(maxIdle, idleTimeout ?? DefaultIdleTimeout, time);
        _budget.AddReclaimer(_idle.EvictOldest);
    }

    public int MaxIdle => _idle.Capacity;

    /// <summary>Shells idle now (each a KVM VM and a vCPU thread).</summary>
    public int IdleCount => _idle.Count;

    /// <summary>Idle shells of <paramref name="memorySize"/> bytes.</summary>
    public int IdleCountOf(ulong memorySize) => _idle.CountOf(memorySize);

    /// <summary>Shells the pool stopped (bound reached, idle too long, budget reclaimed) since it was made.</summary>
    public long Evicted => _idle.Evicted;

    /// <summary>A ready shell of <paramref name="memorySize"/> bytes, or a new one. Its memory's share of the budget
    /// is the caller's to hold (a VM it runs reserves it): the pool's share ends here.</summary>
    public VmShell Take(ulong memorySize)
    {
        if (!_idle.TryTake(memorySize, out var pooled))
            return VmShell.Create(memorySize);
        pooled.Reservation.Dispose();
        return pooled.Shell;
    }

    /// <summary>Brings the pool for <paramref name="memorySize"/> back to its target.</summary>
    public void Replenish(ulong memorySize) => Fill(memorySize, _target);

    /// <summary>Stops the shells idle past the idle timeout (a timer does it too); returns how many.</summary>
    public int EvictIdle() => _idle.EvictIdle();

    /// <summary>Makes shells until <paramref name="count"/> of <paramref name="memorySize"/> bytes are ready (a burst
    /// of concurrent restores takes that many at once), within the pool's bound and the budget's room: a shell
    /// made ahead is an optimisation, never a reason to refuse or delay a request.</summary>
    public void Fill(ulong memorySize, int count)
    {
        _idle.EvictIdle();
        for (var ready = _idle.CountOf(memorySize); ready < Math.Min(count, _idle.Capacity); ready++)
        {
            if (_budget.TryReserve(memorySize) is not { } reservation)
                return;
            VmShell shell;
            try
            {
                shell = VmShell.Create(memorySize);
            }
            catch
            {
                reservation.Dispose();
                throw;
            }
            _idle.Add(memorySize, new PooledShell(shell, reservation));
        }
    }

    public void Dispose() => _idle.Dispose();

    /// <summary>An idle shell with its memory's share of the budget.</summary>
    private sealed record PooledShell(VmShell Shell, MemoryReservation Reservation) : IDisposable
    {
        public void Dispose()
        {
            Shell.Dispose();
            Reservation.Dispose();
        }
    }
}
