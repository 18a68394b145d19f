namespace Snapfn.Linux.Tests.Roots;

/// <summary>A state folder of its own for one test, removed afterwards.</summary>
public sealed class TempState : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("snapfn-roots-").FullName;

    public string RootsDirectory => System.IO.Path.Combine(Path, "roots");

    /// <summary>What is in roots/ besides finished roots and their lock files: a failed build leaves nothing.</summary>
    public IReadOnlyList<string> Leftovers() => Directory.Exists(RootsDirectory)
        ? Directory.EnumerateFileSystemEntries(RootsDirectory).Select(System.IO.Path.GetFileName).OfType<string>()
            .Where(n => !n.EndsWith(".lock", StringComparison.Ordinal)).ToList()
        : [];

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Skips tests that need deb.debian.org where it cannot be reached.</summary>
public static class DebianNetwork
{
    private static readonly Lazy<string?> _unreachable = new(Probe);

    public static void Require()
    {
        if (_unreachable.Value is { } reason)
            Assert.Skip($"needs http://deb.debian.org: {reason}");
    }

    private static string? Probe()
    {
        // HttpClient honours http_proxy as apt does.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, "http://deb.debian.org/debian/dists/bookworm/InRelease");
            using var response = http.Send(request);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return e.Message;
        }
    }
}

/// <summary>Keeps every report, synchronously.</summary>
public sealed class ProgressLog : IProgress<Snapfn.Linux.Roots.RootProgress>
{
    private readonly List<Snapfn.Linux.Roots.RootProgress> _reports = [];

    public IReadOnlyList<Snapfn.Linux.Roots.RootProgress> Reports
    {
        get
        {
            lock (_reports)
                return _reports.ToList();
        }
    }

    public void Report(Snapfn.Linux.Roots.RootProgress value)
    {
        lock (_reports)
            _reports.Add(value);
    }
}
