using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Snapfn.Daemon;
using Snapfn.Platform;
using Snapfn.Vmm;
using Snapfn.WebConsole;

namespace Snapfn.ConsoleScreenshots;

/// <summary>The real daemon (Kestrel on a free loopback port: the browser needs a socket) with its console, in this
/// process, until disposed.</summary>
public sealed class ConsoleDaemon : IAsyncDisposable
{
    private ConsoleDaemon(WebApplication app, string address, string token)
    {
        App = app;
        Address = address.TrimEnd('/');
        Token = token;
    }

    public WebApplication App { get; }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Address { get; }

    public string Token { get; }

    public FunctionService Service => App.Services.GetRequiredService<FunctionService>();

    public static async Task<ConsoleDaemon> StartAsync(string home, string? results, CancellationToken cancel = default)
    {
        var options = new DaemonOptions
        {
            Listen = "http://127.0.0.1:0",
            HomePath = home,
            WebConsole = new ConsoleOptions { ResultsDirectory = results },
        };
        var app = DaemonHost.Build(options, _ => { });
        await app.StartAsync(cancel);
        var token = (await File.ReadAllTextAsync(Path.Combine(home, AccessToken.FileName), cancel)).Trim();
        return new ConsoleDaemon(app, DaemonHost.Addresses(app)[0], token);
    }

    /// <summary>Links the machine's built runtime roots (roots/ and apt/ of $SNAPFN_HOME) into a fresh home, so that a
    /// Python function deploys without building a root.</summary>
    public static void ShareRuntimeRoots(string home)
    {
        var configured = Environment.GetEnvironmentVariable("SNAPFN_HOME");
        var shared = !string.IsNullOrEmpty(configured) ? Path.GetFullPath(configured)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "snapfn");
        foreach (var name in new[] { "roots", "apt" })
        {
            Directory.CreateDirectory(Path.Combine(shared, name));
            Directory.CreateSymbolicLink(Path.Combine(home, name), Path.Combine(shared, name));
        }
    }

    /// <summary>
    /// A fake runtime for the console's UI, where no VM can run (no /dev/kvm): invocations go through the daemon's
    /// API, its gate, metrics and invocation log as usual, but the serve side's internal seam answers
    /// them instead of a guest — "Hello, NAME! (fake runtime)" with made-up timings. Never a claim that a guest ran.
    /// </summary>
    public void UseFakeRuntime()
    {
        var runs = 0;
        Service.Server.RunInvocation = (plan, options, _) =>
        {
            var n = Interlocked.Increment(ref runs);
            string name;
            try
            {
                using var input = JsonDocument.Parse(plan.Input);
                name = input.RootElement.TryGetProperty("name", out var v) ? v.GetString() ?? "world" : "world";
            }
            catch (JsonException)
            {
                name = "world";
            }
            // Deterministic, varied numbers so that plots have a shape: a restore around 3 ms, an execute around 1 ms.
            var restore = plan.Mode == "warm" ? 0 : 2.5 + (n * 7 % 10) / 10.0;
            var execute = 0.8 + (n * 3 % 5) / 10.0;
            // What a handler's print would write, through the daemon's real capture: the Logs page shows stored lines.
            options.Output?.Write(GuestOutputKind.Stdout, Encoding.UTF8.GetBytes($"greeting {name} (fake runtime, run {n})\n"));
            return new InvocationResult
            {
                Function = plan.Function.Info.Name, Mode = plan.Mode, Output = Encoding.UTF8.GetBytes($"Hello, {name}! (fake runtime)"),
                RestoreMs = restore, ExecuteMs = execute, TotalMs = restore + execute + 0.2, CachedPagesBefore = 0,
                Counters = new Dictionary<string, double> { ["fake_runtime"] = 1 },
            };
        };
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
