using Snapfn.Interop;

namespace Snapfn.Linux.Roots;

/// <summary>
/// Builds read-only runtime roots from Debian packages under a state folder: <c>roots/&lt;id&gt;/root/</c> (the
/// tree) and <c>roots/&lt;id&gt;/manifest.json</c>, with the apt state that resolves them in <c>apt/</c>. A root
/// is built in <c>roots/.build-&lt;id&gt;-&lt;random&gt;</c> and renamed into place, under an exclusive lock on
/// <c>roots/&lt;id&gt;.lock</c>: a reader sees a whole root or none, and two builders of one root build it once.
/// </summary>
public sealed class RootBuilder
{
    public const string TreeName = "root";

    /// <summary>Empty directories the VMM mounts over.</summary>
    private static readonly string[] _mountPoints = ["tmp", "dev", "proc"];

    private readonly AptDownloader _apt;
    private readonly DebianSources _sources;

    public RootBuilder(string stateDirectory, DebianSources? sources = null) : this(stateDirectory, sources ?? DebianSources.Bookworm, acquireRetries: 3) { }

    /// <summary>For tests: <paramref name="acquireRetries"/> 0 makes an unreachable mirror fail at once.</summary>
    internal RootBuilder(string stateDirectory, DebianSources sources, int acquireRetries)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        ArgumentNullException.ThrowIfNull(sources);
        StateDirectory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(stateDirectory));
        RootsDirectory = Path.Combine(StateDirectory, "roots");
        _sources = sources;
        _apt = new AptDownloader(Path.Combine(StateDirectory, "apt"), sources, acquireRetries);
    }

    public string StateDirectory { get; }

    public string RootsDirectory { get; }

    /// <summary>The root's folder (holding <see cref="TreeName"/> and the manifest), built or not.</summary>
    public string FolderOf(RootKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Path.Combine(RootsDirectory, key.Id);
    }

    /// <summary>The <paramref name="runtime"/>'s root, built first if it is not.</summary>
    public RuntimeRoot Ensure(Runtime runtime, IProgress<RootProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return Ensure(runtime.Key, progress, cancellationToken);
    }

    /// <summary>The root of exactly <paramref name="packages"/> and their dependencies, built first if it is not.</summary>
    public RuntimeRoot Ensure(IEnumerable<string> packages, IProgress<RootProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Ensure(RootKey.For(packages), progress, cancellationToken);

    public bool IsBuilt(IEnumerable<string> packages) => TryOpen(RootKey.For(packages)) is not null;

    /// <summary>The finished root of <paramref name="key"/>, or null if it has not been built.</summary>
    public RuntimeRoot? TryOpen(RootKey key)
    {
        var folder = FolderOf(key);
        var manifest = Path.Combine(folder, RootManifest.FileName);
        var tree = Path.Combine(folder, TreeName);
        if (!File.Exists(manifest) || !Directory.Exists(tree))
            return null;
        try
        {
            var loaded = RootManifest.Load(manifest);
            return loaded.Id == key.Id ? new RuntimeRoot(key.Id, tree, loaded) : null;
        }
        catch (InvalidDataException)
        {
            // Rebuilt by the next Ensure; a manifest is only ever written whole, so this is someone's edit.
            return null;
        }
    }

    public RuntimeStatus Status(Runtime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var root = TryOpen(runtime.Key);
        var tree = Path.Combine(FolderOf(runtime.Key), TreeName);
        return root is null
            ? new RuntimeStatus(runtime, runtime.Key.Id, false, tree, null, null)
            : new RuntimeStatus(runtime, root.Id, true, tree, root.Manifest.Packages.Count, RootTree.Size(tree));
    }

    /// <summary>Every runtime Snapfn knows by name, and the state of its root.</summary>
    public IReadOnlyList<RuntimeStatus> List() => Runtimes.All.Select(Status).ToList();

    private RuntimeRoot Ensure(RootKey key, IProgress<RootProgress>? progress, CancellationToken cancellationToken)
    {
        if (TryOpen(key) is { } built)
            return Done(built, progress);
        Directory.CreateDirectory(RootsDirectory);
        using var rootLock = ExclusiveLock.Acquire(Path.Combine(RootsDirectory, key.Id + ".lock"),
            () => progress?.Report(new RootProgress(RootPhase.Waiting, $"waiting for another snapfn building root {key.Id}")), cancellationToken);
        if (TryOpen(key) is { } builtMeanwhile)
            return Done(builtMeanwhile, progress);
        RemoveLeftovers(key);
        return Done(Build(key, progress, cancellationToken), progress);
    }

    private RuntimeRoot Build(RootKey key, IProgress<RootProgress>? progress, CancellationToken cancellationToken)
    {
        var build = Path.Combine(RootsDirectory, $".build-{key.Id}-{Guid.NewGuid().ToString("N")[..8]}");
        var tree = Path.Combine(build, TreeName);
        var archives = Path.Combine(build, "debs");
        try
        {
            var debs = _apt.Download(key, archives, progress, cancellationToken);
            var packages = DebExtractor.ExtractAll(debs, tree, progress, cancellationToken);
            CheckRequested(key, packages);
            UsrMerge.Apply(tree);
            Alternatives.Apply(debs, tree, cancellationToken);
            foreach (var mountPoint in _mountPoints)
                Directory.CreateDirectory(Path.Combine(tree, mountPoint));
            var bytecode = BytecodeCompiler.Compile(tree, progress, cancellationToken);
            Directory.Delete(archives, recursive: true);

            var sorted = packages.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Architecture, StringComparer.Ordinal).ToList();
            var manifest = new RootManifest
            {
                Id = key.Id,
                Requested = key.Packages,
                Packages = sorted,
                PackagesSha256 = RootManifest.HashPackages(sorted),
                Suite = _sources.Suite,
                Created = DateTimeOffset.UtcNow,
                Bytecode = bytecode.Bytecode,
                Notes = bytecode.Note is null ? [] : [bytecode.Note],
            };
            // The tree's files reach the disk before the manifest that says they are there.
            FlushFileSystem(build, cancellationToken);
            manifest.Write(Path.Combine(build, RootManifest.FileName));
            cancellationToken.ThrowIfCancellationRequested();
            var folder = FolderOf(key);
            Directory.Move(build, folder);
            DurableFile.FlushDirectory(RootsDirectory);
            return new RuntimeRoot(key.Id, Path.Combine(folder, TreeName), manifest);
        }
        finally
        {
            RemoveBuild(build);
        }
    }

    /// <summary>
    /// apt installs a virtual package's provider, or what a pattern matches, without complaint: a root must hold
    /// each package by the name it is keyed under.
    /// </summary>
    private static void CheckRequested(RootKey key, IReadOnlyList<RootPackage> packages)
    {
        var names = packages.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var absent = key.Packages.Where(p => !names.Contains(p)).ToList();
        if (absent.Count > 0)
            throw new RootBuildException($"{string.Join(", ", absent)}: not a real package (apt installed something else for it, a provider or a match); name the package itself");
    }

    /// <summary>Under the root's lock: builds that crashed, and a root folder without a manifest (a half-done delete).</summary>
    private void RemoveLeftovers(RootKey key)
    {
        foreach (var stale in Directory.EnumerateDirectories(RootsDirectory, $".build-{key.Id}-*"))
            Directory.Delete(stale, recursive: true);
        var folder = FolderOf(key);
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
    }

    /// <summary>Best effort, so that the build's own error is the one reported; the next build of this root retries.</summary>
    private static void RemoveBuild(string build)
    {
        try
        {
            if (Directory.Exists(build))
                Directory.Delete(build, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Named .build-*: never taken for a root, and removed under the lock before the next build.
        }
    }

    private static RuntimeRoot Done(RuntimeRoot root, IProgress<RootProgress>? progress)
    {
        progress?.Report(new RootProgress(RootPhase.Done, $"root {root.Id}: {root.Manifest.Packages.Count} packages in {root.RootDirectory}"));
        return root;
    }

    /// <summary>
    /// Flushes the file system holding <paramref name="path"/> (syncfs): one call instead of an fsync for each of
    /// a root's thousands of files. Best effort: a file system that cannot sync keeps whatever it keeps.
    /// </summary>
    private static void FlushFileSystem(string path, CancellationToken cancellationToken)
    {
        if (ToolProcess.Find("sync") is { } sync)
            _ = ToolProcess.Run(sync, ["--file-system", path], TimeSpan.FromMinutes(5), cancellationToken);
    }
}
