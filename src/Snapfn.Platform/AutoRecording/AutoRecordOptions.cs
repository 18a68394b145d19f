using Snapfn.Snapshots.Backends;

namespace Snapfn.Platform.AutoRecording;

/// <summary>
/// How the platform records functions by itself (<see cref="AutoRecorder"/>): which recordings, how many at once,
/// what it may hold meanwhile, and when requests have drifted from a recording. The defaults and why: docs/auto-recording.md.
/// </summary>
public sealed record AutoRecordOptions
{
    /// <summary>The recordings made for every function with a snapshot: REAP's working set and FaaSnap's loading set.</summary>
    public IReadOnlyList<string> Modes { get; init; } = ["reap", FaasnapBackend.RecordingKind];

    /// <summary>Recordings running at once, all functions together (each boots a VM of the snapshot's size, in the
    /// host memory budget, beside the requests being served).</summary>
    public int MaxConcurrent { get; init; } = 1;

    /// <summary>Recordings waiting for their turn (limit "auto-record-queue"); past it a function waits for a later request.</summary>
    public int MaxQueued { get; init; } = 16;

    /// <summary>The largest input kept to record from (limit "auto-record-input"): a larger request is served but not
    /// recorded from, and the function waits for a smaller one. Queue × this bounds the memory the recorder holds.</summary>
    public int MaxInputBytes { get; init; } = 1 << 20;

    /// <summary>How long one recording run may take.</summary>
    public TimeSpan RecordTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>After a failed recording, how long before a later request may start another.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>When requests count as drifted from their recording.</summary>
    public DriftPolicy Drift { get; init; } = new();

    /// <summary>Receives what the recorder did and why (function, message): queued, recorded, discarded, failed.</summary>
    public Action<string, string>? Log { get; init; }

    /// <summary>Receives each recording the recorder finished (function, mode, whether it was made and swapped in): the
    /// daemon counts them with the ones made by hand (snapfn_recordings_total). A recording discarded because the
    /// function changed meanwhile is neither; it is only logged. Called on the recorder's worker; must not throw.</summary>
    public Action<string, string, bool>? Recorded { get; init; }

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrent, 1, nameof(MaxConcurrent));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueued, 1, nameof(MaxQueued));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInputBytes, 0, nameof(MaxInputBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RecordTimeout, TimeSpan.Zero, nameof(RecordTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryAfter, TimeSpan.Zero, nameof(RetryAfter));
        foreach (var mode in Modes)
        {
            if (!RestoreModes.TryGet(mode, out var found) || found.Recorder is null)
                throw new ArgumentException($"'{mode}' is not a mode that records; recordable modes: {string.Join(", ", RestoreModes.RecordedNames)}", nameof(Modes));
        }
        Drift.Validate();
    }
}

/// <summary>
/// When the requests a recording serves have drifted from it: over the last <see cref="Window"/> invocations
/// restored from it (none older than <see cref="MaxAge"/>, at least <see cref="MinSamples"/>), the median number of
/// pages each faulted outside the recording is above both <see cref="Fraction"/> of the recording's pages and
/// <see cref="MinPages"/>. The median, so that one odd request does not make a new recording, but a shift of
/// most requests does.
/// </summary>
public sealed record DriftPolicy
{
    public int Window { get; init; } = 20;

    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(10);

    public int MinSamples { get; init; } = 5;

    public double Fraction { get; init; } = 0.10;

    public long MinPages { get; init; } = 256;

    /// <summary>The least time between two recordings of a function made for drift: requests that alternate between
    /// two kinds would otherwise have it recorded again after every few requests.</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Pages outside a recording of <paramref name="recordedPages"/> pages above which one invocation counts as drifted.</summary>
    public double Threshold(long recordedPages) => Math.Max(MinPages, Fraction * recordedPages);

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Window, 1, nameof(Window));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinSamples, 1, nameof(MinSamples));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MinSamples, Window, nameof(MinSamples));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxAge, TimeSpan.Zero, nameof(MaxAge));
        if (!(Fraction >= 0) || double.IsInfinity(Fraction))
            throw new ArgumentOutOfRangeException(nameof(Fraction), Fraction, "a fraction of the recording's pages, 0 or more");
        ArgumentOutOfRangeException.ThrowIfLessThan(MinPages, 0, nameof(MinPages));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinInterval, TimeSpan.Zero, nameof(MinInterval));
    }
}
