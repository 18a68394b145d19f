using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>pipe, pipe2, eventfd, eventfd2: descriptors whose readiness the program itself changes.</summary>
internal static class PipeCalls
{
    private const int O_NOTIFICATION_PIPE = Libc.O_DIRECT; // the same bit, for pipe2 only

    public static long Pipe(LinuxProcess p, in SyscallArgs a) => Pipe2(p, new SyscallArgs(a.A0, 0));

    /// <summary>Both descriptors, or none: the array is checked before either is made, and a second descriptor that
    /// cannot be had closes the first. O_DIRECT (packet mode) and notification pipes are EINVAL.</summary>
    public static long Pipe2(LinuxProcess p, in SyscallArgs a)
    {
        var flags = AsInt(a.A1);
        if ((flags & ~(Libc.O_CLOEXEC | Libc.O_NONBLOCK)) != 0)
            return -Errno.EINVAL;
        var fds = p.User.Writable(a.A0, 8);
        var (read, write) = PipeEnd.Create(p.Pipes, flags & Libc.O_NONBLOCK);
        var cloexec = (flags & Libc.O_CLOEXEC) != 0;
        var r = p.Files.Add(read, cloexec);
        if (r < 0)
        {
            write.Release();
            return r;
        }
        var w = p.Files.Add(write, cloexec);
        if (w < 0)
        {
            p.Files.Close((ulong)r);
            return w;
        }
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(fds, r);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(fds[4..], w);
        return 0;
    }

    public static long Eventfd(LinuxProcess p, in SyscallArgs a) => Eventfd2(p, new SyscallArgs(a.A0, 0));

    public static long Eventfd2(LinuxProcess p, in SyscallArgs a)
    {
        var flags = AsInt(a.A1);
        if ((flags & ~(Libc.O_CLOEXEC | Libc.O_NONBLOCK | EventFile.EFD_SEMAPHORE)) != 0)
            return -Errno.EINVAL;
        var file = new EventFile((uint)a.A0, (flags & EventFile.EFD_SEMAPHORE) != 0, flags & Libc.O_NONBLOCK);
        return p.Files.Add(file, (flags & Libc.O_CLOEXEC) != 0);
    }
}
