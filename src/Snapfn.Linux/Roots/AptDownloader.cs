using System.Globalization;
using System.Text.RegularExpressions;

namespace Snapfn.Linux.Roots;

/// <summary>
/// Resolves and downloads a package closure with apt-get on a private state under <c>&lt;state&gt;/apt</c>:
/// its own sources list, package lists and an empty dpkg status, so apt computes the full closure and none of
/// the host's apt state is read, locked or changed. APT_CONFIG points at a private apt.conf that also moves
/// Dir::Etc, because the host's apt.conf.d would otherwise run its hooks (appstream, packagekit) after our
/// update. A proxy set there is not read either; apt still honours http_proxy from the environment.
/// </summary>
internal sealed partial class AptDownloader
{
    private static readonly TimeSpan _listsMaxAge = TimeSpan.FromDays(1);
    private static readonly TimeSpan _timeout = TimeSpan.FromMinutes(15);

    private readonly string _directory;
    private readonly DebianSources _sources;
    private readonly int _retries;

    public AptDownloader(string directory, DebianSources sources, int retries)
    {
        _directory = directory;
        _sources = sources;
        _retries = retries;
    }

    private string ListsDirectory => Path.Combine(_directory, "lists");

    private string StampPath => Path.Combine(_directory, "lists.stamp");

    private string ConfigPath => Path.Combine(_directory, "apt.conf");

    /// <summary>Downloads the closure of <paramref name="key"/>'s packages into <paramref name="archives"/>; returns the .debs.</summary>
    public IReadOnlyList<string> Download(RootKey key, string archives, IProgress<RootProgress>? progress, CancellationToken cancellationToken)
    {
        var aptGet = ToolProcess.Find("apt-get")
            ?? throw new RootBuildException("apt-get not found: building runtime roots needs Debian's apt (install apt, or run snapfn on Debian or Ubuntu)");
        if (!File.Exists(_sources.Keyring))
            throw new RootBuildException($"{_sources.Keyring} not found: apt needs it to check Debian's signatures (install debian-archive-keyring)");

        Directory.CreateDirectory(_directory);
        // Builds of different roots share the lists: one apt at a time on them.
        using var aptLock = ExclusiveLock.Acquire(Path.Combine(_directory, "lock"),
            () => progress?.Report(new RootProgress(RootPhase.Waiting, "waiting for another snapfn updating the package lists")), cancellationToken);
        Prepare();
        var updated = false;
        if (!ListsAreFresh())
        {
            Update(aptGet, progress, cancellationToken);
            updated = true;
        }

        Directory.CreateDirectory(Path.Combine(archives, "partial"));
        var result = Install(aptGet, key, archives, progress, cancellationToken);
        // A 404 usually means the lists name a version the archive has since replaced (security updates do).
        if (result.ExitCode != 0 && !updated && result.Errors.Any(e => e.StartsWith("Failed to fetch", StringComparison.Ordinal)))
        {
            Update(aptGet, progress, cancellationToken);
            result = Install(aptGet, key, archives, progress, cancellationToken);
        }
        if (result.ExitCode != 0)
            throw InstallFailure(result, key);
        var debs = Directory.GetFiles(archives, "*.deb").Order(StringComparer.Ordinal).ToList();
        if (debs.Count == 0)
            throw new RootBuildException($"apt-get downloaded nothing for {string.Join(", ", key.Packages)}:\n{result.Tail(10)}");
        return debs;
    }

    /// <summary>Writes the private configuration; a changed sources list makes the lists stale.</summary>
    private void Prepare()
    {
        var etc = Path.Combine(_directory, "etc");
        foreach (var dir in new[] { Path.Combine(etc, "apt.conf.d"), Path.Combine(etc, "preferences.d"), Path.Combine(etc, "trusted.gpg.d"),
            Path.Combine(_directory, "state"), Path.Combine(ListsDirectory, "partial"), Path.Combine(_directory, "cache"), Path.Combine(_directory, "log") })
        {
            Directory.CreateDirectory(dir);
        }
        if (WriteIfChanged(Path.Combine(etc, "sources.list"), _sources.SourcesList()))
            File.Delete(StampPath);
        // Empty: as far as apt knows nothing is installed, so it downloads every dependency.
        var status = Path.Combine(_directory, "status");
        if (!File.Exists(status) || new FileInfo(status).Length != 0)
            File.WriteAllText(status, "");
        WriteIfChanged(ConfigPath, Config(etc, status));
    }

    private string Config(string etc, string status)
    {
        foreach (var path in new[] { _directory, _sources.Keyring })
        {
            if (path.Any(c => c is '"' || char.IsControl(c)))
                throw new RootBuildException($"cannot configure apt with '{path}': apt.conf cannot quote '\"' or control characters; use another folder");
        }
        // Architecture fixed to amd64: the guests are x86-64 whatever else the host's dpkg has been told about.
        return $$"""
            Dir::Etc "{{etc}}/";
            Dir::Etc::main "/dev/null";
            Dir::Etc::parts "{{etc}}/apt.conf.d/";
            Dir::Etc::sourcelist "{{etc}}/sources.list";
            Dir::Etc::sourceparts "-";
            Dir::State "{{_directory}}/state/";
            Dir::State::lists "{{ListsDirectory}}/";
            Dir::State::status "{{status}}";
            Dir::Cache "{{_directory}}/cache/";
            Dir::Cache::pkgcache "";
            Dir::Cache::srcpkgcache "";
            Dir::Log "{{_directory}}/log/";
            Debug::NoLocking "true";
            APT::Architecture "amd64";
            APT::Architectures { "amd64"; };
            APT::Install-Recommends "false";
            APT::Install-Suggests "false";
            APT::Update::Error-Mode "any";
            Acquire::Languages "none";
            Acquire::GzipIndexes "true";
            Acquire::Retries "{{_retries.ToString(CultureInfo.InvariantCulture)}}";

            """;
    }

    private bool ListsAreFresh() =>
        File.Exists(StampPath) && DateTime.UtcNow - File.GetLastWriteTimeUtc(StampPath) < _listsMaxAge && HasLists();

    private bool HasLists() => Directory.EnumerateFiles(ListsDirectory, "*_Packages*").Any();

    private void Update(string aptGet, IProgress<RootProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new RootProgress(RootPhase.UpdatingLists, $"updating the Debian {_sources.Suite} package lists"));
        var result = Run(aptGet, ["update"], line =>
        {
            if (line.StartsWith("Get:", StringComparison.Ordinal) || line.StartsWith("Hit:", StringComparison.Ordinal))
                progress?.Report(new RootProgress(RootPhase.UpdatingLists, line));
        }, cancellationToken);
        if (result.ExitCode == 0)
        {
            File.WriteAllText(StampPath, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture) + "\n");
            return;
        }
        var reason = FetchReason(result) ?? string.Join("; ", result.Errors.DefaultIfEmpty(result.Tail(5)));
        // The stamp goes with the sources list: lists it vouches for are this list's, only older.
        if (File.Exists(StampPath) && HasLists())
        {
            // Yesterday's lists usually still name downloadable packages; if not, the download says so.
            progress?.Report(new RootProgress(RootPhase.UpdatingLists,
                $"could not update the package lists ({reason}); using the lists from {File.GetLastWriteTimeUtc(StampPath):yyyy-MM-dd HH:mm} UTC", IsWarning: true));
            return;
        }
        throw new RootBuildException($"could not download the Debian package lists from {_sources.Host} ({reason}): check network access to {_sources.Host}") { Retryable = true };
    }

    private ToolResult Install(string aptGet, RootKey key, string archives, IProgress<RootProgress>? progress, CancellationToken cancellationToken)
    {
        var total = 0;
        var done = 0;
        progress?.Report(new RootProgress(RootPhase.Downloading, $"resolving the dependencies of {string.Join(", ", key.Packages)}"));
        return Run(aptGet, ["-y", "--download-only", "-o", $"Dir::Cache::archives={archives}/", "install", .. key.Packages], line =>
        {
            if (NewlyInstalled().Match(line) is { Success: true } summary)
            {
                total = int.Parse(summary.Groups[1].Value, CultureInfo.InvariantCulture);
                progress?.Report(new RootProgress(RootPhase.Downloading, $"downloading {total} packages", 0, total));
            }
            else if (line.StartsWith("Get:", StringComparison.Ordinal))
            {
                done++;
                progress?.Report(new RootProgress(RootPhase.Downloading, Fetched().Match(line) is { Success: true } m ? m.Groups[1].Value : line, done, Math.Max(total, done)));
            }
        }, cancellationToken);
    }

    private ToolResult Run(string aptGet, IEnumerable<string> arguments, Action<string> onLine, CancellationToken cancellationToken) =>
        ToolProcess.Run(aptGet, arguments, _timeout, cancellationToken, info =>
        {
            info.Environment["APT_CONFIG"] = ConfigPath;
            // Messages are parsed: keep them in English.
            info.Environment["LC_ALL"] = "C";
            info.Environment["LANGUAGE"] = null;
            info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        }, onLine);

    private RootBuildException InstallFailure(ToolResult result, RootKey key)
    {
        var missing = new List<string>();
        foreach (var error in result.Errors)
        {
            if (MissingPackage().Match(error) is { Success: true } m)
                missing.Add(m.Groups["name"].Value);
        }
        if (missing.Count > 0)
        {
            var names = string.Join(", ", missing.Distinct(StringComparer.Ordinal));
            return new RootBuildException(
                $"Debian {_sources.Suite} has no installable package {names} (apt: {string.Join("; ", result.Errors)}): " +
                $"check the name at https://packages.debian.org/{_sources.Suite}/ and network access to {_sources.Host}") { Retryable = true };
        }
        if (FetchReason(result) is { } reason)
            return new RootBuildException($"could not download the packages of {string.Join(", ", key.Packages)} from {_sources.Host} ({reason}): check network access to {_sources.Host}") { Retryable = true };
        var said = result.Errors.Count > 0 ? string.Join("\n", result.Errors) : result.Tail(10);
        return new RootBuildException($"apt-get could not resolve {string.Join(", ", key.Packages)} (exit code {result.ExitCode}):\n{said}");
    }

    /// <summary>"Failed to fetch URL  reason": the reason of the first such error.</summary>
    private static string? FetchReason(ToolResult result)
    {
        var failed = result.Errors.FirstOrDefault(e => e.StartsWith("Failed to fetch", StringComparison.Ordinal));
        if (failed is null)
            return null;
        var gap = failed.IndexOf("  ", StringComparison.Ordinal);
        return gap < 0 ? failed : failed[(gap + 2)..].Trim();
    }

    private static bool WriteIfChanged(string path, string contents)
    {
        if (File.Exists(path) && File.ReadAllText(path) == contents)
            return false;
        File.WriteAllText(path, contents);
        return true;
    }

    [GeneratedRegex(@"^(?:Unable to locate package (?<name>\S+)|Package '(?<name>[^']+)' has no installation candidate|Couldn't find any package by (?:glob|regex) '(?<name>[^']+)')")]
    private static partial Regex MissingPackage();

    [GeneratedRegex(@"^\d+ upgraded, (\d+) newly installed")]
    private static partial Regex NewlyInstalled();

    /// <summary>"Get:12 http://deb.debian.org/debian bookworm/main amd64 libc6 amd64 2.36-9 [2757 kB]": the package part.</summary>
    [GeneratedRegex(@"^Get:\d+ \S+ \S+ \S+ (\S+ \S+ \S+)")]
    private static partial Regex Fetched();
}
