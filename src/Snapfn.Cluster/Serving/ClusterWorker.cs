using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// The synchronous side of a worker: subscribes to every function's invocation subject in the workers' queue group
/// (<c>snapfn.invoke.*</c>, so that NATS gives each request to one worker of the group) and to its own subject
/// (<c>snapfn.worker.ID.invoke.*</c>, where a front door sends a request for a function this worker holds warm). Each
/// request is answered on its reply subject: <c>accepted</c> at once, <c>running</c> every heartbeat interval, then
/// <c>done</c> with the answer. A front door that stops hearing the heartbeats knows the worker vanished.
/// </summary>
public sealed class ClusterWorker : IAsyncDisposable
{
    private readonly INatsConnection _nats;
    private readonly LocalInvoker _invoker;
    private readonly ClusterServingOptions _options;
    private readonly ILogger _log;
    private readonly Action<string>? _served;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<INatsSub<byte[]>> _subscriptions = [];
    private readonly List<Task> _loops = [];
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private int _inFlight;

    /// <param name="served">Told the function after each answer (the placement publisher notes what this worker now holds).</param>
    public ClusterWorker(INatsConnection nats, LocalInvoker invoker, ClusterServingOptions options, ILogger? log = null, Action<string>? served = null)
    {
        _nats = nats ?? throw new ArgumentNullException(nameof(nats));
        _invoker = invoker ?? throw new ArgumentNullException(nameof(invoker));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _served = served;
    }

    public string Id => _invoker.Worker;

    /// <summary>The prefix of this worker's own subjects: + function name.</summary>
    public static string OwnPrefix(string worker) => $"{ClusterNames.WorkerSubjectPrefix}{worker}.invoke.";

    /// <summary>Requests being handled now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public async Task StartAsync(CancellationToken cancel)
    {
        var shared = await _nats.SubscribeCoreAsync<byte[]>(ClusterNames.InvokeSubjectPrefix + "*", ClusterNames.WorkerQueueGroup, cancellationToken: cancel).ConfigureAwait(false);
        _subscriptions.Add(shared);
        var own = await _nats.SubscribeCoreAsync<byte[]>(OwnPrefix(Id) + "*", cancellationToken: cancel).ConfigureAwait(false);
        _subscriptions.Add(own);
        _loops.Add(Task.Run(() => ReceiveAsync(shared, ClusterNames.InvokeSubjectPrefix), CancellationToken.None));
        _loops.Add(Task.Run(() => ReceiveAsync(own, OwnPrefix(Id)), CancellationToken.None));
    }

    private async Task ReceiveAsync(INatsSub<byte[]> subscription, string prefix)
    {
        try
        {
            await foreach (var message in subscription.Msgs.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                if (message.ReplyTo is not { Length: > 0 } replyTo)
                    continue; // a request without a reply subject cannot be answered: nobody waits for it
                if (Interlocked.Increment(ref _inFlight) > _options.MaxInFlight)
                {
                    Interlocked.Decrement(ref _inFlight);
                    await ReplyAsync(replyTo, new WorkerAnswer
                    {
                        Worker = Id,
                        Error = new ClassifiedError(ErrorCode.Busy, $"worker {Id} is handling {_options.MaxInFlight} requests already", ErrorRemedy.Retry),
                        RetryAfter = TimeSpan.FromSeconds(1),
                    }).ConfigureAwait(false);
                    continue;
                }
                var task = Task.Run(() => HandleAsync(message, prefix, replyTo), CancellationToken.None);
                _running[task] = 0;
                _ = task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException or ObjectDisposedException)
        {
            // Stopping, or the connection was closed under us.
        }
    }

    private async Task HandleAsync(NatsMsg<byte[]> message, string prefix, string replyTo)
    {
        try
        {
            var function = InvocationRequestWire.FunctionOf(message.Subject, prefix);
            InvokeRequest request;
            try
            {
                if (function is null)
                    throw new InvalidRequestException($"'{message.Subject}' names no valid function: lower-case letters, digits and inner dashes, at most 64");
                request = InvocationRequestWire.Parse(function, message.Headers, message.Data ?? [], _options.MaxTimeout);
            }
            catch (InvalidRequestException e)
            {
                await ReplyAsync(replyTo, WorkerAnswer.Failed(Id, e, _invoker.MaxErrorBytes)).ConfigureAwait(false);
                return;
            }
            if (InvocationRequestWire.RefusedBy(message.Headers, Id))
            {
                // This worker refused the request a moment ago (busy, or at max_instances): declined at once, nothing
                // run, so that the front door's next send to the queue group can reach a worker that is free.
                await ReplyAsync(replyTo, new WorkerAnswer
                {
                    Worker = Id,
                    Error = new ClassifiedError(ErrorCode.Busy, $"worker {Id} refused this request a moment ago (busy): another worker is tried", ErrorRemedy.Retry),
                    RetryAfter = TimeSpan.FromSeconds(1),
                }).ConfigureAwait(false);
                return;
            }
            await SignalAsync(replyTo, WireHeaders.Accepted).ConfigureAwait(false);
            WorkerAnswer answer;
            using (var beating = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                var heartbeat = HeartbeatAsync(replyTo, beating.Token);
                try
                {
                    answer = await _invoker.RunAsync(request, _stop.Token).ConfigureAwait(false);
                }
                finally
                {
                    await beating.CancelAsync().ConfigureAwait(false);
                    await heartbeat.ConfigureAwait(false);
                }
            }
            await ReplyAsync(replyTo, answer).ConfigureAwait(false);
            ClusterLog.Served(_log, request.Function, request.InvocationId ?? "", answer.Error?.Code.Name ?? "ok");
            _served?.Invoke(request.Function);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or NatsException)
        {
            // The worker is stopping or its connection is gone: the front door's heartbeat check takes over.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task HeartbeatAsync(string replyTo, CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
                await SignalAsync(replyTo, WireHeaders.Running).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or NatsException)
        {
            // Done, or the connection is gone (then the silence is the message).
        }
    }

    private ValueTask SignalAsync(string replyTo, string kind) =>
        _nats.PublishAsync(replyTo, headers: new NatsHeaders { [WireHeaders.Reply] = kind, [WireHeaders.Worker] = Id }, cancellationToken: _stop.Token);

    private ValueTask ReplyAsync(string replyTo, WorkerAnswer answer)
    {
        var (headers, body) = answer.ToReply();
        return _nats.PublishAsync(replyTo, body, headers, cancellationToken: _stop.Token);
    }

    /// <summary>Stops taking requests (unsubscribes), then waits for those in hand; <paramref name="drain"/> bounds the wait.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        foreach (var subscription in _subscriptions)
        {
            try
            {
                await subscription.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or ObjectDisposedException)
            {
            }
        }
        try
        {
            await Task.WhenAll(_running.Keys).WaitAsync(drain).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var subscription in _subscriptions)
            await subscription.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _stop.Dispose();
    }
}
