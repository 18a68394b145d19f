using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using Snapfn.Cluster.Artifacts;
using Snapfn.Cluster.Serving;
using Snapfn.Platform;

namespace Snapfn.Cluster.Metadata;

/// <summary>What a node's <see cref="FunctionRecordView"/> knows of one function: its record at a revision, or that
/// the record was deleted at that revision (<see cref="Record"/> and <see cref="Error"/> null), or that the record
/// written at that revision cannot be read (<see cref="Error"/> says why).</summary>
/// <param name="Previous">The record this entry replaced, when the view had one (a delete names what it deleted).</param>
public sealed record ViewedFunction(string Name, ulong Revision, VersionedRecord? Record, string? Error, DateTimeOffset Stored, VersionedRecord? Previous)
{
    public bool Deleted => Record is null && Error is null;
}

/// <summary>
/// A node's copy in memory of <see cref="ClusterNames.FunctionsBucket"/>, kept by a key-value watch, so that an
/// invocation learns the function's current version without a read of the bucket. Each key only moves forward: an
/// entry is applied only over an older revision, so a watch that starts again (after its connection came back, or
/// after it failed) from the last revision it applied, or a write this node made itself (<see cref="Note"/>, applied
/// at once, before the watch delivers it), never makes it serve an older version. A record that does not parse is kept
/// as its error (serving the function says it) and the watch goes on. Until the watch has delivered the bucket's
/// state as it was when it started, <see cref="TryGet"/> answers nothing and callers read the bucket instead.
/// </summary>
public sealed class FunctionRecordView : IAsyncDisposable
{
    private readonly FunctionRecords _records;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, ViewedFunction> _functions = new(StringComparer.Ordinal);
    private readonly Lock _applying = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _watch;
    private ulong _lastRevision;
    private long _watches;
    private int _disposed;

    public FunctionRecordView(FunctionRecords records, ILogger? log = null)
    {
        _records = records ?? throw new ArgumentNullException(nameof(records));
        _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>Raised after each entry the view applied, from the watch or from <see cref="Note"/> (tests wait on it;
    /// <see cref="FunctionReplicas"/> drops its local copy of a deleted function).</summary>
    public event Action<ViewedFunction>? Changed;

    /// <summary>The watch has delivered the bucket's state as it was when it first started.</summary>
    public bool Ready => _ready.Task.IsCompleted;

    /// <summary>The highest revision the watch applied (where a new watch resumes).</summary>
    public ulong LastRevision
    {
        get
        {
            lock (_applying)
                return _lastRevision;
        }
    }

    /// <summary>How many times the watch was started (1, plus one for each time it ended and was started again).</summary>
    public long Watches => Interlocked.Read(ref _watches);

    public void Start() => _watch ??= Task.Run(WatchAsync, CancellationToken.None);

    /// <summary>Completes once <see cref="Ready"/>.</summary>
    public Task WhenReadyAsync(CancellationToken ct) => _ready.Task.WaitAsync(ct);

    /// <summary>What the view knows of <paramref name="name"/>; false before it is <see cref="Ready"/> or when the
    /// watch has delivered nothing for that name.</summary>
    public bool TryGet(string name, out ViewedFunction function)
    {
        function = null!;
        return Ready && _functions.TryGetValue(name, out function!);
    }

    /// <summary>Every function the view holds a readable record of, by name.</summary>
    public IReadOnlyList<VersionedRecord> Records =>
        _functions.Values.Select(f => f.Record).OfType<VersionedRecord>().OrderBy(r => r.Record.Name, StringComparer.Ordinal).ToList();

    /// <summary>A write this node made (a record it published, or null for one it deleted, at the lowest revision the
    /// delete can have): applied now, so that this node never serves an older version than its own.</summary>
    public void Note(string name, VersionedRecord? record, ulong revision, DateTimeOffset stored) =>
        Apply(name, revision, stored, _ => (record, null), fromWatch: false);

    private async Task WatchAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _watches);
            try
            {
                var store = await _records.BucketAsync(_stop.Token).ConfigureAwait(false);
                var resume = LastRevision;
                var options = new NatsKVWatchOpts
                {
                    // From the first revision not applied yet: every key written since has its latest entry there.
                    ResumeAtRevision = resume > 0 ? resume + 1 : 0,
                    OnNoData = _ =>
                    {
                        _ready.TrySetResult();
                        return ValueTask.FromResult(false);
                    },
                };
                await foreach (var entry in store.WatchAsync<byte[]>(">", opts: options, cancellationToken: _stop.Token).ConfigureAwait(false))
                {
                    Receive(entry);
                    if (entry.Delta == 0)
                        _ready.TrySetResult();
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                ClusterLog.RecordsTrouble(_log, $"the watch of {ClusterNames.FunctionsBucket} ended ({e.Message}); watching again from revision {LastRevision + 1}");
            }
            try
            {
                // A watch that ended at once (the servers unreachable) is not started again in a tight loop.
                await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Applies one entry of the watch. Whatever a node (or anything with access to the bucket) wrote there,
    /// it is checked here: a key that is not a function's name is ignored, a record that does not parse is kept as
    /// its error.</summary>
    internal void Receive(NatsKVEntry<byte[]> entry)
    {
        if (!FunctionName.IsValid(entry.Key))
        {
            ClusterLog.RecordsTrouble(_log, $"ignored key '{Printable(entry.Key)}' of {ClusterNames.FunctionsBucket} at revision {entry.Revision}: not a function's name");
            lock (_applying)
                _lastRevision = Math.Max(_lastRevision, entry.Revision);
            return;
        }
        Apply(entry.Key, entry.Revision, entry.Created, name =>
        {
            if (entry.Operation != NatsKVOperation.Put || entry.Value is not { Length: > 0 } json)
                return (null, null);
            try
            {
                return (new VersionedRecord(FunctionRecord.Parse(json, name, _records.Limits), entry.Revision), null);
            }
            catch (Exception e) when (e is ArtifactException or LimitExceededException)
            {
                ClusterLog.RecordsTrouble(_log, $"refused the record of '{name}' at revision {entry.Revision}: {e.Message}");
                return (null, e.Message);
            }
        }, fromWatch: true);
    }

    private void Apply(string name, ulong revision, DateTimeOffset stored, Func<string, (VersionedRecord? Record, string? Error)> read, bool fromWatch)
    {
        ViewedFunction applied;
        lock (_applying)
        {
            if (fromWatch)
                _lastRevision = Math.Max(_lastRevision, revision);
            _functions.TryGetValue(name, out var now);
            if (now is not null && now.Revision >= revision)
                return;
            var (record, error) = read(name);
            applied = new ViewedFunction(name, revision, record, error, stored, now?.Record ?? now?.Previous);
            _functions[name] = applied;
        }
        try
        {
            Changed?.Invoke(applied);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A subscriber's failure (a local copy that could not be removed) must not stop the watch: every later
            // version of every function would go unseen. It is logged; the next entry is applied as usual.
            ClusterLog.RecordsTrouble(_log, $"applying revision {revision} of '{name}' failed: {e.Message}");
        }
    }

    private static string Printable(string key) =>
        new(key.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_watch is not null)
            await _watch.ConfigureAwait(false);
        _stop.Dispose();
    }
}
