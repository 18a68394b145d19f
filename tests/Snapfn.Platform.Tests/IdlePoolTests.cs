namespace Snapfn.Platform.Tests;

/// <summary>
/// The shell pool's policy (finding 3 of issue 18: it kept one idle KVM VM and vCPU thread per distinct memory size,
/// forever), on stand-in items: never more than its bound, the one idle longest stopped first, none kept past the
/// idle timeout, and every item that leaves other than by being taken is disposed.
/// </summary>
public sealed class IdlePoolTests
{
    private sealed class Item(string name) : IDisposable
    {
        public string Name { get; } = name;

        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    /// <summary>A clock the test moves; its timers never fire (the test sweeps by hand).</summary>
    private sealed class TestClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NoTimer();

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose() { }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    [Fact]
    public void A_full_pool_stops_the_item_idle_longest_and_never_holds_more_than_its_bound()
    {
        using var pool = new IdlePool<ulong, Item>(capacity: 2, TimeSpan.FromMinutes(5), new TestClock());
        var items = Enumerable.Range(0, 5).Select(i => new Item($"size {i}")).ToList();
        for (var i = 0; i < items.Count; i++)
        {
            pool.Add((ulong)i, items[i]);
            Assert.True(pool.Count <= 2);
        }
        Assert.Equal(2, pool.Count);
        Assert.Equal(3, pool.Evicted);
        Assert.All(items[..3], item => Assert.True(item.Disposed, item.Name));
        Assert.All(items[3..], item => Assert.False(item.Disposed, item.Name));
        Assert.False(pool.TryTake(0, out _));
        Assert.True(pool.TryTake(4, out var taken));
        Assert.Same(items[4], taken);
        Assert.Equal(1, pool.Count);
    }

    [Fact]
    public void Items_idle_past_the_timeout_are_stopped_and_recent_ones_kept()
    {
        var clock = new TestClock();
        using var pool = new IdlePool<ulong, Item>(capacity: 4, TimeSpan.FromMinutes(5), clock);
        var old = new Item("old");
        var recent = new Item("recent");
        pool.Add(1, old);
        clock.Advance(TimeSpan.FromMinutes(3));
        pool.Add(2, recent);
        Assert.Equal(0, pool.EvictIdle());
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, pool.EvictIdle());
        Assert.True(old.Disposed);
        Assert.False(recent.Disposed);
        Assert.Equal(1, pool.CountOf(2));
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(1, pool.EvictIdle());
        Assert.True(recent.Disposed);
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void Evict_oldest_gives_way_one_item_at_a_time_and_dispose_stops_the_rest()
    {
        var pool = new IdlePool<ulong, Item>(capacity: 4, TimeSpan.FromMinutes(5), new TestClock());
        Item[] items = [new("a"), new("b"), new("c")];
        foreach (var item in items)
            pool.Add(7, item);
        Assert.True(pool.EvictOldest());
        Assert.True(items[0].Disposed);
        Assert.False(items[1].Disposed);
        pool.Dispose();
        Assert.All(items, item => Assert.True(item.Disposed, item.Name));
        Assert.False(pool.EvictOldest());
        var late = new Item("late");
        pool.Add(7, late);
        Assert.True(late.Disposed);
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void A_pool_of_capacity_zero_keeps_nothing()
    {
        using var pool = new IdlePool<ulong, Item>(capacity: 0, TimeSpan.FromMinutes(5), new TestClock());
        var item = new Item("x");
        pool.Add(1, item);
        Assert.True(item.Disposed);
        Assert.Equal(0, pool.Count);
    }
}
