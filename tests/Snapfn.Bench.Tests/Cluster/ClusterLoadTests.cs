using System.Collections.Concurrent;
using System.Net;
using Snapfn.Bench.Cluster;
using Snapfn.Bench.Experiments;

namespace Snapfn.Bench.Tests.Cluster;

/// <summary>
/// The burst against three fake front doors (an HTTP handler in place of the workers): w3 holds its first request
/// until it is killed, then cuts it, as a SIGKILLed worker's socket would; after the kill its door refuses
/// connections. Sync requests answer at once; async ones are 202 once, then 200.
/// </summary>
public sealed class ClusterLoadTests
{
    private sealed class FakeCluster : HttpMessageHandler
    {
        private readonly TaskCompletionSource _killed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentDictionary<string, int> _polls = new();
        private readonly ConcurrentDictionary<string, int> _fetched = new();
        private int _ids;
        private int _held;
        private int _requests;

        public Action<int>? OnRequest { get; init; }

        public bool Killed => _killed.Task.IsCompleted;

        public int RequestsToDeadDoorAfterKill;

        public void Kill() => _killed.TrySetResult();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            OnRequest?.Invoke(Interlocked.Increment(ref _requests));
            var door = request.RequestUri!.Host.Split('.')[0];
            if (door == "w3")
            {
                if (Killed)
                {
                    Interlocked.Increment(ref RequestsToDeadDoorAfterKill);
                    throw new HttpRequestException("Connection refused (w3.test:80)");
                }
                if (Interlocked.Exchange(ref _held, 1) == 0)
                {
                    await _killed.Task.WaitAsync(ct);
                    throw new HttpRequestException("Connection reset by peer");
                }
            }
            await Task.Yield();
            var path = request.RequestUri.AbsolutePath;
            if (request.Method == HttpMethod.Post && request.RequestUri.Query.Contains("async=1", StringComparison.Ordinal))
            {
                var id = $"a{Interlocked.Increment(ref _ids)}";
                _polls[id] = 0;
                return Answer(HttpStatusCode.Accepted, id, null);
            }
            if (request.Method == HttpMethod.Post)
            {
                var answer = Answer(HttpStatusCode.OK, $"s{Interlocked.Increment(ref _ids)}", door);
                // The first reply of each door carries the time its worker spent fetching the function.
                if (_fetched.TryAdd(door, 0))
                    answer.Headers.Add(ClusterHeaders.FetchMs, "123.5");
                return answer;
            }
            var polled = path["/invocations/".Length..];
            if (!_polls.TryGetValue(polled, out var count))
                return Answer(HttpStatusCode.NotFound, polled, null);
            _polls[polled] = count + 1;
            return count == 0 ? Answer(HttpStatusCode.Accepted, polled, null) : Answer(HttpStatusCode.OK, polled, "w2");
        }

        private static HttpResponseMessage Answer(HttpStatusCode status, string id, string? worker)
        {
            var response = new HttpResponseMessage(status) { Content = new StringContent("output") };
            response.Headers.Add(ClusterHeaders.InvocationId, id);
            if (worker is not null)
                response.Headers.Add(ClusterHeaders.Worker, worker);
            return response;
        }
    }

    private static readonly ClusterSettings _settings = ClusterSettings.For(quick: true) with { PollInterval = TimeSpan.FromMilliseconds(1) };

    private static FrontDoor[] Doors => [.. Enumerable.Range(0, 3).Select(i => new FrontDoor($"w{i + 1}", new Uri($"http://w{i + 1}.test/"), "token"))];

    private static readonly Dictionary<string, byte[]> _inputs = _settings.Functions.ToDictionary(f => f, _ => "{}"u8.ToArray());

    [Fact]
    public async Task Nothing_is_lost_when_a_front_door_dies_mid_request_and_its_door_is_skipped_afterwards()
    {
        var cluster = new FakeCluster();
        using var http = new HttpClient(cluster);
        var load = new ClusterLoad(_settings, Doors, _inputs, http);
        var kills = 0;
        var readBefore = false;
        await load.RunAsync(_settings.KillWorker, () =>
        {
            readBefore = true;
            return Task.CompletedTask;
        }, () =>
        {
            Assert.True(readBefore);
            kills++;
            cluster.Kill();
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken);

        var records = load.Records;
        Assert.Equal(1, kills);
        Assert.NotNull(load.KillMs);
        Assert.Equal(_settings.Requests, records.Count);
        Assert.Equal(Enumerable.Range(0, _settings.Requests), records.Select(r => r.Sequence));
        Assert.All(records, r => Assert.True(r.Succeeded, $"#{r.Sequence}: {r.Status} {r.Error}"));
        // The held request (the first through w3) was cut by the kill and sent again through the next node; a request
        // that chose w3 just as the kill began may have been refused and resent too, never one sent to w3 and lost.
        var held = records[2];
        Assert.Equal(1, held.FrontDoorResends);
        Assert.Equal(0, held.FrontDoor);
        Assert.True(held.SentMs < load.KillMs);
        Assert.All(records.Where(r => r.FrontDoorResends > 0), r => Assert.Equal(0, r.FrontDoor));
        Assert.All(records.Where(r => r.SentMs >= load.KillMs), r => Assert.NotEqual(_settings.KillWorker, r.FrontDoor));
        Assert.Equal(_settings.Requests / _settings.AsyncEvery, records.Count(r => r.Kind == InvocationKind.Async));
        Assert.All(records.Where(r => r.Kind == InvocationKind.Async), r => Assert.Equal("w2", r.Worker));
        Assert.Equal(records.Count, records.Select(r => r.InvocationId).Distinct().Count());

        var report = new ClusterReport(new ClusterRun { Settings = _settings, Cpu = new ExperimentCpu(Vmm.CpuKind.Kvm), WorkerIds = ["w1", "w2", "w3"], KilledWorker = "w3", KillMs = load.KillMs, Requests = records },
            new MachineFacts("test", null, null, SmallPages: false));
        Assert.Equal(0, report.Lost);
        Assert.Equal(["w1", "w2", "w3"], report.FetchesSeen.Select(f => f.Worker).Distinct().Order());
        Assert.All(report.FetchesSeen, f => Assert.Equal(123.5, f.FirstFetchMs));
        Assert.Equal(records.Sum(r => r.FrontDoorResends), report.FrontDoorResends);
        Assert.InRange(report.FrontDoorResends, 1, records.Count);
    }

    [Fact]
    public async Task Cancelled_it_stops_sending_and_keeps_only_whole_requests()
    {
        using var cancel = new CancellationTokenSource();
        var cluster = new FakeCluster { OnRequest = n => { if (n == 10) cancel.Cancel(); } };
        using var http = new HttpClient(cluster);
        var load = new ClusterLoad(_settings, Doors, _inputs, http);
        await load.RunAsync(_settings.KillWorker, () => Task.CompletedTask, () => Task.CompletedTask, cancel.Token);
        cluster.Kill();

        // The tenth request of the handler cancelled; it was answered, none was sent after it.
        Assert.InRange(load.Records.Count, 1, 10);
        Assert.All(load.Records, r => Assert.True(r.Succeeded));
        Assert.Null(load.KillMs);
    }
}
