using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Serving;

/// <summary>An invocation answered through the cluster: the result, which worker ran it, how many sends it took, how
/// long the worker spent making the function local, and the workers that took it before and vanished.</summary>
public sealed record RoutedInvocation(InvocationResult Result, string Worker, int Attempts, double FetchMs, IReadOnlyList<string> RetriedFrom);

/// <summary>
/// Any node's way into the cluster: every invocation its HTTP API takes goes over NATS, to this node's own worker too
/// (one path; no local shortcut), so that routing, placement and retries are the same from every front door.
/// <para>
/// Synchronous: sent first to the worker that holds the function warm (<see cref="PlacementTable.Preferred"/>, on its
/// own subject), else to the workers' queue group. A worker <b>vanished</b> when it took the request (its
/// <c>accepted</c>) and then sent nothing for <see cref="ClusterServingOptions.HeartbeatTimeout"/> (it beats every
/// <see cref="ClusterServingOptions.HeartbeatInterval"/> while the request runs), or when no worker took the request
/// within <see cref="ClusterServingOptions.AcceptTimeout"/>. Such a request is sent once more, to another worker,
/// unless the function is not retryable (<see cref="ClusterFunction.Retryable"/>): then the answer is a 502 saying it
/// was not retried and why. A request that merely runs long keeps beating and is never sent again. "No responders" (no
/// worker subscribed where it was sent) means nothing was delivered: it goes to the queue group, and with no worker at
/// all the answer is a 503.
/// </para>
/// <para>
/// Asynchronous: the request goes to the work-queue stream (deduplicated by its id) after a pending marker in the
/// results bucket; <see cref="ResultAsync"/> reads it back.
/// </para>
/// </summary>
public sealed class FrontDoor
{
    private readonly INatsConnection _nats;
    private readonly INatsJSContext _js;
    private readonly AsyncResults _results;
    private readonly PlacementTable _placement;
    private readonly IFunctionReplicas _replicas;
    private readonly ClusterServingOptions _options;
    private readonly Func<string, bool> _knownLocally;
    private readonly int _maxErrorBytes;
    private readonly ILogger _log;

    /// <param name="knownLocally">Whether this node has the function itself (the built-ins, which the cluster's
    /// records do not list).</param>
    public FrontDoor(INatsConnection nats, INatsJSContext js, AsyncResults results, PlacementTable placement, IFunctionReplicas replicas,
        ClusterServingOptions options, Func<string, bool> knownLocally, int maxPayloadBytes, int maxErrorBytes, ILogger? log = null)
    {
        _nats = nats ?? throw new ArgumentNullException(nameof(nats));
        _js = js ?? throw new ArgumentNullException(nameof(js));
        _results = results ?? throw new ArgumentNullException(nameof(results));
        _placement = placement ?? throw new ArgumentNullException(nameof(placement));
        _replicas = replicas ?? throw new ArgumentNullException(nameof(replicas));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _knownLocally = knownLocally ?? throw new ArgumentNullException(nameof(knownLocally));
        MaxPayloadBytes = maxPayloadBytes;
        _maxErrorBytes = maxErrorBytes;
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>The NATS servers' max_payload: the most one message carries.</summary>
    public int MaxPayloadBytes { get; }

    /// <summary>The largest input an invocation may have in the cluster (limit <c>cluster-payload</c>; an output has
    /// the same bound): max_payload less room for the headers, or for a stored result's envelope.</summary>
    public int MaxInputBytes => MaxPayloadBytes - WorkerAnswer.EnvelopeAllowance;

    public async Task<RoutedInvocation> InvokeAsync(InvokeRequest request, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckRequest(request);
        var function = request.Function;
        var first = await SendPreferringAsync(request, _placement.Preferred(function), attempt: 1, cancel).ConfigureAwait(false);
        if (first.Answer is { } answered)
            return Routed(answered, 1, []);
        var retryable = await RetryableAsync(function, cancel).ConfigureAwait(false);
        var what = first.Describe(_options);
        if (!retryable)
        {
            ClusterLog.WorkerLost(_log, first.Worker, function, request.InvocationId ?? "", "not retried: the function is not retryable");
            throw new ClusterInvocationException(new ClassifiedError(ErrorCode.WorkerLost,
                $"{what}; '{function}' is not retryable (retryable: false in its snapfn.json), so the request was not sent again and may or may not have run: " +
                "send it again if it should run"), worker: first.Worker);
        }
        ClusterLog.WorkerLost(_log, first.Worker, function, request.InvocationId ?? "", "sent once more to another worker");
        var second = await SendPreferringAsync(request, _placement.Preferred(function, exclude: first.Worker), attempt: 2, cancel).ConfigureAwait(false);
        if (second.Answer is { } retried)
            return Routed(retried, 2, first.Worker is { } vanished ? [vanished] : []);
        throw new ClusterInvocationException(new ClassifiedError(ErrorCode.WorkerLost,
            $"{what}; sent once more, and then {second.Describe(_options)}: the request was not sent a third time; check the workers' logs, then send it again",
            ErrorRemedy.Retry), worker: second.Worker);
    }

    /// <summary>Queues <paramref name="request"/> for a worker; returns its id (the request's, or a new one).</summary>
    public async Task<string> SubmitAsync(InvokeRequest request, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckRequest(request);
        if (!_knownLocally(request.Function) && await _replicas.FindAsync(request.Function, cancel).ConfigureAwait(false) is null)
            throw new UnknownFunctionException($"function '{request.Function}' is not deployed to the cluster: deploy it through any node with `snapfn deploy`");
        var id = request.InvocationId ?? InvocationId.New();
        try
        {
            if (!await _results.MarkPendingAsync(id, cancel).ConfigureAwait(false))
                throw new ClusterInvocationException(new ClassifiedError(ErrorCode.Conflict, $"invocation {id} is known already"));
            try
            {
                var ack = await _js.PublishAsync(ClusterNames.AsyncSubjectPrefix + request.Function, request.Input,
                    headers: InvocationRequestWire.ToHeaders(request with { InvocationId = id }, attempt: 1),
                    opts: new NatsJSPubOpts { MsgId = id }, cancellationToken: cancel).ConfigureAwait(false);
                ack.EnsureSuccess();
            }
            catch (Exception e) when (e is NatsException)
            {
                await _results.ForgetAsync(id, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }
        catch (NatsException e)
        {
            throw new ClusterInvocationException(new ClassifiedError(ErrorCode.Busy,
                $"the asynchronous request could not be queued in JetStream ({e.Message}): the queue may be full or the NATS cluster without a quorum",
                ErrorRemedy.Retry), TimeSpan.FromSeconds(5));
        }
        return id;
    }

    /// <summary>Where the asynchronous invocation <paramref name="id"/> stands, with its answer once there is one.</summary>
    public async Task<(AsyncState State, WorkerAnswer? Answer)> ResultAsync(string id, CancellationToken cancel)
    {
        if (!InvocationId.IsValid(id))
            throw new InvalidRequestException($"'{(id.Length > 64 ? id[..64] + "…" : id)}' is not an invocation id (a UUID as POST …/invoke?async=1 returned it)");
        try
        {
            var (state, answer, _) = await _results.ReadAsync(id, cancel).ConfigureAwait(false);
            return (state, answer);
        }
        catch (NatsException e)
        {
            throw new ClusterInvocationException(new ClassifiedError(ErrorCode.HostError, $"the results bucket could not be read ({e.Message})", ErrorRemedy.Retry));
        }
    }

    private void CheckRequest(InvokeRequest request)
    {
        // What the worker would refuse, refused here, before anything is queued.
        if (request.Mode is { } mode && !FunctionService.Modes.Contains(mode))
            throw new InvalidRequestException($"unknown mode '{(mode.Length > 64 ? mode[..64] + "…" : mode)}'; modes: {string.Join(", ", FunctionService.Modes)}");
        if (request.Input.Length > MaxInputBytes)
            throw new ClusterInvocationException(new ClassifiedError(ErrorCode.BodyTooLarge,
                $"the input is {request.Input.Length} bytes, more than the {MaxInputBytes} bytes an invocation carries in this cluster (limit 'cluster-payload': " +
                $"the NATS servers' max_payload of {MaxPayloadBytes} bytes less {WorkerAnswer.EnvelopeAllowance} for headers): send less, or raise max_payload in every nats-server's configuration"));
    }

    private async Task<bool> RetryableAsync(string function, CancellationToken cancel)
    {
        try
        {
            return await _replicas.FindAsync(function, cancel).ConfigureAwait(false) is not { Retryable: false };
        }
        catch (NatsException)
        {
            // Cannot tell: do not run twice what may not be run twice.
            return false;
        }
    }

    /// <param name="vanished">The worker of the first send when it took the request and went silent (none when no worker
    /// took it).</param>
    private static RoutedInvocation Routed(WorkerAnswer answer, int attempts, IReadOnlyList<string> vanished) =>
        new(answer.ResultOrThrow(), answer.Worker, attempts, answer.FetchMs, vanished);

    /// <summary>Sends to the queue group after workers refused a request for now: at most this many, each naming the
    /// workers that refused (<see cref="WireHeaders.RefusedBy"/>), who decline at once when the group chooses them
    /// again. The group chooses at random: with one free worker of three, all of them missing it is (2/3)^12.</summary>
    public const int MaxSendsAfterRefusal = 12;

    /// <summary>To <paramref name="worker"/>'s own subject when given; where nobody listens there (it left), or where
    /// it refused the request for now (429 at its max_instances, 503 busy: nothing ran), to the queue group — a warm
    /// worker is a preference, not a pin, so that a burst is not held at one worker while the others are free. A
    /// refusal from the group's choice is sent to the group again, naming every worker that refused (they decline at
    /// once), up to <see cref="MaxSendsAfterRefusal"/> times: the cluster answers "busy" only when no worker it
    /// reached could take the request, never because the group chose the refusing worker again.</summary>
    private async Task<Sent> SendPreferringAsync(InvokeRequest request, string? worker, int attempt, CancellationToken cancel)
    {
        var refusers = new List<string>();
        var sent = worker is null ? null : await SendAsync(ClusterWorker.OwnPrefix(worker) + request.Function, worker, request, attempt, refusers, cancel).ConfigureAwait(false);
        if (sent is not null && sent.Kind != SentKind.NoResponders && !Refused(sent))
            return Checked(sent, request);
        // What to answer when every send is refused: a refusal a worker gave for itself (why it was busy), not the
        // decline of a worker that had refused already.
        var refusal = sent is not null && Refused(sent) ? sent : null;
        for (var sends = 0; sends < MaxSendsAfterRefusal; sends++)
        {
            if (sent is not null && Refused(sent) && sent.Worker is { } refuser && !refusers.Contains(refuser) && refusers.Count < InvocationRequestWire.MaxRefusedBy)
                refusers.Add(refuser);
            sent = await SendAsync(ClusterNames.InvokeSubjectPrefix + request.Function, null, request, attempt, refusers, cancel).ConfigureAwait(false);
            if (!Refused(sent))
                return Checked(sent, request);
            if (sent.Worker is null || !refusers.Contains(sent.Worker))
                refusal = sent;
        }
        return refusal ?? sent!;
    }

    /// <summary>The send, or the error a front door answers for a send that reached no worker or overran.</summary>
    private Sent Checked(Sent sent, InvokeRequest request)
    {
        if (sent.Kind == SentKind.NoResponders)
            throw new ClusterInvocationException(new ClassifiedError(ErrorCode.NoWorkers,
                "no worker listens for invocations in this cluster: start one with `snapfn serve --nats URL`", ErrorRemedy.Retry), TimeSpan.FromSeconds(5));
        if (sent.Kind == SentKind.Overdue)
            throw new ClusterInvocationException(new ClassifiedError(ErrorCode.GuestTimeout,
                $"worker {sent.Worker} kept running the request past its timeout ({request.Timeout.TotalSeconds:0.###} s) and the fetch allowance " +
                $"({_options.FetchAllowance.TotalSeconds:0} s); this front door stopped waiting", ErrorRemedy.RaiseTimeout), worker: sent.Worker);
        return sent;
    }

    /// <param name="target">The worker whose own subject this is (null: the queue group). A request NATS delivered
    /// there (it did not answer "no responders") went to that worker, even when its <c>accepted</c> never came.</param>
    private static bool Refused(Sent sent) => sent.Answer?.Error?.Code.Name is "too-many-requests" or "busy";

    private async Task<Sent> SendAsync(string subject, string? target, InvokeRequest request, int attempt, IReadOnlyCollection<string> refusedBy, CancellationToken cancel)
    {
        var inbox = _nats.NewInbox();
        await using var replies = await _nats.SubscribeCoreAsync<byte[]>(inbox, cancellationToken: cancel).ConfigureAwait(false);
        await _nats.PublishAsync(subject, request.Input, InvocationRequestWire.ToHeaders(request, attempt, refusedBy), replyTo: inbox, cancellationToken: cancel).ConfigureAwait(false);
        var backstop = request.Timeout + _options.FetchAllowance + _options.HeartbeatTimeout;
        var started = Stopwatch.GetTimestamp();
        var worker = target;
        var accepted = false;
        while (true)
        {
            NatsMsg<byte[]> message;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancel))
            {
                wait.CancelAfter(accepted ? _options.HeartbeatTimeout : _options.AcceptTimeout);
                try
                {
                    message = await replies.Msgs.ReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                {
                    return new Sent(accepted ? SentKind.Vanished : SentKind.Unanswered, worker, null);
                }
            }
            if (message.HasNoResponders)
                return new Sent(SentKind.NoResponders, null, null);
            var kind = message.Headers is { } h && h.TryGetValue(WireHeaders.Reply, out var k) ? k.ToString() : null;
            if (message.Headers is { } hw && hw.TryGetValue(WireHeaders.Worker, out var w) && WorkerId.IsValid(w.ToString()))
                worker ??= w.ToString();
            if (kind == WireHeaders.Done)
                return new Sent(SentKind.Answered, worker, WorkerAnswer.FromReply(message.Headers, message.Data, _maxErrorBytes));
            if (kind is WireHeaders.Accepted or WireHeaders.Running)
                accepted = true;
            if (Stopwatch.GetElapsedTime(started) > backstop)
                return new Sent(SentKind.Overdue, worker, null);
        }
    }

    private enum SentKind
    {
        Answered,
        NoResponders,
        Unanswered,
        Vanished,
        Overdue,
    }

    private sealed record Sent(SentKind Kind, string? Worker, WorkerAnswer? Answer)
    {
        public string Describe(ClusterServingOptions options) => Kind switch
        {
            SentKind.Vanished => $"worker {Worker} took the request, then sent no heartbeat for {options.HeartbeatTimeout.TotalSeconds:0.###} s (it stopped or lost NATS mid-request)",
            _ => $"no worker took the request within {options.AcceptTimeout.TotalSeconds:0.###} s",
        };
    }
}
