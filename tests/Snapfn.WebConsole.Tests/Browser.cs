using Snapfn.ConsoleScreenshots;

namespace Snapfn.WebConsole.Tests;

public static class Browser
{
    /// <summary>Skips the calling test, visibly, where Debian's Chromium and chromedriver are not installed.</summary>
    public static void Require()
    {
        if (Chromium.Unavailable() is { } reason)
            Assert.Skip(reason);
    }
}

/// <summary>A fresh folder under /tmp, deleted afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("snapfn-console-").FullName;

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a process that is ending; /tmp is cleaned eventually.
        }
    }
}

/// <summary>A daemon with its console (and a fake runtime: no test here boots a VM unless it says so), a results
/// folder with one report, its chart and a secret outside it, and one Chromium, shared by a class's tests.</summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string Secret = "this-must-never-be-served";
    private readonly TempDirectory _home = new();
    private readonly TempDirectory _files = new();
    private ConsoleDaemon? _daemon;
    private Chromium? _browser;

    public ConsoleDaemon Daemon => _daemon ?? throw new InvalidOperationException("the daemon has not started");

    /// <summary>Null where Chromium is missing (the browser tests skip).</summary>
    public Chromium? Chromium => _browser;

    public string Results => _files.Combine("results");

    public string Files => _files.Path;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Results, "python"));
        await File.WriteAllTextAsync(Path.Combine(Results, "report.md"),
            "# Bench report\n\nThe comparison, with its chart:\n\n![latency chart](python/chart.png)\n\n| mode | p50 |\n|---|---|\n| faasnap | 3 ms |\n\n<script>document.title='owned'</script>\n");
        // A real PNG: the repository's own chart, or a 1x1 one.
        var chart = ResultsFolder.FindDefault(AppContext.BaseDirectory) is { } docs && File.Exists(Path.Combine(docs, "chart.png"))
            ? await File.ReadAllBytesAsync(Path.Combine(docs, "chart.png"))
            : Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
        await File.WriteAllBytesAsync(Path.Combine(Results, "python", "chart.png"), chart);
        // A chart beside the report that it does not link (as the bench writes them).
        await File.WriteAllBytesAsync(Path.Combine(Results, "bars.png"), chart);
        // Outside the folder, and links into it from inside.
        await File.WriteAllTextAsync(_files.Combine("secret.md"), Secret);
        File.CreateSymbolicLink(Path.Combine(Results, "leak.md"), _files.Combine("secret.md"));
        Directory.CreateSymbolicLink(Path.Combine(Results, "outside"), _files.Path);
        _daemon = await ConsoleDaemon.StartAsync(_home.Path, Results);
        _daemon.UseFakeRuntime();
        if (ConsoleScreenshots.Chromium.Unavailable() is null)
            _browser = ConsoleScreenshots.Chromium.Start();
    }

    public async ValueTask DisposeAsync()
    {
        _browser?.Dispose();
        if (_daemon is not null)
            await _daemon.DisposeAsync();
        _home.Dispose();
        _files.Dispose();
    }
}
