using System.Net.Http.Headers;
using System.Text;
using OpenQA.Selenium;
using Snapfn.ConsoleScreenshots;
using Snapfn.Platform;
using Snapfn.Vmm;
using Snapfn.WebConsole;

// scripts/console-screenshots [--out DIR] [--results DIR]: a daemon with a fresh home, Chromium over each page of the
// console, one PNG per page. Guests run on KVM, or on the emulated CPU with SNAPFN_CPU=soft (whose timings the pages
// then show are the emulator's); where neither can run, invocations are answered by a fake runtime (and the pages say
// so in the output they show); deploys and everything else are the real daemon's.
var output = Path.GetFullPath(Arg("--out") ?? Path.Combine("docs", "console"));
var results = Arg("--results") is { } r ? Path.GetFullPath(r) : ResultsFolder.FindDefault(Environment.CurrentDirectory);
if (Chromium.Unavailable() is { } missing)
{
    Console.Error.WriteLine($"console-screenshots: {missing}");
    return 1;
}
Directory.CreateDirectory(output);
var home = Directory.CreateTempSubdirectory("snapfn-shots-").FullName;
try
{
    var kvm = VirtualCpu.IsAvailable(out var noKvm);
    if (kvm)
        ConsoleDaemon.ShareRuntimeRoots(home);
    await using var daemon = await ConsoleDaemon.StartAsync(home, results);
    if (!kvm)
    {
        Console.Error.WriteLine($"console-screenshots: guests cannot run here ({noKvm}): invocations are answered by a fake runtime; the pages are the real console's");
        daemon.UseFakeRuntime();
    }
    using var browser = Chromium.Start();
    var driver = browser.Driver;
    string Shot(string name)
    {
        var path = Path.Combine(output, name + ".png");
        browser.Screenshot(path);
        Console.WriteLine(path);
        return path;
    }

    driver.Navigate().GoToUrl(daemon.Address + "/console/functions");
    browser.WaitFor("#token");
    Shot("login");
    browser.LogIn(daemon.Token);
    browser.WaitFor("#functions");

    // Some traffic for the Functions and Metrics pages, through the API as any client sends it.
    using (var http = new HttpClient { BaseAddress = new Uri(daemon.Address + "/") })
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", daemon.Token);
        var function = kvm ? "py-hello-world" : "hello-world";
        if (kvm)
            (await http.PostAsync($"functions/{function}/snapshot", null)).EnsureSuccessStatusCode();
        foreach (var (mode, n) in new[] { ("vanilla", 12), ("faasnap", 12), ("warm", 20) })
        {
            if (kvm && mode == "faasnap")
                (await http.PostAsync($"functions/{function}/record?mode=faasnap", Json("{\"name\":\"A\"}"))).EnsureSuccessStatusCode();
            for (var i = 0; i < n; i++)
                (await http.PostAsync($"functions/{function}/invoke?mode={mode}", Json("{\"name\":\"Ada\"}"))).EnsureSuccessStatusCode();
        }
    }

    // Deploy: a Python function where it can be checked (its compile check boots a VM), else a native ELF.
    driver.Navigate().GoToUrl(daemon.Address + "/console/deploy");
    var source = Directory.CreateTempSubdirectory("snapfn-shots-fn-").FullName;
    if (kvm)
    {
        File.WriteAllText(Path.Combine(source, "main.py"), "def init():\n    pass\n\ndef handle(request: bytes) -> bytes:\n    print('greeting', len(request))\n    return b'Hello from the browser!'\n");
        driver.FindElement(By.Id("name")).SendKeys("greet");
        driver.FindElement(By.Id("files")).SendKeys(Path.Combine(source, "main.py"));
    }
    else
    {
        driver.FindElement(By.Id("name")).SendKeys("my-hello");
        driver.FindElement(By.Id("files")).SendKeys(Path.Combine(FunctionCatalog.Default().GuestDirectory, "hello-world.elf"));
    }
    driver.FindElement(By.Id("deploy")).Click();
    browser.WaitFor("#steps");
    Shot("deploy");
    Directory.Delete(source, recursive: true);

    driver.Navigate().GoToUrl(daemon.Address + "/console/invoke?function=" + (kvm ? "greet" : "hello-world"));
    driver.FindElement(By.CssSelector("#mode option[value='vanilla']")).Click();
    var runs = driver.FindElement(By.Id("runs"));
    runs.Clear();
    runs.SendKeys("20");
    driver.FindElement(By.Id("invoke")).Click();
    browser.WaitFor("#latencies canvas");
    Shot("invoke");

    driver.Navigate().GoToUrl(daemon.Address + "/console/functions");
    browser.WaitFor("#functions");
    Shot("functions");

    driver.Navigate().GoToUrl(daemon.Address + "/console/metrics");
    browser.WaitFor("#metrics");
    Shot("metrics");

    driver.Navigate().GoToUrl(daemon.Address + "/console/logs?function=" + (kvm ? "greet" : "hello-world"));
    browser.WaitFor("h1");
    Shot("logs");

    driver.Navigate().GoToUrl(daemon.Address + "/console/results/report.md");
    browser.WaitFor("h1");
    Shot("results");
    return 0;
}
finally
{
    Directory.Delete(home, recursive: true);
}

static ByteArrayContent Json(string text)
{
    var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
    return content;
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
