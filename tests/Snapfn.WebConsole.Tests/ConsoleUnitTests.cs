using Microsoft.AspNetCore.Http;

namespace Snapfn.WebConsole.Tests;

/// <summary>The console's parts that need no browser: sessions, the results folder's path checks, the packing of a
/// deploy, percentiles and the login's return address.</summary>
public sealed class ConsoleUnitTests
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void A_session_ends_at_its_lifetime_at_logout_and_when_newer_logins_crowd_it_out()
    {
        var clock = new Clock();
        var sessions = new ConsoleSessions(new ConsoleOptions { SessionLifetime = TimeSpan.FromHours(1), MaxSessions = 2 }, clock);
        var (a, expires) = sessions.Start();
        Assert.Equal(clock.Now.AddHours(1), expires);
        Assert.True(sessions.IsValid(a));
        Assert.False(sessions.IsValid(a + "x"));
        Assert.False(sessions.IsValid(null));
        clock.Now = clock.Now.AddMinutes(59);
        Assert.True(sessions.IsValid(a));
        clock.Now = clock.Now.AddMinutes(1);
        Assert.False(sessions.IsValid(a));

        var (b, _) = sessions.Start();
        clock.Now = clock.Now.AddSeconds(1);
        var (c, _) = sessions.Start();
        clock.Now = clock.Now.AddSeconds(1);
        var (d, _) = sessions.Start();
        Assert.False(sessions.IsValid(b));
        Assert.True(sessions.IsValid(c));
        Assert.True(sessions.IsValid(d));
        Assert.Equal(2, sessions.Count);
        sessions.End(c);
        Assert.False(sessions.IsValid(c));
    }

    [Fact]
    public void Results_resolves_reports_images_and_folders_inside_its_folder_only()
    {
        using var dir = new TempDirectory();
        var root = dir.Combine("results");
        Directory.CreateDirectory(Path.Combine(root, "python"));
        File.WriteAllText(Path.Combine(root, "report.md"), "# r");
        File.WriteAllBytes(Path.Combine(root, "python", "chart.png"), [1]);
        File.WriteAllText(Path.Combine(root, "notes.txt"), "x");
        File.WriteAllText(Path.Combine(root, ".hidden.md"), "x");
        File.WriteAllText(dir.Combine("secret.md"), "x");
        File.CreateSymbolicLink(Path.Combine(root, "inner-link.md"), Path.Combine(root, "report.md"));
        var results = new ResultsFolder(root);

        Assert.Equal(ResultKind.Folder, results.Resolve("").Kind);
        Assert.Equal(ResultKind.Folder, results.Resolve("python/").Kind);
        Assert.Equal(ResultKind.Report, results.Resolve("report.md").Kind);
        var chart = results.Resolve("python/chart.png");
        Assert.Equal((ResultKind.File, "image/png"), (chart.Kind, chart.ContentType));
        foreach (var refused in new[] { "..", "../secret.md", "..%2Fsecret.md", "%2E%2E/secret.md", "python/../../secret.md", "./report.md",
                     "python//chart.png", "notes.txt", ".hidden.md", "inner-link.md", "missing.md", "a\\b", "report.md%00", "%zz" })
            Assert.True(results.Resolve(refused).Kind == ResultKind.Refused, refused);
        Assert.Equal(ResultKind.Refused, new ResultsFolder(null).Resolve("report.md").Kind);
        Assert.Equal(["python", "report.md"], ResultsFolder.List(root).Select(e => e.Name));
    }

    [Fact]
    public void Markdown_is_rendered_without_its_raw_html()
    {
        var html = ResultsFolder.Render("# T\n\n<script>alert(1)</script>\n\n![c](chart.png)\n");
        Assert.Contains("<h1", html, StringComparison.Ordinal);
        Assert.Contains("<img src=\"chart.png\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_login_returns_only_to_a_page_of_the_console()
    {
        Assert.Equal("/console/metrics?function=a", ConsoleEndpoints.SafeNext("/console/metrics?function=a"));
        foreach (var other in new[] { null, "", "https://evil.example/", "//evil.example/console/", "/functions", "/console/login?next=x", "/console\\..\\x" })
            Assert.Equal("/console/functions", ConsoleEndpoints.SafeNext(other));
    }

    [Fact]
    public void Percentiles_are_by_nearest_rank()
    {
        var values = Enumerable.Range(1, 100).Select(i => (double)i).ToList();
        Assert.Equal(50, LatencySummary.Percentile(values, 0.5));
        Assert.Equal(99, LatencySummary.Percentile(values, 0.99));
        Assert.Equal(7, LatencySummary.Percentile([7], 0.99));
        Assert.Null(LatencySummary.Percentile([], 0.5));
    }

    [Fact]
    public void A_deploy_is_packed_as_the_CLI_packs_it()
    {
        static IFormFileCollection Files(params (string Name, byte[] Bytes)[] files)
        {
            var collection = new FormFileCollection();
            foreach (var (name, bytes) in files)
                collection.Add(new FormFile(new MemoryStream(bytes), 0, bytes.Length, "files", name));
            return collection;
        }
        var elf = PageHandlers.Pack(Files(("f.elf", [0x7f, (byte)'E', (byte)'L', (byte)'F', 2])), "{\"runtime\": \"python\"}");
        Assert.Equal("application/octet-stream", elf.ContentType);
        Assert.Equal(5, elf.Body!.Length);

        var folder = PageHandlers.Pack(Files(("fn/main.py", "x = 1\n"u8.ToArray()), ("fn/lib/util.py", "y = 2\n"u8.ToArray())), "{\"runtime\": \"python\"}");
        Assert.Equal("application/zip", folder.ContentType);
        using (var zip = new System.IO.Compression.ZipArchive(new MemoryStream(folder.Body!)))
            Assert.Equal(["lib/util.py", "main.py", "snapfn.json"], zip.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal));

        var noManifest = PageHandlers.Pack(Files(("main.py", "x = 1\n"u8.ToArray())), "  ");
        Assert.Null(noManifest.Body);
        Assert.Contains("snapfn.json", noManifest.Said, StringComparison.Ordinal);
        Assert.Null(PageHandlers.Pack(Files(), null).Body);
    }

    [Fact]
    public void A_log_line_s_time_is_shown_in_utc_to_the_millisecond_or_as_it_came()
    {
        static LogEntry At(string time) => new(1, "id", time, "stdout", "mode-warm", "text");
        // The daemon writes ISO 8601 with seven decimals and an offset; the page shows UTC, three decimals.
        Assert.Equal("2026-12-07 12:51:57.705 UTC", At("2026-12-07T12:51:57.7056551+00:00").ShownTime);
        Assert.Equal("2026-12-07 11:51:57.705 UTC", At("2026-12-07T12:51:57.7056551+01:00").ShownTime);
        Assert.Equal("not a time", At("not a time").ShownTime);
    }
}
