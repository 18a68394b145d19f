using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OpenQA.Selenium;

namespace Snapfn.WebConsole.Tests;

/// <summary>The function-logs API of issue 21 as the console expects it (GET /functions/{name}/logs: a page of
/// entries newest first and `next`; `?follow=1`: Server-Sent Events of the same entries), played by the test, with a
/// hook that says when the page is following and lets one live line through.</summary>
public sealed class FakeLogsApi
{
    public TaskCompletionSource Following { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>False when the daemon maps the real endpoint already (issue 21 merged): then it is not replaced.</summary>
    public bool Mapped { get; private set; }

    public void Map(WebApplication app)
    {
        if (((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Any(e => e.RoutePattern.RawText == LogHandlers.LogsRoute))
            return;
        Mapped = true;
        app.MapGet(LogHandlers.LogsRoute, async (HttpContext http, string name, int? follow) =>
        {
            if (follow != 1)
            {
                await http.Response.WriteAsJsonAsync(new
                {
                    lines = new[]
                    {
                        Entry("inv-2", "stdout", $"second line of {name}"),
                        Entry("inv-1", "stderr", $"first line of {name}"),
                    },
                    next_before = 1,
                });
                return;
            }
            http.Response.ContentType = "text/event-stream";
            await http.Response.Body.FlushAsync(http.RequestAborted);
            Following.TrySetResult();
            await Release.Task.WaitAsync(http.RequestAborted);
            await http.Response.WriteAsync($"data: {JsonSerializer.Serialize(Entry("inv-3", "stdout", "a live line"))}\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            try
            {
                await Task.Delay(Timeout.Infinite, http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The console stopped following.
            }
        });
    }

    private static Dictionary<string, string> Entry(string id, string stream, string text) => new()
    {
        ["invocation_id"] = id, ["time"] = "2026-12-07T08:00:00Z", ["stream"] = stream, ["path"] = "warm", ["text"] = text,
    };
}

public sealed class LogsFixture : IAsyncLifetime
{
    private ConsoleFixture? _inner;

    public FakeLogsApi Api { get; } = new();

    public ConsoleFixture Console => _inner!;

    public async ValueTask InitializeAsync()
    {
        _inner = new ConsoleFixture { Configure = Api.Map };
        await _inner.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_inner is not null)
            await _inner.DisposeAsync();
    }
}

/// <summary>The Logs page against the logs API's contract: newest first, then a line arriving live.</summary>
public sealed class LogsPageTests : IClassFixture<LogsFixture>
{
    private readonly LogsFixture _fixture;

    public LogsPageTests(LogsFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task Logs_lists_a_functions_lines_newest_first_and_follows_new_ones()
    {
        Browser.Require();
        if (!_fixture.Api.Mapped)
            Assert.Skip("the daemon has its own GET /functions/{name}/logs (issue 21): the KVM test covers the page against it");
        var daemon = _fixture.Console.Daemon;
        var browser = _fixture.Console.Chromium!;
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(daemon.Address + "/console/login");
        driver.Manage().Cookies.DeleteAllCookies();
        driver.Navigate().GoToUrl(daemon.Address + "/console/logs?function=hello-world");
        browser.LogIn(daemon.Token);
        browser.WaitFor("#log-table");
        var rows = driver.FindElements(By.CssSelector("#log-table tbody tr")).Select(r => r.Text).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Contains("second line of hello-world", rows[0], StringComparison.Ordinal);
        Assert.Contains("first line of hello-world", rows[1], StringComparison.Ordinal);
        Assert.NotEmpty(driver.FindElements(By.Id("older")));

        // The page's script follows through the console's relay; one line is let through once it does.
        await _fixture.Api.Following.Task.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        _fixture.Api.Release.SetResult();
        var live = browser.WaitFor("#log-table tbody tr:first-child td:last-child pre");
        new OpenQA.Selenium.Support.UI.WebDriverWait(driver, TimeSpan.FromMinutes(2)).Until(_ =>
            driver.FindElement(By.CssSelector("#log-table tbody tr:first-child")).Text.Contains("a live line", StringComparison.Ordinal));
        _ = live;
        Assert.Equal(3, driver.FindElements(By.CssSelector("#log-table tbody tr")).Count);
    }
}
