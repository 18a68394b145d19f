using System.Diagnostics;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Recording;

/// <summary>How a FaaSnap recording is made; the defaults are the ones measured best here (see docs/results).</summary>
public sealed record FaasnapRecordOptions
{
    /// <summary>Loading-set pages closer than this are merged into one region (the gap pages are loaded too).</summary>
    public ulong GapPages { get; init; } = 32;

    /// <summary>How often the page cache is scanned while the recorded invocation runs (or, with
    /// <see cref="ScanGrowthBytes"/>, how often the resident size is checked).</summary>
    public TimeSpan ScanInterval { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>0: scan every <see cref="ScanInterval"/>. Above 0: scan each time the process's resident size grew by
    /// this much, checked every <see cref="ScanInterval"/> (FaaSnap's daemon: 4 MiB every 4 ms).</summary>
    public ulong ScanGrowthBytes { get; init; }

    /// <summary>Whether the kernel reads ahead around the recorded run's faults (its default). Off
    /// (MADV_RANDOM), the loading set is what the run touched and nothing more: smaller, but blind to drift.</summary>
    public bool ReadAround { get; init; } = true;

    /// <summary>These options as the recording's header keeps them.</summary>
    public string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"faasnap gap_pages={GapPages} scan_ms={ScanInterval.TotalMilliseconds} read_around={(ReadAround ? 1 : 0)}{(ScanGrowthBytes > 0 ? $" scan_growth_kb={ScanGrowthBytes >> 10}" : "")}");
}

/// <summary>
/// FaaSnap's record phase (EuroSys'22): drop the memory file from the page cache, run one invocation on a
/// vanilla mapping, learn from mincore which data pages came in and in which scan, merge them into regions,
/// and write the loading-set file in (first scan, offset) order with the snapshot's data ranges beside it.
/// </summary>
public static class FaasnapRecorder
{
    /// <summary>Records into <paramref name="path"/> when given, else into the snapshot folder's loading-set file.</summary>
    public static RecordingResult Record(Snapshot snapshot, byte[] input, MicroVmOptions options, FaasnapRecordOptions record, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(record);
        // Zero pages are never worth loading: found by reading, so that a full memory file gives what a sparse one does.
        var dataRanges = SparseMap.NonZeroRanges(snapshot.MemoryPath);
        PageCache.Drop(snapshot.MemoryPath);
        using var scanner = new PresenceScanner(snapshot.MemoryPath, snapshot.State.MemorySize, dataRanges, record.ScanInterval, record.ScanGrowthBytes);
        int[] layers;
        byte[] output;
        double runMs;
        var shell = VmShell.Create(snapshot.State.MemorySize, snapshot.Folder.Function);
        ScannedMemory memory;
        try
        {
            memory = new ScannedMemory(SnapshotMapping.MapMemoryFile(snapshot, shell.Memory), scanner);
            if (!record.ReadAround)
                shell.Memory.Advise(0, shell.Memory.Length, Interop.Libc.MADV_RANDOM, "MADV_RANDOM");
        }
        catch
        {
            shell.Dispose();
            throw;
        }
        using (memory)
        {
            var start = Stopwatch.GetTimestamp();
            (_, output) = SnapshotRun.Run(snapshot, shell, memory, input, options with { Name = snapshot.Folder.Function });
            runMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            layers = memory.Layers!;
        }

        var regions = Regions(layers, record.GapPages);
        path ??= snapshot.Folder.File(FaasnapBackend.FileName);
        var file = RecordingWriter.Write(path, "faasnap", snapshot, regions, SparseMap.Merge(dataRanges, record.GapPages), alignLargePages: true,
            RecordingProvenance.Of(input, record.Describe()));
        return new RecordingResult(path, "faasnap", output, file.Pages, file.Regions.Count, file.FileLength, runMs);
    }

    /// <summary>Present pages merged across gaps under <paramref name="gapPages"/>; a region's order is its earliest
    /// layer; regions sorted by layer, then offset.</summary>
    public static IReadOnlyList<(ulong GuestOffset, ulong Length, uint Order)> Regions(int[] layers, ulong gapPages)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var regions = new List<(ulong GuestOffset, ulong Length, uint Order)>();
        long start = -1, last = -1;
        var layer = int.MaxValue;
        for (long page = 0; page <= layers.Length; page++)
        {
            var present = page < layers.Length && layers[page] >= 0;
            if (!present)
                continue;
            var gap = page - last - 1;
            if (start >= 0 && gap > 0 && (ulong)gap >= gapPages)
            {
                regions.Add(((ulong)start * GuestLayout.PageSize, (ulong)(last - start + 1) * GuestLayout.PageSize, (uint)layer));
                start = -1;
            }
            if (start < 0)
            {
                start = page;
                layer = int.MaxValue;
            }
            last = page;
            layer = Math.Min(layer, layers[page]);
        }
        if (start >= 0)
            regions.Add(((ulong)start * GuestLayout.PageSize, (ulong)(last - start + 1) * GuestLayout.PageSize, (uint)layer));
        return regions.OrderBy(r => r.Order).ThenBy(r => r.GuestOffset).ToList();
    }

    /// <summary>A vanilla restore whose run is watched by the scanner.</summary>
    private sealed class ScannedMemory : RestoredMemory
    {
        private readonly PresenceScanner _scanner;

        public ScannedMemory(GuestMemory memory, PresenceScanner scanner) : base(memory)
        {
            _scanner = scanner;
        }

        public int[]? Layers { get; private set; }

        public override void BeforeFirstRun() => _scanner.Start();

        public override void AfterRun() => Layers = _scanner.Stop();
    }
}
