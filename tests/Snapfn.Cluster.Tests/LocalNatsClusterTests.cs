using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace Snapfn.Cluster.Tests;

public sealed class LocalNatsClusterTests(NatsClusterFixture fixture)
{
    [Fact]
    public async Task A_value_put_through_one_node_is_read_through_another()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = fixture.Connect(0);
        await using var third = fixture.Connect(2);
        var bucket = $"t{Guid.NewGuid():N}";
        var kvFirst = first.CreateKeyValueStoreContext();
        var store = await kvFirst.CreateStoreAsync(new NatsKVConfig(bucket) { NumberOfReplicas = 3 }, ct);
        await store.PutAsync("greeting", "hello", cancellationToken: ct);

        var seen = await third.CreateKeyValueStoreContext().GetStoreAsync(bucket, ct);
        var entry = await seen.GetEntryAsync<string>("greeting", cancellationToken: ct);

        Assert.Equal("hello", entry.Value);
        await kvFirst.DeleteStoreAsync(bucket, ct);
    }

    [Fact]
    public async Task Every_node_is_in_one_JetStream_cluster()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var connection = fixture.Connect(1);
        var js = connection.CreateJetStreamContext();
        var name = $"T{Guid.NewGuid():N}";
        var stream = await js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]) { NumReplicas = 3 }, ct);

        Assert.Equal(3, 1 + (stream.Info.Cluster?.Replicas?.Count ?? 0));
        await js.DeleteStreamAsync(name, ct);
    }
}
