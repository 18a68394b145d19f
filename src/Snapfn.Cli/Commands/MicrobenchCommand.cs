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
        var command = new Command("microbench", "measure the micro-VM itself: compute vs native, hypercall, first touch, boot, restore") { restores };
        command.SetAction(parse =>
        {
            var bench = new MicroBench(FunctionCatalog.Default(), SnapfnHome.Default(), step => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(step)}...[/]"));
            bench.RunAll(parse.GetValue(restores));
            var table = new Table().AddColumns("measure", "value", "how");
            foreach (var r in bench.Results)
                table.AddRow(Markup.Escape(r.Name), r.Value.ToString("0.000", CultureInfo.InvariantCulture) + " " + r.Unit, Markup.Escape(r.Detail));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
