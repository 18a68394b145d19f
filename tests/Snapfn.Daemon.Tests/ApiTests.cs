using System.Net;
using System.Text.Json;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>The HTTP API end to end, against one real daemon with an empty $SNAPFN_HOME.</summary>
[Collection("daemon")]
public sealed class ApiTests
{
    private static readonly byte[] _ada = """{"name":"Ada"}"""u8.ToArray();
    private readonly DaemonFixture _fixture;

    public ApiTests(DaemonFixture fixture)
    {
        _fixture = fixture;
    }

    private RunningDaemon Daemon => _fixture.Daemon;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lists_the_built_in_functions_registered_at_first_start()
    {
        var builtIns = FunctionCatalog.Default().List().Select(f => f.Name).ToList();
        Assert.Contains("hello-world", builtIns);

        var listed = await Daemon.GetJsonAsync("functions");

        var names = listed.EnumerateArray().Where(f => f.GetProperty("kind").GetString() == "builtin")
            .Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Equal(builtIns.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
        var hello = await Daemon.GetJsonAsync("functions/hello-world");
        Assert.Equal(MemorySize.DefaultMiB, hello.GetProperty("memory_mib").GetInt32());
        Assert.Equal(64, hello.GetProperty("elf_sha256").GetString()!.Length);
    }

    [Fact]
    public async Task Serves_health_and_an_OpenAPI_document_that_describes_the_invoke_endpoint()
    {
        var health = await Daemon.GetJsonAsync("healthz");
        Assert.Equal("ok", health.GetProperty("status").GetString());

        var openapi = await Daemon.GetJsonAsync("openapi.json");

        var paths = openapi.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/functions/{name}/invoke", out var invoke));
        Assert.True(invoke.TryGetProperty("post", out _));
        Assert.True(paths.TryGetProperty("/functions", out _));
    }

    [Fact]
    public async Task Snapshot_then_vanilla_invoke_greets_Ada_with_timings_in_headers_and_shows_in_metrics()
    {
        Kvm.Require();
        await _fixture.EnsureSnapshotAsync("hello-world");

        using var response = await Daemon.PostAsync("functions/hello-world/invoke?mode=vanilla", _ada);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hello, Ada!", await response.Content.ReadAsStringAsync(Cancel));
        Assert.Equal("vanilla", response.Headers.GetValues("Snapfn-Mode").Single());
        // Restore and execute are the two halves of total (one clock, three readings): a header that carried the
        // wrong field, or a timer that started at the wrong place, breaks the sum. Rounded to 0.001 ms each.
        double Header(string name) => double.Parse(response.Headers.GetValues(name).Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Header("Snapfn-Total-Ms"), Header("Snapfn-Restore-Ms") + Header("Snapfn-Execute-Ms"), 0.002);
        var metrics = await Daemon.Http.GetStringAsync("metrics", Cancel);
        Assert.Matches("""snapfn_invocations_total\{function="hello-world",mode="vanilla",outcome="ok"\} [1-9]""", metrics);
        Assert.Contains("""snapfn_invocation_duration_seconds_bucket{function="hello-world",mode="vanilla",le=""", metrics, StringComparison.Ordinal);
        var snapshot = (await Daemon.GetJsonAsync("functions/hello-world")).GetProperty("snapshot");
        Assert.Equal(64, snapshot.GetProperty("state_sha256").GetString()!.Length);
    }

    [Fact]
    public async Task Accept_json_answers_like_snapfn_invoke_json_and_the_invocation_is_logged()
    {
        Kvm.Require();
        await _fixture.EnsureSnapshotAsync("hello-world");

        using var response = await Daemon.PostAsync("functions/hello-world/invoke?mode=cached", _ada, "application/json");

        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.IsSuccessStatusCode, text);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal("hello-world", json.GetProperty("function").GetString());
        Assert.Equal("cached", json.GetProperty("mode").GetString());
        Assert.Equal("Hello, Ada!", json.GetProperty("output").GetString());
        Assert.Equal("utf-8", json.GetProperty("output_encoding").GetString());
        Assert.Equal(json.GetProperty("total_ms").GetDouble(), json.GetProperty("restore_ms").GetDouble() + json.GetProperty("execute_ms").GetDouble(), 0.001);
        // Cached mode loads the memory file into the page cache before it restores: none cached means it did not.
        Assert.True(json.GetProperty("cached_pages_before").GetInt64() > 0, "cached mode restored from an uncached memory file");
        var log = await Daemon.GetJsonAsync("invocations?function=hello-world&limit=50");
        Assert.Contains(log.GetProperty("invocations").EnumerateArray(), e => e.GetProperty("mode").GetString() == "cached" && e.GetProperty("error").ValueKind == JsonValueKind.Null);
    }

    [Fact]
    public async Task Parallel_warm_and_vanilla_invocations_all_answer()
    {
        Kvm.Require();
        await _fixture.EnsureSnapshotAsync("hello-world");

        // On the emulated CPU each VM runs for seconds on a shared 2-core machine: 6 at once still run side by side
        // and still exceed the default host memory budget's room on a small host (5 VMs of 2 GiB on 24 GiB).
        var n = Vmm.VirtualCpu.Selected == Vmm.CpuKind.Soft ? 6 : 16;
        var calls = Enumerable.Range(0, n).Select(async i =>
        {
            var mode = i % 2 == 0 ? "warm" : "vanilla";
            return await Daemon.PostTextAsync($"functions/hello-world/invoke?mode={mode}", $$"""{"name":"n{{i}}"}""");
        });
        var outputs = await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(0, n).Select(i => $"Hello, n{i}!"), outputs);
    }

    [Fact]
    public async Task Faasnap_needs_its_recording_then_restores_from_it_with_another_input()
    {
        Kvm.Require();
        await _fixture.EnsureSnapshotAsync("hello-world");
        var function = await RegisterAsync("greeter-faasnap");
        await Daemon.PostTextAsync($"functions/{function}/snapshot", "");

        using (var missing = await Daemon.PostAsync($"functions/{function}/invoke?mode=faasnap", _ada))
            await RunningDaemon.ProblemAsync(missing, 409, "snapshot-unusable");
        var recorded = JsonDocument.Parse(await Daemon.PostTextAsync($"functions/{function}/record?mode=faasnap", """{"name":"A"}""")).RootElement;
        var output = await Daemon.PostTextAsync($"functions/{function}/invoke?mode=faasnap", """{"name":"B"}""");

        Assert.Equal($"Hello, B! (from {function})", output);
        Assert.True(recorded.GetProperty("pages").GetInt64() > 0);
        var recording = (await Daemon.GetJsonAsync($"functions/{function}")).GetProperty("recordings").EnumerateArray().Single();
        Assert.Equal("faasnap", recording.GetProperty("mode").GetString());
        Assert.Equal(recorded.GetProperty("sha256").GetString(), recording.GetProperty("sha256").GetString());
        // No assertion on the loader's pages: with a function this small the guest may finish before the loader's first read.
        var metrics = await Daemon.Http.GetStringAsync("metrics", Cancel);
        Assert.Contains($$"""snapfn_invocations_total{function="{{function}}",mode="faasnap",outcome="ok"} 1""", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reap_records_a_working_set_and_restores_from_it()
    {
        Kvm.Require();
        var function = await RegisterAsync("greeter-reap");
        await Daemon.PostTextAsync($"functions/{function}/snapshot", "");

        await Daemon.PostTextAsync($"functions/{function}/record?mode=reap", """{"name":"A"}""");
        var output = await Daemon.PostTextAsync($"functions/{function}/invoke?mode=reap", """{"name":"B"}""");

        Assert.Equal($"Hello, B! (from {function})", output);
        var recording = (await Daemon.GetJsonAsync($"functions/{function}")).GetProperty("recordings").EnumerateArray().Single();
        Assert.Equal("reap", recording.GetProperty("mode").GetString());
        var metrics = await Daemon.Http.GetStringAsync("metrics", Cancel);
        Assert.Matches($$"""snapfn_pages_total\{function="{{function}}",mode="reap",source="reap_prefetch"\} [1-9]""", metrics);
    }

    [Fact]
    public async Task A_user_function_from_the_template_registers_answers_and_is_deleted()
    {
        Kvm.Require();
        var (project, elf) = TestFunctions.Build(_fixture.Sources, "greeter");

        using (var created = await Daemon.PostAsync($"functions?name=greeter&memory_mib={project.Manifest.MemoryMib}&description=greets", elf))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal("/functions/greeter", created.Headers.Location?.OriginalString);
        }
        var registered = await Daemon.GetJsonAsync("functions/greeter");
        Assert.Equal("user", registered.GetProperty("kind").GetString());
        Assert.Equal(512, registered.GetProperty("memory_mib").GetInt32());
        Assert.True(File.Exists(Path.Combine(_fixture.Home, "user-functions", "greeter", registered.GetProperty("elf_sha256").GetString() + ".elf")));
        await Daemon.PostTextAsync("functions/greeter/snapshot", "");
        Assert.Equal("Hello, Ada! (from greeter)", await Daemon.PostTextAsync("functions/greeter/invoke?mode=vanilla", "{\"name\":\"Ada\"}"));
        Assert.Equal("Hello, Ada! (from greeter)", await Daemon.PostTextAsync("functions/greeter/invoke?mode=warm", "{\"name\":\"Ada\"}"));

        using (var deleted = await Daemon.Http.DeleteAsync("functions/greeter", Cancel))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using (var gone = await Daemon.Http.GetAsync("functions/greeter", Cancel))
            await RunningDaemon.ProblemAsync(gone, 404, "unknown-function");
        using (var goneInvoke = await Daemon.PostAsync("functions/greeter/invoke?mode=warm", _ada))
            await RunningDaemon.ProblemAsync(goneInvoke, 404, "unknown-function");
        // The recording the platform started from the first invocation may still run on the deleted version's code,
        // which goes (with its folder) when that recording ends.
        await Daemon.Service.AutoRecords!.WhenIdle();
        Assert.False(Directory.Exists(Path.Combine(_fixture.Home, "user-functions", "greeter")));
        Assert.False(Directory.Exists(Path.Combine(_fixture.Home, "functions", "greeter")));
    }

    [Fact]
    public async Task Malformed_uploads_and_bad_names_are_refused_before_anything_is_stored()
    {
        var (_, elf) = TestFunctions.Build(_fixture.Sources, "valid-elf");

        using (var notElf = await Daemon.PostAsync("functions?name=not-elf", "#!/bin/sh\n# a script is not a guest, however long it is ...................................\n"u8.ToArray()))
            Assert.Contains("not an ELF", (await RunningDaemon.ProblemAsync(notElf, 400, "invalid-request")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        using (var truncated = await Daemon.PostAsync("functions?name=truncated", elf[..200]))
        {
            var detail = (await RunningDaemon.ProblemAsync(truncated, 400, "invalid-request")).GetProperty("detail").GetString();
            Assert.Contains("truncated", detail, StringComparison.Ordinal);
            Assert.EndsWith("; build it with `snapfn build` and send the ELF it writes", detail, StringComparison.Ordinal);
        }
        using (var empty = await Daemon.PostAsync("functions?name=empty"))
            await RunningDaemon.ProblemAsync(empty, 400, "invalid-request");
        using (var tooSmall = await Daemon.PostAsync("functions?name=tiny&memory_mib=3", elf))
            await RunningDaemon.ProblemAsync(tooSmall, 400, "invalid-request");
        using (var traversal = await Daemon.PostAsync("functions?name=..%2F..%2Fetc", elf))
            await RunningDaemon.ProblemAsync(traversal, 400, "invalid-request");
        using (var upper = await Daemon.Http.GetAsync("functions/Hello", Cancel))
            await RunningDaemon.ProblemAsync(upper, 400, "invalid-request");
        using (var builtIn = await Daemon.PostAsync("functions?name=hello-world", elf))
            await RunningDaemon.ProblemAsync(builtIn, 409, "conflict");
        using (var deleteBuiltIn = await Daemon.Http.DeleteAsync("functions/hello-world", Cancel))
            await RunningDaemon.ProblemAsync(deleteBuiltIn, 409, "conflict");

        var names = (await Daemon.GetJsonAsync("functions")).EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.DoesNotContain("not-elf", names);
        Assert.DoesNotContain("truncated", names);
        Assert.False(Directory.Exists(Path.Combine(_fixture.Home, "user-functions", "not-elf")));
    }

    [Fact]
    public async Task Bad_requests_get_problem_json_and_the_daemon_keeps_serving()
    {
        Kvm.Require();
        await _fixture.EnsureSnapshotAsync("hello-world");

        using (var unknownFunction = await Daemon.PostAsync("functions/no-such-function/invoke?mode=vanilla", _ada))
            await RunningDaemon.ProblemAsync(unknownFunction, 404, "unknown-function");
        using (var unknownMode = await Daemon.PostAsync("functions/hello-world/invoke?mode=teleport", _ada))
            Assert.Contains("faasnap", (await RunningDaemon.ProblemAsync(unknownMode, 400, "invalid-request")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        using (var badRecordMode = await Daemon.PostAsync("functions/hello-world/record?mode=vanilla", _ada))
            await RunningDaemon.ProblemAsync(badRecordMode, 400, "invalid-request");
        // A function never invoked has no recording: the platform records one in the background from the first real
        // invocation, so hello-world, which the other tests invoke, may well have one by now.
        var unrecorded = await RegisterAsync("unrecorded");
        using (var noReap = await Daemon.PostAsync($"functions/{unrecorded}/invoke?mode=reap", _ada))
            Assert.Contains($"POST /functions/{unrecorded}/record?mode=reap", (await RunningDaemon.ProblemAsync(noReap, 409, "snapshot-unusable")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        using (var badTimeout = await Daemon.PostAsync("functions/hello-world/invoke?mode=vanilla&timeout=-1", _ada))
            await RunningDaemon.ProblemAsync(badTimeout, 400, "invalid-request");
        using (var badNumber = await Daemon.PostAsync("functions/hello-world/invoke?mode=vanilla&timeout=soon", _ada))
            await RunningDaemon.ProblemAsync(badNumber, 400, "bad-request");
        using (var oversized = await Daemon.PostAsync("functions/hello-world/invoke?mode=vanilla", new byte[(32 << 20) + 1]))
            await RunningDaemon.ProblemAsync(oversized, 413, "body-too-large");
        using (var noRoute = await Daemon.Http.GetAsync("no/such/route", Cancel))
            Assert.Equal("application/problem+json", noRoute.Content.Headers.ContentType?.MediaType);

        Assert.Equal("Hello, Ada!", await Daemon.PostTextAsync("functions/hello-world/invoke?mode=vanilla", "{\"name\":\"Ada\"}"));
    }

    [Fact]
    public async Task A_guest_that_crashes_aborts_or_spins_fails_its_request_only()
    {
        Kvm.Require();
        await _fixture.EnsureSnapshotAsync("hello-world");
        var crasher = await RegisterAsync("crasher", TestFunctions.CrashingHandler);
        var aborter = await RegisterAsync("aborter", TestFunctions.AbortingHandler);
        var spinner = await RegisterAsync("spinner", TestFunctions.SpinningHandler);
        foreach (var function in new[] { crasher, aborter, spinner })
            await Daemon.PostTextAsync($"functions/{function}/snapshot", "");

        using (var crashed = await Daemon.PostAsync($"functions/{crasher}/invoke?mode=vanilla", _ada))
            Assert.Contains("crashed", (await RunningDaemon.ProblemAsync(crashed, 502, "guest-crashed")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        using (var crashedWarm = await Daemon.PostAsync($"functions/{crasher}/invoke?mode=warm", _ada))
            await RunningDaemon.ProblemAsync(crashedWarm, 502, "guest-crashed");
        using (var aborted = await Daemon.PostAsync($"functions/{aborter}/invoke?mode=vanilla", _ada))
            Assert.Contains("refusing 14 bytes", (await RunningDaemon.ProblemAsync(aborted, 502, "guest-aborted")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        using (var timedOut = await Daemon.PostAsync($"functions/{spinner}/invoke?mode=vanilla&timeout=0.5", _ada))
            Assert.Contains("raise ?timeout=", (await RunningDaemon.ProblemAsync(timedOut, 504, "guest-timeout")).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var metrics = await Daemon.Http.GetStringAsync("metrics", Cancel);
        Assert.Matches($$"""snapfn_invocation_errors_total\{function="{{crasher}}",mode="vanilla",error="guest-crashed"\} 1""", metrics);
        Assert.Matches($$"""snapfn_invocation_errors_total\{function="{{spinner}}",mode="vanilla",error="guest-timeout"\} 1""", metrics);
        var log = await Daemon.GetJsonAsync($"invocations?function={crasher}");
        Assert.All(log.GetProperty("invocations").EnumerateArray(), e => Assert.Contains("crashed", e.GetProperty("error").GetString(), StringComparison.Ordinal));
        Assert.Equal("Hello, Ada!", await Daemon.PostTextAsync("functions/hello-world/invoke?mode=warm", "{\"name\":\"Ada\"}"));
    }

    private async Task<string> RegisterAsync(string name, string? mainC = null)
    {
        var (project, elf) = TestFunctions.Build(_fixture.Sources, name, mainC);
        using var response = await Daemon.PostAsync($"functions?name={name}&memory_mib={project.Manifest.MemoryMib}", elf);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Cancel));
        return name;
    }
}
