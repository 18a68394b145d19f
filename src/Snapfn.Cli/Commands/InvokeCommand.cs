using System.CommandLine;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn invoke`: restore a function from its snapshot and run requests on it.</summary>
public static class InvokeCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function to invoke" };
        var input = new InputOptions();
        var mode = new Option<string>("--mode") { Description = $"how memory comes back: {string.Join(", ", Invoker.Modes)}", DefaultValueFactory = _ => "vanilla" };
        var cold = new Option<bool>("--cold") { Description = "drop the snapshot's files from the page cache before each invocation" };
        var repeat = new Option<int>("--repeat") { Description = "how many invocations", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { Description = "how many run at once", DefaultValueFactory = _ => 1 };
        var timeout = new Option<double>("--timeout") { Description = "seconds a request may run", DefaultValueFactory = _ => 60 };
        var json = new Option<bool>("--json") { Description = "print one JSON object per invocation" };
        var command = new Command("invoke", "restore a function from its snapshot and invoke it") { function, mode, cold, repeat, concurrency, timeout, json };
        input.AddTo(command);
        command.SetAction(parse =>
        {
            var info = FunctionCatalog.Default().Get(parse.GetValue(function)!);
            var bytes = input.Read(parse);
            var modeName = parse.GetValue(mode)!;
            var count = parse.GetValue(repeat);
            var parallel = parse.GetValue(concurrency);
            if (count < 1 || parallel < 1)
                throw new UsageException("--repeat and --concurrency must be at least 1");
            var options = VmOptions.From(2048, parse.GetValue(timeout));
            using var invoker = new Invoker(new SnapshotService(SnapfnHome.Default()));
            // With several at once, a per-invocation cache drop would hit the others mid-run: drop once, up front.
            var coldEach = parse.GetValue(cold) && parallel == 1;
            if (parse.GetValue(cold) && parallel > 1)
                invoker.MakeCold(info, modeName);
            var printLock = new Lock();
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallel }, i =>
            {
                var result = invoker.Invoke(new InvocationRequest(info, modeName, bytes, coldEach), options);
                lock (printLock)
                    Print(result, i, parse.GetValue(json));
            });
            return 0;
        });
        return command;
    }

    private static void Print(InvocationResult result, int repetition, bool json)
    {
        if (!json)
        {
            OutputWriter.WriteRaw(result.Output);
            if (!Console.IsOutputRedirected)
                Console.WriteLine();
            return;
        }
        var (text, encoding) = OutputWriter.Encode(result.Output);
        OutputWriter.WriteJson(new
        {
            function = result.Function,
            mode = result.Mode,
            repetition,
            output = text,
            output_encoding = encoding,
            restore_ms = result.RestoreMs,
            execute_ms = result.ExecuteMs,
            total_ms = result.TotalMs,
            cached_pages_before = result.CachedPagesBefore,
            counters = result.Counters,
        });
    }
}
