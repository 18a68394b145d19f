using System.Collections.Concurrent;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>
/// A live VM kept between requests (keep-alive). It is booted, not restored: a VM restored from the snapshot
/// would keep the memory file mapped, and a mapped file stays in the page cache whatever `--cold` asks, which
/// would silently turn every other mode's cold start into a cached one.
/// </summary>
public sealed class WarmVm : IDisposable
{
    /// <param name="version">The code it was booted from (a function's ELF or folder): a VM of another version is
    /// never handed to a request.</param>
    /// <param name="reservation">Its guest memory's share of the host's budget, given back when it stops.</param>
    public WarmVm(MicroVm vm, string? version = null, MemoryReservation? reservation = null)
    {
        Vm = vm;
        Version = version;
        Reservation = reservation;
    }

    public MicroVm Vm { get; }

    public string? Version { get; }

    public MemoryReservation? Reservation { get; }

    public void Dispose()
    {
        Vm.Dispose();
        Reservation?.Dispose();
    }
}

/// <summary>Idle warm VMs per function. A VM whose guest failed is never returned here.</summary>
public sealed class WarmPool : IDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<WarmVm>> _idle = new(StringComparer.Ordinal);
    private readonly int _maxPerFunction;

    public WarmPool(int maxPerFunction = 8)
    {
        _maxPerFunction = maxPerFunction;
    }

    public bool TryAcquire(string function, out WarmVm vm)
    {
        vm = null!;
        return _idle.TryGetValue(function, out var bag) && bag.TryTake(out vm!);
    }

    public void Release(string function, WarmVm vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var bag = _idle.GetOrAdd(function, _ => []);
        if (bag.Count >= _maxPerFunction)
            vm.Dispose();
        else
            bag.Add(vm);
    }

    /// <summary>Stops one idle VM, of any function (a VM that needs the host's memory budget comes first); false
    /// when none is idle.</summary>
    public bool EvictOne()
    {
        foreach (var bag in _idle.Values)
        {
            if (bag.TryTake(out var vm))
            {
                vm.Dispose();
                return true;
            }
        }
        return false;
    }

    /// <summary>Stops every idle VM of <paramref name="function"/> (its snapshot changed, or it was removed).</summary>
    public void Evict(string function)
    {
        if (_idle.TryRemove(function, out var bag))
        {
            foreach (var vm in bag)
                vm.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var function in _idle.Keys)
            Evict(function);
    }
}
