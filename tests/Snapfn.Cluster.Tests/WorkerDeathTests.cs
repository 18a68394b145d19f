using System.Net;
using System.Text.Json;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// A worker that vanishes mid-request, made deterministic: the fake runtime holds the request on the worker until the
/// test has closed that worker's NATS connection (its heartbeats, acknowledgements and reply can no longer come, as
/// with a SIGKILL). Each test starts its own cluster, since it leaves a worker dead.
/// </summary>
[Collection(ServingTestGroup.Name)]
public sealed class WorkerDeathTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Makes <paramref name="worker"/> the preferred worker of <paramref name="function"/> everywhere, so that the
    /// request goes to it (and not to the front door's own worker, which the test must keep alive).</summary>
    private static async Task PlaceAsync(TestCluster cluster, string function, string worker)
    {
        var node = cluster.Worker(worker);
        await node.Cluster.Replicas.EnsureLocalAsync(function, Cancel);
        node.Service.Server.SnapshotCachedProbe = f => f.Info.Name == function;
        await node.Cluster.Publisher.RefreshAsync(Cancel);
        foreach (var other in cluster.Nodes)
            await Eventually.Async(() => other.Cluster.Placement.Preferred(function) == worker, $"{other.WorkerId} sees {worker} hold '{function}'");
    }

    [Fact]
    public async Task A_synchronous_request_whose_worker_vanishes_is_answered_once_by_another_worker()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.DeployAsync("retried");
        await PlaceAsync(cluster, "retried", "w3");
        var hold = cluster.Runtime.HoldNext("retried");

        var pending = RoutingTests.InvokeAsync(cluster.Nodes[0], "retried", "once");
        Assert.Equal("w3", await hold.Started.WaitAsync(TimeSpan.FromSeconds(30), Cancel));
        await cluster.Worker("w3").VanishAsync();

        using var response = await pending;
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var worker = response.Headers.GetValues("Snapfn-Worker").Single();
        Assert.NotEqual("w3", worker);
        Assert.Equal($"{worker}:once", body);
        // The front door names the worker that took the request and vanished (the bench's "rerouted").
        Assert.Equal("w3", response.Headers.GetValues("Snapfn-Retried-From").Single());
        // Two runs: the lost one on w3 and the retry; not a third.
        Assert.Equal(["w3", worker], cluster.Runtime.Runs.Where(r => r.Function == "retried").Select(r => r.Worker));
    }

    [Fact]
    public async Task A_non_retryable_function_is_not_sent_again_and_the_client_is_told_why()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.DeployAsync("once-only");
        cluster.Replicas.SetRetryable("once-only", false);
        await PlaceAsync(cluster, "once-only", "w2");
        var hold = cluster.Runtime.HoldNext("once-only");

        var pending = RoutingTests.InvokeAsync(cluster.Nodes[0], "once-only", "x");
        Assert.Equal("w2", await hold.Started.WaitAsync(TimeSpan.FromSeconds(30), Cancel));
        await cluster.Worker("w2").VanishAsync();

        using var response = await pending;
        var problem = await RoutingTests.ProblemAsync(response, 502, "worker-lost");
        var detail = problem.GetProperty("detail").GetString()!;
        // Which of the two the front door saw depends on whether w2's "accepted" left before its connection closed;
        // either way the worker went silent, and the request is not sent again.
        Assert.True(detail.Contains("worker w2 took the request, then sent no heartbeat", StringComparison.Ordinal)
            || detail.Contains("no worker took the request within", StringComparison.Ordinal), detail);
        Assert.Contains("not retryable", detail, StringComparison.Ordinal);
        Assert.Contains("was not sent again", detail, StringComparison.Ordinal);
        Assert.Single(cluster.Runtime.Runs, r => r.Function == "once-only");
    }

    [Fact]
    public async Task A_request_that_runs_long_on_a_live_worker_is_not_retried()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.DeployAsync("slow");
        await PlaceAsync(cluster, "slow", "w2");
        var hold = cluster.Runtime.HoldNext("slow");
        var pending = RoutingTests.InvokeAsync(cluster.Nodes[0], "slow", "x");
        Assert.Equal("w2", await hold.Started.WaitAsync(TimeSpan.FromSeconds(30), Cancel));
        // Held for three heartbeat timeouts: the worker keeps beating, so the front door keeps waiting.
        await Task.Delay(TestCluster.Options("", "w").HeartbeatTimeout * 3, Cancel);
        Assert.False(pending.IsCompleted);
        hold.Release();

        using var response = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("w2", response.Headers.GetValues("Snapfn-Worker").Single());
        Assert.Single(cluster.Runtime.Runs, r => r.Function == "slow");
    }

    [Fact]
    public async Task An_asynchronous_request_whose_worker_vanishes_is_redelivered_and_answered_once()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.DeployAsync("queued");
        var hold = cluster.Runtime.HoldNext("queued");

        using var accepted = await RoutingTests.InvokeAsync(cluster.Nodes[0], "queued", "later", "async=1");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("invocation_id").GetString()!;
        Assert.Equal($"/invocations/{id}", accepted.Headers.Location?.OriginalString);
        var victim = await hold.Started.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        // Ask a front door other than the victim's.
        var reader = cluster.Nodes.First(n => n.WorkerId != victim);
        using (var pending = await reader.Http.GetAsync($"invocations/{id}", Cancel))
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);

        await cluster.Worker(victim).VanishAsync();

        // JetStream gives it to another worker once the ack wait passes without the victim's progress acks.
        HttpResponseMessage? done = null;
        await Eventually.Async(() =>
        {
            done?.Dispose();
            done = reader.Http.GetAsync($"invocations/{id}", Cancel).GetAwaiter().GetResult();
            return done.StatusCode != HttpStatusCode.Accepted;
        }, "the redelivered request answered", seconds: 60);
        using (done)
        {
            var body = await done!.Content.ReadAsStringAsync(Cancel);
            Assert.True(done.StatusCode == HttpStatusCode.OK, body);
            var worker = done.Headers.GetValues("Snapfn-Worker").Single();
            Assert.NotEqual(victim, worker);
            Assert.Equal($"{worker}:later", body);
            Assert.Equal(id, done.Headers.GetValues("Snapfn-Invocation-Id").Single());
            // The victim wrote "running on it" into the result's entry when it took the delivery: the answer names it.
            Assert.Equal(victim, done.Headers.GetValues("Snapfn-Retried-From").Single());
        }
        // Served by the victim (lost) and by one other worker: not twice elsewhere.
        var runs = cluster.Runtime.Runs.Where(r => r.Function == "queued").ToList();
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal(id, r.InvocationId));
        // The victim finishing late changes nothing: its connection is gone, and the stored answer stays.
        hold.Release();
        using var again = await cluster.Nodes.First(n => n.WorkerId != victim).Http.GetAsync($"invocations/{id}", Cancel);
        Assert.NotEqual($"{victim}:later", await again.Content.ReadAsStringAsync(Cancel));
    }
}
