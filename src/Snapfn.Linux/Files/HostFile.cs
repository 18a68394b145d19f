using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>A file or directory of the root or of /tmp, opened on the host (with openat2 confined to its mount).</summary>
public sealed unsafe class HostFile : OpenFile
{
    private readonly SafeFd _fd;

    public HostFile(SafeFd fd, string guestPath, int statusFlags, bool isDirectory, bool onWritableMount) : base(guestPath, statusFlags)
    {
        _fd = fd;
        IsDirectory = isDirectory;
        OnWritableMount = onWritableMount;
    }

    public override bool IsDirectory { get; }

    /// <summary>The file lives where the program can write (/tmp), so it can shrink under a mapping.</summary>
    public bool OnWritableMount { get; }

    public override SafeFd? HostFd => _fd;

    public override bool MapByCopy => OnWritableMount;

    public override long Read(Span<byte> buffer)
    {
        if (IsDirectory)
            return -Errno.EISDIR;
        return Result(Libc.read(_fd, buffer));
    }

    public override long Write(ReadOnlySpan<byte> buffer) => Result(Libc.write(_fd, buffer));

    public override long ReadAt(Span<byte> buffer, long offset)
    {
        if (IsDirectory)
            return -Errno.EISDIR;
        return Result(Libc.pread(_fd, buffer, offset));
    }

    public override long WriteAt(ReadOnlySpan<byte> buffer, long offset) => Result(Libc.pwrite(_fd, buffer, offset));

    public override long Seek(long offset, int whence) => Result(Libc.lseek(_fd, offset, whence));

    public override int Stat(out Kernel.stat st)
    {
        fixed (Kernel.stat* p = &st)
            return (int)Result(Libc.fstat(_fd, (Libc.stat_buf*)p));
    }

    public override long ReadDirectory(Span<byte> buffer)
    {
        if (!IsDirectory)
            return -Errno.ENOTDIR;
        return Result(Libc.getdents64(_fd, buffer));
    }

    public override int Truncate(long length) => (int)Result(Libc.ftruncate(_fd, length));

    /// <summary>The host call's result, or the negated errno it failed with.</summary>
    internal static long Result(long value) => value >= 0 ? value : -Marshal.GetLastPInvokeError();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _fd.Dispose();
        base.Dispose(disposing);
    }
}
