using System.Diagnostics;

namespace Snapfn.Bench.Tests;

/// <summary>
/// scripts/cli-stale, the check by which <c>./snapfn</c> (and so every <c>./snapfn bench</c>) decides to build the CLI
/// again. Until it was a script of its own, the launcher piped the sources into <c>find -newer</c> after its
/// expression, which find refuses: an edited source never rebuilt the CLI, and experiments ran the old code. The
/// files' times are set by the test, not waited for.
/// </summary>
public sealed class CliStaleTests : IDisposable
{
    private static readonly DateTime _old = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime _built = new(2021, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime _edited = new(2022, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly string _root = Directory.CreateTempSubdirectory("snapfn-cli-stale-").FullName;

    private string Out => Path.Combine(_root, ".snapfn-build", "cli");

    private string Source(string relative, DateTime time)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "// source\n");
        File.SetLastWriteTimeUtc(path, time);
        return path;
    }

    private static string Script()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "scripts", "cli-stale");
            if (File.Exists(script))
                return script;
        }
        throw new FileNotFoundException("scripts/cli-stale not found above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Script());
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    private bool Stale()
    {
        var (code, output) = Run(_root, Out);
        Assert.True(code is 0 or 1, $"cli-stale failed ({code}): {output}");
        return code == 0;
    }

    /// <summary>What the launcher does after a build: the list of sources it built, and the build's time.</summary>
    private void Build()
    {
        Directory.CreateDirectory(Out);
        var (code, list) = Run("--list", _root);
        Assert.Equal(0, code);
        File.WriteAllText(Path.Combine(Out, "sources.list"), list);
        File.WriteAllText(Path.Combine(Out, "snapfn.dll"), "");
        File.SetLastWriteTimeUtc(Path.Combine(Out, "snapfn.dll"), _built);
    }

    [Fact]
    public void A_source_edited_added_or_removed_since_the_build_makes_it_stale_and_nothing_else_does()
    {
        var edited = Source("src/Snapfn.Platform/AutoRecorder.cs", _old);
        Source("bench/Snapfn.Bench/Load/LoadClient.cs", _old);
        Source("Directory.Build.props", _old);
        Source("Directory.Packages.props", _old);
        Assert.True(Stale()); // never built

        Build();
        Assert.False(Stale());

        // The case the launcher missed: an existing source saved after the build.
        File.SetLastWriteTimeUtc(edited, _edited);
        Assert.True(Stale());
        File.SetLastWriteTimeUtc(edited, _old);
        Assert.False(Stale());

        // Added (with an old time, as a checkout or a copy gives it), then removed again.
        var added = Source("src/Snapfn.Platform/New.cs", _old);
        Assert.True(Stale());
        File.Delete(added);
        Assert.False(Stale());
        File.Delete(edited);
        Assert.True(Stale());
        Build();

        // Build outputs and files that are not sources do not count.
        Source("src/Snapfn.Platform/obj/Release/Generated.cs", _edited);
        Source("src/Snapfn.Platform/bin/Release/Other.cs", _edited);
        Source("src/Snapfn.Platform/notes.txt", _edited);
        Assert.False(Stale());
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
