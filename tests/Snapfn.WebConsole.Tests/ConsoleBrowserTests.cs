using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;
using Snapfn.ConsoleScreenshots;
using Snapfn.Platform;

namespace Snapfn.WebConsole.Tests;

/// <summary>
/// The console in Debian's Chromium against the real daemon on a loopback port: the login, what is refused without
/// it, a deploy from the browser, the Results page and its refusals, and the Invoke, Functions and Metrics pages —
/// the last three over a fake runtime (<see cref="ConsoleDaemon.UseFakeRuntime"/>): a UI test, not a claim that a
/// guest ran. The deploy, invoke and log line of a real Python function are in <see cref="ConsoleKvmTests"/>.
/// </summary>
public sealed class ConsoleBrowserTests : IClassFixture<ConsoleFixture>
{
    private readonly ConsoleFixture _fixture;

    public ConsoleBrowserTests(ConsoleFixture fixture) => _fixture = fixture;

    private ConsoleDaemon Daemon => _fixture.Daemon;

    /// <summary>The browser, logged out (no cookie of an earlier test).</summary>
    private Chromium Fresh()
    {
        Browser.Require();
        var browser = _fixture.Chromium!;
        browser.Driver.Navigate().GoToUrl(Daemon.Address + "/console/login");
        browser.Driver.Manage().Cookies.DeleteAllCookies();
        return browser;
    }

    private Chromium LoggedIn()
    {
        var browser = Fresh();
        browser.Driver.Navigate().GoToUrl(Daemon.Address + "/console/login");
        browser.LogIn(Daemon.Token);
        browser.WaitFor("#functions");
        return browser;
    }

    [Fact]
    public void A_page_without_a_session_goes_to_the_login_and_the_token_logs_in()
    {
        var browser = Fresh();
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(Daemon.Address + "/console/metrics");
        browser.WaitFor("#token");
        Assert.StartsWith(Daemon.Address + "/console/login?next=", driver.Url, StringComparison.Ordinal);

        browser.LogIn("not-the-token-" + new string('x', 40));
        Assert.Contains("not this daemon's token", browser.WaitFor("#login-error").Text, StringComparison.Ordinal);
        Assert.Null(driver.Manage().Cookies.GetCookieNamed("snapfn_console"));

        browser.LogIn(Daemon.Token);
        // Back where it was sent from.
        browser.WaitFor("h1");
        Assert.Equal(Daemon.Address + "/console/metrics", driver.Url);
        var cookie = driver.Manage().Cookies.GetCookieNamed("snapfn_console");
        Assert.NotNull(cookie);
        Assert.True(cookie.IsHttpOnly);
        Assert.Equal("Strict", cookie.SameSite);
        Assert.Equal("/console", cookie.Path);
        Assert.DoesNotContain(Daemon.Token, cookie.Value, StringComparison.Ordinal);
        // A script of the page cannot read it.
        Assert.DoesNotContain("snapfn_console", driver.ExecuteScript("return document.cookie;") as string ?? "", StringComparison.Ordinal);

        driver.Navigate().GoToUrl(Daemon.Address + "/console/functions");
        var row = browser.WaitFor("#functions tr[data-function='hello-world']");
        Assert.Contains("builtin", row.Text, StringComparison.Ordinal);

        // Logging out ends the session: the old cookie no longer opens a page.
        driver.FindElement(By.Id("logout")).Click();
        browser.WaitFor("#token");
        driver.Manage().Cookies.AddCookie(new OpenQA.Selenium.Cookie("snapfn_console", cookie.Value, "/console"));
        driver.Navigate().GoToUrl(Daemon.Address + "/console/functions");
        browser.WaitFor("#token");
        Assert.StartsWith(Daemon.Address + "/console/login", driver.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_token_the_API_refuses_even_a_browser_with_a_session_and_forms_need_their_antiforgery_token()
    {
        var session = LoggedIn().Driver.Manage().Cookies.GetCookieNamed("snapfn_console")!.Value;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(Daemon.Address) };
        var cancel = TestContext.Current.CancellationToken;

        // The API: a session is not a token.
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/functions"))
        {
            request.Headers.Add("Cookie", $"snapfn_console={session}");
            using var response = await http.SendAsync(request, cancel);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        // A page without a session: to the login.
        using (var response = await http.GetAsync("/console/functions", cancel))
        {
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/console/login?next=", response.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }
        // A form without its antiforgery token, session or not: refused before anything is deployed.
        foreach (var cookie in new[] { $"snapfn_console={session}", "" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/console/deploy")
            {
                Content = new MultipartFormDataContent
                {
                    { new StringContent("forged"), "name" },
                    { new ByteArrayContent("def handle(r):\n    return r\n"u8.ToArray()), "files", "main.py" },
                    { new StringContent("{\"runtime\": \"python\"}"), "manifest" },
                },
            };
            if (cookie.Length > 0)
                request.Headers.Add("Cookie", cookie);
            using var response = await http.SendAsync(request, cancel);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        // A page of another site posting to the console: the cross-site guard's 403, whatever the cookie.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/console/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = Daemon.Token }),
        })
        {
            request.Headers.Add("Origin", "http://evil.example");
            using var response = await http.SendAsync(request, cancel);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        // The API still refuses form bodies: only endpoints that check an antiforgery token take them.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/functions?name=forged")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["x"] = "y" }),
        })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Daemon.Token);
            using var response = await http.SendAsync(request, cancel);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        }
        Assert.DoesNotContain(Daemon.Service.List(), f => f.Name == "forged");
    }

    [Fact]
    public void A_native_function_deployed_from_the_browser_is_listed_in_Functions()
    {
        var browser = LoggedIn();
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(Daemon.Address + "/console/deploy");
        driver.FindElement(By.Id("name")).SendKeys("from-browser");
        driver.FindElement(By.Id("files")).SendKeys(Path.Combine(FunctionCatalog.Default().GuestDirectory, "hello-world.elf"));
        driver.FindElement(By.Id("deploy")).Click();
        Assert.Contains("Deployed from-browser", browser.WaitFor("#deployed").Text, StringComparison.Ordinal);
        Assert.Contains("registered 'from-browser'", driver.FindElement(By.Id("steps")).Text, StringComparison.Ordinal);

        driver.Navigate().GoToUrl(Daemon.Address + "/console/functions");
        var row = browser.WaitFor("#functions tr[data-function='from-browser']");
        Assert.Contains("user", row.Text, StringComparison.Ordinal);
        Assert.Contains("native", row.Text, StringComparison.Ordinal);
        Assert.Equal("user", Daemon.Service.Get("from-browser").Kind == FunctionKind.User ? "user" : "builtin");
    }

    [Fact]
    public void A_deploy_the_daemon_refuses_shows_its_error_as_the_CLI_does()
    {
        var browser = LoggedIn();
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(Daemon.Address + "/console/deploy");
        var main = Path.Combine(_fixture.Files, "main.py");
        File.WriteAllText(main, "def handle(r):\n    return r\n");
        driver.FindElement(By.Id("name")).SendKeys("bad-manifest");
        driver.FindElement(By.Id("files")).SendKeys(main);
        var manifest = driver.FindElement(By.Id("manifest"));
        manifest.Clear();
        manifest.SendKeys("{\"runtime\": \"python\", \"packages\": \"python3-numpy\"}");
        driver.FindElement(By.Id("deploy")).Click();
        var problem = browser.WaitFor(".problem");
        Assert.Contains("the daemon answered 400", problem.Text, StringComparison.Ordinal);
        Assert.Contains("\"packages\" must be a list of Debian package names", problem.Text, StringComparison.Ordinal);
        Assert.Contains("error: invalid-request", problem.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Daemon.Service.List(), f => f.Name == "bad-manifest");
    }

    [Fact]
    public void Results_renders_a_report_with_its_chart_and_shows_raw_html_as_text()
    {
        var browser = LoggedIn();
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(Daemon.Address + "/console/results/");
        browser.WaitFor("#reports a[href='/console/results/report.md']").Click();
        var report = browser.WaitFor("#report");
        Assert.Equal("Bench report", report.FindElement(By.TagName("h1")).Text);
        Assert.Contains("faasnap", report.FindElement(By.TagName("table")).Text, StringComparison.Ordinal);
        var image = report.FindElement(By.CssSelector("img[alt='latency chart']"));
        Assert.Equal(Daemon.Address + "/console/results/python/chart.png", image.GetDomProperty("src"));
        // Loaded and decoded (the page's load event waits for its images).
        Assert.True(Convert.ToInt64(driver.ExecuteScript("return arguments[0].complete ? arguments[0].naturalWidth : 0;", image),
            System.Globalization.CultureInfo.InvariantCulture) > 0);
        // The chart beside it, which it does not link, is shown with it.
        var beside = driver.FindElement(By.CssSelector("#charts img[alt='bars.png']"));
        Assert.Equal(Daemon.Address + "/console/results/bars.png", beside.GetDomProperty("src"));
        Assert.True(Convert.ToInt64(driver.ExecuteScript("return arguments[0].complete ? arguments[0].naturalWidth : 0;", beside),
            System.Globalization.CultureInfo.InvariantCulture) > 0);
        // The report's <script> is text, not run.
        Assert.NotEqual("owned", driver.Title);
        Assert.Contains("<script>", report.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("..%2Fsecret.md")]
    [InlineData("%2e%2e%2fsecret.md")]
    [InlineData("python%2F..%2F..%2Fsecret.md")]
    [InlineData("..%252Fsecret.md")]
    [InlineData("leak.md")]
    [InlineData("outside/secret.md")]
    [InlineData(".%2F..%2Fsecret.md")]
    public async Task Results_refuses_paths_that_leave_its_folder(string path)
    {
        var browser = LoggedIn();
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(Daemon.Address + "/console/results/" + path);
        var error = browser.WaitFor("h1");
        Assert.DoesNotContain(ConsoleFixture.Secret, driver.PageSource, StringComparison.Ordinal);
        Assert.NotEmpty(driver.FindElements(By.Id("results-error")));
        _ = error;

        // And its status, which the browser does not show.
        var session = driver.Manage().Cookies.GetCookieNamed("snapfn_console")!.Value;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(Daemon.Address) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/console/results/" + path);
        request.Headers.Add("Cookie", $"snapfn_console={session}");
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode}");
        Assert.DoesNotContain(ConsoleFixture.Secret, body, StringComparison.Ordinal);
    }

    [Fact]
    public void Invoke_runs_N_times_and_shows_the_output_the_time_split_and_the_latencies_UI_test_with_a_fake_runtime()
    {
        var browser = LoggedIn();
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(Daemon.Address + "/console/invoke?function=hello-world");
        driver.FindElement(By.CssSelector("#mode option[value='vanilla']")).Click();
        var runs = driver.FindElement(By.Id("runs"));
        runs.Clear();
        runs.SendKeys("6");
        var body = driver.FindElement(By.Id("body"));
        body.Clear();
        body.SendKeys("{\"name\": \"Grace\"}");
        driver.FindElement(By.Id("invoke")).Click();

        Assert.Equal("Hello, Grace! (fake runtime)", browser.WaitFor("#output").Text);
        Assert.Equal("mode-vanilla", driver.FindElement(By.Id("served")).Text); // the path: the mode the caller asked for
        Assert.Contains("6 runs", driver.FindElement(By.Id("summary")).Text, StringComparison.Ordinal);
        // The time split: restore, execute and the rest, as a bar with a legend.
        var legend = driver.FindElement(By.CssSelector(".split-legend")).Text;
        Assert.Contains("restore", legend, StringComparison.Ordinal);
        Assert.Contains("execute", legend, StringComparison.Ordinal);
        Assert.True(driver.FindElements(By.CssSelector(".split-bar rect")).Count >= 2);
        // uPlot (served by the daemon, no network) drew the latencies.
        browser.WaitFor("#latencies canvas");
        Assert.Equal(6, Daemon.Service.Log.Recent("hello-world", 100).Count(e => e.Mode == "vanilla" && e.Succeeded));

        // The Functions page counts them per mode, with p50 and p99; Metrics plots them.
        driver.Navigate().GoToUrl(Daemon.Address + "/console/functions");
        var row = browser.WaitFor("#functions tr[data-function='hello-world']").Text;
        Assert.Contains("vanilla 6, p50", row, StringComparison.Ordinal);
        driver.Navigate().GoToUrl(Daemon.Address + "/console/metrics?function=hello-world");
        Assert.Contains("vanilla", browser.WaitFor("#metrics").Text, StringComparison.Ordinal);
        browser.WaitFor(".chart canvas");
    }

    [Fact]
    public void Logs_lists_the_lines_the_daemon_keeps_newest_first_with_a_link_to_older_ones()
    {
        // Lines stored as an invocation's capture stores a guest's output (no VM here), more than one page of them.
        for (var i = 0; i < 120; i++)
        {
            var capture = Daemon.Service.Logs.Capture("json", $"console-test-{i:D3}");
            capture.Write(Snapfn.Vmm.GuestOutputKind.Stdout, System.Text.Encoding.UTF8.GetBytes($"line {i:D3} of json\n"));
            capture.Complete("mode-warm");
        }
        var browser = LoggedIn();
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(Daemon.Address + "/console/logs?function=json");
        browser.WaitFor("#log-table");
        var rows = driver.FindElements(By.CssSelector("#log-table tbody tr")).Select(r => r.Text).ToList();
        Assert.Contains("line 119 of json", rows[0], StringComparison.Ordinal);
        Assert.Contains("line 118 of json", rows[1], StringComparison.Ordinal);
        Assert.DoesNotContain(rows, r => r.Contains("line 000 of json", StringComparison.Ordinal));
        driver.FindElement(By.Id("older")).Click();
        new OpenQA.Selenium.Support.UI.WebDriverWait(driver, TimeSpan.FromMinutes(1)).Until(_ =>
            driver.FindElements(By.CssSelector("#log-table tbody tr")).Any(r => r.Text.Contains("line 000 of json", StringComparison.Ordinal)));
    }

    [Fact]
    public void Logs_follows_a_functions_new_lines_as_they_are_stored()
    {
        var older = Daemon.Service.Logs.Capture("hello-world", "console-follow-1");
        older.Write(Snapfn.Vmm.GuestOutputKind.Stderr, System.Text.Encoding.UTF8.GetBytes("a line from before\n"));
        older.Complete("mode-warm");
        var browser = LoggedIn();
        var driver = browser.Driver;
        var feed = Daemon.Service.Logs.Feed;
        var followersBefore = feed.Followers;
        driver.Navigate().GoToUrl(Daemon.Address + "/console/logs?function=hello-world");
        browser.WaitFor("#log-table");
        Assert.Contains("a line from before", driver.FindElement(By.Id("log-table")).Text, StringComparison.Ordinal);

        // The page's script follows through the console's relay to the daemon's stream; a line stored once it does
        // reaches the page without a reload (waiting on the follower count, not on time).
        new OpenQA.Selenium.Support.UI.WebDriverWait(driver, TimeSpan.FromMinutes(1)).Until(_ => feed.Followers > followersBefore);
        var live = Daemon.Service.Logs.Capture("hello-world", "console-follow-2");
        live.Write(Snapfn.Vmm.GuestOutputKind.Stdout, System.Text.Encoding.UTF8.GetBytes("a live line\n"));
        live.Complete("mode-warm");
        new OpenQA.Selenium.Support.UI.WebDriverWait(driver, TimeSpan.FromMinutes(1)).Until(_ =>
            driver.FindElement(By.CssSelector("#log-table tbody tr:first-child")).Text.Contains("a live line", StringComparison.Ordinal));
        // The stream started after the newest line the page showed: nothing shown twice.
        var rows = driver.FindElements(By.CssSelector("#log-table tbody tr")).Select(r => r.Text).ToList();
        Assert.Single(rows, r => r.Contains("a line from before", StringComparison.Ordinal));
        Assert.Single(rows, r => r.Contains("a live line", StringComparison.Ordinal));
    }
}
