using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using Snapfn.Platform;

namespace Snapfn.Cluster.Serving;

/// <summary>What one worker holds of one function, as its placement entry says.</summary>
/// <param name="Idle">Idle VMs of the function kept on the worker (served at warm speed).</param>
/// <param name="Cached">The function's snapshot is wholly in the worker's page cache (a cached restore).</param>
public sealed record PlacementHolding(string Worker, int Idle, bool Cached)
{
    /// <summary>What a front door prefers: an idle VM, then a cached snapshot.</summary>
    public int Score => Idle > 0 ? 2 : Cached ? 1 : 0;
}

/// <summary>
/// A worker's side of placement: for every function it holds warm (an idle VM in its instance pool, or its snapshot in
/// the page cache), an entry <c>FUNCTION.WORKER</c> in the placement bucket, written again every placement interval and
/// after the worker served the function (at most twice an interval), deleted when it no longer holds it. The bucket's
/// max age is three intervals, so that the entries of a worker that died vanish by themselves.
/// </summary>
public sealed class PlacementPublisher : IAsyncDisposable
{
    private readonly INatsKVStore _store;
    private readonly FunctionService _service;
    private readonly string _worker;
    private readonly ClusterServingOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (PlacementHolding Holding, DateTimeOffset At)> _published = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public PlacementPublisher(INatsKVStore store, FunctionService service, string worker, ClusterServingOptions options, ILogger? log = null, TimeProvider? time = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _service = service ?? throw new ArgumentNullException(nameof(service));
        _worker = worker ?? throw new ArgumentNullException(nameof(worker));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _time = time ?? TimeProvider.System;
    }

    public static string KeyOf(string function, string worker) => $"{function}.{worker}";

    public void Start() => _loop = Task.Run(LoopAsync, CancellationToken.None);

    /// <summary>The worker served <paramref name="function"/>: it probably holds it now; say so unless said lately.</summary>
    public void Touched(string function)
    {
        if (_published.TryGetValue(function, out var last) && _time.GetUtcNow() - last.At < _options.PlacementInterval / 2)
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                await PublishAsync(function, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or ObjectDisposedException)
            {
                // The next round writes it.
            }
        }, CancellationToken.None);
    }

    /// <summary>Writes (or deletes) the entry of every function this worker has, and deletes those of functions it
    /// no longer has (deleted here, or dropped after a delete elsewhere).</summary>
    public async Task RefreshAsync(CancellationToken cancel)
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var function in _service.List())
        {
            held.Add(function.Name);
            await PublishAsync(function.Name, cancel).ConfigureAwait(false);
        }
        foreach (var gone in _published.Keys.Where(f => !held.Contains(f)).ToList())
            await ForgetAsync(gone, cancel).ConfigureAwait(false);
    }

    /// <summary>This worker no longer has <paramref name="function"/> (it was deleted): its entry goes now, so that no
    /// front door prefers this worker for it.</summary>
    public async Task ForgetAsync(string function, CancellationToken cancel)
    {
        await _writing.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            if (_published.TryRemove(function, out _))
                await _store.DeleteAsync(KeyOf(function, _worker), cancellationToken: cancel).ConfigureAwait(false);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary><see cref="ForgetAsync"/> in the background (from the records' watch, which must not wait on NATS).</summary>
    public void Forget(string function) =>
        _ = Task.Run(async () =>
        {
            try
            {
                await ForgetAsync(function, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException or ObjectDisposedException)
            {
                // The next round deletes it (the function is no longer listed), or its max age does.
            }
        }, CancellationToken.None);

    /// <summary>What this worker holds of <paramref name="function"/> now, or null when nothing.</summary>
    public PlacementHolding? Holding(string function)
    {
        var idle = _service.Server.Instances.CountsOf(function).Idle;
        var cached = _service.Server.IsSnapshotCached(function);
        return idle > 0 || cached ? new PlacementHolding(_worker, idle, cached) : null;
    }

    private async Task PublishAsync(string function, CancellationToken cancel)
    {
        await _writing.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            var key = KeyOf(function, _worker);
            if (Holding(function) is { } holding)
            {
                await _store.PutAsync(key, JsonSerializer.SerializeToUtf8Bytes(holding), cancellationToken: cancel).ConfigureAwait(false);
                _published[function] = (holding, _time.GetUtcNow());
            }
            else if (_published.TryRemove(function, out _))
            {
                await _store.DeleteAsync(key, cancellationToken: cancel).ConfigureAwait(false);
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_options.PlacementInterval, _time);
        do
        {
            try
            {
                await RefreshAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or IOException)
            {
                ClusterLog.PlacementTrouble(_log, e.Message);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        while (await WaitAsync(timer).ConfigureAwait(false));
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Stops writing, and deletes this worker's entries (a worker that leaves politely is not preferred).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        foreach (var function in _published.Keys)
        {
            try
            {
                await _store.DeleteAsync(KeyOf(function, _worker)).AsTask().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException or ObjectDisposedException or OperationCanceledException)
            {
                // Its max age removes it.
            }
        }
        _stop.Dispose();
        _writing.Dispose();
    }
}
