using System.Security.Cryptography;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Tests;
using Snapfn.Tests;

namespace Snapfn.Platform.Tests;

/// <summary>
/// One invocation path, resolved once (issue 21, item 6), without KVM: the serve side reads the registry once per
/// request into a plan that names the function's version, snapshot, recording, path and bounds, and the run (a
/// stand-in here, through the <see cref="FunctionServer.RunInvocation"/> seam) gets only the plan. And a start hashes
/// only the built-ins whose files changed.
/// </summary>
public sealed class ServingPlanTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-plan-");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static byte[] Elf => File.ReadAllBytes(GuestBuild.ElfPath("hello-world"));

    /// <summary>A service whose function "fn" has snapshot files on disk (made by hand, no VM): a restore path's plan
    /// leases its snapshot's memory file when the request is admitted, so one must exist; which snapshot the policy
    /// sees is the registry's record, set by each test.</summary>
    private FunctionService Service(FunctionServiceOptions? options = null)
    {
        var home = new SnapfnHome(Path.Combine(_dir.FullName, "home"));
        HandmadeSnapshot.Take(home.SnapshotFolder("fn"), FunctionRegistry.Sha256Of(GuestBuild.ElfPath("hello-world")), HandmadeSnapshot.Marked("fn"));
        return new(home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")), options);
    }

    /// <summary>Runs nothing: records the plan and answers with an empty output.</summary>
    private static List<InvocationPlan> Capture(FunctionService service)
    {
        var plans = new List<InvocationPlan>();
        service.Server.RunInvocation = (plan, _, _) =>
        {
            lock (plans)
                plans.Add(plan);
            return new InvocationResult
            {
                Function = plan.Function.Info.Name, Mode = plan.Mode, Output = [], RestoreMs = 1, ExecuteMs = 2, TotalMs = 3, CachedPagesBefore = 0,
                Counters = new Dictionary<string, double>(),
            };
        };
        return plans;
    }

    private static SnapshotRecord Snapshot(Guid id) => new()
    {
        SnapshotId = id, ElfSha256 = "e", StateSha256 = "s", MemoryFile = "memory", MemoryMib = 512, AllocatedBytes = 0, DataPages = 0,
        TakenAt = DateTimeOffset.UtcNow,
    };

    private RecordingRecord Recording(string mode, Guid snapshot, bool fileExists = true)
    {
        var path = Path.Combine(_dir.FullName, $"{mode}-{snapshot:N}.rec");
        if (fileExists)
            File.WriteAllText(path, "recorded");
        return new RecordingRecord
        {
            Mode = mode, SnapshotId = snapshot, Path = path, Sha256 = "x", Pages = 1, Regions = 1, FileBytes = 8, RecordedAt = DateTimeOffset.UtcNow,
        };
    }

    [Fact]
    public void An_invocation_reads_the_registry_once_and_runs_from_a_plan_naming_its_version_and_bounds()
    {
        using var service = Service();
        var registered = service.Register("fn", Elf, 512, "test", settings: new FunctionSettings { MaxInstances = 3 });
        var plans = Capture(service);

        var served = new List<(InvocationPlan Plan, InvocationResult Result)>();
        service.Server.Served += (plan, result) => served.Add((plan, result));
        var reads = service.Registry.Reads;
        var result = service.Server.Invoke(new InvokeRequest("fn", "in"u8.ToArray()) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(7) }, Cancel);

        Assert.Equal(reads + 1, service.Registry.Reads);
        var plan = Assert.Single(plans);
        Assert.Equal(registered.ElfPath, plan.Version);
        Assert.Equal("mode-vanilla", plan.Path.Name);
        Assert.Equal(ServePathKind.Override, plan.Path.Kind);
        Assert.Equal(3, plan.MaxInstances);
        Assert.Equal(512UL << 20, plan.MemoryBytes);
        Assert.Equal(TimeSpan.FromSeconds(7), plan.Timeout);
        Assert.Null(plan.Snapshot);
        Assert.Equal("mode-vanilla", result.Path);
        Assert.NotNull(result.InvocationId);
        Assert.Equal(result.InvocationId, service.Log.Recent("fn", 1).Single().Id);
        // What learns from real requests sees the plan and the result, once the instance is free again.
        var (servedPlan, servedResult) = Assert.Single(served);
        Assert.Same(plan, servedPlan);
        Assert.Equal("in"u8.ToArray(), servedPlan.Input);
        Assert.Equal(result, servedResult);
    }

    [Fact]
    public void Without_a_mode_the_platform_picks_the_fastest_valid_recording_then_cached_or_vanilla()
    {
        using var service = Service();
        service.Register("fn", Elf, 512, "test");
        var plans = Capture(service);
        var cached = false;
        service.Server.SnapshotCachedProbe = _ => cached;
        var request = new InvokeRequest("fn", []);

        var e = Assert.Throws<SnapshotInvalidException>(() => service.Server.Invoke(request, Cancel));
        Assert.Contains("'fn' has no snapshot yet", e.Message, StringComparison.Ordinal);

        var current = Guid.NewGuid();
        service.Registry.PutSnapshot("fn", Snapshot(current));
        var faasnap = Recording("faasnap", current);
        service.Registry.PutRecording("fn", faasnap);
        service.Registry.PutRecording("fn", Recording("reap", current));
        Assert.Equal("cold-faasnap", service.Server.Invoke(request, Cancel).Path);
        Assert.Equal(faasnap, plans[^1].Recording);
        Assert.Equal(current, plans[^1].Snapshot!.SnapshotId);

        File.Delete(faasnap.Path); // a recording whose file is gone is not valid
        Assert.Equal("cold-reap", service.Server.Invoke(request, Cancel).Path);

        service.Registry.PutSnapshot("fn", Snapshot(Guid.NewGuid())); // recordings of the old snapshot no longer apply
        Assert.Equal("cold-vanilla", service.Server.Invoke(request, Cancel).Path);
        Assert.Null(plans[^1].Recording);
        cached = true;
        Assert.Equal("cold-cached", service.Server.Invoke(request, Cancel).Path);
        Assert.Equal("vanilla", plans[^1].Mode);
    }

    [Fact]
    public void An_unknown_mode_is_refused_before_the_registry_is_read()
    {
        using var service = Service();
        service.Register("fn", Elf, 512, "test");
        var reads = service.Registry.Reads;
        var e = Assert.Throws<InvalidRequestException>(() => service.Server.Invoke(new InvokeRequest("fn", []) { Mode = "teleport" }, Cancel));
        Assert.Contains("unknown mode 'teleport'", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<InvalidRequestException>(() => service.Server.Invoke(new InvokeRequest("fn", []) { Cold = true }, Cancel));
        Assert.Contains("cold", e.Message, StringComparison.Ordinal);
        Assert.Equal(reads, service.Registry.Reads);
    }

    [Fact]
    public void The_settings_a_deploy_gives_are_kept_and_checked()
    {
        using var service = Service();
        var registered = service.Register("fn", Elf, 512, "test", settings: new FunctionSettings { KeepState = true, MaxInstances = 2 });
        Assert.True(registered.Settings.KeepState);
        Assert.Equal(2, service.Get("fn").Settings.MaxInstances);
        Assert.Equal(FunctionSettings.Default, service.Register("fn", Elf, 512, "test").Settings);
        var e = Assert.Throws<InvalidRequestException>(() => service.Register("fn", Elf, 512, "test", settings: new FunctionSettings { MaxInstances = 0 }));
        Assert.Contains("max_instances must be between 1 and 256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_beyond_max_instances_wait_then_are_refused_while_the_run_holds_its_instance()
    {
        using var service = Service(new FunctionServiceOptions { Serving = new ServingOptions { MaxQueueLength = 0 } });
        service.Register("fn", Elf, 512, "test", settings: new FunctionSettings { MaxInstances = 1 });
        using var proceed = new ManualResetEventSlim();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Server.RunInvocation = (plan, _, _) =>
        {
            running.TrySetResult();
            proceed.Wait(Cancel);
            return new InvocationResult
            {
                Function = plan.Function.Info.Name, Mode = plan.Mode, Output = [], RestoreMs = 0, ExecuteMs = 0, TotalMs = 0, CachedPagesBefore = 0,
                Counters = new Dictionary<string, double>(),
            };
        };
        var request = new InvokeRequest("fn", []) { Mode = "vanilla" };
        var first = Task.Run(() => service.Server.Invoke(request, Cancel), Cancel);
        await running.Task;

        var e = Assert.Throws<FunctionThrottledException>(() => service.Server.Invoke(request, Cancel));
        Assert.Equal("max-instances", e.Limit);
        proceed.Set();
        await first;
        Assert.Equal(default, service.Server.Instances.CountsOf("fn"));
        Assert.Equal("mode-vanilla", service.Server.Invoke(request, Cancel).Path);
        var log = service.Log.Recent("fn", 10);
        Assert.Equal(2, log.Count(l => l.Succeeded));
    }

    [Fact]
    public void A_start_hashes_only_the_built_ins_whose_files_changed()
    {
        var guests = Directory.CreateDirectory(Path.Combine(_dir.FullName, "guest", "build")).FullName;
        var functions = Directory.CreateDirectory(Path.Combine(_dir.FullName, "guest", "functions", "py-thing")).FullName;
        File.WriteAllBytes(Path.Combine(guests, "alpha.elf"), RandomNumberGenerator.GetBytes(64));
        File.WriteAllBytes(Path.Combine(guests, "beta.elf"), RandomNumberGenerator.GetBytes(64));
        File.WriteAllText(Path.Combine(functions, "main.py"), "def handle(r):\n    return r\n");
        File.WriteAllText(Path.Combine(functions, "snapfn.json"), """{"runtime": "python", "keep_state": true, "max_instances": 2}""");
        var home = new SnapfnHome(Path.Combine(_dir.FullName, "home"));
        var catalog = new FunctionCatalog(guests);

        using (var first = new FunctionService(home, catalog))
        {
            Assert.Equal(3, first.Registry.Hashed);
            // A built-in Python function's snapfn.json says how it is served, as a deployed one's does.
            Assert.Equal(new FunctionSettings { KeepState = true, MaxInstances = 2 }, first.Get("py-thing").Settings);
            Assert.Equal(FunctionSettings.Default, first.Get("alpha").Settings);
        }
        using (var second = new FunctionService(home, catalog))
            Assert.Equal(0, second.Registry.Hashed);

        // Rebuilt as builds do (a new file renamed over the old), and a Python module edited in place.
        var rebuilt = RandomNumberGenerator.GetBytes(64);
        File.WriteAllBytes(Path.Combine(guests, "alpha.elf.tmp"), rebuilt);
        File.Move(Path.Combine(guests, "alpha.elf.tmp"), Path.Combine(guests, "alpha.elf"), overwrite: true);
        File.AppendAllText(Path.Combine(functions, "main.py"), "# edited\n");
        using var third = new FunctionService(home, catalog);
        Assert.Equal(2, third.Registry.Hashed);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(rebuilt)), third.Get("alpha").ElfSha256);
        Assert.Equal(GuestPrograms.CodeSha256(third.Get("py-thing").Info), third.Get("py-thing").ElfSha256);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
