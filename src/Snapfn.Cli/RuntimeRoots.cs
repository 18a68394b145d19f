using Snapfn.Cli.Commands;
using Snapfn.Linux.Roots;
using Snapfn.Platform;
using Spectre.Console;

namespace Snapfn.Cli;

/// <summary>Picks the root directory a Linux program runs in: --root, or a runtime's root (built on first use,
/// with its progress on stderr so that the program's stdout stays its own).</summary>
public static class RuntimeRoots
{
    public static (string Directory, int? ExitCode) Resolve(string? runtimeName, string? root, IReadOnlyList<string>? packages = null)
    {
        if (root is not null)
        {
            if (runtimeName is not null || packages is { Count: > 0 })
                throw new UsageException("give either --runtime (and --packages) or --root, not both");
            if (!Directory.Exists(root))
                throw new UsageException($"--root {root} is not a directory");
            return (Path.GetFullPath(root), null);
        }
        var runtime = Runtimes.Find(runtimeName ?? Runtimes.Python.Name)
            ?? throw new UsageException($"unknown runtime '{runtimeName}'; runtimes: {string.Join(", ", Runtimes.All.Select(r => r.Name))}");
        if (packages is { Count: > 0 })
        {
            try
            {
                runtime = runtime.With(packages);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--packages: {e.Message}");
            }
        }
        var builder = new RootBuilder(SnapfnHome.Default().Path);
        if (!builder.Status(runtime).IsBuilt)
        {
            var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            if (RuntimesCommand.Build(builder, runtime, stderr) is { } code)
                return ("", code);
        }
        return (builder.Ensure(runtime).RootDirectory, null);
    }
}
