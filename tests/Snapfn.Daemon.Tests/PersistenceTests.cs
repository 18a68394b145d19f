using System.Text.Json;

namespace Snapfn.Daemon.Tests;

public sealed class PersistenceTests
{
    [Fact]
    public async Task Functions_snapshots_and_the_invocation_log_survive_a_restart()
    {
        Kvm.Require();
        using var home = new TempDirectory();
        using var sources = new TempDirectory();
        var (_, elf) = TestFunctions.Build(sources.Path, "keeper");
        await using (var first = await RunningDaemon.StartAsync(home.Path))
        {
            using var created = await first.PostAsync("functions?name=keeper&memory_mib=256", elf);
            Assert.True(created.IsSuccessStatusCode);
            await first.PostTextAsync("functions/keeper/snapshot", "");
            Assert.Equal("Hello, Kim! (from keeper)", await first.PostTextAsync("functions/keeper/invoke?mode=vanilla", """{"name":"Kim"}"""));
        }

        await using var second = await RunningDaemon.StartAsync(home.Path);

        var keeper = await second.GetJsonAsync("functions/keeper");
        Assert.Equal("user", keeper.GetProperty("kind").GetString());
        Assert.Equal(256, keeper.GetProperty("memory_mib").GetInt32());
        Assert.Equal(JsonValueKind.Object, keeper.GetProperty("snapshot").ValueKind);
        var log = await second.GetJsonAsync("invocations?function=keeper");
        Assert.Single(log.GetProperty("invocations").EnumerateArray());
        Assert.Equal("Hello, Kim! (from keeper)", await second.PostTextAsync("functions/keeper/invoke?mode=warm", """{"name":"Kim"}"""));
    }

    [Fact]
    public async Task Redeploying_a_changed_function_forgets_the_old_snapshot_and_warm_vms()
    {
        Kvm.Require();
        using var home = new TempDirectory();
        using var sources = new TempDirectory();
        var (project, elf) = TestFunctions.Build(sources.Path, "changer");
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        using (var created = await daemon.PostAsync("functions?name=changer", elf))
            Assert.True(created.IsSuccessStatusCode);
        await daemon.PostTextAsync("functions/changer/snapshot", "");
        Assert.Equal("Hello, A! (from changer)", await daemon.PostTextAsync("functions/changer/invoke?mode=warm", """{"name":"A"}"""));

        var main = Path.Combine(project.Directory, "main.c");
        await File.WriteAllTextAsync(main, (await File.ReadAllTextAsync(main, TestContext.Current.CancellationToken)).Replace("Hello", "Howdy", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        var rebuilt = File.ReadAllBytes(Platform.FunctionBuilder.Build(project, Platform.GuestSdk.Default()).ElfPath);
        using (var replaced = await daemon.PostAsync("functions?name=changer&snapshot=false", rebuilt))
            Assert.True(replaced.IsSuccessStatusCode);

        Assert.Equal(JsonValueKind.Null, (await daemon.GetJsonAsync("functions/changer")).GetProperty("snapshot").ValueKind);
        using (var stale = await daemon.PostAsync("functions/changer/invoke?mode=vanilla", """{"name":"A"}"""u8.ToArray()))
            await RunningDaemon.ProblemAsync(stale, 409, "snapshot-unusable");
        await daemon.PostTextAsync("functions/changer/snapshot", "");
        Assert.Equal("Howdy, A! (from changer)", await daemon.PostTextAsync("functions/changer/invoke?mode=warm", """{"name":"A"}"""));
    }
}
