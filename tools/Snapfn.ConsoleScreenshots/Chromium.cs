using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Snapfn.ConsoleScreenshots;

/// <summary>
/// Debian's Chromium driven through Debian's chromedriver (the same release, so their versions match), headless, with
/// a fresh profile that is deleted afterwards. Nothing is downloaded: the driver's path is given, so Selenium Manager
/// never runs. scripts/browser-deps installs the two packages.
/// </summary>
public sealed class Chromium : IDisposable
{
    public const string BrowserPath = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";
    private readonly string _profile;

    private Chromium(ChromeDriver driver, string profile)
    {
        Driver = driver;
        _profile = profile;
    }

    public ChromeDriver Driver { get; }

    /// <summary>Why no browser can run here, or null when one can.</summary>
    public static string? Unavailable()
    {
        if (!File.Exists(BrowserPath) || !File.Exists(DriverPath))
            return $"needs Debian's chromium and chromium-driver ({BrowserPath}, {DriverPath}): run scripts/browser-deps " +
                "or `apt-get install -y chromium chromium-driver`";
        return null;
    }

    public static Chromium Start(int width = 1360, int height = 900)
    {
        if (Unavailable() is { } reason)
            throw new InvalidOperationException(reason);
        var profile = Directory.CreateTempSubdirectory("snapfn-chromium-").FullName;
        var options = new ChromeOptions { BinaryLocation = BrowserPath };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            $"--user-data-dir={profile}", $"--window-size={width},{height}", "--hide-scrollbars", "--lang=en-US");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        try
        {
            // A click that submits a form returns when the next page has loaded: the deploy page's answers after the
            // build and the snapshot, minutes on the emulated CPU (SNAPFN_CPU=soft). The driver's command timeout
            // exceeds the page-load timeout, so that a slow page fails as a page load, not as a lost command.
            var pageLoad = TimeSpan.FromMinutes(10);
            var driver = new ChromeDriver(service, options, pageLoad + TimeSpan.FromMinutes(1));
            driver.Manage().Timeouts().PageLoad = pageLoad;
            return new Chromium(driver, profile);
        }
        catch
        {
            service.Dispose();
            Directory.Delete(profile, recursive: true);
            throw;
        }
    }

    /// <summary>Waits until the page shows an element matching <paramref name="css"/> (a page load or a script's
    /// work finishing: a condition, polled, with a generous bound only against a hang).</summary>
    public IWebElement WaitFor(string css, int seconds = 60)
    {
        try
        {
            return new WebDriverWait(Driver, TimeSpan.FromSeconds(seconds)).Until(d => d.FindElements(By.CssSelector(css)).FirstOrDefault(e => e.Displayed))!;
        }
        catch (WebDriverTimeoutException e)
        {
            // Say what the browser shows instead, which is what one needs to know.
            var text = Driver.FindElements(By.TagName("body")).FirstOrDefault()?.Text ?? Driver.PageSource;
            throw new WebDriverTimeoutException($"no '{css}' after {seconds} s; the browser is at {Driver.Url} showing: {text[..Math.Min(text.Length, 1500)]}", e);
        }
    }

    /// <summary>Logs in with the daemon's token on the console's login page, where the browser is now.</summary>
    public void LogIn(string token)
    {
        Driver.FindElement(By.Id("token")).SendKeys(token);
        Driver.FindElement(By.Id("login")).Click();
    }

    /// <summary>The page as a PNG, the window resized to its content's height first (at most 1800 px: a long report shows its top).</summary>
    public void Screenshot(string path, int width = 1360)
    {
        // The window's height is the viewport's plus whatever the browser keeps for itself (outer - inner).
        var height = Convert.ToInt32(Driver.ExecuteScript(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight) + (window.outerHeight - window.innerHeight);"),
            System.Globalization.CultureInfo.InvariantCulture);
        Driver.Manage().Window.Size = new System.Drawing.Size(width, Math.Clamp(height + 24, 500, 1800));
        Driver.GetScreenshot().SaveAsFile(path);
    }

    public void Dispose()
    {
        try
        {
            Driver.Quit();
        }
        finally
        {
            Driver.Dispose();
            try
            {
                Directory.Delete(_profile, recursive: true);
            }
            catch (IOException)
            {
                // Chromium may still be writing its profile as it exits; /tmp is cleaned eventually.
            }
        }
    }
}
