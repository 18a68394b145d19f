namespace Snapfn.Bench.Cluster;

/// <summary>
/// A worker's own SNAPFN_HOME for the experiment: its registry, functions and snapshots are its own, but its runtime
/// roots (roots/, and the .deb cache apt/ they are built from) are links to the user's home. Building Debian's python3
/// root takes minutes and would be the same in each; a snapshot names the root it was taken with, so a worker that
/// fetches one must have the same root either way. On loopback the three share one page cache regardless.
/// </summary>
public static class WorkerHome
{
    public static readonly IReadOnlyList<string> Shared = ["roots", "apt"];

    /// <summary>Creates <paramref name="home"/> with links to <paramref name="sharedHome"/>'s roots and apt cache
    /// (made there first when missing, so that every worker links to one folder).</summary>
    public static void Prepare(string home, string sharedHome)
    {
        Directory.CreateDirectory(home);
        foreach (var name in Shared)
        {
            var target = Path.Combine(sharedHome, name);
            Directory.CreateDirectory(target);
            var link = Path.Combine(home, name);
            if (!Path.Exists(link))
                Directory.CreateSymbolicLink(link, target);
        }
    }
}
