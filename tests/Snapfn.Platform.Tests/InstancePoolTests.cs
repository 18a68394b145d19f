namespace Snapfn.Platform.Tests;

/// <summary>
/// Instances and scaling (issue 21, item 3) on stand-in VMs and a clock the test moves: at most max_instances of a
/// function at once, a bounded FIFO queue and its wait, then 429; idle VMs stopped after the keep-alive; the least
/// recently used idle VM of any function stopped first when the host's memory budget needs room.
/// </summary>
public sealed class InstancePoolTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private sealed class Vm(string name, MemoryReservation? reservation = null) : IDisposable
    {
        public string Name { get; } = name;

        public bool Disposed { get; private set; }

        public void Dispose()
        {
            Disposed = true;
            reservation?.Dispose();
        }
    }

    private static ServingOptions Options(int queue = 4, double waitSeconds = 10, double keepAliveMinutes = 5) => new()
    {
        MaxQueueLength = queue,
        MaxQueueWait = TimeSpan.FromSeconds(waitSeconds),
        KeepAlive = TimeSpan.FromMinutes(keepAliveMinutes),
    };

    private static Func<Vm, bool> Any => _ => true;

    [Fact]
    public async Task Up_to_max_instances_run_at_once_and_the_next_ones_wait_their_turn_in_order()
    {
        using var pool = new InstancePool<Vm>(Options(), new ManualClock());
        var first = await pool.AcquireAsync("fn", 2, Any, Cancel);
        var second = await pool.AcquireAsync("fn", 2, Any, Cancel);
        var third = pool.AcquireAsync("fn", 2, Any, Cancel).AsTask();
        var fourth = pool.AcquireAsync("fn", 2, Any, Cancel).AsTask();
        Assert.False(third.IsCompleted);
        Assert.Equal(new InstanceCounts(2, 0, 2), pool.CountsOf("fn"));
        // Another function has its own instances.
        pool.Release(await pool.AcquireAsync("other", 2, Any, Cancel), keep: null);

        pool.Release(second, keep: null);
        var granted = await third;
        Assert.False(fourth.IsCompleted);
        Assert.Equal(new InstanceCounts(2, 0, 1), pool.CountsOf("fn"));
        pool.Release(first, keep: null);
        pool.Release(await fourth, keep: null);
        pool.Release(granted, keep: null);
        Assert.Equal(default, pool.CountsOf("fn"));
        Assert.Throws<InvalidOperationException>(() => pool.Release(granted, keep: null));
    }

    [Fact]
    public async Task A_request_beyond_the_queue_bound_is_refused_at_once_with_retry_after()
    {
        using var pool = new InstancePool<Vm>(Options(queue: 1), new ManualClock());
        var busy = await pool.AcquireAsync("fn", 1, Any, Cancel);
        var queued = pool.AcquireAsync("fn", 1, Any, Cancel).AsTask();

        var e = await Assert.ThrowsAsync<FunctionThrottledException>(async () => await pool.AcquireAsync("fn", 1, Any, Cancel));

        Assert.Equal("max-instances", e.Limit);
        Assert.Equal(TimeSpan.FromSeconds(1), e.RetryAfter);
        Assert.Contains("runs its 1 instances and 1 requests wait", e.Message, StringComparison.Ordinal);
        Assert.Contains("max_instances", e.Message, StringComparison.Ordinal);
        Assert.Equal(Errors.ErrorCode.TooManyRequests, e.Code);
        pool.Release(busy, keep: null);
        pool.Release(await queued, keep: null);
    }

    [Fact]
    public async Task A_queued_request_is_refused_when_its_wait_bound_passes_and_leaves_the_queue()
    {
        var clock = new ManualClock();
        using var pool = new InstancePool<Vm>(Options(waitSeconds: 10, keepAliveMinutes: 60), clock);
        var busy = await pool.AcquireAsync("fn", 1, Any, Cancel);
        var queued = pool.AcquireAsync("fn", 1, Any, Cancel).AsTask();

        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(queued.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        var e = await Assert.ThrowsAsync<FunctionThrottledException>(() => queued);
        Assert.Equal("queue-wait", e.Limit);
        Assert.Equal(new InstanceCounts(1, 0, 0), pool.CountsOf("fn"));
        pool.Release(busy, keep: null);
        Assert.Equal(default, pool.CountsOf("fn"));
    }

    [Fact]
    public async Task A_queued_request_whose_client_went_away_leaves_the_queue_and_the_next_one_gets_the_turn()
    {
        using var pool = new InstancePool<Vm>(Options(), new ManualClock());
        var busy = await pool.AcquireAsync("fn", 1, Any, Cancel);
        using var gone = new CancellationTokenSource();
        var abandoned = pool.AcquireAsync("fn", 1, Any, gone.Token).AsTask();
        var next = pool.AcquireAsync("fn", 1, Any, Cancel).AsTask();
        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        pool.Release(busy, keep: null);
        var turn = await next;
        Assert.Equal(new InstanceCounts(1, 0, 0), pool.CountsOf("fn"));
        pool.Release(turn, keep: null);
    }

    [Fact]
    public async Task A_kept_vm_serves_the_next_request_and_the_queue_measures_the_wait()
    {
        var clock = new ManualClock();
        using var pool = new InstancePool<Vm>(Options(), clock);
        var first = await pool.AcquireAsync("fn", 1, Any, Cancel);
        Assert.Null(first.Instance);
        var waiting = pool.AcquireAsync("fn", 1, Any, Cancel).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(250));
        var vm = new Vm("a");
        pool.Release(first, keep: vm);
        var second = await waiting;
        Assert.Same(vm, second.Instance);
        Assert.Equal(TimeSpan.FromMilliseconds(250), second.QueueWait);
        Assert.Equal(new InstanceCounts(1, 0, 0), pool.CountsOf("fn"));
        pool.Release(second, keep: vm);
        Assert.Equal(new InstanceCounts(0, 1, 0), pool.CountsOf("fn"));
        Assert.False(vm.Disposed);
    }

    [Fact]
    public async Task An_idle_vm_the_request_cannot_use_gives_way_to_a_new_one_at_the_bound()
    {
        using var pool = new InstancePool<Vm>(Options(), new ManualClock());
        var evicted = new List<(string, EvictionReason)>();
        pool.Evicted += (f, r) => evicted.Add((f, r));
        var old = new Vm("old version");
        pool.Release(await pool.AcquireAsync("fn", 1, Any, Cancel), keep: old);

        var turn = await pool.AcquireAsync("fn", 1, vm => vm.Name != "old version", Cancel);

        Assert.Null(turn.Instance);
        Assert.True(old.Disposed, "at max_instances 1 the idle VM must give way to the new one");
        Assert.Equal([("fn", EvictionReason.Replaced)], evicted);
        pool.Release(turn, keep: null);
    }

    [Fact]
    public async Task Idle_vms_are_stopped_after_the_keep_alive_and_the_function_scales_to_zero()
    {
        var clock = new ManualClock();
        using var pool = new InstancePool<Vm>(Options(keepAliveMinutes: 5), clock);
        var evicted = new List<(string, EvictionReason)>();
        pool.Evicted += (f, r) => evicted.Add((f, r));
        var early = new Vm("early");
        var late = new Vm("late");
        var a = await pool.AcquireAsync("fn", 2, Any, Cancel);
        var b = await pool.AcquireAsync("fn", 2, Any, Cancel);
        pool.Release(a, keep: early);
        clock.Advance(TimeSpan.FromMinutes(3));
        pool.Release(b, keep: late);

        clock.Advance(TimeSpan.FromMinutes(2)); // early idle 5 min: the sweep (every 2.5 min) stops it
        Assert.True(early.Disposed);
        Assert.False(late.Disposed);
        Assert.Equal(new InstanceCounts(0, 1, 0), pool.CountsOf("fn"));

        clock.Advance(TimeSpan.FromMinutes(3)); // late idle 5 min, the sweep's next turn comes at 10 min
        Assert.False(late.Disposed);
        clock.Advance(TimeSpan.FromMinutes(2)); // within 1.5 keep-alives, as the sweep runs at half the keep-alive
        Assert.True(late.Disposed);
        Assert.Equal(default, pool.CountsOf("fn"));
        Assert.Empty(pool.Counts());
        Assert.Equal([("fn", EvictionReason.KeepAlive), ("fn", EvictionReason.KeepAlive)], evicted);
    }

    [Fact]
    public async Task A_vm_released_after_its_function_changed_is_stopped_not_kept()
    {
        using var pool = new InstancePool<Vm>(Options(), new ManualClock());
        var idle = new Vm("idle");
        pool.Release(await pool.AcquireAsync("fn", 2, Any, Cancel), keep: idle);
        var running = await pool.AcquireAsync("fn", 2, _ => false, Cancel);

        Assert.Equal(1, pool.Evict("fn")); // a redeploy
        var stale = new Vm("ran the old version");
        pool.Release(running, keep: stale);

        Assert.True(idle.Disposed);
        Assert.True(stale.Disposed);
        Assert.Equal(default, pool.CountsOf("fn"));
    }

    [Fact]
    public async Task The_memory_budget_stops_the_least_recently_used_idle_vm_of_any_function_first()
    {
        const ulong Mib = 1 << 20;
        var clock = new ManualClock();
        var budget = new HostMemoryBudget(1024 * Mib, TimeSpan.Zero);
        using var pool = new InstancePool<Vm>(Options(keepAliveMinutes: 60), clock);
        budget.AddReclaimer(pool.EvictLeastRecentlyUsed);
        var vms = new List<Vm>();
        foreach (var function in new[] { "a", "b", "c" })
        {
            var turn = await pool.AcquireAsync(function, 4, Any, Cancel);
            var vm = new Vm(function, budget.Reserve(256 * Mib, function, Cancel));
            vms.Add(vm);
            clock.Advance(TimeSpan.FromSeconds(1));
            pool.Release(turn, keep: vm);
        }
        // b used again: a is now the least recently used.
        var again = await pool.AcquireAsync("b", 4, Any, Cancel);
        clock.Advance(TimeSpan.FromSeconds(1));
        pool.Release(again, keep: again.Instance);
        Assert.Equal(768 * Mib, budget.Reserved);

        using (budget.Reserve(512 * Mib, "a new VM", Cancel))
        {
            Assert.True(vms[0].Disposed, "a, idle longest, gives way first");
            Assert.False(vms[1].Disposed);
            Assert.False(vms[2].Disposed, "c was idle less long than a");
            Assert.Equal(new InstanceCounts(0, 0, 0), pool.CountsOf("a"));
            using (budget.Reserve(256 * Mib, "another VM", Cancel))
            {
                Assert.True(vms[2].Disposed, "c next");
                Assert.False(vms[1].Disposed, "b, used last, stays while the others give enough room");
            }
        }
    }

    [Fact]
    public void The_serving_options_refuse_values_no_pool_can_work_with()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServingOptions { DefaultMaxInstances = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServingOptions { DefaultMaxInstances = FunctionSettings.MaxInstancesCeiling + 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServingOptions { MaxQueueLength = -1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServingOptions { KeepAlive = TimeSpan.Zero }.Validate());
        new ServingOptions { KeepAlive = Timeout.InfiniteTimeSpan, MaxQueueWait = TimeSpan.Zero }.Validate();
    }
}
