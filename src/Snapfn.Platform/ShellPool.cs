using System.Collections.Concurrent;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>
/// VM shells made ahead of time, so that a restore does not pay for creating a KVM VM, its memory slot and its
/// vCPU thread (about 2-4 ms here). <see cref="Replenish"/> runs after an invocation, outside its timing; a
/// request that finds the pool empty makes its shell inline.
/// </summary>
public sealed class ShellPool : IDisposable
{
    private readonly ConcurrentDictionary<ulong, ConcurrentBag<VmShell>> _ready = new();
    private readonly int _target;

    public ShellPool(int target = 1)
    {
        _target = target;
    }

    /// <summary>A ready shell of <paramref name="memorySize"/> bytes, or a new one.</summary>
    public VmShell Take(ulong memorySize) =>
        _ready.TryGetValue(memorySize, out var bag) && bag.TryTake(out var shell) ? shell : VmShell.Create(memorySize);

    /// <summary>Brings the pool for <paramref name="memorySize"/> back to its target.</summary>
    public void Replenish(ulong memorySize) => Fill(memorySize, _target);

    /// <summary>Makes shells until <paramref name="count"/> of <paramref name="memorySize"/> bytes are ready (a burst
    /// of concurrent restores takes that many at once).</summary>
    public void Fill(ulong memorySize, int count)
    {
        var bag = _ready.GetOrAdd(memorySize, _ => []);
        while (bag.Count < count)
            bag.Add(VmShell.Create(memorySize));
    }

    public void Dispose()
    {
        foreach (var bag in _ready.Values)
        {
            while (bag.TryTake(out var shell))
                shell.Dispose();
        }
    }
}
