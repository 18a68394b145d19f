using System.CommandLine;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn run`: boot a function's ELF, run init(), run one request, print the output.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function to run (see `snapfn functions`)" };
        var input = new InputOptions(function);
        var memory = new Option<int>("--memory") { Description = "guest memory in MiB", DefaultValueFactory = _ => 2048 };
        var timeout = new Option<double>("--timeout") { Description = "seconds init() or the request may run", DefaultValueFactory = _ => 60 };
        var json = new Option<bool>("--json") { Description = "print one JSON object with the output and timings" };
        var command = new Command("run", "boot a function from its ELF and run one request (no snapshot)") { function, memory, timeout, json };
        input.AddTo(command);
        command.SetAction(parse =>
        {
            var info = LocalPlatform.Resolve(parse.GetValue(function)!);
            var bytes = input.Read(parse);
            var options = VmOptions.From(parse.GetValue(memory), parse.GetValue(timeout));
            var result = BootRun.Run(info, bytes, options);
            if (parse.GetValue(json))
            {
                var (text, encoding) = OutputWriter.Encode(result.Output);
                OutputWriter.WriteJson(new
                {
                    function = result.Function,
                    output = text,
                    output_encoding = encoding,
                    boot_ms = result.BootMs,
                    init_ms = result.InitMs,
                    execute_ms = result.ExecuteMs,
                    total_ms = result.TotalMs,
                });
            }
            else
            {
                OutputWriter.WriteRaw(result.Output);
            }
            return 0;
        });
        return command;
    }
}
