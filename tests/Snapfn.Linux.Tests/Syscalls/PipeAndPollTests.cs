using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>Issue 24: pipes, eventfds, poll, select and epoll as a single-threaded guest sees them, without KVM.</summary>
public sealed class PipeAndPollTests : IDisposable
{
    private const ulong Read = 0, Write = 1, Close = 3, Fstat = 5, Poll = 7, Ioctl = 16, Pipe = 22, Select = 23, Dup = 32,
        Kill = 62, Fcntl = 72, RtSigaction = 13, Setitimer = 38, EpollWait = 232, EpollCtl = 233, EpollCreate1 = 291,
        Eventfd2 = 290, Pipe2 = 293, Openat = 257;
    private const int O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, EFD_SEMAPHORE = 1, EPOLLIN = 1, EPOLLOUT = 4, EPOLLHUP = 0x10,
        POLLIN = 1, POLLOUT = 4, POLLHUP = 0x10, POLLNVAL = 0x20, SIGPIPE = 13, SIGALRM = 14;
    private const uint EPOLLET = 1u << 31, EPOLLONESHOT = 1u << 30;

    private readonly SyscallHarness _h = new();

    private (int Read, int Write) MakePipe(int flags = 0)
    {
        Assert.Equal(0, _h.Call(Pipe2, _h.Scratch, (ulong)flags));
        return (_h.Read<int>(_h.Scratch), _h.Read<int>(_h.Scratch + 4));
    }

    private ulong Data(params byte[] bytes)
    {
        var at = _h.Scratch + 0x80000;
        _h.Process.User.Write(at, bytes);
        return at;
    }

    private long WriteBytes(int fd, int count)
    {
        var at = _h.Scratch + 0x10000;
        _h.Process.User.Writable(at, (ulong)count).Fill(0x61);
        return _h.Call(Write, (ulong)fd, at, (ulong)count);
    }

    [Fact]
    public void A_pipe_carries_bytes_from_its_write_end_to_its_read_end()
    {
        var (r, w) = MakePipe();
        Assert.Equal(3, _h.Call(Write, (ulong)w, Data(1, 2, 3), 3));
        var buffer = _h.Scratch + 0x100;
        Assert.Equal(2, _h.Call(Read, (ulong)r, buffer, 2));
        Assert.Equal(1, _h.Call(Read, (ulong)r, buffer + 2, 10));
        Assert.Equal([1, 2, 3], _h.Process.User.Readable(buffer, 3).ToArray());
        Assert.Equal(0, _h.Call(Fstat, (ulong)r, _h.Scratch + 0x200));
        var st = _h.Read<Kernel.stat>(_h.Scratch + 0x200);
        Assert.Equal(Kernel.S_IFIFO, st.st_mode & Kernel.S_IFMT);
        Assert.Equal(0, _h.Call(Fstat, (ulong)w, _h.Scratch + 0x300));
        Assert.Equal(st.st_ino, _h.Read<Kernel.stat>(_h.Scratch + 0x300).st_ino);
        Assert.Equal(0, _h.Call(Fcntl, (ulong)r, 3) & 3);
        Assert.Equal(1, _h.Call(Fcntl, (ulong)w, 3) & 3);
    }

    [Fact]
    public void Pipe2_takes_O_CLOEXEC_and_O_NONBLOCK_and_refuses_other_flags()
    {
        Assert.Equal(-Errno.EINVAL, _h.Call(Pipe2, _h.Scratch, 0x4000)); // O_DIRECT
        Assert.Equal(-Errno.EFAULT, _h.Call(Pipe2, 0x1000, 0));
        var (r, w) = MakePipe(O_CLOEXEC | O_NONBLOCK);
        Assert.Equal(1, _h.Call(Fcntl, (ulong)r, 1)); // F_GETFD
        Assert.Equal(O_NONBLOCK, _h.Call(Fcntl, (ulong)w, 3) & O_NONBLOCK);
        Assert.Equal(0, _h.Call(Pipe, _h.Scratch));
        Assert.Equal(0, _h.Call(Fcntl, (ulong)_h.Read<int>(_h.Scratch), 1));
    }

    [Fact]
    public void An_empty_pipe_is_EAGAIN_without_waiting_end_of_file_without_writers_and_a_deadlock_when_it_would_wait_forever()
    {
        var (r, w) = MakePipe(O_NONBLOCK);
        Assert.Equal(-Errno.EAGAIN, _h.Call(Read, (ulong)r, _h.Scratch, 10));
        Assert.Equal(0, _h.Call(Fcntl, (ulong)r, 4, 0)); // F_SETFL: blocking now
        var e = Assert.Throws<ProgramDeadlockException>(() => _h.Call(Read, (ulong)r, _h.Scratch, 10));
        Assert.Contains($"reads the empty pipe at fd {r}", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _h.Call(Close, (ulong)w));
        Assert.Equal(0, _h.Call(Read, (ulong)r, _h.Scratch, 10));
    }

    [Fact]
    public void A_pipe_holds_64_KiB_writes_of_PIPE_BUF_are_atomic_and_F_SETPIPE_SZ_resizes_it()
    {
        var (r, w) = MakePipe(O_NONBLOCK);
        Assert.Equal(65536, _h.Call(Fcntl, (ulong)w, 1032));
        Assert.Equal(65536 - 100, WriteBytes(w, 65536 - 100));
        Assert.Equal(-Errno.EAGAIN, WriteBytes(w, 4096)); // does not fit whole: nothing
        Assert.Equal(100, WriteBytes(w, 5000));            // longer than PIPE_BUF: what fits
        Assert.Equal(-Errno.EAGAIN, WriteBytes(w, 1));
        _h.Call(Ioctl, (ulong)r, 0x541b, _h.Scratch);
        Assert.Equal(65536, _h.Read<int>(_h.Scratch));
        Assert.Equal(-Errno.EBUSY, _h.Call(Fcntl, (ulong)r, 1031, 4096));
        Assert.Equal(-Errno.EPERM, _h.Call(Fcntl, (ulong)r, 1031, 2 << 20));
        Assert.Equal(60000, _h.Call(Read, (ulong)r, _h.Scratch + 0x20000, 60000));
        Assert.Equal(8192, _h.Call(Fcntl, (ulong)r, 1031, 5000));
        Assert.Equal(5536, _h.Call(Read, (ulong)r, _h.Scratch + 0x20000, 65536));
        Assert.Equal(-Errno.EBADF, _h.Call(Fcntl, 0, 1032));
        Assert.Equal(0, _h.Call(Fcntl, (ulong)w, 4, 0));
        Assert.Throws<ProgramDeadlockException>(() => WriteBytes(w, 9000)); // blocking, more than fits: would wait forever
    }

    [Fact]
    public void Pipes_past_the_buffer_limit_get_one_page_and_a_closed_pipe_gives_its_share_back()
    {
        using var h = new SyscallHarness(pipeBufferLimit: 128 << 10);
        int[] fds = new int[6];
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(0, h.Call(Pipe2, h.Scratch, 0));
            fds[2 * i] = h.Read<int>(h.Scratch);
            fds[2 * i + 1] = h.Read<int>(h.Scratch + 4);
        }
        Assert.Equal(65536, h.Call(Fcntl, (ulong)fds[2], 1032));
        Assert.Equal(4096, h.Call(Fcntl, (ulong)fds[4], 1032));
        Assert.Equal(-Errno.EPERM, h.Call(Fcntl, (ulong)fds[4], 1031, 65536));
        h.Call(Close, (ulong)fds[0]);
        h.Call(Close, (ulong)fds[1]);
        Assert.Equal(65536, h.Call(Fcntl, (ulong)fds[4], 1031, 65536));
        Assert.True(h.Process.Pipes.InUse <= 128 << 10);
    }

    [Fact]
    public void A_write_with_no_reader_is_EPIPE_and_raises_SIGPIPE()
    {
        var (r, w) = MakePipe();
        _h.Call(Close, (ulong)r);
        _h.Write(_h.Scratch + 0x400, new Kernel.kernel_sigaction { sa_handler = SignalState.Ignore });
        Assert.Equal(0, _h.Call(RtSigaction, SIGPIPE, _h.Scratch + 0x400, 0, 8));
        Assert.Equal(-Errno.EPIPE, _h.Call(Write, (ulong)w, Data(1), 1));
        Assert.Null(_h.Process.Exit);
        _h.Write(_h.Scratch + 0x400, new Kernel.kernel_sigaction { sa_handler = SignalState.Default });
        _h.Call(RtSigaction, SIGPIPE, _h.Scratch + 0x400, 0, 8);
        _h.Call(Write, (ulong)w, Data(1), 1);
        Assert.Equal(SIGPIPE, _h.Process.Exit?.Signal);
    }

    [Fact]
    public void An_eventfd_counts_and_with_EFD_SEMAPHORE_counts_down_by_one()
    {
        var fd = (ulong)_h.Call(Eventfd2, 0, O_NONBLOCK);
        Assert.Equal(-Errno.EAGAIN, _h.Call(Read, fd, _h.Scratch, 8));
        _h.Write(_h.Scratch + 8, 3UL);
        Assert.Equal(8, _h.Call(Write, fd, _h.Scratch + 8, 8));
        Assert.Equal(8, _h.Call(Write, fd, _h.Scratch + 8, 8));
        Assert.Equal(8, _h.Call(Read, fd, _h.Scratch, 8));
        Assert.Equal(6UL, _h.Read<ulong>(_h.Scratch));
        Assert.Equal(-Errno.EINVAL, _h.Call(Read, fd, _h.Scratch, 4));
        _h.Write(_h.Scratch + 8, ulong.MaxValue);
        Assert.Equal(-Errno.EINVAL, _h.Call(Write, fd, _h.Scratch + 8, 8));
        _h.Write(_h.Scratch + 8, ulong.MaxValue - 1);
        Assert.Equal(8, _h.Call(Write, fd, _h.Scratch + 8, 8));
        _h.Write(_h.Scratch + 8, 1UL);
        Assert.Equal(-Errno.EAGAIN, _h.Call(Write, fd, _h.Scratch + 8, 8));

        var semaphore = (ulong)_h.Call(Eventfd2, 2, EFD_SEMAPHORE);
        Assert.Equal(8, _h.Call(Read, semaphore, _h.Scratch, 8));
        Assert.Equal(1UL, _h.Read<ulong>(_h.Scratch));
        Assert.Equal(8, _h.Call(Read, semaphore, _h.Scratch, 8));
        Assert.Throws<ProgramDeadlockException>(() => _h.Call(Read, semaphore, _h.Scratch, 8));
        Assert.Equal(-Errno.EINVAL, _h.Call(Eventfd2, 0, 0x100));
    }

    private void SetPoll(ulong at, int fd, short events) => _h.Write(at, new Kernel.pollfd { fd = fd, events = events });

    private short Revents(ulong at) => _h.Read<Kernel.pollfd>(at).revents;

    [Fact]
    public void Poll_reports_pipe_readiness_and_sleeps_its_timeout_when_nothing_is_ready()
    {
        var (r, w) = MakePipe();
        var fds = _h.Scratch + 0x1000;
        SetPoll(fds, r, POLLIN);
        SetPoll(fds + 8, w, POLLOUT);
        SetPoll(fds + 16, 999, POLLIN);
        SetPoll(fds + 24, -1, POLLIN);
        Assert.Equal(2, _h.Call(Poll, fds, 4, 0));
        Assert.Equal(0, Revents(fds));
        Assert.Equal(POLLOUT, Revents(fds + 8));
        Assert.Equal(POLLNVAL, Revents(fds + 16));
        Assert.Equal(0, Revents(fds + 24));

        var before = _h.Clock.Monotonic;
        Assert.Equal(0, _h.Call(Poll, fds, 1, 250));
        Assert.Equal(250_000_000, _h.Clock.Monotonic - before);
        Assert.Throws<ProgramDeadlockException>(() => _h.Call(Poll, fds, 1, unchecked((ulong)-1)));

        WriteBytes(w, 1);
        Assert.Equal(1, _h.Call(Poll, fds, 1, unchecked((ulong)-1)));
        Assert.Equal(POLLIN, Revents(fds));
        _h.Call(Close, (ulong)w);
        Assert.Equal(1, _h.Call(Poll, fds, 1, 0));
        Assert.Equal(POLLIN | POLLHUP, Revents(fds));
    }

    [Fact]
    public void A_wait_without_timeout_ends_with_EINTR_when_a_timers_signal_has_a_handler()
    {
        var (r, _) = MakePipe();
        _h.Write(_h.Scratch + 0x400, new Kernel.kernel_sigaction { sa_handler = 0x12345, sa_flags = 0x04000000, sa_restorer = 0x23456 });
        _h.Call(RtSigaction, SIGALRM, _h.Scratch + 0x400, 0, 8);
        _h.Write(_h.Scratch + 0x500, new Kernel.itimerval { it_value = new Kernel.timeval { tv_sec = 2 } });
        Assert.Equal(0, _h.Call(Setitimer, 0, _h.Scratch + 0x500, 0));
        var fds = _h.Scratch + 0x1000;
        SetPoll(fds, r, POLLIN);
        var before = _h.Clock.Monotonic;
        Assert.Equal(-Errno.EINTR, _h.Process.Dispatch(Poll, new SyscallArgs(fds, 1, unchecked((ulong)-1))));
        Assert.Equal(2_000_000_000, _h.Clock.Monotonic - before);
        Assert.Equal(SignalState.Bit(SIGALRM), _h.Process.Signals.Pending);
    }

    [Fact]
    public void Select_reports_ready_descriptors_in_its_sets_and_EBADF_for_a_closed_one()
    {
        var (r, w) = MakePipe();
        var readSet = _h.Scratch + 0x2000;
        var writeSet = _h.Scratch + 0x2080;
        var timeout = _h.Scratch + 0x2100;
        _h.Write(readSet, 1UL << r);
        _h.Write(writeSet, 1UL << w);
        _h.Write(timeout, new Kernel.timeval { tv_sec = 1, tv_usec = 500_000 });
        Assert.Equal(1, _h.Call(Select, (ulong)w + 1, readSet, writeSet, 0, timeout));
        Assert.Equal(0UL, _h.Read<ulong>(readSet));
        Assert.Equal(1UL << w, _h.Read<ulong>(writeSet));

        _h.Write(readSet, 1UL << r);
        var before = _h.Clock.Monotonic;
        Assert.Equal(0, _h.Call(Select, (ulong)r + 1, readSet, 0, 0, timeout));
        Assert.Equal(1_500_000_000, _h.Clock.Monotonic - before);
        Assert.Equal(0, _h.Read<Kernel.timeval>(timeout).tv_sec);

        WriteBytes(w, 1);
        _h.Write(readSet, 1UL << r);
        Assert.Equal(1, _h.Call(Select, (ulong)r + 1, readSet, 0, 0, 0));
        _h.Write(readSet, 1UL << 40);
        Assert.Equal(-Errno.EBADF, _h.Call(Select, 41, readSet, 0, 0, 0));
        Assert.Equal(-Errno.EINVAL, _h.Call(Select, unchecked((ulong)-1), 0, 0, 0, 0));
    }

    private void EpollEvent(ulong at, uint events, ulong data) => _h.Write(at, new Kernel.epoll_event { events = events, data = data });

    [Fact]
    public void Epoll_reports_ready_registrations_with_their_data()
    {
        var ep = (ulong)_h.Call(EpollCreate1, O_CLOEXEC);
        var (r, w) = MakePipe();
        var ev = _h.Scratch + 0x3000;
        var output = _h.Scratch + 0x3100;
        EpollEvent(ev, EPOLLIN, 0xfeed);
        Assert.Equal(0, _h.Call(EpollCtl, ep, 1, (ulong)r, ev));
        Assert.Equal(-Errno.EEXIST, _h.Call(EpollCtl, ep, 1, (ulong)r, ev));
        Assert.Equal(0, _h.Call(EpollWait, ep, output, 8, 0));
        var before = _h.Clock.Monotonic;
        Assert.Equal(0, _h.Call(EpollWait, ep, output, 8, 100));
        Assert.Equal(100_000_000, _h.Clock.Monotonic - before);
        Assert.Throws<ProgramDeadlockException>(() => _h.Call(EpollWait, ep, output, 8, unchecked((ulong)-1)));
        WriteBytes(w, 5);
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 8, unchecked((ulong)-1)));
        var got = _h.Read<Kernel.epoll_event>(output);
        Assert.Equal((uint)EPOLLIN, got.events);
        Assert.Equal(0xfeedUL, got.data);
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 8, 0)); // level-triggered: still readable

        EpollEvent(ev, EPOLLOUT, 7);
        Assert.Equal(0, _h.Call(EpollCtl, ep, 3, (ulong)r, ev)); // MOD: a read end is never writable
        Assert.Equal(0, _h.Call(EpollWait, ep, output, 8, 0));
        Assert.Equal(0, _h.Call(EpollCtl, ep, 2, (ulong)r, 0));
        Assert.Equal(-Errno.ENOENT, _h.Call(EpollCtl, ep, 2, (ulong)r, 0));
        Assert.Equal(-Errno.EINVAL, _h.Call(EpollWait, ep, output, 0, 0));
        Assert.Equal(-Errno.EINVAL, _h.Call(EpollWait, (ulong)r, output, 8, 0));
        Assert.Equal(-Errno.EBADF, _h.Call(EpollWait, 999, output, 8, 0));
    }

    [Fact]
    public void Epoll_edge_triggered_reports_a_change_once_and_oneshot_until_modified()
    {
        var ep = (ulong)_h.Call(EpollCreate1, 0);
        var (r, w) = MakePipe();
        var ev = _h.Scratch + 0x3000;
        var output = _h.Scratch + 0x3100;
        EpollEvent(ev, EPOLLIN | EPOLLET, 1);
        _h.Call(EpollCtl, ep, 1, (ulong)r, ev);
        WriteBytes(w, 1);
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 8, 0));
        Assert.Equal(0, _h.Call(EpollWait, ep, output, 8, 0));
        WriteBytes(w, 1);
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 8, 0));

        EpollEvent(ev, EPOLLOUT | EPOLLONESHOT, 2);
        _h.Call(EpollCtl, ep, 1, (ulong)w, ev);
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 8, 0));
        Assert.Equal(2UL, _h.Read<Kernel.epoll_event>(output).data);
        Assert.Equal(0, _h.Call(EpollWait, ep, output, 8, 0));
        Assert.Equal(0, _h.Call(EpollCtl, ep, 3, (ulong)w, ev));
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 8, 0));
    }

    [Fact]
    public void Epoll_refuses_files_without_readiness_and_drops_a_registration_when_its_file_closes()
    {
        var ep = (ulong)_h.Call(EpollCreate1, 0);
        var ev = _h.Scratch + 0x3000;
        var output = _h.Scratch + 0x3100;
        EpollEvent(ev, EPOLLIN, 0);
        _h.Process.User.Write(_h.Scratch + 0x3200, "/tmp/f\0"u8);
        var file = (ulong)_h.Call(Openat, unchecked((ulong)-100), _h.Scratch + 0x3200, 0x42, 0x1a4);
        Assert.Equal(-Errno.EPERM, _h.Call(EpollCtl, ep, 1, file, ev));
        var other = (ulong)_h.Call(EpollCreate1, 0);
        Assert.Equal(-Errno.EPERM, _h.Call(EpollCtl, ep, 1, other, ev)); // Linux would nest it
        Assert.Equal(-Errno.EINVAL, _h.Call(EpollCtl, ep, 1, ep, ev));
        Assert.Equal(0, _h.Call(EpollCtl, ep, 1, 1, ev)); // stdout looks like a pipe
        Assert.Equal(-Errno.EBADF, _h.Call(EpollCtl, ep, 1, 999, ev));

        var (r, w) = MakePipe();
        Assert.Equal(-Errno.EINVAL, _h.Call(EpollCtl, file, 1, (ulong)r, ev)); // not an epoll descriptor
        EpollEvent(ev, EPOLLIN | EPOLLHUP, 9);
        _h.Call(EpollCtl, ep, 1, (ulong)r, ev);
        var copy = (ulong)_h.Call(Dup, (ulong)r);
        _h.Call(Close, (ulong)r);
        WriteBytes(w, 1);
        Assert.Equal(1, _h.Call(EpollWait, ep, output, 8, 0)); // the open file is still open through its dup
        _h.Call(Close, copy);
        Assert.Throws<ProgramDeadlockException>(() => _h.Call(EpollWait, ep, output, 8, unchecked((ulong)-1)));
    }

    [Fact]
    public void A_snapshot_keeps_a_pipe_that_is_open_as_one_pipe_with_two_ends()
    {
        var (r, w) = MakePipe();
        var state = _h.Process.Capture();
        var ends = state.Descriptors.Where(d => d.Number == r || d.Number == w).Select(d => state.Descriptions[d.Description]).ToArray();
        Assert.Equal([ProcessState.DescriptionKind.PipeRead, ProcessState.DescriptionKind.PipeWrite], ends.Select(d => d.Kind));
        Assert.Single(state.Pipes);
        _ = Kill;
    }

    public void Dispose() => _h.Dispose();
}
