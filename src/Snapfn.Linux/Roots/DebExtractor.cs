using System.Security.Cryptography;

namespace Snapfn.Linux.Roots;

/// <summary>Unpacks .debs into a root with dpkg-deb -x: files only, no maintainer scripts, nothing on the host.</summary>
internal static class DebExtractor
{
    private static readonly TimeSpan _timeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Extracts <paramref name="debs"/> into <paramref name="root"/> one after another, in name order, so that a
    /// path two packages both ship ends up the same on every build.
    /// </summary>
    public static IReadOnlyList<RootPackage> ExtractAll(IReadOnlyList<string> debs, string root, IProgress<RootProgress>? progress, CancellationToken cancellationToken)
    {
        var dpkgDeb = ToolProcess.Find("dpkg-deb")
            ?? throw new RootBuildException("dpkg-deb not found: building runtime roots needs Debian's dpkg (install dpkg, or run snapfn on Debian or Ubuntu)");
        Directory.CreateDirectory(root);
        var packages = new List<RootPackage>(debs.Count);
        foreach (var deb in debs.Select(d => (Path: d, Package: Describe(dpkgDeb, d, cancellationToken))).OrderBy(d => d.Package.Name, StringComparer.Ordinal))
        {
            progress?.Report(new RootProgress(RootPhase.Extracting, $"{deb.Package.Name} {deb.Package.Version}", packages.Count + 1, debs.Count));
            var result = ToolProcess.Run(dpkgDeb, ["-x", deb.Path, root], _timeout, cancellationToken);
            if (result.ExitCode != 0)
                throw new RootBuildException($"dpkg-deb could not extract {Path.GetFileName(deb.Path)} (exit code {result.ExitCode}):\n{result.Tail(10)}");
            packages.Add(deb.Package);
        }
        return packages;
    }

    /// <summary>The package's own control fields, not the file name apt chose, and the archive's SHA-256.</summary>
    private static RootPackage Describe(string dpkgDeb, string deb, CancellationToken cancellationToken)
    {
        var result = ToolProcess.Run(dpkgDeb, ["--field", deb, "Package", "Version", "Architecture"], _timeout, cancellationToken);
        var fields = result.Output
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
        if (result.ExitCode != 0 || !fields.TryGetValue("Package", out var name) || !fields.TryGetValue("Version", out var version)
            || !fields.TryGetValue("Architecture", out var architecture))
        {
            throw new RootBuildException($"{deb} is not a readable Debian package (dpkg-deb --field exited with {result.ExitCode}):\n{result.Tail(5)}");
        }
        using var stream = File.OpenRead(deb);
        return new RootPackage(name, version, architecture, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }
}
