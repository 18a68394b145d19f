using System.Text.RegularExpressions;

namespace Snapfn.Linux.Roots;

/// <summary>
/// Debian's alternatives for the root: packages such as libblas3 and libopenblas0-serial do not ship
/// /usr/lib/x86_64-linux-gnu/libblas.so.3 itself; their postinst registers it with `update-alternatives
/// --install LINK NAME PATH PRIORITY`, and dpkg is not run here. This reads those calls from each package's
/// postinst and makes, for every NAME, LINK a symlink to the highest-priority PATH present in the root (the
/// choice `update-alternatives --auto` would make), without the /etc/alternatives indirection.
/// </summary>
internal static partial class Alternatives
{
    private static readonly TimeSpan _timeout = TimeSpan.FromMinutes(1);

    public static int Apply(IReadOnlyList<string> debs, string root, CancellationToken cancellationToken)
    {
        var dpkgDeb = ToolProcess.Find("dpkg-deb") ?? throw new RootBuildException("dpkg-deb is not installed: run Snapfn on Debian (package dpkg)");
        var choices = new Dictionary<string, (string Link, string Path, int Priority)>(StringComparer.Ordinal);
        foreach (var deb in debs)
        {
            var result = ToolProcess.Run(dpkgDeb, ["--info", deb, "postinst"], _timeout, cancellationToken);
            if (result.ExitCode != 0)
                continue; // no postinst
            var script = string.Join('\n', result.Output).Replace("\\\n", " ", StringComparison.Ordinal);
            foreach (Match m in Install().Matches(script))
            {
                var (link, name, path) = (m.Groups["link"].Value, m.Groups["name"].Value, m.Groups["path"].Value);
                var priority = int.Parse(m.Groups["priority"].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (RootTree.Resolve(root, path) is null)
                    continue;
                if (!choices.TryGetValue(name, out var best) || priority > best.Priority)
                    choices[name] = (link, path, priority);
            }
        }
        foreach (var (link, path, _) in choices.Values)
        {
            var parent = RootTree.Resolve(root, Path.GetDirectoryName(link)!)
                ?? throw new RootBuildException($"the alternative {link} lives in a folder the root does not have");
            var host = Path.Combine(parent, Path.GetFileName(link));
            if (File.Exists(host) || Directory.Exists(host) || new FileInfo(host).LinkTarget is not null)
                continue; // a package ships the file itself
            File.CreateSymbolicLink(host, path);
        }
        return choices.Count;
    }

    // Only literal paths: a call built from shell variables is not one this can replay.
    [GeneratedRegex(@"update-alternatives\s+--install\s+(?<link>/[^\s$`]+)\s+(?<name>[^\s$`]+)\s+(?<path>/[^\s$`]+)\s+(?<priority>\d+)")]
    private static partial Regex Install();
}
