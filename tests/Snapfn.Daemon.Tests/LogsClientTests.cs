using System.Text;
using Snapfn.Cli.Remote;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Daemon.Tests;

/// <summary>
/// `snapfn logs --server`'s side of the API, against a real daemon on a loopback port whose invocations are stand-ins:
/// a page, and a follow driven from its own callback (the callback runs the next invocation when it has the
/// backlog, so the live line is published while the client is known to follow: no waiting on time).
/// </summary>
public sealed class LogsClientTests : IDisposable
{
    private readonly TempDirectory _home = new();

    private static Func<InvocationPlan, MicroVmOptions, CancellationToken, InvocationResult> Printing(string line) => (request, options, _) =>
    {
        options.Output!.Write(GuestOutputKind.Stdout, Encoding.UTF8.GetBytes(line + "\n"));
        return new InvocationResult
        {
            Function = request.Function.Info.Name, Mode = request.Mode, Output = [], RestoreMs = 0, ExecuteMs = 0, TotalMs = 0,
            CachedPagesBefore = 0, Counters = new Dictionary<string, double>(),
        };
    };

    [Fact]
    public async Task The_client_reads_a_page_and_follows_new_lines()
    {
        await using var daemon = await RunningDaemon.StartAsync(_home.Path, new DaemonOptions
        {
            Listen = "http://127.0.0.1:0", GuestDirectory = GuestDirectory(),
        });
        var service = daemon.Service;
        var cancel = TestContext.Current.CancellationToken;
        service.Server.RunInvocation = Printing("old");
        var old = service.Invoke("echo", "warm", [], false, TimeSpan.FromSeconds(10), cancel);
        using var client = new DaemonClient(daemon.Address, daemon.Token);

        var page = client.Logs("echo", null, 10);
        Assert.Equal([("old", old.InvocationId)], page.Lines.Select(l => (l.Text, (string?)l.InvocationId)));

        var seen = new List<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        // Only a guard against a hang: the follow ends well before, when the callback has the live line.
        stop.CancelAfter(TimeSpan.FromMinutes(2));
        string? liveId = null;
        var (last, dropped) = await Task.Run(() => client.Follow("echo", after: null, backlog: 5, line =>
        {
            seen.Add(line.Text);
            if (line.Text == "old")
            {
                service.Server.RunInvocation = Printing("\u001b[31mnew");
                liveId = service.Invoke("echo", "warm", [], false, TimeSpan.FromSeconds(10), cancel).InvocationId;
            }
            else
            {
                Assert.Equal(liveId, line.InvocationId);
                stop.Cancel();
            }
        }, stop.Token), cancel);
        Assert.Equal(["old", "\u001b[31mnew"], seen);
        Assert.False(dropped);
        Assert.Equal(service.Logs.Page("echo", null, 1).Single().Id, last);
    }

    private static string GuestDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "guest", "runtime")))
                return Path.Combine(dir.FullName, "guest", "build");
        }
        throw new DirectoryNotFoundException("guest/build not found above " + AppContext.BaseDirectory);
    }

    public void Dispose() => _home.Dispose();
}
