using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Snapfn.WebConsole.Pages;

namespace Snapfn.WebConsole;

/// <summary>The login (the daemon's token, typed once, exchanged for a session cookie) and the logout.</summary>
internal static class LoginHandlers
{
    public static IResult Show(HttpContext http, string? next) =>
        ConsoleEndpoints.Page<LoginPage>(new { Tokens = ConsoleEndpoints.Tokens(http), Next = ConsoleEndpoints.SafeNext(next) });

    public static IResult LogIn(HttpContext http, ConsoleAccess access, ConsoleSessions sessions, ILoggerFactory loggers,
        [FromForm] string? token, [FromForm] string? next)
    {
        next = ConsoleEndpoints.SafeNext(next);
        var presented = (token ?? "").Trim();
        if (presented.Length == 0 || presented.Length > 200 || !access.TokenMatches(presented))
        {
            ConsoleLog.LoginRefused(loggers.CreateLogger("Snapfn.WebConsole"), http.Connection.RemoteIpAddress?.ToString() ?? "?");
            return ConsoleEndpoints.Page<LoginPage>(new
            {
                Tokens = ConsoleEndpoints.Tokens(http), Next = next,
                Error = "That is not this daemon's token. It is in $SNAPFN_HOME/token on the daemon's machine " +
                    "(by default ~/.local/share/snapfn/token): `cat` it and paste it here.",
            }, StatusCodes.Status401Unauthorized);
        }
        var (value, expires) = sessions.Start();
        http.Response.Cookies.Append(ConsoleSessions.CookieName, value, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            // Secure wherever the browser came over HTTPS (a TLS proxy); plain http://127.0.0.1 cannot keep a Secure cookie.
            Secure = http.Request.IsHttps,
            Path = ConsoleEndpoints.Prefix,
            Expires = expires,
            IsEssential = true,
        });
        return Results.Redirect(next);
    }

    public static IResult LogOut(HttpContext http, ConsoleSessions sessions, [FromForm(Name = "__af")] string? antiforgery)
    {
        _ = antiforgery; // bound from the form so that the antiforgery check applies to this POST
        sessions.End(http.Request.Cookies[ConsoleSessions.CookieName]);
        http.Response.Cookies.Delete(ConsoleSessions.CookieName, new CookieOptions { Path = ConsoleEndpoints.Prefix });
        return Results.Redirect(ConsoleEndpoints.LoginPath);
    }
}
