using System.Text;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Tests;
using Snapfn.Tests;

namespace Snapfn.Platform.Tests;

/// <summary>
/// The snapshot half of finding 8 of issue 18: a snapshot taken again while an invocation was about to restore
/// deleted the memory file under it. An invocation resolves its snapshot once, with its version, leases its memory
/// file and carries it down to the restore; the retake retires the old file, deleted when the run ends. Driven
/// step by step through the service's seams, without KVM: the run is a stand-in that reads the memory file it was
/// handed, as a restore maps it.
/// </summary>
public sealed class SnapshotLeaseTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-snaplease-");

    private (FunctionService Service, SnapfnHome Home, string Sha256) Service()
    {
        var home = new SnapfnHome(Path.Combine(_dir.FullName, "home"));
        var service = new FunctionService(home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));
        var sha = service.Register("racer", File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), 512, "test").ElfSha256;
        // The stand-in restore: the memory file of the snapshot the invocation carries, read as a restore maps it.
        service.Server.RunInvocation = (plan, _, _) => new InvocationResult
        {
            Function = plan.Function.Info.Name, Mode = plan.Mode, RestoreMs = 0, ExecuteMs = 0, TotalMs = 0, CachedPagesBefore = 0,
            Counters = new Dictionary<string, double>(),
            Output = Encoding.UTF8.GetBytes(HandmadeSnapshot.MarkOf(plan.OpenedSnapshot!.MemoryPath)),
        };
        return (service, home, sha);
    }

    private static string Take(SnapfnHome home, string sha, string mark)
    {
        var folder = home.SnapshotFolder("racer");
        return folder.File(HandmadeSnapshot.Take(folder, sha, HandmadeSnapshot.Marked(mark)).MemoryFileName);
    }

    [Fact]
    public async Task An_invocation_held_before_its_restore_keeps_its_memory_file_through_a_retake_which_goes_when_it_ends()
    {
        var (service, home, sha) = Service();
        using var _ = service;
        var first = Take(home, sha, "first");
        using var proceed = new ManualResetEventSlim();
        var resolved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Server.VersionResolved = (_, _) =>
        {
            resolved.SetResult();
            proceed.Wait();
        };
        var cancel = TestContext.Current.CancellationToken;
        var invocation = Task.Run(() => service.Server.Invoke(new InvokeRequest("racer", []) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, cancel), cancel);
        try
        {
            Assert.Same(resolved.Task, await Task.WhenAny(resolved.Task, invocation));
        }
        finally
        {
            service.Server.VersionResolved = null;
        }

        var second = Take(home, sha, "second");
        Assert.True(File.Exists(first), "a retake deleted the memory file an invocation had resolved");
        Assert.Equal(1, Snapshot.MemoryFiles.Holders(first));
        Assert.True(Snapshot.MemoryFiles.IsDeferred(first));

        proceed.Set();
        Assert.Equal("first", Encoding.UTF8.GetString((await invocation).Output));
        Assert.False(File.Exists(first), "the old memory file stays after the run that held it ended");
        Assert.Equal(0, Snapshot.MemoryFiles.Holders(first));
        Assert.Equal("second", Encoding.UTF8.GetString(service.Server.Invoke(new InvokeRequest("racer", []) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, cancel).Output));
        Assert.Equal(0, Snapshot.MemoryFiles.Holders(second));
    }

    [Fact]
    public void A_failed_run_releases_its_memory_file_too()
    {
        var (service, home, sha) = Service();
        using var _ = service;
        var first = Take(home, sha, "first");
        string? second = null;
        service.Server.RunInvocation = (plan, _, _) =>
        {
            second = Take(home, sha, "second");
            Assert.True(File.Exists(plan.OpenedSnapshot!.MemoryPath));
            throw new Vmm.GuestAbortedException("the handler gave up");
        };
        Assert.Throws<Vmm.GuestAbortedException>(() => service.Server.Invoke(new InvokeRequest("racer", []) { Mode = "reap", Timeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken));
        Assert.False(File.Exists(first));
        Assert.Equal(0, Snapshot.MemoryFiles.Holders(first));
        Assert.True(File.Exists(second));
    }

    [Fact]
    public void A_warm_run_resolves_no_snapshot()
    {
        var (service, _, _) = Service();
        using var _ = service;
        Snapshot? carried = null;
        service.Server.RunInvocation = (plan, _, _) =>
        {
            carried = plan.OpenedSnapshot;
            return new InvocationResult
            {
                Function = plan.Function.Info.Name, Mode = plan.Mode, RestoreMs = 0, ExecuteMs = 0, TotalMs = 0, CachedPagesBefore = 0,
                Counters = new Dictionary<string, double>(), Output = [],
            };
        };
        // No snapshot exists: a warm VM is booted, so nothing may ask for one.
        service.Server.Invoke(new InvokeRequest("racer", []) { Mode = "warm", Timeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken);
        Assert.Null(carried);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
