using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using NATS.Net;
using Snapfn.Cluster.Artifacts;
using Snapfn.Cluster.Metadata;
using Snapfn.Platform;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// The chunk collector against a real three-node JetStream cluster of its own per test (it deletes what other tests'
/// publishes would still need): what no record names and is older than the grace goes, what a record names or is
/// younger stays, a chunk uploaded again while it looks stays, and what it cannot read makes it keep things. Ages are
/// judged against a clock the test sets just past the moment that separates "old" from "young" uploads.
/// </summary>
public sealed class ChunkCollectorTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan _grace = TimeSpan.FromHours(1);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-gc-");
    private readonly ArtifactLimits _limits = new();
    private LocalNatsCluster? _nats;
    private NatsConnection? _connection;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private NatsConnection Connection => _connection ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        if (NatsServerBinary.Find(out var reason) is null)
            Assert.Skip(reason);
        _nats = await LocalNatsCluster.StartAsync(3);
        _connection = new NatsConnection(NatsOpts.Default with { Url = _nats.ClientUrls[0] });
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
            await _connection.DisposeAsync();
        if (_nats is not null)
            await _nats.DisposeAsync();
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private ArtifactStore Store(string cache = "cache") => new(Connection, new ChunkCache(Path.Combine(_dir.FullName, cache), 1L << 30), _limits, replicas: 3);

    /// <summary>A file of one chunk of random bytes.</summary>
    private string RandomFile()
    {
        var path = Path.Combine(_dir.FullName, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, Random.Shared.GetItems<byte>(Enumerable.Range(1, 255).Select(b => (byte)b).ToArray(), 10_000));
        return path;
    }

    private static FunctionRecord UserRecord(string name, string code) => new()
    {
        Name = name, Kind = FunctionRecord.UserKind, Runtime = FunctionManifest.NativeRuntime, MemoryMib = ReplicaNode.MemoryMib,
        CodeSha256 = new string('c', 64), Code = code,
    };

    private async Task<INatsObjStore> ChunksAsync() => await Connection.CreateObjectStoreContext().GetObjectStoreAsync(ClusterNames.ChunksBucket, Cancel);

    private async Task<bool> ChunkExistsAsync(string name)
    {
        try
        {
            await (await ChunksAsync()).GetInfoAsync(name, cancellationToken: Cancel);
            return true;
        }
        catch (NatsObjNotFoundException)
        {
            return false;
        }
    }

    private async Task<bool> ManifestExistsAsync(string id) =>
        await new LeaderReads(Connection).GetKeyAsync(ClusterNames.ManifestsBucket, id, Cancel) is not null;

    /// <summary>The latest moment any of <paramref name="puts"/> (their chunks and manifests) was written, after waiting
    /// until the clock has moved past it: whatever is written from now on is younger.</summary>
    private async Task<DateTimeOffset> BoundaryAfterAsync(params ArtifactPut[] puts)
    {
        var chunks = await ChunksAsync();
        var latest = DateTimeOffset.MinValue;
        foreach (var put in puts)
        {
            var info = await chunks.GetInfoAsync(put.Manifest.Chunks[0], cancellationToken: Cancel);
            var manifest = await new LeaderReads(Connection).GetKeyAsync(ClusterNames.ManifestsBucket, put.Id, Cancel);
            latest = new[] { latest, info.MTime, manifest!.Stored }.Max();
        }
        await Eventually.Async(() => DateTimeOffset.UtcNow > latest.AddMilliseconds(5), "the clock moves past the old uploads");
        return latest.AddMilliseconds(1);
    }

    [Fact]
    public async Task Unused_manifests_and_chunks_past_the_grace_go_and_those_in_use_or_younger_stay()
    {
        var store = Store();
        var records = new FunctionRecords(Connection, _limits, 3);
        var current = await store.PutAsync("code", RandomFile(), null, Cancel);
        var replaced = await store.PutAsync("code", RandomFile(), null, Cancel);
        var orphan = await store.PutAsync("memory", RandomFile(), null, Cancel);
        // Version 1 used `replaced`; version 2, the current one, uses `current`.
        var v1 = await records.PutAsync(UserRecord("collected", replaced.Id), null, Cancel);
        await records.PutAsync(UserRecord("collected", current.Id), v1, Cancel);
        var boundary = await BoundaryAfterAsync(current, replaced, orphan);
        // Younger than the boundary: a published artifact no record names yet, a chunk whose manifest is not written yet.
        var young = await store.PutAsync("memory", RandomFile(), null, Cancel);
        var inProgress = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("a publish in progress"u8));
        await (await ChunksAsync()).PutAsync(inProgress, "a publish in progress"u8.ToArray(), Cancel);
        var clock = new ManualClock(boundary + _grace);
        var collector = new ChunkCollector(Connection, _limits, clock);

        var dry = await collector.CollectAsync(_grace, dryRun: true, Cancel);
        Assert.True(await ManifestExistsAsync(orphan.Id));
        var report = await collector.CollectAsync(_grace, dryRun: false, Cancel);

        foreach (var r in new[] { dry, report })
        {
            Assert.Equal(1, r.Records);
            Assert.Equal(2, r.ManifestsDeleted);
            Assert.Equal(2, r.ManifestsKept);
            Assert.Equal(2, r.ChunksDeleted);
            Assert.Equal(20_000, r.BytesDeleted);
            Assert.Equal(2, r.ChunksKept); // current's and young's, named by manifests that stay
            Assert.Equal(1, r.ChunksTooYoung); // the publish in progress's
            Assert.Null(r.ManifestsSkipped);
        }
        Assert.False(await ManifestExistsAsync(replaced.Id));
        Assert.False(await ManifestExistsAsync(orphan.Id));
        Assert.False(await ChunkExistsAsync(replaced.Manifest.Chunks[0]));
        Assert.False(await ChunkExistsAsync(orphan.Manifest.Chunks[0]));
        Assert.True(await ManifestExistsAsync(current.Id));
        Assert.True(await ManifestExistsAsync(young.Id));
        Assert.True(await ChunkExistsAsync(current.Manifest.Chunks[0]));
        Assert.True(await ChunkExistsAsync(young.Manifest.Chunks[0]));
        Assert.True(await ChunkExistsAsync(inProgress));
        // What a record names still comes back whole.
        var fetched = await Store("elsewhere").FetchAsync(current.Id, Path.Combine(_dir.FullName, "fetched"), Cancel);
        Assert.Equal(current.Manifest.Sha256, fetched.Manifest.Sha256);
        var again = await collector.CollectAsync(_grace, dryRun: false, Cancel);
        Assert.Equal(0, again.ManifestsDeleted);
        Assert.Equal(0, again.ChunksDeleted);
    }

    [Fact]
    public async Task A_chunk_uploaded_again_while_the_collector_looks_at_it_is_not_deleted()
    {
        var orphan = await Store().PutAsync("memory", RandomFile(), null, Cancel);
        var name = orphan.Manifest.Chunks[0];
        var content = await (await ChunksAsync()).GetBytesAsync(name, Cancel);
        var boundary = await BoundaryAfterAsync(orphan);
        var collector = new ChunkCollector(Connection, _limits, new ManualClock(boundary + _grace))
        {
            // A publish that found the chunk old uploads it again between the collector's listing and its delete.
            BeforeChunkDelete = async chunk => await (await ChunksAsync()).PutAsync(chunk, content, Cancel),
        };

        var report = await collector.CollectAsync(_grace, dryRun: false, Cancel);

        Assert.True(report.ChunksChanged == 1, report.ToString());
        Assert.Equal(1, report.ManifestsDeleted);
        Assert.Equal(0, report.ChunksDeleted);
        Assert.Equal(content, await (await ChunksAsync()).GetBytesAsync(name, Cancel));
    }

    [Fact]
    public async Task A_publish_uploads_again_a_chunk_older_than_the_reuse_age_and_relies_on_a_younger_one()
    {
        var file = RandomFile();
        var first = await Store().PutAsync("code", file, null, Cancel);
        var soon = await Store().PutAsync("code", file, null, Cancel);
        var aged = new ArtifactStore(Connection, new ChunkCache(Path.Combine(_dir.FullName, "aged"), 1L << 30), _limits, 3)
        {
            Time = new ManualClock(DateTimeOffset.UtcNow + ArtifactStore.ReuseAge + TimeSpan.FromMinutes(1)),
        };

        var old = await aged.PutAsync("code", file, null, Cancel);

        Assert.Equal(1, first.ChunksUploaded);
        Assert.Equal(0, soon.ChunksUploaded);
        Assert.Equal(1, old.ChunksUploaded);
    }

    [Fact]
    public async Task A_record_it_cannot_read_keeps_every_manifest_and_a_grace_too_short_is_refused()
    {
        var orphan = await Store().PutAsync("memory", RandomFile(), null, Cancel);
        await new FunctionRecords(Connection, _limits, 3).EnsureBucketAsync(Cancel);
        var kv = await Connection.CreateKeyValueStoreContext().GetStoreAsync(ClusterNames.FunctionsBucket, Cancel);
        await kv.PutAsync("broken", "{not a record"u8.ToArray(), cancellationToken: Cancel);
        var boundary = await BoundaryAfterAsync(orphan);
        var collector = new ChunkCollector(Connection, _limits, new ManualClock(boundary + _grace));

        var report = await collector.CollectAsync(_grace, dryRun: false, Cancel);
        var e = await Assert.ThrowsAsync<InvalidRequestException>(() => collector.CollectAsync(TimeSpan.FromMinutes(5), dryRun: true, Cancel));

        Assert.Contains("'broken' cannot be read", report.ManifestsSkipped, StringComparison.Ordinal);
        Assert.Equal(0, report.ManifestsDeleted);
        Assert.Equal(0, report.ChunksDeleted);
        Assert.True(await ManifestExistsAsync(orphan.Id));
        Assert.True(await ChunkExistsAsync(orphan.Manifest.Chunks[0]));
        Assert.Contains($"--grace {ChunkCollector.MinGrace.TotalMinutes:0}m", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A clock that says what the test sets.</summary>
    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
