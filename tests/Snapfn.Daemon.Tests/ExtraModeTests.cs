using Snapfn.Cli.Commands;
using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Daemon.Tests;

/// <summary>A sixth mode, written here as one type and registered: the CLI, the bench, the daemon and its metrics
/// take it with no other edit (issue 13: a mode is one type behind one interface).</summary>
[Collection("daemon")]
public sealed class ExtraModeTests
{
    private readonly DaemonFixture _fixture;

    public ExtraModeTests(DaemonFixture fixture)
    {
        _fixture = fixture;
    }

    /// <summary>vanilla under another name, with a page counter of its own.</summary>
    private sealed class VanillaCopy : IMemoryBackend
    {
        private readonly VanillaBackend _vanilla = new();

        public string Mode => "vanilla-copy";

        public bool RunsCold => true;

        public IModeRecorder? Recorder => null;

        public IReadOnlyList<ModeCounter> Counters { get; } = [new("copy_pages", "pages the copy says it mapped", 1, "copy")];

        public IReadOnlyList<string> Files(Snapshot snapshot) => _vanilla.Files(snapshot);

        public void Prepare(Snapshot snapshot) => _vanilla.Prepare(snapshot);

        public RestoredMemory Restore(Snapshot snapshot, MemoryMapping target) => new Counted(_vanilla.Restore(snapshot, target).Memory);

        private sealed class Counted(GuestMemory memory) : RestoredMemory(memory)
        {
            public override IReadOnlyDictionary<string, double> Counters => new Dictionary<string, double> { ["copy_pages"] = 7 };
        }
    }

    private static readonly Lazy<bool> _registered = new(() =>
    {
        RestoreModes.Register(new VanillaCopy());
        return true;
    });

    [Fact]
    public async Task A_mode_of_one_type_shows_up_in_the_cli_the_bench_the_daemon_and_the_metrics()
    {
        Kvm.Require();
        _ = _registered.Value;
        Assert.Contains("vanilla-copy", FunctionService.Modes);
        Assert.Contains("vanilla-copy", BenchCommand.AllModes);
        var help = InvokeCommand.Create().Options.Single(o => o.Name == "--mode").Description;
        Assert.Contains("vanilla-copy", help, StringComparison.Ordinal);

        await _fixture.EnsureSnapshotAsync("hello-world");
        var output = await _fixture.Daemon.PostTextAsync("functions/hello-world/invoke?mode=vanilla-copy", """{"name":"Copy"}""");
        Assert.Equal("Hello, Copy!", output);
        var metrics = await _fixture.Daemon.Http.GetStringAsync("metrics", TestContext.Current.CancellationToken);
        Assert.Contains("""snapfn_pages_total{function="hello-world",mode="vanilla-copy",source="copy"} 7""", metrics, StringComparison.Ordinal);
    }
}
