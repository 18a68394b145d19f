using Snapfn.Platform;

namespace Snapfn.Cli;

/// <summary>Picks the root directory a Linux program runs in: --root, or a runtime's root (built on first use).</summary>
public static class RuntimeRoots
{
    public static string Resolve(string? runtime, string? root)
    {
        if (root is not null)
        {
            if (runtime is not null)
                throw new UsageException("give either --runtime or --root, not both");
            if (!Directory.Exists(root))
                throw new UsageException($"--root {root} is not a directory");
            return Path.GetFullPath(root);
        }
        throw new UsageException("runtimes are not wired in yet: pass --root DIR");
    }
}
