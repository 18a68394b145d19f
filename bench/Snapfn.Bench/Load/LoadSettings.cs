using System.Globalization;
using Snapfn.Vmm;

namespace Snapfn.Bench.Load;

/// <summary>
/// What the load experiment (issue 21) runs: one daemon, py-hello-world's code deployed as a user deploys it, then
/// for each level of <see cref="Levels"/> concurrent clients a closed loop (each client sends its next request when
/// its last is answered) without a mode, <see cref="Warmup"/> then <see cref="Duration"/> measured.
/// </summary>
public sealed record LoadSettings
{
    /// <summary>The issue's levels: one client, then as many as the platform's default max_instances, then four times
    /// that (24 of 32 wait in the function's queue).</summary>
    public static readonly IReadOnlyList<int> DefaultLevels = [1, 8, 32];

    public static readonly TimeSpan FullWarmup = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan FullDuration = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan QuickWarmup = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan QuickDuration = TimeSpan.FromSeconds(5);

    /// <summary>The most clients of one level: each is a connection and a task of this process.</summary>
    public const int MaxClients = 256;

    /// <summary>The name the function is deployed under: py-hello-world is a built-in's name, which a user function
    /// cannot take.</summary>
    public const string DefaultFunction = "hello-load";

    /// <summary>The built-in function whose folder (main.py) is deployed.</summary>
    public const string SourceFunction = "py-hello-world";

    public IReadOnlyList<int> Levels { get; init; } = DefaultLevels;

    /// <summary>Requests sent before the measured window, per level: not in the level's figures, but in the timeline
    /// (the run's first requests are the ones that show the path before the automatic recording).</summary>
    public TimeSpan Warmup { get; init; } = FullWarmup;

    public TimeSpan Duration { get; init; } = FullDuration;

    public string Function { get; init; } = DefaultFunction;

    /// <summary>The request body: py-hello-world's input.</summary>
    public string Input { get; init; } = """{"name":"Ada"}""";

    /// <summary>The most one request may take before the client gives it up (an error): the daemon's queue wait (10 s)
    /// plus a cold restore with room to spare.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Errors (not 429s) after which a level stops: a daemon that answers every request with an error at
    /// once would otherwise make a client send millions in its time.</summary>
    public int MaxErrorsPerLevel { get; init; } = 1000;

    /// <summary>The longest a client waits after a 429 before its next request, whatever Retry-After says.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The windows the report compares, the run's first and last: how the path mix changed once the platform
    /// had recorded the function from its first request.</summary>
    public TimeSpan TimelineWindow { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often /metrics is read during a level, for the peak of busy and queued instances.</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times longer each level's warm-up, measured window and timeline window are on the emulated CPU
    /// (<see cref="ForCpu"/>): a request that takes milliseconds on KVM takes about a second there, so KVM's windows would
    /// hold a handful of requests per client, too few to see the paths change as the platform records.</summary>
    public const int EmulatedTimeScale = 10;

    /// <summary>The factor <see cref="ForCpu"/> applied to this run's times: 1 on KVM, <see cref="EmulatedTimeScale"/> on the
    /// emulated CPU. results.json records it beside the times it scaled.</summary>
    public int TimeScale { get; init; } = 1;

    /// <summary>
    /// The settings to run on <paramref name="cpu"/>: these on KVM, unchanged; on the emulated CPU, a trial whose
    /// warm-up, measured window and timeline window are <see cref="EmulatedTimeScale"/> times as long, and whose request
    /// timeout is as many times longer as the daemon's watchdog waits there (<see cref="VirtualCpu.SoftTimeoutScale"/>),
    /// so that a request is not counted an error for being slow where the platform lets it be.
    /// </summary>
    public LoadSettings ForCpu(ExperimentCpu cpu)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        if (!cpu.Emulated || TimeScale != 1)
            return this;
        return this with
        {
            Warmup = Warmup * EmulatedTimeScale,
            Duration = Duration * EmulatedTimeScale,
            TimelineWindow = TimelineWindow * EmulatedTimeScale,
            RequestTimeout = RequestTimeout * VirtualCpu.SoftTimeoutScale,
            TimeScale = EmulatedTimeScale,
        };
    }

    /// <summary>The settings <c>--quick</c> asks for; throws <see cref="ArgumentException"/> naming the flag to fix.</summary>
    public static LoadSettings For(bool quick, IReadOnlyList<string>? functions = null, IReadOnlyList<string>? modes = null, int? repeat = null, int? requests = null)
    {
        if (modes is { Count: > 0 })
            throw new ArgumentException("the load experiment measures the platform's own choice of path (no mode, as a user invokes); leave out --modes, or use --experiment concurrency to compare modes");
        if (functions is { Count: > 0 } && !(functions.Count == 1 && functions[0] == SourceFunction))
            throw new ArgumentException($"the load experiment runs {SourceFunction} only (issue 21); leave out --functions");
        if (repeat is not null)
            throw new ArgumentException("the load experiment runs each level once for a fixed time; leave out --repeat");
        if (requests is not null)
            throw new ArgumentException("the load experiment runs each level for a fixed time, not a number of requests; leave out --requests");
        var settings = quick
            ? new LoadSettings { Warmup = QuickWarmup, Duration = QuickDuration, TimelineWindow = TimeSpan.FromSeconds(2) }
            : new LoadSettings();
        settings.Validate();
        return settings;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for settings no run can use.</summary>
    public void Validate()
    {
        if (Levels.Count == 0 || Levels.Any(l => l < 1 || l > MaxClients))
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"each level must be 1 to {MaxClients} clients, not {string.Join(",", Levels)}"));
        if (Warmup < TimeSpan.Zero || Duration <= TimeSpan.Zero)
            throw new ArgumentException("the warm-up must be 0 or more and the measured time above 0");
        if (RequestTimeout <= TimeSpan.Zero || MaxErrorsPerLevel < 1 || MaxRetryAfter < TimeSpan.Zero || TimelineWindow <= TimeSpan.Zero || ScrapeInterval <= TimeSpan.Zero)
            throw new ArgumentException("the request timeout, the error bound, the timeline window and the scrape interval must be above 0");
    }

    /// <summary>Where results go without <c>--out</c>: bench-results/load/&lt;timestamp&gt; (the full run is meant for
    /// docs/results/load/).</summary>
    public static string DefaultFolder(DateTime now) =>
        Path.Combine("bench-results", "load", now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
}
