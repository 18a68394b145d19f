namespace Snapfn.Cluster;

/// <summary>The names Snapfn uses in NATS: one place, so that every node agrees.</summary>
public static class ClusterNames
{
    public const string FunctionsBucket = "snapfn-functions";      // KV: function name -> ClusterFunction record (+ artifact ids)
    public const string ChunksBucket = "snapfn-chunks";            // object store: content-addressed chunks (name = sha256 hex)
    public const string ManifestsBucket = "snapfn-artifacts";      // KV: artifact id -> chunk list manifest
    public const string PlacementBucket = "snapfn-placement";      // KV: "<function>.<worker>" -> what the worker holds
    public const string ResultsBucket = "snapfn-results";          // KV: async invocation id -> result (TTL)
    public const string AsyncStream = "SNAPFN_ASYNC";              // work-queue stream of async invocations
    public const string AsyncSubjectPrefix = "snapfn.async.";      // + function name
    public const string InvokeSubjectPrefix = "snapfn.invoke.";    // + function name; queue group WorkerQueueGroup
    public const string WorkerSubjectPrefix = "snapfn.worker.";    // + worker id + ".invoke." + function name
    public const string WorkerQueueGroup = "snapfn-workers";
}
