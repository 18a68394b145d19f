using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Recording;
using Snapfn.Snapshots.Tests;
using Snapfn.Tests;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// One node of a test cluster: its own SNAPFN_HOME with a platform, and the replicas over a connection to one NATS
/// server. Snapshots are made by hand (<see cref="HandmadeSnapshot"/>) and adopted, since no VM runs here.
/// </summary>
internal sealed class ReplicaNode : IAsyncDisposable
{
    public const string Function = "greeter";
    public const int MemoryMib = (int)(HandmadeSnapshot.MemorySize >> 20);

    private readonly NATS.Client.Core.NatsConnection _connection;

    /// <param name="guestBuild">The built-in functions' guest/build folder (none by default).</param>
    /// <param name="function">The function <see cref="DeployWithSnapshot"/> and <see cref="Snapshot"/> make (test classes that
    /// run at the same time on the shared cluster use names of their own).</param>
    public ReplicaNode(NatsClusterFixture fixture, string root, string name, int server, ClusterOptions? options = null, string? guestBuild = null,
        string function = Function)
    {
        FunctionName = function;
        Home = new SnapfnHome(Path.Combine(root, name));
        Service = new FunctionService(Home, new FunctionCatalog(guestBuild ?? Path.Combine(root, "no-builtins")));
        _connection = fixture.Connect(server);
        Replicas = new FunctionReplicas(_connection, Service, (options ?? new ClusterOptions()) with { NodeName = name });
    }

    public SnapfnHome Home { get; }

    public string FunctionName { get; }

    public FunctionService Service { get; }

    public FunctionReplicas Replicas { get; }

    public static byte[] Elf(string name = "hello-world") => File.ReadAllBytes(GuestBuild.ElfPath(name));

    /// <summary>Registers <see cref="Function"/> and makes it a snapshot by hand: data pages at 4 KiB (the mark),
    /// at 3 MiB and at 100 MiB, the rest zero; with a reap recording of two of them. Returns the state.</summary>
    public SnapshotState DeployWithSnapshot(string mark, string elf = "hello-world")
    {
        var sha = Service.Register(FunctionName, Elf(elf), MemoryMib, "a test function").ElfSha256;
        return Snapshot(sha, mark);
    }

    /// <summary>A hand-made snapshot of the registered code, adopted as this node's (with a reap recording).</summary>
    public SnapshotState Snapshot(string sha, string mark)
    {
        var staging = Directory.CreateTempSubdirectory("snapfn-handmade-").FullName;
        try
        {
            var folder = new SnapshotFolder(staging, FunctionName);
            var data = new byte[4096];
            Random.Shared.NextBytes(data);
            var state = HandmadeSnapshot.Take(folder, sha, [.. HandmadeSnapshot.Marked(mark), (3UL << 20, data), (100UL << 20, data)]);
            using var snapshot = Snapfn.Snapshots.Snapshot.Open(folder, new HandmadeSnapshot.NoProgram(sha));
            var recording = Path.Combine(staging, "reap.ws");
            var file = RecordingWriter.Write(recording, "reap", snapshot, [(0x1000UL, 4096UL, 0u), (3UL << 20, 4096UL, 1u)], [], alignLargePages: false,
                RecordingProvenance.Of("{}"u8, "reap"));
            Service.AdoptSnapshot(FunctionName, new AdoptedSnapshot(folder.StatePath, folder.File(state.MemoryFileName), MemoryMib, 3,
                [new AdoptedRecording("reap", recording, (long)file.Pages, file.Regions.Count, DateTimeOffset.UtcNow)]));
            return state;
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Replicas.Dispose();
        Service.Dispose();
        await _connection.DisposeAsync();
    }
}
