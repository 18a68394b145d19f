namespace Snapfn.Snapshots.Backends;

/// <summary>
/// What concurrent restores of one recording share, as the originals' daemons do (FaaSnap: one loader per
/// snapshot; vHive's REAP: one read of the working set). The first restore to join makes the resource, later ones
/// join while it is held, the last to leave disposes it; a restore after that makes a new one.
/// </summary>
public sealed class RestoreShare<T> where T : class, IDisposable
{
    private readonly Lock _lock = new();
    // Keyed by the file's version, not just its path: a recording renamed over the path (a new recording) is another
    // file, and restores of it must not join a loader or a read of the old one.
    private readonly Dictionary<(string Path, FileVersion Version), (T Value, int Holders)> _held = [];

    /// <summary>Holds the resource of the recording at <paramref name="path"/> in its version <paramref name="version"/>,
    /// made by <paramref name="make"/> if no restore holds it now. <paramref name="make"/> runs under this share's
    /// lock: it should start work, not wait for it.</summary>
    public RestoreLease<T> Join(string path, FileVersion version, Func<T> make)
    {
        ArgumentNullException.ThrowIfNull(make);
        var key = (path, version);
        lock (_lock)
        {
            var joined = _held.TryGetValue(key, out var entry);
            var value = joined ? entry.Value : make();
            _held[key] = (value, joined ? entry.Holders + 1 : 1);
            return new RestoreLease<T>(value, joined, () => Leave(key));
        }
    }

    private void Leave((string Path, FileVersion Version) key)
    {
        T? last = null;
        lock (_lock)
        {
            var (value, holders) = _held[key];
            if (holders == 1)
            {
                _held.Remove(key);
                last = value;
            }
            else
            {
                _held[key] = (value, holders - 1);
            }
        }
        // Outside the lock: disposing may wait (a loader's current chunk).
        last?.Dispose();
    }
}

/// <summary>One restore's hold on a shared resource (or on one of its own, <see cref="Own"/>).</summary>
public sealed class RestoreLease<T> where T : class, IDisposable
{
    private Action? _release;

    internal RestoreLease(T value, bool joined, Action release)
    {
        Value = value;
        Joined = joined;
        _release = release;
    }

    public T Value { get; }

    /// <summary>True when another restore had made it: this one found it already there.</summary>
    public bool Joined { get; }

    /// <summary>Lets go of the resource; the last holder disposes it. Idempotent.</summary>
    public void Release() => Interlocked.Exchange(ref _release, null)?.Invoke();
}

/// <summary>Leases that are not shared.</summary>
public static class RestoreLease
{
    /// <summary>A lease on a resource no other restore shares: releasing disposes it.</summary>
    public static RestoreLease<T> Own<T>(T value) where T : class, IDisposable
    {
        ArgumentNullException.ThrowIfNull(value);
        return new RestoreLease<T>(value, joined: false, value.Dispose);
    }
}
