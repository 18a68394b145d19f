namespace Snapfn.WebConsole;

/// <summary>How the web console at /console runs (`snapfn serve --results-dir`, and the limits below).</summary>
public sealed record ConsoleOptions
{
    /// <summary>The folder whose markdown reports and images the Results page shows; when null, the checkout's
    /// docs/results found above the program's folder, if any.</summary>
    public string? ResultsDirectory { get; init; }

    /// <summary>How long a login lasts (absolute, not sliding): then the console asks for the token again.</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromHours(12);

    /// <summary>Sessions kept at once; a new login past it ends the oldest. Only a holder of the token can log in,
    /// so this bounds the memory of many logins (scripts, tabs), not an attack.</summary>
    public int MaxSessions { get; init; } = 64;

    /// <summary>The most runs one "run N times" of the Invoke page makes (each is a whole invocation).</summary>
    public int MaxInvokeRuns { get; init; } = 100;

    /// <summary>The invocation-log entries the Functions and Metrics pages read (newest first); the API's own bound.</summary>
    public int InvocationLogWindow { get; init; } = 10_000;

    /// <summary>The largest report the Results page renders (a markdown file, read whole).</summary>
    public long MaxReportBytes { get; init; } = 4L << 20;
}
