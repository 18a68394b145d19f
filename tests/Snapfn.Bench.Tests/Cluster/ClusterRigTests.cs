using System.Diagnostics;
using System.Globalization;
using Snapfn.Bench.Cluster;
using Snapfn.Cluster;

namespace Snapfn.Bench.Tests.Cluster;

/// <summary>
/// Everything the cluster experiment starts, it stops: real nats-servers (Debian's, as scripts/nats-deps installs)
/// and stand-in workers (`sleep`: the real ones need KVM), cancelled while starting as Ctrl-C would, or disposed after
/// one was killed. Checked in /proc: no process of the run is left, and its folder is gone.
/// </summary>
public sealed class ClusterRigTests
{
    private static ProcessStartInfo Sleeper(WorkerSpec spec) => new("sleep", ["600"]);

    private static string Parent() => Directory.CreateTempSubdirectory("snapfn-rig-test-").FullName;

    private static void RequireNats()
    {
        if (NatsServerBinary.Find(out var reason) is null)
            Assert.Skip(reason);
    }

    /// <summary>The pids of live processes whose command line names <paramref name="folder"/> (the nats-servers'
    /// configuration files are in it).</summary>
    private static List<int> ProcessesNaming(string folder)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Contains(folder, StringComparison.Ordinal) && !IsZombie(pid))
                    found.Add(pid);
            }
            catch (IOException)
            {
                // Gone while listing.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static bool Alive(int pid) => Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    [Fact]
    public async Task Cancelled_while_the_workers_start_it_leaves_no_nats_server_no_worker_and_no_folder()
    {
        RequireNats();
        var parent = Parent();
        try
        {
            using var cancel = new CancellationTokenSource();
            var settings = ClusterSettings.For(quick: true);
            var workerPids = new List<int>();
            var natsPids = new List<int>();
            string? scratch = null;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ClusterRig.StartAsync(settings, parent, Sleeper, (worker, ct) =>
            {
                workerPids.Add(worker.Pid);
                scratch ??= Path.GetDirectoryName(worker.Spec.Home)!;
                if (worker.Spec.Index == 1)
                {
                    // What Ctrl-C does: the token is cancelled while the second worker is being waited for.
                    natsPids.AddRange(ProcessesNaming(scratch));
                    cancel.Cancel();
                }
                ct.ThrowIfCancellationRequested();
                return Task.CompletedTask;
            }, cancel.Token));

            Assert.Equal(3, natsPids.Count);
            Assert.Equal(2, workerPids.Count);
            Assert.All(natsPids.Concat(workerPids), pid => Assert.False(Alive(pid), $"process {pid} outlived the cancelled run"));
            Assert.Empty(ProcessesNaming(scratch!));
            Assert.False(Directory.Exists(scratch));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task A_killed_worker_is_gone_at_once_and_disposing_stops_the_rest_and_the_nats_servers()
    {
        RequireNats();
        var parent = Parent();
        try
        {
            var settings = ClusterSettings.For(quick: true);
            var rig = await ClusterRig.StartAsync(settings, parent, Sleeper, (_, _) => Task.CompletedTask, TestContext.Current.CancellationToken);
            List<int> nats;
            List<int> workers;
            try
            {
                Assert.Equal(3, rig.Nats.ClientUrls.Count);
                Assert.Equal(["w1", "w2", "w3"], rig.Workers.Select(w => w.Spec.Id));
                Assert.All(rig.Workers, w => Assert.Equal(rig.Nats.ClientUrlList, w.Spec.NatsUrls));
                Assert.Equal(3, rig.Workers.Select(w => w.Spec.ListenUrl).Distinct().Count());
                Assert.All(rig.Workers, w => Assert.StartsWith(rig.Scratch, w.Spec.Home, StringComparison.Ordinal));
                nats = ProcessesNaming(rig.Scratch);
                workers = [.. rig.Workers.Select(w => w.Pid)];
                Assert.Equal(3, nats.Count);

                await rig.KillAsync(settings.KillWorker);
                Assert.False(Alive(workers[settings.KillWorker]));
                Assert.True(Alive(workers[0]));
                Assert.True(Alive(workers[1]));
            }
            finally
            {
                await rig.DisposeAsync();
            }
            Assert.All(nats.Concat(workers), pid => Assert.False(Alive(pid), $"process {pid} outlived the rig"));
            Assert.False(Directory.Exists(rig.Scratch));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task Workers_stopped_with_SIGTERM_exit_within_the_grace()
    {
        RequireNats();
        var parent = Parent();
        try
        {
            await using var rig = await ClusterRig.StartAsync(ClusterSettings.For(quick: true), parent, Sleeper, (_, _) => Task.CompletedTask,
                TestContext.Current.CancellationToken);
            // sleep dies of SIGTERM: no SIGKILL is needed, and StopWorkersAsync returns once all have exited.
            await rig.StopWorkersAsync(TimeSpan.FromMinutes(1));
            Assert.All(rig.Workers, w => Assert.True(w.HasExited));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public void A_worker_home_links_the_shared_runtime_roots_and_has_the_rest_its_own()
    {
        var root = Directory.CreateTempSubdirectory("snapfn-home-test-").FullName;
        try
        {
            var shared = Path.Combine(root, "user");
            var home = Path.Combine(root, "w1");
            WorkerHome.Prepare(home, shared);
            WorkerHome.Prepare(home, shared);
            foreach (var name in WorkerHome.Shared)
            {
                Assert.Equal(Path.Combine(shared, name), new DirectoryInfo(Path.Combine(home, name)).LinkTarget);
                Assert.True(Directory.Exists(Path.Combine(shared, name)));
            }
            Assert.Equal(WorkerHome.Shared.Order(), Directory.EnumerateFileSystemEntries(home).Select(Path.GetFileName).Order());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Without_KVM_the_experiment_refuses_unless_the_emulated_cpu_was_asked_for_and_then_it_is_a_labelled_trial()
    {
        if (Vmm.VirtualCpu.Selected == Vmm.CpuKind.Soft)
        {
            // SNAPFN_CPU=soft (scripts/test sets it without /dev/kvm): accepted, as a trial whose times are not measurements.
            var cpu = ClusterExperiment.RequireGuests();
            Assert.True(cpu.Emulated);
            Assert.Equal("soft", cpu.Name);
            Assert.StartsWith("EMULATED CPU (SNAPFN_CPU=soft)", cpu.Caveat, StringComparison.Ordinal);
            return;
        }
        if (Vmm.KvmSystem.IsAvailable(out _))
        {
            var kvm = ClusterExperiment.RequireGuests();
            Assert.False(kvm.Emulated);
            Assert.Null(kvm.Caveat);
            return;
        }
        // The CLI-level check (nothing started, no folder written, with and without SNAPFN_CPU) is
        // Snapfn.Daemon.Tests' ClusterCommandTests, which runs the command in a process of its own.
        var error = Assert.Throws<Vmm.KvmUnavailableException>(() => ClusterExperiment.RequireGuests());
        Assert.StartsWith("the cluster experiment needs KVM", error.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was started and no results were written", error.Message, StringComparison.Ordinal);
        Assert.Contains("SNAPFN_CPU=soft", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_worker_is_this_clis_serve_joined_to_the_cluster_in_its_own_home()
    {
        var catalog = Platform.FunctionCatalog.Default();
        var experiment = new ClusterExperiment(ClusterSettings.For(quick: true), "/opt/snapfn/snapfn.dll", catalog);
        var spec = new WorkerSpec(1, "w2", "/scratch/w2", "http://127.0.0.1:4000", "nats://127.0.0.1:1,nats://127.0.0.1:2");
        var start = experiment.WorkerCommand(spec, new ExperimentCpu(Vmm.CpuKind.Kvm));
        Assert.Equal("dotnet", start.FileName);
        Assert.Equal(["/opt/snapfn/snapfn.dll", "serve", "--nats", "nats://127.0.0.1:1,nats://127.0.0.1:2", "--listen", "http://127.0.0.1:4000", "--worker-id", "w2"],
            start.ArgumentList);
        Assert.Equal("/scratch/w2", start.Environment["SNAPFN_HOME"]);
        Assert.False(start.Environment.ContainsKey("SNAPFN_SERVER"));
        // The workers' guests run on the CPU the experiment checked, whatever SNAPFN_CPU the shell has.
        Assert.Equal("kvm", start.Environment["SNAPFN_CPU"]);
        Assert.Equal("soft", experiment.WorkerCommand(spec, new ExperimentCpu(Vmm.CpuKind.Soft)).Environment["SNAPFN_CPU"]);
    }
}
