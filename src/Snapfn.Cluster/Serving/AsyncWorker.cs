using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// The asynchronous side of a worker: pulls from the durable consumer every worker shares on the work-queue stream
/// (<see cref="ClusterNames.AsyncStream"/>), so that each request goes to one worker; runs it as a synchronous one
/// (<see cref="LocalInvoker"/>), acknowledging progress every third of the ack wait while it runs; stores the answer
/// in the results bucket (<see cref="AsyncResults"/>: never over an earlier answer), then acknowledges. A worker
/// that dies stops acknowledging, and JetStream gives the request to another worker once the ack wait has passed.
/// Delivery N beyond <see cref="ClusterServingOptions.AsyncMaxDeliver"/>, or a redelivery of a function that is not
/// retryable, is answered with an error instead of run again.
/// </summary>
public sealed class AsyncWorker : IAsyncDisposable
{
    /// <summary>The durable pull consumer all workers share.</summary>
    public const string ConsumerName = "snapfn-async-workers";

    private readonly INatsJSContext _js;
    private readonly AsyncResults _results;
    private readonly LocalInvoker _invoker;
    private readonly IFunctionReplicas _replicas;
    private readonly ClusterServingOptions _options;
    private readonly ILogger _log;
    private readonly Action<string>? _served;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    public AsyncWorker(INatsJSContext js, AsyncResults results, LocalInvoker invoker, IFunctionReplicas replicas, ClusterServingOptions options,
        ILogger? log = null, Action<string>? served = null)
    {
        _js = js ?? throw new ArgumentNullException(nameof(js));
        _results = results ?? throw new ArgumentNullException(nameof(results));
        _invoker = invoker ?? throw new ArgumentNullException(nameof(invoker));
        _replicas = replicas ?? throw new ArgumentNullException(nameof(replicas));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _served = served;
    }

    public async Task StartAsync(CancellationToken cancel)
    {
        var consumer = await _js.GetConsumerAsync(ClusterNames.AsyncStream, ConsumerName, cancel).ConfigureAwait(false);
        for (var i = 0; i < _options.AsyncConcurrency; i++)
            _loops.Add(Task.Run(() => PullAsync(consumer), CancellationToken.None));
    }

    private async Task PullAsync(INatsJSConsumer consumer)
    {
        var next = new NatsJSNextOpts { Expires = TimeSpan.FromSeconds(5) };
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var message = await consumer.NextAsync<byte[]>(opts: next, cancellationToken: _stop.Token).ConfigureAwait(false);
                if (message is { } m)
                    await HandleAsync(m).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && _stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or ObjectDisposedException or OperationCanceledException)
            {
                // NATS away for a moment (a node restarting): the un-acknowledged request is redelivered after its ack
                // wait; wait a little before pulling again rather than spin.
                ClusterLog.AsyncTrouble(_log, e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task HandleAsync(INatsJSMsg<byte[]> message)
    {
        var id = message.Headers is { } h && h.TryGetValue(WireHeaders.InvocationId, out var value) ? value.ToString() : null;
        if (id is null || !InvocationId.IsValid(id))
        {
            // Nowhere to put an answer: not ours (no front door publishes without an id). Never deliver it again.
            ClusterLog.AsyncTrouble(_log, $"a message on {message.Subject} without a valid {WireHeaders.InvocationId}: dropped");
            await message.AckTerminateAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
            return;
        }
        var (state, tookBefore, revision) = await _results.TakeAsync(id, _invoker.Worker, _stop.Token).ConfigureAwait(false);
        var delivery = message.Metadata?.NumDelivered ?? 1;
        if (state == AsyncState.Done)
        {
            // An earlier run answered and its worker died before acknowledging: the answer stands, nothing runs.
            await message.AckAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
            ClusterLog.AsyncServed(_log, message.Subject, id, delivery, "answered already");
            return;
        }
        var function = InvocationRequestWire.FunctionOf(message.Subject, ClusterNames.AsyncSubjectPrefix) ?? "";
        var answer = await AnswerAsync(message, function, id, delivery).ConfigureAwait(false);
        // The workers that took it before this delivery (their ids in the marker) vanished without answering.
        answer = answer with { RetriedFrom = tookBefore };
        var bytes = answer.Encode();
        var stored = await _results.StoreAsync(id, bytes, revision, _stop.Token).ConfigureAwait(false);
        await message.AckAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
        ClusterLog.AsyncServed(_log, function, id, delivery, stored ? answer.Error?.Code.Name ?? "ok" : "answered by another run first; this answer dropped");
        if (answer.Result is not null)
            _served?.Invoke(function);
    }

    private async Task<WorkerAnswer> AnswerAsync(INatsJSMsg<byte[]> message, string function, string id, ulong delivery)
    {
        if (delivery > (ulong)_options.AsyncMaxDeliver)
            return Lost($"asynchronous invocation {id} of '{function}' was given to {delivery - 1} workers and each stopped before answering; " +
                $"it is not run again (at most {_options.AsyncMaxDeliver} runs): check the workers' logs, then send it again");
        if (delivery > 1 && function.Length > 0 && await _replicas.FindAsync(function, _stop.Token).ConfigureAwait(false) is { Retryable: false })
            return Lost($"asynchronous invocation {id} of '{function}' was taken by a worker that stopped before answering, and '{function}' " +
                "is not retryable (retryable: false in its snapfn.json), so it is not run again: it may or may not have run; send it again if it should");
        InvokeRequest request;
        try
        {
            if (function.Length == 0)
                throw new InvalidRequestException($"'{message.Subject}' names no valid function");
            request = InvocationRequestWire.Parse(function, message.Headers, message.Data ?? [], _options.MaxTimeout) with { InvocationId = id };
        }
        catch (InvalidRequestException e)
        {
            return WorkerAnswer.Failed(_invoker.Worker, e, _invoker.MaxErrorBytes);
        }
        using var progress = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var acking = AckProgressAsync(message, progress.Token);
        try
        {
            return await _invoker.RunAsync(request, _stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await progress.CancelAsync().ConfigureAwait(false);
            await acking.ConfigureAwait(false);
        }
    }

    /// <summary>Tells JetStream the request is still being worked on, every third of the ack wait, so that a long run
    /// is not given to another worker while this one is alive.</summary>
    private async Task AckProgressAsync(INatsJSMsg<byte[]> message, CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(_options.AsyncAckWait / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
                await message.AckProgressAsync(cancellationToken: cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or NatsException)
        {
        }
    }

    private WorkerAnswer Lost(string message) =>
        new() { Worker = _invoker.Worker, Error = new ClassifiedError(ErrorCode.WorkerLost, message) };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _stop.Dispose();
    }
}
