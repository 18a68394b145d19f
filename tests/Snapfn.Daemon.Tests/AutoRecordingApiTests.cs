using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Snapfn.Vmm;

namespace Snapfn.Daemon.Tests;

/// <summary>
/// Issue 21, no manual steps: a deploy takes the snapshot (or says why it could not, and stands), the daemon records a
/// function from its first real request by itself, and GET /functions/{name} says where that stands. A Python deploy
/// compiles its code in a VM, so the deploys that must succeed without KVM are of a C function.
/// </summary>
public sealed class AutoRecordingApiTests : IClassFixture<PythonDaemonFixture>, IDisposable
{
    private readonly TempDirectory _sources = new();

    private const string Greeter = """
        import json

        def handle(request):
            name = json.loads(request or b"{}").get("name", "world")
            return ("Hello, " + name + "!").encode()
        """;

    private readonly PythonDaemonFixture _fixture;

    public AutoRecordingApiTests(PythonDaemonFixture fixture)
    {
        _fixture = fixture;
    }

    private RunningDaemon Daemon => _fixture.Daemon;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static byte[] Zip(params (string Name, string Text)[] entries)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in entries)
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open(), Encoding.UTF8);
                writer.Write(text);
            }
        }
        return stream.ToArray();
    }

    private async Task<JsonElement> DeployAsync(string name, string query = "", string manifest = """{"runtime": "python"}""", params (string, string)[] more)
    {
        using var response = await Daemon.PostAsync($"functions?name={name}{query}", Zip([("main.py", Greeter), ("snapfn.json", manifest), .. more]));
        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> DeployElfAsync(string name, string query = "")
    {
        var (_, elf) = TestFunctions.Build(_sources.Path, name);
        using var response = await Daemon.PostAsync($"functions?name={name}{query}", elf);
        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public void Dispose() => _sources.Dispose();

    [Fact]
    public async Task A_deploy_takes_the_snapshot_or_says_why_it_could_not_and_the_function_is_deployed_either_way()
    {
        var deployed = await DeployElfAsync("auto-snap");
        var function = await Daemon.GetJsonAsync("functions/auto-snap");
        Assert.Equal("user", function.GetProperty("kind").GetString());
        if (VirtualCpu.IsAvailable(out _))
        {
            Assert.Equal(JsonValueKind.Object, deployed.GetProperty("snapshot").ValueKind);
            Assert.False(deployed.TryGetProperty("snapshot_error", out var error) && error.ValueKind != JsonValueKind.Null);
            Assert.Equal("waiting", function.GetProperty("auto_recording").GetProperty("state").GetString());
        }
        else
        {
            var error = deployed.GetProperty("snapshot_error");
            Assert.Equal("kvm-unavailable", error.GetProperty("error").GetString());
            var detail = error.GetProperty("detail").GetString()!;
            Assert.StartsWith("deployed, but no snapshot was taken (/dev/kvm", detail, StringComparison.Ordinal);
            Assert.Contains("POST /functions/auto-snap/snapshot", detail, StringComparison.Ordinal);
            Assert.Equal(JsonValueKind.Null, function.GetProperty("snapshot").ValueKind);
            Assert.Equal("no-snapshot", function.GetProperty("auto_recording").GetProperty("state").GetString());
        }
    }

    [Fact]
    public async Task A_deploy_asked_not_to_snapshot_only_stores_the_function()
    {
        var deployed = await DeployElfAsync("auto-nosnap", "&snapshot=false");
        Assert.Equal(JsonValueKind.Null, deployed.GetProperty("snapshot").ValueKind);
        Assert.False(deployed.TryGetProperty("snapshot_error", out var error) && error.ValueKind != JsonValueKind.Null);
        Assert.Equal("no-snapshot", deployed.GetProperty("auto_recording").GetProperty("state").GetString());
    }

    [Theory]
    [InlineData("../main.py", "the path of a file in the function's folder")]
    [InlineData("/etc/passwd", "the path of a file in the function's folder")]
    [InlineData("missing.json", "which is not a file of the function's folder")]
    public async Task A_sample_input_that_is_not_a_file_of_the_function_is_refused_at_deploy(string sample, string expected)
    {
        // Refused before the code is compiled (which needs a VM): this runs without KVM.
        var manifest = $$"""{"runtime": "python", "sample_input": {{JsonSerializer.Serialize(sample)}}}""";
        using var response = await Daemon.PostAsync("functions?name=auto-badsample&snapshot=false", Zip(("main.py", Greeter), ("snapfn.json", manifest)));
        var problem = await RunningDaemon.ProblemAsync(response, 400, "invalid-request");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("sample_input", detail, StringComparison.Ordinal);
        Assert.Contains(expected, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_function_deployed_and_invoked_once_gets_its_recordings_without_a_record_step()
    {
        Kvm.Require();
        var recorder = Daemon.Service.AutoRecords!;
        await DeployAsync("auto-first");
        Assert.Equal("Hello, Ada!", await Daemon.PostTextAsync("functions/auto-first/invoke", """{"name": "Ada"}"""));
        await recorder.WhenIdle();

        var function = await Daemon.GetJsonAsync("functions/auto-first");
        // The state first, with what the daemon says of it: a failed recording names its error there.
        Assert.True(function.GetProperty("auto_recording").GetProperty("state").GetString() == "recorded", function.GetProperty("auto_recording").ToString());
        var modes = function.GetProperty("recordings").EnumerateArray().Select(r => r.GetProperty("mode").GetString()).Order().ToList();
        Assert.Equal(["faasnap", "reap"], modes);
        Assert.All(function.GetProperty("recordings").EnumerateArray(), r => Assert.True(r.GetProperty("pages").GetInt64() > 0));
        var status = function.GetProperty("auto_recording");
        Assert.Equal("recorded", status.GetProperty("state").GetString());
        Assert.Equal("first-invocation", status.GetProperty("trigger").GetString());
        // Counted on /metrics as recordings made, as one made by hand is (the load trial's daemon showed none).
        var metrics = await Daemon.Http.GetStringAsync("metrics", Cancel);
        Assert.Equal(new Dictionary<string, double> { ["faasnap/ok"] = 1, ["reap/ok"] = 1 },
            Bench.Load.DaemonReading.Parse(metrics, "auto-first").Recordings.OrderBy(r => r.Key, StringComparer.Ordinal).ToDictionary());
        // The recordings serve: both modes answer as the first request did.
        foreach (var mode in new[] { "reap", "faasnap" })
            Assert.Equal("Hello, Bob!", await Daemon.PostTextAsync($"functions/auto-first/invoke?mode={mode}", """{"name": "Bob"}"""));
    }

    [Fact]
    public async Task A_declared_sample_input_is_recorded_right_after_the_deploy_s_snapshot()
    {
        Kvm.Require();
        var recorder = Daemon.Service.AutoRecords!;
        await DeployAsync("auto-sample", manifest: """{"runtime": "python", "sample_input": "samples/typical.json"}""",
            more: ("samples/typical.json", """{"name": "Sam"}"""));
        await recorder.WhenIdle();

        var function = await Daemon.GetJsonAsync("functions/auto-sample");
        Assert.True(function.GetProperty("auto_recording").GetProperty("state").GetString() == "recorded", function.GetProperty("auto_recording").ToString());
        Assert.Equal(2, function.GetProperty("recordings").GetArrayLength());
        Assert.Equal("sample-input", function.GetProperty("auto_recording").GetProperty("trigger").GetString());
        Assert.Equal("Hello, Ada!", await Daemon.PostTextAsync("functions/auto-sample/invoke?mode=reap", """{"name": "Ada"}"""));
    }
}
