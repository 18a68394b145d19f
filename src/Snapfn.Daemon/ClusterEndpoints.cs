using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Snapfn.Cluster.Serving;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Daemon;

/// <summary>
/// What the HTTP API adds on a node of a cluster (<c>snapfn serve --nats</c>): asynchronous invocations
/// (<c>POST /functions/{name}/invoke?async=1</c> or <c>Prefer: respond-async</c> → 202 and <c>Location:
/// /invocations/{id}</c>; <c>GET /invocations/{id}</c> → 202 pending, 200 with the output, the problem the invocation
/// ended with, or 404), and the cluster's function list. Invocations themselves go through
/// <see cref="FrontDoor"/> from <see cref="FunctionEndpoints"/>.
/// </summary>
internal static class ClusterEndpoints
{
    private const string NeedsCluster = "asynchronous invocations need a cluster: start the daemon with `snapfn serve --nats URL`";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/invocations/{id}", Result).WithName("InvocationResult").WithTags("cluster")
            .WithSummary("The result of an asynchronous invocation: 202 while pending, 200 with its output (the headers of a synchronous answer), " +
                "the problem it ended with, or 404 for an id no front door accepted (or whose result outlived its 24 h)")
            .Produces<byte[]>(StatusCodes.Status200OK, "application/octet-stream").Produces<AsyncInvocationResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>The node's cluster, or null for a daemon alone.</summary>
    public static ClusterNode? Of(HttpContext http) => http.RequestServices.GetService<ClusterNode>();

    /// <summary>Whether the client asked for an asynchronous invocation (?async=1|true, or Prefer: respond-async).</summary>
    public static bool WantsAsync(HttpRequest request, string? flag)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (flag is not null)
        {
            return flag switch
            {
                "1" or "true" => true,
                "0" or "false" => false,
                _ => throw new InvalidRequestException($"async must be 1, true, 0 or false (got '{(flag.Length > 16 ? flag[..16] + "…" : flag)}')"),
            };
        }
        return request.Headers["Prefer"].Any(p => p is not null && p.Split(',').Any(t => t.Trim().Equals("respond-async", StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>Queues the request and answers 202 with where its result will be.</summary>
    public static async Task<IResult> SubmitAsync(HttpContext http, ClusterNode? cluster, InvokeRequest request)
    {
        if (cluster is null)
            throw new InvalidRequestException(NeedsCluster);
        var id = await cluster.FrontDoor.SubmitAsync(request, http.RequestAborted);
        var location = $"/invocations/{id}";
        http.Response.Headers.Location = location;
        return TypedResults.Json(new AsyncInvocationResponse(id, "pending", location), DaemonHost.Json, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> Result(string id, HttpContext http)
    {
        var cluster = Of(http) ?? throw new InvalidRequestException(NeedsCluster);
        ProblemContext.Set(http, "invocation_id", id);
        var (state, answer) = await cluster.FrontDoor.ResultAsync(id, http.RequestAborted);
        switch (state)
        {
            case AsyncState.Unknown:
                throw new ClusterInvocationException(new ClassifiedError(ErrorCode.UnknownInvocation,
                    $"no asynchronous invocation {id} is known to the cluster (results are kept for a day): check the id POST …/invoke?async=1 returned"));
            case AsyncState.Pending:
                http.Response.Headers.RetryAfter = "1";
                http.Response.Headers.Location = $"/invocations/{id}";
                return TypedResults.Json(new AsyncInvocationResponse(id, "pending", $"/invocations/{id}"), DaemonHost.Json, statusCode: StatusCodes.Status202Accepted);
            default:
                var result = answer!.ResultOrThrow();
                http.Response.Headers[InvocationIdentity.Header] = id;
                FunctionEndpoints.WriteHeaders(http.Response, result, new FunctionEndpoints.RoutedBy(answer.Worker, answer.FetchMs, answer.RetriedFrom));
                return FunctionEndpoints.WantsJson(http.Request)
                    ? TypedResults.Json(InvocationResponse.From(result), DaemonHost.Json)
                    : TypedResults.Bytes(result.Output, "application/octet-stream");
        }
    }
}
