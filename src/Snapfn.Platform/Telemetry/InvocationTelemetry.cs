using System.Diagnostics;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Platform.Telemetry;

/// <summary>
/// Invocations as OpenTelemetry spans, through .NET's own <see cref="ActivitySource"/> (no OpenTelemetry package
/// here: the daemon adds the SDK and its exporter when asked). Each invocation is one server span named after the
/// function, with the FaaS semantic conventions' attributes (faas.name, faas.trigger, faas.invocation_id,
/// faas.coldstart, faas.max_memory) and Snapfn's path; its children are the queue wait, the restore
/// (its parts: memory, state, fill) or boot, and the execution. With nothing listening, <see cref="Source"/> makes
/// no activity at all (StartActivity returns null) and every method here returns at its first check.
/// The restore's parts are timed by the code that runs them (Stopwatch timestamps) and become spans afterwards,
/// with those times, so that the layers below need not know about tracing.
/// </summary>
public static class InvocationTelemetry
{
    /// <summary>The source's name, for a tracer provider's AddSource.</summary>
    public const string SourceName = "Snapfn";

    /// <summary>faas.trigger for an invocation that came over the HTTP API.</summary>
    public const string HttpTrigger = "http";

    /// <summary>faas.trigger for any other (the CLI's local invoke).</summary>
    public const string OtherTrigger = "other";

    public static readonly ActivitySource Source = new(SourceName, typeof(InvocationTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>True while something listens (a tracer provider): only then is a restore's timeline worth keeping.</summary>
    public static bool Enabled => Source.HasListeners();

    /// <summary>Starts the invocation's span (the current activity until disposed); null when nothing listens.</summary>
    public static Activity? StartInvocation(string function, string trigger)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (!Source.HasListeners())
            return null;
        var span = Source.StartActivity(function, ActivityKind.Server);
        span?.SetTag("faas.name", function);
        span?.SetTag("faas.trigger", trigger);
        return span;
    }

    /// <summary>The invocation span in progress on this flow (one the daemon started), if any.</summary>
    public static Activity? Current => Activity.Current is { Kind: ActivityKind.Server } span && span.Source == Source ? span : null;

    /// <summary>Records the wait for a slot, from <paramref name="queuedAt"/> (a Stopwatch timestamp) to now, as a
    /// child of the current span.</summary>
    public static void QueueWait(long queuedAt) => Completed("queue wait", queuedAt, Stopwatch.GetTimestamp());

    /// <summary>Sets what the invocation's span learned once it ended: its id, whether it was a cold start, its
    /// path, and its error when it failed.</summary>
    internal static void Describe(Activity? span, string invocationId, long maxMemoryBytes, InvocationResult? result, string path, Exception? error)
    {
        if (span is null)
            return;
        span.SetTag("faas.invocation_id", invocationId);
        span.SetTag("faas.max_memory", maxMemoryBytes);
        span.SetTag("snapfn.path", path);
        if (result is not null)
        {
            span.SetTag("faas.coldstart", result.ColdStart);
            span.SetTag("snapfn.restore_ms", result.RestoreMs);
            span.SetTag("snapfn.execute_ms", result.ExecuteMs);
        }
        if (error is not null)
        {
            span.SetTag("error.type", error.GetType().FullName);
            span.SetStatus(ActivityStatusCode.Error, error.Message);
        }
    }

    /// <summary>A restore's spans as children of the current one: restore (from <paramref name="start"/> to the
    /// guest's first instruction) with memory, state and fill inside it, then execute.</summary>
    internal static void Restored(long start, long memoryRestored, RestoreTimeline? timeline, GuestRun run)
    {
        if (timeline is null || Activity.Current is null || !Source.HasListeners())
            return;
        var restore = Completed("restore", start, run.EnteredAt, keepOpen: true);
        if (restore is not null)
        {
            Completed("restore memory", start, memoryRestored, parent: restore);
            Completed("restore state", memoryRestored, timeline.StateRestored, parent: restore);
            Completed("restore fill", timeline.StateRestored, timeline.Filled, parent: restore);
            restore.SetEndTime(At(run.EnteredAt).UtcDateTime);
            restore.Stop();
        }
        Completed("execute", run.EnteredAt, run.StoppedAt);
    }

    /// <summary>A warm run's spans: boot (init, when a VM was booted for it) and execute.</summary>
    internal static void Warm(long start, long? booted, GuestRun run)
    {
        if (Activity.Current is null || !Source.HasListeners())
            return;
        if (booted is { } ready)
            Completed("boot", start, ready);
        Completed("execute", run.EnteredAt, run.StoppedAt);
    }

    /// <summary>A span that already happened, from <paramref name="from"/> to <paramref name="to"/> (Stopwatch
    /// timestamps), under <paramref name="parent"/> or the current span; nothing when a part did not happen (0).</summary>
    private static Activity? Completed(string name, long from, long to, Activity? parent = null, bool keepOpen = false)
    {
        if (from == 0 || to == 0 || to < from)
            return null;
        var context = (parent ?? Activity.Current)?.Context ?? default;
        var span = Source.StartActivity(name, ActivityKind.Internal, context, startTime: At(from));
        if (span is null || keepOpen)
            return span;
        span.SetEndTime(At(to).UtcDateTime);
        span.Stop();
        return span;
    }

    private static DateTimeOffset At(long timestamp) => DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(timestamp);
}
