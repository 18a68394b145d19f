using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Snapfn.Bench.Load;
using Snapfn.Platform;
using Snapfn.Platform.Tests;

namespace Snapfn.Daemon.Tests;

/// <summary>
/// The load experiment's clients (<see cref="LoadClient"/>) against the daemon in this process, on the in-memory
/// server, with the platform's run replaced by a stand-in that holds each request until the test lets it go, and
/// the clients' clock moved by the test (<see cref="ManualClock"/>): which requests fall in the warm-up, how long
/// each took and when a client sends again after a 429 are the test's to say, never the machine's speed.
/// </summary>
public sealed class LoadClientTests : IAsyncLifetime
{
    private readonly TempDirectory _home = new();
    private readonly TempDirectory _guests = new();
    /// <summary>The runs started since the last <see cref="Proceed"/> wait for it; a run started after it waits for the next.</summary>
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _running = new(0);
    private readonly ManualClock _clock = new();
    private WebApplication? _app;
    private HttpClient? _http;
    private string _token = "";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private FunctionService Service => _app!.Services.GetRequiredService<FunctionService>();

    /// <summary>What the stand-in run throws instead of answering (null: it answers).</summary>
    private Exception? _failure;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    private async Task StartAsync(ServingOptions serving, string query)
    {
        // Eight runs block their threads at once here; the pool must not have to grow one thread a second for them.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
        Snapshots.Tests.HandmadeSnapshot.Take(new SnapfnHome(_home.Path).SnapshotFolder("fn"), FunctionRegistry.Sha256Of(
            Path.Combine(FunctionCatalog.Default().GuestDirectory, "hello-world.elf")), Snapshots.Tests.HandmadeSnapshot.Marked("fn"));
        _app = DaemonHost.Build(new DaemonOptions
        {
            Listen = "http://127.0.0.1:0",
            HomePath = _home.Path,
            GuestDirectory = _guests.Path,
            Platform = new FunctionServiceOptions { Serving = serving },
        }, _ => { }, host => host.UseTestServer());
        await _app.StartAsync(Cancel);
        _http = ((TestServer)_app.Services.GetRequiredService<IServer>()).CreateClient();
        _token = (await File.ReadAllTextAsync(Path.Combine(_home.Path, AccessToken.FileName), Cancel)).Trim();
        using (var content = new ByteArrayContent(File.ReadAllBytes(Path.Combine(FunctionCatalog.Default().GuestDirectory, "hello-world.elf"))))
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"functions?name=fn&{query}") { Content = content })
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            using var response = await _http.SendAsync(request, Cancel);
            Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Cancel));
        }
        // A snapshot of record, so that a request without a mode is served (the files are the handmade ones).
        Service.Registry.PutSnapshot("fn", new SnapshotRecord
        {
            SnapshotId = Guid.NewGuid(), ElfSha256 = "e", StateSha256 = "s", MemoryFile = "memory", MemoryMib = 512, AllocatedBytes = 0, DataPages = 0,
            TakenAt = DateTimeOffset.UtcNow,
        });
        Service.Server.SnapshotCachedProbe = _ => false;
        Service.Server.RunInvocation = (plan, _, cancel) =>
        {
            var gate = Volatile.Read(ref _gate);
            _running.Release();
            gate.Task.Wait(cancel);
            if (_failure is not null)
                throw _failure;
            return new InvocationResult
            {
                Function = plan.Function.Info.Name, Mode = plan.Mode, Output = System.Text.Encoding.UTF8.GetBytes("Hello, Ada!"),
                RestoreMs = 1, ExecuteMs = 1, TotalMs = 2, CachedPagesBefore = 0, Counters = new Dictionary<string, double>(),
            };
        };
    }

    private LoadClient Client(LoadSettings settings, Action<LoadSample>? answered = null) =>
        new(_http!, new Uri(_http!.BaseAddress!, "functions/fn/invoke"), _token, settings, _clock) { Answered = answered };

    /// <summary>Lets the runs held so far answer; the runs they lead to are held until the next call.</summary>
    private void Proceed() => Interlocked.Exchange(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).SetResult();

    private async Task RunningAsync(int count)
    {
        for (var i = 0; i < count; i++)
            await _running.WaitAsync(Cancel);
    }

    [Fact]
    public async Task Eight_clients_run_at_once_and_each_answer_is_counted_in_the_warm_up_or_the_window_with_its_path()
    {
        await StartAsync(new ServingOptions(), "");
        var settings = new LoadSettings { Levels = [8], Warmup = TimeSpan.FromSeconds(1), Duration = TimeSpan.FromSeconds(1) };
        var level = Client(settings).RunLevelAsync(8, Cancel);

        // All eight are in the platform at once: as many VMs busy as the default max_instances, none queued.
        await RunningAsync(8);
        Assert.Equal(8, Service.Server.Instances.CountsOf("fn").Busy);
        Assert.Equal(0, Service.Server.Instances.CountsOf("fn").Queued);
        _clock.Advance(TimeSpan.FromMilliseconds(1500));
        // From now on the snapshot is in the page cache: the platform's path changes, and the answers say so.
        Service.Server.SnapshotCachedProbe = _ => true;
        Proceed();
        // Answered at 1.5 s, before the window's end: each client sends once more.
        await RunningAsync(8);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Proceed();
        var samples = await level;

        Assert.Null(samples.StoppedEarly);
        Assert.Equal(1000, samples.WindowStartMs);
        Assert.Equal(2000, samples.WindowEndMs);
        Assert.Equal(16, samples.Samples.Count);
        var warmup = samples.Samples.Where(s => s.Warmup).ToList();
        var measured = samples.Samples.Where(s => !s.Warmup).ToList();
        Assert.Equal(Enumerable.Range(0, 8), warmup.Select(s => s.Client).Order());
        Assert.Equal(Enumerable.Range(0, 8), measured.Select(s => s.Client).Order());
        Assert.All(warmup, s => Assert.Equal((0.0, 1500.0, "cold-vanilla"), (s.SentMs, s.LatencyMs, s.Path)));
        Assert.All(measured, s => Assert.Equal((1500.0, 1000.0, "cold-cached"), (s.SentMs, s.LatencyMs, s.Path)));
        Assert.All(samples.Samples, s =>
        {
            Assert.Equal(LoadOutcome.Ok, s.Outcome);
            Assert.NotNull(s.QueueMs);
            Assert.Equal(8, s.Clients);
        });

        var figures = LoadReport.Figures(new LoadLevelRun(samples, null, null, 8, 0, null));
        Assert.Equal(8, figures.Ok);
        // From the window's start (1 s) to the last answer (2.5 s).
        Assert.Equal(1.5, figures.Seconds, 9);
        Assert.Equal(8 / 1.5, figures.Throughput, 9);
        Assert.Equal(new Dictionary<string, int> { ["cold-cached"] = 8 }, figures.ColdStarts);
        Assert.Equal(new Dictionary<string, int> { ["cold-vanilla"] = 8 }, figures.WarmupPaths);
    }

    [Fact]
    public async Task A_429_is_counted_apart_and_its_client_waits_retry_after_on_the_clock_before_it_sends_again()
    {
        // One VM, no queue: the second client is refused at once.
        await StartAsync(new ServingOptions { MaxQueueLength = 0 }, "max_instances=1");
        var settings = new LoadSettings { Levels = [2], Warmup = TimeSpan.Zero, Duration = TimeSpan.FromMilliseconds(1500) };
        var refused = new SemaphoreSlim(0);
        var level = Client(settings, s =>
        {
            if (s.Outcome == LoadOutcome.Throttled)
                refused.Release();
        }).RunLevelAsync(2, Cancel);

        await RunningAsync(1);
        await refused.WaitAsync(Cancel);
        // The refused client waits Retry-After (1 s) on the clock: nothing more is sent until it moves.
        Assert.Equal(0, refused.CurrentCount);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await refused.WaitAsync(Cancel);
        // Refused again at 1 s, it now waits only to the window's end (1.5 s), not the full Retry-After.
        Proceed();
        await RunningAsync(1);
        // Past the window's end: the waiting client wakes and stops, the running one once answered.
        _clock.Advance(TimeSpan.FromSeconds(10));
        Proceed();
        var samples = await level;

        var figures = LoadReport.Figures(new LoadLevelRun(samples, null, null, 1, 0, null));
        Assert.Equal(2, figures.Ok);
        Assert.Equal(2, figures.Throttled);
        Assert.Equal(0, figures.Errors);
        var throttled = samples.Samples.Where(s => s.Outcome == LoadOutcome.Throttled).ToList();
        Assert.Equal([0.0, 1000.0], throttled.Select(s => s.SentMs));
        Assert.All(throttled, s =>
        {
            Assert.Equal(TimeSpan.FromSeconds(1), s.RetryAfter);
            Assert.Contains("too-many-requests", s.Error, StringComparison.Ordinal);
            Assert.Null(s.Path);
        });
        // The answers' latencies are the clock's: 1 s, then 10 s.
        Assert.Equal([1000.0, 10_000.0], samples.Samples.Where(s => s.Outcome == LoadOutcome.Ok).Select(s => s.LatencyMs));
        // The daemon counted the same refusals the clients did.
        using var metrics = new HttpRequestMessage(HttpMethod.Get, "metrics");
        metrics.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        using var scraped = await _http!.SendAsync(metrics, Cancel);
        Assert.Equal(2, DaemonReading.Parse(await scraped.Content.ReadAsStringAsync(Cancel), "fn").Throttled);
    }

    [Fact]
    public async Task Errors_are_counted_apart_and_a_level_that_only_fails_stops_at_its_bound()
    {
        await StartAsync(new ServingOptions(), "");
        _failure = new Linux.FunctionFailedException("ValueError: no", null);
        // Every run answers at once.
        _gate.SetResult();
        var settings = new LoadSettings { Levels = [1], Warmup = TimeSpan.Zero, Duration = TimeSpan.FromSeconds(30), MaxErrorsPerLevel = 5 };

        var samples = await Client(settings).RunLevelAsync(1, Cancel);

        // The clock never moved: the bound stopped the level, not its time.
        Assert.Equal(5, samples.Samples.Count);
        Assert.All(samples.Samples, s =>
        {
            Assert.Equal(LoadOutcome.Error, s.Outcome);
            Assert.Equal(502, s.Status);
            Assert.Contains("ValueError: no", s.Error, StringComparison.Ordinal);
        });
        Assert.StartsWith("stopped after 5 errors; the first: HTTP 502:", samples.StoppedEarly, StringComparison.Ordinal);
        Assert.Equal(0, samples.WindowEndMs); // stopped before the clock moved: nothing was measured over time
        var figures = LoadReport.Figures(new LoadLevelRun(samples, null, null, 1, 0, null));
        Assert.Equal((0, 0, 5), (figures.Ok, figures.Throttled, figures.Errors));
        Assert.True(double.IsNaN(figures.P50Ms));
    }

    [Fact]
    public async Task Cancelled_mid_level_the_clients_stop_and_return_what_was_answered_without_the_request_cut_short()
    {
        await StartAsync(new ServingOptions(), "");
        var settings = new LoadSettings { Levels = [2], Warmup = TimeSpan.Zero, Duration = TimeSpan.FromSeconds(30) };
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var level = Client(settings).RunLevelAsync(2, interrupt.Token);

        await RunningAsync(2);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Proceed();
        // Both answered, both sent again; then Ctrl-C while those two run.
        await RunningAsync(2);
        await interrupt.CancelAsync();
        var samples = await level;

        Assert.Equal(2, samples.Samples.Count);
        Assert.All(samples.Samples, s => Assert.Equal((LoadOutcome.Ok, 0.0, 1000.0), (s.Outcome, s.SentMs, s.LatencyMs)));
        Assert.Null(samples.StoppedEarly);
        // The window measured ended when it was stopped (1 s), not when it was meant to (30 s): 2 answers a second.
        Assert.Equal(1000, samples.WindowEndMs);
        Assert.Equal(2, LoadReport.Figures(new LoadLevelRun(samples, null, null, 2, 0, null)).Throughput, 9);
    }

    public async ValueTask DisposeAsync()
    {
        _gate.TrySetResult();
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
        _running.Dispose();
        _home.Dispose();
        _guests.Dispose();
    }
}
