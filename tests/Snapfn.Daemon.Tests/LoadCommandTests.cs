using System.Diagnostics;

namespace Snapfn.Daemon.Tests;

/// <summary><c>snapfn bench --experiment load</c> and <c>cluster</c> as a user runs them: on a machine without KVM,
/// unless <c>SNAPFN_CPU=soft</c> chose the emulated CPU for a trial, each refuses with one line saying why and naming
/// that choice, before it starts a daemon, a nats-server or a worker or makes a folder; the load experiment refuses the
/// other experiments' flags by name.</summary>
public sealed class LoadCommandTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("load")]
    [InlineData("cluster")]
    public async Task Without_KVM_and_without_SNAPFN_CPU_soft_the_experiment_refuses_and_starts_nothing(string experiment)
    {
        if (Vmm.KvmSystem.IsAvailable(out _))
            Assert.Skip("this machine has KVM: the experiment would run (minutes) instead of refusing");
        using var scratch = new TempDirectory();
        var home = Directory.CreateDirectory(Path.Combine(scratch.Path, "home")).FullName;
        var results = Path.Combine(scratch.Path, "results");

        // SNAPFN_CPU unset (whatever the tests run with: scripts/test sets soft): the default CPU, KVM, which this machine lacks.
        var (code, stderr) = await SnapfnAsync(home, scratch.Path, new Dictionary<string, string?> { [Vmm.VirtualCpu.EnvironmentVariable] = null },
            "bench", "--experiment", experiment, "--quick", "--out", results);

        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"snapfn: the {experiment} experiment needs KVM", line, StringComparison.Ordinal);
        Assert.Contains("Nothing was started and no results were written", line, StringComparison.Ordinal);
        // What to do without KVM: the emulated CPU, for a trial.
        Assert.Contains("SNAPFN_CPU=soft runs it on an emulated CPU as a trial", line, StringComparison.Ordinal);
        // No results folder, no default one, and no daemon's or worker's home (a token is written at a start).
        Assert.False(Path.Exists(results));
        Assert.False(Path.Exists(Path.Combine(scratch.Path, "bench-results")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(home));
    }

    [Fact]
    public async Task A_mode_is_refused_the_platform_picks_the_path()
    {
        using var scratch = new TempDirectory();

        var (code, stderr) = await SnapfnAsync(scratch.Path, scratch.Path, "bench", "--experiment", "load", "--modes", "faasnap");

        Assert.Equal(2, code);
        Assert.Contains("leave out --modes", stderr, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Stderr)> SnapfnAsync(string home, string workingDirectory, params string[] args) =>
        SnapfnAsync(home, workingDirectory, null, args);

    private static async Task<(int Code, string Stderr)> SnapfnAsync(string home, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        using var process = SnapfnProcess.Start(home, workingDirectory, environment, args);
        var stderr = process.StandardError.ReadToEndAsync(Cancel);
        _ = process.StandardOutput.ReadToEndAsync(Cancel);
        await process.WaitForExitAsync(Cancel);
        return (process.ExitCode, await stderr);
    }
}

/// <summary>
/// The load experiment's run with a real <c>snapfn serve</c> and a real <c>snapfn deploy</c>, without KVM: the deploy
/// is refused (the function is given a built-in's name, refused before anything would need a VM), and the run fails
/// with the deploy's own words, after it has stopped the daemon and deleted its home. What it checks is the bench's
/// orchestration and clean-up, not the platform.
/// </summary>
public sealed class LoadExperimentProcessTests
{
    [Fact]
    public async Task A_refused_deploy_fails_the_run_with_its_reason_and_leaves_no_daemon_or_home_behind()
    {
        using var scratch = new TempDirectory();
        var settings = Bench.Load.LoadSettings.For(quick: true) with { Function = "py-hello-world" };
        var experiment = new Bench.Load.LoadExperiment(settings, Path.Combine(AppContext.BaseDirectory, "snapfn.dll"), Platform.FunctionCatalog.Default())
        {
            // As under SNAPFN_CPU=soft: a trial, which says so before anything else.
            RequireMachine = () => new Bench.ExperimentCpu(Vmm.CpuKind.Soft),
        };
        var steps = new List<string>();
        var runs = Path.Combine(scratch.Path, "scratch");

        var error = await Assert.ThrowsAsync<Bench.Load.LoadRunException>(() =>
            experiment.RunAsync(runs, Path.Combine(scratch.Path, "user-home"), steps.Add, TestContext.Current.CancellationToken));

        Assert.Contains("snapfn deploy exited with", error.Message, StringComparison.Ordinal);
        Assert.Contains("'py-hello-world' is a built-in function", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("EMULATED CPU (SNAPFN_CPU=soft)", steps[0], StringComparison.Ordinal);
        Assert.StartsWith("starting snapfn serve on http://127.0.0.1:", steps[1], StringComparison.Ordinal);
        Assert.Equal("stopping the daemon", steps[^1]);
        Assert.Empty(Directory.EnumerateFileSystemEntries(runs));
        // No process of the run is left: none names its scratch folder on its command line or in its environment.
        var left = Directory.EnumerateDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out var pid) && pid != Environment.ProcessId)
            .Where(d =>
            {
                try
                {
                    return File.ReadAllText(Path.Combine(d, "cmdline")).Contains(runs, StringComparison.Ordinal)
                        || File.ReadAllText(Path.Combine(d, "environ")).Contains(runs, StringComparison.Ordinal);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return false;
                }
            })
            .ToList();
        Assert.Empty(left);
    }
}
