using Snapfn.Platform;
using Snapfn.Platform.AutoRecording;

namespace Snapfn.Daemon.Contracts;

/// <summary>A registered function as GET /functions and GET /functions/{name} describe it.</summary>
public sealed record FunctionResponse
{
    public required string Name { get; init; }
    /// <summary>"builtin" or "user".</summary>
    public required string Kind { get; init; }
    public required string Description { get; init; }
    /// <summary>"python" or "node" for a script function's folder, else "native" (an ELF built with the Snapfn SDK).</summary>
    public string Runtime { get; init; } = "native";
    public required int MemoryMib { get; init; }
    public required string ElfSha256 { get; init; }
    public required bool IsTestGuest { get; init; }
    public required DateTimeOffset RegisteredAt { get; init; }
    /// <summary>snapfn.json's keep_state: an idle VM is reused as it is.</summary>
    public bool KeepState { get; init; }
    /// <summary>snapfn.json's max_instances; absent for the platform's default.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxInstances { get; init; }
    public SnapshotSummary? Snapshot { get; init; }
    public required IReadOnlyList<RecordingSummary> Recordings { get; init; }
    /// <summary>Where the platform's own recording of the function stands (absent when the daemon does not record by itself).</summary>
    public AutoRecordingSummary? AutoRecording { get; init; }
    /// <summary>On a node of a cluster: the function's cluster record (absent on a daemon alone, and for built-ins).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public ClusterSummary? Cluster { get; init; }
    /// <summary>Set by a deploy that stored the function but could not snapshot it: why, and what to do.</summary>
    public SnapshotFailure? SnapshotError { get; init; }

    public static string KindName(FunctionKind kind) => kind == FunctionKind.User ? "user" : "builtin";

    public static FunctionResponse From(RegisteredFunction f, AutoRecordStatus? autoRecording)
    {
        ArgumentNullException.ThrowIfNull(f);
        return From(f) with { AutoRecording = autoRecording is null ? null : AutoRecordingSummary.From(autoRecording) };
    }

    public static FunctionResponse From(RegisteredFunction f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return new FunctionResponse
        {
            Name = f.Name,
            Kind = KindName(f.Kind),
            Description = f.Description,
            Runtime = Directory.Exists(f.ElfPath) && ScriptFunction.LanguageOrNull(f.ElfPath) is { } language ? language.Name : "native",
            MemoryMib = f.MemoryMib,
            ElfSha256 = f.ElfSha256,
            IsTestGuest = f.IsTestGuest,
            RegisteredAt = f.RegisteredAt,
            KeepState = f.Settings.KeepState,
            MaxInstances = f.Settings.MaxInstances,
            Snapshot = f.Snapshot is { } s ? SnapshotSummary.From(s) : null,
            Recordings = f.Recordings.Select(RecordingSummary.From).ToList(),
        };
    }
}

/// <summary>A function's snapshot in the registry.</summary>
public sealed record SnapshotSummary
{
    public required Guid SnapshotId { get; init; }
    public required string ElfSha256 { get; init; }
    public required string StateSha256 { get; init; }
    public required string MemoryFile { get; init; }
    public required int MemoryMib { get; init; }
    public required long AllocatedBytes { get; init; }
    public required long DataPages { get; init; }
    public required DateTimeOffset TakenAt { get; init; }

    public static SnapshotSummary From(SnapshotRecord s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new SnapshotSummary
        {
            SnapshotId = s.SnapshotId, ElfSha256 = s.ElfSha256, StateSha256 = s.StateSha256, MemoryFile = s.MemoryFile,
            MemoryMib = s.MemoryMib, AllocatedBytes = s.AllocatedBytes, DataPages = s.DataPages, TakenAt = s.TakenAt,
        };
    }
}

/// <summary>A reap or faasnap recording in the registry.</summary>
public sealed record RecordingSummary
{
    public required string Mode { get; init; }
    public required Guid SnapshotId { get; init; }
    public required string Sha256 { get; init; }
    public required long Pages { get; init; }
    public required int Regions { get; init; }
    public required long FileBytes { get; init; }
    public required DateTimeOffset RecordedAt { get; init; }

    public static RecordingSummary From(RecordingRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new RecordingSummary
        {
            Mode = r.Mode, SnapshotId = r.SnapshotId, Sha256 = r.Sha256, Pages = r.Pages, Regions = r.Regions,
            FileBytes = r.FileBytes, RecordedAt = r.RecordedAt,
        };
    }
}

/// <summary>Where a function's automatic recording stands: <c>state</c> is no-snapshot, waiting, pending, recording, recorded or
/// failed; <c>reason</c> says why when it is not evident; <c>trigger</c> what started the last one (first-invocation,
/// sample-input, drift).</summary>
public sealed record AutoRecordingSummary
{
    public required string State { get; init; }
    public string? Reason { get; init; }
    public string? Trigger { get; init; }
    public DateTimeOffset? Since { get; init; }

    public static AutoRecordingSummary From(AutoRecordStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new AutoRecordingSummary { State = status.State, Reason = status.Reason, Trigger = status.Trigger, Since = status.Since };
    }
}

/// <summary>Why a deploy took no snapshot: the error code (kvm-unavailable, function-failed, ...) and what happened and what to do.</summary>
public sealed record SnapshotFailure(string Error, string Detail);
