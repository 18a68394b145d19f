using System.CommandLine;
using Snapfn.Platform;
using Spectre.Console;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn functions`: the built-in functions.</summary>
public static class FunctionsCommand
{
    public static Command Create()
    {
        var command = new Command("functions", "list the built-in functions");
        command.SetAction(_ =>
        {
            var catalog = FunctionCatalog.Default();
            var functions = catalog.List();
            if (functions.Count == 0)
                throw new UsageException($"no functions built in {catalog.GuestDirectory}; run `make -C guest` or use ./snapfn");
            var table = new Table().AddColumns("function", "kind", "description");
            foreach (var f in functions)
                table.AddRow(Markup.Escape(f.Name), f.IsTestGuest ? "test" : "workload", Markup.Escape(f.Description));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
