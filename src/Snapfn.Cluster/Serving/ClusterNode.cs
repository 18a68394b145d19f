using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Net;
using Snapfn.Platform;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// A node of a Snapfn cluster (<c>snapfn serve --nats</c>): one NATS connection, and on it the worker (synchronous
/// requests, asynchronous ones from the work queue, placement entries) and the front door the node's HTTP API routes
/// through. Started once the local platform is open; disposed before it closes.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly NatsConnection _nats;
    private readonly AsyncWorker _async;
    private int _disposed;

    private ClusterNode(NatsConnection nats, string worker, IFunctionReplicas replicas, ClusterWorker sync, AsyncWorker async,
        PlacementPublisher publisher, PlacementTable placement, FrontDoor frontDoor, int replicaCount)
    {
        _nats = nats;
        WorkerId = worker;
        Replicas = replicas;
        Worker = sync;
        _async = async;
        Publisher = publisher;
        Placement = placement;
        FrontDoor = frontDoor;
        ReplicaCount = replicaCount;
    }

    public string WorkerId { get; }

    /// <summary>The artifact side: the cluster's functions, publishing a deploy, fetching what this worker lacks.</summary>
    public IFunctionReplicas Replicas { get; }

    public FrontDoor FrontDoor { get; }

    public ClusterWorker Worker { get; }

    public PlacementTable Placement { get; }

    public PlacementPublisher Publisher { get; }

    /// <summary>The node's NATS connection (tests close it to make the worker vanish as a killed one would).</summary>
    public INatsConnection Connection => _nats;

    /// <summary>Replicas of the stream and buckets this node asked for.</summary>
    public int ReplicaCount { get; }

    /// <summary>Connects to NATS, makes the stream and buckets (idempotent), and starts the worker and the front door.</summary>
    /// <param name="replicas">Makes the artifact side for this node (the integration's implementation of
    /// <see cref="IFunctionReplicas"/>); null: <see cref="FunctionReplicas"/>, the cluster's object and key-value stores (tests
    /// pass a stand-in).</param>
    /// <param name="slots">The host's invocation gate (the daemon's), shared with its local HTTP requests.</param>
    /// <param name="fetched">Told of each time this worker makes a function local (the daemon's metrics).</param>
    public static async Task<ClusterNode> StartAsync(ClusterServingOptions options, FunctionService service,
        Func<INatsConnection, FunctionService, string, IFunctionReplicas>? replicas, InvocationSlots? slots, int maxErrorBytes,
        ILoggerFactory? loggers, CancellationToken cancel, Action<string, ReplicaFetch>? fetched = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(service);
        if (options.Check() is { } wrong)
            throw new ArgumentException(wrong, nameof(options));
        var worker = options.WorkerId ?? Serving.WorkerId.LoadOrCreate(service.Home);
        var log = loggers?.CreateLogger("Snapfn.Cluster") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var nats = new NatsConnection(NatsOpts.Default with { Url = options.NatsUrls, Name = $"snapfn-{worker}" });
        try
        {
            try
            {
                await nats.ConnectAsync().AsTask().WaitAsync(cancel).ConfigureAwait(false);
            }
            catch (NatsException e)
            {
                throw new ClusterUnavailableException($"cannot reach NATS at {options.NatsUrls} ({e.Message}): is nats-server running there, with JetStream on? (--nats)", e);
            }
            var maxPayload = (int)Math.Min(int.MaxValue, nats.ServerInfo?.MaxPayload ?? 1 << 20);
            var replicaCount = ClusterSetup.Replicas(nats, options);
            var js = nats.CreateJetStreamContext();
            var (resultsStore, placementStore) = await EnsureAsync(js, nats, options, replicaCount, maxPayload, cancel).ConfigureAwait(false);
            var replicasOf = replicas?.Invoke(nats, service, worker) ?? await ArtifactSideAsync(nats, service, worker, replicaCount, log, cancel).ConfigureAwait(false);
            var results = new AsyncResults(resultsStore, new LeaderReads(nats), maxErrorBytes);
            var invoker = new LocalInvoker(service, replicasOf, worker, slots, maxErrorBytes) { MaxOutputBytes = maxPayload - WorkerAnswer.EnvelopeAllowance, Fetched = fetched };
            var publisher = new PlacementPublisher(placementStore, service, worker, options, log);
            var sync = new ClusterWorker(nats, invoker, options, log, publisher.Touched);
            var async = new AsyncWorker(js, results, invoker, replicasOf, options, log, publisher.Touched);
            var placement = new PlacementTable(placementStore, options, log);
            var frontDoor = new FrontDoor(nats, js, results, placement, replicasOf, options, name => service.Find(name) is not null, maxPayload, maxErrorBytes, log);
            var node = new ClusterNode(nats, worker, replicasOf, sync, async, publisher, placement, frontDoor, replicaCount);
            // A function deleted from the cluster and dropped here: its placement entries go at once.
            if (replicasOf is FunctionReplicas artifacts)
                artifacts.LocalCopyDropped += publisher.Forget;
            placement.Start();
            publisher.Start();
            await sync.StartAsync(cancel).ConfigureAwait(false);
            await async.StartAsync(cancel).ConfigureAwait(false);
            ClusterLog.Joined(log, options.NatsUrls, worker);
            return node;
        }
        catch
        {
            await nats.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The artifact side: functions' records, code and snapshots in the cluster's stores, its buckets made now
    /// so that a cluster that cannot hold them fails the join rather than the first deploy.</summary>
    private static async Task<FunctionReplicas> ArtifactSideAsync(NatsConnection nats, FunctionService service, string worker, int replicaCount,
        ILogger log, CancellationToken cancel)
    {
        var replicas = new FunctionReplicas(nats, service, new ClusterOptions { Replicas = replicaCount, NodeName = worker }, log);
        try
        {
            // The buckets, and the view of the functions' records filled before this node serves anything.
            await replicas.StartAsync(cancel).ConfigureAwait(false);
            return replicas;
        }
        catch
        {
            replicas.Dispose();
            throw;
        }
    }

    private static async Task<(NATS.Client.KeyValueStore.INatsKVStore, NATS.Client.KeyValueStore.INatsKVStore)> EnsureAsync(
        NATS.Client.JetStream.INatsJSContext js, NatsConnection nats, ClusterServingOptions options, int replicaCount, int maxPayload, CancellationToken cancel)
    {
        // A cluster whose servers have just started answers JetStream's API only once it has elected its meta leader:
        // retried until the join timeout, as nodes and NATS servers start in any order.
        var deadline = DateTime.UtcNow + options.JoinTimeout;
        while (true)
        {
            try
            {
                return await ClusterSetup.EnsureAsync(js, nats.CreateKeyValueStoreContext(), options, replicaCount, maxPayload, cancel).ConfigureAwait(false);
            }
            catch (NatsException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancel).ConfigureAwait(false);
            }
            catch (NatsException e)
            {
                throw new ClusterUnavailableException($"JetStream at {options.NatsUrls} refused the stream {ClusterNames.AsyncStream} or the buckets " +
                    $"{ClusterNames.ResultsBucket}, {ClusterNames.PlacementBucket} with {replicaCount} replicas ({e.Message}): is JetStream on in every nats-server " +
                    "(jetstream { store_dir: … }), and are there that many servers?", e);
            }
        }
    }

    /// <summary>Deletes a user function from the cluster and from this node (<c>DELETE /functions/{name}</c> on any
    /// node): every node drops its copy when it sees the delete, and later invocations through any node are answered
    /// as unknown; this worker's placement entries go now.</summary>
    public async Task DeleteAsync(string name, CancellationToken cancel)
    {
        if (!await Replicas.DeleteAsync(name, cancel).ConfigureAwait(false))
            throw new UnknownFunctionException($"function '{name}' is neither deployed to the cluster nor on this node: nothing to delete (snapfn functions lists them)");
        await Publisher.ForgetAsync(name, cancel).ConfigureAwait(false);
    }

    /// <summary>Stops taking synchronous requests and waits up to <paramref name="drain"/> for those in hand.</summary>
    public Task StopAsync(TimeSpan drain) => Worker.StopAsync(drain);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _async.DisposeAsync().ConfigureAwait(false);
        await Worker.DisposeAsync().ConfigureAwait(false);
        await Publisher.DisposeAsync().ConfigureAwait(false);
        await Placement.DisposeAsync().ConfigureAwait(false);
        (Replicas as IDisposable)?.Dispose();
        await _nats.DisposeAsync().ConfigureAwait(false);
    }
}
