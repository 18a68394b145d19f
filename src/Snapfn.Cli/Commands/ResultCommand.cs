using System.CommandLine;
using Snapfn.Cli.Remote;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn result ID`: the result of an asynchronous invocation (`snapfn invoke --async`) on a cluster's node.</summary>
public static class ResultCommand
{
    /// <summary>The exit code while the invocation is still pending (sysexits' EX_TEMPFAIL: try again later).</summary>
    public const int Pending = 75;

    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "the id `snapfn invoke --async` printed" };
        var wait = new Option<double>("--wait") { Description = "seconds to wait for a pending invocation to finish (0: answer at once)", DefaultValueFactory = _ => 0 };
        var server = new ServerOptions();
        var command = new Command("result", $"the output of an asynchronous invocation; exit {Pending} while it is pending") { id, wait };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var seconds = parse.GetValue(wait);
            if (!(seconds >= 0 && seconds <= 24 * 3600))
                throw new UsageException($"--wait must be between 0 and 86400 seconds (got {seconds})");
            using var client = server.Connect(parse)
                ?? throw new UsageException("asynchronous invocations live in a cluster: give --server URL (or $SNAPFN_SERVER) of any of its nodes");
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (true)
            {
                if (client.Result(parse.GetValue(id)!) is { } done)
                {
                    OutputWriter.WriteRaw(done.Output);
                    if (!Console.IsOutputRedirected)
                        Console.WriteLine();
                    if (!Console.IsErrorRedirected)
                        Console.Error.WriteLine($"(served by: {done.Path} on worker {done.Worker})");
                    return 0;
                }
                if (DateTime.UtcNow >= deadline)
                {
                    Console.Error.WriteLine("snapfn: the invocation is still pending: run `snapfn result` again later, or give --wait SECONDS");
                    return Pending;
                }
                // A poll a second, as the daemon's Retry-After says.
                Thread.Sleep(TimeSpan.FromSeconds(Math.Min(1, Math.Max(0, (deadline - DateTime.UtcNow).TotalSeconds))));
            }
        });
        return command;
    }
}
