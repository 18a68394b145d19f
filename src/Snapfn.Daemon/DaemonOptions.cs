using Snapfn.Platform;

namespace Snapfn.Daemon;

/// <summary>How `snapfn serve` runs.</summary>
public sealed record DaemonOptions
{
    public const string DefaultListen = "http://127.0.0.1:8080";

    /// <summary>http://ADDRESS:PORT or unix:/path (see <see cref="ListenAddress"/>).</summary>
    public string Listen { get; init; } = DefaultListen;

    /// <summary>$SNAPFN_HOME when null.</summary>
    public string? HomePath { get; init; }

    /// <summary>The built-in functions' folder (guest/build); found as the CLI finds it when null.</summary>
    public string? GuestDirectory { get; init; }

    /// <summary>Idle warm VMs kept per function for mode=warm.</summary>
    public int WarmPoolSize { get; init; } = 8;

    /// <summary>Invocations running at once; more wait their turn. Each holds a vCPU thread and a request thread.</summary>
    public int MaxConcurrentInvocations { get; init; } = 16;

    /// <summary>How long a request may run when the client gives no ?timeout=.</summary>
    public TimeSpan DefaultInvokeTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The most a client may ask for with ?timeout= (snapshots, whose init() can be long, included).</summary>
    public TimeSpan MaxTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>How long a SIGTERM waits for requests in flight before the daemon stops anyway.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest body POST /functions accepts, as sent: an ELF or a Python function's zip.</summary>
    public long MaxDeployBytes { get; init; } = 64L << 20;

    /// <summary>Host-side resource limits of the platform (guest memory per VM, the host's budget for all VMs, the
    /// shell pool): see <see cref="FunctionServiceOptions"/> and docs/limits.md.</summary>
    public FunctionServiceOptions Platform { get; init; } = new() { AutoRecord = new() }; // a daemon records functions by itself

    /// <summary>Host names clients may address the daemon by besides localhost and IP addresses (a proxy's, the
    /// machine's); any other Host is refused, against DNS rebinding. See <see cref="CrossSiteGuard"/>.</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>What a Python function's deploy may unpack and install, and how many run at once.</summary>
    public Snapfn.Platform.DeployLimits Deploys { get; init; } = new();

    /// <summary>The web console at /console: its results folder and its limits.</summary>
    public Snapfn.WebConsole.ConsoleOptions WebConsole { get; init; } = new();

    /// <summary>Set by <c>snapfn serve --nats</c>: the node joins a NATS JetStream cluster as a worker and its HTTP API
    /// routes every invocation through the cluster (see <see cref="Snapfn.Cluster.Serving.FrontDoor"/>); null: alone.</summary>
    public Snapfn.Cluster.Serving.ClusterServingOptions? Cluster { get; init; }

    /// <summary>Makes the cluster's artifact side for this node (NATS connection, local platform, worker id); null: the
    /// real one, <see cref="Snapfn.Cluster.FunctionReplicas"/> (tests pass a stand-in).</summary>
    public Func<NATS.Client.Core.INatsConnection, FunctionService, string, Snapfn.Cluster.IFunctionReplicas>? Replicas { get; init; }

    /// <summary>The most of an error's text kept in the invocation log and the daemon's log (UTF-8 bytes).</summary>
    public int MaxErrorTextBytes { get; init; } = Snapfn.Platform.ErrorText.DefaultMaxBytes;
}
