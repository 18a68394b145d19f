using System.Globalization;

namespace Snapfn.Bench.Cluster;

/// <summary>
/// What the cluster experiment runs: three NATS nodes and three workers on loopback, the functions deployed through
/// the first worker, a burst of <see cref="Requests"/> invocations (every <see cref="AsyncEvery"/>-th asynchronous)
/// from <see cref="Clients"/> clients through the three front doors in turn, and the worker <see cref="KillWorker"/>
/// SIGKILLed once <see cref="KillAfter"/> requests have been sent.
/// </summary>
public sealed record ClusterSettings
{
    /// <summary>The functions: the smallest Python one and one with a working set of a few MB.</summary>
    public static readonly IReadOnlyList<string> DefaultFunctions = ["py-hello-world", "py-json"];

    public const int QuickRequests = 90;
    public const int FullRequests = 900;
    public const int MaxRequests = 10_000;
    public const int MaxClients = 64;

    public int NatsNodes { get; init; } = 3;
    public int Workers { get; init; } = 3;
    public IReadOnlyList<string> Functions { get; init; } = DefaultFunctions;
    public int Requests { get; init; } = FullRequests;
    /// <summary>Requests in flight at once (each client sends its next when its last is answered).</summary>
    public int Clients { get; init; } = 6;
    /// <summary>Every N-th request is asynchronous; 3: a third.</summary>
    public int AsyncEvery { get; init; } = 3;
    /// <summary>The worker killed (index from 0); never the first, which the functions were deployed through, so
    /// that the snapshot's one taker survives and its fetchers are the others.</summary>
    public int KillWorker { get; init; } = 2;
    public int KillAfter => Requests / 2;
    /// <summary>The most one request may take before the client gives it up (it is then lost).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>What the experiment's own timeouts on guest work (a request, a deploy's snapshot) are multiplied by: 1
    /// on KVM; <see cref="EmulatedTimeoutScale"/> on the emulated CPU (<see cref="ForCpu"/>), recorded in results.json.</summary>
    public int TimeoutScale { get; init; } = 1;

    /// <summary>The emulated CPU runs guest code one to two orders of magnitude slower than KVM: a cold Python request
    /// there takes tens of seconds, and an asynchronous one redelivered after a kill waits out the ack wait (30 s)
    /// first, so a KVM timeout would count slow requests as lost.</summary>
    public const int EmulatedTimeoutScale = 3;

    /// <summary>How often an async result is asked for; the async latencies are this coarse.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>These settings for guests on <paramref name="cpu"/>: on the emulated CPU, the timeouts on guest work
    /// scaled by <see cref="EmulatedTimeoutScale"/>; on KVM, unchanged.</summary>
    public ClusterSettings ForCpu(ExperimentCpu cpu)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        return cpu.Emulated && TimeoutScale == 1
            ? this with { TimeoutScale = EmulatedTimeoutScale, RequestTimeout = RequestTimeout * EmulatedTimeoutScale }
            : this;
    }

    /// <summary>The settings <c>--quick</c> and <c>--requests</c> ask for; throws <see cref="ArgumentException"/> with
    /// the flag to fix when a value is outside what the experiment can run.</summary>
    public static ClusterSettings For(bool quick, int? requests = null, int? clients = null, IReadOnlyList<string>? functions = null)
    {
        var settings = new ClusterSettings
        {
            Requests = requests ?? (quick ? QuickRequests : FullRequests),
            Clients = clients ?? (quick ? 3 : 6),
            Functions = functions ?? DefaultFunctions,
        };
        if (settings.Requests < 2 || settings.Requests > MaxRequests)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--requests must be 2 to {MaxRequests} (half are sent before the kill, half after), not {settings.Requests}"));
        if (settings.Clients < 1 || settings.Clients > MaxClients)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--clients must be 1 to {MaxClients}, not {settings.Clients}"));
        if (settings.Functions.Count == 0)
            throw new ArgumentException("--functions names none: give at least one function, or leave it out for py-hello-world,py-json");
        return settings;
    }

    /// <summary>Request <paramref name="sequence"/>'s function, kind and front door: front doors in turn, then
    /// functions, then a block of each kind, so that every front door sees every function both ways.</summary>
    public (string Function, InvocationKind Kind, int FrontDoor) Plan(int sequence) =>
        (Functions[sequence / Workers % Functions.Count],
         sequence / (Workers * Functions.Count) % AsyncEvery == AsyncEvery - 1 ? InvocationKind.Async : InvocationKind.Sync,
         sequence % Workers);

    /// <summary>Worker <paramref name="index"/>'s id: it is started with <c>--worker-id</c> and names itself so in
    /// <c>Snapfn-Worker</c>.</summary>
    public static string WorkerId(int index) => $"w{index + 1}";
}
