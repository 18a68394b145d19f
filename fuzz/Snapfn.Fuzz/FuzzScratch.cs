namespace Snapfn.Fuzz;

/// <summary>
/// Where a harness keeps its scratch files (a home, unpacked zips). Under AFL a harness is never disposed — AFL
/// ends the process, and restarts it after a crash or a hang — so a harness cannot clean up after itself:
/// `scripts/fuzz` makes one folder per run, names it in <see cref="Variable"/>, and deletes it when the run ends or
/// is interrupted. Elsewhere (tests, `--quick`, `--replay`) the harness's Dispose deletes its folder.
/// </summary>
public static class FuzzScratch
{
    /// <summary>The environment variable through which `scripts/fuzz` gives its run's folder.</summary>
    public const string Variable = "SNAPFN_FUZZ_SCRATCH";

    /// <summary>Makes <paramref name="name"/>'s folder for this process: in the run's folder when one is given, else
    /// in /dev/shm (memory: the harnesses write a lot of small files), else the temporary folder.</summary>
    public static string Create(string name, Func<string, string?>? environment = null)
    {
        var given = (environment ?? Environment.GetEnvironmentVariable)(Variable);
        var parent = !string.IsNullOrEmpty(given) ? given : Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        return Directory.CreateDirectory(Path.Combine(parent, $"snapfn-fuzz-{name}-{Environment.ProcessId}")).FullName;
    }
}
