namespace Snapfn.Platform.Logs;

/// <summary>When a function wrote a log line: while it initialised (a snapshot's init, a warm VM's boot) or while it
/// served an invocation.</summary>
public enum FunctionLogPhase
{
    Init,
    Invoke,
}
