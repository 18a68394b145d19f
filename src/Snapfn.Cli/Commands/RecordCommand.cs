using System.CommandLine;
using Snapfn.Cli.Remote;
using Snapfn.Daemon.Contracts;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn record`: run one invocation from the snapshot and record what memory it needs (the paper's input A).</summary>
public static class RecordCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function to record" };
        var input = new InputOptions(function);
        var mode = new Option<string>("--mode") { Description = "reap (working set) or faasnap (loading set)", Required = true };
        var gap = new Option<int>("--gap-pages") { Description = "faasnap: merge loading-set pages closer than this", DefaultValueFactory = _ => 32 };
        var scan = new Option<double>("--scan-ms") { Description = "faasnap: mincore scan interval in ms", DefaultValueFactory = _ => 2 };
        var timeout = new Option<double>("--timeout") { Description = "seconds the recorded request may run", DefaultValueFactory = _ => 120 };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var server = new ServerOptions();
        var command = new Command("record", "record the memory one invocation needs, for the reap or faasnap mode") { function, mode, gap, scan, timeout, json };
        input.AddTo(command);
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var name = parse.GetValue(function)!;
            if (parse.GetValue(gap) < 0 || !(parse.GetValue(scan) > 0))
                throw new UsageException("--gap-pages must be >= 0 and --scan-ms > 0");
            var seconds = parse.GetValue(timeout);
            if (!(seconds > 0))
                throw new UsageException($"--timeout must be a positive number of seconds (got {seconds})");
            RecordingResponse result;
            using (var client = server.Connect(parse))
            {
                if (client is not null)
                {
                    result = client.Record(name, parse.GetValue(mode)!, input.Read(parse), parse.GetValue(gap), parse.GetValue(scan), seconds);
                }
                else
                {
                    using var service = LocalPlatform.Open();
                    result = RecordingResponse.From(name, service.Record(name, parse.GetValue(mode)!, input.Read(parse), TimeSpan.FromSeconds(seconds),
                        new FaasnapRecordOptions { GapPages = (ulong)parse.GetValue(gap), ScanInterval = TimeSpan.FromMilliseconds(parse.GetValue(scan)) }));
                }
            }
            if (parse.GetValue(json))
            {
                OutputWriter.WriteJson(new
                {
                    function = result.Function, mode = result.Mode, file = result.File, pages = result.Pages, regions = result.Regions,
                    file_bytes = result.FileBytes, run_ms = result.RunMs, sha256 = result.Sha256,
                });
            }
            else
            {
                Console.WriteLine($"{result.Mode} recording of {result.Function}: {result.File}");
                Console.WriteLine($"  {result.Pages} pages ({result.Pages * 4096.0 / (1 << 20):0.0} MiB) in {result.Regions} regions; run {result.RunMs:0.0} ms");
            }
            return 0;
        });
        return command;
    }
}
