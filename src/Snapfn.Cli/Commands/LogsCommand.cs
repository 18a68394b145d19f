using System.CommandLine;
using Snapfn.Cli.Remote;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform;
using Snapfn.Platform.Logs;

namespace Snapfn.Cli.Commands;

/// <summary>
/// `snapfn logs NAME [--follow] [--limit N]`: what a function wrote to stdout and stderr, per invocation, oldest of
/// the newest N first (as tail prints them), control characters escaped (<see cref="LogText"/>). On a daemon
/// (--server) it follows with Server-Sent Events; locally it reads $SNAPFN_HOME's database, and follows by reading
/// it again every half second (another process — the daemon or another CLI — writes there).
/// </summary>
public static class LogsCommand
{
    private static readonly TimeSpan _localPoll = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function whose output to show" };
        var follow = new Option<bool>("--follow", "-f") { Description = "keep printing new lines as invocations end (Ctrl+C stops)" };
        var limit = new Option<int>("--limit", "-n")
        {
            Description = $"how many of the newest lines to print first (1 to {FunctionLogStore.MaxPage})",
            DefaultValueFactory = _ => 100,
        };
        var server = new ServerOptions();
        var command = new Command("logs", "show what a function printed (stdout, stderr), per invocation") { function, follow, limit };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var name = parse.GetValue(function)!;
            var count = parse.GetValue(limit);
            if (!FunctionName.IsValid(name))
                throw new UsageException($"'{name}' is not a valid function name");
            if (count is < 1 or > FunctionLogStore.MaxPage)
                throw new UsageException($"--limit must be between 1 and {FunctionLogStore.MaxPage}");
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            using var client = server.Connect(parse);
            if (client is not null)
                Remote(client, name, count, parse.GetValue(follow), stop.Token);
            else
                Local(name, count, parse.GetValue(follow), stop.Token);
            return 0;
        });
        return command;
    }

    private static void Remote(DaemonClient client, string name, int count, bool follow, CancellationToken stop)
    {
        if (!follow)
        {
            Print(client.Logs(name, null, count).Lines.Reverse());
            return;
        }
        long? after = null;
        while (!stop.IsCancellationRequested)
        {
            var (last, dropped) = client.Follow(name, after, count, line => Print([line]), stop);
            if (!dropped)
                return;
            // The daemon stopped sending because this terminal fell behind: read on from the store where it left off.
            Console.Error.WriteLine("snapfn: the daemon dropped this follow (it fell behind); resuming from the stored lines");
            after = last ?? 0;
        }
    }

    private static void Local(string name, int count, bool follow, CancellationToken stop)
    {
        using var logs = new FunctionLogStore(RegistryDatabase.Open(SnapfnHome.Default()));
        var lines = logs.Page(name, null, count);
        Print(lines.Reverse().Select(FunctionLogLineResponse.From));
        if (!follow)
        {
            if (lines.Count == 0)
                Console.Error.WriteLine($"snapfn: no output kept for '{name}' in {SnapfnHome.Default().Path} (use --server for a daemon's)");
            return;
        }
        var last = lines.Count > 0 ? lines[0].Id : 0;
        while (!stop.WaitHandle.WaitOne(_localPoll))
        {
            foreach (var line in logs.After(name, last, FunctionLogStore.MaxPage))
            {
                Print([FunctionLogLineResponse.From(line)]);
                last = line.Id;
            }
        }
    }

    private static void Print(IEnumerable<FunctionLogLineResponse> lines)
    {
        foreach (var line in lines)
            Console.Out.WriteLine(LogText.Format(line));
        Console.Out.Flush();
    }
}
