namespace Snapfn.Platform;

/// <summary>How one invocation is served: on an idle VM of the function, or by restoring a new one from the
/// snapshot, or as a caller's <c>?mode=</c> asked.</summary>
public enum ServePathKind
{
    /// <summary>An idle VM of a function that keeps state, reused as it is.</summary>
    Kept,

    /// <summary>An idle VM reset to the snapshot's state in place (issue 20; not available yet: see
    /// <see cref="ServingFacts.CanResetInPlace"/>).</summary>
    Reset,

    /// <summary>A new VM restored from the snapshot in <see cref="ServePath.Mode"/>, chosen by the platform.</summary>
    Cold,

    /// <summary>The restore mode the caller named with <c>?mode=</c> (experts, the bench).</summary>
    Override,
}

/// <summary>
/// The path that served an invocation, as every response names it (<c>Snapfn-Path</c>, the CLI's output, the
/// metrics' <c>path</c> label): <c>kept</c>, <c>reset</c>, <c>cold-MODE</c> (<c>cold-faasnap</c>, <c>cold-reap</c>,
/// <c>cold-cached</c>, <c>cold-vanilla</c>) or <c>mode-MODE</c> for an override. <see cref="Mode"/> is the restore
/// mechanism that runs (for <c>cold-cached</c>: vanilla's, with the snapshot found in the page cache).
/// </summary>
public sealed record ServePath(ServePathKind Kind, string Mode, string Name)
{
    /// <summary>The platform's label for a restore whose snapshot is wholly in the page cache (the paper's Cached).</summary>
    public const string CachedName = "cached";

    public static ServePath Kept { get; } = new(ServePathKind.Kept, "kept", "kept");

    public static ServePath Reset { get; } = new(ServePathKind.Reset, "reset", "reset");

    /// <summary>A cold restore in <paramref name="mode"/> (a recorded mode or vanilla).</summary>
    public static ServePath Cold(string mode) => new(ServePathKind.Cold, mode, "cold-" + mode);

    /// <summary>A cold restore with the memory file mapped as vanilla does, found in the page cache.</summary>
    public static ServePath ColdCached { get; } = new(ServePathKind.Cold, "vanilla", "cold-" + CachedName);

    public static ServePath Override(string mode) => new(ServePathKind.Override, mode, "mode-" + mode);

    /// <summary>Whether a VM was restored (or booted) for this invocation: what the metrics count as a cold start.</summary>
    public bool IsColdStart => Kind is ServePathKind.Cold || (Kind == ServePathKind.Override && Mode != Snapshots.Backends.WarmMode.Name);

    public override string ToString() => Name;
}
