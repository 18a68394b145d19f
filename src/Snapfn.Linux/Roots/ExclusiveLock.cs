namespace Snapfn.Linux.Roots;

/// <summary>
/// An exclusive lock on a file, between processes and within one: .NET takes flock(LOCK_EX | LOCK_NB) for
/// FileShare.None, and the kernel drops it when the process dies, so a crashed build never leaves it held.
/// </summary>
internal sealed class ExclusiveLock : IDisposable
{
    // On Linux .NET puts flock's errno in HResult: EWOULDBLOCK is "held by someone else", anything else is real.
    private const int EWOULDBLOCK = 11;
    private static readonly TimeSpan _poll = TimeSpan.FromMilliseconds(100);

    private readonly FileStream _file;

    private ExclusiveLock(FileStream file) => _file = file;

    /// <summary>Waits for the lock; <paramref name="waiting"/> is called once if another holder makes it wait.</summary>
    public static ExclusiveLock Acquire(string path, Action? waiting, CancellationToken cancellationToken)
    {
        var waited = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return new ExclusiveLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (e.HResult == EWOULDBLOCK)
            {
                if (!waited)
                    waiting?.Invoke();
                waited = true;
                cancellationToken.WaitHandle.WaitOne(_poll);
            }
        }
    }

    /// <summary>The lock file itself stays: deleting it would let a waiter lock a file nobody else opens.</summary>
    public void Dispose() => _file.Dispose();
}
