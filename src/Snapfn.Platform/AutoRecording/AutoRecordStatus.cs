namespace Snapfn.Platform.AutoRecording;

/// <summary>Where a function's automatic recording stands, as GET /functions/{name} and `snapfn functions` show it.</summary>
/// <param name="State">no-snapshot (nothing to record from yet), waiting (for a first request, or a smaller one), pending
/// (queued), recording, recorded (every mode has a recording of the current snapshot), failed (see the reason), off.</param>
/// <param name="Reason">Why it is in that state, when that is not evident (a failure's message, a full queue, ...).</param>
/// <param name="Trigger">What started the last automatic recording: first-invocation, sample-input or drift.</param>
/// <param name="Since">When it entered this state (in this process); null when it has not changed since the daemon started.</param>
public sealed record AutoRecordStatus(string State, string? Reason = null, string? Trigger = null, DateTimeOffset? Since = null)
{
    public const string Off = "off";
    public const string NoSnapshot = "no-snapshot";
    public const string Waiting = "waiting";
    public const string Pending = "pending";
    public const string Recording = "recording";
    public const string Recorded = "recorded";
    public const string Failed = "failed";

    public static string Name(AutoRecordTrigger trigger) => trigger switch
    {
        AutoRecordTrigger.FirstInvocation => "first-invocation",
        AutoRecordTrigger.SampleInput => "sample-input",
        _ => "drift",
    };
}
