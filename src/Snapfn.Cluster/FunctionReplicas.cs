using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Snapfn.Cluster.Artifacts;
using Snapfn.Cluster.Metadata;
using Snapfn.Cluster.Serving;
using Snapfn.Platform;

namespace Snapfn.Cluster;

/// <summary>
/// <see cref="IFunctionReplicas"/> on JetStream: a function's code, snapshot and recordings as content-addressed
/// artifacts (<see cref="ArtifactStore"/>), its record in the functions bucket (<see cref="FunctionRecords"/>), and
/// the local platform (<see cref="FunctionService"/>) as what a node serves from. Publishing uploads the artifacts
/// first and the record last, so no node sees a record whose artifacts are missing. Ensuring fetches what the node
/// lacks into the platform without booting the runtime, unless this CPU lacks features the snapshot's host had;
/// concurrent ensures of one function on this node share one run. Once started (<see cref="StartAsync"/>), the records
/// are read from a view in memory kept by a watch of the bucket (<see cref="FunctionRecordView"/>), so that serving a
/// function this node holds costs no read of the cluster; a function deleted from the cluster is dropped from this
/// node when the watch delivers its delete.
/// </summary>
public sealed class FunctionReplicas : IFunctionReplicas, IDisposable
{
    private readonly FunctionService _service;
    private readonly ClusterOptions _options;
    private readonly FunctionRecords _records;
    private readonly FunctionRecordView _view;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, Lazy<Task<ReplicaFetch>>> _inFlight = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private long _runs;

    public FunctionReplicas(INatsConnection connection, FunctionService service, ClusterOptions? options = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(service);
        _service = service;
        _options = options ?? new ClusterOptions();
        _options.Artifacts.Validate();
        var cache = new ChunkCache(Path.Combine(service.Home.Path, "cluster", "chunks"), _options.Artifacts.MaxCacheBytes);
        Artifacts = new ArtifactStore(connection, cache, _options.Artifacts, _options.Replicas);
        _records = new FunctionRecords(connection, _options.Artifacts, _options.Replicas);
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _view = new FunctionRecordView(_records, _log);
        _view.Changed += DropIfDeleted;
    }

    /// <summary>This node's view of the functions' records (for tests: it is watched once <see cref="StartAsync"/> ran).</summary>
    public FunctionRecordView View => _view;

    /// <summary>Raised after this node removed its local copy of a function deleted from the cluster (its placement
    /// entries go with it: <see cref="Serving.PlacementPublisher.ForgetAsync"/>).</summary>
    public event Action<string>? LocalCopyDropped;

    /// <summary>Creates the buckets where they do not exist and starts watching the functions' records; returns once
    /// the view holds the bucket's state (until then, and without it, every read goes to the bucket).</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        await EnsureBucketsAsync(ct).ConfigureAwait(false);
        _view.Start();
        await _view.WhenReadyAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Where this node's chunks and manifests go and come from.</summary>
    public ArtifactStore Artifacts { get; }

    /// <summary>Ensure runs that did work (for tests: concurrent ensures of one function make one).</summary>
    internal long Runs => Interlocked.Read(ref _runs);

    /// <summary>Creates the buckets this side uses where they do not exist (each call would otherwise on first use).</summary>
    public async Task EnsureBucketsAsync(CancellationToken ct)
    {
        await Artifacts.EnsureBucketsAsync(ct).ConfigureAwait(false);
        await _records.EnsureBucketAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ClusterFunction>> ListAsync(CancellationToken ct) =>
        (_view.Ready ? _view.Records : await _records.ListAsync(ct).ConfigureAwait(false)).Select(r => r.ToClusterFunction()).ToList();

    public async Task<ClusterFunction?> FindAsync(string name, CancellationToken ct) =>
        (await CurrentAsync(name, ct).ConfigureAwait(false))?.ToClusterFunction();

    /// <summary>The function's full cluster record with its version, or null; read from the bucket's leader.</summary>
    public Task<VersionedRecord?> GetRecordAsync(string name, CancellationToken ct) => _records.GetAsync(name, ct);

    /// <summary>The function's current record: the view's, where it holds one; else (the view not started or not
    /// ready, a name it has not seen, a function it saw deleted) read from the bucket's leader, so that a function
    /// just deployed elsewhere, whose record the watch has not delivered yet, is not answered as unknown.</summary>
    private async Task<VersionedRecord?> CurrentAsync(string name, CancellationToken ct)
    {
        if (_view.TryGet(name, out var seen))
        {
            if (seen.Error is { } error)
                throw new ArtifactException(error);
            if (seen.Record is { } record)
                return record;
        }
        return await _records.GetAsync(name, ct).ConfigureAwait(false);
    }

    /// <summary>Deletes the function's record from the cluster (compare-and-set on the revision read, so a version
    /// published meanwhile by another node is not deleted unseen) and this node's copy; every other node drops its
    /// copy when its watch delivers the delete. An invocation running on a copy finishes on it (the platform leases
    /// the files it runs on). False when neither the cluster nor this node had it.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_service.Find(name) is { Kind: FunctionKind.BuiltIn })
            throw new FunctionConflictException($"'{name}' is a built-in function of every node: it cannot be deleted");
        var deleted = await _records.DeleteAsync(name, ct).ConfigureAwait(false);
        if (deleted is { } revision)
            _view.Note(name, null, revision, DateTimeOffset.UtcNow);
        var local = DropLocal(name);
        return deleted is not null || local;
    }

    public async Task PublishAsync(string name, CancellationToken ct) => _ = await PublishRecordAsync(name, ct).ConfigureAwait(false);

    /// <summary><see cref="PublishAsync"/>, returning the record written and its version.</summary>
    public async Task<VersionedRecord> PublishRecordAsync(string name, CancellationToken ct)
    {
        var function = _service.Get(name);
        var started = Stopwatch.StartNew();
        // Read before anything is uploaded: a record another node writes meanwhile makes this publish lose.
        var previous = await _records.GetAsync(name, ct).ConfigureAwait(false);
        var staging = Directory.CreateTempSubdirectory("snapfn-publish-").FullName;
        try
        {
            var script = function.Info.Runtime == FunctionRuntime.Script ? ScriptFunction.Manifest(function.ElfPath) : null;
            string? code = null;
            if (function.Kind == FunctionKind.User)
            {
                var path = function.ElfPath;
                if (script is not null)
                {
                    path = Path.Combine(staging, "code.zip");
                    await File.WriteAllBytesAsync(path, FunctionPackage.Pack(function.ElfPath), ct).ConfigureAwait(false);
                }
                code = (await Artifacts.PutAsync("code", path, null, ct).ConfigureAwait(false)).Id;
            }
            var (snapshot, recordings) = function.Snapshot is null ? (null, []) : await PublishSnapshotAsync(function, ct).ConfigureAwait(false);
            var record = new FunctionRecord
            {
                Name = function.Name,
                Kind = function.Kind == FunctionKind.User ? FunctionRecord.UserKind : FunctionRecord.BuiltInKind,
                Runtime = script is null ? FunctionManifest.NativeRuntime : ScriptFunction.LanguageOf(script).Name,
                Retryable = script?.IsRetryable ?? true,
                MemoryMib = function.MemoryMib,
                Description = function.Description,
                KeepState = function.Settings.KeepState,
                MaxInstances = function.Settings.MaxInstances,
                CodeSha256 = function.ElfSha256,
                Code = code,
                Snapshot = snapshot,
                Recordings = recordings,
                PublishedBy = _options.NodeName,
                PublishedAt = DateTimeOffset.UtcNow,
            };
            // The chunk collector keeps what a publish uploaded, or relied on, for at least this long (its grace).
            if (started.Elapsed > ChunkCollector.MaxPublishTime)
            {
                throw new ArtifactException(
                    $"publishing '{name}' took {started.Elapsed.TotalMinutes:0} min, more than the {ChunkCollector.MaxPublishTime.TotalMinutes:0} min a publish may take " +
                    "(the chunk collector may have removed chunks it relied on): its record was not written; publish it again (a second publish sends only what is missing)");
            }
            var revision = await _records.PutAsync(record, previous?.Revision, ct).ConfigureAwait(false);
            var written = new VersionedRecord(record, revision);
            // Seen by this node at once: it never serves an older version than the one it published.
            _view.Note(name, written, revision, DateTimeOffset.UtcNow);
            return written;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private async Task<(SnapshotArtifacts, IReadOnlyList<RecordingArtifact>)> PublishSnapshotAsync(RegisteredFunction function, CancellationToken ct)
    {
        // Leased: a snapshot retaken meanwhile retires this memory file only after the upload.
        using var snapshot = _service.OpenSnapshot(function.Name);
        var row = function.Snapshot!;
        if (snapshot.State.Id != row.SnapshotId)
            throw Retaken(function.Name);
        var state = await Artifacts.PutAsync("state", snapshot.Folder.StatePath, _options.Cpu, ct).ConfigureAwait(false);
        // The state file is replaced in place by a retake: what was uploaded must be the registry's.
        if (!string.Equals(state.Manifest.Sha256, row.StateSha256, StringComparison.Ordinal))
            throw Retaken(function.Name);
        var memory = await Artifacts.PutAsync("memory", snapshot.MemoryPath, null, ct).ConfigureAwait(false);
        var recordings = new List<RecordingArtifact>();
        foreach (var recording in function.Recordings.Where(r => r.SnapshotId == row.SnapshotId))
        {
            var put = await Artifacts.PutAsync(recording.Mode, recording.Path, null, ct).ConfigureAwait(false);
            // Recorded again meanwhile: the new one is published with the next deploy; this one is not the registry's.
            if (!string.Equals(put.Manifest.Sha256, recording.Sha256, StringComparison.Ordinal))
                continue;
            recordings.Add(new RecordingArtifact { Mode = recording.Mode, Artifact = put.Id, Pages = recording.Pages, Regions = recording.Regions, RecordedAt = recording.RecordedAt });
        }
        return (new SnapshotArtifacts { Id = row.SnapshotId, State = state.Id, Memory = memory.Id, MemoryMib = row.MemoryMib, DataPages = row.DataPages }, recordings);
    }

    private static FunctionConflictException Retaken(string name) =>
        new($"the snapshot of '{name}' was taken again while it was published: publish it again");

    public Task<ReplicaFetch> EnsureLocalAsync(string name, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(name);
        var run = new Lazy<Task<ReplicaFetch>>(() => RunAsync(name));
        var shared = _inFlight.GetOrAdd(name, run);
        // A caller's cancellation stops its wait, not the shared run other callers wait for.
        var wait = shared.Value.WaitAsync(ct);
        // Only the caller whose run it is reports its fetch as its own: every other caller that waited on it says so,
        // or a fetch of N chunks would be counted once per waiting request.
        return ReferenceEquals(shared, run) ? wait : JoinedAsync(wait);
    }

    private static async Task<ReplicaFetch> JoinedAsync(Task<ReplicaFetch> run) =>
        await run.ConfigureAwait(false) with { Joined = true };

    private async Task<ReplicaFetch> RunAsync(string name)
    {
        try
        {
            Interlocked.Increment(ref _runs);
            await Task.Yield(); // the caller's GetOrAdd returns before the work starts
            if (_options.EnsureStarting is { } starting)
                await starting().ConfigureAwait(false);
            return await EnsureAsync(name, _stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(name, out _);
        }
    }

    private async Task<ReplicaFetch> EnsureAsync(string name, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        // From the view, where it holds the function: no read of the cluster on the way to a run.
        var found = await CurrentAsync(name, ct).ConfigureAwait(false)
            ?? throw new UnknownFunctionException($"function '{name}' is not deployed to the cluster: deploy it through any node");
        var record = found.Record;
        var local = Local(name);
        // The same code with other settings (a redeploy that changed only memory_mib or max_instances) is registered
        // again too: the cluster's record is what every node serves.
        var codeHere = local is not null && string.Equals(local.ElfSha256, record.CodeSha256, StringComparison.Ordinal) &&
            (record.Kind == FunctionRecord.BuiltInKind || SettingsHere(local, record));
        if (codeHere && SnapshotHere(local!, record))
            return new ReplicaFetch(true, 0, 0, clock.Elapsed, false, null);

        long chunks = 0, bytes = 0;
        if (!codeHere)
        {
            if (record.Code is not { } codeId)
            {
                throw new FunctionConflictException(
                    $"built-in function '{name}' of this node is other code than the cluster's ({local?.ElfSha256 ?? "none"}, not {record.CodeSha256}): run the same Snapfn build on every node");
            }
            var codePath = Path.Combine(_service.Home.Path, "cluster", $"code-{Guid.NewGuid():N}");
            Directory.CreateDirectory(Path.GetDirectoryName(codePath)!);
            try
            {
                var fetch = await Artifacts.FetchAsync(codeId, codePath, ct, m =>
                {
                    if (m.Size > _options.Artifacts.MaxCodeBytes)
                        throw _options.Artifacts.CodeTooLarge($"the code of '{name}' in the cluster", m.Size);
                }).ConfigureAwait(false);
                (chunks, bytes) = (chunks + fetch.ChunksFetched, bytes + fetch.BytesFetched);
                var code = await File.ReadAllBytesAsync(codePath, ct).ConfigureAwait(false);
                var settings = ScriptRuntime.Find(record.Runtime) is not null
                    ? null // a package's come from its own snapfn.json
                    : new FunctionSettings { KeepState = record.KeepState, MaxInstances = record.MaxInstances };
                local = _service.Register(name, code, record.MemoryMib, record.Description, settings: settings);
            }
            finally
            {
                File.Delete(codePath);
            }
            if (!string.Equals(local.ElfSha256, record.CodeSha256, StringComparison.Ordinal))
            {
                // Same files, another hash: this node's Snapfn (its shim for the language) differs, so the cluster's snapshot,
                // taken of the other build, cannot run here.
                return await OwnSnapshotAsync(name, record, chunks, bytes, clock,
                    $"this node's Snapfn hashes the code of '{name}' to {local.ElfSha256}, not the cluster's {record.CodeSha256} (another Snapfn build)", ct).ConfigureAwait(false);
            }
            if (SnapshotHere(local, record))
                return new ReplicaFetch(false, chunks, bytes, clock.Elapsed, false, null);
        }
        var snapshot = record.Snapshot!;
        var state = await Artifacts.GetManifestAsync(snapshot.State, ct).ConfigureAwait(false);
        var missing = state.Cpu is null ? ["(the snapshot records no CPU features)"] : CpuFeatures.Missing(state.Cpu, _options.Cpu);
        if (missing.Count > 0)
        {
            var why = $"the cluster's snapshot of '{name}' was taken on a CPU with features this one lacks ({string.Join(", ", missing)})";
            // Taken here before, for this code: it stays (an ensure must not retake it each time).
            if (local?.Snapshot is { } own && string.Equals(own.ElfSha256, record.CodeSha256, StringComparison.Ordinal))
                return new ReplicaFetch(true, chunks, bytes, clock.Elapsed, false, $"{why}: this node serves its own snapshot");
            return await OwnSnapshotAsync(name, record, chunks, bytes, clock, why, ct).ConfigureAwait(false);
        }

        var folder = _service.Home.SnapshotFolder(name);
        // Staged in the function's folder: the same file system, so adopting the memory file is a rename.
        var staging = Path.Combine(folder.Path, $".incoming-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            // Each file's size is checked against what the record says it is before anything is written: a record
            // cannot make this node write a memory file larger than the function's guest memory.
            var memoryBytes = (long)snapshot.MemoryMib << 20;
            async Task<string> Fetch(string id, string file, string what, long maxBytes, bool exact = false)
            {
                var path = Path.Combine(staging, file);
                var fetch = await Artifacts.FetchAsync(id, path, ct, m =>
                {
                    if (exact ? m.Size != maxBytes : m.Size > maxBytes)
                        throw new ArtifactException($"the {what} of '{name}' in the cluster is {m.Size} bytes, {(exact ? "not" : "more than")} the {maxBytes} its snapshot of {snapshot.MemoryMib} MiB allows: refused; deploy the function again");
                }).ConfigureAwait(false);
                (chunks, bytes) = (chunks + fetch.ChunksFetched, bytes + fetch.BytesFetched);
                return path;
            }
            var statePath = await Fetch(snapshot.State, "state", "state file", ArtifactLimits.MaxStateBytes).ConfigureAwait(false);
            var memoryPath = await Fetch(snapshot.Memory, "memory", "memory file", memoryBytes, exact: true).ConfigureAwait(false);
            var recordings = new List<AdoptedRecording>();
            foreach (var recording in record.Recordings)
            {
                // A recording holds at most every page of the snapshot, plus its index (16 MiB is room for 2^19 regions).
                var path = await Fetch(recording.Artifact, "recording-" + recordings.Count, $"{recording.Mode} recording", memoryBytes + (16L << 20)).ConfigureAwait(false);
                recordings.Add(new AdoptedRecording(recording.Mode, path, recording.Pages, recording.Regions, recording.RecordedAt));
            }
            _service.AdoptSnapshot(name, new AdoptedSnapshot(statePath, memoryPath, snapshot.MemoryMib, snapshot.DataPages, recordings));
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
        return new ReplicaFetch(false, chunks, bytes, clock.Elapsed, false, null);
    }

    private async Task<ReplicaFetch> OwnSnapshotAsync(string name, FunctionRecord record, long chunks, long bytes, Stopwatch clock, string why,
        CancellationToken ct)
    {
        if (record.Snapshot is not { } snapshot)
            return new ReplicaFetch(false, chunks, bytes, clock.Elapsed, false, why);
        if (_options.TakeOwnSnapshot is { } take)
            await take(name, snapshot.MemoryMib, ct).ConfigureAwait(false);
        else
            await Task.Run(() => _service.TakeSnapshot(name, snapshot.MemoryMib, _options.SnapshotTimeout), ct).ConfigureAwait(false);
        return new ReplicaFetch(false, chunks, bytes, clock.Elapsed, true, $"{why}: took this node's own snapshot");
    }

    private static bool SettingsHere(RegisteredFunction local, FunctionRecord record) =>
        local.MemoryMib == record.MemoryMib && local.Description == record.Description &&
        local.Settings.KeepState == record.KeepState && local.Settings.MaxInstances == record.MaxInstances;

    /// <summary>Whether <paramref name="local"/> holds the record's snapshot and every recording of it (or the
    /// record has none).</summary>
    private static bool SnapshotHere(RegisteredFunction local, FunctionRecord record) =>
        record.Snapshot is not { } snapshot ||
        (local.Snapshot?.SnapshotId == snapshot.Id &&
         record.Recordings.All(r => local.Recordings.Any(l => l.Mode == r.Mode && l.SnapshotId == snapshot.Id)));

    private RegisteredFunction? Local(string name)
    {
        try
        {
            return _service.Get(name);
        }
        catch (UnknownFunctionException)
        {
            return null;
        }
    }

    /// <summary>The view applied a delete: this node's copy goes, unless it is newer than the delete (a deploy through
    /// this node of the same name since, whose record is on its way): its code is not the deleted version's, and it
    /// was registered after the delete was stored.</summary>
    private void DropIfDeleted(ViewedFunction change)
    {
        if (!change.Deleted || _service.Find(change.Name) is not { Kind: FunctionKind.User } local)
            return;
        var deletedVersion = change.Previous is { } previous && string.Equals(previous.Record.CodeSha256, local.ElfSha256, StringComparison.Ordinal);
        if (!deletedVersion && local.RegisteredAt > change.Stored)
        {
            ClusterLog.Dropped(_log, change.Name, change.Revision, "this node's copy is newer than the delete and stays");
            return;
        }
        if (DropLocal(change.Name))
            ClusterLog.Dropped(_log, change.Name, change.Revision, "this node's copy was removed");
    }

    /// <summary>Removes this node's copy of a user function (its code, snapshot and recordings; an invocation running
    /// on them finishes first, as the platform leases them) and tells <see cref="LocalCopyDropped"/>.</summary>
    private bool DropLocal(string name)
    {
        try
        {
            _service.Delete(name);
        }
        catch (UnknownFunctionException)
        {
            return false;
        }
        LocalCopyDropped?.Invoke(name);
        return true;
    }

    /// <summary>Stops the watch and the ensures in flight (their callers see them cancelled).</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        _view.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stopping.Dispose();
    }
}
