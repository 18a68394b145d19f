using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Net.Http.Headers;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform;
using Snapfn.Platform.Logs;

namespace Snapfn.Daemon;

/// <summary>
/// GET /functions/{name}/logs: what a function wrote, newest first in pages (?before=ID&amp;limit=N), or followed as
/// Server-Sent Events (?follow=1 or Accept: text/event-stream): the last ?limit= lines, then each new line as it is
/// stored, one <c>line</c> event each with the line's id as the event id (a client that reconnects with
/// Last-Event-ID gets what it missed from the store). A follower that falls behind is sent a <c>dropped</c> event
/// and the stream ends; followers are bounded (limit "log-followers").
/// </summary>
internal static class LogEndpoints
{
    public const string EventStream = "text/event-stream";
    private const int DefaultLimit = 100;
    private const int DefaultFollowBacklog = 20;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/functions/{name}/logs", Logs).WithName("FunctionLogs").WithTags("functions")
            .WithSummary("What the function wrote to stdout and stderr, per invocation, newest first; ?before=ID&limit=N pages, " +
                "?follow=1 (or Accept: text/event-stream) follows as Server-Sent Events")
            .Produces<FunctionLogsResponse>(StatusCodes.Status200OK, "application/json").Produces(StatusCodes.Status200OK, contentType: EventStream)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> Logs(string name, HttpContext http, FunctionService service, IHostApplicationLifetime lifetime,
        [FromQuery] long? before, [FromQuery] int? limit, [FromQuery] string? follow)
    {
        ProblemContext.Set(http, "function", name);
        _ = service.Get(name); // an unknown function is a 404, not an empty page
        if (limit is { } l && (l < 1 || l > FunctionLogStore.MaxPage))
            throw new InvalidRequestException($"limit must be between 1 and {FunctionLogStore.MaxPage} (got {l})");
        if (before is < 1)
            throw new InvalidRequestException($"before must be a line id (1 or more; got {before})");
        if (Follows(http.Request, follow))
        {
            if (before is not null)
                throw new InvalidRequestException("follow starts at the newest lines: leave out before");
            await FollowAsync(name, http, service.Logs, limit ?? DefaultFollowBacklog, lifetime.ApplicationStopping);
            return Results.Empty;
        }
        var lines = service.Logs.Page(name, before, limit ?? DefaultLimit);
        var next = lines.Count == (limit ?? DefaultLimit) && lines.Count > 0 ? lines[^1].Id : (long?)null;
        return TypedResults.Json(new FunctionLogsResponse(lines.Select(FunctionLogLineResponse.From).ToList(), next), DaemonHost.Json);
    }

    private static bool Follows(HttpRequest request, string? follow)
    {
        if (follow is not null)
        {
            return follow switch
            {
                "1" or "true" => true,
                "0" or "false" => false,
                _ => throw new InvalidRequestException($"follow must be 1 or 0 (got '{follow}')"),
            };
        }
        return request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals(EventStream, StringComparison.OrdinalIgnoreCase) && a.Quality is not 0);
    }

    /// <summary>Follows first (so no line falls between the backlog and the live ones), sends the backlog — the
    /// lines after Last-Event-ID, or the newest <paramref name="backlog"/> — then the live lines not already sent.</summary>
    private static async Task FollowAsync(string name, HttpContext http, FunctionLogStore logs, int backlog, CancellationToken stopping)
    {
        using var subscription = logs.Feed.Follow(name);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        var response = http.Response;
        response.ContentType = EventStream;
        response.Headers.CacheControl = "no-cache";
        // Proxies (nginx) buffer responses unless told not to; events must arrive as they happen.
        response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            await StreamAsync(name, http, logs, subscription, backlog, cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // The client went away, or the daemon stops: the stream just ends.
        }
    }

    private static async Task StreamAsync(string name, HttpContext http, FunctionLogStore logs, FunctionLogSubscription subscription, int backlog,
        CancellationToken cancel)
    {
        var response = http.Response;
        await response.WriteAsync(": following " + name + "\n\n", cancel);
        await response.Body.FlushAsync(cancel);

        long last = 0;
        if (LastEventId(http.Request) is { } resume)
        {
            last = resume;
            // What the client missed, from the store, a page at a time.
            while (true)
            {
                var missed = logs.After(name, last, FunctionLogStore.MaxPage);
                foreach (var line in missed)
                    last = await SendAsync(response, line, cancel);
                if (missed.Count < FunctionLogStore.MaxPage)
                    break;
            }
        }
        else
        {
            foreach (var line in logs.Page(name, null, backlog).Reverse())
                last = await SendAsync(response, line, cancel);
        }
        await response.Body.FlushAsync(cancel);
        await foreach (var line in subscription.Lines.ReadAllAsync(cancel))
        {
            if (line.Id <= last)
                continue;
            last = await SendAsync(response, line, cancel);
            if (subscription.Lines.Count == 0)
                await response.Body.FlushAsync(cancel);
        }
        if (subscription.Dropped)
        {
            var reason = JsonSerializer.Serialize(new
            {
                reason = $"this client fell {logs.Limits.FollowerBufferLines} lines behind and was dropped; reconnect with Last-Event-ID: {last} to read on from the store",
                last_id = last,
            }, DaemonHost.Json);
            await response.WriteAsync($"event: dropped\ndata: {reason}\n\n", cancel);
            await response.Body.FlushAsync(cancel);
        }
    }

    private static async Task<long> SendAsync(HttpResponse response, FunctionLogLine line, CancellationToken cancel)
    {
        // JSON escapes every control character, so the data is one line whatever the guest wrote.
        var data = JsonSerializer.Serialize(FunctionLogLineResponse.From(line), DaemonHost.Json);
        await response.WriteAsync($"id: {line.Id}\nevent: line\ndata: {data}\n\n", cancel);
        return line.Id;
    }

    private static long? LastEventId(HttpRequest request) =>
        request.Headers["Last-Event-ID"] is [{ } value] && long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            ? id
            : null;
}
