using Snapfn.Linux;
using Snapfn.Platform.Errors;
using Snapfn.Vmm;

namespace Snapfn.Cli;

/// <summary>A mistake on the command line or in its inputs; the message says what to do.</summary>
public sealed class UsageException : Exception, IClassifiedError
{
    public UsageException(string message) : base(message) { }

    public UsageException() { }

    public UsageException(string message, Exception innerException) : base(message, innerException) { }

    public ErrorCode Code => ErrorCode.InvalidRequest;
}

/// <summary>Turns every failure into one line on stderr and an exit code, from its classification
/// (<see cref="ErrorClassifier"/>): the exit code from its kind (<see cref="ExitCodeOf"/>), the remedy worded as the
/// command that applies it.</summary>
public static class CliErrors
{
    /// <summary>The function's, the snapshot's or the host's fault.</summary>
    public const int Failure = 1;
    /// <summary>The request's fault: a bad flag, name, mode or input, a conflict, a limit exceeded.</summary>
    public const int Usage = 2;
    /// <summary>A bug of Snapfn's, not the user's (sysexits' EX_SOFTWARE).</summary>
    public const int Internal = 70;

    public static int Guard(Func<int> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            return action();
        }
        catch (Exception e)
        {
            var verbose = Environment.GetEnvironmentVariable("SNAPFN_VERBOSE") == "1";
            var error = ErrorClassifier.Classify(e);
            if (error.Kind == ErrorKind.Bug)
            {
                // Not a failure a user can cause: one line saying so, the stack only when asked for.
                var bug = e is AggregateException { InnerExceptions.Count: > 0 } aggregate ? aggregate.InnerExceptions[0] : e;
                // A daemon's bug has its stack in the daemon's log, not here.
                Console.Error.WriteLine(bug is IClassifiedError
                    ? $"snapfn: {bug.Message}; a bug of Snapfn's: please report it, with the daemon's log"
                    : $"snapfn: internal error ({bug.GetType().Name}): {bug.Message}; please report it, with SNAPFN_VERBOSE=1 for the stack");
                if (verbose)
                    Console.Error.WriteLine(e);
                return Internal;
            }
            Console.Error.WriteLine($"snapfn: {error.Message}{Words(error.Remedy)}");
            if (verbose && (e as GuestCrashedException ?? (e as ProgramCrashedException)?.Crash) is { } crash)
                Console.Error.WriteLine(crash.RegisterDump);
            return ExitCodeOf(error.Kind);
        }
    }

    /// <summary>The one map from whose fault it is to the exit code (README, "Exit codes").</summary>
    public static int ExitCodeOf(ErrorKind kind) => kind switch
    {
        ErrorKind.Request => Usage,
        ErrorKind.Function or ErrorKind.Snapshot or ErrorKind.Host => Failure,
        _ => Internal,
    };

    /// <summary>An error reported rather than thrown (a deploy's snapshot): its message and its remedy in CLI words.</summary>
    public static string Describe(ClassifiedError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.Message + Words(error.Remedy);
    }

    /// <summary>The remedy as the CLI command or option that applies it.</summary>
    private static string Words(ErrorRemedy? remedy) => remedy?.Action switch
    {
        null => "",
        RemedyAction.TakeSnapshot => $": take the snapshot with `snapfn snapshot {remedy.Function}`",
        RemedyAction.Record => $": record it with `snapfn record {remedy.Function} --mode {remedy.Mode}`",
        RemedyAction.RaiseTimeout => "; raise --timeout if it needs longer",
        RemedyAction.BuildFunction => "; build it with `snapfn build DIR`",
        RemedyAction.Retry => ", then run the command again",
        _ => "",
    };
}
