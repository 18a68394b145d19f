namespace Snapfn.Snapshots;

/// <summary>
/// Which files or folders (by path) something in this process is using, so that replacing them never deletes one
/// under its user: a user takes a lease when it resolves the path and drops it when it is done; <see cref="Retire"/>
/// deletes a path at once when no lease holds it, or else when its last lease is released. The platform leases the
/// version of a function's code an invocation runs on (a redeploy retires the old one); snapshots lease the memory
/// file an invocation restores from (a new snapshot retires the old one, <see cref="Snapshot.OpenLeased"/>).
/// Leases live in this process only: after a restart none holds anything, so whatever a crash left retired but
/// undeleted is removed by the next prune of its owner (a daemon's start, the function's next snapshot).
/// </summary>
public sealed class FileLeases
{
    // One lock for counts, retirements and the deletions they trigger: a deletion and a lease on the same path
    // can then never interleave (the paths deleted here are small to delete: one file, or a folder of sources).
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly HashSet<string> _retired = new(StringComparer.Ordinal);
    private readonly Action<string> _delete;

    /// <param name="delete">Deletes a path's file or folder (called with no lease on it).</param>
    public FileLeases(Action<string> delete)
    {
        ArgumentNullException.ThrowIfNull(delete);
        _delete = delete;
    }

    /// <summary>A lease on <paramref name="path"/>, or null when it is not there (a retirement came first: resolve
    /// again).</summary>
    public FileLease? TryAcquire(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_lock)
        {
            if (!File.Exists(path) && !Directory.Exists(path))
                return null;
            _held[path] = _held.GetValueOrDefault(path) + 1;
            return new FileLease(this, path);
        }
    }

    /// <summary>A lease on <paramref name="path"/> whether or not it exists (a path that is missing for another
    /// reason than a retirement: its user then fails saying so).</summary>
    public FileLease Acquire(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_lock)
        {
            _held[path] = _held.GetValueOrDefault(path) + 1;
            return new FileLease(this, path);
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

    /// <summary><paramref name="path"/> is wanted again (a redeploy of the same code, which is stored at the same
    /// path): a deletion deferred until its leases end no longer applies. Call before storing it.</summary>
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

    /// <summary>Whether <paramref name="path"/> was retired while leased and waits for its last lease.</summary>
    public bool IsDeferred(string path)
    {
        lock (_lock)
            return _retired.Contains(path);
    }

    /// <summary>Paths retired while leased, waiting for their last lease.</summary>
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
                // The user that released it succeeded; the path is left for its owner's next prune.
            }
        }
    }
}

/// <summary>A hold on one file or folder of <see cref="FileLeases"/>; disposing it releases the hold (once).</summary>
public sealed class FileLease : IDisposable
{
    private readonly FileLeases _owner;
    private int _released;

    internal FileLease(FileLeases owner, string path)
    {
        _owner = owner;
        Path = path;
    }

    /// <summary>The file or folder held.</summary>
    public string Path { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
            _owner.Release(Path);
    }
}
