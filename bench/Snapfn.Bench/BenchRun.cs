namespace Snapfn.Bench;

/// <summary>One measured invocation of the experiment.</summary>
public sealed record BenchRun(
    string Function,
    string Mode,
    string InputSet,
    int Repetition,
    double RestoreMs,
    double ExecuteMs,
    double TotalMs,
    long CachedPagesBefore,
    IReadOnlyDictionary<string, double> Counters,
    string? Degraded = null,
    long? FilePmdMappedKb = null)
{
    /// <summary>The run <paramref name="result"/> measured, as repetition <paramref name="repetition"/> with
    /// input set <paramref name="inputSet"/>.</summary>
    public static BenchRun Of(Platform.InvocationResult result, string inputSet, int repetition)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new(result.Function, result.Mode, inputSet, repetition, result.RestoreMs, result.ExecuteMs, result.TotalMs,
            result.CachedPagesBefore, result.Counters, result.Degraded, result.FilePmdMappedKb);
    }
}

/// <summary>What was asked of the experiment.</summary>
public sealed record BenchOptions
{
    public required IReadOnlyList<string> Functions { get; init; }
    public required IReadOnlyList<string> Modes { get; init; }
    public int Repeat { get; init; } = 5;
    public string TestInputSet { get; init; } = "B";
    public int Seed { get; init; } = 1;
    /// <summary>How faasnap's recordings are made (a recording made otherwise is made again).</summary>
    public Snapshots.Recording.FaasnapRecordOptions FaasnapRecording { get; init; } = new();
}
