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
            var rows = client is null
                ? Local()
                : client.List().Select(f => (f.Name, f.Kind, f.IsTestGuest, f.Description, f.Snapshot is not null,
                    Recording(f.AutoRecording?.State, f.AutoRecording?.Reason, f.Recordings.Select(r => r.Mode)))).ToList();
            var table = new Table().AddColumns("function", "kind", "snapshot", "recordings", "description");
            foreach (var (name, kind, test, description, snapshot, recording) in rows)
                table.AddRow(Markup.Escape(name), kind == "user" ? "user" : test ? "test" : "workload", snapshot ? "yes" : "-", Markup.Escape(recording),
                    Markup.Escape(description));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    /// <summary>The recordings a function has, and where the daemon's automatic recording stands when it is not done
    /// ("reap, faasnap", "pending", "failed: why").</summary>
    private static string Recording(string? state, string? reason, IEnumerable<string> modes)
    {
        var have = string.Join(", ", modes);
        var auto = state switch
        {
            null or "recorded" or "no-snapshot" => null,
            "failed" => $"failed: {reason}",
            "waiting" => "waiting for a request",
            _ => state,
        };
        return (have, auto) switch
        {
            ("", null) => "-",
            (_, null) => have,
            ("", _) => auto,
            _ => $"{have} ({auto})",
        };
    }

    private static List<(string, string, bool, string, bool, string)> Local()
    {
        using var service = LocalPlatform.Open();
        var functions = service.List();
        if (functions.Count == 0)
            throw new UsageException($"no functions built in {FunctionCatalog.Default().GuestDirectory}; run `make -C guest` or use ./snapfn");
        // A local registry has no recorder running: only the recordings it holds.
        return functions.Select(f => (f.Name, f.Kind == FunctionKind.User ? "user" : "builtin", f.IsTestGuest, f.Description, f.Snapshot is not null,
            Recording(null, null, f.Recordings.Where(r => r.SnapshotId == f.Snapshot?.SnapshotId).Select(r => r.Mode)))).ToList();
    }
}
