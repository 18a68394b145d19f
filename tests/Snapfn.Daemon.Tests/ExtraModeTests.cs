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

    /// <summary>A FaaSnap loader that fails on its first chunk, as one would where MADV_POPULATE_READ is missing.</summary>
    private sealed class FailingLoader : IChunkLoader
    {
        public bool PageCacheOnly => false;

        public void Load(in LoaderChunk chunk) => throw new IOException("no loading here (a test's loader)");
    }

    private static readonly Lazy<bool> _registered = new(() =>
    {
        RestoreModes.Register(new VanillaCopy());
        RestoreModes.Register(new FaasnapBackend("faasnap-failing", new FailingLoader()));
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

    [Fact]
    public async Task A_faasnap_restore_whose_loader_fails_is_answered_but_marked_degraded()
    {
        Kvm.Require();
        _ = _registered.Value;
        await _fixture.EnsureSnapshotAsync("hello-world");
        using (var recorded = await _fixture.Daemon.PostAsync("functions/hello-world/record?mode=faasnap", """{"name":"Alice"}"""u8.ToArray()))
            Assert.True(recorded.IsSuccessStatusCode, await recorded.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        using var failing = await _fixture.Daemon.PostAsync("functions/hello-world/invoke?mode=faasnap-failing&cold=true", """{"name":"Bob"}"""u8.ToArray(), "application/json");
        Assert.True(failing.IsSuccessStatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await failing.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("Hello, Bob!", json.RootElement.GetProperty("output").GetString());
        var degraded = json.RootElement.GetProperty("degraded").GetString();
        Assert.StartsWith("the loader failed (no loading here (a test's loader))", degraded, StringComparison.Ordinal);

        // The paper's faasnap on the same recording is not degraded: the field is absent.
        using var clean = await _fixture.Daemon.PostAsync("functions/hello-world/invoke?mode=faasnap&cold=true", """{"name":"Bob"}"""u8.ToArray(), "application/json");
        using var cleanJson = System.Text.Json.JsonDocument.Parse(await clean.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.False(cleanJson.RootElement.TryGetProperty("degraded", out _));
    }
}
