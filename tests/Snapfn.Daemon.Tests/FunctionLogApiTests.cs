using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Daemon.Tests;

/// <summary>
/// Issue 21, function logs over the API, without KVM (an in-process daemon whose invocations are stand-ins that write
/// to the VM's output sink as a guest's stdout does): the invocation id in a header, pages newest first, and the
/// follow stream as Server-Sent Events, driven step by step (the stream is read to its first comment, which the
/// daemon writes once it follows, before anything is published).
/// </summary>
public sealed class FunctionLogApiTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>A stand-in run that prints <paramref name="lines"/> on stdout.</summary>
    private static Func<InvocationPlan, MicroVmOptions, CancellationToken, InvocationResult> Printing(params string[] lines) => (request, options, _) =>
    {
        foreach (var line in lines)
            options.Output!.Write(GuestOutputKind.Stdout, Encoding.UTF8.GetBytes(line + "\n"));
        return InProcessDaemon.Result(request, "done"u8.ToArray());
    };

    private static async Task<string> InvokeAsync(InProcessDaemon daemon, string function, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await daemon.Http.PostAsync($"functions/{function}/invoke?mode=warm", content, Cancel);
        Assert.Equal(expected, response.StatusCode);
        var id = Assert.Single(response.Headers.GetValues("Snapfn-Invocation-Id"));
        Assert.True(InvocationId.IsValid(id), id);
        if (expected != HttpStatusCode.OK)
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));
            Assert.Equal(id, problem.RootElement.GetProperty("invocation_id").GetString());
        }
        return id;
    }

    private static async Task<FunctionLogsResponse> PageAsync(InProcessDaemon daemon, string query)
    {
        using var response = await daemon.Http.GetAsync($"functions/echo/logs{query}", Cancel);
        var text = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonSerializer.Deserialize<FunctionLogsResponse>(text, DaemonHost.Json)!;
    }

    [Fact]
    public async Task An_invocations_lines_are_read_back_under_the_id_its_answer_carried_newest_first_in_pages()
    {
        await using var daemon = await InProcessDaemon.StartAsync();
        daemon.Run = Printing("first", "second", "third");
        var one = await InvokeAsync(daemon, "echo");
        daemon.Run = Printing("fourth", "\u001b[2Jcleared");
        var two = await InvokeAsync(daemon, "echo");

        var page = await PageAsync(daemon, "?limit=3");
        Assert.Equal(["\u001b[2Jcleared", "fourth", "third"], page.Lines.Select(l => l.Text));
        Assert.Equal([two, two, one], page.Lines.Select(l => l.InvocationId));
        Assert.All(page.Lines, l => Assert.Equal(("stdout", "mode-warm", "invoke", "utf-8"), (l.Stream, l.Path, l.Phase, l.Encoding)));
        Assert.Equal(page.Lines[^1].Id, page.NextBefore);
        var rest = await PageAsync(daemon, $"?limit=3&before={page.NextBefore}");
        Assert.Equal(["second", "first"], rest.Lines.Select(l => l.Text));
        Assert.Null(rest.NextBefore);
    }

    [Fact]
    public async Task A_failed_invocations_answer_names_its_id_and_its_output_is_kept_under_it()
    {
        await using var daemon = await InProcessDaemon.StartAsync();
        daemon.Run = (_, options, _) =>
        {
            options.Output!.Write(GuestOutputKind.Stderr, "Traceback: boom\n"u8);
            throw new GuestAbortedException("refusing the input");
        };
        var id = await InvokeAsync(daemon, "echo", HttpStatusCode.BadGateway);
        var line = Assert.Single((await PageAsync(daemon, "")).Lines);
        Assert.Equal((id, "stderr", "Traceback: boom"), (line.InvocationId, line.Stream, line.Text));
    }

    [Fact]
    public async Task A_json_answer_names_the_invocation_id_its_header_carries()
    {
        await using var daemon = await InProcessDaemon.StartAsync();
        daemon.Run = Printing("x");
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, "functions/echo/invoke?mode=warm") { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await daemon.Http.SendAsync(request, Cancel);
        var body = JsonSerializer.Deserialize<InvocationResponse>(await response.Content.ReadAsStringAsync(Cancel), DaemonHost.Json)!;
        Assert.Equal(Assert.Single(response.Headers.GetValues("Snapfn-Invocation-Id")), body.InvocationId);
        Assert.Equal(body.InvocationId, Assert.Single((await PageAsync(daemon, "")).Lines).InvocationId);
    }

    [Theory]
    [InlineData("functions/echo/logs?limit=0", HttpStatusCode.BadRequest)]
    [InlineData("functions/echo/logs?limit=1001", HttpStatusCode.BadRequest)]
    [InlineData("functions/echo/logs?before=0", HttpStatusCode.BadRequest)]
    [InlineData("functions/echo/logs?follow=maybe", HttpStatusCode.BadRequest)]
    [InlineData("functions/no-such/logs", HttpStatusCode.NotFound)]
    public async Task Bad_log_requests_are_refused_in_the_error_model(string path, HttpStatusCode status)
    {
        await using var daemon = await InProcessDaemon.StartAsync();
        using var response = await daemon.Http.GetAsync(path, Cancel);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Follow_sends_the_backlog_then_each_new_line_as_a_server_sent_event()
    {
        await using var daemon = await InProcessDaemon.StartAsync();
        daemon.Run = Printing("old 1", "old 2", "old 3");
        await InvokeAsync(daemon, "echo");

        using var request = new HttpRequestMessage(HttpMethod.Get, "functions/echo/logs?limit=2");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await daemon.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancel);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var events = new EventReader(await response.Content.ReadAsStreamAsync(Cancel));
        Assert.Equal(": following echo", await events.ReadLineAsync());
        Assert.Equal(["old 2", "old 3"], [(await events.NextLineAsync()).Text, (await events.NextLineAsync()).Text]);

        daemon.Run = Printing("new 1", "new\u0007 2");
        var id = await InvokeAsync(daemon, "echo");
        var first = await events.NextLineAsync();
        var second = await events.NextLineAsync();
        Assert.Equal(["new 1", "new\u0007 2"], [first.Text, second.Text]);
        Assert.Equal([id, id], [first.InvocationId, second.InvocationId]);
        Assert.Equal(1, daemon.Service.Logs.Feed.Followers);
    }

    [Fact]
    public async Task Follow_with_last_event_id_resumes_from_the_store()
    {
        await using var daemon = await InProcessDaemon.StartAsync();
        daemon.Run = Printing("a", "b", "c", "d");
        await InvokeAsync(daemon, "echo");
        var b = (await PageAsync(daemon, "")).Lines.Single(l => l.Text == "b").Id;

        using var request = new HttpRequestMessage(HttpMethod.Get, "functions/echo/logs?follow=1");
        request.Headers.Add("Last-Event-ID", b.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await daemon.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancel);
        using var events = new EventReader(await response.Content.ReadAsStreamAsync(Cancel));
        Assert.Equal(": following echo", await events.ReadLineAsync());
        Assert.Equal(["c", "d"], [(await events.NextLineAsync()).Text, (await events.NextLineAsync()).Text]);
    }

    [Fact]
    public async Task Followers_past_the_limit_get_503_with_retry_after()
    {
        await using var daemon = await InProcessDaemon.StartAsync(new DaemonOptions
        {
            Platform = new FunctionServiceOptions { FunctionLogs = new Platform.Logs.FunctionLogLimits { MaxFollowers = 1 } },
        });
        using var first = await daemon.Http.GetAsync("functions/echo/logs?follow=1", HttpCompletionOption.ResponseHeadersRead, Cancel);
        using var events = new EventReader(await first.Content.ReadAsStreamAsync(Cancel));
        Assert.Equal(": following echo", await events.ReadLineAsync());
        using var second = await daemon.Http.GetAsync("functions/echo/logs?follow=1", Cancel);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.NotNull(second.Headers.RetryAfter);
        Assert.Contains("log-followers", await second.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);
    }

    /// <summary>Reads a Server-Sent Events stream line by line.</summary>
    private sealed class EventReader(Stream stream) : IDisposable
    {
        private readonly StreamReader _reader = new(stream);

        public async Task<string?> ReadLineAsync() => await _reader.ReadLineAsync(Cancel);

        /// <summary>The next <c>line</c> event's data, after checking its id matches the line's.</summary>
        public async Task<FunctionLogLineResponse> NextLineAsync()
        {
            string? id = null, kind = null, data = null;
            while (await ReadLineAsync() is { } text)
            {
                if (text.Length == 0)
                {
                    if (kind == "line" && data is not null)
                    {
                        var line = JsonSerializer.Deserialize<FunctionLogLineResponse>(data, DaemonHost.Json)!;
                        Assert.Equal(id, line.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        return line;
                    }
                    (id, kind, data) = (null, null, null);
                }
                else if (text.StartsWith("id: ", StringComparison.Ordinal))
                    id = text[4..];
                else if (text.StartsWith("event: ", StringComparison.Ordinal))
                    kind = text[7..];
                else if (text.StartsWith("data: ", StringComparison.Ordinal))
                    data = text[6..];
            }
            throw new InvalidOperationException("the event stream ended");
        }

        public void Dispose() => _reader.Dispose();
    }
}
