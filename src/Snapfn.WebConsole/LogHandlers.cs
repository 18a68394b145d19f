using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Snapfn.WebConsole.Pages;

namespace Snapfn.WebConsole;

/// <summary>A line a function wrote, as GET /functions/{name}/logs returns it.</summary>
public sealed record LogEntry(long Id, string InvocationId, string Time, string Stream, string Path, string Text)
{
    public static LogEntry? From(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
            return null;
        string Field(string name) => e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : v.ToString() : "";
        var id = e.TryGetProperty("id", out var i) && i.TryGetInt64(out var n) ? n : 0;
        return new LogEntry(id, Field("invocation_id"), Field("time"), Field("stream"), Field("path"), Field("text"));
    }

    /// <summary>The time as the page shows it: UTC to the millisecond (console.js's <c>shownTime</c> writes live lines
    /// the same way); a time the daemon wrote in another form is shown as it came.</summary>
    public string ShownTime =>
        DateTimeOffset.TryParse(Time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture) + " UTC"
            : Time;
}

/// <summary>
/// The Logs page reads a function's logs through the API's GET /functions/{name}/logs (newest first, paged with
/// `next`) and follows it through the same endpoint's `?follow=1` Server-Sent Events, relayed to the browser as they
/// come.
/// </summary>
internal static class LogHandlers
{
    public static async Task<IResult> Page(HttpContext http, DaemonApi api, string? function, string? next)
    {
        var functions = await api.GetAsync("functions", http.RequestAborted);
        var names = functions.Json is { ValueKind: JsonValueKind.Array } a
            ? a.EnumerateArray().Select(f => f.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "").Where(n => n.Length > 0).ToList()
            : [];
        var entries = new List<LogEntry>();
        string? older = null;
        ApiProblem? problem = null;
        if (!string.IsNullOrEmpty(function))
        {
            var answer = await api.GetAsync($"functions/{Uri.EscapeDataString(function)}/logs" + (string.IsNullOrEmpty(next) ? "" : $"?before={Uri.EscapeDataString(next)}"), http.RequestAborted);
            problem = answer.Problem;
            if (answer.Json is { ValueKind: JsonValueKind.Object } page)
            {
                // The daemon's contract (FunctionLogsResponse): `lines`, newest first, and `next_before`, the cursor of
                // the page after this one.
                if (page.TryGetProperty("lines", out var list) && list.ValueKind == JsonValueKind.Array)
                    entries.AddRange(list.EnumerateArray().Select(LogEntry.From).OfType<LogEntry>());
                if (page.TryGetProperty("next_before", out var n) && n.ValueKind is JsonValueKind.String or JsonValueKind.Number)
                    older = n.ToString();
            }
        }
        return ConsoleEndpoints.Page<LogsPage>(new
        {
            Tokens = ConsoleEndpoints.Tokens(http), Functions = names, Function = function ?? "",
            Entries = entries, Older = older, Problem = problem, Following = string.IsNullOrEmpty(next),
        });
    }

    /// <summary>Relays the API's event stream (`?follow=1`) to the page, event by event, from the line after
    /// <paramref name="after"/> (the newest the page shows) or, when the browser reconnects, after its Last-Event-ID:
    /// the daemon then sends only what the page lacks.</summary>
    public static async Task Stream(HttpContext http, DaemonApi api, string name, long? after)
    {
        var resume = long.TryParse(http.Request.Headers["Last-Event-ID"], out var id) && id > 0 ? id : after is > 0 ? after : null;
        using var upstream = await api.OpenStreamAsync($"functions/{Uri.EscapeDataString(name)}/logs?follow=1", resume, http.RequestAborted);
        if (!upstream.IsSuccessStatusCode)
        {
            http.Response.StatusCode = StatusCodes.Status502BadGateway;
            await http.Response.WriteAsync($"the daemon answered {(int)upstream.StatusCode}: {await upstream.Content.ReadAsStringAsync(http.RequestAborted)}", http.RequestAborted);
            return;
        }
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-store";
        await using var source = await upstream.Content.ReadAsStreamAsync(http.RequestAborted);
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, http.RequestAborted)) > 0)
            {
                await http.Response.Body.WriteAsync(buffer.AsMemory(0, read), http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The page went away: so does the relay.
        }
    }
}
