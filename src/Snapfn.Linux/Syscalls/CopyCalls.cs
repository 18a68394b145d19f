using System.Buffers;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// sendfile and copy_file_range: copies between two descriptors that the data does not pass through the program for.
/// Linux moves the pages inside the kernel; here the layer reads a bounded chunk from one file and writes it to the
/// other, so a call copies at most <see cref="MaxChunk"/> bytes — a short count, which both calls may return and
/// their callers loop on (Python's shutil.copyfile uses sendfile for every copy).
/// </summary>
internal static class CopyCalls
{
    /// <summary>The most one call copies: the buffer the VMM holds for it is bounded, whatever count the program asks.</summary>
    public const int MaxChunk = 1 << 20;

    /// <summary>sendfile(out_fd, in_fd, loff_t *offset, count): from a regular file (EINVAL otherwise, as Linux for a
    /// file without the page cache's read) to any writable descriptor, waiting for room in a pipe or socket as a write
    /// does. With <c>offset</c> the copy reads there and writes the new offset back, leaving in_fd's own offset alone;
    /// without it, it reads at in_fd's offset and moves it past what was written.</summary>
    public static long Sendfile(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A1) is not { } input || !input.CanRead)
            return -Errno.EBADF;
        if (p.Files.Get(a.A0) is not { } output || !output.CanWrite)
            return -Errno.EBADF;
        if (!IsRegular(input))
            return -Errno.EINVAL;
        // Linux's do_splice_direct refuses an O_APPEND output: it writes at a position of its own.
        if ((output.StatusFlags & Libc.O_APPEND) != 0)
            return -Errno.EINVAL;
        var start = ReadOffset(p, a.A2, input, negative: Errno.EINVAL);
        if (start < 0)
            return start;
        var outFd = (int)a.A0;
        // The input moves only by what reached the output: a write that waits leaves the vCPU and the call is served
        // again from the start, which must then read the same bytes.
        var written = CopyChunk(input, start, a.A3, data => FileCalls.WriteWaiting(p, output, outFd, data));
        return written <= 0 ? written : Advance(p, a.A2, input, start, written);
    }

    /// <summary>copy_file_range(fd_in, loff_t *off_in, fd_out, loff_t *off_out, len, flags): between two regular
    /// files (EINVAL otherwise, EISDIR for a directory), flags 0, EBADF for an O_APPEND output, EINVAL for ranges of one
    /// file that overlap. Each offset pointer works as sendfile's; the output is written at its offset within the
    /// /tmp quota.</summary>
    public static long CopyFileRange(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A5 != 0)
            return -Errno.EINVAL;
        if (p.Files.Get(a.A0) is not { } input || !input.CanRead)
            return -Errno.EBADF;
        if (p.Files.Get(a.A2) is not { } output || !output.CanWrite || (output.StatusFlags & Libc.O_APPEND) != 0)
            return -Errno.EBADF;
        if (input.IsDirectory || output.IsDirectory)
            return -Errno.EISDIR;
        if (!IsRegular(input) || !IsRegular(output))
            return -Errno.EINVAL;
        // A negative offset is EOVERFLOW here, as Linux 6.18's range checks answer (they treat it as unsigned).
        var inStart = ReadOffset(p, a.A1, input, negative: Errno.EOVERFLOW);
        if (inStart < 0)
            return inStart;
        var outStart = ReadOffset(p, a.A3, output, negative: Errno.EOVERFLOW);
        if (outStart < 0)
            return outStart;
        // Two ranges of one length overlap when their starts are closer than it (both starts are >= 0, so the
        // difference cannot wrap; nor can a size_t length, compared unsigned).
        if (SameFile(input, output) && (ulong)Math.Abs(inStart - outStart) < a.A4)
            return -Errno.EINVAL;
        var written = CopyChunk(input, inStart, a.A4, data => output.WriteAt(data, outStart));
        if (written <= 0)
            return written;
        var moved = Advance(p, a.A1, input, inStart, written);
        return moved < 0 ? moved : Advance(p, a.A3, output, outStart, written);
    }

    private delegate long ChunkWriter(ReadOnlySpan<byte> data);

    /// <summary>Reads up to <paramref name="count"/> bytes (at most <see cref="MaxChunk"/>) of <paramref name="input"/>
    /// at <paramref name="start"/> into a pooled buffer and hands them to <paramref name="write"/>: the bytes that
    /// reached the output, or the read's 0 at the end or negated errno.</summary>
    private static long CopyChunk(OpenFile input, long start, ulong count, ChunkWriter write)
    {
        var length = (int)Math.Min(count, MaxChunk);
        if (length == 0)
            return 0;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var read = input.ReadAt(buffer.AsSpan(0, length), start);
            return read <= 0 ? read : write(buffer.AsSpan(0, (int)read));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsRegular(OpenFile file) =>
        !file.IsDirectory && file.Stat(out var st) == 0 && (st.st_mode & Kernel.S_IFMT) == Kernel.S_IFREG;

    private static bool SameFile(OpenFile a, OpenFile b) =>
        a.Stat(out var x) == 0 && b.Stat(out var y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;

    /// <summary>Where the copy starts in <paramref name="file"/>: the loff_t at <paramref name="pointer"/> (the errno
    /// <paramref name="negative"/> when it is negative, EFAULT when unreadable), or the file's own offset when the
    /// pointer is null.</summary>
    private static long ReadOffset(LinuxProcess p, ulong pointer, OpenFile file, int negative)
    {
        if (pointer == 0)
            return file.Seek(0, Kernel.SEEK_CUR);
        var offset = p.User.Read<long>(pointer);
        return offset < 0 ? -negative : offset;
    }

    /// <summary>Moves past <paramref name="count"/> copied bytes: writes the offset back through the pointer, or
    /// moves the file's own offset; the count, or a negated errno.</summary>
    private static long Advance(LinuxProcess p, ulong pointer, OpenFile file, long start, long count)
    {
        if (pointer != 0)
            p.User.Write(pointer, start + count);
        else if (file.Seek(start + count, Kernel.SEEK_SET) is var moved and < 0)
            return moved;
        return count;
    }
}
