using System.CommandLine;
using Snapfn.Cli.Remote;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn invoke`: restore a function from its snapshot and run requests on it (locally or on a daemon).</summary>
public static class InvokeCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function to invoke" };
        var input = new InputOptions(function);
        var mode = new Option<string?>("--mode")
        {
            Description = $"for experts and the bench: restore in this mode ({string.Join(", ", FunctionService.Modes)}) instead of the path the platform picks",
        };
        var cold = new Option<bool>("--cold") { Description = "drop the snapshot's files from the page cache before each invocation" };
        var repeat = new Option<int>("--repeat") { Description = "how many invocations", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { Description = "how many run at once", DefaultValueFactory = _ => 1 };
        var timeout = new Option<double>("--timeout") { Description = "seconds a request may run", DefaultValueFactory = _ => 60 };
        var json = new Option<bool>("--json") { Description = "print one JSON object per invocation" };
        var queue = new Option<bool>("--async")
        {
            Description = "on a node of a cluster (--server): queue the request and print its id at once; read the result with `snapfn result ID`",
        };
        var server = new ServerOptions();
        var command = new Command("invoke", "run requests on a function; the platform picks how (an idle VM, or a restore from its snapshot)") { function, mode, cold, repeat, concurrency, timeout, json, queue };
        input.AddTo(command);
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var name = parse.GetValue(function)!;
            var bytes = input.Read(parse);
            var modeName = parse.GetValue(mode);
            var count = parse.GetValue(repeat);
            var parallel = parse.GetValue(concurrency);
            var seconds = parse.GetValue(timeout);
            var asJson = parse.GetValue(json);
            if (count < 1 || parallel < 1)
                throw new UsageException("--repeat and --concurrency must be at least 1");
            if (!(seconds > 0) || seconds > 24 * 3600)
                throw new UsageException($"--timeout must be a positive number of seconds (got {seconds})");
            if (modeName is not null && !FunctionService.Modes.Contains(modeName))
                throw new UsageException($"unknown mode '{modeName}'; modes: {string.Join(", ", FunctionService.Modes)}");
            if (parse.GetValue(cold) && modeName is null)
                throw new UsageException("--cold needs --mode: it drops the files of one restore mode from the page cache");
            // With several at once, a per-invocation cache drop would hit the others mid-run: drop once, up front.
            var coldEach = parse.GetValue(cold) && parallel == 1;
            var coldOnce = parse.GetValue(cold) && parallel > 1;
            var printLock = new Lock();
            var options = new ParallelOptions { MaxDegreeOfParallelism = parallel };

            using var client = server.Connect(parse);
            if (parse.GetValue(queue))
            {
                if (client is null)
                    throw new UsageException("--async needs a daemon that is a node of a cluster: give --server URL (or $SNAPFN_SERVER)");
                if (parse.GetValue(cold))
                    throw new UsageException("--cold does not apply to --async: a queued request runs where and when a worker takes it");
                for (var i = 0; i < count; i++)
                {
                    var queued = client.Submit(name, modeName, bytes, seconds);
                    if (asJson)
                        OutputWriter.WriteJson(new Dictionary<string, object?> { ["invocation_id"] = queued.InvocationId, ["location"] = queued.Location, ["repetition"] = i });
                    else
                        Console.WriteLine(queued.InvocationId);
                }
                return 0;
            }
            if (client is not null)
            {
                if (coldOnce)
                    throw new UsageException("--cold with --concurrency above 1 works locally only: the daemon drops the cache per request");
                Parallel.For(0, count, options, i =>
                {
                    if (asJson)
                    {
                        var response = client.Invoke(name, modeName, bytes, coldEach, seconds);
                        lock (printLock)
                            PrintJson(response, i);
                    }
                    else
                    {
                        var (output, path) = client.InvokeRaw(name, modeName, bytes, coldEach, seconds);
                        lock (printLock)
                            PrintRaw(output, path);
                    }
                });
                return 0;
            }

            using var service = LocalPlatform.Open();
            if (coldOnce)
                service.Server.MakeCold(name, modeName!);
            var request = new InvokeRequest(name, bytes) { Mode = modeName, Cold = coldEach, Timeout = TimeSpan.FromSeconds(seconds) };
            Parallel.For(0, count, options, i =>
            {
                var result = service.Server.Invoke(request);
                lock (printLock)
                {
                    if (asJson)
                        PrintJson(InvocationResponse.From(result), i);
                    else
                        PrintRaw(result.Output, result.Path);
                }
            });
            return 0;
        });
        return command;
    }

    /// <summary>The output on stdout; on a terminal, the path that served it on stderr (scripts reading stdout, or
    /// stderr, get only the output).</summary>
    private static void PrintRaw(byte[] output, string? path)
    {
        OutputWriter.WriteRaw(output);
        if (!Console.IsOutputRedirected)
            Console.WriteLine();
        if (path is not null && !Console.IsErrorRedirected)
            Console.Error.WriteLine($"(served by: {path})");
    }

    private static void PrintJson(InvocationResponse result, int repetition)
    {
        var fields = new Dictionary<string, object?>
        {
            ["function"] = result.Function,
            ["path"] = result.Path,
            ["mode"] = result.Mode,
            ["repetition"] = repetition,
            ["output"] = result.Output,
            ["output_encoding"] = result.OutputEncoding,
            ["queue_ms"] = result.QueueMs,
            ["restore_ms"] = result.RestoreMs,
            ["execute_ms"] = result.ExecuteMs,
            ["total_ms"] = result.TotalMs,
            ["cached_pages_before"] = result.CachedPagesBefore,
            ["counters"] = result.Counters,
            ["invocation_id"] = result.InvocationId,
        };
        // Only a run that is not what its mode claims carries the field, so its absence means a clean run.
        if (result.Degraded is { } degraded)
            fields["degraded"] = degraded;
        OutputWriter.WriteJson(fields);
    }
}
