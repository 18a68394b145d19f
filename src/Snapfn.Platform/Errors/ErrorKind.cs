namespace Snapfn.Platform.Errors;

/// <summary>Whose fault a failure is: what the CLI's exit code and the daemon's status class say, and what a user
/// can do about it. Every error Snapfn reports has exactly one (see <see cref="ErrorClassifier"/>).</summary>
public enum ErrorKind
{
    /// <summary>The request's: a bad flag, name, mode or input, an unknown function, a conflict with what is
    /// registered, a documented limit exceeded. Fixed by changing the request.</summary>
    Request,

    /// <summary>The function's: its code raised, crashed, exited, broke the protocol or ran past its time. Fixed in
    /// the function (or by giving it more time); the platform worked.</summary>
    Function,

    /// <summary>The snapshot's (or a recording's): missing, corrupt, or taken for other code or another root. Fixed
    /// by taking it or recording it again.</summary>
    Snapshot,

    /// <summary>The host's: KVM unusable, an I/O error, a full disk, a runtime root that cannot be built (no network).
    /// Fixed on the machine, not in the request.</summary>
    Host,

    /// <summary>A bug of Snapfn's: nothing the user did explains it. Reported as such, its details in the log.</summary>
    Bug,
}
