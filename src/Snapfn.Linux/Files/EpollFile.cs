using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// An epoll instance: the (descriptor, open file) pairs it watches, each with the events wanted and the program's
/// data word. As on Linux, a registration belongs to the open file: it outlives a close of its descriptor while a
/// dup of it is open, and lapses when the file is closed for good. Readiness is asked of each file when the
/// program waits (level-triggered); EPOLLET reports a file again only once its readiness has changed since it was
/// last reported, EPOLLONESHOT disables a registration once reported until EPOLL_CTL_MOD. An epoll instance cannot
/// watch another (EINVAL), which Linux allows.
/// </summary>
public sealed class EpollFile : OpenFile
{
    /// <summary>Registrations one instance may hold (epoll_ctl is ENOSPC past it, as past max_user_watches).</summary>
    public const int MaxRegistrations = 4096;

    public const uint EPOLLEXCLUSIVE = 1u << 28;
    public const uint EPOLLWAKEUP = 1u << 29;
    public const uint EPOLLONESHOT = 1u << 30;
    public const uint EPOLLET = 1u << 31;

    private static long _nextInode = 0x30000;
    private readonly ulong _inode = (ulong)Interlocked.Increment(ref _nextInode);
    private readonly List<Registration> _registrations = [];

    public EpollFile(int statusFlags) : base("anon_inode:[eventpoll]", Interop.Libc.O_RDWR | statusFlags)
    {
    }

    private sealed class Registration(int fd, OpenFile file)
    {
        public int Fd { get; } = fd;

        public OpenFile File { get; } = file;

        public uint Events { get; set; }

        public ulong Data { get; set; }

        public long ReportedVersion { get; set; } = -1;

        public bool Disabled { get; set; }
    }

    public int Count => _registrations.Count;

    public int Add(int fd, OpenFile file, uint events, ulong data)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (Find(fd, file) is not null)
            return -Errno.EEXIST;
        if (_registrations.Count >= MaxRegistrations)
        {
            _registrations.RemoveAll(r => r.File.IsClosed);
            if (_registrations.Count >= MaxRegistrations)
                return -Errno.ENOSPC;
        }
        _registrations.Add(new Registration(fd, file) { Events = events, Data = data });
        return 0;
    }

    public int Modify(int fd, OpenFile file, uint events, ulong data)
    {
        if (Find(fd, file) is not { } r)
            return -Errno.ENOENT;
        if ((r.Events & EPOLLEXCLUSIVE) != 0 || (events & EPOLLEXCLUSIVE) != 0)
            return -Errno.EINVAL;
        r.Events = events;
        r.Data = data;
        r.Disabled = false;
        r.ReportedVersion = -1;
        return 0;
    }

    public int Delete(int fd, OpenFile file)
    {
        if (Find(fd, file) is not { } r)
            return -Errno.ENOENT;
        _registrations.Remove(r);
        return 0;
    }

    /// <summary>The live registrations in order (the order <see cref="Collect"/> reports them in), for a snapshot:
    /// <c>Reported</c> is true where an edge-triggered one has reported its file's readiness and it has not changed since.</summary>
    internal IEnumerable<(int Fd, OpenFile File, uint Events, ulong Data, bool Disabled, bool Reported)> Registrations() =>
        _registrations.Where(r => !r.File.IsClosed).Select(r => (r.Fd, r.File, r.Events, r.Data, r.Disabled, r.ReportedVersion == r.File.ReadinessVersion));

    /// <summary>Adds a registration as a snapshot had it (see <see cref="Registrations"/>): 0, or EEXIST or ENOSPC as
    /// <see cref="Add"/>. Called once the file holds what it held, so that "reported" means its present readiness.</summary>
    internal int Restore(int fd, OpenFile file, uint events, ulong data, bool disabled, bool reported)
    {
        var added = Add(fd, file, events, data);
        if (added < 0)
            return added;
        var r = _registrations[^1];
        r.Disabled = disabled;
        r.ReportedVersion = reported ? file.ReadinessVersion : -1;
        return 0;
    }

    private Registration? Find(int fd, OpenFile file) =>
        _registrations.Find(r => r.Fd == fd && ReferenceEquals(r.File, file));

    /// <summary>Fills <paramref name="events"/> with the registrations ready now, at most its length; the ones
    /// reported move to the back, so that a short buffer sees every ready file in turn.</summary>
    public int Collect(Span<Kernel.epoll_event> events)
    {
        _registrations.RemoveAll(r => r.File.IsClosed);
        var reported = new List<Registration>();
        foreach (var r in _registrations)
        {
            if (reported.Count == events.Length)
                break;
            var ready = Ready(r);
            if (ready == 0)
                continue;
            var version = r.File.ReadinessVersion;
            if ((r.Events & EPOLLET) != 0)
            {
                if (version == r.ReportedVersion)
                    continue;
                r.ReportedVersion = version;
            }
            if ((r.Events & EPOLLONESHOT) != 0)
                r.Disabled = true;
            events[reported.Count] = new Kernel.epoll_event { events = ready, data = r.Data };
            reported.Add(r);
        }
        foreach (var r in reported)
        {
            _registrations.Remove(r);
            _registrations.Add(r);
        }
        return reported.Count;
    }

    private static uint Ready(Registration r) =>
        r.Disabled ? 0 : (uint)r.File.Poll() & (r.Events | PollEvents.POLLERR | PollEvents.POLLHUP) & 0xffff;

    /// <summary>Readable when a registration is ready (level, without consuming an edge).</summary>
    public override int Poll()
    {
        foreach (var r in _registrations)
        {
            if (!r.File.IsClosed && Ready(r) != 0)
                return PollEvents.Readable;
        }
        return 0;
    }

    public override int Stat(out Kernel.stat st) => AnonymousInodeStat(_inode, out st);
}
