using Snapfn.Tests;

namespace Snapfn.Platform.Tests;

/// <summary>
/// Finding 3 of issue 18, the platform's part: a client chose up to 64 GiB of guest memory per VM, with no bound on
/// what all VMs together hold. The per-VM limit and the host's budget, each failing with the limit's name.
/// </summary>
public sealed class MemoryLimitTests : IDisposable
{
    private const ulong Mib = 1UL << 20;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-limits-");

    private FunctionService Service(FunctionServiceOptions options) =>
        new(new SnapfnHome(Path.Combine(_dir.FullName, "home")), new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")), options);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static byte[] Elf => File.ReadAllBytes(GuestBuild.ElfPath("hello-world"));

    [Fact]
    public void A_memory_size_above_the_per_vm_limit_is_refused_at_deploy_and_at_snapshot_naming_the_limit()
    {
        using var service = Service(new FunctionServiceOptions { MaxGuestMemoryMib = 1024 });
        var e = Assert.Throws<LimitExceededException>(() => service.Register("big", Elf, 2048, "test"));
        Assert.Equal("guest-memory-per-vm", e.Limit);
        Assert.Contains("--max-guest-memory-mib", e.Message, StringComparison.Ordinal);
        Assert.Throws<UnknownFunctionException>(() => service.Get("big"));

        service.Register("small", Elf, 1024, "test");
        e = Assert.Throws<LimitExceededException>(() => service.TakeSnapshot("small", 2048, TimeSpan.FromSeconds(30)));
        Assert.Equal("guest-memory-per-vm", e.Limit);
    }

    [Fact]
    public void The_default_per_vm_limit_refuses_what_the_guest_layout_alone_allowed()
    {
        using var service = Service(new FunctionServiceOptions());
        var e = Assert.Throws<LimitExceededException>(() => service.Register("huge", Elf, MemorySize.MaxMiB, "test"));
        Assert.Equal(FunctionService.GuestMemoryLimit, e.Limit);
        Assert.Contains($"{FunctionServiceOptions.DefaultMaxGuestMemoryMib} MiB", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invocation_of_a_function_registered_above_a_lowered_limit_is_refused_before_any_vm()
    {
        using (var generous = Service(new FunctionServiceOptions { MaxGuestMemoryMib = 2048 }))
            generous.Register("big", Elf, 2048, "test");
        using var service = Service(new FunctionServiceOptions { MaxGuestMemoryMib = 1024 });
        service.Server.RunInvocation = (_, _, _) => throw new InvalidOperationException("no VM may be made for it");
        var e = Assert.Throws<LimitExceededException>(() =>
            service.Server.Invoke(new InvokeRequest("big", []) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken));
        Assert.Equal("guest-memory-per-vm", e.Limit);
    }

    [Fact]
    public void A_vm_that_does_not_fit_the_budget_is_refused_naming_the_limit_when_it_may_not_wait()
    {
        var budget = new HostMemoryBudget(1024 * Mib, TimeSpan.Zero);
        using var first = budget.Reserve(768 * Mib, "first", Cancel);
        var e = Assert.Throws<LimitExceededException>(() => budget.Reserve(512 * Mib, "second", Cancel));
        Assert.Equal(HostMemoryBudget.LimitName, e.Limit);
        Assert.Contains("--host-memory-budget-mib", e.Message, StringComparison.Ordinal);
        Assert.Equal(HostMemoryBudget.RetryAfter, e.RetryAfter); // the host is busy: the same request may pass later
        Assert.Equal(768 * Mib, budget.Reserved);
        using var fits = budget.Reserve(256 * Mib, "third", Cancel);
        Assert.Equal(1024 * Mib, budget.Reserved);
    }

    [Fact]
    public void A_vm_larger_than_the_whole_budget_fails_at_once_even_when_it_may_wait()
    {
        var budget = new HostMemoryBudget(512 * Mib, TimeSpan.FromHours(1));
        var e = Assert.Throws<LimitExceededException>(() => budget.Reserve(1024 * Mib, "a VM", Cancel));
        Assert.Equal(HostMemoryBudget.LimitName, e.Limit);
        Assert.Null(e.RetryAfter); // it never fits: retrying cannot help
        Assert.Equal(0, budget.Waiting);
    }

    [Fact]
    public async Task A_vm_that_does_not_fit_waits_until_a_running_one_ends()
    {
        var budget = new HostMemoryBudget(1024 * Mib, TimeSpan.FromHours(1));
        var first = budget.Reserve(768 * Mib, "first", Cancel);
        var cancel = TestContext.Current.CancellationToken;
        var second = Task.Run(() => budget.Reserve(512 * Mib, "second", cancel), cancel);
        // Deterministic: it is counted as waiting only once it found no room, and it cannot get room until first ends.
        SpinWait.SpinUntil(() => budget.Waiting == 1 || second.IsCompleted);
        Assert.False(second.IsCompleted);
        Assert.Equal(768 * Mib, budget.Reserved);

        first.Dispose();
        using var reservation = await second;
        Assert.Equal(512 * Mib, budget.Reserved);
        Assert.Equal(0, budget.Waiting);
        first.Dispose(); // given back once
        Assert.Equal(512 * Mib, budget.Reserved);
    }

    [Fact]
    public async Task A_waiting_vm_stops_waiting_when_its_request_is_cancelled()
    {
        var budget = new HostMemoryBudget(1024 * Mib, TimeSpan.FromHours(1));
        using var first = budget.Reserve(1024 * Mib, "first", Cancel);
        using var stop = new CancellationTokenSource();
        var second = Task.Run(() => budget.Reserve(512 * Mib, "second", stop.Token), TestContext.Current.CancellationToken);
        SpinWait.SpinUntil(() => budget.Waiting == 1 || second.IsCompleted);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Equal(1024 * Mib, budget.Reserved);
    }

    [Fact]
    public void Idle_vms_give_way_before_a_vm_that_needs_the_budget_waits()
    {
        var budget = new HostMemoryBudget(1024 * Mib, TimeSpan.Zero);
        var idle = new Stack<MemoryReservation>([budget.Reserve(512 * Mib, "idle shell", Cancel), budget.Reserve(512 * Mib, "idle warm VM", Cancel)]);
        budget.AddReclaimer(() =>
        {
            if (!idle.TryPop(out var one))
                return false;
            one.Dispose();
            return true;
        });
        using var running = budget.Reserve(512 * Mib, "a request", Cancel);
        Assert.Single(idle); // one gave way, the other was not needed
        Assert.Null(budget.TryReserve(512 * Mib)); // a pool never makes others give way
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
