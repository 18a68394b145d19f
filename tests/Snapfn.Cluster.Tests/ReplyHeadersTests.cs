using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// What docs/cluster.md ("Reply headers", "What the cluster bench reads") promises on an answer served through the
/// cluster, and what the cluster bench reads from the workers: the worker that ran it, the time it spent making the
/// function local (<c>Snapfn-Fetch-Ms</c>, and the <c>snapfn_cluster_replica_fetch*</c> metrics of its /metrics),
/// and the invocation in the worker's own invocation log under the front door's <c>Snapfn-Invocation-Id</c>.
/// </summary>
[Collection(ServingTestGroup.Name)]
public sealed class ReplyHeadersTests(ServingClusterFixture fixture)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private TestCluster Cluster => fixture.Cluster;

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"no {name} header");

    private static async Task<string> MetricsAsync(TestCluster.Node node)
    {
        using var response = await node.Http.GetAsync("metrics", Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(Cancel);
    }

    private static double Sample(string metrics, string series)
    {
        var line = metrics.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task An_answer_names_its_worker_and_fetch_time_and_the_worker_logs_it_under_the_front_doors_id()
    {
        await Cluster.DeployAsync("headers");
        // The first run on a worker makes the function local there (the fake artifact side registers it).
        using var first = await RoutingTests.InvokeAsync(Cluster.Nodes[1], "headers", "one");
        Assert.True(first.StatusCode == HttpStatusCode.OK, await first.Content.ReadAsStringAsync(Cancel));
        var worker = Header(first, "Snapfn-Worker");
        var id = Header(first, "Snapfn-Invocation-Id");
        Assert.True(double.Parse(Header(first, "Snapfn-Fetch-Ms"), CultureInfo.InvariantCulture) > 0);
        Assert.False(first.Headers.Contains("Snapfn-Retried-From"));
        var node = Cluster.Worker(worker);
        // The worker's invocation log (registry.db, which the bench reads for "served twice") holds the front door's id.
        Assert.Contains(node.Service.Server.Log.Recent("headers", 100), e => e.InvocationId == id && e.Error is null);
        var metrics = await MetricsAsync(node);
        Assert.Equal(1, Sample(metrics, "snapfn_cluster_replica_fetches_total{function=\"headers\",outcome=\"fetched\"}"));
        Assert.Equal(1, Sample(metrics, "snapfn_cluster_replica_fetch_chunks_total{function=\"headers\"}"));
        Assert.Equal(1, Sample(metrics, "snapfn_cluster_replica_fetch_seconds_count{function=\"headers\"}"));

        // The same worker again (made the preferred one): it holds the function, so it fetched nothing.
        node.Service.Server.SnapshotCachedProbe = f => f.Info.Name == "headers";
        await node.Cluster.Publisher.RefreshAsync(Cancel);
        await Eventually.Async(() => Cluster.Nodes[2].Cluster.Placement.Preferred("headers") == worker, $"w3 sees {worker} hold 'headers'");
        using var second = await RoutingTests.InvokeAsync(Cluster.Nodes[2], "headers", "two", change: r => r.Headers.Add("Accept", "application/json"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(worker, Header(second, "Snapfn-Worker"));
        Assert.Equal("0", Header(second, "Snapfn-Fetch-Ms"));
        Assert.Contains(node.Service.Server.Log.Recent("headers", 100), e => e.InvocationId == Header(second, "Snapfn-Invocation-Id"));
        metrics = await MetricsAsync(node);
        Assert.Equal(1, Sample(metrics, "snapfn_cluster_replica_fetches_total{function=\"headers\",outcome=\"local\"}"));
        Assert.Equal(1, Sample(metrics, "snapfn_cluster_replica_fetch_seconds_count{function=\"headers\"}"));
        node.Service.Server.SnapshotCachedProbe = _ => false;
        await node.Cluster.Publisher.RefreshAsync(Cancel);
    }

    [Fact]
    public async Task An_asynchronous_answer_carries_the_same_headers()
    {
        await Cluster.DeployAsync("async-headers");
        using var accepted = await RoutingTests.InvokeAsync(Cluster.Nodes[0], "async-headers", "later", "async=1");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("invocation_id").GetString()!;
        HttpResponseMessage? done = null;
        await Eventually.Async(() =>
        {
            done?.Dispose();
            done = Cluster.Nodes[2].Http.GetAsync($"invocations/{id}", Cancel).GetAwaiter().GetResult();
            return done.StatusCode != HttpStatusCode.Accepted;
        }, "the asynchronous request answered");
        using (done)
        {
            Assert.Equal(HttpStatusCode.OK, done!.StatusCode);
            var worker = Header(done, "Snapfn-Worker");
            Assert.Equal($"{worker}:later", await done.Content.ReadAsStringAsync(Cancel));
            Assert.Equal(id, Header(done, "Snapfn-Invocation-Id"));
            Assert.True(double.Parse(Header(done, "Snapfn-Fetch-Ms"), CultureInfo.InvariantCulture) > 0);
            Assert.False(done.Headers.Contains("Snapfn-Retried-From"));
            Assert.Contains(Cluster.Worker(worker).Service.Server.Log.Recent("async-headers", 100), e => e.InvocationId == id);
        }
    }

    [Fact]
    public async Task An_error_a_worker_answered_names_the_worker()
    {
        await Cluster.DeployAsync("error-headers");
        using var response = await RoutingTests.InvokeAsync(Cluster.Nodes[0], "error-headers", "fail now");
        Assert.True((int)response.StatusCode >= 400);
        var worker = Header(response, "Snapfn-Worker");
        Assert.Contains(Cluster.Nodes, n => n.WorkerId == worker);
        Assert.Contains(Cluster.Worker(worker).Service.Server.Log.Recent("error-headers", 100),
            e => e.InvocationId == Header(response, "Snapfn-Invocation-Id") && e.Error is not null);
    }
}
