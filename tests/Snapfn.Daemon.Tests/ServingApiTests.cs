using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>
/// The serve side through the HTTP API, without KVM: the daemon on ASP.NET Core's in-memory server, the platform's
/// run replaced by a stand-in that holds the request until the test lets it go (no sleeps). What a client sees:
/// the path in Snapfn-Path, Server-Timing, 429 with Retry-After past max_instances and its queue, the settings a
/// deploy gives, and the metrics of instances, cold starts and refusals.
/// </summary>
public sealed partial class ServingApiTests : IAsyncLifetime
{
    private readonly TempDirectory _home = new();
    private readonly TempDirectory _guests = new();
    private readonly SemaphoreSlim _proceed = new(0);
    private readonly SemaphoreSlim _running = new(0);
    private WebApplication? _app;
    private HttpClient? _http;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private HttpClient Http => _http!;

    private FunctionService Service => _app!.Services.GetRequiredService<FunctionService>();

    private static byte[] Elf => File.ReadAllBytes(Path.Combine(FunctionCatalog.Default().GuestDirectory, "hello-world.elf"));

    public async ValueTask InitializeAsync()
    {
        // Snapshot files of "fn" on disk, made by hand (no VM): a restore path's plan leases its snapshot's memory file
        // when the request is admitted; which snapshot the policy sees is the registry's record, set by each test.
        Snapfn.Snapshots.Tests.HandmadeSnapshot.Take(new SnapfnHome(_home.Path).SnapshotFolder("fn"), FunctionRegistry.Sha256Of(
            Path.Combine(FunctionCatalog.Default().GuestDirectory, "hello-world.elf")), Snapfn.Snapshots.Tests.HandmadeSnapshot.Marked("fn"));
        _app = DaemonHost.Build(new DaemonOptions
        {
            Listen = "http://127.0.0.1:0",
            HomePath = _home.Path,
            GuestDirectory = _guests.Path,
            Platform = new FunctionServiceOptions { Serving = new ServingOptions { MaxQueueLength = 1, MaxQueueWait = TimeSpan.FromMinutes(5) } },
        }, _ => { }, host => host.UseTestServer());
        await _app.StartAsync(Cancel);
        _http = ((TestServer)_app.Services.GetRequiredService<IServer>()).CreateClient();
        var token = (await File.ReadAllTextAsync(Path.Combine(_home.Path, AccessToken.FileName), Cancel)).Trim();
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        // Each run waits for the test's go; the output names the path, so that the body shows what ran.
        Service.Server.RunInvocation = (plan, _, cancel) =>
        {
            _running.Release();
            _proceed.Wait(cancel);
            return new InvocationResult
            {
                Function = plan.Function.Info.Name, Mode = plan.Mode, Output = System.Text.Encoding.UTF8.GetBytes(plan.Path.Name),
                RestoreMs = 1.5, ExecuteMs = 2.25, TotalMs = 3.75, CachedPagesBefore = 0, Counters = new Dictionary<string, double>(),
            };
        };
    }

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await Http.PostAsync(path, content, Cancel);
    }

    /// <summary>Deploys "fn" without its snapshot: the tests set the snapshot the policy sees themselves, and a deploy
    /// where guests can run (KVM, or SNAPFN_CPU=soft) would otherwise take a real one and start recording from it.</summary>
    private async Task RegisterAsync(string query)
    {
        using var response = await PostAsync($"functions?name=fn&snapshot=false&{query}", Elf);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Cancel));
    }

    [Fact]
    public async Task Past_max_instances_and_the_queue_a_request_gets_429_with_retry_after_and_the_others_run_in_turn()
    {
        await RegisterAsync("max_instances=1");
        var function = JsonDocument.Parse(await Http.GetStringAsync("functions/fn", Cancel)).RootElement;
        Assert.Equal(1, function.GetProperty("max_instances").GetInt32());
        Assert.False(function.GetProperty("keep_state").GetBoolean());

        var first = PostAsync("functions/fn/invoke?mode=vanilla", []);
        await _running.WaitAsync(Cancel);
        var queued = PostAsync("functions/fn/invoke?mode=vanilla", []);
        await WaitForAsync(() => Service.Server.Instances.CountsOf("fn").Queued == 1);
        var metrics = await Http.GetStringAsync("metrics", Cancel);
        Assert.Contains("""snapfn_instances{function="fn",state="busy"} 1""", metrics, StringComparison.Ordinal);
        Assert.Contains("""snapfn_instances{function="fn",state="queued"} 1""", metrics, StringComparison.Ordinal);

        using (var refused = await PostAsync("functions/fn/invoke?mode=vanilla", []))
        {
            var problem = await RunningDaemon.ProblemAsync(refused, 429, "too-many-requests");
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
            Assert.Contains("limit 'max-instances'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Contains("then send the request again", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        _proceed.Release();
        using (var response = await first)
            Assert.Equal("mode-vanilla", await response.Content.ReadAsStringAsync(Cancel));
        await _running.WaitAsync(Cancel);
        _proceed.Release();
        using (var response = await queued)
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        metrics = await Http.GetStringAsync("metrics", Cancel);
        Assert.Contains("""snapfn_throttled_total{function="fn"} 1""", metrics, StringComparison.Ordinal);
        Assert.Contains("""snapfn_cold_starts_total{function="fn",path="mode-vanilla"} 2""", metrics, StringComparison.Ordinal);
        Assert.Contains("""snapfn_instances{function="fn",state="busy"} 0""", metrics, StringComparison.Ordinal);
        Assert.Matches("""snapfn_queue_wait_seconds_count\{function="fn"\} 2""", metrics);
    }

    [Fact]
    public async Task Without_a_mode_the_response_names_the_path_the_platform_picked_and_its_server_timing()
    {
        await RegisterAsync("keep_state=true");
        Assert.True(JsonDocument.Parse(await Http.GetStringAsync("functions/fn", Cancel)).RootElement.GetProperty("keep_state").GetBoolean());

        using (var none = await PostAsync("functions/fn/invoke", []))
        {
            var problem = await RunningDaemon.ProblemAsync(none, 409, "snapshot-unusable");
            Assert.Contains("'fn' has no snapshot yet", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Contains("take the snapshot with POST /functions/fn/snapshot", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Service.Registry.PutSnapshot("fn", new SnapshotRecord
        {
            SnapshotId = Guid.NewGuid(), ElfSha256 = "e", StateSha256 = "s", MemoryFile = "memory", MemoryMib = 512, AllocatedBytes = 0, DataPages = 0,
            TakenAt = DateTimeOffset.UtcNow,
        });
        Service.Server.SnapshotCachedProbe = _ => true;
        _proceed.Release();
        using var response = await PostAsync("functions/fn/invoke", "{}"u8.ToArray());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("cold-cached", await response.Content.ReadAsStringAsync(Cancel));
        Assert.Equal("cold-cached", response.Headers.GetValues("Snapfn-Path").Single());
        Assert.Equal("vanilla", response.Headers.GetValues("Snapfn-Mode").Single());
        Assert.Equal("1.5", response.Headers.GetValues("Snapfn-Restore-Ms").Single());
        var timing = response.Headers.GetValues("Server-Timing").Single();
        // W3C Server-Timing: metric;dur=MILLISECONDS, comma-separated.
        Assert.Matches(ServerTimingSyntax(), timing);
        Assert.Contains("restore;dur=1.5", timing, StringComparison.Ordinal);
        Assert.Contains("execute;dur=2.25", timing, StringComparison.Ordinal);
        Assert.Matches("queue;dur=[0-9.]+", timing);
        Assert.Contains("path;desc=\"cold-cached\"", timing, StringComparison.Ordinal);
        var id = response.Headers.GetValues("Snapfn-Invocation-Id").Single();
        Assert.Contains(Service.Log.Recent("fn", 5), e => e.InvocationId == id && e.Mode == "vanilla");
    }

    [Fact]
    public async Task A_deploy_refuses_a_max_instances_out_of_range()
    {
        using var response = await PostAsync("functions?name=fn&max_instances=1000", Elf);
        var problem = await RunningDaemon.ProblemAsync(response, 400, "invalid-request");
        Assert.Contains("max_instances must be between 1 and 256", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_python_deploy_takes_its_serving_settings_from_its_snapfn_json_only()
    {
        using var stream = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(stream, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            using var writer = new StreamWriter(zip.CreateEntry("main.py").Open());
            writer.Write("def handle(r):\n    return r\n");
        }
        using var content = new ByteArrayContent(stream.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var response = await Http.PostAsync("functions?name=py&keep_state=true", content, Cancel);
        var problem = await RunningDaemon.ProblemAsync(response, 400, "invalid-request");
        Assert.Contains("set them there, not in the deploy request", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Waits for a state the daemon reaches on another thread: the condition decides, never the time waited
    /// (each pause only gives the other thread the core).</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        while (!condition())
            await Task.Delay(TimeSpan.FromMilliseconds(1), Cancel);
    }

    [GeneratedRegex("""^[a-z]+(;dur=[0-9]+(\.[0-9]+)?|;desc="[a-z0-9-]+")+(, [a-z]+(;dur=[0-9]+(\.[0-9]+)?|;desc="[a-z0-9-]+")+)*$""")]
    private static partial Regex ServerTimingSyntax();

    public async ValueTask DisposeAsync()
    {
        // Let any run still held go, so that the daemon drains.
        _proceed.Release(16);
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
        _proceed.Dispose();
        _running.Dispose();
        _home.Dispose();
        _guests.Dispose();
    }
}
