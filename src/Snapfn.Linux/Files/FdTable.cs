using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>The program's file descriptors: each refers to a shared <see cref="OpenFile"/> and has its own
/// close-on-exec flag. New descriptors take the lowest free number, as on Linux.</summary>
public sealed class FdTable : IDisposable
{
    /// <summary>RLIMIT_NOFILE as the program is told it.</summary>
    public const int Limit = 1024;

    private readonly OpenFile?[] _files = new OpenFile?[Limit];
    private readonly bool[] _closeOnExec = new bool[Limit];

    public OpenFile? Get(ulong fd) => fd < Limit ? _files[fd] : null;

    public OpenFile? Get(int fd) => fd is >= 0 and < Limit ? _files[fd] : null;

    public bool GetCloseOnExec(int fd) => _closeOnExec[fd];

    public void SetCloseOnExec(int fd, bool value) => _closeOnExec[fd] = value;

    /// <summary>Puts <paramref name="file"/> at the lowest free descriptor at or above <paramref name="minimum"/>;
    /// -EMFILE when none is free (the file is then released).</summary>
    public int Add(OpenFile file, bool closeOnExec, int minimum = 0)
    {
        ArgumentNullException.ThrowIfNull(file);
        for (var fd = Math.Max(0, minimum); fd < Limit; fd++)
        {
            if (_files[fd] is null)
            {
                _files[fd] = file;
                _closeOnExec[fd] = closeOnExec;
                return fd;
            }
        }
        file.Release();
        return -Errno.EMFILE;
    }

    /// <summary>Makes <paramref name="fd"/> refer to <paramref name="file"/> (dup2), closing what it held.</summary>
    public void Set(int fd, OpenFile file, bool closeOnExec)
    {
        ArgumentNullException.ThrowIfNull(file);
        file.AddReference();
        _files[fd]?.Release();
        _files[fd] = file;
        _closeOnExec[fd] = closeOnExec;
    }

    public int Close(ulong fd)
    {
        if (Get(fd) is not { } file)
            return -Errno.EBADF;
        _files[fd] = null;
        file.Release();
        return 0;
    }

    /// <summary>A second descriptor for the file behind <paramref name="fd"/>, at or above <paramref name="minimum"/>.</summary>
    public int Duplicate(ulong fd, int minimum, bool closeOnExec)
    {
        if (Get(fd) is not { } file)
            return -Errno.EBADF;
        if (minimum is < 0 or >= Limit)
            return -Errno.EINVAL;
        file.AddReference();
        return Add(file, closeOnExec, minimum);
    }

    /// <summary>The open descriptors in order, for a snapshot.</summary>
    public IEnumerable<(int Fd, OpenFile File, bool CloseOnExec)> Entries()
    {
        for (var fd = 0; fd < Limit; fd++)
        {
            if (_files[fd] is { } file)
                yield return (fd, file, _closeOnExec[fd]);
        }
    }

    public void Dispose()
    {
        for (var fd = 0; fd < Limit; fd++)
        {
            _files[fd]?.Release();
            _files[fd] = null;
        }
    }
}
