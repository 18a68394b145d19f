using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// Makes the stream, consumer and buckets the serving side uses, the same way from every node (idempotent: the first
/// node creates them, the others find them as they are).
/// </summary>
public static class ClusterSetup
{
    /// <summary>The most bytes of asynchronous requests waiting in the stream; past it a submit is refused (503).</summary>
    public const long AsyncQueueMaxBytes = 1L << 30;

    /// <summary>The most bytes of stored results; past it the oldest go first.</summary>
    public const long ResultsMaxBytes = 1L << 30;

    /// <summary>Three replicas when the NATS cluster has at least three servers, else one per server.</summary>
    public static int Replicas(INatsConnection nats, ClusterServingOptions options)
    {
        ArgumentNullException.ThrowIfNull(nats);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Replicas is { } given)
            return given;
        var servers = Math.Max(1, nats.ServerInfo?.ClientConnectUrls?.Length ?? 1);
        return Math.Min(3, servers);
    }

    public static async Task<(INatsKVStore Results, INatsKVStore Placement)> EnsureAsync(INatsJSContext js, INatsKVContext kv, ClusterServingOptions options,
        int replicas, int maxPayload, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(kv);
        ArgumentNullException.ThrowIfNull(options);
        await js.CreateOrUpdateStreamAsync(new StreamConfig(ClusterNames.AsyncStream, [ClusterNames.AsyncSubjectPrefix + ">"])
        {
            Retention = StreamConfigRetention.Workqueue,
            Storage = StreamConfigStorage.File,
            NumReplicas = replicas,
            DuplicateWindow = TimeSpan.FromMinutes(2),
            MaxMsgSize = maxPayload,
            MaxBytes = AsyncQueueMaxBytes,
            Discard = StreamConfigDiscard.New,
            // A request still waiting when its result would have expired is of no use to anyone.
            MaxAge = options.ResultTtl,
        }, cancel).ConfigureAwait(false);
        await js.CreateOrUpdateConsumerAsync(ClusterNames.AsyncStream, new ConsumerConfig(AsyncWorker.ConsumerName)
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = options.AsyncAckWait,
            // One more than the runs: the last delivery is answered with an error instead of run (AsyncWorker).
            MaxDeliver = options.AsyncMaxDeliver + 1,
            MaxAckPending = 10_000,
        }, cancel).ConfigureAwait(false);
        var results = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(ClusterNames.ResultsBucket)
        {
            NumberOfReplicas = replicas,
            History = 1,
            MaxAge = options.ResultTtl,
            MaxValueSize = maxPayload,
            MaxBytes = ResultsMaxBytes,
            Storage = NatsKVStorageType.File,
        }, cancel).ConfigureAwait(false);
        var placement = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(ClusterNames.PlacementBucket)
        {
            NumberOfReplicas = replicas,
            History = 1,
            MaxAge = options.PlacementTtl,
            MaxValueSize = 4096,
            Storage = NatsKVStorageType.File,
        }, cancel).ConfigureAwait(false);
        return (results, placement);
    }
}
