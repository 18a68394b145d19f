namespace Snapfn.Bench.Load;

/// <summary>One level as the experiment saw it: the clients' requests, the daemon's metrics read before and after
/// (null when they could not be read: a note says why), the most VMs busy and requests queued seen by reading
/// /metrics during it, and the function's automatic recording state after it (GET /functions/NAME).</summary>
public sealed record LoadLevelRun(LoadLevelSamples Requests, DaemonReading? Before, DaemonReading? After, double PeakBusy, double PeakQueued, string? AutoRecording)
{
    public int Clients => Requests.Clients;

    /// <summary>What the daemon counted during the level (after less before); null without both readings.</summary>
    public DaemonReading? Metrics => Before is not null && After is not null ? After.Since(Before) : null;
}

/// <summary>Everything one run of the load experiment observed, from which <see cref="LoadReport"/> computes its
/// figures.</summary>
public sealed record LoadRun
{
    /// <summary>The settings the run ran, after <see cref="LoadSettings.ForCpu"/> (its times scaled on the emulated CPU).</summary>
    public required LoadSettings Settings { get; init; }
    /// <summary>The CPU the daemon's guests ran on: on the emulated one the run is a trial, and its times are the
    /// emulator's.</summary>
    public required ExperimentCpu Cpu { get; init; }
    /// <summary>What <c>snapfn deploy</c> printed, and the snapshot the deploy took.</summary>
    public IReadOnlyList<string> Deploy { get; init; } = [];
    public required IReadOnlyList<LoadLevelRun> Levels { get; init; }
    /// <summary>What the run could not read or do, said in the report rather than hidden.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
