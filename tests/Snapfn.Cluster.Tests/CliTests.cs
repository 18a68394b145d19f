using System.CommandLine;
using Snapfn.Cli;
using Snapfn.Cli.Commands;
using Snapfn.Cli.Remote;
using Snapfn.Daemon;

namespace Snapfn.Cluster.Tests;

/// <summary>`snapfn serve --nats` parsed into the daemon's options, and the CLI's remote client (`--server URL`) against
/// every node of a cluster on real sockets: deploy through one, invoke through another, queue through a third and read
/// the result back through the first.</summary>
[Collection(ServingTestGroup.Name)]
public sealed class CliTests
{
    private static DaemonOptions Serve(params string[] args)
    {
        DaemonOptions? parsed = null;
        var exit = CliErrors.Guard(() => ServeCommand.Create(options => parsed = options).Parse(args)
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        Assert.Equal(0, exit);
        return parsed!;
    }

    [Fact]
    public void Serve_with_nats_joins_a_cluster_and_without_stays_alone()
    {
        Assert.Null(Serve().Cluster);
        var options = Serve("--nats", "nats://10.0.0.1:4222,nats://10.0.0.2:4222");
        Assert.Equal("nats://10.0.0.1:4222,nats://10.0.0.2:4222", options.Cluster!.NatsUrls);
        Assert.Null(options.Cluster.WorkerId); // kept in $SNAPFN_HOME/worker-id
        Assert.Equal(options.MaxTimeout, options.Cluster.MaxTimeout);
        var wrong = Assert.Throws<UsageException>(() => ServeCommand.Create(_ => { }).Parse(["--nats", "http://x:1"])
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        Assert.Contains("give nats://HOST:PORT", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_worker_id_names_the_worker_and_is_checked()
    {
        Assert.Equal("w1", Serve("--nats", "nats://10.0.0.1:4222", "--worker-id", "w1").Cluster!.WorkerId);
        UsageException Refused(params string[] args) => Assert.Throws<UsageException>(() => ServeCommand.Create(_ => { }).Parse(args)
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        Assert.Contains("worker id 'W 1'", Refused("--nats", "nats://10.0.0.1:4222", "--worker-id", "W 1").Message, StringComparison.Ordinal);
        Assert.Contains("give --nats URL too", Refused("--worker-id", "w1").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_remote_client_works_against_any_node()
    {
        await using var cluster = await TestCluster.StartAsync(sockets: true);
        using (var first = new DaemonClient(cluster.Nodes[0].Url!, cluster.Nodes[0].Token))
            first.Register("remote", TestCluster.Elf, 512, "through w1");
        using (var third = new DaemonClient(cluster.Nodes[2].Url!, cluster.Nodes[2].Token))
        {
            var (output, path) = third.InvokeRaw("remote", null, "hi"u8.ToArray(), cold: false, timeoutSeconds: 30);
            Assert.Matches("^w[123]:hi$", System.Text.Encoding.UTF8.GetString(output));
            Assert.Equal("cold-vanilla", path);
            // The cluster's function, whether or not w3 ran it (then it holds it too).
            var served = System.Text.Encoding.UTF8.GetString(output)[..2];
            Assert.Contains(third.List(), f => f.Name == "remote" && f.Cluster is { } c && c.Here == (served == "w3"));
        }
        string id;
        using (var second = new DaemonClient(cluster.Nodes[1].Url!, cluster.Nodes[1].Token))
            id = second.Submit("remote", null, "later"u8.ToArray(), 30).InvocationId;
        using var back = new DaemonClient(cluster.Nodes[0].Url!, cluster.Nodes[0].Token);
        (byte[] Output, string? Worker, string? Path)? result = null;
        await Eventually.Async(() => (result = back.Result(id)) is not null, $"invocation {id} answered");
        Assert.Equal($"{result!.Value.Worker}:later", System.Text.Encoding.UTF8.GetString(result.Value.Output));
        var unknown = Assert.Throws<DaemonRequestException>(() => back.Result(Snapfn.Platform.InvocationId.New()));
        Assert.Equal(404, unknown.Status);
        // `snapfn delete --server` through one node: unknown through every node, and a second delete is a 404.
        back.Delete("remote");
        using (var third = new DaemonClient(cluster.Nodes[2].Url!, cluster.Nodes[2].Token))
        {
            Assert.Equal(404, Assert.Throws<DaemonRequestException>(() => third.InvokeRaw("remote", null, "gone"u8.ToArray(), cold: false, timeoutSeconds: 30)).Status);
            Assert.Equal(404, Assert.Throws<DaemonRequestException>(() => third.Delete("remote")).Status);
        }
    }

    [Fact]
    public void A_worker_keeps_its_id_across_restarts_and_two_homes_differ()
    {
        var one = Directory.CreateTempSubdirectory("snapfn-worker-").FullName;
        var two = Directory.CreateTempSubdirectory("snapfn-worker-").FullName;
        try
        {
            var id = Serving.WorkerId.LoadOrCreate(new Snapfn.Platform.SnapfnHome(one));
            Assert.True(Serving.WorkerId.IsValid(id), id);
            Assert.Equal(id, Serving.WorkerId.LoadOrCreate(new Snapfn.Platform.SnapfnHome(one)));
            Assert.NotEqual(id, Serving.WorkerId.LoadOrCreate(new Snapfn.Platform.SnapfnHome(two)));
            Assert.Equal("my-host-name", Serving.WorkerId.FromHost("My_Host.Name")[..^7]);
            File.WriteAllText(Path.Combine(one, Serving.WorkerId.FileName), "a.b*\n");
            var e = Assert.Throws<InvalidOperationException>(() => Serving.WorkerId.LoadOrCreate(new Snapfn.Platform.SnapfnHome(one)));
            Assert.Contains("delete it", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(one, recursive: true);
            Directory.Delete(two, recursive: true);
        }
    }
}

/// <summary>`snapfn cluster gc` against a cluster of its own (the shared one holds other tests' damaged manifests, which
/// rightly stop a collection).</summary>
public sealed class ClusterGcCliTests
{
    private static int Run(params string[] args) =>
        ClusterCommand.Create().Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    [Fact]
    public async Task A_dry_run_succeeds_and_a_grace_too_short_or_malformed_is_refused()
    {
        if (NatsServerBinary.Find(out var reason) is null)
            Assert.Skip(reason);
        await using var nats = await LocalNatsCluster.StartAsync(3, ct: TestContext.Current.CancellationToken);
        var url = nats.ClientUrls[1];

        Assert.Equal(0, Run("gc", "--nats", url, "--dry-run"));
        Assert.Equal(0, Run("gc", "--nats", nats.ClientUrlList, "--grace", "2h"));
        var shortGrace = Assert.Throws<Snapfn.Platform.InvalidRequestException>(() => Run("gc", "--nats", url, "--grace", "5m", "--dry-run"));
        Assert.Contains("is too short", shortGrace.Message, StringComparison.Ordinal);
        Assert.Contains("1x", Assert.Throws<UsageException>(() => Run("gc", "--nats", url, "--grace", "1x")).Message, StringComparison.Ordinal);
        Assert.Contains("give nats://HOST:PORT", Assert.Throws<UsageException>(() => Run("gc", "--nats", "http://x:1")).Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMinutes(90), ClusterCommand.ParseDuration("1.5h"));
        Assert.Equal(TimeSpan.FromSeconds(90), ClusterCommand.ParseDuration("90s"));
        Assert.Equal(TimeSpan.FromDays(2), ClusterCommand.ParseDuration("2d"));
    }
}
