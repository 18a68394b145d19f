using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Daemon.Tests;

/// <summary>
/// The daemon in this process on ASP.NET Core's in-memory TestServer (no socket), over a scratch home with the
/// built-in functions of guest/build, and with its invocations run by a stand-in (<see cref="Run"/>) instead of
/// VMs: the HTTP API, its middleware and the platform's bookkeeping, testable without KVM.
/// </summary>
public sealed class InProcessDaemon : IAsyncDisposable
{
    private readonly TempDirectory _home;
    private readonly WebApplication _app;

    private InProcessDaemon(WebApplication app, TempDirectory home)
    {
        _home = home;
        _app = app;
        Server = (TestServer)app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>();
        Service = app.Services.GetRequiredService<FunctionService>();
        var token = File.ReadAllText(Path.Combine(home.Path, AccessToken.FileName)).Trim();
        Http = Server.CreateClient();
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public TestServer Server { get; }

    public FunctionService Service { get; }

    /// <summary>Sends the daemon's token.</summary>
    public HttpClient Http { get; }

    /// <summary>Runs each invocation in place of a VM (see <see cref="FunctionServer.RunInvocation"/>).</summary>
    public Func<InvocationPlan, MicroVmOptions, CancellationToken, InvocationResult>? Run
    {
        get => Service.Server.RunInvocation;
        set => Service.Server.RunInvocation = value;
    }

    public static async Task<InProcessDaemon> StartAsync(DaemonOptions? options = null)
    {
        var home = new TempDirectory();
        options = (options ?? new DaemonOptions()) with { Listen = "http://127.0.0.1:0", HomePath = home.Path, GuestDirectory = GuestDirectory() };
        var app = DaemonHost.Build(options, _ => { }, host => host.UseTestServer());
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new InProcessDaemon(app, home);
    }

    /// <summary>A result for a stand-in run.</summary>
    public static InvocationResult Result(InvocationPlan request, byte[]? output = null) => new()
    {
        Function = request.Function.Info.Name, Mode = request.Mode, Output = output ?? [], RestoreMs = 1, ExecuteMs = 1, TotalMs = 2,
        CachedPagesBefore = 0, Counters = new Dictionary<string, double>(),
    };

    private static string GuestDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "guest", "runtime")))
                return Path.Combine(dir.FullName, "guest", "build");
        }
        throw new DirectoryNotFoundException("guest/build not found above " + AppContext.BaseDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _home.Dispose();
    }
}
