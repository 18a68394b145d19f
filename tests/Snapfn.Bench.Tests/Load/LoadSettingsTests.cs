using System.Text.Json;
using Snapfn.Bench.Load;

namespace Snapfn.Bench.Tests.Load;

public sealed class LoadSettingsTests
{
    [Fact]
    public void The_issue_levels_and_a_quick_run_of_seconds()
    {
        var full = LoadSettings.For(quick: false);
        Assert.Equal([1, 8, 32], full.Levels);
        Assert.Equal(TimeSpan.FromSeconds(30), full.Duration);
        var quick = LoadSettings.For(quick: true);
        Assert.Equal([1, 8, 32], quick.Levels);
        Assert.Equal(TimeSpan.FromSeconds(5), quick.Duration);
        Assert.Equal(TimeSpan.FromSeconds(2), quick.Warmup);
        Assert.Equal(LoadSettings.For(quick: true), LoadSettings.For(quick: true, functions: ["py-hello-world"]));
    }

    [Fact]
    public void Flags_of_the_other_experiments_are_refused_by_name()
    {
        Assert.Contains("leave out --modes", Assert.Throws<ArgumentException>(() => LoadSettings.For(false, modes: ["faasnap"])).Message, StringComparison.Ordinal);
        Assert.Contains("leave out --functions", Assert.Throws<ArgumentException>(() => LoadSettings.For(false, functions: ["py-json"])).Message, StringComparison.Ordinal);
        Assert.Contains("leave out --repeat", Assert.Throws<ArgumentException>(() => LoadSettings.For(false, repeat: 3)).Message, StringComparison.Ordinal);
        Assert.Contains("leave out --requests", Assert.Throws<ArgumentException>(() => LoadSettings.For(false, requests: 10)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new LoadSettings { Levels = [0] }.Validate());
        Assert.Throws<ArgumentException>(() => new LoadSettings { Levels = [LoadSettings.MaxClients + 1] }.Validate());
        Assert.Throws<ArgumentException>(() => new LoadSettings { Duration = TimeSpan.Zero }.Validate());
    }

    [Fact]
    public void Without_KVM_it_refuses_naming_the_emulated_cpu_and_under_it_runs_a_trial()
    {
        var soft = Vmm.VirtualCpu.Selected == Vmm.CpuKind.Soft;
        if (!soft && Vmm.KvmSystem.IsAvailable(out _))
            Assert.Skip("this machine has KVM: the refusal cannot be seen here");
        if (soft)
        {
            // SNAPFN_CPU=soft chose the emulated CPU: a trial, labelled as such (the process test checks the refusal
            // without it, in a process of its own: the CPU is chosen once per process).
            var cpu = LoadExperiment.RequireGuests();
            Assert.True(cpu.Emulated);
            Assert.Equal("soft", cpu.Name);
            Assert.StartsWith("EMULATED CPU (SNAPFN_CPU=soft)", cpu.Caveat, StringComparison.Ordinal);
            return;
        }
        var error = Assert.Throws<Vmm.KvmUnavailableException>(LoadExperiment.RequireGuests);
        Assert.Contains("the load experiment needs KVM", error.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was started and no results were written", error.Message, StringComparison.Ordinal);
        Assert.Contains("SNAPFN_CPU=soft runs it on an emulated CPU as a trial", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusing_machine_stops_the_run_before_it_makes_a_folder()
    {
        var root = Path.Combine(Path.GetTempPath(), $"snapfn-load-refusal-{Guid.NewGuid():N}");
        var experiment = new LoadExperiment(LoadSettings.For(quick: true), "/nonexistent/snapfn.dll", Platform.FunctionCatalog.Default())
        {
            RequireMachine = () => throw new Vmm.KvmUnavailableException("the load experiment needs KVM (test)"),
        };
        var steps = new List<string>();
        await Assert.ThrowsAsync<Vmm.KvmUnavailableException>(() => experiment.RunAsync(Path.Combine(root, "scratch"), Path.Combine(root, "home"), steps.Add, TestContext.Current.CancellationToken));
        Assert.Empty(steps);
        Assert.False(Path.Exists(root));
    }

    [Fact]
    public void On_the_emulated_cpu_the_trial_runs_longer_levels_and_says_so_on_kvm_nothing_changes()
    {
        var quick = LoadSettings.For(quick: true);
        Assert.Same(quick, quick.ForCpu(new ExperimentCpu(Vmm.CpuKind.Kvm)));
        Assert.Equal(1, quick.TimeScale);

        var trial = quick.ForCpu(new ExperimentCpu(Vmm.CpuKind.Soft));
        Assert.Equal(LoadSettings.EmulatedTimeScale, trial.TimeScale);
        Assert.Equal(quick.Warmup * LoadSettings.EmulatedTimeScale, trial.Warmup);
        Assert.Equal(quick.Duration * LoadSettings.EmulatedTimeScale, trial.Duration);
        Assert.Equal(quick.TimelineWindow * LoadSettings.EmulatedTimeScale, trial.TimelineWindow);
        Assert.Equal(quick.RequestTimeout * Vmm.VirtualCpu.SoftTimeoutScale, trial.RequestTimeout);
        Assert.Equal(quick.Levels, trial.Levels);
        // Scaled once: the settings of a trial are not scaled again.
        Assert.Same(trial, trial.ForCpu(new ExperimentCpu(Vmm.CpuKind.Soft)));
    }

    [Fact]
    public void The_daemon_is_this_clis_serve_and_the_deploy_its_deploy_in_the_runs_home()
    {
        var catalog = Platform.FunctionCatalog.Default();
        var experiment = new LoadExperiment(LoadSettings.For(quick: true), "/opt/snapfn/snapfn.dll", catalog);
        var serve = experiment.DaemonCommand("/scratch/home", "http://127.0.0.1:4000");
        Assert.Equal("dotnet", serve.FileName);
        Assert.Equal(["/opt/snapfn/snapfn.dll", "serve", "--listen", "http://127.0.0.1:4000"], serve.ArgumentList);
        Assert.Equal("/scratch/home", serve.Environment["SNAPFN_HOME"]);
        Assert.Equal(catalog.GuestDirectory, serve.Environment["SNAPFN_GUEST_DIR"]);
        Assert.False(serve.Environment.ContainsKey("SNAPFN_SERVER"));
        // No mode, no record step: the deploy is the user's, and it takes the snapshot.
        var deploy = experiment.DeployCommand("/scratch/home", "/scratch/hello-load", "http://127.0.0.1:4000", "t0k");
        Assert.Equal(["/opt/snapfn/snapfn.dll", "deploy", "/scratch/hello-load", "--server", "http://127.0.0.1:4000", "--token", "t0k"], deploy.ArgumentList);
        Assert.False(deploy.Environment.ContainsKey("SNAPFN_TOKEN"));
    }

    [Fact]
    public void The_automatic_recording_state_reads_from_the_function_description()
    {
        using var recorded = JsonDocument.Parse("""
            {"name":"hello-load","recordings":[{"mode":"faasnap"},{"mode":"reap"}],"auto_recording":{"state":"recorded","trigger":"first-invocation"}}
            """);
        Assert.Equal("recorded (first-invocation); recordings: faasnap, reap", LoadExperiment.AutoRecording(recorded.RootElement));
        using var failed = JsonDocument.Parse("""{"recordings":[],"auto_recording":{"state":"failed","reason":"no KVM"}}""");
        Assert.Equal("failed: no KVM; recordings: none", LoadExperiment.AutoRecording(failed.RootElement));
        using var off = JsonDocument.Parse("""{"recordings":[]}""");
        Assert.Equal("no automatic recording; recordings: none", LoadExperiment.AutoRecording(off.RootElement));
    }
}
