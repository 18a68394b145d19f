using System.Net;
using System.Text.Json;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Snapfn.Cluster.Serving;
using Snapfn.Platform;

namespace Snapfn.Cluster.Tests;

/// <summary>Asynchronous invocations: accepted by any front door, run by one worker through the work queue, the result
/// read through any other; the results bucket never lets a second answer replace the first.</summary>
[Collection(ServingTestGroup.Name)]
public sealed class AsyncTests(ServingClusterFixture fixture)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private TestCluster Cluster => fixture.Cluster;

    private static async Task<HttpResponseMessage> ResultAsync(TestCluster.Node node, string id)
    {
        HttpResponseMessage? response = null;
        await Eventually.Async(() =>
        {
            response?.Dispose();
            response = node.Http.GetAsync($"invocations/{id}", Cancel).GetAwaiter().GetResult();
            return response.StatusCode != HttpStatusCode.Accepted;
        }, $"invocation {id} answered");
        return response!;
    }

    [Fact]
    public async Task An_asynchronous_request_is_answered_through_another_front_door()
    {
        await Cluster.DeployAsync("later");
        using var accepted = await RoutingTests.InvokeAsync(Cluster.Nodes[2], "later", "in", change: r => r.Headers.Add("Prefer", "respond-async"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var json = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync(Cancel)).RootElement;
        var id = json.GetProperty("invocation_id").GetString()!;
        Assert.True(InvocationId.IsValid(id));
        Assert.Equal("pending", json.GetProperty("status").GetString());
        Assert.Equal(id, accepted.Headers.GetValues("Snapfn-Invocation-Id").Single());

        using var done = await ResultAsync(Cluster.Nodes[0], id);
        var body = await done.Content.ReadAsStringAsync(Cancel);
        Assert.True(done.StatusCode == HttpStatusCode.OK, body);
        var worker = done.Headers.GetValues("Snapfn-Worker").Single();
        Assert.Equal($"{worker}:in", body);
        Assert.Equal("cold-vanilla", done.Headers.GetValues("Snapfn-Path").Single());
        Assert.Single(Cluster.Runtime.Runs, r => r.InvocationId == id);
    }

    [Fact]
    public async Task A_failed_asynchronous_invocation_reads_back_as_its_problem()
    {
        await Cluster.DeployAsync("later-fails", query: "max_instances=1");
        // Too large for the cluster: refused at once, nothing queued.
        var limit = Cluster.Nodes[0].Cluster.FrontDoor.MaxInputBytes;
        using (var large = await RoutingTests.InvokeAsync(Cluster.Nodes[0], "later-fails", new string('a', limit + 1), "async=1"))
            await RoutingTests.ProblemAsync(large, 413, "body-too-large");
        using (var unknown = await RoutingTests.InvokeAsync(Cluster.Nodes[0], "not-deployed", "x", "async=true"))
            await RoutingTests.ProblemAsync(unknown, 404, "unknown-function");
        // A mode no worker has: refused by the front door, nothing queued.
        using (var mode = await RoutingTests.InvokeAsync(Cluster.Nodes[0], "later-fails", "x", "async=1&mode=nonsense"))
            await RoutingTests.ProblemAsync(mode, 400, "invalid-request");
        // The function fails on the worker: the stored answer is the problem a synchronous request would have had.
        using var accepted = await RoutingTests.InvokeAsync(Cluster.Nodes[0], "later-fails", "fail now", "async=1");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("invocation_id").GetString()!;
        using var done = await ResultAsync(Cluster.Nodes[1], id);
        var problem = await RoutingTests.ProblemAsync(done, 502, "function-failed");
        Assert.Contains("ValueError: bad input\nTraceback", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_and_malformed_ids_are_404_and_400()
    {
        using (var unknown = await Cluster.Nodes[1].Http.GetAsync($"invocations/{InvocationId.New()}", Cancel))
            await RoutingTests.ProblemAsync(unknown, 404, "unknown-invocation");
        using (var malformed = await Cluster.Nodes[1].Http.GetAsync("invocations/..%2F..%2Fetc", Cancel))
            await RoutingTests.ProblemAsync(malformed, 400, "invalid-request");
        using var flag = await RoutingTests.InvokeAsync(Cluster.Nodes[0], "later", "x", "async=maybe");
        await RoutingTests.ProblemAsync(flag, 400, "invalid-request");
    }

    [Fact]
    public async Task A_second_answer_never_replaces_the_first()
    {
        await using var nats = Cluster.Nats.ClientUrls[1] is { } url ? new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with { Url = url }) : null;
        var store = await nats!.CreateKeyValueStoreContext().GetStoreAsync(ClusterNames.ResultsBucket, Cancel);
        var results = new AsyncResults(store, new LeaderReads(nats!), 4096);
        var id = InvocationId.New();
        Assert.True(await results.MarkPendingAsync(id, Cancel));
        Assert.False(await results.MarkPendingAsync(id, Cancel));
        var (state, _, revision) = await results.ReadAsync(id, Cancel);
        Assert.Equal(AsyncState.Pending, state);

        var first = Answer("w1", "first");
        Assert.True(await results.StoreAsync(id, first.Encode(), revision, Cancel));
        // A redelivered run read the same pending revision: its answer is refused.
        Assert.False(await results.StoreAsync(id, Answer("w2", "second").Encode(), revision, Cancel));
        // One that found no marker at all creates only where nothing is.
        Assert.False(await results.StoreAsync(id, Answer("w3", "third").Encode(), 0, Cancel));

        var (done, answer, _) = await results.ReadAsync(id, Cancel);
        Assert.Equal(AsyncState.Done, done);
        Assert.Equal("w1", answer!.Worker);
        Assert.Equal("first"u8.ToArray(), answer.Result!.Output);
    }

    private static WorkerAnswer Answer(string worker, string output) => new()
    {
        Worker = worker,
        Result = new InvocationResult
        {
            Function = "f", Mode = "vanilla", Output = System.Text.Encoding.UTF8.GetBytes(output), RestoreMs = 1, ExecuteMs = 1, TotalMs = 2, CachedPagesBefore = 0,
            Counters = new Dictionary<string, double>(),
        },
    };
}
