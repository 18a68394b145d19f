using Snapfn.Platform.AutoRecording;
using Snapfn.Snapshots.Tests;
using Snapfn.Tests;

namespace Snapfn.Platform.Tests;

/// <summary>
/// The automatic recorder inside the platform, without KVM: requests run through the <see cref="FunctionServer.RunInvocation"/>
/// seam and reach the recorder through <see cref="FunctionServer.Served"/>; the recording run fails before any VM (the
/// registry names another snapshot than the files on disk), and the request never sees it.
/// </summary>
public sealed class AutoRecordServiceTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-autorecord-");
    private readonly List<string> _log = [];
    private readonly Queue<Action> _workers = new();

    private static byte[] Elf => File.ReadAllBytes(GuestBuild.ElfPath("hello-world"));

    private FunctionService Service()
    {
        // Snapshot files on disk (made by hand, no VM): a restore path's plan leases the memory file at admission.
        var home = new SnapfnHome(Path.Combine(_dir.FullName, "home"));
        HandmadeSnapshot.Take(home.SnapshotFolder("fn"), FunctionRegistry.Sha256Of(GuestBuild.ElfPath("hello-world")), HandmadeSnapshot.Marked("fn"));
        var service = new FunctionService(home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")),
            new FunctionServiceOptions { AutoRecord = new AutoRecordOptions { Log = (f, m) => _log.Add($"{f}: {m}") } });
        service.AutoRecords!.StartWorker = work =>
        {
            _workers.Enqueue(work);
            return Task.CompletedTask;
        };
        service.Server.RunInvocation = (plan, _, _) => new InvocationResult
        {
            Function = plan.Function.Info.Name, Mode = plan.Mode, Output = "ok"u8.ToArray(), RestoreMs = 1, ExecuteMs = 1, TotalMs = 2,
            CachedPagesBefore = 0, Counters = new Dictionary<string, double>(),
        };
        return service;
    }

    /// <summary>A snapshot row for the function, as if one had been taken (not the one on disk: a recording run fails).</summary>
    private static void PretendSnapshot(FunctionService service, string name) =>
        new FunctionRegistry(service.Database).PutSnapshot(name, new SnapshotRecord
        {
            SnapshotId = Guid.NewGuid(), ElfSha256 = service.Get(name).ElfSha256, StateSha256 = "", MemoryFile = "memory", MemoryMib = 512,
            AllocatedBytes = 0, DataPages = 0, TakenAt = DateTimeOffset.UtcNow,
        });

    private void RunWorkers()
    {
        while (_workers.TryDequeue(out var work))
            work();
    }

    private static InvocationResult Invoke(FunctionService service, string name) =>
        service.Server.Invoke(new InvokeRequest(name, "{}"u8.ToArray()) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken);

    [Fact]
    public void A_recording_that_fails_never_fails_the_request_and_is_shown_as_failed_with_its_reason()
    {
        using var service = Service();
        service.Register("fn", Elf, 512, "test");
        Assert.Equal(AutoRecordStatus.NoSnapshot, service.AutoRecordStatus(service.Get("fn"))!.State);
        PretendSnapshot(service, "fn");

        Assert.Equal("ok"u8.ToArray(), Invoke(service, "fn").Output);
        Assert.Equal(AutoRecordStatus.Pending, service.AutoRecordStatus(service.Get("fn"))!.State);
        RunWorkers();

        var status = service.AutoRecordStatus(service.Get("fn"))!;
        Assert.Equal(AutoRecordStatus.Failed, status.State);
        Assert.Contains("recording reap from the first-invocation input failed", status.Reason, StringComparison.Ordinal);
        Assert.Contains("another snapshot", status.Reason, StringComparison.Ordinal);
        Assert.Contains(_log, l => l.StartsWith("fn: recording reap", StringComparison.Ordinal));
        Assert.Empty(service.Get("fn").Recordings);
        // The function still serves, and the failure waits its turn rather than failing again at every request.
        Assert.Equal("ok"u8.ToArray(), Invoke(service, "fn").Output);
        Assert.Equal(0, service.AutoRecords!.Queued);
    }

    [Fact]
    public void A_redeploy_drops_the_queued_recording_of_the_old_version()
    {
        using var service = Service();
        service.Register("fn", Elf, 512, "test");
        PretendSnapshot(service, "fn");
        Invoke(service, "fn");
        Assert.Equal(1, service.AutoRecords!.Queued);

        service.Register("fn", Elf, 512, "test again");

        Assert.Equal(0, service.AutoRecords.Queued);
        RunWorkers();
        Assert.DoesNotContain(_log, l => l.Contains("failed", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_automatic_recording_the_service_records_nothing_and_reports_no_state()
    {
        using var service = new FunctionService(new SnapfnHome(Path.Combine(_dir.FullName, "off")), new FunctionCatalog(Path.Combine(_dir.FullName, "none")));
        service.Register("fn", Elf, 512, "test");
        Assert.Null(service.AutoRecords);
        Assert.Null(service.AutoRecordStatus(service.Get("fn")));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
