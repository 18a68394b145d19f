using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Snapfn.Daemon;

/// <summary>
/// Listening beyond loopback: every request but GET /healthz must carry "Authorization: Bearer TOKEN" with the
/// daemon's <see cref="AccessToken"/>; others get 401 with a problem+json body.
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
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) && _token.Matches(header[Scheme.Length..].Trim()))
        {
            await _next(context);
            return;
        }
        DaemonLog.Unauthorized(_logger, context.Request.Method, context.Request.Path);
        context.Response.Headers.WWWAuthenticate = "Bearer";
        var problem = new Problem(StatusCodes.Status401Unauthorized, "Unauthorized", "unauthorized",
            "this daemon listens beyond loopback: send 'Authorization: Bearer TOKEN' with the token from $SNAPFN_HOME/token on the daemon's machine");
        await problem.ToResult().ExecuteAsync(context);
    }
}
