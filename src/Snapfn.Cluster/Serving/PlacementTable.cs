using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using Snapfn.Platform;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// A front door's view of placement: watches the placement bucket and keeps, per function, which workers hold it warm
/// and how (<see cref="PlacementHolding"/>). An entry older than the placement TTL is ignored even before the bucket
/// drops it. <see cref="Preferred"/> picks the worker a request goes to first.
/// </summary>
public sealed class PlacementTable : IAsyncDisposable
{
    private readonly INatsKVStore _store;
    private readonly ClusterServingOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, (PlacementHolding Holding, DateTimeOffset At)>> _functions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task? _watch;

    public PlacementTable(INatsKVStore store, ClusterServingOptions options, ILogger? log = null, TimeProvider? time = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Raised after each change the watch applied (tests wait on it instead of sleeping).</summary>
    public event Action? Changed;

    public void Start() => _watch = Task.Run(WatchAsync, CancellationToken.None);

    /// <summary>The live holders of <paramref name="function"/>, best first.</summary>
    public IReadOnlyList<PlacementHolding> Holders(string function)
    {
        if (!_functions.TryGetValue(function, out var workers))
            return [];
        var now = _time.GetUtcNow();
        return workers.Values.Where(w => now - w.At < _options.PlacementTtl).Select(w => w.Holding).OrderByDescending(h => h.Score).ToList();
    }

    /// <summary>The worker to send <paramref name="function"/>'s request to first: one with an idle VM of it, else one
    /// with its snapshot cached, chosen at random among equals; null when none holds it (then the queue group
    /// chooses). <paramref name="exclude"/> is a worker not to choose (one that just went silent).</summary>
    public string? Preferred(string function, string? exclude = null)
    {
        var live = Holders(function).Where(h => h.Score > 0 && h.Worker != exclude).ToList();
        if (live.Count == 0)
            return null;
        var best = live[0].Score;
        var equals = live.Where(h => h.Score == best).ToList();
        return equals[Random.Shared.Next(equals.Count)].Worker;
    }

    private async Task WatchAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await foreach (var entry in _store.WatchAsync<byte[]>(">", cancellationToken: _stop.Token).ConfigureAwait(false))
                    Apply(entry);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or ObjectDisposedException or OperationCanceledException)
            {
                ClusterLog.PlacementTrouble(_log, $"watch of {ClusterNames.PlacementBucket} ended ({e.Message}); watching again");
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Apply(NatsKVEntry<byte[]> entry)
    {
        if (Read(entry.Key, entry.Operation == NatsKVOperation.Put ? entry.Value : null) is not var (function, worker, holding))
            return;
        var workers = _functions.GetOrAdd(function, _ => new(StringComparer.Ordinal));
        if (holding is null)
            workers.TryRemove(worker, out _);
        else
            workers[worker] = (holding, entry.Created == default ? _time.GetUtcNow() : entry.Created);
        Changed?.Invoke();
    }

    /// <summary>
    /// What a placement entry says, read as from a stranger (any node can write the bucket): its function and worker,
    /// or null when its key is not <c>FUNCTION.WORKER</c> of valid names (not an entry of ours); the holding is null
    /// when <paramref name="value"/> (null for a deletion) is not a holding of that worker, and the entry is dropped.
    /// </summary>
    internal static (string Function, string Worker, PlacementHolding? Holding)? Read(string key, byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        // FUNCTION.WORKER: neither a function name nor a worker id holds a dot.
        var dot = key.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || key.IndexOf('.', dot + 1) >= 0)
            return null;
        var function = key[..dot];
        var worker = key[(dot + 1)..];
        if (!FunctionName.IsValid(function) || !WorkerId.IsValid(worker))
            return null;
        PlacementHolding? holding = null;
        try
        {
            holding = value is { Length: > 0 and < 4096 } ? JsonSerializer.Deserialize<PlacementHolding>(value) : null;
        }
        catch (JsonException)
        {
        }
        return (function, worker, holding is null || holding.Worker != worker || holding.Idle < 0 ? null : holding);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_watch is not null)
            await _watch.ConfigureAwait(false);
        _stop.Dispose();
    }
}
