using NATS.Net;
using Snapfn.Cluster.Artifacts;
using Snapfn.Cluster.Metadata;
using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Tests;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// A function published from one node's SNAPFN_HOME and ensured on another's, through a real three-node JetStream
/// cluster: the code registered there, the snapshot and its recording adopted without booting anything, the CPU check,
/// single-flight and the record's optimistic concurrency. Snapshots are hand-made (no VM runs here); the KVM test
/// that restores one is <see cref="FunctionReplicasKvmTests"/>.
/// </summary>
public sealed class FunctionReplicasTests(NatsClusterFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-replicas-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>A node with its own SNAPFN_HOME, connected to server <paramref name="server"/>.</summary>
    private ReplicaNode Node(string name, int server, ClusterOptions? options = null) => new(fixture, _dir.FullName, name, server, options);

    [Fact]
    public async Task A_function_published_on_one_node_is_ensured_on_another_with_its_code_snapshot_and_recording()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var a = Node("node-a", 0);
        await using var b = Node("node-b", 1);
        await Fresh(a, ct);
        var state = a.DeployWithSnapshot("published by a");

        await a.Replicas.PublishAsync(ReplicaNode.Function, ct);
        var found = await b.Replicas.FindAsync(ReplicaNode.Function, ct);
        var fetched = await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);

        Assert.NotNull(found);
        Assert.Contains(found, await b.Replicas.ListAsync(ct));
        Assert.True(found.HasSnapshot);
        Assert.True(found.Retryable);
        Assert.Equal(FunctionManifest.NativeRuntime, found.Runtime);
        Assert.False(fetched.AlreadyLocal);
        Assert.False(fetched.TookOwnSnapshot);
        // The ELF, the state file, the recording and the memory file's data chunks: that at 0 and one for the chunks
        // at 3 MiB and 100 MiB, which hold the same page at the same place, so they are one chunk. Nothing more.
        Assert.Equal(5, fetched.ChunksFetched);
        var local = b.Service.Get(ReplicaNode.Function);
        Assert.Equal(a.Service.Get(ReplicaNode.Function).ElfSha256, local.ElfSha256);
        Assert.Equal(state.Id, local.Snapshot?.SnapshotId);
        Assert.Equal("reap", Assert.Single(local.Recordings).Mode);
        using (var snapshot = b.Service.OpenSnapshot(ReplicaNode.Function))
        {
            Assert.Equal("published by a", HandmadeSnapshot.MarkOf(snapshot.MemoryPath));
            Assert.InRange(PageCache.Sizes(snapshot.MemoryPath).Allocated, 3 * 4096, 1 << 20); // sparse: 3 pages of 256 MiB
        }
        b.Service.VerifySnapshot(ReplicaNode.Function); // every page as the state's digest says
        Assert.True((await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct)).AlreadyLocal);
        Assert.True((await a.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct)).AlreadyLocal);
        Assert.Empty(Directory.EnumerateDirectories(b.Home.SnapshotFolder(ReplicaNode.Function).Path)); // staging gone
    }

    [Fact]
    public async Task A_retaken_snapshot_is_fetched_again_with_only_the_chunks_the_node_lacks()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var a = Node("node-a", 0);
        await using var b = Node("node-b", 2);
        await Fresh(a, ct);
        var sha = a.Service.Register(ReplicaNode.Function, ReplicaNode.Elf(), ReplicaNode.MemoryMib, "d").ElfSha256;
        a.Snapshot(sha, "first");
        await a.Replicas.PublishAsync(ReplicaNode.Function, ct);
        var first = await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);

        var retaken = a.Snapshot(sha, "second"); // the page at 3 MiB and 100 MiB change too (new random data)
        await a.Replicas.PublishAsync(ReplicaNode.Function, ct);
        var second = await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);

        Assert.False(second.AlreadyLocal);
        Assert.True(second.ChunksFetched < first.ChunksFetched, $"{second.ChunksFetched} chunks the second time, {first.ChunksFetched} the first");
        Assert.Equal(retaken.Id, b.Service.Get(ReplicaNode.Function).Snapshot?.SnapshotId);
        using var snapshot = b.Service.OpenSnapshot(ReplicaNode.Function);
        Assert.Equal("second", HandmadeSnapshot.MarkOf(snapshot.MemoryPath));
    }

    [Fact]
    public async Task A_redeploy_that_changes_only_settings_reaches_the_other_node_which_keeps_its_snapshot()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var a = Node("node-a", 0);
        await using var b = Node("node-b", 1);
        await Fresh(a, ct);
        var state = a.DeployWithSnapshot("kept");
        await a.Replicas.PublishAsync(ReplicaNode.Function, ct);
        await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);

        a.Service.Register(ReplicaNode.Function, ReplicaNode.Elf(), ReplicaNode.MemoryMib, "now with a limit", settings: new FunctionSettings { MaxInstances = 2 });
        await a.Replicas.PublishAsync(ReplicaNode.Function, ct);
        var again = await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);

        Assert.False(again.AlreadyLocal);
        var local = b.Service.Get(ReplicaNode.Function);
        Assert.Equal(2, local.Settings.MaxInstances);
        Assert.Equal("now with a limit", local.Description);
        Assert.Equal(state.Id, local.Snapshot?.SnapshotId); // the same code: its snapshot stays
        Assert.True((await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct)).AlreadyLocal);
    }

    [Fact]
    public async Task A_snapshot_from_a_CPU_with_features_this_one_lacks_is_not_fetched_the_node_takes_its_own_once_and_says_why()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var a = Node("node-a", 0, new ClusterOptions { Cpu = Cpu(avx2: true) });
        var taken = 0;
        ReplicaNode? bNode = null;
        await using var b = bNode = Node("node-b", 1, new ClusterOptions
        {
            Cpu = Cpu(avx2: false),
            TakeOwnSnapshot = (name, mib, _) =>
            {
                taken++;
                bNode!.Snapshot(bNode.Service.Get(name).ElfSha256, "own");
                return Task.CompletedTask;
            },
        });
        await Fresh(a, ct);
        a.DeployWithSnapshot("from a");
        await a.Replicas.PublishAsync(ReplicaNode.Function, ct);

        var first = await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);
        var again = await b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);

        Assert.True(first.TookOwnSnapshot);
        Assert.Contains("avx2", first.Note, StringComparison.Ordinal);
        Assert.Contains("took this node's own snapshot", first.Note, StringComparison.Ordinal);
        Assert.True(again.AlreadyLocal);
        Assert.False(again.TookOwnSnapshot);
        Assert.Contains("serves its own snapshot", again.Note, StringComparison.Ordinal);
        Assert.Equal(1, taken);
        using var snapshot = b.Service.OpenSnapshot(ReplicaNode.Function);
        Assert.Equal("own", HandmadeSnapshot.MarkOf(snapshot.MemoryPath));
    }

    [Fact]
    public async Task Concurrent_ensures_of_one_function_on_one_node_make_one_fetch()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var a = Node("node-a", 0);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var b = Node("node-b", 2, new ClusterOptions { EnsureStarting = () => gate.Task });
        await Fresh(a, ct);
        a.DeployWithSnapshot("once");
        await a.Replicas.PublishAsync(ReplicaNode.Function, ct);

        var one = b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);
        var two = b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct);
        var runsWhileHeld = b.Replicas.Runs;
        gate.SetResult();
        var results = await Task.WhenAll(one, two);

        Assert.Equal(1, runsWhileHeld);
        Assert.False(results[0].AlreadyLocal);
        Assert.Equal(1, b.Replicas.Runs);
        // One fetch, reported as such by the call that made it only: the other waited on it, and says so, so that
        // a worker's metrics count its chunks once (the cluster bench once read 24 chunks for a 12-chunk fetch).
        Assert.False(results[0].Joined);
        Assert.True(results[1].Joined);
        Assert.Equal(results[0], results[1] with { Joined = false });
        Assert.True(results[0].ChunksFetched > 0);
    }

    [Fact]
    public async Task Of_two_nodes_publishing_one_function_at_once_the_second_to_write_loses_and_is_told()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var a = Node("node-a", 0);
        await using var b = Node("node-b", 1);
        await Fresh(a, ct);
        a.Service.Register(ReplicaNode.Function, ReplicaNode.Elf(), ReplicaNode.MemoryMib, "a's");
        var first = await a.Replicas.PublishRecordAsync(ReplicaNode.Function, ct);
        await using var connection = fixture.Connect(1);
        var records = new FunctionRecords(connection, new ArtifactLimits(), 3);
        // Both read version `first`; a writes first, then b's write over the same version loses.
        var read = await records.GetAsync(ReplicaNode.Function, ct);
        var won = await records.PutAsync(first.Record with { Description = "a again", PublishedBy = "node-a" }, read!.Revision, ct);
        var e = await Assert.ThrowsAsync<FunctionConflictException>(() =>
            records.PutAsync(first.Record with { Description = "b's", PublishedBy = "node-b" }, read.Revision, ct));

        Assert.Contains($"by node-a (version {won})", e.Message, StringComparison.Ordinal);
        Assert.Contains("deploy again", e.Message, StringComparison.Ordinal);
        var kept = await b.Replicas.GetRecordAsync(ReplicaNode.Function, ct);
        Assert.Equal("a again", kept?.Record.Description);
        Assert.Equal((long)won, (await b.Replicas.FindAsync(ReplicaNode.Function, ct))?.Version);
        // Two first publishes: the second finds a record where it expected none.
        await Assert.ThrowsAsync<FunctionConflictException>(() => records.PutAsync(first.Record, null, ct));
    }

    [Fact]
    public async Task A_record_whose_memory_file_is_not_its_snapshot_size_is_refused_before_it_is_written()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var a = Node("node-a", 0);
        await using var b = Node("node-b", 1);
        await Fresh(a, ct);
        a.DeployWithSnapshot("honest");
        var published = await a.Replicas.PublishRecordAsync(ReplicaNode.Function, ct);
        await using var connection = fixture.Connect(2);
        var records = new FunctionRecords(connection, new ArtifactLimits(), 3);
        // A broken or hostile node's record: the "memory file" is the 30 KB ELF.
        var bad = published.Record with { Snapshot = published.Record.Snapshot! with { Memory = published.Record.Code! } };
        await records.PutAsync(bad, published.Revision, ct);

        var e = await Assert.ThrowsAsync<ArtifactException>(() => b.Replicas.EnsureLocalAsync(ReplicaNode.Function, ct));

        Assert.Contains($"the memory file of '{ReplicaNode.Function}' in the cluster is", e.Message, StringComparison.Ordinal);
        Assert.Contains($"not the {256L << 20}", e.Message, StringComparison.Ordinal);
        Assert.Null(b.Service.Get(ReplicaNode.Function).Snapshot); // the code came, no snapshot
        Assert.Empty(Directory.EnumerateFileSystemEntries(b.Home.SnapshotFolder(ReplicaNode.Function).Path));
    }

    [Fact]
    public async Task A_built_in_python_function_s_record_carries_retryable_false_and_a_node_with_other_code_for_it_refuses_it()
    {
        var ct = TestContext.Current.CancellationToken;
        const string name = "py-once";
        string Catalog(string node, string main)
        {
            var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, node + "-guest", "functions", name)).FullName;
            File.WriteAllText(Path.Combine(folder, "main.py"), main);
            File.WriteAllText(Path.Combine(folder, "snapfn.json"), """{"runtime": "python", "retryable": false}""");
            return Directory.CreateDirectory(Path.Combine(_dir.FullName, node + "-guest", "build")).FullName;
        }
        await using var a = new ReplicaNode(fixture, _dir.FullName, "node-a", 0, guestBuild: Catalog("a", "def handle(x):\n    return x\n"));
        await using var b = new ReplicaNode(fixture, _dir.FullName, "node-b", 1, guestBuild: Catalog("b", "def handle(x):\n    return x\n"));
        await using var c = new ReplicaNode(fixture, _dir.FullName, "node-c", 2, guestBuild: Catalog("c", "def handle(x):\n    return b'other'\n"));
        await a.Replicas.EnsureBucketsAsync(ct);

        var published = await a.Replicas.PublishRecordAsync(name, ct);
        var found = await b.Replicas.FindAsync(name, ct);
        var same = await b.Replicas.EnsureLocalAsync(name, ct);
        var e = await Assert.ThrowsAsync<FunctionConflictException>(() => c.Replicas.EnsureLocalAsync(name, ct));

        Assert.Equal(FunctionRecord.BuiltInKind, published.Record.Kind);
        Assert.Null(published.Record.Code); // every node has its built-ins
        Assert.False(found?.Retryable);
        Assert.Equal(FunctionManifest.PythonRuntime, found?.Runtime);
        Assert.False(found?.HasSnapshot);
        Assert.True(same.AlreadyLocal);
        Assert.Contains($"built-in function '{name}' of this node is other code than the cluster's", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_CPU_check_refuses_exactly_the_features_the_host_lacks_and_ignores_the_hypervisor_bit()
    {
        var snapshot = Cpu(avx2: true) with { Leaf7Ebx = Cpu(avx2: true).Leaf7Ebx | (1u << 1), Leaf1Ecx = Cpu(avx2: true).Leaf1Ecx | (1u << 31) };
        var host = Cpu(avx2: false);

        Assert.Equal(["leaf 7 EBX bit 1", "avx2"], CpuFeatures.Missing(snapshot, host));
        Assert.Empty(CpuFeatures.Missing(host, snapshot));
        Assert.Empty(CpuFeatures.Missing(host, host));
        Assert.Empty(CpuFeatures.Missing(CpuFeatures.Current, CpuFeatures.Current));
        Assert.Equal(["sse4.2"], CpuFeatures.Missing(host, host with { Leaf1Ecx = host.Leaf1Ecx & ~(1u << 20) }));
    }

    /// <summary>Feature words of an x86-64 with SSE4.2 and AVX, with or without AVX2.</summary>
    private static CpuFeatures Cpu(bool avx2) =>
        new(Leaf1Ecx: (1u << 20) | (1u << 28), Leaf1Edx: (1u << 25) | (1u << 26), Leaf7Ebx: avx2 ? 1u << 5 : 0, Leaf7Ecx: 0, Leaf7Edx: 0,
            LeafDSub1Eax: 1, Ext1Ecx: 1u << 5, Ext1Edx: 1u << 27);

    /// <summary>The shared cluster outlives a test: the function's record from an earlier test is removed first.</summary>
    private async Task Fresh(ReplicaNode node, CancellationToken ct)
    {
        await node.Replicas.EnsureBucketsAsync(ct);
        await using var connection = fixture.Connect(0);
        var kv = await connection.CreateKeyValueStoreContext().GetStoreAsync(ClusterNames.FunctionsBucket, ct);
        await kv.PurgeAsync(ReplicaNode.Function, cancellationToken: ct);
    }
}
