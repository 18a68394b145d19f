using System.Diagnostics;

namespace Snapfn.LoadBench;

/// <summary>One measured cell: a mode, a path (daemon or in-process), a concurrency, and what it achieved.</summary>
public sealed record CellResult(string Mode, string Path, int Concurrency, int Requests, double Seconds, double P50Ms, double P99Ms, double MeanMs)
{
    public double PerSecond => Requests / Seconds;
}

/// <summary>
/// A closed loop: <c>concurrency</c> threads, each sending its next request when the previous one answered, for a
/// fixed time after a warm-up. Dedicated threads on both paths, so neither pays for the thread pool's scheduling.
/// Latency is measured per request by the caller's thread.
/// </summary>
public static class LoadCell
{
    /// <summary><paramref name="worker"/> makes one worker's request function (a connection, say).</summary>
    public static CellResult Run(string mode, string path, int concurrency, TimeSpan warmup, TimeSpan duration, Func<Action> worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        var requests = Enumerable.Range(0, concurrency).Select(_ => worker()).ToArray();
        RunFor(requests, warmup, null);
        var latencies = new List<double>[concurrency];
        var start = Stopwatch.GetTimestamp();
        RunFor(requests, duration, latencies);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        foreach (var request in requests)
            (request.Target as IDisposable)?.Dispose();
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new CellResult(mode, path, concurrency, all.Length, seconds, Percentile(all, 0.50), Percentile(all, 0.99), all.Average());
    }

    private static void RunFor(Action[] requests, TimeSpan duration, List<double>[]? latencies)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        Exception? failure = null;
        var threads = requests.Select((request, i) => new Thread(() =>
        {
            var mine = new List<double>(1 << 16);
            try
            {
                while (Stopwatch.GetTimestamp() < deadline)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    request();
                    mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
            if (latencies is not null)
                latencies[i] = mine;
        }) { IsBackground = true, Name = $"load-{i}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (failure is not null)
            throw new InvalidOperationException("a load worker failed", failure);
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
