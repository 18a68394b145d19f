using Snapfn.Linux.Memory;
using Snapfn.Linux.Threads;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// A thread's robust futex list (set_robust_list), walked as Linux walks it when the thread exits
/// (kernel/futex/core.c, exit_robust_list): every futex on the list, and the one in list_op_pending, whose owner
/// bits are the thread's id gets FUTEX_OWNER_DIED (keeping FUTEX_WAITERS), and one waiter is woken when it had
/// waiters; a pending futex with no owner gets its waiter woken. That is how a robust pthread mutex held by a thread
/// that ends is handed to the next locker with EOWNERDEAD instead of never being unlocked.
/// Every pointer is the program's and is checked: the walk stops at the first one that cannot be read (or a futex
/// word that cannot be written or is misaligned), after at most <see cref="Limit"/> entries (a circular list), and
/// never fails the exit.
/// </summary>
internal static class RobustList
{
    /// <summary>Linux's ROBUST_LIST_LIMIT: entries looked at before a list is taken to be circular.</summary>
    public const int Limit = 2048;

    /// <summary>struct robust_list_head: list.next, futex_offset, list_op_pending.</summary>
    public const int HeadSize = 24;

    public const uint FUTEX_WAITERS = 0x8000_0000, FUTEX_OWNER_DIED = 0x4000_0000, FUTEX_TID_MASK = 0x3fff_ffff;

    /// <summary>Walks <paramref name="thread"/>'s list (its set_robust_list head; none when 0).</summary>
    public static void Release(LinuxProcess p, GuestThread thread)
    {
        var head = thread.RobustList;
        if (head == 0 || !TryFetchEntry(p, head, out var entry, out var pi) || !TryRead(p, head + 8, out ulong futexOffset) ||
            !TryFetchEntry(p, head + 16, out var pending, out var pendingPi))
            return;
        var left = Limit;
        while (entry != head)
        {
            // The next entry is read before this one's futex is touched: the futex word may share its memory.
            var fetched = TryFetchEntry(p, entry, out var next, out var nextPi);
            // A pending lock may already be on the list: it is handled once, at the end.
            if (entry != pending && !HandleDeath(p, thread.Tid, unchecked(entry + futexOffset), pi, pendingOp: false))
                return;
            if (!fetched)
                return;
            (entry, pi) = (next, nextPi);
            if (--left == 0)
                break;
        }
        if (pending != 0)
            HandleDeath(p, thread.Tid, unchecked(pending + futexOffset), pendingPi, pendingOp: true);
    }

    /// <summary>A list pointer: its bit 0 says the futex is a PI one (as glibc marks them).</summary>
    private static bool TryFetchEntry(LinuxProcess p, ulong address, out ulong entry, out bool pi)
    {
        var ok = TryRead(p, address, out ulong raw);
        entry = raw & ~1UL;
        pi = (raw & 1) != 0;
        return ok;
    }

    private static bool TryRead<T>(LinuxProcess p, ulong address, out T value) where T : unmanaged
    {
        try
        {
            value = p.User.Read<T>(address);
            return true;
        }
        catch (BadAddressException)
        {
            value = default;
            return false;
        }
    }

    /// <summary>Linux's handle_futex_death: false stops the walk (a word that cannot be read or written).</summary>
    private static bool HandleDeath(LinuxProcess p, int tid, ulong address, bool pi, bool pendingOp)
    {
        if ((address & 3) != 0 || !TryRead(p, address, out uint value))
            return false;
        var owner = value & FUTEX_TID_MASK;
        // The owner unlocked (the word is 0) but died before its FUTEX_WAKE, or a woken waiter died before it took
        // the lock: wake the next waiter and leave the word alone, so that it takes an uncontended lock.
        if (pendingOp && !pi && owner == 0)
        {
            p.Threads.WakeFutex(address, uint.MaxValue, 1);
            return true;
        }
        if (owner != (uint)tid)
            return true;
        try
        {
            p.User.Write(address, (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED);
        }
        catch (BadAddressException)
        {
            return false;
        }
        // A PI futex's waiters are woken by its PI state, which Snapfn does not keep (FUTEX_LOCK_PI is ENOSYS).
        if (!pi && (value & FUTEX_WAITERS) != 0)
            p.Threads.WakeFutex(address, uint.MaxValue, 1);
        return true;
    }
}
