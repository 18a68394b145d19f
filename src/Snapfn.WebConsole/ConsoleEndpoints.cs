using System.Net.Http.Headers;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Snapfn.WebConsole.Pages;

namespace Snapfn.WebConsole;

/// <summary>What the daemon tells the console: how to check a token typed at the login, how to send it to the API,
/// and the restore modes it offers.</summary>
public sealed record ConsoleAccess(Func<string, bool> TokenMatches, Func<AuthenticationHeaderValue> TokenHeader, IReadOnlyCollection<string> Modes);

/// <summary>
/// The web console under /console, all its endpoints here. Pages need a session (see <see cref="ConsoleSessions"/>):
/// without one a page redirects to the login and anything else gets 401. Every form carries an antiforgery token
/// (validated by ASP.NET Core's antiforgery middleware; the daemon's cross-site guard lets a form body through only
/// to such endpoints), on top of the guard's Host and Origin checks and a SameSite=Strict cookie.
/// </summary>
public static class ConsoleEndpoints
{
    public const string Prefix = "/console";
    public const string LoginPath = Prefix + "/login";
    public const string AntiforgeryHeader = "X-Snapfn-Antiforgery";

    /// <summary>No script or style from elsewhere, no inline script, no framing: a report or a function's output shown
    /// in a page cannot run code with the console's session.</summary>
    private const string ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
        "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

    public static IServiceCollection AddSnapfnConsole(this IServiceCollection services, ConsoleOptions options, ConsoleAccess access)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(access);
        // Keys for the antiforgery tokens live in memory: nothing written to disk, and a restart (which ends every
        // session anyway) makes old forms fail with a clear 400 rather than be accepted. Kept in memory, they need no
        // encryption at rest, so Data Protection's warning that they are not encrypted is not for us.
        services.Configure<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(o => o.XmlRepository = new MemoryKeyRepository());
        services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "snapfn_console_af";
            o.Cookie.Path = Prefix;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__af";
            o.HeaderName = AntiforgeryHeader;
        });
        services.AddRazorComponents();
        services.AddSingleton(options);
        services.AddSingleton(access);
        services.AddSingleton(s => new ConsoleSessions(options, s.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton(s => new DaemonApi(s.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>(), access.TokenHeader));
        services.AddSingleton(_ => new ResultsFolder(options.ResultsDirectory ?? ResultsFolder.FindDefault(AppContext.BaseDirectory)));
        return services;
    }

    public static void MapSnapfnConsole(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var open = app.MapGroup(Prefix).WithMetadata(ConsoleEndpoint.Instance).ExcludeFromDescription().AddEndpointFilter(SecurityHeaders);
        open.MapGet("/assets/{**path}", ConsoleAssets.Serve);
        open.MapGet("/login", LoginHandlers.Show);
        open.MapPost("/login", LoginHandlers.LogIn);

        var pages = open.MapGroup("").AddEndpointFilter(RequireSession);
        pages.MapGet("", () => Results.Redirect(Prefix + "/functions"));
        pages.MapPost("/logout", LoginHandlers.LogOut);
        pages.MapGet("/functions", PageHandlers.Functions);
        pages.MapGet("/deploy", PageHandlers.DeployForm);
        pages.MapPost("/deploy", PageHandlers.Deploy);
        pages.MapGet("/invoke", PageHandlers.InvokeForm);
        pages.MapPost("/invoke", PageHandlers.Invoke);
        pages.MapGet("/logs", LogHandlers.Page);
        pages.MapGet("/logs/{name}/stream", LogHandlers.Stream);
        pages.MapGet("/metrics", PageHandlers.Metrics);
        pages.MapGet("/results/{**path}", ResultHandlers.Serve);
    }

    /// <summary>The page for a component with its parameters.</summary>
    internal static IResult Page<TComponent>(object parameters, int status = StatusCodes.Status200OK)
        where TComponent : Microsoft.AspNetCore.Components.IComponent =>
        new Microsoft.AspNetCore.Http.HttpResults.RazorComponentResult<TComponent>(parameters) { StatusCode = status, PreventStreamingRendering = true };

    /// <summary>The antiforgery tokens a page's forms carry (and sets the cookie that pairs with them).</summary>
    internal static AntiforgeryTokenSet Tokens(HttpContext http) => http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);

    private static async ValueTask<object?> SecurityHeaders(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var headers = context.HttpContext.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // Not "no-referrer": with it a browser sends "Origin: null" on a form's POST, which the cross-site guard
        // rightly refuses. "same-origin" still tells no other site where the user was.
        headers["Referrer-Policy"] = "same-origin";
        return await next(context);
    }

    private static async ValueTask<object?> RequireSession(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var sessions = http.RequestServices.GetRequiredService<ConsoleSessions>();
        if (sessions.IsValid(http.Request.Cookies[ConsoleSessions.CookieName]))
        {
            // Pages show the daemon's live state: never from a cache, never kept by a shared one.
            http.Response.Headers.CacheControl = "no-store";
            return await next(context);
        }
        if (HttpMethods.IsGet(http.Request.Method) && !http.Request.Path.Value!.EndsWith("/stream", StringComparison.Ordinal))
            return Results.Redirect(LoginPath + "?next=" + Uri.EscapeDataString(http.Request.Path + http.Request.QueryString));
        return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
            type: "urn:snapfn:problem:unauthorized", detail: $"log in to the console at {LoginPath} with the daemon's token first",
            extensions: new Dictionary<string, object?> { ["error"] = "unauthorized" });
    }

    /// <summary>A page of the console to go back to after the login; anything else (another site, another path of
    /// the daemon, "//host") is ignored.</summary>
    internal static string SafeNext(string? next) =>
        next is { Length: > 0 and < 2048 } && next.StartsWith(Prefix + "/", StringComparison.Ordinal) && !next.StartsWith("//", StringComparison.Ordinal)
            && !next.Contains('\\', StringComparison.Ordinal) && !next.StartsWith(LoginPath, StringComparison.Ordinal)
            ? next : Prefix + "/functions";
}
