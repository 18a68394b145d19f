using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Daemon;

/// <summary>
/// Refuses what a web page could make the operator's browser send: a request for another host name (DNS rebinding,
/// where evil.example resolves to 127.0.0.1 and the page then reads the answers as its own), a request from another
/// origin (the browser says so in Origin and Sec-Fetch-Site), and a body of a type a page may send without a CORS
/// preflight (text/plain, form encoding, or none). Runs before authentication, so that a browser holding no token
/// is turned away for the right reason, and checks every request whatever the listen address.
/// </summary>
public sealed partial class CrossSiteGuard
{
    private static readonly string[] _simpleTypes = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"];
    private readonly HashSet<string> _names;

    /// <param name="allowedHosts">Host names clients use besides localhost and IP addresses (--allowed-host), e.g. a
    /// reverse proxy's or the machine's own name.</param>
    public CrossSiteGuard(IEnumerable<string> allowedHosts)
    {
        ArgumentNullException.ThrowIfNull(allowedHosts);
        _names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost" };
        foreach (var name in allowedHosts)
        {
            if (!HostName().IsMatch(name))
                throw new InvalidRequestException($"--allowed-host {name}: give a DNS name such as snapfn.example.org (no scheme, port or path)");
            _names.Add(name);
        }
    }

    /// <summary>Null when the request may go on; otherwise the answer it gets.</summary>
    public Problem? Check(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var host = request.Host.Host;
        // HTTP/1.0 may send no Host; a browser always sends one.
        if (request.Host.HasValue && !IsAllowed(host))
            return Problem.For(new ClassifiedError(ErrorCode.ForeignHost,
                $"this daemon does not answer for host '{host}' (it answers for localhost, IP addresses and the names given with " +
                "--allowed-host): address it by IP or localhost, or start it with `snapfn serve --allowed-host NAME`"));
        var origin = request.Headers.Origin.ToString();
        // Same origin is exactly scheme://Host as the browser sent it; "null" (sandboxed frames, file:) never is.
        if (origin.Length > 0 && !string.Equals(origin, $"http://{request.Host}", StringComparison.OrdinalIgnoreCase))
            return CrossSite($"a page of {origin} may not use this daemon");
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Equals("cross-site", StringComparison.OrdinalIgnoreCase) || site.Equals("same-site", StringComparison.OrdinalIgnoreCase))
            return CrossSite($"the browser marked this request {site}; only the daemon's own origin and non-browser clients may use it");
        return HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) ? null : CheckBody(request);
    }

    private static Problem? CheckBody(HttpRequest request)
    {
        // A type that does not parse is treated as none: refused when there is a body.
        var media = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value : null;
        var endpoint = request.HttpContext.GetEndpoint();
        // A form is what a page of another site can post without asking, so it is taken only by an endpoint that
        // validates an antiforgery token (the web console's forms), which such a page cannot have.
        var checksForgery = endpoint?.Metadata.GetMetadata<IAntiforgeryMetadata>() is { RequiresValidation: true };
        if (media is not null && _simpleTypes.Contains(media, StringComparer.OrdinalIgnoreCase) && !(checksForgery && !media.Equals("text/plain", StringComparison.OrdinalIgnoreCase)))
            return Unsupported($"Content-Type {media} is what any web page may send without asking; send the body as application/octet-stream " +
                "(curl: -H 'Content-Type: application/octet-stream' --data-binary @file)");
        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0;
        // An unknown path is answered 404 by routing; an empty body needs no type.
        if (endpoint is null || !hasBody)
            return null;
        var accepted = endpoint.Metadata.GetMetadata<IAcceptsMetadata>()?.ContentTypes ?? [];
        if (accepted.Count == 0)
            return Unsupported($"{request.Method} {request.Path} takes no body");
        if (media is null || !accepted.Contains(media, StringComparer.OrdinalIgnoreCase))
            return Unsupported($"{request.Method} {request.Path} takes a body of type {string.Join(" or ", accepted)}" +
                (media is null ? ", and this one has no Content-Type" : $", not {media}"));
        return null;
    }

    private bool IsAllowed(string host)
    {
        if (_names.Contains(host))
            return true;
        // An address cannot be rebound: a page's origin is then the address itself, which the Origin check covers.
        // Only the canonical spelling counts, so that no name a resolver would look up ("0x7f.1") passes as one.
        var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(bare, out var address) && string.Equals(address.ToString(), bare, StringComparison.OrdinalIgnoreCase)
            && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork || host.StartsWith('['));
    }

    private static Problem CrossSite(string detail) => Problem.For(new ClassifiedError(ErrorCode.CrossSite,
        $"{detail}: call it from the snapfn CLI, curl or a server-side client (no browser page)"));

    private static Problem Unsupported(string detail) => Problem.For(new ClassifiedError(ErrorCode.UnsupportedMediaType, detail));

    [GeneratedRegex(@"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]
    private static partial Regex HostName();
}

/// <summary>Answers what <see cref="CrossSiteGuard"/> refuses, before the request reaches authentication.</summary>
internal sealed class CrossSiteGuardMiddleware
{
    private readonly RequestDelegate _next;
    private readonly CrossSiteGuard _guard;
    private readonly ILogger<CrossSiteGuardMiddleware> _logger;

    public CrossSiteGuardMiddleware(RequestDelegate next, CrossSiteGuard guard, ILogger<CrossSiteGuardMiddleware> logger)
    {
        _next = next;
        _guard = guard;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        if (_guard.Check(context.Request) is { } problem)
        {
            DaemonLog.CrossSite(_logger, context.Request.Method, context.Request.Path, problem.Error, problem.Detail);
            await problem.ToResult().ExecuteAsync(context);
            return;
        }
        await _next(context);
    }
}
