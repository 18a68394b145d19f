using System.Globalization;

namespace Snapfn.Platform;

/// <summary>Why an idle instance was stopped (the metrics' <c>reason</c> label).</summary>
public enum EvictionReason
{
    /// <summary>Idle for the keep-alive time: scale to zero.</summary>
    KeepAlive,

    /// <summary>A VM that needed the host's memory budget made it give way (least recently used first).</summary>
    Memory,

    /// <summary>Its function changed (redeploy, new snapshot) or was deleted.</summary>
    Changed,

    /// <summary>Room for a new VM of the same function at its max_instances.</summary>
    Replaced,
}

/// <summary>A function's instances now: VMs running a request, idle VMs kept, requests waiting in its queue.</summary>
public readonly record struct InstanceCounts(int Busy, int Idle, int Queued);

/// <summary>
/// Per function, the instances (VMs) serving it, under three bounds: at most <c>max_instances</c> at once (busy and
/// idle together: a new VM at the bound makes the function's least recently used idle one give way), beyond that
/// a FIFO queue of at most <see cref="ServingOptions.MaxQueueLength"/> requests each waiting at most
/// <see cref="ServingOptions.MaxQueueWait"/>, then <see cref="FunctionThrottledException"/> (429 with Retry-After).
/// Idle instances are kept for <see cref="ServingOptions.KeepAlive"/> after their last request, then stopped (scale
/// to zero; a timer of the <see cref="TimeProvider"/> sweeps, or <see cref="EvictExpired"/>); the host's memory
/// budget stops the least recently used idle instance of any function first (<see cref="EvictLeastRecentlyUsed"/>).
/// The policy alone, over any disposable instance, so that it is tested without KVM as <see cref="IdlePool{TKey, TItem}"/> is.
/// </summary>
public sealed class InstancePool<TInstance> : IDisposable where TInstance : class, IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly ServingOptions _options;
    private readonly TimeProvider _time;
    private readonly ITimer? _sweep;
    private bool _disposed;

    public InstancePool(ServingOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time ?? TimeProvider.System;
        if (options.KeepAlive != Timeout.InfiniteTimeSpan)
        {
            // Sweeping at half the keep-alive: nothing stays idle longer than 1.5 times it.
            var period = options.KeepAlive / 2;
            _sweep = _time.CreateTimer(_ => EvictExpired(), null, period, period);
        }
    }

    /// <summary>Called after an idle instance was stopped, with its function and why (the daemon's metrics).</summary>
    public event Action<string, EvictionReason>? Evicted;

    /// <summary>
    /// A turn to run one request of <paramref name="function"/>: at once while it has fewer than
    /// <paramref name="maxInstances"/> busy instances, else after the requests queued before it, within the
    /// queue's bounds. The turn carries the idle instance it may run on (the most recently used one that
    /// <paramref name="usable"/> accepts), or none: then the caller makes a VM, for which room is made.
    /// </summary>
    public async ValueTask<InstanceTurn<TInstance>> AcquireAsync(string function, int maxInstances, Func<TInstance, bool> usable,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(usable);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInstances, 1);
        var start = _time.GetTimestamp();
        Waiter waiter;
        List<TInstance> stopped;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var group = GroupOf(function);
            if (group.Busy < maxInstances && group.Waiting.Count == 0)
            {
                stopped = [];
                var turn = Grant(function, group, maxInstances, usable, start, stopped);
                StopAll(function, stopped, EvictionReason.Replaced);
                return turn;
            }
            if (group.Waiting.Count >= _options.MaxQueueLength)
            {
                throw new FunctionThrottledException("max-instances",
                    $"'{function}' runs its {maxInstances} instances and {group.Waiting.Count} requests wait for one already",
                    $"max_instances in its snapfn.json raises it (up to {FunctionSettings.MaxInstancesCeiling}), `snapfn serve --max-queue N` the queue",
                    _options.RetryAfter);
            }
            waiter = new Waiter(maxInstances, usable, start);
            group.Waiting.AddLast(waiter.Node);
        }
        try
        {
            return await waiter.Turn.Task.WaitAsync(_options.MaxQueueWait, _time, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            lock (_lock)
            {
                // Still queued: leave the queue.
                if (waiter.Node.List is { } queue)
                    queue.Remove(waiter.Node);
            }
            // A release may have granted the turn meanwhile: whoever of the two completes the task first decides. If
            // the release did, the turn is handed back here; if this did, the release hands it back itself.
            if (!waiter.Turn.TrySetCanceled(CancellationToken.None) && waiter.Turn.Task.IsCompletedSuccessfully)
                Release(waiter.Turn.Task.Result, keep: null);
            if (e is OperationCanceledException)
                throw;
            throw new FunctionThrottledException("queue-wait",
                $"'{function}' runs its {maxInstances} instances and none became free within {_options.MaxQueueWait.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s",
                "max_instances in its snapfn.json raises it, `snapfn serve --queue-wait-seconds S` the wait", _options.RetryAfter);
        }
    }

    /// <summary>Ends a turn: <paramref name="keep"/> (the VM the request ran on, for a function that keeps state)
    /// stays idle for the next request, or null when nothing is kept; the next queued request gets the turn.</summary>
    public void Release(InstanceTurn<TInstance> turn, TInstance? keep)
    {
        ArgumentNullException.ThrowIfNull(turn);
        if (!turn.TryEnd())
            throw new InvalidOperationException("an instance turn was released twice");
        var function = turn.Function;
        var stopped = new List<TInstance>();
        (Waiter Waiter, InstanceTurn<TInstance> Turn)? next = null;
        lock (_lock)
        {
            var group = GroupOf(function);
            group.Busy--;
            if (keep is not null)
            {
                if (_disposed || turn.Generation != group.Generation)
                    stopped.Add(keep);
                else
                    group.Idle.AddFirst(new Idle(keep, _time.GetUtcNow()));
            }
            if (group.Waiting.First is { } first)
            {
                group.Waiting.RemoveFirst();
                var waiter = first.Value;
                next = (waiter, Grant(function, group, waiter.MaxInstances, waiter.Usable, waiter.Start, stopped));
            }
            else if (group.Busy == 0 && group.Idle.Count == 0)
            {
                _groups.Remove(function);
            }
        }
        StopAll(function, stopped, keep is not null && stopped.Contains(keep) ? EvictionReason.Changed : EvictionReason.Replaced);
        if (next is { } handed && !handed.Waiter.Turn.TrySetResult(handed.Turn))
            Release(handed.Turn, keep: null);
    }

    /// <summary>Stops the instances idle for the keep-alive time or longer; returns how many.</summary>
    public int EvictExpired()
    {
        if (_options.KeepAlive == Timeout.InfiniteTimeSpan)
            return 0;
        var now = _time.GetUtcNow();
        var stale = new List<(string Function, TInstance Instance)>();
        lock (_lock)
        {
            foreach (var (function, group) in _groups)
            {
                while (group.Idle.Last is { } last && now - last.Value.Since >= _options.KeepAlive)
                {
                    stale.Add((function, last.Value.Instance));
                    group.Idle.RemoveLast();
                }
            }
            RemoveEmptyGroups();
        }
        foreach (var (function, instance) in stale)
            Stop(function, instance, EvictionReason.KeepAlive);
        return stale.Count;
    }

    /// <summary>Stops the idle instance, of any function, whose last request ended longest ago (the host's memory
    /// budget needs room); false when none is idle.</summary>
    public bool EvictLeastRecentlyUsed()
    {
        (string Function, TInstance Instance)? oldest = null;
        lock (_lock)
        {
            Group? from = null;
            DateTimeOffset since = DateTimeOffset.MaxValue;
            foreach (var (function, group) in _groups)
            {
                if (group.Idle.Last is { } last && last.Value.Since < since)
                {
                    since = last.Value.Since;
                    from = group;
                    oldest = (function, last.Value.Instance);
                }
            }
            from?.Idle.RemoveLast();
            RemoveEmptyGroups();
        }
        if (oldest is not { } victim)
            return false;
        Stop(victim.Function, victim.Instance, EvictionReason.Memory);
        return true;
    }

    /// <summary>Stops every idle instance of <paramref name="function"/> and makes the busy ones not kept when they
    /// end (its code or snapshot changed, or it was deleted); returns how many were stopped.</summary>
    public int Evict(string function)
    {
        ArgumentNullException.ThrowIfNull(function);
        List<TInstance> idle;
        lock (_lock)
        {
            if (!_groups.TryGetValue(function, out var group))
                return 0;
            group.Generation++;
            idle = [.. group.Idle.Select(i => i.Instance)];
            group.Idle.Clear();
            RemoveEmptyGroups();
        }
        StopAll(function, idle, EvictionReason.Changed);
        return idle.Count;
    }

    public InstanceCounts CountsOf(string function)
    {
        lock (_lock)
            return _groups.TryGetValue(function, out var g) ? new InstanceCounts(g.Busy, g.Idle.Count, g.Waiting.Count) : default;
    }

    /// <summary>Every function with instances or waiting requests, and its counts.</summary>
    public IReadOnlyDictionary<string, InstanceCounts> Counts()
    {
        lock (_lock)
            return _groups.ToDictionary(g => g.Key, g => new InstanceCounts(g.Value.Busy, g.Value.Idle.Count, g.Value.Waiting.Count), StringComparer.Ordinal);
    }

    /// <summary>Stops every idle instance; instances released afterwards are stopped at once. Queued requests fail
    /// as cancelled.</summary>
    public void Dispose()
    {
        List<(string, TInstance)> idle;
        List<Waiter> waiting;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            idle = [.. _groups.SelectMany(g => g.Value.Idle.Select(i => (g.Key, i.Instance)))];
            waiting = [.. _groups.Values.SelectMany(g => g.Waiting)];
            foreach (var group in _groups.Values)
            {
                group.Idle.Clear();
                group.Waiting.Clear();
            }
        }
        _sweep?.Dispose();
        foreach (var waiter in waiting)
            waiter.Turn.TrySetCanceled(CancellationToken.None);
        foreach (var (_, instance) in idle)
            instance.Dispose();
    }

    /// <summary>Takes a busy slot for a request (under the lock): with the most recently used usable idle instance,
    /// or with room made for a new VM by stopping the least recently used idle one when the function is at its bound.</summary>
    private InstanceTurn<TInstance> Grant(string function, Group group, int maxInstances, Func<TInstance, bool> usable, long start,
        List<TInstance> stopped)
    {
        group.Busy++;
        TInstance? instance = null;
        for (var node = group.Idle.First; node is not null; node = node.Next)
        {
            if (usable(node.Value.Instance))
            {
                instance = node.Value.Instance;
                group.Idle.Remove(node);
                break;
            }
        }
        if (instance is null)
        {
            while (group.Busy + group.Idle.Count > maxInstances && group.Idle.Last is { } last)
            {
                stopped.Add(last.Value.Instance);
                group.Idle.RemoveLast();
            }
        }
        return new InstanceTurn<TInstance>(function, instance, _time.GetElapsedTime(start), group.Generation);
    }

    private Group GroupOf(string function)
    {
        if (!_groups.TryGetValue(function, out var group))
            _groups[function] = group = new Group();
        return group;
    }

    private void RemoveEmptyGroups()
    {
        foreach (var (function, group) in _groups.Where(g => g.Value.Busy == 0 && g.Value.Idle.Count == 0 && g.Value.Waiting.Count == 0).ToList())
        {
            // A group's generation must outlive a change while none of its instances is idle: keep groups with busy ones.
            _groups.Remove(function);
        }
    }

    private void StopAll(string function, List<TInstance> instances, EvictionReason reason)
    {
        foreach (var instance in instances)
            Stop(function, instance, reason);
    }

    private void Stop(string function, TInstance instance, EvictionReason reason)
    {
        instance.Dispose();
        Evicted?.Invoke(function, reason);
    }

    private sealed class Group
    {
        public int Busy;
        public int Generation;
        // Most recently used first: the last is the one idle longest.
        public readonly LinkedList<Idle> Idle = new();
        public readonly LinkedList<Waiter> Waiting = new();
    }

    private readonly record struct Idle(TInstance Instance, DateTimeOffset Since);

    private sealed class Waiter
    {
        public Waiter(int maxInstances, Func<TInstance, bool> usable, long start)
        {
            MaxInstances = maxInstances;
            Usable = usable;
            Start = start;
            Node = new LinkedListNode<Waiter>(this);
        }

        public int MaxInstances { get; }
        public Func<TInstance, bool> Usable { get; }
        public long Start { get; }
        public LinkedListNode<Waiter> Node { get; }
        public TaskCompletionSource<InstanceTurn<TInstance>> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One request's turn on a function's instances: the idle instance it runs on (null: it makes a VM), and
/// how long it waited in the queue. Released once, with <see cref="InstancePool{TInstance}.Release"/>.</summary>
public sealed class InstanceTurn<TInstance> where TInstance : class, IDisposable
{
    private int _ended;

    internal InstanceTurn(string function, TInstance? instance, TimeSpan queueWait, int generation)
    {
        Function = function;
        Instance = instance;
        QueueWait = queueWait;
        Generation = generation;
    }

    public string Function { get; }

    /// <summary>The idle instance this turn took, or null.</summary>
    public TInstance? Instance { get; }

    public TimeSpan QueueWait { get; }

    /// <summary>The function's generation when the turn was granted: an instance released after a change is not kept.</summary>
    internal int Generation { get; }

    internal bool TryEnd() => Interlocked.Exchange(ref _ended, 1) == 0;
}
