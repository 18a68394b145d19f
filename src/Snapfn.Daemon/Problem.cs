using Microsoft.AspNetCore.Http;
using Snapfn.Interop;
using Snapfn.Linux.Roots;
using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Daemon;

/// <summary>What an exception means to a client: the HTTP status, a title, a stable error code (also the metrics'
/// error label) and whether it is the client's or the guest's doing rather than the daemon's.</summary>
public sealed record Problem(int Status, string Title, string Error, string Detail)
{
    /// <summary>Expected failures: a request the client can fix or a guest that failed. Null for anything else,
    /// which the daemon answers with a bare 500 and logs in full.</summary>
    public static Problem? From(Exception exception) => exception switch
    {
        AggregateException { InnerExceptions.Count: > 0 } aggregate => From(aggregate.InnerExceptions[0]),
        InvalidRequestException e => new(StatusCodes.Status400BadRequest, "Invalid request", "invalid-request", e.InnerException switch
        {
            ElfFormatException => $"{e.Message}; build it with `snapfn build` and send the ELF it writes",
            RootBuildException { Retryable: true } => $"{e.Message}, then send the request again",
            _ => e.Message,
        }),
        UnknownFunctionException e => new(StatusCodes.Status404NotFound, "Unknown function", "unknown-function", e.Message),
        FunctionConflictException e => new(StatusCodes.Status409Conflict, "Conflict", "conflict", e.Message),
        SnapshotInvalidException e => new(StatusCodes.Status409Conflict, "Snapshot or recording missing or unusable", "snapshot-unusable",
            e.Remedy is { } remedy ? $"{e.Message}: {Words(remedy)}" : e.Message),
        RequestTooLargeException e => new(StatusCodes.Status413PayloadTooLarge, "Request body too large", "body-too-large", e.Message),
        // A capacity that frees up by itself is the daemon being busy; any other limit is the request's size.
        LimitExceededException { RetryAfter: not null } e => new(StatusCodes.Status503ServiceUnavailable, "Busy", "busy", e.Message),
        LimitExceededException e => new(StatusCodes.Status400BadRequest, "Limit exceeded", "limit-exceeded", e.Message),
        BadHttpRequestException e when e.StatusCode == StatusCodes.Status413PayloadTooLarge =>
            new(StatusCodes.Status413PayloadTooLarge, "Request body too large", "body-too-large", e.Message),
        BadHttpRequestException e => new(e.StatusCode, "Bad request", "bad-request", e.Message),
        GuestTimeoutException e => new(StatusCodes.Status504GatewayTimeout, "Guest timed out", "guest-timeout",
            $"{e.Message}; raise ?timeout= (seconds) if it needs longer"),
        GuestCrashedException e => new(StatusCodes.Status502BadGateway, "Guest crashed", "guest-crashed", e.Message),
        GuestAbortedException e => new(StatusCodes.Status502BadGateway, "Guest aborted the request", "guest-aborted", e.Message),
        GuestProtocolException e => new(StatusCodes.Status502BadGateway, "Guest broke the hypercall protocol", "guest-protocol", e.Message),
        GuestStoppedException e => new(StatusCodes.Status502BadGateway, "Guest stopped", "guest-stopped", e.Message),
        // A Linux program's failure (its handler raised, it exited): its text is the function's, bounded when answered.
        GuestFailureException e => new(StatusCodes.Status502BadGateway, "Function failed", "function-failed", e.Message),
        ElfFormatException e => new(StatusCodes.Status500InternalServerError, "Function ELF unusable", "elf-unusable", e.Message),
        KvmUnavailableException e => new(StatusCodes.Status503ServiceUnavailable, "KVM unavailable", "kvm-unavailable", e.Message),
        SyscallException e => new(StatusCodes.Status500InternalServerError, "Host system call failed", "host-error", e.Message),
        _ => null,
    };

    /// <summary>The fix for a bad snapshot or recording, as the request that makes it.</summary>
    private static string Words(SnapshotRemedy remedy) => remedy.Mode is { } mode
        ? $"record it with POST /functions/{remedy.Function}/record?mode={mode}"
        : $"take the snapshot with POST /functions/{remedy.Function}/snapshot";

    /// <summary>True when the request never named a function and mode that exist (no metrics series for those).</summary>
    public bool IsAboutTheRequest => Error is "invalid-request" or "unknown-function" or "body-too-large" or "bad-request" or "limit-exceeded" or "busy";

    public IResult ToResult(IDictionary<string, object?>? extensions = null)
    {
        var all = new Dictionary<string, object?>(StringComparer.Ordinal) { ["error"] = Error };
        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
                all[key] = value;
        }
        return Results.Problem(detail: Detail, statusCode: Status, title: Title, extensions: all);
    }
}

/// <summary>A request body over the endpoint's limit (checked before and while reading it).</summary>
public sealed class RequestTooLargeException : Exception
{
    public RequestTooLargeException(string message) : base(message) { }

    public RequestTooLargeException() { }

    public RequestTooLargeException(string message, Exception innerException) : base(message, innerException) { }
}
