using System.Diagnostics;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Serving;

/// <summary>Runs <paramref name="work"/> (which blocks on the vCPU) on one of the host's invocation slots: the daemon's
/// gate, so that cluster requests and local HTTP requests share one bound.</summary>
public delegate Task<InvocationResult> InvocationSlots(Func<InvocationResult> work, CancellationToken cancel);

/// <summary>
/// A worker's one way to run a request that came over NATS, synchronous or asynchronous: make the function local
/// (<see cref="IFunctionReplicas.EnsureLocalAsync"/>), then the platform's own invocation path — admitted by the
/// <see cref="FunctionServer"/> (its queue, max_instances, 429s) and run on a slot of the host's gate, exactly as the
/// HTTP API runs it — and turn the outcome into a <see cref="WorkerAnswer"/>. Every failure becomes an answer with
/// its classified error, so that the front door answers as this node's own HTTP API would.
/// </summary>
public sealed class LocalInvoker
{
    private readonly FunctionService _service;
    private readonly IFunctionReplicas _replicas;
    private readonly InvocationSlots _slots;

    public LocalInvoker(FunctionService service, IFunctionReplicas replicas, string worker, InvocationSlots? slots, int maxErrorBytes)
    {
        _service = service ?? throw new ArgumentNullException(nameof(service));
        _replicas = replicas ?? throw new ArgumentNullException(nameof(replicas));
        Worker = worker ?? throw new ArgumentNullException(nameof(worker));
        // Without the daemon's gate (tests, tools), on the thread pool: the run blocks its thread on the vCPU.
        _slots = slots ?? ((work, cancel) => Task.Run(work, cancel));
        MaxErrorBytes = maxErrorBytes;
    }

    public string Worker { get; }

    public int MaxErrorBytes { get; }

    /// <summary>Told of each time this worker made a function local (the daemon counts them in its metrics,
    /// <c>snapfn_cluster_replica_fetch*</c>).</summary>
    public Action<string, ReplicaFetch>? Fetched { get; init; }

    /// <summary>The most output an answer may carry (set from the NATS servers' max_payload once connected).</summary>
    public int MaxOutputBytes { get; set; } = int.MaxValue;

    public async Task<WorkerAnswer> RunAsync(InvokeRequest request, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Stopwatch.GetTimestamp();
        double fetchMs = 0;
        try
        {
            var fetch = await _replicas.EnsureLocalAsync(request.Function, cancel).ConfigureAwait(false);
            // 0 when the function was here already: Snapfn-Fetch-Ms names the runs that paid for a fetch.
            fetchMs = fetch.AlreadyLocal ? 0 : Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Fetched?.Invoke(request.Function, fetch);
            using var admission = await _service.Server.AdmitAsync(request, cancel).ConfigureAwait(false);
            var result = await _slots(() => _service.Server.Run(admission, cancel), cancel).ConfigureAwait(false);
            if (result.Output.Length > MaxOutputBytes)
            {
                return new WorkerAnswer
                {
                    Worker = Worker, FetchMs = fetchMs,
                    Error = new ClassifiedError(ErrorCode.BodyTooLarge, $"function '{request.Function}' ran on worker {Worker} (invocation {result.InvocationId}), but its output " +
                        $"is {result.Output.Length} bytes, more than the {MaxOutputBytes} bytes a cluster answer carries (the NATS servers' max_payload): " +
                        "return less, or raise max_payload in every nats-server's configuration"),
                };
            }
            return new WorkerAnswer { Worker = Worker, Result = result, FetchMs = fetchMs };
        }
        catch (Exception e) when (!cancel.IsCancellationRequested || e is not OperationCanceledException)
        {
            return WorkerAnswer.Failed(Worker, e, MaxErrorBytes) with { FetchMs = fetchMs };
        }
    }
}
