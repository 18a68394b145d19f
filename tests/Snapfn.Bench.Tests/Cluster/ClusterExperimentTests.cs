using System.Diagnostics;
using Snapfn.Bench.Cluster;
using Snapfn.Bench.Experiments;
using Snapfn.Cluster;

namespace Snapfn.Bench.Tests.Cluster;

/// <summary>
/// The experiment's orchestration end to end without KVM: real nats-servers, and three stand-in workers
/// (fake_worker.py, the HTTP API docs/cluster.md describes) as processes; w3 is SIGKILLed mid-burst for real. What it
/// checks is the bench, not the cluster: every request accounted for, the kill, the deploy's snapshot time, the fetches
/// read from the replies and /metrics, and nothing left running.
/// </summary>
public sealed class ClusterExperimentTests
{
    private static string? Python()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, "python3");
            if (File.Exists(path))
                return path;
        }
        return null;
    }

    [Fact]
    public async Task With_stand_in_workers_every_request_is_accounted_for_and_nothing_outlives_the_run()
    {
        if (NatsServerBinary.Find(out var reason) is null)
            Assert.Skip(reason);
        var python = Python();
        if (python is null)
            Assert.Skip("python3 is not installed: the stand-in workers are a Python script");
        var script = Path.Combine(AppContext.BaseDirectory, "Cluster", "fake_worker.py");
        var root = Directory.CreateTempSubdirectory("snapfn-cluster-experiment-").FullName;
        var pids = new List<int>();
        try
        {
            var settings = ClusterSettings.For(quick: true, requests: 60) with { PollInterval = TimeSpan.FromMilliseconds(5) };
            var experiment = new ClusterExperiment(settings, "unused.dll", Platform.FunctionCatalog.Default())
            {
                RequireMachine = () => new ExperimentCpu(Vmm.CpuKind.Kvm),
                StartWorker = spec =>
                {
                    var start = new ProcessStartInfo(python);
                    foreach (var arg in new[] { script, "--listen", spec.ListenUrl, "--worker-id", spec.Id })
                        start.ArgumentList.Add(arg);
                    start.Environment["SNAPFN_HOME"] = spec.Home;
                    return start;
                },
            };
            var steps = new List<string>();
            var run = await experiment.RunAsync(Path.Combine(root, "scratch"), Path.Combine(root, "user-home"), steps.Add, TestContext.Current.CancellationToken);

            Assert.False(experiment.Partial);
            Assert.Equal(["w1", "w2", "w3"], run.WorkerIds);
            Assert.Equal("w3", run.KilledWorker);
            Assert.NotNull(run.KillMs);
            var report = new ClusterReport(run, new MachineFacts("test", null, null, SmallPages: false));
            Assert.Equal(60, report.Sent);
            Assert.True(report.Lost == 0, string.Join("\n", run.Requests.Where(r => !r.Succeeded).Select(r => $"#{r.Sequence} {r.Kind} door {r.FrontDoor} sent {r.SentMs:0} kill {run.KillMs:0}: {r.Status} {r.Error}")));
            Assert.Equal(Enumerable.Range(0, 60).Count(i => settings.Plan(i).Kind == InvocationKind.Async), run.Requests.Count(r => r.Kind == InvocationKind.Async));
            Assert.All(run.Requests.Where(r => r.SentMs >= run.KillMs), r => Assert.NotEqual("w3", r.Worker));
            Assert.Equal(["py-hello-world", "py-json"], run.Snapshots.Select(s => s.Function));
            Assert.All(run.Snapshots, s => Assert.Equal(350, s.TotalMs));
            // w2 and w3 "fetched" each function on their first sync reply; w3's metrics were read before it died.
            Assert.Contains(report.FetchesSeen, f => f.Worker == "w2" && f.FirstFetchMs == 42);
            Assert.Contains(run.Fetches, f => f.Worker == "w3" && f.Fetches == 1 && f.Bytes == 7340032);
            // The stand-ins keep no invocation log: every answer is counted as not logged, none as served twice.
            Assert.Equal(0, report.ServedTwice);
            Assert.Equal(report.Answered, report.AnsweredButNotLogged);
            Assert.Contains(steps, s => s.Contains("w3 is killed after 30", StringComparison.Ordinal));
        }
        finally
        {
            // Nothing of the run is left: no process names its scratch folder, and the folder is gone.
            var left = Directory.EnumerateDirectories("/proc")
                .Where(d => int.TryParse(Path.GetFileName(d), out _))
                .Where(d =>
                {
                    try
                    {
                        return File.ReadAllText(Path.Combine(d, "cmdline")).Contains(root, StringComparison.Ordinal);
                    }
                    catch (IOException)
                    {
                        return false;
                    }
                })
                .ToList();
            Directory.Delete(root, recursive: true);
            Assert.Empty(left);
        }
    }
}
