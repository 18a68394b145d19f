using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;
using Snapfn.ConsoleScreenshots;
using Snapfn.Vmm;

namespace Snapfn.WebConsole.Tests;

/// <summary>A daemon with real guests (no fake runtime) and the machine's runtime roots, for the test that needs KVM.</summary>
public sealed class KvmConsoleFixture : IAsyncLifetime
{
    private readonly TempDirectory _home = new();
    private readonly TempDirectory _sources = new();
    private ConsoleDaemon? _daemon;

    public ConsoleDaemon Daemon => _daemon!;

    public string Sources => _sources.Path;

    public async ValueTask InitializeAsync()
    {
        if (!VirtualCpu.IsAvailable(out _) || Chromium.Unavailable() is not null)
            return;
        ConsoleDaemon.ShareRuntimeRoots(_home.Path);
        _daemon = await ConsoleDaemon.StartAsync(_home.Path, null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_daemon is not null)
            await _daemon.DisposeAsync();
        _home.Dispose();
        _sources.Dispose();
    }
}

public sealed class ConsoleKvmTests : IClassFixture<KvmConsoleFixture>
{
    private readonly KvmConsoleFixture _fixture;

    public ConsoleKvmTests(KvmConsoleFixture fixture) => _fixture = fixture;

    [Fact]
    public void A_Python_function_deployed_and_invoked_from_the_browser_answers_and_its_print_appears_in_Logs()
    {
        if (!VirtualCpu.IsAvailable(out var reason))
            Assert.Skip($"needs /dev/kvm: {reason}");
        Browser.Require();
        var daemon = _fixture.Daemon;
        using var browser = Chromium.Start();
        var driver = browser.Driver;
        driver.Navigate().GoToUrl(daemon.Address + "/console/deploy");
        browser.LogIn(daemon.Token);
        browser.WaitFor("#deploy-form");

        var main = Path.Combine(_fixture.Sources, "main.py");
        File.WriteAllText(main, """
            import json

            def init():
                pass

            def handle(request: bytes) -> bytes:
                name = json.loads(request or b"{}").get("name", "world")
                print(f"greeting {name} from the console test")
                return f"Hello, {name}!".encode()
            """);
        driver.FindElement(By.Id("name")).SendKeys("console-greet");
        driver.FindElement(By.Id("files")).SendKeys(main);
        driver.FindElement(By.Id("snapshot")).Click();
        driver.FindElement(By.Id("deploy")).Click();
        Assert.Contains("Deployed console-greet", browser.WaitFor("#deployed", 600).Text, StringComparison.Ordinal);
        Assert.Contains("snapshot taken", driver.FindElement(By.Id("steps")).Text, StringComparison.Ordinal);

        driver.Navigate().GoToUrl(daemon.Address + "/console/invoke?function=console-greet");
        var body = driver.FindElement(By.Id("body"));
        body.Clear();
        body.SendKeys("{\"name\": \"Ada\"}");
        driver.FindElement(By.Id("invoke")).Click();
        Assert.Equal("Hello, Ada!", browser.WaitFor("#output", 300).Text);
        Assert.False(string.IsNullOrEmpty(driver.FindElement(By.Id("served")).Text));
        Assert.True(driver.FindElements(By.CssSelector(".split-bar rect")).Count >= 2);

        driver.Navigate().GoToUrl(daemon.Address + "/console/logs?function=console-greet");
        var line = browser.WaitFor("#log-table tbody tr");
        Assert.Contains("greeting Ada from the console test", driver.FindElement(By.Id("log-table")).Text, StringComparison.Ordinal);
        _ = line;
    }
}
