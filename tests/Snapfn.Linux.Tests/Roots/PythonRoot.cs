using Snapfn.Linux.Roots;

namespace Snapfn.Linux.Tests.Roots;

/// <summary>
/// The python runtime's root, for tests that boot python in a VM: built once per test process into
/// $SNAPFN_HOME (else ~/.local/share/snapfn), where the CLI keeps it too, so CI and developers reuse one build.
/// </summary>
public static class PythonRoot
{
    private static readonly Lazy<RuntimeRoot> _root = new(() => new RootBuilder(StateDirectory).Ensure(Runtimes.Python));

    /// <summary>The root's tree: the guest's "/".</summary>
    public static string Directory => _root.Value.RootDirectory;

    public static RuntimeRoot Root => _root.Value;

    /// <summary>Snapfn's own default (SnapfnHome in Snapfn.Platform, which this project does not reference).</summary>
    public static string StateDirectory
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("SNAPFN_HOME");
            if (!string.IsNullOrEmpty(configured))
                return Path.GetFullPath(configured);
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "snapfn");
        }
    }
}

/// <summary>The node runtime's root (Debian's nodejs), built once per test process where the python root is.</summary>
public static class NodeRoot
{
    private static readonly Lazy<RuntimeRoot> _root = new(() => new RootBuilder(PythonRoot.StateDirectory).Ensure(Runtimes.Node));

    /// <summary>The root's tree: the guest's "/".</summary>
    public static string Directory => _root.Value.RootDirectory;
}
