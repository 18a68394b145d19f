namespace Snapfn.Platform;

/// <summary>
/// Idle things kept for reuse, by key, under two bounds: at most <see cref="Capacity"/> at once (adding to a full
/// pool stops the one idle longest: least recently used), and none idle longer than <see cref="IdleTimeout"/> (a
/// timer sweeps them). Whatever leaves the pool other than by <see cref="TryTake"/> is disposed. The policy of
/// <see cref="ShellPool"/>, kept apart from KVM so that it is tested without it.
/// </summary>
public sealed class IdlePool<TKey, TItem> : IDisposable
    where TKey : notnull
    where TItem : IDisposable
{
    private readonly Lock _lock = new();
    // Newest first: the last node is the one idle longest.
    private readonly LinkedList<(TKey Key, TItem Item, DateTimeOffset Since)> _idle = new();
    private readonly TimeProvider _time;
    private readonly ITimer? _sweep;
    private long _evicted;
    private bool _disposed;

    public IdlePool(int capacity, TimeSpan idleTimeout, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        if (idleTimeout <= TimeSpan.Zero && idleTimeout != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(idleTimeout), idleTimeout, "the idle timeout must be above zero, or infinite");
        Capacity = capacity;
        IdleTimeout = idleTimeout;
        _time = time ?? TimeProvider.System;
        if (idleTimeout != Timeout.InfiniteTimeSpan)
        {
            // Sweeping at half the timeout: nothing stays idle longer than 1.5 times it.
            var period = idleTimeout / 2;
            _sweep = _time.CreateTimer(_ => EvictIdle(), null, period, period);
        }
    }

    public int Capacity { get; }

    public TimeSpan IdleTimeout { get; }

    /// <summary>Items idle now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _idle.Count;
        }
    }

    /// <summary>Items the pool stopped (full, idle too long, reclaimed) since it was made; not those disposed with it.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Idle items of <paramref name="key"/>.</summary>
    public int CountOf(TKey key)
    {
        lock (_lock)
            return _idle.Count(i => EqualityComparer<TKey>.Default.Equals(i.Key, key));
    }

    /// <summary>The idle item of <paramref name="key"/> that was added last, which leaves the pool.</summary>
    public bool TryTake(TKey key, out TItem item)
    {
        lock (_lock)
        {
            for (var node = _idle.First; node is not null; node = node.Next)
            {
                if (EqualityComparer<TKey>.Default.Equals(node.Value.Key, key))
                {
                    _idle.Remove(node);
                    item = node.Value.Item;
                    return true;
                }
            }
        }
        item = default!;
        return false;
    }

    /// <summary>Keeps <paramref name="item"/>; when the pool is full, the item idle longest is stopped to make room
    /// (and a pool of capacity 0, or one disposed, stops <paramref name="item"/> itself).</summary>
    public void Add(TKey key, TItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        TItem? stopped = default;
        var stop = false;
        lock (_lock)
        {
            if (_disposed || Capacity == 0)
            {
                stopped = item;
                stop = true;
            }
            else
            {
                if (_idle.Count >= Capacity)
                {
                    stopped = _idle.Last!.Value.Item;
                    _idle.RemoveLast();
                    stop = true;
                }
                _idle.AddFirst((key, item, _time.GetUtcNow()));
            }
        }
        if (stop)
            Stop(stopped!);
    }

    /// <summary>Stops the items idle for <see cref="IdleTimeout"/> or longer; returns how many.</summary>
    public int EvictIdle()
    {
        if (IdleTimeout == Timeout.InfiniteTimeSpan)
            return 0;
        var now = _time.GetUtcNow();
        var stale = new List<TItem>();
        lock (_lock)
        {
            while (_idle.Last is { } last && now - last.Value.Since >= IdleTimeout)
            {
                stale.Add(last.Value.Item);
                _idle.RemoveLast();
            }
        }
        foreach (var item in stale)
            Stop(item);
        return stale.Count;
    }

    /// <summary>Stops the item idle longest (another use needs what it holds); false when none is idle.</summary>
    public bool EvictOldest()
    {
        TItem item;
        lock (_lock)
        {
            if (_idle.Last is not { } last)
                return false;
            item = last.Value.Item;
            _idle.RemoveLast();
        }
        Stop(item);
        return true;
    }

    /// <summary>Stops every idle item; later additions are stopped at once.</summary>
    public void Dispose()
    {
        List<TItem> all;
        lock (_lock)
        {
            _disposed = true;
            all = [.. _idle.Select(i => i.Item)];
            _idle.Clear();
        }
        _sweep?.Dispose();
        foreach (var item in all)
            item.Dispose();
    }

    private void Stop(TItem item)
    {
        Interlocked.Increment(ref _evicted);
        item.Dispose();
    }
}
