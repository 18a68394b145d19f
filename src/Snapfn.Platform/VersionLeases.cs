namespace Snapfn.Platform;

/// <summary>
/// Which stored versions of code (a user function's ELF or Python folder, by path) invocations are using. An
/// invocation takes a lease on its version when it is resolved and drops it when it ends; <see cref="Retire"/>
/// deletes a version at once when no lease holds it, or else when the last lease is released. So a redeploy
/// never deletes the code under an invocation in flight: it finishes on the version it started with.
/// Leases live in this process only: after a restart none holds anything, which is why the daemon prunes every
/// version that is not current when it starts (<see cref="UserElfStore.PruneAllBut"/>).
/// </summary>
public sealed class VersionLeases
{
    // One lock for counts, retirements and the deletions they trigger: a deletion and a lease on the same path
    // can then never interleave (the versions deleted here are small: one ELF, or a folder of Python sources).
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly HashSet<string> _retired = new(StringComparer.Ordinal);
    private readonly Action<string> _delete;

    /// <param name="delete">Deletes a version's file or folder (called with no lease on it).</param>
    public VersionLeases(Action<string> delete)
    {
        ArgumentNullException.ThrowIfNull(delete);
        _delete = delete;
    }

    /// <summary>A lease on <paramref name="path"/>, or null when it is not there (a prune came first: resolve again).</summary>
    public VersionLease? TryAcquire(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_lock)
        {
            if (!File.Exists(path) && !Directory.Exists(path))
                return null;
            _held[path] = _held.GetValueOrDefault(path) + 1;
            return new VersionLease(this, path);
        }
    }

    /// <summary>A lease on <paramref name="path"/> whether or not it exists (code that is missing for another reason
    /// than a prune: the run then fails saying so).</summary>
    public VersionLease Acquire(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_lock)
        {
            _held[path] = _held.GetValueOrDefault(path) + 1;
            return new VersionLease(this, path);
        }
    }

    /// <summary>Deletes <paramref name="path"/> now when no lease holds it, else when the last one is released.
    /// True when it was deleted now.</summary>
    public bool Retire(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_lock)
        {
            if (_held.ContainsKey(path))
            {
                _retired.Add(path);
                return false;
            }
            _delete(path);
            return true;
        }
    }

    /// <summary>The version at <paramref name="path"/> is wanted again (a redeploy of the same code, which is stored
    /// at the same path): a deletion deferred until its leases end no longer applies. Call before storing it.</summary>
    public void Keep(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_lock)
            _retired.Remove(path);
    }

    /// <summary>Leases held on <paramref name="path"/>.</summary>
    public int Holders(string path)
    {
        lock (_lock)
            return _held.GetValueOrDefault(path);
    }

    /// <summary>Versions retired while leased, waiting for their last lease.</summary>
    public int Deferred
    {
        get
        {
            lock (_lock)
                return _retired.Count;
        }
    }

    internal void Release(string path)
    {
        lock (_lock)
        {
            var count = _held[path] - 1;
            if (count > 0)
            {
                _held[path] = count;
                return;
            }
            _held.Remove(path);
            if (!_retired.Remove(path))
                return;
            try
            {
                _delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The invocation that released it succeeded; the version is left for the prune at the next start.
            }
        }
    }
}

/// <summary>A hold on one version of a function's code; disposing it releases the hold (once).</summary>
public sealed class VersionLease : IDisposable
{
    private readonly VersionLeases _owner;
    private int _released;

    internal VersionLease(VersionLeases owner, string path)
    {
        _owner = owner;
        Path = path;
    }

    /// <summary>The version's ELF or folder.</summary>
    public string Path { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
            _owner.Release(Path);
    }
}
