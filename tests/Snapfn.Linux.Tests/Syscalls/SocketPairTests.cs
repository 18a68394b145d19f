using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>Issue 24: socketpair(AF_UNIX) and the calls on its ends, as a single-threaded guest sees them, without KVM.
/// The expected answers are Linux's, checked natively by guest/linux-tests/sockets.c.</summary>
public sealed class SocketPairTests : IDisposable
{
    private const ulong Read = 0, Write = 1, Close = 3, Fstat = 5, Poll = 7, RtSigaction = 13, RtSigprocmask = 14, Ioctl = 16,
        Readv = 19, Writev = 20, Socket = 41, Sendto = 44, Recvfrom = 45, Sendmsg = 46, Recvmsg = 47, Shutdown = 48,
        Getsockname = 51, Getpeername = 52, Socketpair = 53, Setsockopt = 54, Getsockopt = 55, Fcntl = 72, EpollWait = 232,
        EpollCtl = 233, EpollCreate1 = 291;
    private const int AF_UNIX = 1, AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5, SOCK_NONBLOCK = 0x800,
        SOCK_CLOEXEC = 0x80000, MSG_PEEK = 2, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000, MSG_OOB = 1,
        POLLIN = 1, POLLOUT = 4, POLLHUP = 0x10, POLLERR = 8, POLLRDHUP = 0x2000, SIGPIPE = 13, SOL_SOCKET = 1,
        SO_TYPE = 3, SO_ERROR = 4, SO_SNDBUF = 7, SO_DOMAIN = 39, SO_KEEPALIVE = 9, SO_RCVTIMEO = 20, EPOLLIN = 1, EPOLLHUP = 0x10;
    private const uint EPOLLET = 1u << 31;

    private readonly SyscallHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static (int A, int B) Pair(SyscallHarness h, int type)
    {
        Assert.Equal(0, h.Call(Socketpair, AF_UNIX, (ulong)type, 0, h.Scratch));
        return (h.Read<int>(h.Scratch), h.Read<int>(h.Scratch + 4));
    }

    private (int A, int B) Pair(int type) => Pair(_h, type);

    private ulong Data(params byte[] bytes)
    {
        var at = _h.Scratch + 0x80000;
        _h.Process.User.Write(at, bytes);
        return at;
    }

    private ulong Buffer => _h.Scratch + 0x90000;

    private byte[] Received(int count) => _h.Process.User.Readable(Buffer, (ulong)count).ToArray();

    private long Send(int fd, int count, int flags = 0)
    {
        var at = _h.Scratch + 0x10000;
        _h.Process.User.Writable(at, (ulong)count).Fill(0x61);
        return _h.Call(Sendto, (ulong)fd, at, (ulong)count, (ulong)flags);
    }

    private short Revents(int fd, short events)
    {
        var at = _h.Scratch + 0x4000;
        _h.Write(at, new Kernel.pollfd { fd = fd, events = events });
        _h.Call(Poll, at, 1, 0);
        return _h.Read<Kernel.pollfd>(at).revents;
    }

    [Fact]
    public void A_stream_pair_carries_bytes_both_ways_and_its_ends_are_sockets()
    {
        var (a, b) = Pair(SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK);
        Assert.Equal(1, _h.Call(Fcntl, (ulong)a, 1)); // F_GETFD: FD_CLOEXEC
        Assert.Equal(0x802, _h.Call(Fcntl, (ulong)b, 3) & 0x803); // F_GETFL: O_RDWR | O_NONBLOCK
        Assert.Equal(3, _h.Call(Write, (ulong)a, Data(1, 2, 3), 3));
        Assert.Equal(3, _h.Call(Read, (ulong)b, Buffer, 10));
        Assert.Equal([1, 2, 3], Received(3));
        Assert.Equal(2, _h.Call(Sendto, (ulong)b, Data(4, 5), 2, 0, 0, 0));
        Assert.Equal(2, _h.Call(Recvfrom, (ulong)a, Buffer, 10, 0, 0, 0));
        Assert.Equal([4, 5], Received(2));
        Assert.Equal(-Errno.EAGAIN, _h.Call(Read, (ulong)a, Buffer, 10));

        Assert.Equal(0, _h.Call(Fstat, (ulong)a, _h.Scratch + 0x200));
        Assert.Equal(0, _h.Call(Fstat, (ulong)b, _h.Scratch + 0x300));
        var sa = _h.Read<Kernel.stat>(_h.Scratch + 0x200);
        Assert.Equal(Kernel.S_IFSOCK | 0x1ffu, sa.st_mode);
        Assert.NotEqual(sa.st_ino, _h.Read<Kernel.stat>(_h.Scratch + 0x300).st_ino);
    }

    [Fact]
    public void Socketpair_refuses_what_Linux_refuses_and_socket_stays_denied()
    {
        Assert.Equal(-Errno.EOPNOTSUPP, _h.Call(Socketpair, AF_INET, SOCK_STREAM, 0, _h.Scratch));
        Assert.Equal(-Errno.EINVAL, _h.Call(Socketpair, AF_UNIX, 77, 0, _h.Scratch));
        Assert.Equal(-Errno.EINVAL, _h.Call(Socketpair, AF_UNIX, SOCK_STREAM | 0x100, 0, _h.Scratch));
        Assert.Equal(-Errno.ESOCKTNOSUPPORT, _h.Call(Socketpair, AF_UNIX, 4, 0, _h.Scratch)); // SOCK_RDM
        Assert.Equal(-Errno.EPROTONOSUPPORT, _h.Call(Socketpair, AF_UNIX, SOCK_STREAM, 5, _h.Scratch));
        Assert.Equal(-Errno.EFAULT, _h.Call(Socketpair, AF_UNIX, SOCK_STREAM, 0, 8));
        Assert.Equal(-Errno.EACCES, _h.Call(Socket, AF_UNIX, SOCK_STREAM, 0));
        Assert.Equal(-Errno.ENOTSOCK, _h.Call(Recvfrom, 1, Buffer, 1, 0, 0, 0));
        Assert.Equal(-Errno.EBADF, _h.Call(Shutdown, 999, 0));
        Assert.DoesNotContain(_h.Process.Files.Entries(), e => e.File is Snapfn.Linux.Files.SocketEnd);
    }

    [Theory]
    [InlineData(SOCK_DGRAM)]
    [InlineData(SOCK_SEQPACKET)]
    public void Datagrams_keep_their_boundaries_and_a_short_buffer_truncates_them(int type)
    {
        var (a, b) = Pair(type | SOCK_NONBLOCK);
        Assert.Equal(3, _h.Call(Write, (ulong)a, Data(1, 2, 3), 3));
        Assert.Equal(2, _h.Call(Write, (ulong)a, Data(4, 5), 2));
        Assert.Equal(0, _h.Call(Write, (ulong)a, Data(), 0));
        _h.Call(Ioctl, (ulong)b, 0x541b, _h.Scratch + 0x100); // FIONREAD
        Assert.Equal(type == SOCK_DGRAM ? 3 : 5, _h.Read<int>(_h.Scratch + 0x100));
        Assert.Equal(3, _h.Call(Read, (ulong)b, Buffer, 100));
        Assert.Equal(2, _h.Call(Read, (ulong)b, Buffer, 100));
        Assert.Equal(0, _h.Call(Read, (ulong)b, Buffer, 100));
        Assert.Equal(-Errno.EAGAIN, _h.Call(Read, (ulong)b, Buffer, 100));

        Send(a, 10);
        Send(a, 10);
        Assert.Equal(4, _h.Call(Recvfrom, (ulong)b, Buffer, 4, MSG_PEEK, 0, 0));
        Assert.Equal(4, _h.Call(Recvfrom, (ulong)b, Buffer, 4, 0, 0, 0));
        Assert.Equal(10, _h.Call(Recvfrom, (ulong)b, Buffer, 4, MSG_TRUNC, 0, 0));
        Assert.Equal(-Errno.EAGAIN, _h.Call(Recvfrom, (ulong)b, Buffer, 4, 0, 0, 0)); // the rest was dropped
        Assert.Equal(-Errno.EMSGSIZE, Send(a, 300_000));
        Assert.Equal(-Errno.EOPNOTSUPP, Send(a, 1, MSG_OOB));
    }

    [Fact]
    public void Sendmsg_gathers_one_message_and_recvmsg_scatters_it_with_MSG_TRUNC_in_its_flags()
    {
        var (a, b) = Pair(SOCK_DGRAM);
        var iov = _h.Scratch + 0x5000;
        var msg = _h.Scratch + 0x6000;
        _h.Write(iov, new Kernel.iovec { iov_base = Data(1, 2, 3, 4, 5), iov_len = 2 });
        _h.Write(iov + 16, new Kernel.iovec { iov_base = Data(1, 2, 3, 4, 5) + 2, iov_len = 3 });
        _h.Write(msg, new Kernel.msghdr { msg_iov = iov, msg_iovlen = 2 });
        Assert.Equal(5, _h.Call(Sendmsg, (ulong)a, msg, 0));

        _h.Write(iov, new Kernel.iovec { iov_base = Buffer, iov_len = 1 });
        _h.Write(iov + 16, new Kernel.iovec { iov_base = Buffer + 100, iov_len = 2 });
        _h.Write(msg, new Kernel.msghdr { msg_iov = iov, msg_iovlen = 2, msg_namelen = 50, msg_controllen = 64, msg_flags = -1 });
        Assert.Equal(3, _h.Call(Recvmsg, (ulong)b, msg, 0));
        var back = _h.Read<Kernel.msghdr>(msg);
        Assert.Equal(MSG_TRUNC, back.msg_flags);
        Assert.Equal(0, back.msg_namelen);
        Assert.Equal(0UL, back.msg_controllen);
        Assert.Equal([1], Received(1));
        Assert.Equal([2, 3], _h.Process.User.Readable(Buffer + 100, 2).ToArray());

        // writev is one message too; ancillary data is refused.
        _h.Write(iov, new Kernel.iovec { iov_base = Data(9, 8), iov_len = 2 });
        _h.Write(iov + 16, new Kernel.iovec { iov_base = Data(9, 8), iov_len = 1 });
        Assert.Equal(3, _h.Call(Writev, (ulong)a, iov, 2));
        Assert.Equal(3, _h.Call(Read, (ulong)b, Buffer, 100));
        _h.Write(msg, new Kernel.msghdr { msg_iov = iov, msg_iovlen = 1, msg_control = Buffer, msg_controllen = 16 });
        Assert.Equal(-Errno.EOPNOTSUPP, _h.Call(Sendmsg, (ulong)a, msg, 0));
        _h.Write(msg, new Kernel.msghdr { msg_iov = iov, msg_iovlen = 2000 });
        Assert.Equal(-Errno.EMSGSIZE, _h.Call(Sendmsg, (ulong)a, msg, 0));
    }

    [Fact]
    public void A_stream_fills_at_SO_SNDBUF_and_poll_follows_af_unix()
    {
        var (a, b) = Pair(SOCK_STREAM | SOCK_NONBLOCK);
        Assert.Equal(POLLOUT, Revents(a, POLLIN | POLLOUT));
        long total = 0;
        long n;
        while ((n = Send(a, 100_000)) > 0)
            total += n;
        Assert.Equal(-Errno.EAGAIN, n);
        Assert.Equal(212_992, total);
        Assert.Equal(0, Revents(a, POLLIN | POLLOUT));
        Assert.Equal(POLLIN | POLLOUT, Revents(b, POLLIN | POLLOUT));
        // Readable again for the writer only once at most a quarter of SO_SNDBUF waits at the peer.
        Assert.Equal(100_000, _h.Call(Read, (ulong)b, Buffer, 100_000));
        Assert.Equal(0, Revents(a, POLLOUT));
        Assert.Equal(100_000, _h.Call(Read, (ulong)b, Buffer, 100_000));
        Assert.Equal(POLLOUT, Revents(a, POLLOUT));
        Assert.Equal(12_992, _h.Call(Read, (ulong)b, Buffer, 100_000));

        Assert.Equal(0, _h.Call(Fcntl, (ulong)a, 4, 0)); // blocking now
        Assert.Equal(212_992, Send(a, 212_992));
        var e = Assert.Throws<ProgramDeadlockException>(() => Send(a, 1));
        Assert.Contains($"writes to the socket at fd {a}", e.Message, StringComparison.Ordinal);
        Assert.Equal(-Errno.EAGAIN, Send(a, 1, MSG_DONTWAIT));
    }

    [Fact]
    public void Shutdown_and_close_end_a_stream_with_end_of_file_hangup_and_EPIPE()
    {
        var (a, b) = Pair(SOCK_STREAM);
        Send(a, 4);
        Assert.Equal(0, _h.Call(Shutdown, (ulong)a, 1)); // SHUT_WR
        Assert.Equal(POLLIN | POLLRDHUP, Revents(b, POLLIN | POLLRDHUP));
        Assert.Equal(4, _h.Call(Read, (ulong)b, Buffer, 100));
        Assert.Equal(0, _h.Call(Read, (ulong)b, Buffer, 100));
        Assert.Equal(-Errno.EPIPE, Send(a, 1, MSG_NOSIGNAL));
        Assert.Equal(0UL, _h.Process.Signals.Pending);
        Assert.Equal(2, Send(b, 2)); // the other way is still open
        Assert.Equal(-Errno.EINVAL, _h.Call(Shutdown, (ulong)a, 7));

        // Blocked, SIGPIPE pends instead of stopping the program: a stream's EPIPE raises it.
        _h.Write(_h.Scratch + 0x700, 1UL << (SIGPIPE - 1));
        Assert.Equal(0, _h.Call(RtSigprocmask, 0, _h.Scratch + 0x700, 0, 8));
        Assert.Equal(-Errno.EPIPE, Send(a, 1));
        Assert.Equal(1UL << (SIGPIPE - 1), _h.Process.Signals.Pending);

        // A peer that closes: what it sent stays readable, then end of file; one that closes with data it never read
        // makes the next read ECONNRESET (POLLERR before), once.
        var (c, d) = Pair(SOCK_STREAM);
        Send(d, 3);
        Assert.Equal(0, _h.Call(Close, (ulong)d));
        Assert.Equal(POLLIN | POLLOUT | POLLHUP | POLLRDHUP, Revents(c, POLLIN | POLLOUT | POLLRDHUP));
        Assert.Equal(3, _h.Call(Read, (ulong)c, Buffer, 10));
        Assert.Equal(0, _h.Call(Read, (ulong)c, Buffer, 10));
        var (g, h) = Pair(SOCK_STREAM);
        Send(g, 3);
        _h.Call(Close, (ulong)h);
        Assert.Equal(POLLERR, Revents(g, POLLIN) & POLLERR);
        Assert.Equal(-Errno.ECONNRESET, _h.Call(Read, (ulong)g, Buffer, 10));
        Assert.Equal(0, _h.Call(Read, (ulong)g, Buffer, 10));
    }

    [Fact]
    public void A_datagram_peer_that_closed_refuses_once_then_is_not_connected_and_seqpacket_hangs_up()
    {
        var (a, b) = Pair(SOCK_DGRAM | SOCK_NONBLOCK);
        Send(a, 1);
        _h.Call(Close, (ulong)a);
        Assert.Equal(POLLIN | POLLOUT, Revents(b, POLLIN | POLLOUT | POLLRDHUP));
        Assert.Equal(1, _h.Call(Read, (ulong)b, Buffer, 10));
        Assert.Equal(-Errno.EAGAIN, _h.Call(Read, (ulong)b, Buffer, 10));
        Assert.Equal(-Errno.ECONNREFUSED, Send(b, 1));
        Assert.Equal(-Errno.ENOTCONN, Send(b, 1));
        Assert.Equal(0UL, _h.Process.Signals.Pending);

        var (c, d) = Pair(SOCK_SEQPACKET | SOCK_NONBLOCK);
        _h.Call(Close, (ulong)c);
        Assert.Equal(0, _h.Call(Read, (ulong)d, Buffer, 10));
        Assert.Equal(-Errno.EPIPE, Send(d, 1));
        Assert.Equal(0UL, _h.Process.Signals.Pending); // no SIGPIPE from a seqpacket send
    }

    [Fact]
    public void Datagrams_stop_when_the_peer_holds_a_full_SO_SNDBUF_of_them()
    {
        var (a, b) = Pair(SOCK_DGRAM | SOCK_NONBLOCK);
        var sent = 0;
        while (Send(a, 1) == 1)
            sent++;
        Assert.InRange(sent, 200, 300); // 278 natively
        Assert.Equal(-Errno.EAGAIN, Send(a, 1));
        Assert.Equal(0, Revents(a, POLLOUT));
        Assert.Equal(1, _h.Call(Read, (ulong)b, Buffer, 10));
        Assert.Equal(1, Send(a, 1));
    }

    [Fact]
    public void Socket_buffers_count_against_the_pipe_buffer_limit_and_are_given_back_on_close()
    {
        using var h = new SyscallHarness(pipeBufferLimit: 64 << 10);
        var (a, b) = Pair(h, SOCK_STREAM | SOCK_NONBLOCK);
        var at = h.Scratch + 0x10000;
        h.Process.User.Writable(at, 100_000).Fill(1);
        Assert.Equal(65536, h.Call(Sendto, (ulong)a, at, 100_000, 0));
        Assert.Equal(-Errno.ENOBUFS, h.Call(Sendto, (ulong)a, at, 1, 0));
        var (c, _) = Pair(h, SOCK_DGRAM | SOCK_NONBLOCK);
        Assert.Equal(-Errno.ENOBUFS, h.Call(Sendto, (ulong)c, at, 1, 0));
        Assert.Equal(65536, h.Process.Pipes.InUse);
        h.Call(Close, (ulong)b);
        Assert.Equal(0, h.Process.Pipes.InUse);
        Assert.Equal(1, h.Call(Sendto, (ulong)c, at, 1, 0));
    }

    [Fact]
    public void Socket_options_and_names_are_what_programs_ask_for()
    {
        var (a, b) = Pair(SOCK_SEQPACKET);
        var value = _h.Scratch + 0x700;
        var length = _h.Scratch + 0x710;
        int Get(int fd, int name)
        {
            _h.Write(length, 4);
            Assert.Equal(0, _h.Call(Getsockopt, (ulong)fd, SOL_SOCKET, (ulong)name, value, length));
            Assert.Equal(4, _h.Read<int>(length));
            return _h.Read<int>(value);
        }
        Assert.Equal(SOCK_SEQPACKET, Get(a, SO_TYPE));
        Assert.Equal(AF_UNIX, Get(a, SO_DOMAIN));
        Assert.Equal(0, Get(a, SO_ERROR));
        Assert.Equal(212_992, Get(a, SO_SNDBUF));
        _h.Write(value, 1000);
        Assert.Equal(0, _h.Call(Setsockopt, (ulong)a, SOL_SOCKET, SO_SNDBUF, value, 4));
        Assert.Equal(4608, Get(a, SO_SNDBUF));
        _h.Write(value, 1);
        Assert.Equal(0, _h.Call(Setsockopt, (ulong)a, SOL_SOCKET, SO_KEEPALIVE, value, 4));
        Assert.Equal(1, Get(a, SO_KEEPALIVE));
        Assert.Equal(-Errno.ENOPROTOOPT, _h.Call(Setsockopt, (ulong)a, SOL_SOCKET, SO_RCVTIMEO, value, 16));
        Assert.Equal(-Errno.EINVAL, _h.Call(Setsockopt, (ulong)a, SOL_SOCKET, SO_KEEPALIVE, value, 2));
        Assert.Equal(-Errno.EOPNOTSUPP, _h.Call(Getsockopt, (ulong)a, 6, 1, value, length));
        _h.Write(length, 2);
        Assert.Equal(0, _h.Call(Getsockopt, (ulong)a, SOL_SOCKET, SO_TYPE, value, length));
        Assert.Equal(2, _h.Read<int>(length));

        _h.Write(length, 110);
        _h.Write(value, ulong.MaxValue);
        Assert.Equal(0, _h.Call(Getsockname, (ulong)a, value, length));
        Assert.Equal(2, _h.Read<int>(length));
        Assert.Equal(AF_UNIX, _h.Read<ushort>(value));
        Assert.Equal(0xffff, _h.Read<ushort>(value + 2));
        Assert.Equal(0, _h.Call(Getpeername, (ulong)b, value, length));
        Assert.Equal(-Errno.ENOTSOCK, _h.Call(Getsockname, 1, value, length));
    }

    [Fact]
    public void Epoll_watches_a_socket_edge_triggered_and_sees_its_peer_hang_up()
    {
        var (a, b) = Pair(SOCK_STREAM | SOCK_NONBLOCK);
        var ep = (ulong)_h.Call(EpollCreate1, 0);
        var ev = _h.Scratch + 0x3000;
        var output = _h.Scratch + 0x3100;
        _h.Write(ev, new Kernel.epoll_event { events = EPOLLIN | EPOLLET, data = 7 });
        Assert.Equal(0, _h.Call(EpollCtl, ep, 1, (ulong)b, ev));
        Assert.Equal(0, _h.Call(EpollWait, ep, output, 4, 0));
        Send(a, 4);
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 4, 0));
        Assert.Equal((uint)EPOLLIN, _h.Read<Kernel.epoll_event>(output).events);
        Assert.Equal(0, _h.Call(EpollWait, ep, output, 4, 0));
        _h.Call(Close, (ulong)a);
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 4, 0));
        Assert.NotEqual(0u, _h.Read<Kernel.epoll_event>(output).events & EPOLLHUP);
        var e = Assert.Throws<ProgramDeadlockException>(() =>
        {
            var (c, _) = Pair(SOCK_STREAM);
            _h.Call(Read, (ulong)c, Buffer, 10);
        });
        Assert.Contains("reads the empty socket", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Readv_takes_one_message_and_a_bad_buffer_is_EFAULT_before_anything_is_taken()
    {
        var (a, b) = Pair(SOCK_DGRAM | SOCK_NONBLOCK);
        _h.Call(Write, (ulong)a, Data(1, 2, 3), 3);
        var iov = _h.Scratch + 0x5000;
        _h.Write(iov, new Kernel.iovec { iov_base = Buffer, iov_len = 2 });
        _h.Write(iov + 16, new Kernel.iovec { iov_base = 0x1000, iov_len = 2 });
        Assert.Equal(-Errno.EFAULT, _h.Call(Readv, (ulong)b, iov, 2));
        _h.Write(iov + 16, new Kernel.iovec { iov_base = Buffer + 10, iov_len = 2 });
        Assert.Equal(3, _h.Call(Readv, (ulong)b, iov, 2));
        Assert.Equal([1, 2], Received(2));
        Assert.Equal(3, _h.Process.User.Readable(Buffer + 10, 1)[0]);
        Assert.Equal(-Errno.EAGAIN, _h.Call(Readv, (ulong)b, iov, 2));
    }
}
