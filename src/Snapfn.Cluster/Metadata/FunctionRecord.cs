using System.Text.Json;
using System.Text.Json.Serialization;
using Snapfn.Cluster.Artifacts;
using Snapfn.Platform;

namespace Snapfn.Cluster.Metadata;

/// <summary>
/// A function as the cluster holds it in <see cref="ClusterNames.FunctionsBucket"/>, under its name: its settings,
/// its current code (an artifact, identified by the platform's code hash) and, when it has one, its snapshot's state
/// and memory files and the recordings made from that snapshot, each an artifact id. Its version is the key-value
/// revision that wrote it (<see cref="FunctionRecords"/>), not a field: the store gives it, so no two records of a
/// function carry the same one.
/// </summary>
public sealed record FunctionRecord
{
    public const int CurrentFormat = 1;

    /// <summary>Kind of a user function, whose code travels as <see cref="Code"/>.</summary>
    public const string UserKind = "user";

    /// <summary>Kind of a built-in function, whose code every node has in its guest build (checked by hash).</summary>
    public const string BuiltInKind = "builtin";


    public int Format { get; init; } = CurrentFormat;

    public required string Name { get; init; }

    /// <summary>"user" or "builtin".</summary>
    public required string Kind { get; init; }

    /// <summary>"c" (<see cref="FunctionManifest.NativeRuntime"/>) or a script language's name (<see cref="ScriptRuntime"/>: python, node).</summary>
    public required string Runtime { get; init; }

    /// <summary>snapfn.json's <c>retryable</c> (true unless the function says otherwise).</summary>
    public bool Retryable { get; init; } = true;

    public required int MemoryMib { get; init; }

    public string Description { get; init; } = "";

    public bool KeepState { get; init; }

    public int? MaxInstances { get; init; }

    /// <summary>The platform's hash of the code (<see cref="RegisteredFunction.ElfSha256"/>): a node holds this version
    /// when its registry has the same.</summary>
    public required string CodeSha256 { get; init; }

    /// <summary>The code's artifact (an ELF, or a Python function's package); null for a built-in.</summary>
    public string? Code { get; init; }

    public SnapshotArtifacts? Snapshot { get; init; }

    public IReadOnlyList<RecordingArtifact> Recordings { get; init; } = [];

    /// <summary>The node that published this version, for the logs.</summary>
    public string PublishedBy { get; init; } = "";

    public DateTimeOffset PublishedAt { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ClusterJson.Options);

    /// <summary>Every artifact id the record names.</summary>
    [JsonIgnore]
    public IEnumerable<string> Artifacts =>
        new[] { Code, Snapshot?.State, Snapshot?.Memory }.Concat(Recordings.Select(r => r.Artifact)).OfType<string>();

    /// <summary>Parses and checks a record read under <paramref name="key"/>; <see cref="ArtifactException"/> for a
    /// malformed one, <see cref="LimitExceededException"/> for one longer than a manifest may be.</summary>
    public static FunctionRecord Parse(ReadOnlySpan<byte> json, string key, ArtifactLimits limits)
    {
        const string Remedy = "; deploy the function again";
        var record = ClusterJson.Read<FunctionRecord>(json, $"the cluster record of function '{key}'", limits, Remedy);
        ArtifactException Bad(string what) => new($"the cluster record of function '{key}' {what}{Remedy}");
        if (record.Format != CurrentFormat)
            throw Bad($"has format {record.Format}; this Snapfn reads format {CurrentFormat} (run the same Snapfn on every node)");
        if (record.Name != key || !FunctionName.IsValid(record.Name))
            throw Bad($"names function '{record.Name}'");
        if (record.Kind is not (UserKind or BuiltInKind) || (record.Kind == UserKind) != (record.Code is not null))
            throw Bad($"has kind '{record.Kind}' with{(record.Code is null ? "out" : "")} a code artifact");
        if (record.Runtime != FunctionManifest.NativeRuntime && ScriptRuntime.Find(record.Runtime) is null)
            throw Bad($"has runtime '{record.Runtime}'");
        if (!ArtifactManifest.IsSha256(record.CodeSha256))
            throw Bad("has no code hash");
        // JSON's null reaches any field, required or not: each is checked before anything reads it.
        if (record.Recordings is null || record.Recordings.Any(r => r is null) || record.Description is null || record.PublishedBy is null)
            throw Bad("has a field that is null");
        if (record.Snapshot is { } s && (s.State is null || s.Memory is null))
            throw Bad("names a snapshot without its files");
        if (record.Artifacts.Any(id => !ArtifactId.IsValid(id)))
            throw Bad("names an artifact by something that is not an artifact id");
        // What the node hands its platform (register the code with these settings, adopt the snapshot) must be what the
        // platform takes, or a broken record would be reported as a bad request of whoever invoked the function.
        if (!IsMemorySize(record.MemoryMib) || (record.Snapshot is { } sized && !IsMemorySize(sized.MemoryMib)))
            throw Bad($"gives an impossible memory size");
        if (record.Description.Length > FunctionService.MaxDescriptionChars || record.Description.Any(char.IsControl))
            throw Bad($"gives a description that is not one line of at most {FunctionService.MaxDescriptionChars} characters");
        if (record.MaxInstances is { } max && FunctionSettings.CheckMaxInstances(max) is { } wrong)
            throw Bad($"gives max_instances {max}, which {wrong}");
        if (record.Recordings.Count > 16 || record.Recordings.Select(r => r.Mode).Distinct().Count() != record.Recordings.Count)
            throw Bad("lists recordings more than once a mode");
        if (record.Recordings.Count > 0 && record.Snapshot is null)
            throw Bad("lists recordings without the snapshot they were made from");
        if (record.Recordings.FirstOrDefault(r => !FunctionService.RecordModes.Contains(r.Mode)) is { } unknown)
            throw Bad($"lists a recording in mode '{unknown.Mode}', which this Snapfn does not record (run the same Snapfn on every node)");
        var pages = record.Snapshot is { } snapshot ? (long)snapshot.MemoryMib << 8 : 0;
        if (record.Snapshot?.DataPages is < 0 || record.Snapshot?.DataPages > pages
            || record.Recordings.Any(r => r.Pages < 0 || r.Pages > pages || r.Regions < 0))
            throw Bad("gives page counts outside its snapshot's memory");
        return record;
    }

    private static bool IsMemorySize(int mib) => mib is >= MemorySize.MinMiB and <= MemorySize.MaxMiB && mib % 2 == 0;
}

/// <summary>A snapshot in the cluster: which one (the state file's id), its two files as artifacts, and what the
/// registry of a node that adopts it records.</summary>
public sealed record SnapshotArtifacts
{
    public required Guid Id { get; init; }

    /// <summary>The state file's artifact (its manifest carries the CPU features of the host that took it).</summary>
    public required string State { get; init; }

    public required string Memory { get; init; }

    public required int MemoryMib { get; init; }

    public long DataPages { get; init; }
}

/// <summary>A recording of the snapshot in the cluster: its mode, its file as an artifact, and its registry figures.</summary>
public sealed record RecordingArtifact
{
    public required string Mode { get; init; }

    public required string Artifact { get; init; }

    public long Pages { get; init; }

    public int Regions { get; init; }

    public DateTimeOffset RecordedAt { get; init; }
}
