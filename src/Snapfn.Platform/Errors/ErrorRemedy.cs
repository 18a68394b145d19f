namespace Snapfn.Platform.Errors;

/// <summary>What fixes an error, as data: each surface words it in its own terms (`snapfn record f --mode reap`
/// on the command line, <c>POST /functions/f/record?mode=reap</c> over HTTP; <c>--timeout</c> or
/// <c>?timeout=</c>). Remedies that read the same everywhere are part of the message instead.</summary>
public sealed record ErrorRemedy(RemedyAction Action, string? Function = null, string? Mode = null)
{
    public static ErrorRemedy TakeSnapshot(string function) => new(RemedyAction.TakeSnapshot, function);

    public static ErrorRemedy Record(string function, string mode) => new(RemedyAction.Record, function, mode);

    public static ErrorRemedy RaiseTimeout { get; } = new(RemedyAction.RaiseTimeout);

    public static ErrorRemedy BuildFunction { get; } = new(RemedyAction.BuildFunction);

    public static ErrorRemedy Retry { get; } = new(RemedyAction.Retry);
}

/// <summary>The fixes a surface knows how to word.</summary>
public enum RemedyAction
{
    /// <summary>Take <see cref="ErrorRemedy.Function"/>'s snapshot again.</summary>
    TakeSnapshot,

    /// <summary>Record <see cref="ErrorRemedy.Function"/> in <see cref="ErrorRemedy.Mode"/> again.</summary>
    Record,

    /// <summary>Give the guest more time.</summary>
    RaiseTimeout,

    /// <summary>Build the function with the Snapfn SDK and send what it writes.</summary>
    BuildFunction,

    /// <summary>Repeat the same command or request once what the message names is fixed.</summary>
    Retry,
}
