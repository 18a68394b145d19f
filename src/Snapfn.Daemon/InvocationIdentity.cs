using Microsoft.AspNetCore.Http;
using Snapfn.Platform;

namespace Snapfn.Daemon;

/// <summary>
/// Gives an HTTP invocation its id before it runs and sends it back as <c>Snapfn-Invocation-Id</c> on whatever answer
/// the request gets: a success, or a problem (the header is set when the response starts, after the problem
/// middleware has cleared the failed endpoint's headers; the problem's body names it too). A client learns under
/// which id to read a failed invocation's output with `snapfn logs`.
/// </summary>
internal static class InvocationIdentity
{
    public const string Header = "Snapfn-Invocation-Id";

    public static string Assign(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var id = InvocationId.New();
        ProblemContext.Set(http, "invocation_id", id);
        var response = http.Response;
        response.OnStarting(() =>
        {
            response.Headers[Header] = id;
            return Task.CompletedTask;
        });
        return id;
    }
}
