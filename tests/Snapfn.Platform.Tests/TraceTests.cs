using System.Diagnostics;
using Snapfn.Platform.Telemetry;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Tests;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Platform.Tests;

/// <summary>Activity listeners are process-wide: the trace tests run alone, so that "nothing listens" is true.</summary>
[CollectionDefinition("traces", DisableParallelization = true)]
public sealed class TracesRunAlone;

/// <summary>
/// Issue 21, traces, without KVM: an invocation through a stand-in run (<see cref="FunctionServer.RunInvocation"/>)
/// is one server span with the FaaS attributes; the restore's parts become spans with the times the invoker
/// measured; with nothing listening no span is made.
/// </summary>
[Collection("traces")]
public sealed class TraceTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-traces-");
    private readonly List<Activity> _spans = [];

    private ActivityListener Listen()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == InvocationTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = span =>
            {
                lock (_spans)
                    _spans.Add(span);
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private FunctionService Service()
    {
        var home = new SnapfnHome(Path.Combine(_dir.FullName, "home"));
        // Snapshot files made by hand (no VM): a restore path's plan leases its snapshot's memory file at admission.
        HandmadeSnapshot.Take(home.SnapshotFolder("traced"), FunctionRegistry.Sha256Of(GuestBuild.ElfPath("hello-world")), HandmadeSnapshot.Marked("traced"));
        var service = new FunctionService(home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));
        service.Register("traced", File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), 512, "test");
        return service;
    }

    private static InvocationResult Result(InvocationPlan request, bool coldStart) => new()
    {
        Function = request.Function.Info.Name, Mode = request.Mode, Output = [], RestoreMs = 1.5, ExecuteMs = 2.5, TotalMs = 4,
        CachedPagesBefore = 0, Counters = new Dictionary<string, double>(), ColdStart = coldStart,
    };

    [Fact]
    public void An_invocation_is_a_server_span_named_after_the_function_with_the_faas_attributes()
    {
        using var listener = Listen();
        using var service = Service();
        Activity? during = null;
        var coldStart = true;
        service.Server.RunInvocation = (request, _, _) =>
        {
            during ??= Activity.Current;
            return Result(request, coldStart);
        };
        var cold = service.Invoke("traced", "vanilla", [], false, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        coldStart = false;
        var warm = service.Invoke("traced", "warm", [], false, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal(2, _spans.Count);
        var span = _spans[0];
        Assert.Same(span, during);
        Assert.Equal("traced", span.DisplayName);
        Assert.Equal(ActivityKind.Server, span.Kind);
        Assert.Equal("traced", span.GetTagItem("faas.name"));
        Assert.Equal("other", span.GetTagItem("faas.trigger"));
        Assert.Equal(cold.InvocationId, span.GetTagItem("faas.invocation_id"));
        Assert.Equal(true, span.GetTagItem("faas.coldstart"));
        Assert.Equal(512L << 20, span.GetTagItem("faas.max_memory"));
        Assert.Equal("mode-vanilla", span.GetTagItem("snapfn.path"));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.Equal(warm.InvocationId, _spans[1].GetTagItem("faas.invocation_id"));
        Assert.Equal(false, _spans[1].GetTagItem("faas.coldstart"));
        Assert.Equal("mode-warm", _spans[1].GetTagItem("snapfn.path"));
        Assert.NotEqual(cold.InvocationId, warm.InvocationId);
    }

    [Fact]
    public void A_failed_invocations_span_has_the_error()
    {
        using var listener = Listen();
        using var service = Service();
        service.Server.RunInvocation = (_, _, _) => throw new GuestTimeoutException(TimeSpan.FromSeconds(10));
        Assert.Throws<GuestTimeoutException>(() => service.Invoke("traced", "reap", [], false, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        var span = Assert.Single(_spans);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(typeof(GuestTimeoutException).FullName, span.GetTagItem("error.type"));
        Assert.Equal("mode-reap", span.GetTagItem("snapfn.path"));
        Assert.Null(span.GetTagItem("faas.coldstart"));
        Assert.True(InvocationId.IsValid((string?)span.GetTagItem("faas.invocation_id")));
    }

    [Fact]
    public void A_restore_becomes_spans_for_its_parts_with_the_times_the_invoker_measured()
    {
        using var listener = Listen();
        var ms = Stopwatch.Frequency / 1000;
        var t0 = Stopwatch.GetTimestamp() - 100 * ms;
        var timeline = new RestoreTimeline { StateRestored = t0 + 30 * ms, Filled = t0 + 32 * ms };
        var run = new GuestRun(GuestStop.Result, 0, EnteredAt: t0 + 33 * ms, StoppedAt: t0 + 80 * ms, Exits: 5);
        using (var invocation = InvocationTelemetry.StartInvocation("fn", InvocationTelemetry.HttpTrigger))
        {
            Assert.NotNull(invocation);
            InvocationTelemetry.QueueWait(t0 - 7 * ms);
            InvocationTelemetry.Restored(t0, t0 + 20 * ms, timeline, run);
        }
        var byName = _spans.ToDictionary(s => s.DisplayName);
        Assert.Equal(["queue wait", "restore memory", "restore state", "restore fill", "restore", "execute", "fn"], _spans.Select(s => s.DisplayName));
        var root = byName["fn"];
        Assert.Equal("http", root.GetTagItem("faas.trigger"));
        foreach (var name in new[] { "queue wait", "restore", "execute" })
            Assert.Equal(root.SpanId, byName[name].ParentSpanId);
        foreach (var name in new[] { "restore memory", "restore state", "restore fill" })
            Assert.Equal(byName["restore"].SpanId, byName[name].ParentSpanId);
        Assert.All(_spans, s => Assert.Equal(root.TraceId, s.TraceId));
        AssertMs(20, byName["restore memory"]);
        AssertMs(10, byName["restore state"]);
        AssertMs(2, byName["restore fill"]);
        AssertMs(33, byName["restore"]);
        AssertMs(47, byName["execute"]);
        Assert.Equal(byName["restore"].StartTimeUtc, byName["restore memory"].StartTimeUtc, TimeSpan.FromMilliseconds(1));
        Assert.Equal(byName["restore"].StartTimeUtc + byName["restore"].Duration, byName["execute"].StartTimeUtc, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void A_warm_run_that_booted_its_vm_has_a_boot_span_and_one_that_reused_it_has_none()
    {
        using var listener = Listen();
        var ms = Stopwatch.Frequency / 1000;
        var t0 = Stopwatch.GetTimestamp() - 100 * ms;
        var run = new GuestRun(GuestStop.Result, 0, EnteredAt: t0 + 50 * ms, StoppedAt: t0 + 60 * ms, Exits: 1);
        using (InvocationTelemetry.StartInvocation("fn", InvocationTelemetry.OtherTrigger))
            InvocationTelemetry.Warm(t0, booted: t0 + 40 * ms, run);
        using (InvocationTelemetry.StartInvocation("fn", InvocationTelemetry.OtherTrigger))
            InvocationTelemetry.Warm(t0, booted: null, run);
        Assert.Equal(["boot", "execute", "fn", "execute", "fn"], _spans.Select(s => s.DisplayName));
        AssertMs(40, _spans[0]);
    }

    [Fact]
    public void With_nothing_listening_no_span_is_made()
    {
        using var service = Service();
        Assert.False(InvocationTelemetry.Source.HasListeners());
        Assert.Null(InvocationTelemetry.StartInvocation("traced", InvocationTelemetry.HttpTrigger));
        Activity? during = null;
        service.Server.RunInvocation = (request, _, _) =>
        {
            during = Activity.Current;
            return Result(request, coldStart: true);
        };
        var result = service.Invoke("traced", "vanilla", [], false, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Null(during);
        Assert.True(InvocationId.IsValid(result.InvocationId));
        Assert.Empty(_spans);
    }

    private static void AssertMs(double expected, Activity span) =>
        Assert.InRange(span.Duration.TotalMilliseconds, expected - 1, expected + 1);

    public void Dispose() => _dir.Delete(recursive: true);
}
