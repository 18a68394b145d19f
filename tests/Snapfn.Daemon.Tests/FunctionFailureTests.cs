using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>A daemon whose $SNAPFN_HOME shares the machine's built runtime roots (roots/ and apt/ are links), so
/// that Python functions deploy without building a root per test run.</summary>
public sealed class PythonDaemonFixture : IAsyncLifetime
{
    private readonly TempDirectory _home = new();
    private RunningDaemon? _daemon;

    public RunningDaemon Daemon => _daemon ?? throw new InvalidOperationException("the daemon has not started");

    public string Home => _home.Path;

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("SNAPFN_HOME");
        var shared = !string.IsNullOrEmpty(configured) ? Path.GetFullPath(configured)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "snapfn");
        foreach (var name in new[] { "roots", "apt" })
        {
            Directory.CreateDirectory(Path.Combine(shared, name));
            Directory.CreateSymbolicLink(_home.Combine(name), Path.Combine(shared, name));
        }
        _daemon = await RunningDaemon.StartAsync(_home.Path);
    }

    public async ValueTask DisposeAsync()
    {
        if (_daemon is not null)
            await _daemon.DisposeAsync();
        _home.Dispose();
    }
}

/// <summary>
/// A function's failure is the function's, not the daemon's: a Python handler that raises, a program that exits
/// or crashes answer 502 with a problem type naming it and the function's own words, never "the daemon failed
/// unexpectedly"; a deploy the client got wrong (a snapfn.json of the wrong shape, a zip with one file twice) is a
/// 400 saying what to fix. The CLI, against the same daemon, exits 1 for the function's failure and 2 for its own
/// usage error.
/// </summary>
public sealed class FunctionFailureTests : IClassFixture<PythonDaemonFixture>
{
    // One function, three ways to fail, chosen by the request: one deploy and one snapshot for all.
    private const string FailingMain = """
        import os

        def handle(request):
            if request == b"raise":
                raise ValueError("no greeting for a request of " + str(len(request)) + " bytes")
            if request == b"exit":
                os._exit(3)
            if request == b"crash":
                import faulthandler
                faulthandler._sigsegv()
            return b"fine"
        """;

    private readonly PythonDaemonFixture _fixture;

    public FunctionFailureTests(PythonDaemonFixture fixture)
    {
        _fixture = fixture;
    }

    private RunningDaemon Daemon => _fixture.Daemon;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_python_handler_that_raises_exits_or_crashes_is_a_502_naming_the_function_not_a_daemon_bug()
    {
        Kvm.Require();
        await DeployAsync("py-fails", FailingMain);
        await Daemon.PostTextAsync("functions/py-fails/snapshot", "");
        Assert.Equal("fine", await Daemon.PostTextAsync("functions/py-fails/invoke?mode=vanilla", "hello"));

        using (var raised = await Daemon.PostAsync("functions/py-fails/invoke?mode=vanilla", "raise"u8.ToArray()))
        {
            var problem = await RunningDaemon.ProblemAsync(raised, 502, "function-failed");
            Assert.Equal("urn:snapfn:problem:function-failed", problem.GetProperty("type").GetString());
            var detail = problem.GetProperty("detail").GetString()!;
            Assert.Contains("ValueError: no greeting for a request of 5 bytes", detail, StringComparison.Ordinal);
            Assert.DoesNotContain("failed unexpectedly", detail, StringComparison.Ordinal);
        }
        using (var exited = await Daemon.PostAsync("functions/py-fails/invoke?mode=vanilla", "exit"u8.ToArray()))
        {
            var problem = await RunningDaemon.ProblemAsync(exited, 502, "guest-exited");
            Assert.Contains("exited with status 3", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        using (var crashed = await Daemon.PostAsync("functions/py-fails/invoke?mode=vanilla", "crash"u8.ToArray()))
        {
            // CPython's test hook either reads address 0 (a crash the VM reports) or raises SIGSEGV (the program stops).
            var text = await crashed.Content.ReadAsStringAsync(Cancel);
            Assert.True((int)crashed.StatusCode == 502, text);
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString();
            Assert.True(error is "guest-crashed" or "guest-exited", text);
        }

        // The function's failures are counted under their codes; the function still answers.
        var metrics = await Daemon.Http.GetStringAsync("metrics", Cancel);
        Assert.Contains("""snapfn_invocation_errors_total{function="py-fails",mode="vanilla",error="function-failed"} 1""", metrics, StringComparison.Ordinal);
        Assert.Equal("fine", await Daemon.PostTextAsync("functions/py-fails/invoke?mode=vanilla", "hello"));

        // The CLI against the same daemon: the function's failure is a failure (1), its own bad flag a usage error (2).
        var (code, stderr) = Cli(_fixture.Home, "invoke", "py-fails", "--server", Daemon.Address, "--input-text", "raise");
        Assert.True(code == 1, $"exit {code}: {stderr}");
        Assert.Contains("ValueError: no greeting", stderr, StringComparison.Ordinal);
        (code, stderr) = Cli(_fixture.Home, "invoke", "py-fails", "--server", Daemon.Address, "--mode", "teleport");
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Contains("unknown mode 'teleport'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_guest_failure_thrown_in_a_request_is_a_502_and_the_cli_exits_1_without_kvm_too()
    {
        using var home = new TempDirectory();
        var app = DaemonHost.Build(new DaemonOptions { Listen = "http://127.0.0.1:0", HomePath = home.Path }, _ => { });
        // Literal routes win over /functions/{name}/invoke: they stand in for invocations whose guest failed this way.
        app.MapPost("/functions/raiser/invoke", () => Throw(new Linux.FunctionFailedException("ValueError: no greeting", "Traceback (most recent call last):")))
            .Accepts<byte[]>("application/octet-stream");
        app.MapPost("/functions/exiter/invoke", () => Throw(new Linux.ProgramExitedException(new Linux.ProgramExit(3, null, null), "during a request", "")))
            .Accepts<byte[]>("application/octet-stream");
        app.MapPost("/functions/broken/invoke", () => Throw(new Linux.Files.ChannelException("the function wrote more than one result frame to its channel")))
            .Accepts<byte[]>("application/octet-stream");
        app.MapPost("/functions/buggy/invoke", () => Throw(new InvalidOperationException("a secret /root/path")))
            .Accepts<byte[]>("application/octet-stream");
        await app.StartAsync(Cancel);
        try
        {
            var address = DaemonHost.Addresses(app)[0];
            using var http = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/") };
            // Every request carries the daemon's token (it made one in the home at start).
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
                (await File.ReadAllTextAsync(Path.Combine(home.Path, AccessToken.FileName), Cancel)).Trim());
            foreach (var (function, status, error, says) in new[]
            {
                ("raiser", 502, "function-failed", "ValueError: no greeting"),
                ("exiter", 502, "guest-exited", "exited with status 3"),
                ("broken", 502, "guest-protocol", "more than one result frame"),
                ("buggy", 500, "internal", "the daemon failed unexpectedly (InvalidOperationException); its log has the details"),
            })
            {
                using var content = new ByteArrayContent("{}"u8.ToArray());
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var response = await http.PostAsync($"functions/{function}/invoke", content, Cancel);
                var problem = await RunningDaemon.ProblemAsync(response, status, error);
                Assert.Equal("urn:snapfn:problem:" + error, problem.GetProperty("type").GetString());
                var detail = problem.GetProperty("detail").GetString()!;
                Assert.Contains(says, detail, StringComparison.Ordinal);
                Assert.DoesNotContain("secret", detail, StringComparison.Ordinal);
            }

            // The OpenAPI document states the model, from the same maps.
            var openApi = await http.GetStringAsync("openapi.json", Cancel);
            Assert.Contains("urn:snapfn:problem:CODE", openApi, StringComparison.Ordinal);
            Assert.Contains("| `function-failed` | function | 502 |", openApi, StringComparison.Ordinal);

            var (code, stderr) = Cli(home.Path, "invoke", "raiser", "--server", address);
            Assert.True(code == 1, $"exit {code}: {stderr}");
            Assert.Contains("ValueError: no greeting", stderr, StringComparison.Ordinal);
            (code, stderr) = Cli(home.Path, "invoke", "raiser", "--server", address, "--mode", "teleport");
            Assert.True(code == 2, $"exit {code}: {stderr}");
            (code, stderr) = Cli(home.Path, "invoke", "buggy", "--server", address);
            Assert.True(code == 70, $"exit {code}: {stderr}");
        }
        finally
        {
            await app.StopAsync(Cancel);
            await app.DisposeAsync();
        }
    }

    private static IResult Throw(Exception failure) => throw failure;

    [Fact]
    public async Task A_snapfn_json_of_the_wrong_shape_is_a_400_saying_what_to_fix()
    {
        var cases = new (string Json, string Says)[]
        {
            ("""["python"]""", "must be a JSON object such as"),
            ("42", "must be a JSON object such as"),
            ("""{"runtime": "python", "packages": "python3-numpy"}""", "\"packages\" must be a list of Debian package names, not a string"),
            ("""{"runtime": 3}""", "\"runtime\" must be \"python\" or \"node\", not a number"),
            ("""{"runtime": "python", "memory_mib": "lots"}""", "\"memory_mib\" must be a whole number of MiB"),
            ("""{"runtime": "python", "pakages": []}""", "unknown field \"pakages\""),
            ("""{"runtime": "python",""", "is not valid JSON"),
        };
        foreach (var (json, says) in cases)
        {
            var zip = Zip(("main.py", "def handle(r):\n    return r\n"), ("snapfn.json", json));
            using var response = await Daemon.PostAsync("functions?name=bad-manifest", zip);
            var detail = (await RunningDaemon.ProblemAsync(response, 400, "invalid-request")).GetProperty("detail").GetString();
            Assert.Contains(says, detail, StringComparison.Ordinal);
            Assert.Contains("snapfn.json", detail, StringComparison.Ordinal);
        }
        await AssertNotRegisteredAsync("bad-manifest");
    }

    [Fact]
    public async Task A_zip_with_a_file_twice_or_a_file_in_the_way_of_a_folder_is_a_400()
    {
        var twice = Zip(("main.py", "def handle(r):\n    return r\n"), ("lib.py", "A = 1\n"), ("lib.py", "A = 2\n"));
        using (var response = await Daemon.PostAsync("functions?name=bad-zip", twice))
            Assert.Contains("'lib.py' twice", (await RunningDaemon.ProblemAsync(response, 400, "invalid-request")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        var clash = Zip(("main.py", "def handle(r):\n    return r\n"), ("data", "x"), ("data/table.txt", "y"));
        using (var response = await Daemon.PostAsync("functions?name=bad-zip", clash))
            Assert.Contains("twice (or as a file and a folder)", (await RunningDaemon.ProblemAsync(response, 400, "invalid-request")).GetProperty("detail").GetString(), StringComparison.Ordinal);
        var mainTwice = Zip(("main.py", "def handle(r):\n    return r\n"), ("main.py", "import os\n"));
        using (var response = await Daemon.PostAsync("functions?name=bad-zip", mainTwice))
            await RunningDaemon.ProblemAsync(response, 400, "invalid-request");
        await AssertNotRegisteredAsync("bad-zip");
    }

    private async Task DeployAsync(string name, string main)
    {
        using var response = await Daemon.PostAsync($"functions?name={name}", Zip(("main.py", main), ("snapfn.json", """{"runtime": "python"}""")));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Cancel));
    }

    private async Task AssertNotRegisteredAsync(string name)
    {
        var names = (await Daemon.GetJsonAsync("functions")).EnumerateArray().Select(f => f.GetProperty("name").GetString());
        Assert.DoesNotContain(name, names);
        Assert.False(Directory.Exists(Path.Combine(_fixture.Home, "user-functions", name)));
    }

    /// <summary>A zip with these entries in this order, duplicates included (ZipArchive writes what it is given).</summary>
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
        var bytes = stream.ToArray();
        Assert.True(FunctionPackage.IsPackage(bytes));
        return bytes;
    }

    /// <summary>The CLI this test project was built with, on <paramref name="home"/>: its exit code and stderr.</summary>
    private static (int Code, string Stderr) Cli(string home, params string[] args)
    {
        using var process = SnapfnProcess.Start(home, null, args);
        var stderr = process.StandardError.ReadToEndAsync(Cancel);
        _ = process.StandardOutput.ReadToEndAsync(Cancel);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"snapfn {string.Join(' ', args)} did not finish");
        return (process.ExitCode, stderr.Result);
    }
}
