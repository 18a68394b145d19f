using Microsoft.AspNetCore.Http;
using Snapfn.WebConsole.Pages;

namespace Snapfn.WebConsole;

/// <summary>GET /console/results/PATH: a folder's reports, a report rendered, or one of its images.</summary>
internal static class ResultHandlers
{
    public static IResult Serve(HttpContext http, ResultsFolder results, ConsoleOptions options, string? path)
    {
        var resolved = results.Resolve(path);
        switch (resolved.Kind)
        {
            case ResultKind.File:
                // An SVG opened on its own is a document: it runs in a sandbox, with no script.
                http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
                return Results.File(resolved.FullPath!, resolved.ContentType);
            case ResultKind.Report:
                var size = new FileInfo(resolved.FullPath!).Length;
                if (size > options.MaxReportBytes)
                    return Page(http, resolved, null, $"this report is {Show.Bytes(size)}, more than the console renders ({Show.Bytes(options.MaxReportBytes)}); open the file itself",
                        StatusCodes.Status413PayloadTooLarge);
                var html = ResultsFolder.Render(File.ReadAllText(resolved.FullPath!));
                // Its charts: the images beside it that it does not show itself.
                var charts = ResultsFolder.Charts(resolved.FullPath!)
                    .Where(name => !html.Contains($"src=\"{name}\"", StringComparison.Ordinal)).ToList();
                return Page(http, resolved, html, null, charts: charts);
            case ResultKind.Folder:
                return Page(http, resolved, null, null);
            default:
                return Page(http, resolved, null, resolved.Reason, StatusCodes.Status404NotFound);
        }
    }

    private static IResult Page(HttpContext http, ResultPath resolved, string? html, string? error, int status = StatusCodes.Status200OK,
        IReadOnlyList<string>? charts = null) =>
        ConsoleEndpoints.Page<ResultsPage>(new
        {
            Tokens = ConsoleEndpoints.Tokens(http), Path = resolved.Relative, Html = html, Error = error,
            Entries = resolved.Kind == ResultKind.Folder ? ResultsFolder.List(resolved.FullPath!) : [],
            IsFolder = resolved.Kind == ResultKind.Folder,
            Charts = charts ?? [],
        }, status);
}
