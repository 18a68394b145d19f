using System.Globalization;

namespace Snapfn.Bench.Remote;

/// <summary>How <see cref="LoopbackRemoteStorage.Measure"/> measures; the defaults take a few seconds.</summary>
public sealed record StorageMeasureOptions
{
    /// <summary>4 KiB reads timed, each at a different page of the latency file.</summary>
    public int LatencyReads { get; init; } = 256;

    public long LatencyFileBytes { get; init; } = 64L << 20;

    public long BandwidthFileBytes { get; init; } = 128L << 20;

    /// <summary>Cold sequential reads of the bandwidth file; the median is reported.</summary>
    public int BandwidthRounds { get; init; } = 3;

    public int Seed { get; init; } = 1;
}

/// <summary>
/// One storage's figures. <see cref="ColdReadMicroseconds"/>: median of 4 KiB reads at distinct random pages of a
/// file whose pages were dropped first; <see cref="WarmReadMicroseconds"/>: the same reads again, now cached;
/// <see cref="SequentialMegabytesPerSecond"/> (10^6 bytes): median over rounds of reading the whole bandwidth file
/// cold in 1 MiB reads. <see cref="CachedPagesAfterDrop"/>: the latency file's pages still cached (mincore) right
/// after the drop — 0 if the drop really evicts them.
/// </summary>
public sealed record StorageFigures(double ColdReadMicroseconds, double WarmReadMicroseconds, double SequentialMegabytesPerSecond, long CachedPagesAfterDrop);

/// <summary>The loopback remote storage beside the local disk its export is on, measured the same way.</summary>
public sealed record RemoteStorageMeasurement(string Storage, StorageFigures Remote, StorageFigures Local, StorageMeasureOptions Options)
{
    /// <summary>Lines for the report, printed beside the results measured on this storage.</summary>
    public IReadOnlyList<string> Lines() =>
    [
        $"remote storage: {Storage}",
        Line("remote", Remote),
        Line("local disk", Local),
        string.Create(CultureInfo.InvariantCulture,
            $"  (cold: pages dropped with POSIX_FADV_DONTNEED on the mount and in the export; latency: median of {Options.LatencyReads} 4 KiB reads at random pages of a {Options.LatencyFileBytes >> 20} MiB file, no read-ahead; bandwidth: median of {Options.BandwidthRounds} reads of a {Options.BandwidthFileBytes >> 20} MiB file in 1 MiB reads)"),
    ];

    private static string Line(string name, StorageFigures figures) => string.Create(CultureInfo.InvariantCulture,
        $"  {name,-10}  4 KiB read {figures.ColdReadMicroseconds,7:0.0} µs cold, {figures.WarmReadMicroseconds,5:0.0} µs warm; sequential {figures.SequentialMegabytesPerSecond,6:0} MB/s cold");
}
