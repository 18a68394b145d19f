using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Snapfn.Daemon.Tests;

/// <summary>The issue's check, with the real programs: `snapfn serve` on a free loopback port with an empty
/// $SNAPFN_HOME refuses a request without the token or for a foreign Host, is driven over HTTP with the token and
/// by the CLI's --server path with no token flag (it reads $SNAPFN_HOME/token itself), then stopped with SIGTERM.</summary>
public sealed class ServeProcessTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Snapfn_serve_answers_the_issue_checks_and_stops_cleanly_on_SIGTERM()
    {
        Kvm.Require();
        using var home = new TempDirectory();
        using var work = new TempDirectory();
        var url = $"http://127.0.0.1:{FreePort()}";
        var log = new StringBuilder();
        using var daemon = Serve(home.Path, work.Path, url, log);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url + "/") };
            await WaitHealthyAsync(http, daemon, log);
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
                (await File.ReadAllTextAsync(Path.Combine(home.Path, "token"), Cancel)).Trim());

            var functions = await http.GetStringAsync("functions", Cancel);
            Assert.Contains("\"hello-world\"", functions, StringComparison.Ordinal);
            using (var snapshot = await http.PostAsync("functions/hello-world/snapshot", null, Cancel))
                Assert.True(snapshot.IsSuccessStatusCode, await snapshot.Content.ReadAsStringAsync(Cancel));
            using (var invoke = await http.PostAsync("functions/hello-world/invoke?mode=vanilla",
                       new StringContent("""{"name":"Ada"}""", Encoding.UTF8, "application/json"), Cancel))
                Assert.Equal("Hello, Ada!", await invoke.Content.ReadAsStringAsync(Cancel));
            Assert.Contains("""snapfn_invocations_total{function="hello-world",mode="vanilla",outcome="ok"} 1""",
                await http.GetStringAsync("metrics", Cancel), StringComparison.Ordinal);

            // A user function the way a user makes one: new, build, deploy (with its snapshot), then invoke, all via the CLI.
            Run(home.Path, work.Path, "new", "my-func");
            Assert.Contains("built my-func", Run(home.Path, work.Path, "build", "my-func"), StringComparison.Ordinal);
            Assert.Contains("deployed my-func on " + url, Run(home.Path, work.Path, "deploy", "my-func", "--server", url, "--snapshot"), StringComparison.Ordinal);
            Assert.Equal("Hello, Ada! (from my-func)", Run(home.Path, work.Path, "invoke", "my-func", "--mode", "warm", "--input-text", """{"name":"Ada"}""", "--server", url));
            Assert.Contains("my-func", Run(home.Path, work.Path, "functions", "--server", url), StringComparison.Ordinal);
            var error = RunFailing(home.Path, work.Path, "invoke", "no-such-fn", "--server", url);
            Assert.Contains("404", error, StringComparison.Ordinal);

            // What a service manager sends (Process.Kill would send SIGKILL).
            using (var kill = Process.Start("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill.WaitForExitAsync(Cancel);
            Assert.True(daemon.WaitForExit(TimeSpan.FromSeconds(30)), "the daemon did not stop within 30 s of SIGTERM");
            daemon.WaitForExit();
            Assert.True(daemon.ExitCode == 0, $"exit code {daemon.ExitCode}; log:\n{log}");
            lock (log)
                Assert.Contains("Stopped: warm VMs shut down", log.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            if (!daemon.HasExited)
                daemon.Kill();
        }
    }

    [Fact]
    public async Task Snapfn_serve_on_loopback_refuses_anonymous_and_rebound_requests_and_the_cli_needs_no_token_flag()
    {
        using var home = new TempDirectory();
        using var work = new TempDirectory();
        var url = $"http://127.0.0.1:{FreePort()}";
        var log = new StringBuilder();
        using var daemon = Serve(home.Path, work.Path, url, log);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url + "/") };
            await WaitHealthyAsync(http, daemon, log);
            Run(home.Path, work.Path, "new", "planted");
            Run(home.Path, work.Path, "build", "planted");
            var elf = await File.ReadAllBytesAsync(Path.Combine(work.Path, "planted", "build", "planted.elf"), Cancel);

            // Loopback is no exception: without the token nothing is served, and with it no foreign Host is.
            using (var anonymous = new ByteArrayContent(elf))
            {
                anonymous.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
                using var response = await http.PostAsync("functions?name=planted", anonymous, Cancel);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }
            using (var rebound = new HttpRequestMessage(HttpMethod.Get, "functions"))
            {
                rebound.Headers.Host = "example.com";
                rebound.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
                    (await File.ReadAllTextAsync(Path.Combine(home.Path, "token"), Cancel)).Trim());
                using var response = await http.SendAsync(rebound, Cancel);
                Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
            }
            Assert.DoesNotContain("planted", Run(home.Path, work.Path, "functions", "--server", url), StringComparison.Ordinal);

            // The CLI on the same machine reads $SNAPFN_HOME/token itself: no --token, no variable.
            Assert.Contains("deployed planted on " + url, Run(home.Path, work.Path, "deploy", "planted", "--server", url), StringComparison.Ordinal);
            Assert.Contains("planted", Run(home.Path, work.Path, "functions", "--server", url), StringComparison.Ordinal);
        }
        finally
        {
            if (!daemon.HasExited)
                daemon.Kill();
        }
    }

    /// <summary>Starts `snapfn serve` on <paramref name="url"/>, its output collected in <paramref name="log"/>.</summary>
    private static Process Serve(string home, string workingDirectory, string url, StringBuilder log)
    {
        var daemon = Snapfn(home, workingDirectory, "serve", "--listen", url);
        daemon.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        daemon.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        daemon.BeginErrorReadLine();
        daemon.BeginOutputReadLine();
        return daemon;
    }

    private static async Task WaitHealthyAsync(HttpClient http, Process daemon, StringBuilder log)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(daemon.HasExited, $"snapfn serve exited with {(daemon.HasExited ? daemon.ExitCode : 0)}:\n{log}");
            try
            {
                using var response = await http.GetAsync("healthz", Cancel);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100, Cancel);
        }
        Assert.Fail($"snapfn serve did not answer /healthz within 60 s:\n{log}");
    }

    private static string Run(string home, string workingDirectory, params string[] args)
    {
        using var process = Snapfn(home, workingDirectory, args);
        var stdout = process.StandardOutput.ReadToEndAsync(Cancel);
        var stderr = process.StandardError.ReadToEndAsync(Cancel);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"snapfn {string.Join(' ', args)} did not finish");
        Assert.True(process.ExitCode == 0, $"snapfn {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    private static string RunFailing(string home, string workingDirectory, params string[] args)
    {
        using var process = Snapfn(home, workingDirectory, args);
        var stderr = process.StandardError.ReadToEndAsync(Cancel);
        _ = process.StandardOutput.ReadToEndAsync(Cancel);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)));
        Assert.NotEqual(0, process.ExitCode);
        return stderr.Result;
    }

    private static Process Snapfn(string home, string workingDirectory, params string[] args) => SnapfnProcess.Start(home, workingDirectory, args);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
