using Snapfn.Cli.Remote;
using Snapfn.Interop;
using Snapfn.Linux;
using Snapfn.Linux.Loader;
using Snapfn.Linux.Roots;
using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Cli;

/// <summary>A mistake on the command line or in its inputs; the message says what to do.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }

    public UsageException() { }

    public UsageException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>Turns the failures a user can cause into one line on stderr and a non-zero exit code.</summary>
public static class CliErrors
{
    public const int Failure = 1;
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
            if (Describe(e) is { } described)
            {
                Console.Error.WriteLine($"snapfn: {described.Message}");
                if (e is GuestCrashedException crash && verbose)
                    Console.Error.WriteLine(crash.RegisterDump);
                return described.Code;
            }
            // Not a failure a user can cause: one line saying so, the stack only when asked for.
            Console.Error.WriteLine($"snapfn: internal error ({e.GetType().Name}): {e.Message}; please report it, with SNAPFN_VERBOSE=1 for the stack");
            if (verbose)
                Console.Error.WriteLine(e);
            return Internal;
        }
    }

    private static (string Message, int Code)? Describe(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: > 0 } aggregate => Describe(aggregate.InnerExceptions[0]),
        InvalidRequestException { InnerException: ElfFormatException } => ($"{e.Message}; build it with `snapfn build DIR`", Usage),
        InvalidRequestException { InnerException: RootBuildException { Retryable: true } } => ($"{e.Message}, then run the command again", Usage),
        RootBuildException { Retryable: true } => ($"{e.Message}, then run the command again", Failure),
        UsageException or UnknownFunctionException or InvalidRequestException => (e.Message, Usage),
        FunctionConflictException or FunctionProjectException => (e.Message, Failure),
        LimitExceededException => (e.Message, Failure),
        // A 4xx is the request's fault (as a usage error locally); anything else is the daemon's or the guest's.
        DaemonRequestException remote => (remote.Message, remote.Status is >= 400 and < 500 and not 401 and not 409 and not 413 ? Usage : Failure),
        // The remedy names the CLI's own option; the daemon names its query parameter (Problem.cs).
        GuestTimeoutException => ($"{e.Message}; raise --timeout if it needs longer", Failure),
        SnapshotInvalidException { Remedy: { } remedy } => ($"{e.Message}: {Words(remedy)}", Failure),
        GuestFailureException or ProgramLoadException or SnapshotInvalidException or ElfFormatException or KvmUnavailableException or SyscallException or RootBuildException => (e.Message, Failure),
        FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => (e.Message, Failure),
        ProcessRestoreException or IOException => (e.Message, Failure),
        // A null or out-of-range argument is a bug; a plain ArgumentException is a bad name or value from the user.
        ArgumentNullException or ArgumentOutOfRangeException => null,
        ArgumentException => (e.Message, Usage),
        _ => null,
    };

    /// <summary>The fix for a bad snapshot or recording, as the CLI command that makes it.</summary>
    private static string Words(SnapshotRemedy remedy) => remedy.Mode is { } mode
        ? $"record it with `snapfn record {remedy.Function} --mode {mode}`"
        : $"take the snapshot with `snapfn snapshot {remedy.Function}`";
}
