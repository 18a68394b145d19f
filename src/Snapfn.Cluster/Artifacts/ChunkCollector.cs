using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;
using NATS.Net;
using Snapfn.Cluster.Metadata;
using Snapfn.Platform;

namespace Snapfn.Cluster.Artifacts;

/// <summary>What one run of the <see cref="ChunkCollector"/> did (or, on a dry run, would have done).</summary>
public sealed record CollectorReport
{
    public required DateTimeOffset Cutoff { get; init; }

    public int Records { get; init; }

    public int ManifestsKept { get; init; }

    public int ManifestsDeleted { get; init; }

    /// <summary>Why no manifest was deleted this run, when none could be (records that cannot be read).</summary>
    public string? ManifestsSkipped { get; init; }

    public long ChunksKept { get; init; }

    /// <summary>Unreferenced chunks kept because they are younger than the grace (a publish may be using them).</summary>
    public long ChunksTooYoung { get; init; }

    /// <summary>Chunks that were uploaded again between the collector's look and its delete: kept.</summary>
    public long ChunksChanged { get; init; }

    public long ChunksDeleted { get; init; }

    public long BytesDeleted { get; init; }

    public bool DryRun { get; init; }
}

/// <summary>
/// Removes what no function uses any more from the cluster's stores: first the manifests no function record names
/// (a snapshot replaced by a retake, a deleted function) that are older than the grace, then the chunks no remaining
/// manifest names that are older than the grace. Mark and sweep, safe against publishes running at the same time
/// without any lock, by age (docs/cluster.md, "Collecting chunks", gives the argument):
/// <list type="bullet">
/// <item>a publish uploads again every chunk it needs whose upload is older than <see cref="ArtifactStore.ReuseAge"/>
/// instead of relying on it, and must write its record within <see cref="MaxPublishTime"/> of its start;</item>
/// <item>the grace is at least <see cref="MinGrace"/> = <see cref="ArtifactStore.ReuseAge"/> + <see cref="MaxPublishTime"/>
/// + 5 min of clock skew;</item>
/// <item>each delete is a compare-and-set on what the collector read (a manifest's revision, a chunk's metadata
/// message), so a manifest written again or a chunk uploaded again in between is not deleted.</item>
/// </list>
/// A record or manifest the collector cannot read makes it keep what it cannot judge: no manifest is deleted while a
/// record is unreadable, no chunk while a manifest is.
/// </summary>
public sealed class ChunkCollector
{
    /// <summary>The longest a publish may take from its start to its record (<see cref="FunctionReplicas"/> refuses one
    /// that took longer, before writing its record).</summary>
    public static readonly TimeSpan MaxPublishTime = TimeSpan.FromMinutes(15);

    /// <summary>The shortest grace the collector accepts.</summary>
    public static readonly TimeSpan MinGrace = ArtifactStore.ReuseAge + MaxPublishTime + TimeSpan.FromMinutes(5);

    public static readonly TimeSpan DefaultGrace = TimeSpan.FromHours(1);

    private readonly INatsConnection _connection;
    private readonly ArtifactLimits _limits;
    private readonly TimeProvider _time;
    private readonly LeaderReads _leader;

    public ChunkCollector(INatsConnection connection, ArtifactLimits? limits = null, TimeProvider? time = null)
    {
        _connection = connection ?? throw new ArgumentNullException(nameof(connection));
        _limits = limits ?? new ArtifactLimits();
        _time = time ?? TimeProvider.System;
        _leader = new LeaderReads(connection);
    }

    /// <summary>Awaited before each chunk's delete, with its name (a seam for tests of the compare-and-set).</summary>
    internal Func<string, Task>? BeforeChunkDelete { get; init; }

    /// <summary>Runs once. <paramref name="dryRun"/>: reports what it would delete, deletes nothing.</summary>
    public async Task<CollectorReport> CollectAsync(TimeSpan grace, bool dryRun, CancellationToken ct)
    {
        if (grace < MinGrace)
        {
            throw new InvalidRequestException(
                $"a grace of {grace.TotalMinutes:0.#} min is too short: a publish may rely on chunks uploaded {ArtifactStore.ReuseAge.TotalMinutes:0} min ago and take " +
                $"{MaxPublishTime.TotalMinutes:0} min; give --grace {MinGrace.TotalMinutes:0}m or more");
        }
        // Everything below is judged against this moment: anything written after it is younger than the grace.
        var cutoff = _time.GetUtcNow() - grace;
        IReadOnlyList<VersionedRecord> known = [];
        IReadOnlyList<string> unreadable = [];
        INatsKVStore manifests;
        try
        {
            manifests = await _connection.CreateKeyValueStoreContext().GetStoreAsync(ClusterNames.ManifestsBucket, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            // Nothing was ever published to this cluster.
            return new CollectorReport { Cutoff = cutoff, DryRun = dryRun };
        }
        try
        {
            (known, unreadable) = await FunctionRecords.OpenExisting(_connection, _limits).ScanAsync(ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            // Artifacts were published, no record yet: none names them.
        }
        var named = known.SelectMany(r => r.Record.Artifacts).ToHashSet(StringComparer.Ordinal);
        var skipped = unreadable.Count == 0 ? null
            : $"the records of {string.Join(", ", unreadable.Take(5).Select(n => $"'{n}'"))} cannot be read, so which artifacts they use is unknown: " +
              "deploy those functions again or delete them, then collect again";

        var ids = new List<string>();
        await foreach (var key in manifests.GetKeysAsync(cancellationToken: ct).ConfigureAwait(false))
            ids.Add(key);
        var marked = new HashSet<string>(StringComparer.Ordinal);
        var unparsed = new List<string>();
        int kept = 0, deleted = 0;
        foreach (var id in ids)
        {
            if (await _leader.GetKeyAsync(ClusterNames.ManifestsBucket, id, ct).ConfigureAwait(false) is not { } entry)
                continue;
            if (skipped is null && !named.Contains(id) && entry.Stored < cutoff)
            {
                if (dryRun || await DeleteManifestAsync(manifests, id, entry.Revision, ct).ConfigureAwait(false))
                {
                    deleted++;
                    continue;
                }
                // Written again since it was read: kept, and its chunks with it.
                entry = await _leader.GetKeyAsync(ClusterNames.ManifestsBucket, id, ct).ConfigureAwait(false);
                if (entry is null)
                    continue;
            }
            kept++;
            try
            {
                marked.UnionWith(ArtifactManifest.Parse(entry.Value, id, _limits).Chunks.Where(c => c.Length > 0));
            }
            catch (Exception e) when (e is ArtifactException or LimitExceededException)
            {
                unparsed.Add(id);
            }
        }
        var report = new CollectorReport { Cutoff = cutoff, Records = known.Count, ManifestsKept = kept, ManifestsDeleted = deleted, ManifestsSkipped = skipped, DryRun = dryRun };
        if (unparsed.Count > 0)
        {
            throw new ArtifactException(
                $"the manifests {string.Join(", ", unparsed.Take(5).Select(n => $"'{n}'"))} cannot be read (another Snapfn version, or damaged), so which chunks they use is unknown: " +
                $"no chunk was collected ({deleted} unused manifests were{(dryRun ? " found" : " deleted")}). Run the same Snapfn on every node, or delete the functions that use them, then collect again");
        }
        return await SweepAsync(report, marked, cutoff, dryRun, ct).ConfigureAwait(false);
    }

    private static async Task<bool> DeleteManifestAsync(INatsKVStore manifests, string id, ulong revision, CancellationToken ct)
    {
        try
        {
            await manifests.PurgeAsync(id, new NatsKVDeleteOpts { Revision = revision }, ct).ConfigureAwait(false);
            return true;
        }
        catch (NatsKVWrongLastRevisionException)
        {
            return false;
        }
    }

    private async Task<CollectorReport> SweepAsync(CollectorReport report, HashSet<string> marked, DateTimeOffset cutoff, bool dryRun, CancellationToken ct)
    {
        var objects = await _connection.CreateObjectStoreContext().GetObjectStoreAsync(ClusterNames.ChunksBucket, ct).ConfigureAwait(false);
        var candidates = new List<ObjectMetadata>();
        long kept = 0, young = 0;
        await foreach (var chunk in objects.ListAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            if (marked.Contains(chunk.Name))
                kept++;
            else if (chunk.MTime >= cutoff)
                young++;
            else
                candidates.Add(chunk);
        }
        long deleted = 0, bytes = 0, changed = 0;
        foreach (var chunk in candidates)
        {
            if (BeforeChunkDelete is { } hook)
                await hook(chunk.Name).ConfigureAwait(false);
            var size = dryRun ? (long)chunk.Size : await DeleteChunkAsync(chunk.Name, cutoff, ct).ConfigureAwait(false);
            if (size < 0)
            {
                changed++;
                continue;
            }
            deleted++;
            bytes += size;
        }
        return report with { ChunksKept = kept, ChunksTooYoung = young, ChunksChanged = changed, ChunksDeleted = deleted, BytesDeleted = bytes };
    }

    /// <summary>
    /// Deletes a chunk only if its metadata message is still the one that says it is older than the cutoff: the
    /// object store's own delete re-reads the metadata and would delete a chunk a publish has just uploaded again.
    /// Here the delete marker is written with JetStream's expected last sequence of that subject (a compare-and-set),
    /// and only then are the chunk's data messages of that upload purged. Returns the bytes deleted, -1 when the chunk
    /// changed (or went) meanwhile.
    /// </summary>
    private async Task<long> DeleteChunkAsync(string name, DateTimeOffset cutoff, CancellationToken ct)
    {
        const string stream = "OBJ_" + ClusterNames.ChunksBucket;
        var subject = $"$O.{ClusterNames.ChunksBucket}.M.{Convert.ToBase64String(Encoding.UTF8.GetBytes(name)).Replace('+', '-').Replace('/', '_')}";
        if (await _leader.GetLastAsync(stream, subject, ct).ConfigureAwait(false) is not { } message)
            return -1;
        ObjectMetadata? meta;
        try
        {
            meta = JsonSerializer.Deserialize<ObjectMetadata>(message.Value);
        }
        catch (JsonException)
        {
            return -1;
        }
        if (meta is null || meta.Deleted || meta.Name != name || meta.MTime >= cutoff || string.IsNullOrEmpty(meta.Nuid))
            return -1;
        var size = (long)meta.Size;
        var nuid = meta.Nuid;
        meta.Size = 0;
        meta.Chunks = 0;
        meta.Digest = string.Empty;
        meta.Deleted = true;
        meta.MTime = _time.GetUtcNow();
        var js = _connection.CreateJetStreamContext();
        var ack = await js.TryPublishAsync(subject, JsonSerializer.SerializeToUtf8Bytes(meta),
            opts: new NatsJSPubOpts { ExpectedLastSubjectSequence = message.Revision },
            headers: new NatsHeaders { ["Nats-Rollup"] = "sub" }, cancellationToken: ct).ConfigureAwait(false);
        if (!ack.Success)
            throw ack.Error;
        if (ack.Value.Error is { ErrCode: 10071 })
            return -1; // uploaded again since it was read
        ack.Value.EnsureSuccess();
        var chunks = await js.GetStreamAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        await chunks.PurgeAsync(new StreamPurgeRequest { Filter = $"$O.{ClusterNames.ChunksBucket}.C.{nuid}" }, ct).ConfigureAwait(false);
        return size;
    }
}
