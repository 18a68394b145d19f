using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Snapfn.Bench.Load;

/// <summary>
/// The clients of the load experiment: for one level, <c>clients</c> closed loops against one invoke URL (each sends
/// its next request when its last is answered), without a mode, for the settings' warm-up then measured time. A 429
/// is counted and its client waits the answer's Retry-After (at most <see cref="LoadSettings.MaxRetryAfter"/>) before
/// it sends again, as a well-behaved client does; any other failure is counted as an error and the client goes on,
/// until <see cref="LoadSettings.MaxErrorsPerLevel"/> stop the level. Time is read from a <see cref="TimeProvider"/>:
/// the tests move it by hand, so that which request falls in the warm-up and how long each took are theirs to say.
/// </summary>
public sealed class LoadClient
{
    private const int MaxErrorText = 300;
    private const string OctetStream = "application/octet-stream";

    private readonly HttpClient _http;
    private readonly Uri _invoke;
    private readonly string _token;
    private readonly byte[] _input;
    private readonly LoadSettings _settings;
    private readonly TimeProvider _time;
    private readonly long _origin;

    /// <summary>The run's timeline starts now: every sample's time is counted from here.</summary>
    public LoadClient(HttpClient http, Uri invoke, string token, LoadSettings settings, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(invoke);
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(settings);
        _http = http;
        _invoke = invoke;
        _token = token;
        _settings = settings;
        _input = System.Text.Encoding.UTF8.GetBytes(settings.Input);
        _time = time ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
    }

    /// <summary>Called with each request once it is counted (after a 429, once its client's pause has started), on
    /// the client's task: progress, and the tests' hook.</summary>
    public Action<LoadSample>? Answered { get; init; }

    /// <summary>Milliseconds since the run's timeline started.</summary>
    public double NowMs => _time.GetElapsedTime(_origin).TotalMilliseconds;

    /// <summary>Runs one level. Cancelled, the clients stop sending and the requests answered so far are returned (a
    /// request cut short by the cancellation is not counted).</summary>
    public async Task<LoadLevelSamples> RunLevelAsync(int clients, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clients, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(clients, LoadSettings.MaxClients);
        var start = NowMs;
        var windowStart = start + _settings.Warmup.TotalMilliseconds;
        var windowEnd = windowStart + _settings.Duration.TotalMilliseconds;
        var samples = new List<LoadSample>();
        var errors = 0;
        string? stopped = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var loops = Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && NowMs < windowEnd)
            {
                var sample = await SendAsync(clients, client, windowStart, stop.Token).ConfigureAwait(false);
                if (sample is null)
                    return;
                lock (samples)
                {
                    samples.Add(sample);
                    if (sample.Outcome == LoadOutcome.Error && ++errors >= _settings.MaxErrorsPerLevel && stopped is null)
                    {
                        stopped = string.Create(CultureInfo.InvariantCulture,
                            $"stopped after {errors} errors; the first: {samples.First(s => s.Outcome == LoadOutcome.Error).Describe()}");
                        stop.Cancel();
                    }
                }
                // A 429's pause starts before the sample is reported, so that whoever is told (a test moving the
                // clock) sees the client already waiting.
                var pause = sample.Outcome == LoadOutcome.Throttled && RetryAfter(sample, windowEnd) is { } wait
                    ? Task.Delay(wait, _time, stop.Token)
                    : null;
                Answered?.Invoke(sample);
                if (pause is not null)
                {
                    try
                    {
                        await pause.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }, CancellationToken.None)).ToList();
        await Task.WhenAll(loops).ConfigureAwait(false);
        // A level stopped early (Ctrl-C, its error bound) measured only until it stopped: its throughput is over that
        // time, not over the window it was meant to run.
        if (stop.IsCancellationRequested)
            windowEnd = Math.Clamp(NowMs, windowStart, windowEnd);
        lock (samples)
            return new LoadLevelSamples(clients, windowStart, windowEnd, [.. samples.OrderBy(s => s.SentMs).ThenBy(s => s.Client)], stopped);
    }

    private TimeSpan? RetryAfter(LoadSample sample, double windowEnd)
    {
        var wanted = sample.RetryAfter ?? TimeSpan.FromSeconds(1);
        var pause = TimeSpan.FromMilliseconds(Math.Min(Math.Min(wanted.TotalMilliseconds, _settings.MaxRetryAfter.TotalMilliseconds), windowEnd - NowMs));
        return pause > TimeSpan.Zero ? pause : null;
    }

    private async Task<LoadSample?> SendAsync(int clients, int client, double windowStart, CancellationToken ct)
    {
        var sent = NowMs;
        var warmup = sent < windowStart;
        using var timeout = new CancellationTokenSource(_settings.RequestTimeout, _time);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        LoadSample Failed(string error) => new(clients, client, sent, NowMs - sent, null, null, null, warmup, error);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _invoke) { Content = new ByteArrayContent(_input) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            using var response = await _http.SendAsync(request, both.Token).ConfigureAwait(false);
            // Read the whole answer, as a client would, before the request counts as answered.
            var body = await response.Content.ReadAsByteArrayAsync(both.Token).ConfigureAwait(false);
            var latency = NowMs - sent;
            var status = (int)response.StatusCode;
            return new LoadSample(clients, client, sent, latency, status, Header(response, "Snapfn-Path"), QueueMs(response), warmup,
                status == (int)HttpStatusCode.OK ? null : Shorten(System.Text.Encoding.UTF8.GetString(body)))
            {
                RetryAfter = response.Headers.RetryAfter?.Delta,
            };
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            return Failed(string.Create(CultureInfo.InvariantCulture, $"no answer within {_settings.RequestTimeout.TotalSeconds:0} s"));
        }
        catch (HttpRequestException e)
        {
            return Failed(Shorten(e.Message));
        }
    }

    private static double? QueueMs(HttpResponseMessage response) =>
        Header(response, "Snapfn-Queue-Ms") is { } text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) ? ms : null;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string Shorten(string text) => text.Length <= MaxErrorText ? text : text[..MaxErrorText] + "…";
}
