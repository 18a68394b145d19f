using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

using Snapfn.Platform.Errors;

namespace Snapfn.Daemon;

/// <summary>
/// Every request but GET /healthz must carry "Authorization: Bearer TOKEN" with the daemon's
/// <see cref="AccessToken"/>, wherever the daemon listens: on loopback, any local user and any web page the operator
/// visits can connect too. /metrics is no exception (it names every function and counts their use); Prometheus
/// sends the token with `authorization: {credentials_file: …/token}`. Others get 401 with a problem+json body.
/// </summary>
internal sealed class BearerTokenMiddleware
{
    private const string Scheme = "Bearer ";
    private readonly RequestDelegate _next;
    private readonly AccessToken _token;
    private readonly ILogger<BearerTokenMiddleware> _logger;

    public BearerTokenMiddleware(RequestDelegate next, AccessToken token, ILogger<BearerTokenMiddleware> logger)
    {
        _next = next;
        _token = token;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        // Health probes (load balancers, systemd) carry no secrets and reveal none.
        if (HttpMethods.IsGet(context.Request.Method) && context.Request.Path == "/healthz")
        {
            await _next(context);
            return;
        }
        // The web console's endpoints check their own session cookie (or need none: its login and its static files);
        // only the endpoint routing matched can say so, never the request.
        if (context.GetEndpoint()?.Metadata.GetMetadata<WebConsole.ConsoleEndpoint>() is not null)
        {
            await _next(context);
            return;
        }
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) && _token.Matches(header[Scheme.Length..].Trim()))
        {
            await _next(context);
            return;
        }
        DaemonLog.Unauthorized(_logger, context.Request.Method, context.Request.Path);
        context.Response.Headers.WWWAuthenticate = "Bearer";
        var problem = Problem.For(new ClassifiedError(ErrorCode.Unauthorized,
            // The path stays symbolic: an unauthenticated client learns nothing about the daemon's machine.
            "send 'Authorization: Bearer TOKEN' with the token in $SNAPFN_HOME/token on the daemon's machine " +
            "(the snapfn CLI reads it there itself; elsewhere pass --token or set $SNAPFN_TOKEN)"));
        await problem.ToResult().ExecuteAsync(context);
    }
}
