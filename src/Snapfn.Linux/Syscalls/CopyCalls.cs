using System.Buffers;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// sendfile, copy_file_range, splice and tee: copies between two descriptors that the data does not pass through the
/// program for. Linux moves the pages inside the kernel; here the layer reads a bounded chunk from one file and writes
/// it to the other, so a call copies at most <see cref="MaxChunk"/> bytes — a short count, which all of them may
/// return and their callers loop on (Python's shutil.copyfile uses sendfile for every copy). What comes out of a pipe
/// is looked at first and taken only once written: a write that waits and is served again, or fails, loses nothing.
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
        return FromFile(p, input, a.A2, output, (int)a.A0, a.A3, dontWait: false);
    }

    /// <summary>A chunk of the regular file <paramref name="input"/>, at the loff_t <paramref name="offsetPointer"/>
    /// names (or its own offset when null), written to <paramref name="output"/> as a write does (waiting for room
    /// unless <paramref name="dontWait"/>); the offset moves past what reached the output (sendfile, and splice into a
    /// pipe).</summary>
    private static long FromFile(LinuxProcess p, OpenFile input, ulong offsetPointer, OpenFile output, int outFd, ulong count, bool dontWait)
    {
        var start = ReadOffset(p, offsetPointer, input, negative: Errno.EINVAL);
        if (start < 0)
            return start;
        // The input moves only by what reached the output: a write that waits leaves the vCPU and the call is served
        // again from the start, which must then read the same bytes.
        var written = CopyChunk(input, start, count, data => FileCalls.WriteWaiting(p, output, outFd, data, dontWait));
        return written <= 0 ? written : Advance(p, offsetPointer, input, start, written);
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

    private const ulong SPLICE_F_NONBLOCK = 2, SpliceFlags = 0xf; // MOVE, NONBLOCK, MORE, GIFT

    /// <summary>
    /// splice(fd_in, loff_t *off_in, fd_out, loff_t *off_out, len, flags): one side a pipe (EINVAL otherwise, and for
    /// two ends of one pipe), whose offset must be null (ESPIPE). From a pipe it takes what is there (up to len), waiting
    /// for a first byte as a read does, to a pipe or any writable file (at *off_out for a regular file, if given); into
    /// a pipe it reads a regular file (EINVAL for other inputs here: Linux also splices from sockets) as sendfile does.
    /// SPLICE_F_NONBLOCK makes the pipe sides EAGAIN instead of waiting; an O_APPEND file as output is EINVAL, as Linux's.
    /// </summary>
    public static long Splice(LinuxProcess p, in SyscallArgs a)
    {
        if ((a.A5 & ~SpliceFlags) != 0)
            return -Errno.EINVAL;
        if (p.Files.Get(a.A0) is not { } input || !input.CanRead)
            return -Errno.EBADF;
        if (p.Files.Get(a.A2) is not { } output || !output.CanWrite)
            return -Errno.EBADF;
        var (inPipe, outPipe) = (input as PipeEnd, output as PipeEnd);
        if (inPipe is null && outPipe is null || inPipe is not null && inPipe.Pipe == outPipe?.Pipe)
            return -Errno.EINVAL;
        if (inPipe is not null && a.A1 != 0 || outPipe is not null && a.A3 != 0)
            return -Errno.ESPIPE;
        if (outPipe is null && (output.StatusFlags & Libc.O_APPEND) != 0)
            return -Errno.EINVAL;
        if (a.A4 == 0)
            return 0;
        var nonblocking = (a.A5 & SPLICE_F_NONBLOCK) != 0;
        var (inFd, outFd) = ((int)a.A0, (int)a.A2);
        if (inPipe is null)
            return IsRegular(input) ? FromFile(p, input, a.A1, output, outFd, a.A4, dontWait: nonblocking) : -Errno.EINVAL;
        var offsetPointer = a.A3;
        if (offsetPointer != 0 && !IsRegular(output))
            return -Errno.ESPIPE;
        var outStart = offsetPointer != 0 ? ReadOffset(p, offsetPointer, output, negative: Errno.EINVAL) : 0;
        if (outStart < 0)
            return outStart;
        var moved = FromPipe(p, inPipe, inFd, a.A4, nonblocking, consume: true, data =>
            offsetPointer != 0 ? output.WriteAt(data, outStart) : FileCalls.WriteWaiting(p, output, outFd, data, dontWait: nonblocking));
        return moved > 0 && offsetPointer != 0 ? Advance(p, offsetPointer, output, outStart, moved) : moved;
    }

    /// <summary>tee(fd_in, fd_out, len, flags): copies what the pipe at fd_in holds (up to len) into the pipe at
    /// fd_out without taking it; both must be pipes, and not one pipe (EINVAL). It waits as splice does.</summary>
    public static long Tee(LinuxProcess p, in SyscallArgs a)
    {
        if ((a.A3 & ~SpliceFlags) != 0)
            return -Errno.EINVAL;
        if (p.Files.Get(a.A0) is not { } input || !input.CanRead || p.Files.Get(a.A1) is not { } output || !output.CanWrite)
            return -Errno.EBADF;
        if (input is not PipeEnd inPipe || output is not PipeEnd outPipe || inPipe.Pipe == outPipe.Pipe)
            return -Errno.EINVAL;
        if (a.A2 == 0)
            return 0;
        var nonblocking = (a.A3 & SPLICE_F_NONBLOCK) != 0;
        var outFd = (int)a.A1;
        return FromPipe(p, inPipe, (int)a.A0, a.A2, nonblocking, consume: false,
            data => FileCalls.WriteWaiting(p, outPipe, outFd, data, dontWait: nonblocking));
    }

    /// <summary>Hands up to <paramref name="count"/> (at most <see cref="MaxChunk"/>) of the bytes waiting in
    /// <paramref name="input"/> to <paramref name="write"/>, first waiting for one as a read does (0 once no writer is
    /// left, EAGAIN without waiting); takes from the pipe what was written when <paramref name="consume"/>.</summary>
    private static long FromPipe(LinuxProcess p, PipeEnd input, int inFd, ulong count, bool nonblocking, bool consume, ChunkWriter write)
    {
        while (input.Available == 0)
        {
            if (input.Pipe.Writers == 0)
                return 0;
            if (nonblocking || !FileCalls.Waits(input))
                return -Errno.EAGAIN;
            var woken = Waits.Block(p, Waits.Forever, FileCalls.WaitingFor(input, inFd, write: false));
            if (woken < 0)
                return woken;
        }
        var length = (int)Math.Min(Math.Min(count, MaxChunk), (ulong)input.Available);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var n = input.Pipe.Peek(buffer.AsSpan(0, length));
            var written = write(buffer.AsSpan(0, n));
            if (written > 0 && consume)
                input.Pipe.Discard((int)written);
            return written;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
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
