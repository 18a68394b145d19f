using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Snapfn.Cluster.Artifacts;
using Snapfn.Platform;

namespace Snapfn.Cluster.Metadata;

/// <summary>A record with the key-value revision that wrote it: the function's version in the cluster.</summary>
public sealed record VersionedRecord(FunctionRecord Record, ulong Revision)
{
    public ClusterFunction ToClusterFunction() =>
        new(Record.Name, (long)Revision, Record.Runtime, Record.Retryable, Record.Snapshot is not null);
}

/// <summary>
/// The functions' records in <see cref="ClusterNames.FunctionsBucket"/>, with optimistic concurrency: a record is
/// written only over the revision its writer read (or only where none exists), so of two nodes that deploy one
/// function at once, the second to write loses and is told so, instead of one silently overwriting the other.
/// </summary>
public sealed class FunctionRecords
{
    private readonly INatsConnection _connection;
    private readonly ArtifactLimits _limits;
    private readonly int _replicas;
    private readonly LeaderReads _leader;
    private INatsKVStore? _store;

    public FunctionRecords(INatsConnection connection, ArtifactLimits limits, int replicas)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        _connection = connection;
        _limits = limits;
        _replicas = replicas;
        _leader = new LeaderReads(connection);
    }

    public ArtifactLimits Limits => _limits;

    /// <summary>The function's record and its revision, or null when no node published it (or its record was deleted).
    /// Read from the bucket's leader (<see cref="LeaderReads"/>): a record another node has just written is seen.</summary>
    public async Task<VersionedRecord?> GetAsync(string name, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FunctionName.IsValid(name))
            return null;
        _ = await StoreAsync(ct).ConfigureAwait(false);
        if (await _leader.GetKeyAsync(ClusterNames.FunctionsBucket, name, ct).ConfigureAwait(false) is not { } entry)
            return null;
        return new VersionedRecord(FunctionRecord.Parse(entry.Value, name, _limits), entry.Revision);
    }

    /// <summary>Deletes the function's record, compare-and-set on the revision read from the leader (readable or not:
    /// a garbled record can be deleted too), and returns the lowest revision the delete can have (the store does not
    /// report the delete marker's own); null when there is no record. The marker stays, so that every node's watch sees
    /// it. <see cref="FunctionConflictException"/> when another node wrote the record between the read and the delete.</summary>
    public async Task<ulong?> DeleteAsync(string name, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!FunctionName.IsValid(name))
            return null;
        var store = await StoreAsync(ct).ConfigureAwait(false);
        if (await _leader.GetKeyAsync(ClusterNames.FunctionsBucket, name, ct).ConfigureAwait(false) is not { } current)
            return null;
        try
        {
            await store.DeleteAsync(name, new NatsKVDeleteOpts { Revision = current.Revision }, ct).ConfigureAwait(false);
            return current.Revision + 1;
        }
        catch (NatsKVWrongLastRevisionException)
        {
            throw new FunctionConflictException(
                $"function '{name}' was published again or deleted by another node while this node deleted version {current.Revision}: nothing was deleted; " +
                "look at it again (snapfn functions) and delete it again if you still mean to");
        }
    }

    /// <summary>The bucket (created where it does not exist), for <see cref="FunctionRecordView"/>'s watch.</summary>
    internal Task<INatsKVStore> BucketAsync(CancellationToken ct) => StoreAsync(ct);

    /// <summary>Every function's record, by name; one that does not parse is left out (its own get says why).</summary>
    public async Task<IReadOnlyList<VersionedRecord>> ListAsync(CancellationToken ct) => (await ScanAsync(ct).ConfigureAwait(false)).Records;

    /// <summary>Every function's record, by name, and the keys whose record cannot be read (not parsed, too long, not
    /// a function's name): the chunk collector must not guess what those name.</summary>
    public async Task<(IReadOnlyList<VersionedRecord> Records, IReadOnlyList<string> Unreadable)> ScanAsync(CancellationToken ct)
    {
        var store = await StoreAsync(ct).ConfigureAwait(false);
        var names = new List<string>();
        await foreach (var key in store.GetKeysAsync(cancellationToken: ct).ConfigureAwait(false))
            names.Add(key);
        var records = new List<VersionedRecord>();
        var unreadable = new List<string>();
        foreach (var name in names.Order(StringComparer.Ordinal))
        {
            if (!FunctionName.IsValid(name))
            {
                unreadable.Add(name);
                continue;
            }
            try
            {
                if (await GetAsync(name, ct).ConfigureAwait(false) is { } record)
                    records.Add(record);
            }
            catch (Exception e) when (e is ArtifactException or LimitExceededException)
            {
                // Listed by name only where it can be read; serving it reports the error.
                unreadable.Add(name);
            }
        }
        return (records, unreadable);
    }

    /// <summary>Writes <paramref name="record"/> if the function's record is still at <paramref name="expected"/>
    /// (null: if it has none) and returns the new revision; <see cref="FunctionConflictException"/> when another
    /// node wrote it meanwhile.</summary>
    public async Task<ulong> PutAsync(FunctionRecord record, ulong? expected, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(record);
        var store = await StoreAsync(ct).ConfigureAwait(false);
        var json = record.ToJson();
        if (json.Length > _limits.MaxManifestBytes)
            throw _limits.ManifestTooLarge($"the cluster record of function '{record.Name}'", json.Length);
        var result = expected is { } revision
            ? await store.TryUpdateAsync(record.Name, json, revision, cancellationToken: ct).ConfigureAwait(false)
            : await store.TryCreateAsync(record.Name, json, cancellationToken: ct).ConfigureAwait(false);
        if (result.Success)
            return result.Value;
        if (result.Error is not (NatsKVWrongLastRevisionException or NatsKVCreateException))
            throw result.Error;
        var now = await GetAsync(record.Name, ct).ConfigureAwait(false);
        var by = now is null ? "" : $" by {(now.Record.PublishedBy.Length > 0 ? now.Record.PublishedBy : "another node")} (version {now.Revision})";
        throw new FunctionConflictException(
            $"function '{record.Name}' was published{by} while this node published it (from version {(expected is { } e ? e.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none")}): " +
            "this deploy lost and the cluster keeps the other; deploy again to make this code current");
    }

    /// <summary>Creates the bucket with this node's replica count where it does not exist.</summary>
    public async Task EnsureBucketAsync(CancellationToken ct) => _ = await StoreAsync(ct).ConfigureAwait(false);

    /// <summary>The records of a cluster as they are, for a tool that must not change the bucket (the chunk collector):
    /// the bucket is opened, never created or reconfigured.</summary>
    internal static FunctionRecords OpenExisting(INatsConnection connection, ArtifactLimits limits) => new(connection, limits, 1) { _openOnly = true };

    private bool _openOnly;

    private async Task<INatsKVStore> StoreAsync(CancellationToken ct)
    {
        if (_store is { } store)
            return store;
        if (_openOnly)
            return _store = await _connection.CreateKeyValueStoreContext().GetStoreAsync(ClusterNames.FunctionsBucket, ct).ConfigureAwait(false);
        _store = await BucketSetup.RetryAsync(() => _connection.CreateKeyValueStoreContext().CreateOrUpdateStoreAsync(
            new NatsKVConfig(ClusterNames.FunctionsBucket)
            {
                NumberOfReplicas = _replicas, History = 1, MaxValueSize = _limits.MaxManifestBytes,
                Description = "Snapfn: function records (settings, code, snapshot and recordings as artifact ids)",
            }, ct).AsTask(), ct).ConfigureAwait(false);
        return _store;
    }
}
