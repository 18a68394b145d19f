using System.Text;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Tests;
using Snapfn.Tests;

namespace Snapfn.Platform.Tests;

/// <summary>
/// Finding 8 of issue 18: a redeploy during an invocation deleted the code folder under it. Invocations lease the
/// version they resolved; pruning defers to the leases; the race is driven step by step through a seam, no sleeps.
/// </summary>
public sealed class VersionLeaseTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-lease-");

    private static FileLeases Leases() => new(path => Directory.Delete(path, recursive: true));

    private string Version(string name)
    {
        var path = Directory.CreateDirectory(Path.Combine(_dir.FullName, name)).FullName;
        File.WriteAllText(Path.Combine(path, "main.py"), name);
        return path;
    }

    [Fact]
    public void A_retired_version_stays_while_leased_and_goes_with_its_last_lease()
    {
        var leases = Leases();
        var v1 = Version("v1");
        var first = leases.TryAcquire(v1)!;
        var second = leases.TryAcquire(v1)!;

        Assert.False(leases.Retire(v1));
        Assert.True(Directory.Exists(v1));
        Assert.Equal(1, leases.Deferred);
        first.Dispose();
        first.Dispose(); // a lease is released once
        Assert.True(Directory.Exists(v1));
        second.Dispose();
        Assert.False(Directory.Exists(v1));
        Assert.Equal(0, leases.Deferred);
        Assert.Equal(0, leases.Holders(v1));
    }

    [Fact]
    public void An_unleased_version_is_deleted_at_once_and_cannot_be_leased_afterwards()
    {
        var leases = Leases();
        var v1 = Version("v1");
        Assert.True(leases.Retire(v1));
        Assert.False(Directory.Exists(v1));
        Assert.Null(leases.TryAcquire(v1));
    }

    [Fact]
    public void A_version_deployed_again_while_its_deletion_waits_is_kept()
    {
        var leases = Leases();
        var v1 = Version("v1");
        var lease = leases.TryAcquire(v1)!;
        Assert.False(leases.Retire(v1));
        leases.Keep(v1); // the same code deployed again: stored at the same path
        lease.Dispose();
        Assert.True(Directory.Exists(v1));
    }

    [Fact]
    public async Task An_invocation_held_after_resolving_its_version_finishes_on_it_through_two_redeploys()
    {
        using var home = new ScriptFunctionHome();
        using var service = new FunctionService(home.Home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));
        // The handler reads its folder at every request, as lazy imports do: without its version's files it fails.
        static byte[] Code(string version) => FunctionZip.Of(
            ("main.py", "def handle(r):\n    with open('/function/version.txt', 'rb') as f:\n        return f.read() + b' ' + r\n"),
            ("version.txt", version));
        service.Register("racer", Code("v1"), 512, "test");
        service.TakeSnapshot("racer", null, TimeSpan.FromSeconds(60));
        var v1 = service.Get("racer").ElfPath;

        using var proceed = new ManualResetEventSlim();
        var resolved = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Server.VersionResolved = (_, lease) =>
        {
            resolved.SetResult(lease.Path);
            proceed.Wait();
        };
        var cancel = TestContext.Current.CancellationToken;
        var invocation = Task.Run(() => service.Server.Invoke(new InvokeRequest("racer", "ada"u8.ToArray()) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, cancel), cancel);
        try
        {
            Assert.Same(resolved.Task, await Task.WhenAny(resolved.Task, invocation));
        }
        finally
        {
            service.Server.VersionResolved = null;
        }
        Assert.Equal(v1, await resolved.Task);

        service.Register("racer", Code("v2"), 512, "test");
        var v2 = service.Get("racer").ElfPath;
        service.Register("racer", Code("v3"), 512, "test");
        var v3 = service.Get("racer").ElfPath;
        Assert.Equal(3, new[] { v1, v2, v3 }.Distinct().Count());
        Assert.True(Directory.Exists(v1), "the version an invocation holds was deleted under it");
        Assert.False(Directory.Exists(v2), "a version nobody ran on stays after the next deploy");
        Assert.Equal(1, service.Versions.Deferred);

        proceed.Set();
        var output = (await invocation).Output;
        Assert.Equal("v1 ada", Encoding.UTF8.GetString(output));
        Assert.False(Directory.Exists(v1), "the old version stays after its last invocation ended");
        Assert.Equal(0, service.Versions.Deferred);
        Assert.True(Directory.Exists(v3));

        service.TakeSnapshot("racer", null, TimeSpan.FromSeconds(60));
        Assert.Equal("v3 bo", Encoding.UTF8.GetString(service.Server.Invoke(new InvokeRequest("racer", "bo"u8.ToArray()) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, cancel).Output));
    }

    /// <summary>The same race without KVM: the run is a stand-in that reads the version's code as a restore does (the
    /// guest's program is loaded from it), and answers with its SHA-256.</summary>
    [Fact]
    public async Task A_run_held_after_resolving_its_version_reads_that_version_through_two_redeploys()
    {
        var home = new SnapfnHome(Path.Combine(_dir.FullName, "home"));
        using var service = new FunctionService(home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));
        static byte[] Code(string elf) => File.ReadAllBytes(GuestBuild.ElfPath(elf));
        var v1 = service.Register("racer", Code("hello-world"), 512, "test");
        HandmadeSnapshot.Take(home.SnapshotFolder("racer"), v1.ElfSha256, HandmadeSnapshot.Marked("v1"));

        using var proceed = new ManualResetEventSlim();
        var resolved = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Server.VersionResolved = (_, lease) =>
        {
            resolved.SetResult(lease.Path);
            proceed.Wait();
        };
        service.Server.RunInvocation = (plan, _, _) => new InvocationResult
        {
            Function = plan.Function.Info.Name, Mode = plan.Mode, RestoreMs = 0, ExecuteMs = 0, TotalMs = 0, CachedPagesBefore = 0, Counters = new Dictionary<string, double>(),
            Output = Encoding.ASCII.GetBytes(FunctionRegistry.Sha256Of(plan.Function.Info.CodePath)),
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
        Assert.Equal(v1.ElfPath, await resolved.Task);

        var v2 = service.Register("racer", Code("echo"), 512, "test");
        var v3 = service.Register("racer", Code("json"), 512, "test");
        Assert.True(File.Exists(v1.ElfPath), "the version an invocation holds was deleted under it");
        Assert.False(File.Exists(v2.ElfPath));
        Assert.Equal(1, service.Versions.Holders(v1.ElfPath));

        proceed.Set();
        Assert.Equal(v1.ElfSha256, Encoding.ASCII.GetString((await invocation).Output));
        Assert.False(File.Exists(v1.ElfPath), "the old version stays after its last invocation ended");
        Assert.Equal(0, service.Versions.Deferred);
        HandmadeSnapshot.Take(home.SnapshotFolder("racer"), v3.ElfSha256, HandmadeSnapshot.Marked("v3"));
        Assert.Equal(v3.ElfSha256, Encoding.ASCII.GetString(service.Server.Invoke(new InvokeRequest("racer", []) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, cancel).Output));
    }

    [Fact]
    public void A_version_pruned_between_reading_the_registry_and_leasing_it_is_not_run()
    {
        var home = new SnapfnHome(Path.Combine(_dir.FullName, "home"));
        using var service = new FunctionService(home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));
        var v1 = service.Register("racer", File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), 512, "test");
        // A snapshot of the version the redeploy below brings, so that its run can resolve one.
        HandmadeSnapshot.Take(home.SnapshotFolder("racer"), FunctionRegistry.Sha256Of(GuestBuild.ElfPath("echo")), HandmadeSnapshot.Marked("v2"));
        // The other order of the race: the redeploy prunes the version after the invocation read it, before its lease.
        RegisteredFunction? v2 = null;
        service.Server.VersionRead = path =>
        {
            if (path == v1.ElfPath)
                v2 = service.Register("racer", File.ReadAllBytes(GuestBuild.ElfPath("echo")), 512, "test");
        };
        var ran = new List<string>();
        service.Server.RunInvocation = (plan, _, _) =>
        {
            ran.Add(plan.Function.Info.CodePath);
            return new InvocationResult
            {
                Function = plan.Function.Info.Name, Mode = plan.Mode, RestoreMs = 0, ExecuteMs = 0, TotalMs = 0, CachedPagesBefore = 0,
                Counters = new Dictionary<string, double>(), Output = [],
            };
        };
        service.Server.Invoke(new InvokeRequest("racer", []) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken);
        Assert.False(File.Exists(v1.ElfPath));
        Assert.Equal([v2!.ElfPath], ran);
    }

    [Fact]
    public void At_start_the_daemon_deletes_the_versions_that_are_not_current_and_the_folders_of_unregistered_functions()
    {
        var home = new SnapfnHome(Path.Combine(_dir.FullName, "home"));
        var catalog = new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins"));
        string current;
        using (var service = new FunctionService(home, catalog))
            current = service.Register("kept", File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), 512, "test").ElfPath;
        var root = Path.Combine(home.Path, "user-functions");
        var stale = Path.Combine(root, "kept", new string('a', 64) + ".elf");
        File.WriteAllText(stale, "left by a redeploy while an invocation ran, then a crash");
        var staleFolder = Directory.CreateDirectory(Path.Combine(root, "kept", new string('b', 64))).FullName;
        var orphan = Directory.CreateDirectory(Path.Combine(root, "gone", new string('c', 64))).FullName;

        using (new FunctionService(home, catalog))
            Assert.True(File.Exists(stale), "a CLI beside a running daemon must not prune what the daemon's invocations hold");
        using (new FunctionService(home, catalog, new FunctionServiceOptions { PruneStaleVersionsAtStart = true }))
        {
            Assert.True(File.Exists(current));
            Assert.False(File.Exists(stale));
            Assert.False(Directory.Exists(staleFolder));
            Assert.False(Directory.Exists(Path.Combine(root, "gone")));
            Assert.False(Directory.Exists(orphan));
        }
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
