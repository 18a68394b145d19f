using Snapfn.Platform;

namespace Snapfn.Daemon.Contracts;

/// <summary>POST /functions/{name}/snapshot: the fields of `snapfn snapshot --json`, plus the registry's.</summary>
public sealed record SnapshotResponse
{
    public required string Function { get; init; }
    public required Guid SnapshotId { get; init; }
    public required string Folder { get; init; }
    public required string StateFile { get; init; }
    public required string MemoryFile { get; init; }
    public required ulong ApparentBytes { get; init; }
    public required long AllocatedBytes { get; init; }
    public required ulong DataPages { get; init; }
    public required string StateSha256 { get; init; }
    public required double BootMs { get; init; }
    public required double InitMs { get; init; }
    public required double WriteMs { get; init; }

    public static SnapshotResponse From(string function, SnapshotOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var (taken, record) = outcome;
        return new SnapshotResponse
        {
            Function = function, SnapshotId = record.SnapshotId, Folder = taken.Info.Folder, StateFile = taken.Info.StatePath,
            MemoryFile = taken.Info.MemoryPath, ApparentBytes = taken.Info.ApparentBytes, AllocatedBytes = taken.Info.AllocatedBytes,
            DataPages = taken.Info.DataPages, StateSha256 = record.StateSha256, BootMs = taken.BootMs, InitMs = taken.InitMs,
            WriteMs = taken.WriteMs,
        };
    }
}

/// <summary>POST /functions/{name}/record: the fields of `snapfn record --json`, plus the file's checksum.</summary>
public sealed record RecordingResponse
{
    public required string Function { get; init; }
    public required string Mode { get; init; }
    public required string File { get; init; }
    public required ulong Pages { get; init; }
    public required int Regions { get; init; }
    public required ulong FileBytes { get; init; }
    public required double RunMs { get; init; }
    public required string Sha256 { get; init; }

    public static RecordingResponse From(string function, RecordingOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var (result, record) = outcome;
        return new RecordingResponse
        {
            Function = function, Mode = result.Mode, File = result.Path, Pages = result.Pages, Regions = result.Regions,
            FileBytes = result.FileBytes, RunMs = result.RunMs, Sha256 = record.Sha256,
        };
    }
}

/// <summary>POST /functions/{name}/invoke with Accept: application/json: the fields of `snapfn invoke --json`.</summary>
public sealed record InvocationResponse
{
    public required string Function { get; init; }
    /// <summary>The path that served it (kept, cold-faasnap, cold-reap, cold-cached, cold-vanilla, mode-MODE).</summary>
    public string? Path { get; init; }
    public required string Mode { get; init; }
    public required string Output { get; init; }
    /// <summary>"utf-8", or "base64" when the output is not text.</summary>
    public required string OutputEncoding { get; init; }
    /// <summary>How long it waited for an instance of the function.</summary>
    public double QueueMs { get; init; }
    public required double RestoreMs { get; init; }
    public required double ExecuteMs { get; init; }
    public required double TotalMs { get; init; }
    public required long CachedPagesBefore { get; init; }
    public required IReadOnlyDictionary<string, double> Counters { get; init; }
    /// <summary>Its id in the invocation log (GET /invocations).</summary>
    public long? InvocationId { get; init; }
    /// <summary>Present only when the run is not what its mode claims, with the reason.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Degraded { get; init; }

    public static InvocationResponse From(InvocationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var (text, encoding) = OutputText.Encode(result.Output);
        return new InvocationResponse
        {
            Function = result.Function, Path = result.Path, Mode = result.Mode, Output = text, OutputEncoding = encoding, QueueMs = result.QueueMs,
            RestoreMs = result.RestoreMs, ExecuteMs = result.ExecuteMs, TotalMs = result.TotalMs, CachedPagesBefore = result.CachedPagesBefore,
            Counters = result.Counters, InvocationId = result.InvocationId, Degraded = result.Degraded,
        };
    }
}

/// <summary>GET /healthz.</summary>
public sealed record HealthResponse(string Status, int Functions, int InvocationsInFlight);

/// <summary>GET /invocations: the invocation log, newest first.</summary>
public sealed record InvocationLogResponse(IReadOnlyList<InvocationLogEntry> Invocations);
