using System.Text;
using Snapfn.Platform;
using Snapfn.Tests;

namespace Snapfn.Cluster.Tests;

/// <summary>With KVM: a function deployed and snapshotted on node A, ensured on node B (which fetches the snapshot
/// instead of booting the runtime) and invoked there from the fetched snapshot.</summary>
public sealed class FunctionReplicasKvmTests(NatsClusterFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-replicas-kvm-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task A_snapshot_taken_on_one_node_restores_on_another_without_booting_there()
    {
        GuestBuild.RequireKvm();
        var ct = TestContext.Current.CancellationToken;
        await using var a = new ClusterNode(fixture, _dir.FullName, "node-a", 0);
        await using var b = new ClusterNode(fixture, _dir.FullName, "node-b", 1);
        const string name = "kvm-greeter";
        a.Service.Register(name, ClusterNode.Elf(), 256, "hello-world across nodes");
        var taken = a.Service.TakeSnapshot(name, null, TimeSpan.FromSeconds(30));
        await a.Replicas.PublishAsync(name, ct);

        var fetched = await b.Replicas.EnsureLocalAsync(name, ct);
        var result = b.Service.Server.Invoke(new InvokeRequest(name, Encoding.UTF8.GetBytes("""{"name": "b"}""")) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, ct);

        Assert.False(fetched.AlreadyLocal);
        Assert.False(fetched.TookOwnSnapshot, fetched.Note);
        Assert.True(fetched.ChunksFetched > 0);
        Assert.Equal(taken.Record.SnapshotId, b.Service.Get(name).Snapshot?.SnapshotId);
        Assert.Contains("b", Encoding.UTF8.GetString(result.Output), StringComparison.Ordinal);
    }
}
