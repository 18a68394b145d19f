using System.Net;
using System.Text.Json;
using Snapfn.Tests;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// Real invocations over the cluster: hello-world deployed with its snapshot through one node, restored in real
/// micro-VMs on whichever worker NATS picks, synchronously and asynchronously. Each worker that lacks it takes its own
/// snapshot here (the test double of the artifact side). Skipped, visibly, without /dev/kvm.
/// </summary>
[Collection(ServingTestGroup.Name)]
public sealed class KvmClusterTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Hello_world_answers_through_every_front_door_from_real_snapshots()
    {
        GuestBuild.RequireKvm();
        await using var cluster = await TestCluster.StartAsync(fakeRuntime: false);
        await cluster.DeployAsync("hello", node: 0, snapshot: true);
        var workers = new HashSet<string>();
        for (var i = 0; i < 9; i++)
        {
            using var response = await RoutingTests.InvokeAsync(cluster.Nodes[i % 3], "hello", "{\"name\":\"Cluster\"}");
            var body = await response.Content.ReadAsStringAsync(Cancel);
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal("Hello, Cluster!", body);
            Assert.StartsWith("cold-", response.Headers.GetValues("Snapfn-Path").Single(), StringComparison.Ordinal);
            workers.Add(response.Headers.GetValues("Snapfn-Worker").Single());
        }
        Assert.NotEmpty(workers);
    }

    [Fact]
    public async Task An_asynchronous_real_invocation_is_read_back_through_another_node()
    {
        GuestBuild.RequireKvm();
        await using var cluster = await TestCluster.StartAsync(fakeRuntime: false);
        await cluster.DeployAsync("hello", node: 1, snapshot: true);
        using var accepted = await RoutingTests.InvokeAsync(cluster.Nodes[2], "hello", "{}", "async=1");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("invocation_id").GetString()!;
        HttpResponseMessage? done = null;
        await Eventually.Async(() =>
        {
            done?.Dispose();
            done = cluster.Nodes[0].Http.GetAsync($"invocations/{id}", Cancel).GetAwaiter().GetResult();
            return done.StatusCode != HttpStatusCode.Accepted;
        }, $"invocation {id} answered", seconds: 120);
        using (done)
        {
            Assert.Equal(HttpStatusCode.OK, done!.StatusCode);
            Assert.Equal("Hello, World!", await done.Content.ReadAsStringAsync(Cancel));
        }
    }
}
