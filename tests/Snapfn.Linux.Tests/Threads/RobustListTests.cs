using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;
using Snapfn.Linux.Tests.Syscalls;
using Snapfn.Linux.Threads;

namespace Snapfn.Linux.Tests.Threads;

/// <summary>Issue 24: a thread's robust futex list is walked when it exits, as Linux's exit_robust_list walks it: the
/// futexes it holds get FUTEX_OWNER_DIED and one waiter is woken; the walk is bounded and every pointer is checked.
/// The lists are laid out as glibc lays them: a node inside each mutex, its lock word at a negative offset.</summary>
public sealed class RobustListTests : IDisposable
{
    private const ulong Clone = 56, Exit = 60, Futex = 202, SchedYield = 24, SetRobustList = 273, Mprotect = 10;
    private const ulong FUTEX_WAIT = 0, PthreadFlags = 0x3d0f00;
    private const uint Waiters = RobustList.FUTEX_WAITERS, OwnerDied = RobustList.FUTEX_OWNER_DIED;
    private const long FutexOffset = -0x20;
    private const uint Child = 2;

    private readonly SyscallHarness _h = new();
    private readonly ulong _mainStack;

    public RobustListTests()
    {
        _h.Process.Cpu = new RecordingCpu();
        _mainStack = _h.Regs.rsp;
    }

    private ulong Head => _h.Scratch + 0x1000;

    private ulong Timeout => _h.Scratch + 0x200;

    private ulong Entry(int i) => _h.Scratch + 0x2000 + ((ulong)i * 0x40);

    private static ulong FutexOf(ulong entry) => unchecked(entry + (ulong)FutexOffset);

    /// <summary>head → entries[0] → … → head, with <paramref name="pending"/> as list_op_pending.</summary>
    private void Link(ulong[] entries, ulong pending = 0, long futexOffset = FutexOffset)
    {
        _h.Write(Head, entries.Length > 0 ? entries[0] : Head);
        for (var i = 0; i < entries.Length; i++)
            _h.Write(entries[i], i + 1 < entries.Length ? entries[i + 1] : Head);
        _h.Write(Head + 8, futexOffset);
        _h.Write(Head + 16, pending);
    }

    private long StartThread(ulong stack) => _h.Call(Clone, PthreadFlags, stack, _h.Scratch + 0x104, _h.Scratch + 0x108, 0);

    /// <summary>Main starts thread 2 and waits on <paramref name="word"/> (with a 1 s timeout when asked); thread 2
    /// registers <see cref="Head"/> and exits. Returns main's futex result.</summary>
    private long ChildExitsWhileMainWaits(ulong word, bool timeout = false)
    {
        var childStack = _h.Scratch + 0x80000;
        Assert.Equal((long)Child, StartThread(childStack));
        _h.Write(Timeout, new Kernel.timespec { tv_sec = 1 });
        _h.Call(Futex, word, FUTEX_WAIT, _h.Read<uint>(word), timeout ? Timeout : 0);
        Assert.Equal(childStack, _h.Regs.rsp);
        Assert.Equal(0, _h.Call(SetRobustList, Head, 24));
        _h.Call(Exit, 0);
        Assert.Equal(_mainStack, _h.Regs.rsp);
        Assert.Null(_h.Process.Exit);
        return (long)_h.Regs.rax;
    }

    [Fact]
    public void The_mutexes_an_exiting_thread_holds_get_owner_died_and_a_waiter_is_woken()
    {
        ulong[] entries = [Entry(0), Entry(1), Entry(2)];
        Link(entries);
        _h.Write(FutexOf(entries[0]), Child | Waiters); // held, contended: main waits on it
        _h.Write(FutexOf(entries[1]), Child);           // held, nobody waits
        _h.Write(FutexOf(entries[2]), 7u);              // another thread's: not touched
        Assert.Equal(0, ChildExitsWhileMainWaits(FutexOf(entries[0])));
        Assert.Equal(Waiters | OwnerDied, _h.Read<uint>(FutexOf(entries[0])));
        Assert.Equal(OwnerDied, _h.Read<uint>(FutexOf(entries[1])));
        Assert.Equal(7u, _h.Read<uint>(FutexOf(entries[2])));
    }

    [Fact]
    public void The_walk_stops_after_robust_list_limit_entries()
    {
        var entries = Enumerable.Range(0, RobustList.Limit + 1).Select(Entry).ToArray();
        Link(entries);
        foreach (var entry in entries)
            _h.Write(FutexOf(entry), Child);
        Assert.Equal(-Errno.ETIMEDOUT, ChildExitsWhileMainWaits(_h.Scratch + 0x100, timeout: true));
        Assert.All(entries[..RobustList.Limit], e => Assert.Equal(OwnerDied, _h.Read<uint>(FutexOf(e))));
        Assert.Equal(Child, _h.Read<uint>(FutexOf(entries[^1])));
    }

    [Fact]
    public void A_circular_list_ends_the_walk_and_the_exit()
    {
        Link([Entry(0)]);
        _h.Write(Entry(0), Entry(0)); // points at itself
        _h.Write(FutexOf(Entry(0)), Child);
        Assert.Equal(-Errno.ETIMEDOUT, ChildExitsWhileMainWaits(_h.Scratch + 0x100, timeout: true));
        Assert.Equal(OwnerDied, _h.Read<uint>(FutexOf(Entry(0))));
    }

    [Fact]
    public void A_pending_unlocked_futex_gets_its_waiter_woken_and_keeps_its_value()
    {
        Link([], pending: Entry(0));
        _h.Write(FutexOf(Entry(0)), 0u); // released, but its owner died before FUTEX_WAKE
        Assert.Equal(0, ChildExitsWhileMainWaits(FutexOf(Entry(0))));
        Assert.Equal(0u, _h.Read<uint>(FutexOf(Entry(0))));
    }

    [Fact]
    public void A_pending_lock_already_on_the_list_is_handled_once()
    {
        // Handled twice, its second pass would see no owner and wake the second waiter too.
        Link([Entry(0)], pending: Entry(0));
        var word = FutexOf(Entry(0));
        _h.Write(word, Child | Waiters);
        var childStack = _h.Scratch + 0x80000;
        var thirdStack = _h.Scratch + 0xA0000;
        Assert.Equal((long)Child, StartThread(childStack));
        Assert.Equal(3, StartThread(thirdStack));
        _h.Call(Futex, word, FUTEX_WAIT, Child | Waiters);   // main waits: thread 2 runs
        _h.Call(SchedYield);                                  // thread 3 runs
        Assert.Equal(thirdStack, _h.Regs.rsp);
        _h.Call(Futex, word, FUTEX_WAIT, Child | Waiters);   // it waits too: thread 2 again
        Assert.Equal(childStack, _h.Regs.rsp);
        _h.Call(SetRobustList, Head, 24);
        _h.Call(Exit, 0);
        Assert.Equal(_mainStack, _h.Regs.rsp); // the longest waiter
        Assert.Equal(Waiters | OwnerDied, _h.Read<uint>(word));
        Assert.Equal(GuestThreadState.Waiting, _h.Process.Threads.Find(3)!.State);
    }

    [Fact]
    public void A_pending_lock_the_thread_took_gets_owner_died_too()
    {
        Link([Entry(0)], pending: Entry(1));
        _h.Write(FutexOf(Entry(0)), Child);
        _h.Write(FutexOf(Entry(1)), Child | Waiters);
        Assert.Equal(0, ChildExitsWhileMainWaits(FutexOf(Entry(1))));
        Assert.Equal(OwnerDied, _h.Read<uint>(FutexOf(Entry(0))));
        Assert.Equal(Waiters | OwnerDied, _h.Read<uint>(FutexOf(Entry(1))));
    }

    public static TheoryData<string> HostileHeads() => ["null", "end of memory", "last word of memory", "kernel half"];

    [Theory]
    [MemberData(nameof(HostileHeads))]
    public void A_head_the_program_cannot_read_is_not_walked(string where)
    {
        var head = where switch
        {
            "null" => 0x8UL,
            "end of memory" => SyscallHarness.MemorySize,
            "last word of memory" => SyscallHarness.MemorySize - 8,
            _ => 0xffff_ffff_ffff_fff8UL,
        };
        var childStack = _h.Scratch + 0x80000;
        StartThread(childStack);
        _h.Write(Timeout, new Kernel.timespec { tv_sec = 1 });
        _h.Call(Futex, _h.Scratch + 0x100, FUTEX_WAIT, 0, Timeout);
        Assert.Equal(0, _h.Call(SetRobustList, head, 24)); // Linux keeps any pointer: it is read at exit
        _h.Call(Exit, 0);
        Assert.Equal(_mainStack, _h.Regs.rsp);
        Assert.Null(_h.Process.Exit);
    }

    [Fact]
    public void An_entry_that_points_out_of_memory_ends_the_walk_after_the_entries_before_it()
    {
        Link([Entry(0), Entry(1)]);
        _h.Write(Entry(0), 0xffff_ffff_ffff_fff8UL); // next: wraps when the offset is added, then cannot be read
        _h.Write(FutexOf(Entry(0)), Child);
        _h.Write(FutexOf(Entry(1)), Child);
        Assert.Equal(-Errno.ETIMEDOUT, ChildExitsWhileMainWaits(_h.Scratch + 0x100, timeout: true));
        Assert.Equal(OwnerDied, _h.Read<uint>(FutexOf(Entry(0))));
        Assert.Equal(Child, _h.Read<uint>(FutexOf(Entry(1))));
    }

    [Theory]
    [InlineData(long.MaxValue)]  // far past the guest's memory
    [InlineData(-0x1000_0000)]   // below address 0: wraps to the top of the 64-bit space
    [InlineData(-0x1f)]          // a misaligned word
    public void A_futex_offset_that_leads_nowhere_ends_the_walk(long offset)
    {
        Link([Entry(0)], futexOffset: offset);
        _h.Write(FutexOf(Entry(0)), Child);
        Assert.Equal(-Errno.ETIMEDOUT, ChildExitsWhileMainWaits(_h.Scratch + 0x100, timeout: true));
        Assert.Equal(Child, _h.Read<uint>(FutexOf(Entry(0))));
    }

    [Fact]
    public void A_futex_word_in_read_only_memory_is_left_alone_and_ends_the_walk()
    {
        var page = _h.Scratch + 0xF0000;
        var readOnly = page + 0x20; // its futex word is at the page's start
        Link([readOnly, Entry(1)]);
        _h.Write(page, Child);
        _h.Write(FutexOf(Entry(1)), Child);
        Assert.Equal(0, _h.Call(Mprotect, page, 4096, 1 /* PROT_READ */));
        Assert.Equal(-Errno.ETIMEDOUT, ChildExitsWhileMainWaits(_h.Scratch + 0x100, timeout: true));
        Assert.Equal(Child, _h.Read<uint>(page));
        Assert.Equal(Child, _h.Read<uint>(FutexOf(Entry(1))));
    }

    public void Dispose() => _h.Dispose();
}
