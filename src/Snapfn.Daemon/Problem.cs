using Microsoft.AspNetCore.Http;
using Snapfn.Platform.Errors;

namespace Snapfn.Daemon;

/// <summary>
/// An error as the HTTP API answers it (problem+json, RFC 9457): the status, the problem <c>type</c>
/// (<c>urn:snapfn:problem:CODE</c>), a title, the stable code as <c>error</c> (also the metrics' error label) and a
/// detail that ends with the remedy in the API's own terms. The status comes from the error's code alone, in
/// <see cref="StatusOf"/>: the request's fault is a 4xx, the function's a 502 (504 when it timed out), a bad snapshot
/// 409, the host's a 5xx that says what failed, a bug of ours a bare 500 whose details stay in the log.
/// </summary>
public sealed record Problem(int Status, string Title, string Error, string Detail)
{
    /// <summary>Problem types are URNs: stable names, not pages to fetch (RFC 9457 §3.1.1 allows that).</summary>
    public const string TypePrefix = "urn:snapfn:problem:";

    public string Type => TypePrefix + Error;

    /// <summary>Whose fault it is, from the code (a code this daemon does not know counts as ours).</summary>
    public ErrorKind Kind => ErrorCode.Find(Error)?.Kind ?? ErrorKind.Bug;

    /// <summary>True when the request is at fault, often without naming a function and mode that exist (no metrics
    /// series for those).</summary>
    public bool IsAboutTheRequest => Kind == ErrorKind.Request;

    public static Problem From(Exception exception) => exception switch
    {
        // Kestrel's own refusals (a body over its limit, a query value that is not a number) carry their status.
        BadHttpRequestException e when e.StatusCode == StatusCodes.Status413PayloadTooLarge => For(new ClassifiedError(ErrorCode.BodyTooLarge, e.Message)),
        BadHttpRequestException e => new(e.StatusCode, ErrorCode.BadRequest.Title, ErrorCode.BadRequest.Name, e.Message),
        _ => For(ErrorClassifier.Classify(exception), exception.GetType().Name),
    };

    /// <summary>The answer for <paramref name="error"/>; a bug's message stays in the log, the client learns only
    /// <paramref name="exceptionType"/>.</summary>
    public static Problem For(ClassifiedError error, string exceptionType = "")
    {
        ArgumentNullException.ThrowIfNull(error);
        var detail = error.Kind == ErrorKind.Bug
            ? $"the daemon failed unexpectedly{(exceptionType.Length > 0 ? $" ({exceptionType})" : "")}; its log has the details"
            : error.Message + Words(error.Remedy);
        return new(StatusOf(error.Code), error.Code.Title, error.Code.Name, detail);
    }

    /// <summary>The answer for a status set without an error (routing's 404, 405 and 415): a request error keeping
    /// that status, as Kestrel's own refusals are in <see cref="From"/>.</summary>
    public static Problem ForStatus(int status, string method, string path)
    {
        var detail = status switch
        {
            StatusCodes.Status404NotFound => $"there is no {path} here: the API's paths are listed in /openapi.json",
            StatusCodes.Status405MethodNotAllowed => $"{path} does not take {method}: its methods are listed in /openapi.json",
            _ => $"{method} {path} was refused ({status}): see /openapi.json for the API",
        };
        // Routing refuses a Content-Type an endpoint does not accept, even with no body (the cross-site guard
        // checks only bodies): the same code as the guard's.
        if (status == StatusCodes.Status415UnsupportedMediaType)
            return For(new ClassifiedError(ErrorCode.UnsupportedMediaType,
                $"{method} {path} does not take this Content-Type: send none without a body, else a type listed for it in /openapi.json"));
        return new(status, Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } reason ? reason : ErrorCode.BadRequest.Title,
            ErrorCode.BadRequest.Name, detail);
    }

    /// <summary>The one map from an error code to an HTTP status.</summary>
    public static int StatusOf(ErrorCode code)
    {
        ArgumentNullException.ThrowIfNull(code);
        return code.Name switch
        {
            "unknown-function" or "unknown-invocation" => StatusCodes.Status404NotFound,
            "conflict" => StatusCodes.Status409Conflict,
            "unauthorized" => StatusCodes.Status401Unauthorized,
            "foreign-host" => StatusCodes.Status421MisdirectedRequest,
            "cross-site" => StatusCodes.Status403Forbidden,
            "unsupported-media-type" => StatusCodes.Status415UnsupportedMediaType,
            "body-too-large" => StatusCodes.Status413PayloadTooLarge,
            "too-many-requests" => StatusCodes.Status429TooManyRequests,
            "guest-timeout" => StatusCodes.Status504GatewayTimeout,
            "kvm-unavailable" or "runtime-unavailable" or "guest-stopped" or "busy" or "no-workers" => StatusCodes.Status503ServiceUnavailable,
            "worker-lost" => StatusCodes.Status502BadGateway,
            "disk-full" => StatusCodes.Status507InsufficientStorage,
            _ => code.Kind switch
            {
                ErrorKind.Request => StatusCodes.Status400BadRequest,
                // A gateway's answer for an upstream that failed: the function did, the daemon did not.
                ErrorKind.Function => StatusCodes.Status502BadGateway,
                ErrorKind.Snapshot => StatusCodes.Status409Conflict,
                _ => StatusCodes.Status500InternalServerError,
            },
        };
    }

    /// <summary>The error model in a few lines and every code with its status, for the OpenAPI document: made from
    /// the same maps as the answers, so the two cannot disagree.</summary>
    public static string Describe()
    {
        var text = new System.Text.StringBuilder("""
            Errors are problem+json (RFC 9457). `type` is `urn:snapfn:problem:CODE`, `error` the same CODE (stable,
            also the metrics' error label), `detail` says what went wrong and what to do. Whose fault it is sets the
            status: the request's a 4xx, the function's (it raised, crashed, exited, broke the protocol) a 502 and its
            timeout a 504, an unusable snapshot or recording 409, the host's a 5xx naming what failed, a bug of the
            daemon's a 500 whose details are in its log only.

            | code | fault | status |
            |---|---|---|

            """);
        foreach (var code in ErrorCode.All)
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"| `{code.Name}` | {code.Kind.ToString().ToLowerInvariant()} | {StatusOf(code)} |\n");
        return text.ToString();
    }

    /// <summary>The remedy as the API's request that makes it.</summary>
    private static string Words(ErrorRemedy? remedy) => remedy?.Action switch
    {
        null => "",
        RemedyAction.TakeSnapshot => $": take the snapshot with POST /functions/{remedy.Function}/snapshot",
        RemedyAction.Record => $": record it with POST /functions/{remedy.Function}/record?mode={remedy.Mode}",
        RemedyAction.RaiseTimeout => "; raise ?timeout= (seconds) if it needs longer",
        RemedyAction.BuildFunction => "; build it with `snapfn build` and send the ELF it writes",
        RemedyAction.Retry => ", then send the request again",
        _ => "",
    };

    public IResult ToResult(IDictionary<string, object?>? extensions = null)
    {
        var all = new Dictionary<string, object?>(StringComparer.Ordinal) { ["error"] = Error };
        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
                all[key] = value;
        }
        return Results.Problem(detail: Detail, statusCode: Status, title: Title, type: Type, extensions: all);
    }
}

/// <summary>A request body over the endpoint's limit (checked before and while reading it).</summary>
public sealed class RequestTooLargeException : Exception, IClassifiedError
{
    public RequestTooLargeException(string message) : base(message) { }

    public RequestTooLargeException() { }

    public RequestTooLargeException(string message, Exception innerException) : base(message, innerException) { }

    public ErrorCode Code => ErrorCode.BodyTooLarge;
}
