using System.Buffers;
using System.Buffers.Binary;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// socketpair(AF_UNIX) and the calls that work on its ends: send/recv in all their forms, shutdown, the socket
/// options and names programs ask for. There is still no network: socket(2) is refused, so the only sockets are
/// connected, unnamed pairs inside one program (Python's asyncio self-pipe, libuv's channels). Ancillary data
/// (SCM_RIGHTS, SCM_CREDENTIALS) and out-of-band data are EOPNOTSUPP.
/// </summary>
internal static class SocketCalls
{
    private const int AF_UNIX = 1;
    private const int SOCK_TYPE_MASK = 0xf;
    private const int SOCK_RAW = 3;
    private const int SOCK_MAX = 11;
    private const int SOL_SOCKET = 1;

    private const int MSG_OOB = 0x1;
    private const int MSG_PEEK = 0x2;
    private const int MSG_TRUNC = 0x20;
    private const int MSG_DONTWAIT = 0x40;
    private const int MSG_WAITALL = 0x100;
    private const int MSG_NOSIGNAL = 0x4000;

    private const int SO_TYPE = 3, SO_ERROR = 4, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_PEERCRED = 17, SO_ACCEPTCONN = 30,
        SO_PROTOCOL = 38, SO_DOMAIN = 39;

    /// <summary>Options with no effect on a socket pair that Linux accepts, kept so that a program reads back what it
    /// set: SO_DEBUG, SO_REUSEADDR, SO_BROADCAST, SO_KEEPALIVE, SO_OOBINLINE, SO_PRIORITY, SO_REUSEPORT, SO_PASSCRED,
    /// SO_RCVLOWAT, SO_PASSSEC.</summary>
    private static readonly int[] _plainOptions = [1, 2, 6, 9, 10, 12, 15, 16, 18, 34];

    /// <summary>The most a recvmsg or readv of a socket takes in one call (a short count past it, as a stream may give).</summary>
    private const int MaxVectorReceive = 4 << 20;

    /// <summary>sizeof(struct sockaddr_un).</summary>
    private const int SockaddrUnSize = 110;

    public static long Socketpair(LinuxProcess p, in SyscallArgs a)
    {
        var type = AsInt(a.A1);
        var flags = type & ~SOCK_TYPE_MASK;
        if ((flags & ~(Libc.O_NONBLOCK | Libc.O_CLOEXEC)) != 0)
            return -Errno.EINVAL;
        type &= SOCK_TYPE_MASK;
        if (type is <= 0 or >= SOCK_MAX)
            return -Errno.EINVAL;
        // Only AF_UNIX pairs exist without a network; Linux's other families refuse socketpair the same way.
        if (AsInt(a.A0) != AF_UNIX)
            return -Errno.EOPNOTSUPP;
        if (type == SOCK_RAW)
            type = SocketEnd.SOCK_DGRAM; // af_unix's unix_create does the same
        if (type is not (SocketEnd.SOCK_STREAM or SocketEnd.SOCK_DGRAM or SocketEnd.SOCK_SEQPACKET))
            return -Errno.ESOCKTNOSUPPORT;
        if (AsInt(a.A2) is not (0 or AF_UNIX))
            return -Errno.EPROTONOSUPPORT;
        var fds = p.User.Writable(a.A3, 8);
        var (first, second) = SocketEnd.CreatePair(type, p.Pipes, flags & Libc.O_NONBLOCK);
        var cloexec = (flags & Libc.O_CLOEXEC) != 0;
        var f0 = p.Files.Add(first, cloexec);
        if (f0 < 0)
        {
            second.Release();
            first.Release();
            return f0;
        }
        var f1 = p.Files.Add(second, cloexec);
        if (f1 < 0)
        {
            second.Release();
            p.Files.Close((ulong)f0);
            return f1;
        }
        BinaryPrimitives.WriteInt32LittleEndian(fds, f0);
        BinaryPrimitives.WriteInt32LittleEndian(fds[4..], f1);
        return 0;
    }

    /// <summary>sendto(fd, buf, len, flags, dest_addr, addrlen).</summary>
    public static long Sendto(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryGet(p, a.A0, out var socket, out var errno))
            return -errno;
        var flags = AsInt(a.A3);
        var address = CheckDestination(p, socket, a.A4, a.A5 == 0 || a.A4 == 0 ? 0 : AsInt(a.A5));
        if (address != 0)
            return address;
        if ((flags & MSG_OOB) != 0)
            return -Errno.EOPNOTSUPP;
        var data = p.User.Readable(a.A1, Math.Min(a.A2, UserMemory.MaxTransfer));
        return FileCalls.WriteWaiting(p, socket, AsInt(a.A0), data, (flags & MSG_DONTWAIT) != 0, (flags & MSG_NOSIGNAL) != 0);
    }

    /// <summary>recvfrom(fd, buf, len, flags, src_addr, addrlen): the peer is unnamed, so an address asked for has
    /// length 0.</summary>
    public static long Recvfrom(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryGet(p, a.A0, out var socket, out var errno))
            return -errno;
        var flags = AsInt(a.A3);
        if ((flags & MSG_OOB) != 0)
            return -Errno.EOPNOTSUPP;
        if (a.A4 != 0 && (int)p.User.Read<uint>(a.A5) < 0)
            return -Errno.EINVAL;
        var buffer = p.User.Writable(a.A1, Math.Min(a.A2, UserMemory.MaxTransfer));
        var n = ReceiveWaiting(p, socket, AsInt(a.A0), buffer, flags, out _);
        if (n >= 0 && a.A4 != 0)
            p.User.Write(a.A5, 0);
        return n;
    }

    public static long Sendmsg(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryGet(p, a.A0, out var socket, out var errno))
            return -errno;
        var msg = p.User.Read<Kernel.msghdr>(a.A1);
        var flags = AsInt(a.A2);
        if (msg.msg_iovlen > 1024)
            return -Errno.EMSGSIZE;
        var address = CheckDestination(p, socket, msg.msg_name, msg.msg_name == 0 ? 0 : msg.msg_namelen);
        if (address != 0)
            return address;
        if (msg.msg_controllen != 0 || (flags & MSG_OOB) != 0)
            return -Errno.EOPNOTSUPP;
        var iovecs = FileCalls.ImportIovecs(p, msg.msg_iov, msg.msg_iovlen, out errno);
        return errno != 0 ? -errno : SendVector(p, socket, AsInt(a.A0), iovecs, flags);
    }

    public static long Recvmsg(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryGet(p, a.A0, out var socket, out var errno))
            return -errno;
        var msg = p.User.Read<Kernel.msghdr>(a.A1);
        p.User.Writable(a.A1, (ulong)System.Runtime.CompilerServices.Unsafe.SizeOf<Kernel.msghdr>());
        var flags = AsInt(a.A2);
        if ((flags & MSG_OOB) != 0)
            return -Errno.EOPNOTSUPP;
        if (msg.msg_iovlen > 1024)
            return -Errno.EMSGSIZE;
        var iovecs = FileCalls.ImportIovecs(p, msg.msg_iov, msg.msg_iovlen, out errno);
        if (errno != 0)
            return -errno;
        var n = ReceiveVector(p, socket, AsInt(a.A0), iovecs, flags, out var truncated);
        if (n < 0)
            return n;
        msg.msg_namelen = 0;
        msg.msg_controllen = 0;
        msg.msg_flags = truncated ? MSG_TRUNC : 0;
        p.User.Write(a.A1, msg);
        return n;
    }

    /// <summary>A send gathered from iovecs: a message whole (EMSGSIZE past SO_SNDBUF, checked before anything is
    /// copied), a stream buffer by buffer as writev.</summary>
    internal static long SendVector(LinuxProcess p, SocketEnd socket, int fd, ReadOnlySpan<Kernel.iovec> iovecs, int flags)
    {
        var dontWait = (flags & MSG_DONTWAIT) != 0;
        var noSignal = (flags & MSG_NOSIGNAL) != 0;
        if (socket.KeepsBoundaries)
        {
            ulong total = 0;
            foreach (var iov in iovecs)
                total += iov.iov_len;
            if (total > (ulong)socket.SendBuffer)
                return -Errno.EMSGSIZE;
            var message = new byte[(int)total];
            var at = 0;
            foreach (var iov in iovecs)
            {
                p.User.Readable(iov.iov_base, iov.iov_len).CopyTo(message.AsSpan(at));
                at += (int)iov.iov_len;
            }
            return FileCalls.WriteWaiting(p, socket, fd, message, dontWait, noSignal);
        }
        return FileCalls.TransferEach(p, socket, fd, iovecs, write: true, dontWait, noSignal);
    }

    /// <summary>A receive scattered into iovecs: every buffer is checked writable first, so that a bad one cannot
    /// lose data the call has taken; what arrives is copied out in order (at most <see cref="MaxVectorReceive"/>).</summary>
    internal static long ReceiveVector(LinuxProcess p, SocketEnd socket, int fd, ReadOnlySpan<Kernel.iovec> iovecs, int flags, out bool truncated)
    {
        truncated = false;
        ulong total = 0;
        foreach (var iov in iovecs)
        {
            var length = Math.Min(iov.iov_len, MaxVectorReceive - total);
            p.User.Writable(iov.iov_base, length);
            total += length;
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)total);
        try
        {
            var n = ReceiveWaiting(p, socket, fd, buffer.AsSpan(0, (int)total), flags, out truncated);
            if (n <= 0)
                return n;
            var copied = (int)Math.Min(n, (long)total);
            var at = 0;
            foreach (var iov in iovecs)
            {
                if (at == copied)
                    break;
                var run = (int)Math.Min(iov.iov_len, (ulong)(copied - at));
                buffer.AsSpan(at, run).CopyTo(p.User.Writable(iov.iov_base, (ulong)run));
                at += run;
            }
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A receive that waits, as Linux's, while nothing is there, unless the socket is O_NONBLOCK or the call says
    /// MSG_DONTWAIT. A message comes whole or truncated (its full length with MSG_TRUNC); a stream returns what is
    /// there, or with MSG_WAITALL waits until <paramref name="buffer"/> is full or the stream ends.
    /// </summary>
    private static long ReceiveWaiting(LinuxProcess p, SocketEnd socket, int fd, Span<byte> buffer, int flags, out bool truncated)
    {
        truncated = false;
        var waits = FileCalls.Waits(socket) && (flags & MSG_DONTWAIT) == 0;
        var peek = (flags & MSG_PEEK) != 0;
        if (buffer.IsEmpty && !socket.KeepsBoundaries)
            return 0;
        long done = 0;
        while (true)
        {
            var n = socket.Receive(buffer[(int)done..], peek, waits, out truncated);
            if (n >= 0)
            {
                if (socket.KeepsBoundaries)
                    return (flags & MSG_TRUNC) != 0 ? n : Math.Min(n, buffer.Length);
                done += n;
                if (n == 0 || done == buffer.Length || !waits || peek || (flags & MSG_WAITALL) == 0)
                    return done;
                continue;
            }
            if (n != -Errno.EAGAIN || !waits)
                return done > 0 ? done : n;
            var woken = Waits.Block(p, Waits.Forever, FileCalls.WaitingFor(socket, fd, write: false));
            if (woken < 0)
                return done > 0 ? done : woken;
        }
    }

    /// <summary>A destination given to a connected socket: EISCONN for a stream, ignored by a seqpacket (as af_unix);
    /// for a datagram, EINVAL for a malformed sockaddr_un and else ECONNREFUSED, since no socket here has a name.</summary>
    private static long CheckDestination(LinuxProcess p, SocketEnd socket, ulong address, int length)
    {
        if (length == 0)
            return 0;
        switch (socket.Type)
        {
            case SocketEnd.SOCK_STREAM:
                return -Errno.EISCONN;
            case SocketEnd.SOCK_SEQPACKET:
                return 0;
            default:
                if (length is < 2 or > SockaddrUnSize)
                    return -Errno.EINVAL;
                return p.User.Read<ushort>(address) != AF_UNIX ? -Errno.EINVAL : -Errno.ECONNREFUSED;
        }
    }

    public static long Shutdown(LinuxProcess p, in SyscallArgs a) =>
        TryGet(p, a.A0, out var socket, out var errno) ? socket.Shut(AsInt(a.A1)) : -errno;

    public static long Getsockname(LinuxProcess p, in SyscallArgs a) => Name(p, a);

    public static long Getpeername(LinuxProcess p, in SyscallArgs a) => Name(p, a);

    /// <summary>Both ends are unnamed: the address is just its family (2 bytes), cut to the length the program gave.</summary>
    private static long Name(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryGet(p, a.A0, out _, out var errno))
            return -errno;
        var length = (int)p.User.Read<uint>(a.A2);
        if (length < 0)
            return -Errno.EINVAL;
        Span<byte> family = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(family, AF_UNIX);
        p.User.Write(a.A1, family[..Math.Min(length, 2)]);
        p.User.Write(a.A2, 2);
        return 0;
    }

    /// <summary>getsockopt(fd, level, name, value, len): SOL_SOCKET only (EOPNOTSUPP for other levels, as af_unix);
    /// an int value is cut to the length asked for, as Linux's.</summary>
    public static long Getsockopt(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryGet(p, a.A0, out var socket, out var errno))
            return -errno;
        if (AsInt(a.A1) != SOL_SOCKET)
            return -Errno.EOPNOTSUPP;
        var length = (int)p.User.Read<uint>(a.A4);
        if (length < 0)
            return -Errno.EINVAL;
        var name = AsInt(a.A2);
        if (name == SO_PEERCRED)
        {
            var cred = new Kernel.ucred { pid = LinuxProcess.Pid, uid = 0, gid = 0 };
            var size = System.Runtime.CompilerServices.Unsafe.SizeOf<Kernel.ucred>();
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<Kernel.ucred>(in cred));
            p.User.Write(a.A3, bytes[..Math.Min(length, size)]);
            p.User.Write(a.A4, Math.Min(length, size));
            return 0;
        }
        int? value = name switch
        {
            SO_TYPE => socket.Type,
            SO_ERROR => socket.TakeError(),
            SO_SNDBUF => socket.SendBuffer,
            SO_RCVBUF => socket.ReceiveBuffer,
            SO_ACCEPTCONN => 0,
            SO_PROTOCOL => 0,
            SO_DOMAIN => AF_UNIX,
            18 when socket.Option(18) == 0 => 1, // SO_RCVLOWAT is 1 until set
            _ when _plainOptions.Contains(name) => socket.Option(name),
            _ => null,
        };
        if (value is not { } v)
            return -Errno.ENOPROTOOPT;
        Span<byte> bytesOut = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytesOut, v);
        p.User.Write(a.A3, bytesOut[..Math.Min(length, 4)]);
        p.User.Write(a.A4, Math.Min(length, 4));
        return 0;
    }

    /// <summary>setsockopt(fd, level, name, value, len): SO_SNDBUF and SO_RCVBUF (doubled and clamped, as Linux's) and
    /// the options with no effect on a pair (<see cref="_plainOptions"/>); others ENOPROTOOPT, a value shorter than
    /// an int EINVAL.</summary>
    public static long Setsockopt(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryGet(p, a.A0, out var socket, out var errno))
            return -errno;
        if (AsInt(a.A1) != SOL_SOCKET)
            return -Errno.EOPNOTSUPP;
        var name = AsInt(a.A2);
        if (name is not (SO_SNDBUF or SO_RCVBUF) && !_plainOptions.Contains(name))
            return -Errno.ENOPROTOOPT;
        if ((uint)a.A4 < 4)
            return -Errno.EINVAL;
        var value = p.User.Read<int>(a.A3);
        if (name is SO_SNDBUF or SO_RCVBUF)
            socket.SetBuffer(name == SO_SNDBUF, value);
        else
            socket.SetOption(name, value);
        return 0;
    }

    private static bool TryGet(LinuxProcess p, ulong fd, out SocketEnd socket, out int errno)
    {
        socket = null!;
        errno = 0;
        switch (p.Files.Get(fd))
        {
            case null:
                errno = Errno.EBADF;
                return false;
            case SocketEnd s:
                socket = s;
                return true;
            default:
                errno = Errno.ENOTSOCK;
                return false;
        }
    }
}
