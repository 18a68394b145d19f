namespace Snapfn.Cluster.Serving;

/// <summary>
/// How a node serves in a cluster (<c>snapfn serve --nats URL[,URL…]</c>): where NATS is, how a front door tells a
/// vanished worker from a slow one, how asynchronous invocations are redelivered, and how long results and placement
/// records live. Every duration here is one a test shortens; the defaults are for machines on one network.
/// </summary>
public sealed record ClusterServingOptions
{
    /// <summary>The NATS servers' client URLs, comma-separated (nats://host:4222,nats://host2:4222).</summary>
    public required string NatsUrls { get; init; }

    /// <summary>This worker's id; null to read it from $SNAPFN_HOME/worker-id (made once, see <see cref="WorkerId"/>).</summary>
    public string? WorkerId { get; init; }

    /// <summary>While a worker runs a request it tells the front door so this often (a <c>running</c> message on the
    /// request's reply subject).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A front door that hears nothing from the worker running its request for this long counts the worker as
    /// vanished (and retries once, unless the function is not retryable). A request that merely runs long keeps
    /// beating and is never retried.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a front door waits for a worker to take a request (its <c>accepted</c> message) before it
    /// counts the request as lost on the way.</summary>
    public TimeSpan AcceptTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest a worker may spend making a function local (fetching its artifacts) before the request's
    /// own timeout starts: the front door's backstop is the request's timeout plus this.</summary>
    public TimeSpan FetchAllowance { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest timeout a request may carry over NATS (the daemon's ?timeout= bound is the same by default).</summary>
    public TimeSpan MaxTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>An asynchronous request a worker took is given to another worker when it is not acknowledged for this
    /// long; a worker running it acknowledges progress every third of it.</summary>
    public TimeSpan AsyncAckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries of one asynchronous request (JetStream's MaxDeliver): the runs after which a request whose
    /// workers all vanished is answered with an error instead of run again.</summary>
    public int AsyncMaxDeliver { get; init; } = 3;

    /// <summary>Asynchronous requests one worker runs at once (each a pull from the shared consumer).</summary>
    public int AsyncConcurrency { get; init; } = 4;

    /// <summary>How long an asynchronous result (and a pending marker) is kept in the results bucket.</summary>
    public TimeSpan ResultTtl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How often a worker writes what it holds warm into the placement bucket; entries live three times as
    /// long, so that a dead worker's entries vanish by themselves.</summary>
    public TimeSpan PlacementInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Synchronous requests one worker handles at once (running or waiting for the platform's turn); more are
    /// answered at once with a 503 so that a burst cannot make a worker hold unbounded tasks.</summary>
    public int MaxInFlight { get; init; } = 256;

    /// <summary>How long a starting node waits for JetStream to answer (a NATS cluster that has just started elects
    /// its leader first) before it gives up.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Replicas of the stream and buckets; null: three when the NATS cluster has at least three servers, else
    /// one per server.</summary>
    public int? Replicas { get; init; }

    internal TimeSpan PlacementTtl => PlacementInterval * 3;

    /// <summary>The first error in the settings, or null.</summary>
    public string? Check()
    {
        if (string.IsNullOrWhiteSpace(NatsUrls))
            return "--nats needs at least one URL (nats://host:4222)";
        foreach (var url in NatsUrls.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
                return $"--nats {url}: give nats://HOST:PORT (comma-separated for several servers)";
        }
        if (WorkerId is { } id && !Serving.WorkerId.IsValid(id))
            return $"worker id '{id}': lower-case letters, digits and inner dashes, at most 64";
        if (HeartbeatInterval <= TimeSpan.Zero || HeartbeatTimeout < HeartbeatInterval * 2)
            return "the heartbeat timeout must be at least twice the heartbeat interval";
        if (AsyncMaxDeliver is < 1 or > 100 || AsyncConcurrency is < 1 or > 1024 || MaxInFlight < 1)
            return "async max deliveries must be 1..100, async concurrency 1..1024, in-flight at least 1";
        if (AsyncAckWait < TimeSpan.FromMilliseconds(300) || ResultTtl <= TimeSpan.Zero || PlacementInterval <= TimeSpan.Zero || AcceptTimeout <= TimeSpan.Zero)
            return "async ack wait must be at least 300 ms; result TTL, placement interval and accept timeout above 0";
        if (Replicas is < 1 or > 5)
            return "replicas must be between 1 and 5";
        return null;
    }
}
