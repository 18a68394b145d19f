using System.Diagnostics;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Recording;

/// <summary>
/// FaaSnap's recorder: while the guest runs on a vanilla mapping of a cold memory file, scan which file pages
/// are in the page cache (mincore on a separate shared read-only mapping, so the scan itself faults nothing
/// in). Each scan is a layer; a page's layer is the first scan that saw it. Pages come in because the guest
/// touched them or because the kernel read ahead around a touch: both are what the next run will want.
/// Only the file's data ranges are scanned: holes are zero and never worth loading.
/// </summary>
public sealed unsafe class PresenceScanner : IDisposable
{
    private readonly IReadOnlyList<GuestRange> _ranges;
    private readonly MemoryMapping _view;
    private readonly nint _mapping;
    private readonly ulong _length;
    private readonly int[] _layer;
    private readonly byte[] _vector;
    private readonly TimeSpan _interval;
    private readonly ulong _growthBytes;
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _scans;

    /// <summary>Scans every <paramref name="interval"/>; or, with <paramref name="growthBytes"/> above 0, checks
    /// every <paramref name="interval"/> and scans each time this process's resident size has grown by that much
    /// since the last scan (FaaSnap's daemon: 4 MiB, checked every 4 ms).</summary>
    public PresenceScanner(string memoryFile, ulong length, IReadOnlyList<GuestRange> dataRanges, TimeSpan interval, ulong growthBytes = 0)
    {
        _ranges = dataRanges;
        _length = length;
        _interval = interval;
        _growthBytes = growthBytes;
        using var fd = SnapshotMapping.OpenReadOnly(memoryFile);
        _view = MemoryMapping.OfFile(fd, length, Libc.PROT_READ, Libc.MAP_SHARED, memoryFile);
        _mapping = _view.Address;
        _layer = new int[length / GuestLayout.PageSize];
        Array.Fill(_layer, -1);
        _vector = new byte[dataRanges.Count == 0 ? 1 : dataRanges.Max(r => r.Length) / GuestLayout.PageSize];
        _thread = new Thread(Loop) { IsBackground = true, Name = "faasnap-scanner" };
    }

    public int Scans => _scans;

    public void Start() => _thread.Start();

    /// <summary>Stops scanning after one last scan, and returns each page's layer (-1: never present).</summary>
    public int[] Stop()
    {
        _stop = true;
        if (_thread.IsAlive)
            _thread.Join();
        Scan();
        return _layer;
    }

    private void Loop()
    {
        var scannedAt = ResidentBytes();
        while (!_stop)
        {
            var start = Stopwatch.GetTimestamp();
            if (_growthBytes == 0)
            {
                Scan();
            }
            else
            {
                // The guest's pages are this process's pages: its resident size grows as the run faults them in.
                var resident = ResidentBytes();
                if (resident >= scannedAt + _growthBytes)
                {
                    Scan();
                    scannedAt = resident;
                }
            }
            var left = _interval - Stopwatch.GetElapsedTime(start);
            if (left > TimeSpan.Zero)
                Thread.Sleep(left);
        }
    }

    /// <summary>This process's resident size (/proc/self/statm's second field, in pages).</summary>
    private static ulong ResidentBytes()
    {
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return ulong.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * GuestLayout.PageSize;
    }

    private void Scan()
    {
        var layer = _scans++;
        fixed (byte* v = _vector)
        {
            foreach (var range in _ranges)
            {
                SyscallException.Check(Libc.mincore(_mapping + (nint)range.Offset, (nuint)range.Length, v), "mincore(memory file)");
                var first = range.Offset / GuestLayout.PageSize;
                for (ulong i = 0; i < range.Length / GuestLayout.PageSize; i++)
                {
                    if ((v[i] & 1) != 0 && _layer[first + i] < 0)
                        _layer[first + i] = layer;
                }
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive)
            _thread.Join();
        _view.Dispose();
    }
}
