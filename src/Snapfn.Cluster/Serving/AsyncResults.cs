using System.Text;
using NATS.Client.KeyValueStore;

namespace Snapfn.Cluster.Serving;

/// <summary>Where an asynchronous invocation stands, as <c>GET /invocations/{id}</c> answers it.</summary>
public enum AsyncState
{
    /// <summary>No front door accepted this id (or its result has outlived the results' TTL).</summary>
    Unknown,

    /// <summary>Accepted, not answered yet.</summary>
    Pending,

    /// <summary>Answered: a result or an error.</summary>
    Done,
}

/// <summary>
/// The results bucket: invocation id → answer. A front door writes a pending marker when it accepts an id; the worker
/// that answers replaces it only if it is still the marker the worker read (compare-and-set on its revision), or
/// creates the entry if there was none — so a duplicate run after a redelivery never overwrites the first answer. The
/// bucket's TTL bounds how long entries live, its max value size how large one may be. A worker that takes a delivery
/// first writes its id into the marker (<see cref="TakeAsync"/>: "running on W"), so that the worker of a later
/// delivery knows which workers took it before and vanished, and its answer names them (<c>Snapfn-Retried-From</c>).
/// </summary>
public sealed class AsyncResults
{
    // No encoded answer starts with these bytes: an answer starts with its header's length, whose first byte is 0.
    private static readonly byte[] _pending = "snapfn-pending"u8.ToArray();
    private readonly INatsKVStore _store;
    private readonly LeaderReads _leader;
    private readonly int _maxErrorBytes;

    /// <param name="leader">Reads the entries from the bucket's leader: a front door that did not accept an id must
    /// not answer 404 for it because its replica has not yet applied the marker another front door wrote.</param>
    public AsyncResults(INatsKVStore store, LeaderReads leader, int maxErrorBytes)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _leader = leader ?? throw new ArgumentNullException(nameof(leader));
        _maxErrorBytes = maxErrorBytes;
    }

    /// <summary>The entry of <paramref name="id"/> as the bucket's leader has it, or null.</summary>
    private Task<LeaderValue?> EntryAsync(string id, CancellationToken cancel) =>
        _leader.GetKeyAsync(_store.Bucket, id, cancel);

    /// <summary>Marks <paramref name="id"/> accepted; false when the id is known already (a client's replay).</summary>
    public async Task<bool> MarkPendingAsync(string id, CancellationToken cancel)
    {
        try
        {
            await _store.CreateAsync(id, _pending, cancellationToken: cancel).ConfigureAwait(false);
            return true;
        }
        catch (NatsKVCreateException)
        {
            return false;
        }
    }

    /// <summary>Removes the marker of an id whose request could not be queued.</summary>
    public async Task ForgetAsync(string id, CancellationToken cancel)
    {
        try
        {
            await _store.PurgeAsync(id, cancellationToken: cancel).ConfigureAwait(false);
        }
        catch (NatsKVException)
        {
        }
    }

    /// <summary>The state of <paramref name="id"/>, its answer when done, and the entry's revision (0 when there is none).</summary>
    public async Task<(AsyncState State, WorkerAnswer? Answer, ulong Revision)> ReadAsync(string id, CancellationToken cancel)
    {
        if (await EntryAsync(id, cancel).ConfigureAwait(false) is not { } entry)
            return (AsyncState.Unknown, null, 0);
        var value = entry.Value;
        if (value.Length == 0 || value.AsSpan().StartsWith(_pending))
            return (AsyncState.Pending, null, entry.Revision);
        return (AsyncState.Done, WorkerAnswer.Decode(value, _maxErrorBytes), entry.Revision);
    }

    /// <summary>A worker takes a delivery of <paramref name="id"/>: unless it is answered already, writes
    /// <paramref name="worker"/> into its marker (compare-and-set, again on a race) and returns the workers that took
    /// it before, with the marker's new revision to store the answer against.</summary>
    public async Task<(AsyncState State, IReadOnlyList<string> TookBefore, ulong Revision)> TakeAsync(string id, string worker, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(worker);
        while (true)
        {
            var entry = await EntryAsync(id, cancel).ConfigureAwait(false);
            var value = entry?.Value ?? _pending;
            if (!value.AsSpan().StartsWith(_pending))
                return (AsyncState.Done, [], entry!.Revision);
            var before = value.Length > _pending.Length + 1 ? WorkerAnswer.WorkerIds(Encoding.ASCII.GetString(value, _pending.Length + 1, value.Length - _pending.Length - 1)) : [];
            var marker = Marker([.. before, worker]);
            try
            {
                var revision = entry is { Revision: > 0 } read
                    ? await _store.UpdateAsync(id, marker, read.Revision, cancellationToken: cancel).ConfigureAwait(false)
                    : await _store.CreateAsync(id, marker, cancellationToken: cancel).ConfigureAwait(false);
                return (AsyncState.Pending, before, revision);
            }
            catch (Exception e) when (e is NatsKVWrongLastRevisionException or NatsKVCreateException)
            {
                // Another delivery (or its answer) wrote first: read it again.
            }
        }
    }

    /// <summary>The pending marker naming the workers that took the invocation, the first <see cref="WorkerAnswer.MaxRetriedFrom"/>.</summary>
    private static byte[] Marker(IEnumerable<string> workers)
    {
        var list = string.Join(',', workers.Distinct(StringComparer.Ordinal).Take(WorkerAnswer.MaxRetriedFrom));
        return [.. _pending, (byte)':', .. Encoding.ASCII.GetBytes(list)];
    }

    /// <summary>Stores the answer unless another run stored one first; true when this one was stored.</summary>
    /// <param name="pendingRevision">The marker's revision as read before the run, 0 when there was none.</param>
    public async Task<bool> StoreAsync(string id, byte[] answer, ulong pendingRevision, CancellationToken cancel)
    {
        try
        {
            if (pendingRevision == 0)
                await _store.CreateAsync(id, answer, cancellationToken: cancel).ConfigureAwait(false);
            else
                await _store.UpdateAsync(id, answer, pendingRevision, cancellationToken: cancel).ConfigureAwait(false);
            return true;
        }
        catch (NatsKVCreateException)
        {
            return false;
        }
        catch (NatsKVWrongLastRevisionException)
        {
            return false;
        }
    }
}
