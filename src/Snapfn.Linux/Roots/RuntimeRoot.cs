namespace Snapfn.Linux.Roots;

/// <summary>
/// A finished, read-only root: <see cref="RootDirectory"/> is the tree the guest sees as "/" (its /tmp, /dev and
/// /proc are empty mount points), <see cref="Manifest"/> says exactly which packages it holds.
/// </summary>
public sealed record RuntimeRoot(string Id, string RootDirectory, RootManifest Manifest);

/// <summary>A known runtime and whether its root is built (<see cref="InstalledPackages"/> and <see cref="SizeBytes"/> only if it is).</summary>
public sealed record RuntimeStatus(Runtime Runtime, string Id, bool IsBuilt, string RootDirectory, int? InstalledPackages, long? SizeBytes);
