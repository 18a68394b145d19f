namespace Snapfn.Linux.Roots;

/// <summary>The steps of building a root, in order.</summary>
public enum RootPhase
{
    /// <summary>Another process holds the lock on this root or on the package lists.</summary>
    Waiting,
    UpdatingLists,
    Downloading,
    Extracting,
    CompilingBytecode,
    Done,
}

/// <summary>
/// One step of a build. <see cref="Done"/> of <see cref="Total"/> counts packages while downloading and
/// extracting (0 of 0 otherwise). A warning does not stop the build; the text says what was skipped.
/// </summary>
public sealed record RootProgress(RootPhase Phase, string Text, int Done = 0, int Total = 0, bool IsWarning = false);
