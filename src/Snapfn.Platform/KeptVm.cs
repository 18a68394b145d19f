using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>
/// A VM restored from a function's snapshot and kept after its request, for a function that keeps state between
/// requests: the next request runs on it as it is (its globals, its /tmp). It holds its guest memory's share of the
/// host budget, and its restore mode's helpers (a fault server, a loader) run until it is stopped, since the guest
/// may still fault pages in. Stopped by the <see cref="InstancePool{TInstance}"/> (keep-alive, memory, redeploy).
/// </summary>
public sealed class KeptVm : IDisposable
{
    private readonly MicroVm _vm;
    private readonly RestoredMemory _memory;
    private readonly MemoryReservation _reservation;
    private int _disposed;

    internal KeptVm(MicroVm vm, RestoredMemory memory, MemoryReservation reservation, string version, Guid snapshotId)
    {
        _vm = vm;
        _memory = memory;
        _reservation = reservation;
        Version = version;
        SnapshotId = snapshotId;
    }

    /// <summary>The code it runs (a function's ELF or folder): a VM of another version is never handed a request.</summary>
    public string Version { get; }

    /// <summary>The snapshot it was restored from: a VM of an older snapshot is never handed a request.</summary>
    public Guid SnapshotId { get; }

    /// <summary>Requests it has served.</summary>
    public int Requests { get; private set; }

    internal (GuestRun Run, byte[] Output) Invoke(ReadOnlySpan<byte> input, CancellationToken cancel)
    {
        var result = SnapshotRun.Invoke(_vm, _memory, input, first: Requests == 0, cancel);
        Requests++;
        return result;
    }

    /// <summary>The restore mode's counters so far (not final while its helpers run).</summary>
    internal IReadOnlyDictionary<string, double> Counters => _memory.Counters;

    internal string? Degraded => _memory.Degraded;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        try
        {
            _memory.AfterRun();
        }
        finally
        {
            _vm.Dispose();
            _memory.Dispose();
            _reservation.Dispose();
        }
    }
}
