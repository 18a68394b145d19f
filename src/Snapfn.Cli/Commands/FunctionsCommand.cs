using System.CommandLine;
using Snapfn.Cli.Remote;
using Snapfn.Platform;
using Spectre.Console;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn functions`: the built-in and registered user functions, locally or on a daemon.</summary>
public static class FunctionsCommand
{
    public static Command Create()
    {
        var server = new ServerOptions();
        var command = new Command("functions", "list the functions: built-in and registered user ones");
        server.AddTo(command);
        command.SetAction(parse =>
        {
            using var client = server.Connect(parse);
            var rows = client is null ? Local() : client.List().Select(f => (f.Name, f.Kind, f.IsTestGuest, f.Description, f.Snapshot is not null)).ToList();
            var table = new Table().AddColumns("function", "kind", "snapshot", "description");
            foreach (var (name, kind, test, description, snapshot) in rows)
                table.AddRow(Markup.Escape(name), kind == "user" ? "user" : test ? "test" : "workload", snapshot ? "yes" : "-", Markup.Escape(description));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static List<(string, string, bool, string, bool)> Local()
    {
        using var service = LocalPlatform.Open();
        var functions = service.List();
        if (functions.Count == 0)
            throw new UsageException($"no functions built in {FunctionCatalog.Default().GuestDirectory}; run `make -C guest` or use ./snapfn");
        return functions.Select(f => (f.Name, f.Kind == FunctionKind.User ? "user" : "builtin", f.IsTestGuest, f.Description, f.Snapshot is not null)).ToList();
    }
}
