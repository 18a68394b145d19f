using System.Text.Json;

namespace Snapfn.WebConsole;

/// <summary>One row of the daemon's invocation log (GET /invocations).</summary>
public sealed record LoggedInvocation(string Function, string Mode, DateTimeOffset StartedAt, bool Succeeded, double? RestoreMs,
    double? ExecuteMs, double TotalMs)
{
    public static IReadOnlyList<LoggedInvocation> Parse(JsonElement? answer)
    {
        if (answer is not { ValueKind: JsonValueKind.Object } root || !root.TryGetProperty("invocations", out var rows) || rows.ValueKind != JsonValueKind.Array)
            return [];
        var list = new List<LoggedInvocation>(rows.GetArrayLength());
        foreach (var row in rows.EnumerateArray())
        {
            static double? Number(JsonElement row, string name) =>
                row.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
            if (!row.TryGetProperty("function", out var function) || !row.TryGetProperty("mode", out var mode) ||
                !row.TryGetProperty("started_at", out var started) || !started.TryGetDateTimeOffset(out var at))
                continue;
            var error = row.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String;
            list.Add(new LoggedInvocation(function.GetString() ?? "", mode.GetString() ?? "", at, !error,
                Number(row, "restore_ms"), Number(row, "execute_ms"), Number(row, "total_ms") ?? 0));
        }
        return list;
    }
}

/// <summary>Count, failures, p50 and p99 of a group of invocations (the total time of those that succeeded).</summary>
public sealed record LatencySummary(int Count, int Failed, double? P50, double? P99, double? MeanRestoreMs)
{
    public static LatencySummary Of(IEnumerable<LoggedInvocation> invocations)
    {
        var all = invocations.ToList();
        var ok = all.Where(i => i.Succeeded).Select(i => i.TotalMs).Order().ToList();
        var restores = all.Where(i => i.Succeeded && i.RestoreMs is not null).Select(i => i.RestoreMs!.Value).ToList();
        return new LatencySummary(all.Count, all.Count - ok.Count, Percentile(ok, 0.50), Percentile(ok, 0.99),
            restores.Count == 0 ? null : restores.Average());
    }

    /// <summary>Nearest-rank percentile of sorted values (the value at rank ceil(p * n)), null for none.</summary>
    public static double? Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
            return null;
        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}

/// <summary>Per-minute series of one group of invocations over a window: throughput and p50 latency.</summary>
public sealed record MinuteSeries(IReadOnlyList<long> Minutes, IReadOnlyList<double> Count, IReadOnlyList<double?> P50)
{
    /// <summary>Every minute from <paramref name="from"/> to <paramref name="to"/> (unix seconds), empty minutes included.</summary>
    public static MinuteSeries Of(IEnumerable<LoggedInvocation> invocations, DateTimeOffset from, DateTimeOffset to)
    {
        var first = from.ToUnixTimeSeconds() / 60;
        var last = to.ToUnixTimeSeconds() / 60;
        var buckets = new Dictionary<long, List<double>>();
        foreach (var i in invocations)
        {
            var minute = i.StartedAt.ToUnixTimeSeconds() / 60;
            if (minute < first || minute > last)
                continue;
            if (!buckets.TryGetValue(minute, out var list))
                buckets[minute] = list = [];
            list.Add(i.Succeeded ? i.TotalMs : double.NaN);
        }
        var minutes = new List<long>();
        var counts = new List<double>();
        var p50 = new List<double?>();
        for (var m = first; m <= last; m++)
        {
            minutes.Add(m * 60);
            var list = buckets.GetValueOrDefault(m) ?? [];
            counts.Add(list.Count);
            p50.Add(LatencySummary.Percentile(list.Where(v => !double.IsNaN(v)).Order().ToList(), 0.5));
        }
        return new MinuteSeries(minutes, counts, p50);
    }
}
