using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Snapfn.Bench.Cluster;

/// <summary>One worker's HTTP API as the burst uses it: its address and the token its daemon wrote.</summary>
public sealed record FrontDoor(string WorkerId, Uri BaseAddress, string Token);

/// <summary>
/// The burst: <see cref="ClusterSettings.Clients"/> clients send <see cref="ClusterSettings.Requests"/> invocations
/// through the front doors in turn (<see cref="ClusterSettings.Plan"/>); an async one is polled until its result. Once
/// <see cref="ClusterSettings.KillAfter"/> have been sent, <c>kill</c> runs (the experiment SIGKILLs a worker), and
/// the dead worker's front door is skipped from then on, as a load balancer's health check would; a request whose
/// connection to it was cut is sent again through the next node and counted as resent.
/// </summary>
public sealed class ClusterLoad(ClusterSettings settings, IReadOnlyList<FrontDoor> doors, IReadOnlyDictionary<string, byte[]> inputs, HttpClient http)
{
    private readonly Stopwatch _clock = new();
    private readonly List<ClusterRequest> _records = [];
    private int _next = -1;
    private volatile int _deadDoor = -1;
    private int _killDoor = -1;
    // Written by the client that kills, read by all: a double is read whole (NaN: not yet), a double? need not be.
    private double _killMs = double.NaN;

    /// <summary>When the worker was SIGKILLed, in ms since the burst started; null before.</summary>
    public double? KillMs => Volatile.Read(ref _killMs) is var ms && double.IsNaN(ms) ? null : ms;

    public IReadOnlyList<ClusterRequest> Records
    {
        get
        {
            lock (_records)
                return [.. _records.OrderBy(r => r.Sequence)];
        }
    }

    /// <summary>Runs the burst. Half way, <paramref name="beforeKill"/> runs (what must be read from the worker
    /// before it dies), then the kill's time is taken and <paramref name="kill"/> returns once the worker is dead.
    /// Cancelled, it stops sending and returns what was answered or lost so far.</summary>
    public async Task RunAsync(int killDoor, Func<Task> beforeKill, Func<Task> kill, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(beforeKill);
        ArgumentNullException.ThrowIfNull(kill);
        _killDoor = killDoor;
        _clock.Start();
        var clients = Enumerable.Range(0, settings.Clients).Select(_ => Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                var sequence = Interlocked.Increment(ref _next);
                if (sequence >= settings.Requests)
                    return;
                if (sequence == settings.KillAfter)
                {
                    await beforeKill().ConfigureAwait(false);
                    Volatile.Write(ref _killMs, Now);
                    // Skipped from the kill on: the cluster's recovery is measured, not a load balancer's.
                    _deadDoor = killDoor;
                    await kill().ConfigureAwait(false);
                }
                var record = await SendAsync(sequence, ct).ConfigureAwait(false);
                if (record is null)
                    return;
                lock (_records)
                    _records.Add(record);
            }
        }, CancellationToken.None)).ToList();
        await Task.WhenAll(clients).ConfigureAwait(false);
    }

    private double Now => _clock.Elapsed.TotalMilliseconds;

    /// <summary>The door to use for a request planned for <paramref name="door"/>: the next one when it is dead.</summary>
    private int Alive(int door) => door == _deadDoor ? (door + 1) % doors.Count : door;

    private async Task<ClusterRequest?> SendAsync(int sequence, CancellationToken ct)
    {
        var (function, kind, planned) = settings.Plan(sequence);
        var door = Alive(planned);
        var sent = Now;
        var resends = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(settings.RequestTimeout);
        ClusterRequest Lost(int? status, string error) =>
            new(sequence, function, kind, door, sent, null, status, null, null, [], resends, error);
        try
        {
            while (true)
            {
                try
                {
                    return kind == InvocationKind.Sync
                        ? await InvokeAsync(sequence, function, door, sent, resends, timeout.Token).ConfigureAwait(false)
                        : await InvokeAsyncKind(sequence, function, door, sent, resends, timeout.Token).ConfigureAwait(false);
                }
                catch (HttpRequestException) when (KillMs is not null && door == _killDoor)
                {
                    // The front door was the worker killed: its connection is gone, the next node takes the request.
                    resends++;
                    door = (door + 1) % doors.Count;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            return Lost(null, string.Create(CultureInfo.InvariantCulture, $"no answer within {settings.RequestTimeout.TotalSeconds:0} s"));
        }
        catch (HttpRequestException e)
        {
            return Lost(null, e.Message);
        }
    }

    private HttpRequestMessage Request(HttpMethod method, int door, string path, byte[]? body = null)
    {
        var message = new HttpRequestMessage(method, new Uri(doors[door].BaseAddress, path));
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", doors[door].Token);
        if (body is not null)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }
        return message;
    }

    private async Task<ClusterRequest> InvokeAsync(int sequence, string function, int door, double sent, int resends, CancellationToken ct)
    {
        using var request = Request(HttpMethod.Post, door, $"functions/{function}/invoke", inputs[function]);
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return Answer(sequence, function, InvocationKind.Sync, door, sent, resends, response, body);
    }

    /// <summary>POST …?async=1 (202 and the id), then GET /invocations/{id} through any live front door until 200.</summary>
    private async Task<ClusterRequest> InvokeAsyncKind(int sequence, string function, int door, double sent, int resends, CancellationToken ct)
    {
        string id;
        using (var request = Request(HttpMethod.Post, door, $"functions/{function}/invoke?async=1", inputs[function]))
        using (var accepted = await http.SendAsync(request, ct).ConfigureAwait(false))
        {
            var body = await accepted.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (accepted.StatusCode != HttpStatusCode.Accepted)
                return Answer(sequence, function, InvocationKind.Async, door, sent, resends, accepted, body);
            id = Header(accepted, ClusterHeaders.InvocationId)
                ?? throw new HttpRequestException($"202 without a {ClusterHeaders.InvocationId} header: {Shorten(body)}");
        }
        var poll = door;
        while (true)
        {
            await Task.Delay(settings.PollInterval, ct).ConfigureAwait(false);
            poll = Alive(poll);
            try
            {
                using var request = Request(HttpMethod.Get, poll, $"invocations/{Uri.EscapeDataString(id)}");
                using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.Accepted)
                    return Answer(sequence, function, InvocationKind.Async, door, sent, resends, response, body, id);
            }
            catch (HttpRequestException) when (KillMs is not null)
            {
                // The poll went to the dead node: its result is in the cluster's store, any other node has it.
                poll = (poll + 1) % doors.Count;
            }
        }
    }

    private ClusterRequest Answer(int sequence, string function, InvocationKind kind, int door, double sent, int resends,
        HttpResponseMessage response, string body, string? id = null)
    {
        var ok = response.StatusCode == HttpStatusCode.OK;
        var retried = Header(response, ClusterHeaders.RetriedFrom) is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        var fetch = Header(response, ClusterHeaders.FetchMs) is { } text
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms > 0 ? ms : (double?)null;
        return new ClusterRequest(sequence, function, kind, door, sent, Now, (int)response.StatusCode,
            Header(response, ClusterHeaders.InvocationId) ?? id, Header(response, ClusterHeaders.Worker), retried, resends,
            ok ? null : Shorten(body), fetch);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
