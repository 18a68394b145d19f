using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace Snapfn.WebConsole;

/// <summary>The console's own files (its CSS and script, vendored uPlot with its licence), embedded in this assembly:
/// served by exact name only, so no path can reach anything else. They hold nothing secret, so the login page may use
/// them before any session exists.</summary>
internal static class ConsoleAssets
{
    private static readonly Assembly _assembly = typeof(ConsoleAssets).Assembly;
    private static readonly HashSet<string> _names = new(_assembly.GetManifestResourceNames().Where(n => n.StartsWith("console/", StringComparison.Ordinal)), StringComparer.Ordinal);

    public static IResult Serve(string? path, HttpContext http)
    {
        var name = "console/" + (path ?? "");
        if (!_names.Contains(name))
            return Results.NotFound();
        var type = Path.GetExtension(name) switch
        {
            ".js" => "text/javascript",
            ".css" => "text/css",
            _ => "text/plain; charset=utf-8",
        };
        http.Response.Headers.CacheControl = "no-cache";
        return Results.Stream(_assembly.GetManifestResourceStream(name)!, type);
    }
}
