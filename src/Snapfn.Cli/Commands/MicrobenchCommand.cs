using System.CommandLine;
using System.Globalization;
using Snapfn.Bench;
using Snapfn.Platform;
using Spectre.Console;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn microbench`: the VMM's own figures (compute vs native, hypercalls, page touches, boot, restore).</summary>
public static class MicrobenchCommand
{
    public static Command Create()
    {
        var restores = new Option<int>("--restores") { Description = "how many restores to time", DefaultValueFactory = _ => 100 };
        var linux = new Option<bool>("--linux") { Description = "only the Linux program figures: system call, python3 start-up and compute against the host" };
        var command = new Command("microbench", "measure the micro-VM itself: compute vs native, hypercall, first touch, boot, restore, Linux programs") { restores, linux };
        command.SetAction(parse =>
        {
            Vmm.VirtualCpu.RequireKvmToMeasure("snapfn microbench");
            void Progress(string step) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(step)}...[/]");
            var results = new List<MicroResult>();
            if (!parse.GetValue(linux))
            {
                var bench = new MicroBench(FunctionCatalog.Default(), SnapfnHome.Default(), Progress);
                bench.RunAll(parse.GetValue(restores));
                results.AddRange(bench.Results);
            }
            var linuxBench = new LinuxBench(FunctionCatalog.Default(), SnapfnHome.Default(), Progress);
            linuxBench.RunAll();
            results.AddRange(linuxBench.Results);
            var table = new Table().AddColumns("measure", "value", "how");
            foreach (var r in results)
                table.AddRow(Markup.Escape(r.Name), r.Value.ToString("0.000", CultureInfo.InvariantCulture) + " " + r.Unit, Markup.Escape(r.Detail));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
