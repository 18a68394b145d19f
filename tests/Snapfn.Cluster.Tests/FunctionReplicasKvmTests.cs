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
        await using var a = new ReplicaNode(fixture, _dir.FullName, "node-a", 0);
        await using var b = new ReplicaNode(fixture, _dir.FullName, "node-b", 1);
        const string name = "kvm-greeter";
        a.Service.Register(name, ReplicaNode.Elf(), 256, "hello-world across nodes");
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

    [Fact]
    public async Task A_python_function_deployed_on_one_node_is_registered_from_its_package_on_another_and_restores_there()
    {
        GuestBuild.RequireKvm();
        var ct = TestContext.Current.CancellationToken;
        await using var a = new ReplicaNode(fixture, SharingRoots("node-a"), "home", 0);
        await using var b = new ReplicaNode(fixture, SharingRoots("node-b"), "home", 2);
        const string name = "py-once-kvm";
        var source = Directory.CreateDirectory(Path.Combine(_dir.FullName, "src", name)).FullName;
        File.WriteAllText(Path.Combine(source, "main.py"), "import json\n\ndef handle(request):\n    return json.dumps({'seen': json.loads(request)}).encode()\n");
        File.WriteAllText(Path.Combine(source, "snapfn.json"), """{"runtime": "python", "retryable": false}""");
        a.Service.Register(name, FunctionPackage.Pack(source), 512, "python across nodes");
        a.Service.TakeSnapshot(name, null, TimeSpan.FromSeconds(60));
        await a.Replicas.PublishAsync(name, ct);

        var fetched = await b.Replicas.EnsureLocalAsync(name, ct);
        var result = b.Service.Server.Invoke(new InvokeRequest(name, Encoding.UTF8.GetBytes("[1]")) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(60) }, ct);

        Assert.False(fetched.TookOwnSnapshot, fetched.Note);
        Assert.Equal(a.Service.Get(name).ElfSha256, b.Service.Get(name).ElfSha256);
        Assert.False((await b.Replicas.FindAsync(name, ct))?.Retryable);
        Assert.Contains("\"seen\": [1]", Encoding.UTF8.GetString(result.Output), StringComparison.Ordinal);
    }

    /// <summary>A folder for a node whose SNAPFN_HOME ("home" in it) shares the machine's built runtime roots, so that
    /// the python root is not built again per node.</summary>
    private string SharingRoots(string node)
    {
        var home = Directory.CreateDirectory(Path.Combine(_dir.FullName, node, "home")).FullName;
        var configured = Environment.GetEnvironmentVariable("SNAPFN_HOME");
        var shared = !string.IsNullOrEmpty(configured)
            ? Path.GetFullPath(configured)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "snapfn");
        Directory.CreateSymbolicLink(Path.Combine(home, "roots"), Path.Combine(shared, "roots"));
        Directory.CreateSymbolicLink(Path.Combine(home, "apt"), Path.Combine(shared, "apt"));
        return Path.GetDirectoryName(home)!;
    }
}
