using Snapfn.Interop;
using Snapfn.Linux;
using Snapfn.Linux.Files;
using Snapfn.Linux.Loader;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Roots;
using Snapfn.Linux.Syscalls;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Platform.Errors;

/// <summary>
/// The one map from an exception to its <see cref="ClassifiedError"/>: every exception type of the platform and
/// the layers below it, and the framework's I/O exceptions, by type. Layers above (CLI, daemon) classify their own
/// types through <see cref="IClassifiedError"/>. Anything else is a bug of ours. The CLI (exit codes) and the
/// daemon (status, problem type) each map the result, never the exception.
/// </summary>
public static class ErrorClassifier
{
    // Linux's errnos for a full disk and a full quota: .NET and SyscallException carry the errno in HResult.
    private const int Enospc = 28;
    private const int Edquot = 122;

    public static ClassifiedError Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            AggregateException { InnerExceptions.Count: > 0 } aggregate => Classify(aggregate.InnerExceptions[0]),
            IClassifiedError classified => new(classified.Code, exception.Message, classified.Remedy),

            // The request's fault. An inner exception tells which remedy the edge words.
            InvalidRequestException { InnerException: ElfFormatException } => new(ErrorCode.InvalidRequest, exception.Message, ErrorRemedy.BuildFunction),
            InvalidRequestException { InnerException: RootBuildException { Retryable: true } } => new(ErrorCode.InvalidRequest, exception.Message, ErrorRemedy.Retry),
            InvalidRequestException => new(ErrorCode.InvalidRequest, exception.Message),
            FunctionProjectException => new(ErrorCode.InvalidFunction, exception.Message),
            UnknownFunctionException => new(ErrorCode.UnknownFunction, exception.Message),
            FunctionConflictException => new(ErrorCode.Conflict, exception.Message),
            // A capacity that frees up by itself is the host being busy; any other limit is the request's size.
            LimitExceededException { RetryAfter: not null } => new(ErrorCode.Busy, exception.Message, ErrorRemedy.Retry),
            LimitExceededException => new(ErrorCode.LimitExceeded, exception.Message),

            // The function's fault: whatever its guest did, the platform worked.
            FunctionFailedException => new(ErrorCode.FunctionFailed, exception.Message),
            GuestAbortedException => new(ErrorCode.GuestAborted, exception.Message),
            GuestCrashedException or ProgramCrashedException => new(ErrorCode.GuestCrashed, exception.Message),
            ProgramExitedException => new(ErrorCode.GuestExited, exception.Message),
            GuestProtocolException or ChannelException or GuestAddressException => new(ErrorCode.GuestProtocol, exception.Message),
            ProgramDeadlockException => new(ErrorCode.GuestDeadlock, exception.Message),
            GuestTimeoutException => new(ErrorCode.GuestTimeout, exception.Message, ErrorRemedy.RaiseTimeout),
            // The host stopped it (a page it could not serve, a cancelled request): not the function's doing.
            GuestStoppedException => new(ErrorCode.GuestStopped, exception.Message),
            // A system call whose handler failed on the host: the guest only stopped itself, but the cause is ours.
            SyscallFailedException => Bug(exception),
            GuestFailureException => new(ErrorCode.FunctionFailed, exception.Message),
            ElfFormatException => new(ErrorCode.ElfUnusable, exception.Message, ErrorRemedy.BuildFunction),
            ProgramLoadException => new(ErrorCode.ProgramUnusable, exception.Message),

            // The snapshot's fault.
            SnapshotInvalidException { Remedy: { } remedy } => new(ErrorCode.SnapshotUnusable, exception.Message, remedy.Mode is { } mode
                ? ErrorRemedy.Record(remedy.Function, mode) : ErrorRemedy.TakeSnapshot(remedy.Function)),
            SnapshotInvalidException or ProcessRestoreException => new(ErrorCode.SnapshotUnusable, exception.Message),

            // The host's fault.
            KvmUnavailableException => new(ErrorCode.KvmUnavailable, exception.Message),
            RootBuildException { Retryable: true } => new(ErrorCode.RuntimeUnavailable, exception.Message, ErrorRemedy.Retry),
            RootBuildException => new(ErrorCode.RuntimeUnavailable, exception.Message),
            IOException { HResult: Enospc or Edquot } => new(ErrorCode.DiskFull, exception.Message),
            IOException or UnauthorizedAccessException => new(ErrorCode.HostError, exception.Message),

            // The system-call layer turns these into errnos for the guest; one that escapes is a bug, as is anything
            // not named above (a null or out-of-range argument, an invalid operation: an edge should have refused
            // the value first, with a message for the user).
            BadAddressException or SyscallErrorException => Bug(exception),
            _ => Bug(exception),
        };
    }

    private static ClassifiedError Bug(Exception exception) => new(ErrorCode.Internal, exception.Message);
}
