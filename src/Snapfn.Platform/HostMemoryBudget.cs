using System.Globalization;

namespace Snapfn.Platform;

/// <summary>
/// The host memory all VMs may hold at once — running, idle warm ones and pooled shells alike — counted as the sum
/// of their declared guest memory sizes. Declared, not resident: a guest's memory is reserved address space that
/// fills only as the guest touches it, but the guest decides how much it touches, so the declared size is what a
/// hostile or greedy function can make the host hold; counting it makes the bound a guarantee, and admission is
/// decided once, before the VM exists, instead of by an out-of-memory kill mid-run.
/// A VM that does not fit first makes idle ones give way (<see cref="AddReclaimer"/>: pooled shells, idle warm
/// VMs), then waits up to <see cref="Wait"/> for running ones to end, then fails with
/// <see cref="LimitExceededException"/> ("host-memory-budget"), which the daemon answers as "busy, retry".
/// </summary>
public sealed class HostMemoryBudget
{
    public const string LimitName = "host-memory-budget";
    private const string HowToRaise = "raise it with `snapfn serve --host-memory-budget-mib N` (FunctionServiceOptions.HostMemoryBudgetMib), or lower the functions' memory_mib";

    // A monitor, not a Lock: waiting for room uses Monitor.Wait/PulseAll on it.
    private readonly object _lock = new();
    private readonly List<Func<bool>> _reclaimers = [];
    private ulong _reserved;
    private int _waiting;

    public HostMemoryBudget(ulong limitBytes, TimeSpan wait)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(wait, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(wait, TimeSpan.FromDays(1));
        Limit = limitBytes;
        Wait = wait;
    }

    /// <summary>No bound: for tools that run VMs for their operator (the bench), not for clients.</summary>
    public static HostMemoryBudget Unlimited() => new(ulong.MaxValue, TimeSpan.Zero);

    /// <summary>Half of the host's RAM (MemTotal): the other half is left to the page cache that snapshots are
    /// restored from, the daemon and the rest of the machine.</summary>
    public static ulong DefaultLimitBytes() => HostMemTotal() / 2;

    public ulong Limit { get; }

    /// <summary>How long a VM that does not fit waits for others to end.</summary>
    public TimeSpan Wait { get; }

    /// <summary>Bytes held by the VMs alive now.</summary>
    public ulong Reserved
    {
        get
        {
            lock (_lock)
                return _reserved;
        }
    }

    /// <summary>Requests waiting for room (for tests and metrics).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Adds something that can free room by stopping one idle VM (false when it has none).</summary>
    public void AddReclaimer(Func<bool> reclaimOne)
    {
        ArgumentNullException.ThrowIfNull(reclaimOne);
        lock (_lock)
            _reclaimers.Add(reclaimOne);
    }

    /// <summary>Room for a VM of <paramref name="bytes"/> now, without waiting or stopping anything; null when it does
    /// not fit (a pool making a VM ahead of time then does without it).</summary>
    public MemoryReservation? TryReserve(ulong bytes)
    {
        lock (_lock)
            return Fits(bytes) ? Take(bytes) : null;
    }

    /// <summary>Room for a VM of <paramref name="bytes"/>: at once, or after idle VMs gave way, or after running ones
    /// ended within <see cref="Wait"/>; else <see cref="LimitExceededException"/>.</summary>
    public MemoryReservation Reserve(ulong bytes, string what, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(what);
        if (bytes > Limit)
            throw new LimitExceededException(LimitName,
                $"{what} needs {Mib(bytes)} MiB of guest memory, more than the whole budget of {Mib(Limit)} MiB for all VMs", HowToRaise);
        if (TryReserve(bytes) is { } now)
            return now;
        // Reclaimers dispose VMs (a vCPU thread join each): called outside the lock, which their disposal re-enters.
        foreach (var reclaim in Reclaimers())
        {
            while (reclaim())
            {
                if (TryReserve(bytes) is { } freed)
                    return freed;
            }
        }
        var deadline = DateTime.UtcNow + Wait;
        Interlocked.Increment(ref _waiting);
        try
        {
            using var wake = cancel.Register(() =>
            {
                lock (_lock)
                    Monitor.PulseAll(_lock);
            });
            lock (_lock)
            {
                while (!Fits(bytes))
                {
                    cancel.ThrowIfCancellationRequested();
                    var left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero || !Monitor.Wait(_lock, left))
                    {
                        if (Fits(bytes))
                            break;
                        throw new LimitExceededException(LimitName,
                            $"{what} needs {Mib(bytes)} MiB of guest memory, but the VMs alive hold {Mib(_reserved)} of the {Mib(Limit)} MiB budget " +
                            $"and none ended within {Wait.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s: retry later", HowToRaise,
                            RetryAfter);
                    }
                }
                return Take(bytes);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    internal void Release(ulong bytes)
    {
        lock (_lock)
        {
            _reserved -= bytes;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>When a request refused for room may try again: VMs live for one request, so room comes back soon.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private bool Fits(ulong bytes) => bytes <= Limit && _reserved <= Limit - bytes;

    private MemoryReservation Take(ulong bytes)
    {
        _reserved += bytes;
        return new MemoryReservation(this, bytes);
    }

    private List<Func<bool>> Reclaimers()
    {
        lock (_lock)
            return [.. _reclaimers];
    }

    private static ulong Mib(ulong bytes) => bytes >> 20;

    /// <summary>MemTotal from /proc/meminfo, in bytes.</summary>
    private static ulong HostMemTotal()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal))
                continue;
            var kb = line["MemTotal:".Length..].Trim().Split(' ')[0];
            return ulong.Parse(kb, CultureInfo.InvariantCulture) << 10;
        }
        throw new InvalidOperationException("/proc/meminfo has no MemTotal line");
    }
}

/// <summary>One VM's share of the <see cref="HostMemoryBudget"/>, held for as long as the VM exists; disposing it
/// gives the share back (once).</summary>
public sealed class MemoryReservation : IDisposable
{
    private readonly HostMemoryBudget _budget;
    private int _released;

    internal MemoryReservation(HostMemoryBudget budget, ulong bytes)
    {
        _budget = budget;
        Bytes = bytes;
    }

    public ulong Bytes { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
            _budget.Release(Bytes);
    }
}
