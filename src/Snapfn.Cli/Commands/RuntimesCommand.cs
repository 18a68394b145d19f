using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Snapfn.Linux.Roots;
using Snapfn.Platform;
using Spectre.Console;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn runtimes`: the runtimes functions run on and their read-only roots of Debian packages.</summary>
public static class RuntimesCommand
{
    public static Command Create()
    {
        var names = string.Join(", ", Runtimes.All.Select(r => r.Name));
        var build = new Option<string?>("--build") { Description = $"build the runtime's root if it is not built yet ({names})" };
        var command = new Command("runtimes", "list the runtimes and their roots of Debian packages; build one") { build };
        command.SetAction(parse =>
        {
            var builder = new RootBuilder(SnapfnHome.Default().Path);
            if (parse.GetValue(build) is { } name)
            {
                var runtime = Runtimes.Find(name) ?? throw new UsageException($"unknown runtime '{name}'; runtimes: {names}");
                if (Build(builder, runtime, AnsiConsole.Console) is { } code)
                    return code;
            }
            PrintTable(builder.List());
            return 0;
        });
        return command;
    }

    /// <summary>Builds with a progress bar on <paramref name="console"/>; an exit code if interrupted, null if the root is there.</summary>
    internal static int? Build(RootBuilder builder, Runtime runtime, IAnsiConsole console)
    {
        if (builder.Status(runtime).IsBuilt)
        {
            console.WriteLine($"{runtime.Name}: already built");
            return null;
        }
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // Stop apt or dpkg-deb and remove the half-built root rather than dying with it in place.
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        var warnings = new List<string>();
        var start = Stopwatch.GetTimestamp();
        RuntimeRoot root;
        try
        {
            root = console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape($"{runtime.Name}: starting"), maxValue: 100);
                    var built = builder.Ensure(runtime, new Reporter(p =>
                    {
                        if (p.IsWarning)
                            lock (warnings)
                                warnings.Add(p.Text);
                        task.Description = Markup.Escape($"{runtime.Name}: {Shorten(p.Text)}");
                        if (Percent(p) is { } percent)
                            task.Value = Math.Max(task.Value, percent);
                    }), cancel.Token);
                    task.Value = task.MaxValue;
                    return built;
                });
        }
        // Ctrl+C reaches apt and dpkg-deb too, which may fail before the cancellation is seen.
        catch (Exception e) when (e is OperationCanceledException || (e is RootBuildException && cancel.IsCancellationRequested))
        {
            Console.Error.WriteLine($"snapfn: interrupted; no half-built root of {runtime.Name} was left");
            return CliErrors.Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        foreach (var warning in warnings)
            console.MarkupLine($"[yellow]warning:[/] {Markup.Escape(warning)}");
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"built {runtime.Name} in {seconds:0.0} s: {root.Manifest.Packages.Count} packages, bytecode {root.Manifest.Bytecode}"));
        return null;
    }

    /// <summary>One bar over the whole build: lists, then downloads, extraction and bytecode by their usual shares.</summary>
    private static double? Percent(RootProgress p) => p.Phase switch
    {
        RootPhase.UpdatingLists => 2,
        RootPhase.Downloading => 5 + (p.Total > 0 ? 35.0 * p.Done / p.Total : 0),
        RootPhase.Extracting => 40 + (p.Total > 0 ? 40.0 * p.Done / p.Total : 0),
        RootPhase.CompilingBytecode => 85,
        RootPhase.Done => 100,
        _ => null,
    };

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>A table that fits 80 columns, then each root's path on a line of its own (they are long).</summary>
    private static void PrintTable(IReadOnlyList<RuntimeStatus> runtimes)
    {
        var table = new Table().AddColumns("runtime", "packages", "root", "installed", "size");
        foreach (var r in runtimes)
        {
            table.AddRow(
                Markup.Escape(r.Runtime.Name),
                Markup.Escape(string.Join(" ", r.Runtime.Packages)),
                r.IsBuilt ? "built" : "[grey]not built[/]",
                r.InstalledPackages is { } count ? $"{count} packages" : "-",
                r.SizeBytes is { } bytes ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MiB") : "-");
        }
        AnsiConsole.Write(table);
        foreach (var r in runtimes)
            AnsiConsole.WriteLine($"{r.Runtime.Name}: {r.RootDirectory}");
    }

    /// <summary>Reports on the builder's thread, in order (System.Progress would post each report to the thread pool).</summary>
    private sealed class Reporter(Action<RootProgress> report) : IProgress<RootProgress>
    {
        public void Report(RootProgress value) => report(value);
    }
}
