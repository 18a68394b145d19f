using Snapfn.Bench.Cluster;

namespace Snapfn.Bench.Tests.Cluster;

public sealed class ClusterSettingsTests
{
    [Fact]
    public void Quick_is_a_tenth_of_the_full_burst_and_the_kill_comes_half_way()
    {
        var quick = ClusterArguments.Parse(quick: true, requests: null, functions: null, modes: null, repeat: null);
        var full = ClusterArguments.Parse(quick: false, requests: null, functions: null, modes: null, repeat: null);
        Assert.Equal(ClusterSettings.QuickRequests, quick.Requests);
        Assert.Equal(ClusterSettings.FullRequests, full.Requests);
        Assert.Equal(45, quick.KillAfter);
        Assert.Equal(["py-hello-world", "py-json"], quick.Functions);
        Assert.Equal(3, quick.Workers);
        Assert.Equal(3, quick.NatsNodes);
        Assert.NotEqual(0, quick.KillWorker);
        Assert.Equal(101, ClusterArguments.Parse(true, 101, ["py-json"], null, null).Requests);
    }

    [Theory]
    [InlineData(1, "--requests must be 2 to 10000")]
    [InlineData(10_001, "--requests must be 2 to 10000")]
    public void A_burst_too_small_to_split_or_larger_than_the_logs_are_read_is_refused(int requests, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => ClusterArguments.Parse(false, requests, null, null, null));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_restore_mode_flags_are_refused_by_name()
    {
        Assert.Contains("--modes", Assert.Throws<ArgumentException>(() => ClusterArguments.Parse(false, null, null, ["vanilla"], null)).Message, StringComparison.Ordinal);
        Assert.Contains("--repeat", Assert.Throws<ArgumentException>(() => ClusterArguments.Parse(false, null, null, null, 3)).Message, StringComparison.Ordinal);
        Assert.Contains("--functions", Assert.Throws<ArgumentException>(() => ClusterArguments.Parse(false, null, [], null, null)).Message, StringComparison.Ordinal);
        Assert.Contains("--clients", Assert.Throws<ArgumentException>(() => ClusterSettings.For(false, clients: 0)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_front_door_sees_every_function_both_ways_and_a_third_are_async()
    {
        var settings = ClusterSettings.For(quick: false);
        var cycle = settings.Workers * settings.Functions.Count * settings.AsyncEvery;
        var plans = Enumerable.Range(0, cycle).Select(settings.Plan).ToList();
        // Doors x functions x both kinds, each at least once in one cycle.
        Assert.Equal(settings.Workers * settings.Functions.Count * 2, plans.Distinct().Count());
        Assert.Equal(cycle / settings.AsyncEvery, plans.Count(p => p.Kind == InvocationKind.Async));
        Assert.Equal(Enumerable.Range(0, settings.Workers), plans.Select(p => p.FrontDoor).Distinct().Order());
    }

    [Fact]
    public void Results_go_under_bench_results_cluster_by_default()
    {
        Assert.Equal(Path.Combine("bench-results", "cluster", "20261207-101500"), ClusterArguments.DefaultFolder(new DateTime(2026, 12, 7, 10, 15, 0)));
    }

    [Fact]
    public void On_the_emulated_cpu_the_request_timeout_is_scaled_and_on_KVM_it_is_not()
    {
        var settings = ClusterSettings.For(quick: true);
        var kvm = settings.ForCpu(new ExperimentCpu(Vmm.CpuKind.Kvm));
        Assert.Equal(settings, kvm);
        Assert.Equal(1, kvm.TimeoutScale);
        var soft = settings.ForCpu(new ExperimentCpu(Vmm.CpuKind.Soft));
        Assert.Equal(ClusterSettings.EmulatedTimeoutScale, soft.TimeoutScale);
        Assert.Equal(settings.RequestTimeout * ClusterSettings.EmulatedTimeoutScale, soft.RequestTimeout);
        // Scaled once, however often asked.
        Assert.Equal(soft, soft.ForCpu(new ExperimentCpu(Vmm.CpuKind.Soft)));
    }
}
