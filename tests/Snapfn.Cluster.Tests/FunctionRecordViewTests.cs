using System.Net;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Snapfn.Cluster.Artifacts;
using Snapfn.Cluster.Metadata;
using Snapfn.Platform;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// The function records as nodes read them, through a real three-node JetStream cluster: a record just written is read
/// as written through any server (the bucket's leader answers), a node's view kept by a watch follows writes and
/// deletes, resumes after its server restarts, refuses a garbled record without stopping; a delete on one node makes
/// another drop its copy and answer the function as unknown.
/// </summary>
public sealed class FunctionRecordViewTests(NatsClusterFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-view-");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>A record of a built-in function (no artifacts to publish): enough for the bucket's reads and watches.</summary>
    private static FunctionRecord Record(string name, string description) => new()
    {
        Name = name, Kind = FunctionRecord.BuiltInKind, Runtime = FunctionManifest.NativeRuntime, MemoryMib = ReplicaNode.MemoryMib,
        CodeSha256 = new string('a', 64), Description = description, PublishedBy = "test",
    };

    [Fact]
    public async Task A_record_written_through_one_server_is_read_at_once_through_the_others_as_the_new_version()
    {
        await using var writer = fixture.Connect(0);
        await using var second = fixture.Connect(1);
        await using var third = fixture.Connect(2);
        var records = new FunctionRecords(writer, new ArtifactLimits(), 3);
        var readers = new[] { new FunctionRecords(second, new ArtifactLimits(), 3), new FunctionRecords(third, new ArtifactLimits(), 3) };
        const string name = "read-at-once";
        var current = await records.GetAsync(name, Cancel);
        ulong? revision = current?.Revision;

        // Each write is read back through another server at once: a replica that has not applied it must not answer.
        for (var round = 0; round < 30; round++)
        {
            revision = await records.PutAsync(Record(name, $"round {round}"), revision, Cancel);
            var read = await readers[round % 2].GetAsync(name, Cancel);
            Assert.Equal(revision, read?.Revision);
            Assert.Equal($"round {round}", read?.Record.Description);
        }
        await records.DeleteAsync(name, Cancel);
        Assert.Null(await readers[0].GetAsync(name, Cancel));
        Assert.Null(await readers[1].GetAsync(name, Cancel));
    }

    [Fact]
    public void A_stored_message_s_headers_mark_a_delete_or_purge_and_nothing_else()
    {
        static string Block(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

        Assert.True(LeaderReads.IsDeleteMarker(Block("NATS/1.0\r\nKV-Operation: DEL\r\n\r\n")));
        Assert.True(LeaderReads.IsDeleteMarker(Block("NATS/1.0\r\nNats-Rollup: sub\r\nkv-operation:PURGE\r\n\r\n")));
        Assert.False(LeaderReads.IsDeleteMarker(Block("NATS/1.0\r\nKV-Operation: PUT\r\n\r\n")));
        Assert.False(LeaderReads.IsDeleteMarker(Block("NATS/1.0\r\nX-Other: DEL\r\n\r\n")));
        Assert.False(LeaderReads.IsDeleteMarker(null));
        Assert.False(LeaderReads.IsDeleteMarker("not base64 at all!"));
    }

    [Fact]
    public async Task The_view_follows_writes_and_deletes_and_catches_up_after_its_server_restarts()
    {
        if (NatsServerBinary.Find(out var reason) is null)
            Assert.Skip(reason);
        // Its own cluster: one of its servers is stopped and started again.
        // Its own cluster, whose servers do not tell clients of each other: the viewer's server is stopped, and the
        // viewer must stay cut off until that server is started again.
        await using var nats = await LocalNatsCluster.StartAsync(3, null, advertise: false, Cancel);
        await using var writerConnection = new NatsConnection(NatsOpts.Default with { Url = nats.ClientUrls[0], Name = "writer" });
        await using var viewerConnection = new NatsConnection(NatsOpts.Default with { Url = nats.ClientUrls[2], Name = "viewer" });
        var writer = new FunctionRecords(writerConnection, new ArtifactLimits(), 3);
        var view = new FunctionRecordView(new FunctionRecords(viewerConnection, new ArtifactLimits(), 3));
        await using (view)
        {
            var kept = await writer.PutAsync(Record("kept", "v1"), null, Cancel);
            var doomed = await writer.PutAsync(Record("doomed", "v1"), null, Cancel);
            view.Start();
            await view.WhenReadyAsync(Cancel);
            Assert.True(view.TryGet("kept", out var first));
            Assert.Equal(kept, first.Revision);

            // A write while the view watches: applied by the watch.
            kept = await writer.PutAsync(Record("kept", "v2"), kept, Cancel);
            await Eventually.Async(() => view.TryGet("kept", out var seen) && seen.Revision == kept, "the view applies v2");

            // The viewer's server goes; meanwhile a write and a delete; then it comes back.
            await nats.StopAsync(2);
            await Eventually.Async(() => viewerConnection.ConnectionState != NatsConnectionState.Open, "the viewer is cut off");
            // Each write tried again until taken; a try whose answer was lost may have been taken: read before writing.
            kept = await Retried(async () => await writer.GetAsync("kept", Cancel) is { Record.Description: "v3" } done
                ? done.Revision
                : await writer.PutAsync(Record("kept", "v3"), kept, Cancel));
            await Retried(async () => await writer.DeleteAsync("doomed", Cancel) ?? 0);
            Assert.True(view.TryGet("kept", out var stale) && stale.Record?.Record.Description == "v2"); // it could not know yet
            await nats.StartAgainAsync(2, Cancel);

            await Eventually.Async(() => view.TryGet("kept", out var seen) && seen.Revision == kept, "the view applies v3 after the reconnect", seconds: 60);
            await Eventually.Async(() => view.TryGet("doomed", out var seen) && seen.Deleted, "the view applies the delete after the reconnect", seconds: 60);
            Assert.True(view.TryGet("kept", out var now));
            Assert.Equal("v3", now.Record?.Record.Description);
            view.TryGet("doomed", out var gone);
            Assert.Equal("v1", gone.Previous?.Record.Description);
            Assert.True(gone.Revision > doomed);
        }
    }

    /// <summary>A write while a server of three is down may meet a stream electing its leader: tried until it is taken.</summary>
    private static async Task<T> Retried<T>(Func<Task<T>> write)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return await write();
            }
            catch (Exception e) when (e is NatsException or TimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Cancel);
            }
        }
    }

    [Fact]
    public async Task A_node_s_own_write_is_in_its_view_before_the_watch_delivers_it_and_an_older_entry_never_replaces_it()
    {
        await using var connection = fixture.Connect(1);
        var records = new FunctionRecords(connection, new ArtifactLimits(), 3);
        await using var view = new FunctionRecordView(records);
        view.Start();
        await view.WhenReadyAsync(Cancel);
        var record = new VersionedRecord(Record("noted", "mine"), 1_000_000);

        view.Note("noted", record, record.Revision, DateTimeOffset.UtcNow);
        view.Receive(new NatsKVEntry<byte[]>(ClusterNames.FunctionsBucket, "noted") { Revision = 999_999, Value = Record("noted", "older").ToJson(), Operation = NatsKVOperation.Put });

        Assert.True(view.TryGet("noted", out var seen));
        Assert.Equal("mine", seen.Record?.Record.Description);
        Assert.Equal(1_000_000UL, seen.Revision);
    }

    [Fact]
    public async Task A_garbled_record_in_the_watch_is_refused_and_the_watch_goes_on()
    {
        await using var node = new ReplicaNode(fixture, _dir.FullName, "node-b", 1);
        await node.Replicas.StartAsync(Cancel);
        await using var connection = fixture.Connect(0);
        var kv = await connection.CreateKeyValueStoreContext().GetStoreAsync(ClusterNames.FunctionsBucket, Cancel);
        var records = new FunctionRecords(connection, new ArtifactLimits(), 3);
        await kv.PurgeAsync("after-garbage", cancellationToken: Cancel);

        // Hostile or broken writers: not JSON, JSON of another shape, a record under another name, a key that is no
        // function's name. Then an honest record.
        await kv.PutAsync("garbled", "\u0001not json{"u8.ToArray(), cancellationToken: Cancel);
        await kv.PutAsync("other-shape", """{"format":1,"name":"other-shape","kind":"user","surprise":true}"""u8.ToArray(), cancellationToken: Cancel);
        await kv.PutAsync("impostor", Record("someone-else", "x").ToJson(), cancellationToken: Cancel);
        await kv.PutAsync("Not_A_Name", Record("noname", "x").ToJson(), cancellationToken: Cancel);
        var honest = await records.PutAsync(Record("after-garbage", "honest"), null, Cancel);

        await Eventually.Async(() => node.Replicas.View.TryGet("after-garbage", out var seen) && seen.Revision >= honest, "the watch goes on to the honest record");
        Assert.Equal(1, node.Replicas.View.Watches); // never stopped
        foreach (var name in new[] { "garbled", "other-shape", "impostor" })
        {
            Assert.True(node.Replicas.View.TryGet(name, out var refused), name);
            Assert.Null(refused.Record);
            Assert.Contains($"the cluster record of function '{name}'", refused.Error, StringComparison.Ordinal);
            var e = await Assert.ThrowsAsync<ArtifactException>(() => node.Replicas.EnsureLocalAsync(name, Cancel));
            Assert.Contains("deploy the function again", e.Message, StringComparison.Ordinal);
        }
        Assert.False(node.Replicas.View.TryGet("Not_A_Name", out _));
        Assert.DoesNotContain(await node.Replicas.ListAsync(Cancel), f => f.Name is "garbled" or "other-shape" or "impostor");
        Assert.Contains(await node.Replicas.ListAsync(Cancel), f => f.Name == "after-garbage");
        foreach (var key in new[] { "garbled", "other-shape", "impostor", "Not_A_Name" })
            await kv.PurgeAsync(key, cancellationToken: Cancel);
    }

    [Fact]
    public async Task A_delete_on_one_node_makes_another_drop_its_copy_and_answer_the_function_as_unknown()
    {
        // A name of its own: FunctionReplicasTests publish theirs on the shared cluster meanwhile.
        const string name = "deleted-everywhere";
        await using var a = new ReplicaNode(fixture, _dir.FullName, "node-a", 0, function: name);
        await using var b = new ReplicaNode(fixture, _dir.FullName, "node-b", 2, function: name);
        await a.Replicas.StartAsync(Cancel);
        await b.Replicas.StartAsync(Cancel);
        await a.Replicas.DeleteAsync(name, Cancel); // an earlier run's record
        a.DeployWithSnapshot("to be deleted");
        var published = await a.Replicas.PublishRecordAsync(name, Cancel);
        await Eventually.Async(() => b.Replicas.View.TryGet(name, out var seen) && seen.Revision == published.Revision, "b sees the deploy");
        var fetched = await b.Replicas.EnsureLocalAsync(name, Cancel);
        Assert.False(fetched.AlreadyLocal);
        Assert.True((await b.Replicas.EnsureLocalAsync(name, Cancel)).AlreadyLocal);
        var snapshotFolder = b.Home.SnapshotFolder(name).Path;
        Assert.NotEmpty(Directory.EnumerateFileSystemEntries(snapshotFolder));
        var dropped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.Replicas.LocalCopyDropped += f => dropped.TrySetResult(f);

        Assert.True(await a.Replicas.DeleteAsync(name, Cancel));

        Assert.Equal(name, await dropped.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancel));
        Assert.Null(b.Service.Find(name));
        Assert.False(Directory.Exists(snapshotFolder) && Directory.EnumerateFileSystemEntries(snapshotFolder).Any());
        Assert.Null(a.Service.Find(name));
        var unknown = await Assert.ThrowsAsync<UnknownFunctionException>(() => b.Replicas.EnsureLocalAsync(name, Cancel));
        Assert.Contains("not deployed to the cluster", unknown.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<UnknownFunctionException>(() => a.Replicas.EnsureLocalAsync(name, Cancel));
        Assert.Null(await b.Replicas.FindAsync(name, Cancel));
        Assert.False(await b.Replicas.DeleteAsync(name, Cancel)); // nothing left anywhere
    }
}
