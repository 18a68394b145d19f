using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using static Snapfn.Linux.Files.PollEvents;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// poll, ppoll, select, pselect6 and epoll: readiness as each file reports it (<see cref="OpenFile.Poll"/>). Regular
/// files, directories and devices are always ready, as on Linux; pipes and eventfds are ready as their contents say;
/// the invocation channel is always ready, so that a program that polls it goes on to read it, and waits in that
/// read for its next request (READY). With nothing ready, a call with a timeout sleeps it, and one without waits
/// for a timer's signal or stops the program (<see cref="Waits"/>). A signal ends a wait with EINTR, never a restart.
/// </summary>
internal static class PollCalls
{
    private const int SelectIn = POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR;
    private const int SelectOut = POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR;
    private const int SelectEx = POLLPRI;

    public static long Poll(LinuxProcess p, in SyscallArgs a) => PollFds(p, a.A0, a.A1, Waits.FromMilliseconds(AsInt(a.A2)));

    public static long Ppoll(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryTimeout(p, a.A2, out var timeout))
            return -Errno.EINVAL;
        if (!TrySetTemporaryMask(p, a.A3, a.A4, out var errno))
            return errno;
        var deadline = Deadline(p, timeout);
        var result = PollFds(p, a.A0, a.A1, timeout);
        EndTemporaryMask(p, a.A3, result);
        WriteRemaining(p, a.A2, deadline, asTimeval: false);
        return result;
    }

    private static long PollFds(LinuxProcess p, ulong address, ulong count, long timeout)
    {
        if (count > FdTable.Limit)
            return -Errno.EINVAL;
        if (!GuestRange.TryCreateArray(address, count, (ulong)Unsafe.SizeOf<Kernel.pollfd>(), out var array))
            return -Errno.EFAULT;
        var entries = MemoryMarshal.Cast<byte, Kernel.pollfd>(p.User.Writable(array));
        var ready = Scan(p, entries);
        if (ready > 0 || timeout == 0)
            return ready;
        var woken = Waits.Block(p, timeout, $"polls {count} descriptor(s) with no timeout, none of which can become ready");
        return woken < 0 ? Interrupted(woken) : Scan(p, entries);
    }

    private static int Scan(LinuxProcess p, Span<Kernel.pollfd> entries)
    {
        var ready = 0;
        foreach (ref var entry in entries)
        {
            entry.revents = entry.fd < 0 ? (short)0
                : p.Files.Get(entry.fd) is not { } file ? (short)POLLNVAL
                : (short)(file.Poll() & ((ushort)entry.events | POLLERR | POLLHUP));
            if (entry.revents != 0)
                ready++;
        }
        return ready;
    }

    public static long Select(LinuxProcess p, in SyscallArgs a)
    {
        long timeout = Waits.Forever;
        if (a.A4 != 0)
        {
            var tv = p.User.Read<Kernel.timeval>(a.A4);
            if (tv.tv_sec < 0 || tv.tv_usec is < 0 or >= 1_000_000)
                return -Errno.EINVAL;
            timeout = tv.tv_sec > long.MaxValue / 1_000_000_000 - 1 ? long.MaxValue : tv.tv_sec * 1_000_000_000 + tv.tv_usec * 1000;
        }
        var deadline = Deadline(p, timeout);
        var result = SelectFds(p, AsInt(a.A0), a.A1, a.A2, a.A3, timeout);
        WriteRemaining(p, a.A4, deadline, asTimeval: true);
        return result;
    }

    /// <summary>pselect6: its sixth argument points at { const sigset_t *ss; size_t ss_len }.</summary>
    public static long Pselect6(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryTimeout(p, a.A4, out var timeout))
            return -Errno.EINVAL;
        ulong mask = 0, size = 0;
        if (a.A5 != 0)
        {
            mask = p.User.Read<ulong>(a.A5);
            size = p.User.Read<ulong>(a.A5 + 8);
        }
        if (!TrySetTemporaryMask(p, mask, size, out var errno))
            return errno;
        var deadline = Deadline(p, timeout);
        var result = SelectFds(p, AsInt(a.A0), a.A1, a.A2, a.A3, timeout);
        EndTemporaryMask(p, mask, result);
        WriteRemaining(p, a.A4, deadline, asTimeval: false);
        return result;
    }

    private static long SelectFds(LinuxProcess p, int nfds, ulong inAddress, ulong outAddress, ulong exAddress, long timeout)
    {
        if (nfds < 0)
            return -Errno.EINVAL;
        nfds = Math.Min(nfds, FdTable.Limit);
        var bytes = (ulong)((nfds + 63) / 64 * 8);
        var sets = new ulong[3][];
        ulong[] addresses = [inAddress, outAddress, exAddress];
        for (var i = 0; i < 3; i++)
            sets[i] = addresses[i] == 0 ? new ulong[bytes / 8] : MemoryMarshal.Cast<byte, ulong>(p.User.Readable(addresses[i], bytes)).ToArray();
        for (var fd = 0; fd < nfds; fd++)
        {
            if (IsSet(sets, fd) && p.Files.Get(fd) is null)
                return -Errno.EBADF;
        }
        var results = new ulong[3][];
        var ready = ScanSets(p, nfds, sets, results);
        if (ready == 0 && timeout != 0)
        {
            var woken = Waits.Block(p, timeout, $"selects on {nfds} descriptor(s) with no timeout, none of which can become ready");
            if (woken < 0)
                return Interrupted(woken);
            ready = ScanSets(p, nfds, sets, results);
        }
        for (var i = 0; i < 3; i++)
        {
            if (addresses[i] != 0)
                p.User.Write(addresses[i], MemoryMarshal.AsBytes(results[i].AsSpan()));
        }
        return ready;
    }

    private static bool IsSet(ulong[][] sets, int fd) =>
        ((sets[0][fd / 64] | sets[1][fd / 64] | sets[2][fd / 64]) & (1UL << (fd % 64))) != 0;

    private static int ScanSets(LinuxProcess p, int nfds, ulong[][] sets, ulong[][] results)
    {
        for (var i = 0; i < 3; i++)
            results[i] = new ulong[sets[i].Length];
        var ready = 0;
        ReadOnlySpan<int> wanted = [SelectIn, SelectOut, SelectEx];
        for (var fd = 0; fd < nfds; fd++)
        {
            if (!IsSet(sets, fd))
                continue;
            var events = p.Files.Get(fd)!.Poll();
            for (var i = 0; i < 3; i++)
            {
                var bit = 1UL << (fd % 64);
                if ((sets[i][fd / 64] & bit) != 0 && (events & wanted[i]) != 0)
                {
                    results[i][fd / 64] |= bit;
                    ready++;
                }
            }
        }
        return ready;
    }

    public static long EpollCreate(LinuxProcess p, in SyscallArgs a) =>
        AsInt(a.A0) <= 0 ? -Errno.EINVAL : p.Files.Add(new EpollFile(0), closeOnExec: false);

    public static long EpollCreate1(LinuxProcess p, in SyscallArgs a) =>
        (AsInt(a.A0) & ~Libc.O_CLOEXEC) != 0 ? -Errno.EINVAL : p.Files.Add(new EpollFile(0), (AsInt(a.A0) & Libc.O_CLOEXEC) != 0);

    /// <summary>epoll_ctl with Linux's order of checks: the event is copied first, then both descriptors (EBADF), a
    /// file without readiness (EPERM: regular files, directories, devices), then the epoll descriptor itself and a
    /// file watching itself (EINVAL); another epoll instance is EPERM, where Linux would nest it.</summary>
    public static long EpollCtl(LinuxProcess p, in SyscallArgs a)
    {
        const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
        var op = AsInt(a.A1);
        var fd = AsInt(a.A2);
        var wanted = op != EPOLL_CTL_DEL ? p.User.Read<Kernel.epoll_event>(a.A3) : default;
        if (p.Files.Get(a.A0) is not { } epollFile || p.Files.Get(fd) is not { } target)
            return -Errno.EBADF;
        if (!target.CanEpoll && target is not EpollFile)
            return -Errno.EPERM;
        if (epollFile is not EpollFile epoll || ReferenceEquals(epollFile, target))
            return -Errno.EINVAL;
        if (target is EpollFile)
            return -Errno.EPERM; // Linux nests epoll instances; Snapfn does not
        if ((wanted.events & EpollFile.EPOLLEXCLUSIVE) != 0 &&
            (op == EPOLL_CTL_MOD || (wanted.events & ~(EpollFile.EPOLLEXCLUSIVE | EpollFile.EPOLLWAKEUP | EpollFile.EPOLLET | POLLIN | POLLOUT | POLLERR | POLLHUP)) != 0))
            return -Errno.EINVAL;
        return op switch
        {
            EPOLL_CTL_ADD => epoll.Add(fd, target, wanted.events, wanted.data),
            EPOLL_CTL_MOD => epoll.Modify(fd, target, wanted.events, wanted.data),
            EPOLL_CTL_DEL => epoll.Delete(fd, target),
            _ => -Errno.EINVAL,
        };
    }

    public static long EpollWait(LinuxProcess p, in SyscallArgs a) =>
        EpollWaitFor(p, AsInt(a.A0), a.A1, AsInt(a.A2), Waits.FromMilliseconds(AsInt(a.A3)));

    public static long EpollPwait(LinuxProcess p, in SyscallArgs a)
    {
        if (!TrySetTemporaryMask(p, a.A4, a.A5, out var errno))
            return errno;
        var result = EpollWaitFor(p, AsInt(a.A0), a.A1, AsInt(a.A2), Waits.FromMilliseconds(AsInt(a.A3)));
        EndTemporaryMask(p, a.A4, result);
        return result;
    }

    public static long EpollPwait2(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryTimeout(p, a.A3, out var timeout))
            return -Errno.EINVAL;
        if (!TrySetTemporaryMask(p, a.A4, a.A5, out var errno))
            return errno;
        var result = EpollWaitFor(p, AsInt(a.A0), a.A1, AsInt(a.A2), timeout);
        EndTemporaryMask(p, a.A4, result);
        return result;
    }

    private static long EpollWaitFor(LinuxProcess p, int epfd, ulong eventsAddress, int maxEvents, long timeout)
    {
        if (maxEvents <= 0 || maxEvents > int.MaxValue / Unsafe.SizeOf<Kernel.epoll_event>())
            return -Errno.EINVAL;
        if (p.Files.Get(epfd) is not { } file)
            return -Errno.EBADF;
        if (file is not EpollFile epoll)
            return -Errno.EINVAL;
        // Only what is reported is written, as Linux's __put_user of each event: a buffer sized for fewer than
        // maxevents is fine as long as no more are ready.
        var events = new Kernel.epoll_event[Math.Min(maxEvents, Math.Max(1, epoll.Count))];
        var n = epoll.Collect(events);
        if (n == 0 && timeout != 0)
        {
            var woken = Waits.Block(p, timeout, $"waits in epoll_wait on fd {epfd} with no timeout, and none of its {epoll.Count} registered file(s) can become ready");
            if (woken < 0)
                return Interrupted(woken);
            n = epoll.Collect(events);
        }
        if (n > 0)
            p.User.Write(eventsAddress, MemoryMarshal.AsBytes(events.AsSpan(0, n)));
        return n;
    }

    /// <summary>A wait ended by a signal: EINTR (these calls are never restarted, as Linux's with a handler).</summary>
    private static long Interrupted(long woken) => woken == -Waits.ERESTARTSYS ? -Errno.EINTR : woken;

    /// <summary>A timespec timeout (null pointer: forever) in nanoseconds; false for an invalid one (EINVAL).</summary>
    private static bool TryTimeout(LinuxProcess p, ulong address, out long timeout)
    {
        timeout = Waits.Forever;
        return address == 0 || TimeCalls.TryNanoseconds(p.User.Read<Kernel.timespec>(address), out timeout);
    }

    private static long Deadline(LinuxProcess p, long timeout) =>
        timeout < 0 ? long.MaxValue : p.Clock.Monotonic is var now && timeout > long.MaxValue - now ? long.MaxValue : now + timeout;

    /// <summary>Linux writes the time left back into select's and the raw ppoll's and pselect6's timeout.</summary>
    private static void WriteRemaining(LinuxProcess p, ulong address, long deadline, bool asTimeval)
    {
        if (address == 0 || deadline == long.MaxValue)
            return;
        var left = Math.Max(0, deadline - p.Clock.Monotonic);
        if (asTimeval)
            p.User.Write(address, new Kernel.timeval { tv_sec = left / 1_000_000_000, tv_usec = left % 1_000_000_000 / 1000 });
        else
            p.User.Write(address, new Kernel.timespec { tv_sec = left / 1_000_000_000, tv_nsec = left % 1_000_000_000 });
    }

    /// <summary>Puts the mask at <paramref name="address"/> (if any) in place for the wait; the old one is put back by
    /// <see cref="EndTemporaryMask"/>, or after the handler of the signal that ended the wait.</summary>
    private static bool TrySetTemporaryMask(LinuxProcess p, ulong address, ulong size, out long errno)
    {
        errno = 0;
        if (address == 0)
            return true;
        if (size != 8)
        {
            errno = -Errno.EINVAL;
            return false;
        }
        var mask = p.User.Read<ulong>(address);
        p.Signals.SavedMask = p.Signals.Mask;
        p.Signals.Mask = mask & ~SignalState.Unblockable;
        return true;
    }

    private static void EndTemporaryMask(LinuxProcess p, ulong address, long result)
    {
        if (address == 0 || result == -Errno.EINTR || p.Signals.SavedMask is not { } saved)
            return;
        p.Signals.Mask = saved;
        p.Signals.SavedMask = null;
    }
}
