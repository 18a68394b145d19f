using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Daemon;

/// <summary>
/// Turns exceptions into problem+json answers (RFC 9457) so that one failed request never takes the daemon with
/// it: every failure as the status its error code maps to (<see cref="Problem"/>), a bug of ours as a 500 whose
/// details stay in the log.
/// </summary>
internal sealed class ProblemMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ILogger<ProblemMiddleware> _logger;
    private readonly DaemonOptions _options;

    public ProblemMiddleware(RequestDelegate next, ILogger<ProblemMiddleware> logger, DaemonOptions options)
    {
        _next = next;
        _logger = logger;
        _options = options;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is no one to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var problem = Problem.From(e);
            // A bug of ours is logged with its stack; an expected failure (the request's, the function's, the
            // snapshot's, the host's) in one line, as the client reads it.
            if (problem.Kind == ErrorKind.Bug)
                DaemonLog.Unexpected(_logger, context.Request.Method, context.Request.Path, e);
            else
            {
                // A guest chooses its error's text: bound it before it is logged and sent, at every failure.
                problem = problem with { Detail = ErrorText.Bound(problem.Detail, _options.MaxErrorTextBytes) };
                DaemonLog.RequestFailed(_logger, context.Request.Method, context.Request.Path, problem.Status, problem.Error, problem.Detail);
            }
            context.Response.Clear();
            if ((e as IRetryAfter ?? e.InnerException as IRetryAfter)?.RetryAfter is { } retry)
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            // In a cluster: the worker the request reached (that answered this error, or vanished with it).
            if (e is Cluster.Serving.ClusterInvocationException { Worker: { } worker })
                context.Response.Headers[Cluster.Serving.WireHeaders.Worker] = worker;
            await problem.ToResult(ProblemContext.Get(context)).ExecuteAsync(context);
        }
    }
}

/// <summary>Facts an endpoint learned (the function, the mode) that belong in its problem answer.</summary>
internal static class ProblemContext
{
    private static readonly object _key = new();

    public static void Set(HttpContext context, string key, object? value)
    {
        if (context.Items[_key] is not Dictionary<string, object?> facts)
            context.Items[_key] = facts = new Dictionary<string, object?>(StringComparer.Ordinal);
        facts[key] = value;
    }

    public static IDictionary<string, object?>? Get(HttpContext context) => context.Items[_key] as Dictionary<string, object?>;
}
