using System.Text;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Tests.Syscalls;

namespace Snapfn.Linux.Tests.Files;

/// <summary>
/// Issue 24: a snapshot of a program with pipes, eventfds, epoll instances, socket pairs and made-up files open (what
/// Node's libuv and Python's asyncio hold at their first read of the channel, docs/threads.md) keeps each one: what it
/// holds, its flags, which descriptors share it, what epoll watches and has reported. Each test builds the objects by
/// system calls, takes the state through its bytes, restores it into a fresh process and asks that one by system
/// calls; without KVM.
/// </summary>
public sealed class DescriptorSnapshotTests : IDisposable
{
    private const ulong Read = 0, Write = 1, Close = 3, Fstat = 5, Poll = 7, Lseek = 8, Dup = 32, Sendto = 44, Recvfrom = 45,
        Shutdown = 48, Socketpair = 53, Setsockopt = 54, Getsockopt = 55, Fcntl = 72, Getdents64 = 217, EpollWait = 232, EpollCtl = 233,
        Openat = 257, Eventfd2 = 290, EpollCreate1 = 291, Pipe2 = 293;
    private const int O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, O_DIRECTORY = 0x10000, EFD_SEMAPHORE = 1, F_GETFD = 1, F_GETFL = 3, F_SETFL = 4,
        F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032, POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 0x10, EPOLL_CTL_ADD = 1, EPOLL_CTL_MOD = 3,
        AF_UNIX = 1, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5, SOL_SOCKET = 1, SO_SNDBUF = 7, SO_KEEPALIVE = 9, SHUT_WR = 1;
    private const uint EPOLLIN = 1, EPOLLET = 1u << 31, EPOLLONESHOT = 1u << 30;
    private const ulong AtFdCwd = unchecked((ulong)-100);

    private readonly SyscallHarness _h = new();
    private readonly List<SyscallHarness> _restored = [];

    public void Dispose()
    {
        _h.Dispose();
        foreach (var r in _restored)
            r.Dispose();
    }

    /// <summary>The state through its bytes, put into a fresh process (whose scratch memory is at the same address).</summary>
    /// <summary>With <paramref name="copy"/>, that range of the memory too, as a snapshot's memory holds it.</summary>
    private SyscallHarness Restore(long pipeBufferLimit = ProcessOptions.DefaultPipeBufferLimit, (ulong Start, int Length)? copy = null,
        long sharedFileMappingLimit = ProcessOptions.DefaultSharedFileMappingLimit)
    {
        var state = ProcessState.Deserialize(_h.Process.Capture().Serialize());
        var r = new SyscallHarness(pipeBufferLimit, sharedFileMappingLimit: sharedFileMappingLimit);
        _restored.Add(r);
        Assert.Equal(_h.Scratch, r.Scratch);
        if (copy is var (start, length))
            _h.Process.Memory.Span(start, (ulong)length).CopyTo(r.Process.Memory.Span(start, (ulong)length));
        state.ApplyTo(r.Process);
        return r;
    }

    private static (int A, int B) Pair(SyscallHarness h, ulong call, ulong a0, ulong a1 = 0, ulong a2 = 0)
    {
        Assert.Equal(0, call == Pipe2 ? h.Call(Pipe2, h.Scratch, a0) : h.Call(Socketpair, a0, a1, a2, h.Scratch));
        return (h.Read<int>(h.Scratch), h.Read<int>(h.Scratch + 4));
    }

    private static long Send(SyscallHarness h, int fd, string text)
    {
        var at = h.Scratch + 0x80000;
        h.Process.User.Write(at, Encoding.ASCII.GetBytes(text));
        return h.Call(Write, (ulong)fd, at, (ulong)text.Length);
    }

    private static string Receive(SyscallHarness h, int fd, int count = 64)
    {
        var at = h.Scratch + 0x90000;
        var n = h.Call(Read, (ulong)fd, at, (ulong)count);
        return n < 0 ? $"errno {-n}" : Encoding.ASCII.GetString(h.Process.User.Readable(at, (ulong)n));
    }

    private static int PollOne(SyscallHarness h, int fd, short events)
    {
        var at = h.Scratch + 0xa0000;
        h.Write(at, new Kernel.pollfd { fd = fd, events = events });
        Assert.Equal(1, h.Call(Poll, at, 1, 0));
        return h.Read<Kernel.pollfd>(at).revents;
    }

    /// <summary>epoll_wait without waiting: the data words reported, in order.</summary>
    private static ulong[] Ready(SyscallHarness h, int epoll)
    {
        var at = h.Scratch + 0xb0000;
        var n = h.Call(EpollWait, (ulong)epoll, at, 16, 0);
        Assert.True(n >= 0, $"epoll_wait: errno {-n}");
        return [.. Enumerable.Range(0, (int)n).Select(i => h.Read<Kernel.epoll_event>(at + (ulong)(i * 12)).data)];
    }

    private static long Watch(SyscallHarness h, int epoll, int op, int fd, uint events, ulong data)
    {
        var at = h.Scratch + 0xc0000;
        h.Write(at, new Kernel.epoll_event { events = events, data = data });
        return h.Call(EpollCtl, (ulong)epoll, (ulong)op, (ulong)fd, at);
    }

    private static ulong Inode(SyscallHarness h, int fd)
    {
        Assert.Equal(0, h.Call(Fstat, (ulong)fd, h.Scratch + 0xd0000));
        return h.Read<Kernel.stat>(h.Scratch + 0xd0000).st_ino;
    }

    [Fact]
    public void A_pipe_comes_back_with_its_bytes_its_capacity_its_flags_and_one_buffer_shared_by_its_ends_and_their_dups()
    {
        var (r, w) = Pair(_h, Pipe2, O_NONBLOCK | O_CLOEXEC);
        var r2 = (int)_h.Call(Dup, (ulong)r);
        Assert.Equal(8192, _h.Call(Fcntl, (ulong)w, F_SETPIPE_SZ, 5000));
        Assert.Equal(5, Send(_h, w, "hello"));

        var h = Restore();
        Assert.Equal(8192, h.Call(Fcntl, (ulong)r2, F_GETPIPE_SZ));
        Assert.Equal(1, h.Call(Fcntl, (ulong)r, F_GETFD));
        Assert.Equal(0, h.Call(Fcntl, (ulong)r2, F_GETFD)); // dup clears close-on-exec: a descriptor's own flag
        Assert.Equal(O_NONBLOCK | 1, h.Call(Fcntl, (ulong)w, F_GETFL)); // O_WRONLY
        Assert.Equal(Inode(h, r), Inode(h, w));
        Assert.Equal(POLLIN, PollOne(h, r, POLLIN));
        Assert.Equal("he", Receive(h, r, 2));
        Assert.Equal("llo", Receive(h, r2)); // one buffer behind both descriptors
        Assert.Equal($"errno {Errno.EAGAIN}", Receive(h, r));
        Assert.Equal(0, h.Call(Fcntl, (ulong)r, F_SETFL, 0));
        Assert.Equal(0, h.Call(Fcntl, (ulong)r2, F_GETFL)); // one description behind r and r2: blocking both
        Assert.Equal(3, Send(h, w, "abc"));
        Assert.Equal("abc", Receive(h, r2));
    }

    [Fact]
    public void A_pipe_with_a_closed_end_comes_back_at_end_of_file_or_broken()
    {
        var (r, w) = Pair(_h, Pipe2, 0);
        Assert.Equal(3, Send(_h, w, "end"));
        Assert.Equal(0, _h.Call(Close, (ulong)w));
        var (r2, w2) = Pair(_h, Pipe2, 0);
        Assert.Equal(0, _h.Call(Close, (ulong)r2));

        var h = Restore();
        Assert.Equal(POLLIN | POLLHUP, PollOne(h, r, POLLIN));
        Assert.Equal("end", Receive(h, r));
        Assert.Equal("", Receive(h, r)); // no writer: end of file, not a wait
        Assert.Equal($"errno {Errno.EBADF}", Receive(h, w));
        Assert.Equal(POLLOUT | POLLERR, PollOne(h, w2, POLLOUT));
    }

    [Fact]
    public void An_eventfd_comes_back_with_its_counter_and_its_semaphore_flag()
    {
        var plain = (int)_h.Call(Eventfd2, 7, O_NONBLOCK);
        var semaphore = (int)_h.Call(Eventfd2, 3, EFD_SEMAPHORE);

        var h = Restore();
        Assert.Equal(8, h.Call(Read, (ulong)plain, h.Scratch, 8));
        Assert.Equal(7UL, h.Read<ulong>(h.Scratch));
        Assert.Equal(-Errno.EAGAIN, h.Call(Read, (ulong)plain, h.Scratch, 8));
        Assert.Equal(O_NONBLOCK | 2, h.Call(Fcntl, (ulong)plain, F_GETFL));
        Assert.Equal(8, h.Call(Read, (ulong)semaphore, h.Scratch, 8));
        Assert.Equal(1UL, h.Read<ulong>(h.Scratch));
        Assert.Equal(POLLIN | POLLOUT, PollOne(h, semaphore, POLLIN | POLLOUT)); // 2 left
    }

    /// <summary>libuv's loop at the snapshot point: an epoll instance over its signal pipe and its async eventfd.</summary>
    [Fact]
    public void An_epoll_instance_comes_back_watching_the_same_files_with_its_edge_and_one_shot_states()
    {
        var ep = (int)_h.Call(EpollCreate1, O_CLOEXEC);
        var (r, w) = Pair(_h, Pipe2, O_NONBLOCK);
        var ev = (int)_h.Call(Eventfd2, 0, O_NONBLOCK);
        var (a, b) = Pair(_h, Socketpair, AF_UNIX, SOCK_STREAM | O_NONBLOCK);
        Assert.Equal(0, Watch(_h, ep, EPOLL_CTL_ADD, r, EPOLLIN, 0xa1));
        Assert.Equal(0, Watch(_h, ep, EPOLL_CTL_ADD, ev, EPOLLIN | EPOLLET, 0xe1));
        Assert.Equal(0, Watch(_h, ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLONESHOT, 0x51));
        Assert.Equal(1, Send(_h, w, "x"));
        _h.Write(_h.Scratch + 0x200, 1UL);
        Assert.Equal(8, _h.Call(Write, (ulong)ev, _h.Scratch + 0x200, 8));
        Assert.Equal(1, Send(_h, b, "s"));
        Assert.Equal([0xa1UL, 0xe1, 0x51], Ready(_h, ep));
        // The registration of r belongs to its file: it stays while a dup is open, under the number it was made with.
        var r2 = (int)_h.Call(Dup, (ulong)r);
        Assert.Equal(0, _h.Call(Close, (ulong)r));

        var h = Restore();
        Assert.Equal(1, h.Call(Fcntl, (ulong)ep, F_GETFD));
        Assert.Equal([0xa1UL], Ready(h, ep)); // level-triggered: still there; the edge was reported; the one-shot is spent
        Assert.Equal(-Errno.ENOENT, Watch(h, ep, EPOLL_CTL_MOD, r2, EPOLLIN, 0xa2)); // registered as r, not r2
        Assert.Equal("x", Receive(h, r2));
        Assert.Equal([], Ready(h, ep));
        h.Write(h.Scratch + 0x200, 1UL);
        Assert.Equal(8, h.Call(Write, (ulong)ev, h.Scratch + 0x200, 8));
        Assert.Equal([0xe1UL], Ready(h, ep)); // a new edge
        Assert.Equal([], Ready(h, ep));
        Assert.Equal(0, Watch(h, ep, EPOLL_CTL_MOD, a, EPOLLIN, 0x52)); // the one-shot re-armed
        Assert.Equal([0x52UL], Ready(h, ep));
        Assert.Equal("s", Receive(h, a));
        Assert.Equal(1, Send(h, w, "y"));
        Assert.Equal(0, h.Call(Close, (ulong)r2)); // the file's last descriptor: its registration lapses
        Assert.Equal([], Ready(h, ep));
    }

    [Fact]
    public void A_socket_pair_comes_back_with_its_queues_its_boundaries_its_shutdowns_and_its_options()
    {
        var (a, b) = Pair(_h, Socketpair, AF_UNIX, SOCK_STREAM | O_NONBLOCK);
        Assert.Equal(3, Send(_h, a, "abc"));
        Assert.Equal(2, Send(_h, a, "de"));
        Assert.Equal(0, _h.Call(Shutdown, (ulong)a, SHUT_WR));
        _h.Write(_h.Scratch + 0x300, 1);
        Assert.Equal(0, _h.Call(Setsockopt, (ulong)b, SOL_SOCKET, SO_KEEPALIVE, _h.Scratch + 0x300, 4));
        _h.Write(_h.Scratch + 0x300, 10000);
        Assert.Equal(0, _h.Call(Setsockopt, (ulong)b, SOL_SOCKET, SO_SNDBUF, _h.Scratch + 0x300, 4));
        var (x, y) = Pair(_h, Socketpair, AF_UNIX, SOCK_DGRAM);
        Assert.Equal(1, Send(_h, x, "1"));
        Assert.Equal(2, Send(_h, x, "23"));
        var (s, t) = Pair(_h, Socketpair, AF_UNIX, SOCK_SEQPACKET);
        Assert.Equal(4, Send(_h, s, "last"));
        Assert.Equal(0, _h.Call(Close, (ulong)s));

        var h = Restore();
        Assert.Equal("abcde", Receive(h, b));
        Assert.Equal("", Receive(h, b)); // the peer shut its sending side
        Assert.Equal(4, Send(h, b, "back"));
        Assert.Equal("back", Receive(h, a));
        Assert.NotEqual(Inode(h, a), Inode(h, b));
        foreach (var (name, expected) in new[] { (SO_KEEPALIVE, 1), (SO_SNDBUF, 20000) })
        {
            h.Write(h.Scratch + 0x400, 4);
            Assert.Equal(0, h.Call(Getsockopt, (ulong)b, SOL_SOCKET, (ulong)name, h.Scratch + 0x300, h.Scratch + 0x400));
            Assert.Equal(expected, h.Read<int>(h.Scratch + 0x300));
        }
        Assert.Equal("1", Receive(h, y)); // one message a read
        Assert.Equal("23", Receive(h, y));
        Assert.Equal(1, Send(h, y, "!"));
        Assert.Equal("!", Receive(h, x));
        Assert.Equal(POLLIN | POLLHUP, PollOne(h, t, POLLIN) & (POLLIN | POLLHUP));
        Assert.Equal("last", Receive(h, t));
        Assert.Equal("", Receive(h, t));
    }

    [Fact]
    public void A_made_up_file_and_a_made_up_directory_come_back_at_their_offsets()
    {
        var passwd = (int)_h.Call(Openat, AtFdCwd, _h.Text(_h.Scratch + 0x500, "/etc/passwd"), 0);
        Assert.Equal("root:", Receive(_h, passwd, 5));
        var fdDirectory = (int)_h.Call(Openat, AtFdCwd, _h.Text(_h.Scratch + 0x500, "/proc/self/fd"), O_DIRECTORY);
        Assert.True(fdDirectory > 0);
        var first = _h.Call(Getdents64, (ulong)fdDirectory, _h.Scratch + 0x600, 24); // "." alone fits
        Assert.Equal(24, first);

        var h = Restore();
        Assert.Equal("x:0:0", Receive(h, passwd, 5));
        Assert.Equal(5 + 5, h.Call(Lseek, (ulong)passwd, 0, 1));
        var n = h.Call(Getdents64, (ulong)fdDirectory, h.Scratch + 0x600, 4096);
        Assert.True(n > 0);
        var names = new List<string>();
        for (var at = 0L; at < n;)
        {
            var record = h.Scratch + 0x600 + (ulong)at;
            names.Add(Encoding.ASCII.GetString(h.Process.User.Readable(record + 19, 8)).Split('\0')[0]);
            at += h.Read<ushort>(record + 16);
        }
        Assert.Equal(["..", "0", "1", "2", passwd.ToString(), fdDirectory.ToString()], names);
    }

    [Fact]
    public void A_pipe_the_restored_process_cannot_buffer_says_which_limit_to_raise()
    {
        var (_, w) = Pair(_h, Pipe2, 0);
        Assert.Equal(1 << 20, _h.Call(Fcntl, (ulong)w, F_SETPIPE_SZ, 1 << 20));
        var e = Assert.Throws<ProcessRestoreException>(() => Restore(pipeBufferLimit: 1 << 16));
        Assert.Contains("PipeBufferLimit", e.Message, StringComparison.Ordinal);
    }

    private const ulong Mmap = 9, Pread = 17, Pwrite = 18, Ftruncate = 77, Rename = 82, Msync = 26;
    private const int Page = 4096, O_RDWR = 2, O_CREAT = 0x40, PROT_RW = 3, MAP_SHARED = 1, MS_SYNC = 4;

    private (int Fd, ulong Map) MapShared(string name)
    {
        var fd = (int)_h.Call(Openat, AtFdCwd, _h.Text(_h.Scratch + 0x500, "/tmp/" + name), O_RDWR | O_CREAT, 0x1a4);
        Assert.True(fd > 0);
        Assert.Equal(0, _h.Call(Ftruncate, (ulong)fd, 2 * Page));
        var map = _h.Call(Mmap, 0, 2 * Page, PROT_RW, MAP_SHARED, (ulong)fd, 0);
        Assert.True(map > 0, $"mmap: {map}");
        return (fd, (ulong)map);
    }

    private static string HostBytes(SyscallHarness h, string name, int offset, int length) =>
        Encoding.ASCII.GetString(File.ReadAllBytes(Path.Combine(h.Process.TmpDirectory, name)), offset, length);

    [Fact]
    public void A_shared_mapping_of_a_tmp_file_comes_back_and_goes_on_writing_back()
    {
        var (fd, map) = MapShared("m");
        _h.Process.User.Write(map + 10, "stored"u8);

        var h = Restore(copy: (map, 2 * Page));
        Assert.Equal("stored", HostBytes(h, "m", 10, 6)); // the snapshot wrote it back before /tmp was taken
        Assert.Equal("stored", Encoding.ASCII.GetString(h.Process.User.Readable(map + 10, 6)));
        h.Process.User.Write(map + Page, "after"u8);
        Assert.Equal(5, h.Call(Pread, (ulong)fd, h.Scratch + 0x700, 5, Page)); // a read of the file sees the store
        Assert.Equal("after", Encoding.ASCII.GetString(h.Process.User.Readable(h.Scratch + 0x700, 5)));
        Assert.Equal(3, h.Call(Pwrite, (ulong)fd, h.Text(h.Scratch + 0x700, "pw!"), 3, 20)); // a write of the file reaches the mapping
        Assert.Equal("pw!", Encoding.ASCII.GetString(h.Process.User.Readable(map + 20, 3)));
        h.Process.User.Write(map + 30, "synced"u8);
        Assert.Equal(0, h.Call(Msync, map, 2 * Page, MS_SYNC));
        Assert.Equal("synced", HostBytes(h, "m", 30, 6));
        Assert.NotEqual("synced", HostBytes(_h, "m", 30, 6)); // the copy's own /tmp, not the original's
    }

    [Fact]
    public void A_shared_mapping_past_the_restored_limit_or_of_a_renamed_file_is_refused_saying_why()
    {
        MapShared("big");
        var e = Assert.Throws<ProcessRestoreException>(() => Restore(sharedFileMappingLimit: Page));
        Assert.Contains("SharedFileMappingLimit", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _h.Call(Rename, _h.Text(_h.Scratch + 0x500, "/tmp/big"), _h.Text(_h.Scratch + 0x600, "/tmp/moved")));
        var renamed = Assert.Throws<SnapshotStateException>(() => _h.Process.Capture());
        Assert.Contains("/tmp/big", renamed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_memfd_at_the_snapshot_point_is_refused_saying_why()
    {
        const ulong MemfdCreate = 319;
        var fd = _h.Call(MemfdCreate, _h.Text(_h.Scratch + 0x500, "cache"), 0);
        Assert.True(fd >= 0);
        var e = Assert.Throws<SnapshotStateException>(() => _h.Process.Capture());
        Assert.Contains("/memfd:cache (deleted)", e.Message, StringComparison.Ordinal);
    }

    /// <summary>An attack on the restore: a state whose MAP_SHARED mapping names a host file — through <c>..</c> past
    /// /tmp, or through a link the program made in its /tmp — never opens it. The mapping's file is looked up in the
    /// guest's own root (a link's target too), where no such file is: the restore is refused naming the mapping, and
    /// the planted host file keeps its random token.</summary>
    [Theory]
    [InlineData("dot-dot")]
    [InlineData("link")]
    public void A_shared_mapping_that_names_a_host_file_never_reaches_it(string how)
    {
        var host = Directory.CreateTempSubdirectory("snapfn-shared-attack-").FullName;
        try
        {
            var target = Path.Combine(host, "secret");
            var token = Guid.NewGuid().ToString("N");
            File.WriteAllText(target, token);
            var (_, map) = MapShared("m");
            const ulong Symlinkat = 266;
            Assert.Equal(0, _h.Call(Symlinkat, _h.Text(_h.Scratch + 0x500, target), AtFdCwd, _h.Text(_h.Scratch + 0x600, "/tmp/link")));
            var s = _h.Process.Capture();
            var path = how == "dot-dot" ? "/tmp/" + string.Concat(Enumerable.Repeat("../", 16)) + target.TrimStart('/') : "/tmp/link";
            var crafted = With(s, s.Descriptions, mappings: [.. s.Mappings.Select(m => m.Start == map ? m with { Path = path } : m)]);
            Assert.Contains(crafted.Mappings, m => m.Path == path && m.Shared);

            var r = new SyscallHarness();
            _restored.Add(r);
            var e = Assert.Throws<ProcessRestoreException>(() => ProcessState.Deserialize(crafted.Serialize()).ApplyTo(r.Process));
            Assert.Contains($"the program had {path} mapped MAP_SHARED", e.Message, StringComparison.Ordinal);
            Assert.Equal(token, File.ReadAllText(target));
        }
        finally
        {
            Directory.Delete(host, recursive: true);
        }
    }

    private ProcessState Captured()
    {
        var (r, w) = Pair(_h, Pipe2, 0);
        Assert.Equal(2, Send(_h, w, "hi"));
        Pair(_h, Socketpair, AF_UNIX, SOCK_STREAM);
        var ep = (int)_h.Call(EpollCreate1, 0);
        Assert.Equal(0, Watch(_h, ep, EPOLL_CTL_ADD, r, EPOLLIN, 1));
        return _h.Process.Capture();
    }

    private static ProcessState With(ProcessState s, IReadOnlyList<ProcessState.Description> descriptions, IReadOnlyList<ProcessState.PipeRecord>? pipes = null,
        IReadOnlyList<Mapping>? mappings = null) => new()
    {
        Program = s.Program, RootFingerprint = s.RootFingerprint, Cwd = s.Cwd, Umask = s.Umask, FsBase = s.FsBase, ThreadName = s.ThreadName,
        BrkStart = s.BrkStart, BrkEnd = s.BrkEnd, Mappings = mappings ?? s.Mappings, Descriptions = descriptions, Pipes = pipes ?? s.Pipes,
        Descriptors = [], SignalActions = s.SignalActions, SignalMask = s.SignalMask, AlternateStack = s.AlternateStack, PendingRead = s.PendingRead,
        Tmp = s.Tmp, Threads = s.Threads, LeaderExitStatus = s.LeaderExitStatus,
    };

    private static ProcessState.Description[] Replace(ProcessState s, Func<ProcessState.Description, ProcessState.Description> change) =>
        [.. s.Descriptions.Select(change)];

    public static TheoryData<string> Crafted => new()
    {
        "pipe capacity", "pipe bytes", "pipe index", "pipe without end", "two read ends", "socket peer", "socket type", "socket queue",
        "epoll target", "epoll of epoll", "epoll twice", "eventfd counter", "made-up path", "unknown kind", "shared outside tmp",
        "shared anonymous",
    };

    /// <summary>A state file is data from disk: each crafted reference or count is refused as malformed, not followed.</summary>
    [Theory]
    [MemberData(nameof(Crafted))]
    public void A_crafted_description_is_refused(string what)
    {
        var s = Captured();
        ProcessState.Description Kind(ProcessState.Description d, ProcessState.DescriptionKind kind, Func<ProcessState.Description, ProcessState.Description> change) =>
            d.Kind == kind ? change(d) : d;
        var epoll = s.Descriptions.Single(d => d.Kind == ProcessState.DescriptionKind.Epoll);
        var watches = ((ProcessState.EpollState)epoll.State!).Watches;
        var crafted = what switch
        {
            "pipe capacity" => With(s, s.Descriptions, [new ProcessState.PipeRecord(5000, [])]),
            "pipe bytes" => With(s, s.Descriptions, [new ProcessState.PipeRecord(4096, new byte[4097])]),
            "pipe index" => With(s, Replace(s, d => Kind(d, ProcessState.DescriptionKind.PipeRead, d => d with { State = new ProcessState.PipeEndState(7) }))),
            "pipe without end" => With(s, s.Descriptions, [.. s.Pipes, new ProcessState.PipeRecord(4096, [])]),
            "two read ends" => With(s, Replace(s, d => Kind(d, ProcessState.DescriptionKind.PipeWrite, d => d with { Kind = ProcessState.DescriptionKind.PipeRead }))),
            "socket peer" => With(s, Replace(s, d => Kind(d, ProcessState.DescriptionKind.Socket, d => d with { State = ((ProcessState.SocketState)d.State!) with { Peer = 0 } }))),
            "socket type" => With(s, Replace(s, d => Kind(d, ProcessState.DescriptionKind.Socket, d => d with
            {
                State = ((ProcessState.SocketState)d.State!) with { End = ((ProcessState.SocketState)d.State!).End with { Type = 3 } },
            }))),
            "socket queue" => With(s, Replace(s, d => Kind(d, ProcessState.DescriptionKind.Socket, d => d with
            {
                State = ((ProcessState.SocketState)d.State!) with { End = ((ProcessState.SocketState)d.State!).End with { Queue = [new byte[1], new byte[1]] } },
            }))),
            "epoll target" => With(s, [.. s.Descriptions.Select(d => d == epoll ? d with { State = new ProcessState.EpollState([watches[0] with { Target = 99 }]) } : d)]),
            "epoll of epoll" => With(s, [.. s.Descriptions.Select(d => d == epoll ? d with { State = new ProcessState.EpollState([watches[0] with { Target = s.Descriptions.ToList().IndexOf(epoll) }]) } : d)]),
            "epoll twice" => With(s, [.. s.Descriptions.Select(d => d == epoll ? d with { State = new ProcessState.EpollState([watches[0], watches[0] with { Data = 2 }]) } : d)]),
            "eventfd counter" => With(s, [.. s.Descriptions, new ProcessState.Description(ProcessState.DescriptionKind.Event, "", 2, 0) { State = new ProcessState.EventState(ulong.MaxValue, false) }]),
            "made-up path" => With(s, [.. s.Descriptions, new ProcessState.Description(ProcessState.DescriptionKind.Synthetic, "/etc/shadow", 0, 0)]),
            "shared outside tmp" => With(s, s.Descriptions, mappings: [.. s.Mappings, new Mapping(0x7f00000, 0x7f01000, Protection.Read,
                MappingKind.File, "/function/data", 0, Shared: true)]),
            "shared anonymous" => With(s, s.Descriptions, mappings: [.. s.Mappings, new Mapping(0x7f00000, 0x7f01000, Protection.Read,
                MappingKind.Anonymous, "/tmp/x", 0, Shared: true)]),
            "unknown kind" => With(s, [.. s.Descriptions, new ProcessState.Description((ProcessState.DescriptionKind)99, "/x", 0, 0)]),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
        var bytes = crafted.Serialize();
        Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(bytes));
        // The same state as captured is read back, so that each refusal above is its own check's.
        Assert.Equal(s.Descriptions.Count, ProcessState.Deserialize(With(s, s.Descriptions).Serialize()).Descriptions.Count);
    }
}
