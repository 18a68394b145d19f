using System.Diagnostics;
using Snapfn.Interop;
using Snapfn.Snapshots;

namespace Snapfn.Bench.Remote;

/// <summary>
/// Times reads of two test files through one path (the mount, or the export on the local disk), each read made
/// cold by a drop function first: 4 KiB reads at random pages, then whole-file sequential reads.
/// </summary>
internal static class StorageProbe
{
    public const int ReadSize = 4096;
    private const int SequentialChunk = 1 << 20;

    /// <summary>Writes the latency and bandwidth files (random bytes, flushed to the disk so that a drop can
    /// evict them: POSIX_FADV_DONTNEED leaves dirty pages).</summary>
    public static void WriteFiles(string directory, StorageMeasureOptions options, out string latencyFile, out string bandwidthFile)
    {
        Directory.CreateDirectory(directory);
        latencyFile = Path.Combine(directory, "latency.bin");
        bandwidthFile = Path.Combine(directory, "bandwidth.bin");
        var random = new Random(options.Seed);
        Write(latencyFile, options.LatencyFileBytes, random);
        Write(bandwidthFile, options.BandwidthFileBytes, random);
    }

    public static StorageFigures Measure(string latencyFile, string bandwidthFile, Action<string> drop, StorageMeasureOptions options, CancellationToken cancellationToken)
    {
        var offsets = RandomPages(options.LatencyFileBytes, options.LatencyReads, options.Seed);
        drop(latencyFile);
        var leftCached = PageCache.Count(latencyFile).Cached;
        double cold, warm;
        using (var file = File.OpenHandle(latencyFile, FileMode.Open, FileAccess.Read))
        {
            // No read-ahead: each timed read fetches its own page and nothing for the next one.
            var errno = Libc.posix_fadvise(file, 0, 0, Libc.POSIX_FADV_RANDOM);
            if (errno != 0)
                SyscallException.Throw($"posix_fadvise({latencyFile}, RANDOM)", errno);
            cold = Stats.Median(TimeReads(file, offsets, cancellationToken));
            warm = Stats.Median(TimeReads(file, offsets, cancellationToken));
        }

        var rounds = new List<double>();
        var buffer = GC.AllocateUninitializedArray<byte>(SequentialChunk);
        for (var round = 0; round < Math.Max(1, options.BandwidthRounds); round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            drop(bandwidthFile);
            using var file = File.OpenHandle(bandwidthFile, FileMode.Open, FileAccess.Read);
            long total = 0;
            var start = Stopwatch.GetTimestamp();
            int read;
            while ((read = RandomAccess.Read(file, buffer, total)) > 0)
                total += read;
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (total != options.BandwidthFileBytes)
                throw new IOException($"{bandwidthFile}: read {total} of {options.BandwidthFileBytes} bytes");
            rounds.Add(total / seconds / 1e6);
        }
        return new StorageFigures(cold, warm, Stats.Median(rounds), leftCached);
    }

    private static List<double> TimeReads(Microsoft.Win32.SafeHandles.SafeFileHandle file, long[] offsets, CancellationToken cancellationToken)
    {
        var buffer = new byte[ReadSize];
        var times = new List<double>(offsets.Length);
        foreach (var offset in offsets)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var start = Stopwatch.GetTimestamp();
            var read = RandomAccess.Read(file, buffer, offset);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            if (read != ReadSize)
                throw new IOException($"a 4 KiB read at {offset} returned {read} bytes");
        }
        return times;
    }

    /// <summary><paramref name="count"/> distinct page offsets in random order.</summary>
    internal static long[] RandomPages(long fileBytes, int count, int seed)
    {
        var pages = fileBytes / ReadSize;
        if (count < 1 || count > pages)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"between 1 and the file's {pages} pages");
        var random = new Random(seed);
        var chosen = new HashSet<long>();
        var offsets = new long[count];
        for (var i = 0; i < count;)
        {
            var page = random.NextInt64(pages);
            if (chosen.Add(page))
                offsets[i++] = page * ReadSize;
        }
        return offsets;
    }

    private static void Write(string path, long bytes, Random random)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(SequentialChunk);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
        for (long written = 0; written < bytes; written += buffer.Length)
        {
            random.NextBytes(buffer);
            stream.Write(buffer, 0, (int)Math.Min(buffer.Length, bytes - written));
        }
        stream.Flush(flushToDisk: true);
    }
}
