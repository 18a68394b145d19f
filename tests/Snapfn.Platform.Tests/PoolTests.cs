using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Platform.Tests;

/// <summary>The warm pool (keep-alive VMs) and the shell pool (KVM VMs made ahead), on real VMs.</summary>
public sealed class PoolTests
{
    private const ulong MemorySize = 512UL << 20;

    private static WarmVm Boot()
    {
        GuestBuild.RequireKvm();
        var vm = MicroVm.Boot(GuestBuild.Elf("hello-world"), new MicroVmOptions { MemorySize = MemorySize, Timeout = TimeSpan.FromSeconds(30) });
        vm.RunToReady();
        return new WarmVm(vm);
    }

    /// <summary>A disposed VM has unmapped its guest memory.</summary>
    private static bool IsDisposed(WarmVm vm)
    {
        try
        {
            _ = vm.Vm.Memory.HostAddress;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    [Fact]
    public void A_released_vm_is_reused_by_its_function_only_and_only_once()
    {
        using var pool = new WarmPool();
        var vm = Boot();
        Assert.False(pool.TryAcquire("hello", out _));
        pool.Release("hello", vm);
        Assert.False(pool.TryAcquire("other", out _));
        Assert.True(pool.TryAcquire("hello", out var reused));
        Assert.Same(vm, reused);
        Assert.False(IsDisposed(reused));
        Assert.False(pool.TryAcquire("hello", out _));
        reused.Dispose();
    }

    [Fact]
    public void Evict_disposes_the_idle_vms_of_that_function_and_keeps_the_others()
    {
        using var pool = new WarmPool();
        WarmVm[] hello = [Boot(), Boot()];
        var other = Boot();
        foreach (var vm in hello)
            pool.Release("hello", vm);
        pool.Release("other", other);

        pool.Evict("hello");

        Assert.All(hello, vm => Assert.True(IsDisposed(vm)));
        Assert.False(pool.TryAcquire("hello", out _));
        Assert.False(IsDisposed(other));
        Assert.True(pool.TryAcquire("other", out var kept));
        Assert.Same(other, kept);
        kept.Dispose();
    }

    [Fact]
    public void A_full_pool_disposes_the_vm_it_cannot_keep_and_disposing_the_pool_stops_the_idle_ones()
    {
        var pool = new WarmPool(maxPerFunction: 1);
        var first = Boot();
        var second = Boot();
        pool.Release("hello", first);
        pool.Release("hello", second);
        Assert.True(IsDisposed(second));
        Assert.False(IsDisposed(first));
        pool.Dispose();
        Assert.True(IsDisposed(first));
    }

    [Fact]
    public void A_shell_is_handed_out_once_and_replenish_makes_a_new_one()
    {
        GuestBuild.RequireKvm();
        using var pool = new ShellPool(target: 1);
        var taken = new List<VmShell>();
        try
        {
            pool.Replenish(MemorySize);
            var ready = pool.Take(MemorySize);
            taken.Add(ready);
            var inline = pool.Take(MemorySize); // the pool is empty: made inline
            taken.Add(inline);
            Assert.NotSame(ready, inline);
            pool.Replenish(MemorySize);
            var replenished = pool.Take(MemorySize);
            taken.Add(replenished);
            Assert.Equal(3, taken.Distinct().Count());
            Assert.All(taken, shell => Assert.Equal(MemorySize, shell.MemorySize));

            // A pool per size: a ready shell of one size is not handed out for another.
            pool.Replenish(MemorySize);
            var other = pool.Take(MemorySize * 2);
            taken.Add(other);
            Assert.Equal(MemorySize * 2, other.MemorySize);
        }
        finally
        {
            foreach (var shell in taken)
                shell.Dispose();
        }
    }

    [Fact]
    public void The_shell_pool_keeps_at_most_its_bound_of_shells_and_stops_those_it_evicts()
    {
        GuestBuild.RequireKvm();
        using var pool = new ShellPool(target: 1, maxIdle: 2);
        ulong[] sizes = [MemorySize, MemorySize * 2, MemorySize * 3];
        foreach (var size in sizes)
            pool.Replenish(size);
        Assert.Equal(2, pool.IdleCount);
        Assert.Equal(1, pool.Evicted);
        Assert.Equal(0, pool.IdleCountOf(MemorySize)); // the size used longest ago went first
        Assert.Equal(1, pool.IdleCountOf(MemorySize * 3));
        pool.Fill(MemorySize, count: 5);
        Assert.Equal(2, pool.IdleCount);
        Assert.Equal(2, pool.IdleCountOf(MemorySize));
        Assert.Equal(3, pool.Evicted);
    }

    [Fact]
    public void The_shell_pool_makes_no_shell_the_budget_has_no_room_for_and_gives_way_to_a_vm_that_needs_it()
    {
        GuestBuild.RequireKvm();
        var budget = new HostMemoryBudget(MemorySize, TimeSpan.Zero);
        using var pool = new ShellPool(target: 1, maxIdle: 4, budget: budget);
        pool.Replenish(MemorySize);
        Assert.Equal(MemorySize, budget.Reserved);
        pool.Replenish(MemorySize / 2);
        Assert.Equal(1, pool.IdleCount);
        using (budget.Reserve(MemorySize / 2, "a VM", TestContext.Current.CancellationToken))
        {
            Assert.Equal(0, pool.IdleCount);
            Assert.Equal(1, pool.Evicted);
        }
        Assert.Equal(0UL, budget.Reserved);
    }

    [Fact]
    public void A_second_warm_invocation_runs_in_the_vm_the_first_left_in_the_pool()
    {
        using var home = new ScriptFunctionHome();
        var function = home.Function("warm-reuse", "def handle(r):\n    return r\n");
        home.Invoker.Invoke(new InvocationRequest(function, "warm", "a"u8.ToArray(), Cold: false), home.Options, TestContext.Current.CancellationToken);
        Assert.True(home.Invoker.Pool.TryAcquire(function.Name, out var vm));
        home.Invoker.Pool.Release(function.Name, vm);
        var output = home.Invoker.Invoke(new InvocationRequest(function, "warm", "b"u8.ToArray(), Cold: false), home.Options, TestContext.Current.CancellationToken).Output;
        Assert.Equal("b"u8.ToArray(), output);
        Assert.True(home.Invoker.Pool.TryAcquire(function.Name, out var again));
        Assert.Same(vm, again);
        Assert.False(IsDisposed(again));
        again.Dispose();
    }
}
