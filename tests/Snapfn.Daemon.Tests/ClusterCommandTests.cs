namespace Snapfn.Daemon.Tests;

/// <summary><c>snapfn bench --experiment cluster</c> as a user runs it on a machine without KVM and without
/// <c>SNAPFN_CPU=soft</c>: one line saying why and how to run a trial on the emulated CPU instead, before it starts a
/// nats-server or a worker or makes a folder. (With SNAPFN_CPU=soft it runs, for minutes: that is the trial itself.)</summary>
public sealed class ClusterCommandTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_KVM_and_without_the_emulated_cpu_asked_for_the_cluster_experiment_refuses_and_starts_nothing()
    {
        if (Vmm.KvmSystem.IsAvailable(out _))
            Assert.Skip("this machine has KVM: the experiment would run (minutes) instead of refusing");
        using var scratch = new TempDirectory();
        var home = Directory.CreateDirectory(Path.Combine(scratch.Path, "home")).FullName;
        var results = Path.Combine(scratch.Path, "results");

        // A user's shell without SNAPFN_CPU, whatever this test process was given (scripts/test sets soft).
        using var process = SnapfnProcess.Start(home, scratch.Path, new Dictionary<string, string?> { ["SNAPFN_CPU"] = null },
            "bench", "--experiment", "cluster", "--quick", "--out", results);
        var (code, stderr) = await ExitAsync(process);

        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("snapfn: the cluster experiment needs KVM", line, StringComparison.Ordinal);
        Assert.Contains("Nothing was started and no results were written", line, StringComparison.Ordinal);
        Assert.Contains("SNAPFN_CPU=soft runs it on an emulated CPU as a trial", line, StringComparison.Ordinal);
        Assert.False(Path.Exists(results));
        Assert.False(Path.Exists(Path.Combine(scratch.Path, "bench-results")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(home));
    }

    private static async Task<(int Code, string Stderr)> ExitAsync(System.Diagnostics.Process process)
    {
        var stderr = process.StandardError.ReadToEndAsync(Cancel);
        _ = process.StandardOutput.ReadToEndAsync(Cancel);
        await process.WaitForExitAsync(Cancel);
        return (process.ExitCode, await stderr);
    }
}
