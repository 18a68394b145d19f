using Snapfn.Linux.Abi;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Syscalls;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>
/// Issue 18's argument attacks on the system-call table itself, without KVM: a process over plain anonymous guest
/// memory, whose low 2 MiB (the VMM's page tables, GDT, stub and vDSO in a real VM) hold a marker that no call may
/// touch. Every combination of edge values (0, page edges, the end of guest memory, 2^63, the last page, 2^64 - 1)
/// goes through the address-space and transfer calls: each must return a result or an errno, never throw.
/// </summary>
public sealed class SyscallArgumentTests : IDisposable
{
    private const ulong MemorySize = 64UL << 20;
    private const ulong Page = 4096;
    private const byte Marker = 0xa5;
    private const ulong Read = 0, Write = 1, Poll = 7, Mmap = 9, Mprotect = 10, Munmap = 11, Brk = 12, Pread64 = 17, Readv = 19,
        Writev = 20, Mremap = 25, Madvise = 28, Getdents64 = 217;

    private readonly string _root = Directory.CreateTempSubdirectory("snapfn-args-root-").FullName;
    private readonly GuestMemory _memory = new(MemoryMapping.Anonymous(MemorySize));
    private readonly LinuxProcess _process;

    public SyscallArgumentTests()
    {
        _memory.Span(0, ProcessGuest.ProgramBase).Fill(Marker);
        _process = LinuxProcess.WithoutVm(new ProcessOptions { RootDirectory = _root, Program = "/none", Arguments = ["/none"] }, _memory);
    }

    public static TheoryData<ulong> Edges => [.. EdgeValues];

    private static ulong[] EdgeValues =>
    [
        0, 1, Page - 1, Page, ProcessGuest.ProgramBase, MemorySize - Page, MemorySize - 16, MemorySize, MemorySize + Page,
        0x7ffff000, 1UL << 63, ulong.MaxValue - Page + 1, ulong.MaxValue - Page + 2, ulong.MaxValue - 15, ulong.MaxValue,
    ];

    private long Call(ulong number, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0) =>
        _process.Dispatch(number, new SyscallArgs(a0, a1, a2, a3, a4, a5));

    private ulong MapPattern(ulong length, byte value)
    {
        var address = Call(Mmap, 0, length, 3, 0x22, ulong.MaxValue, 0);
        Assert.True(address > 0, $"mmap failed with {address}");
        _memory.Span((ulong)address, length).Fill(value);
        return (ulong)address;
    }

    private void AssertVmmPagesIntact() =>
        Assert.True(_memory.Span(0, ProcessGuest.ProgramBase).IndexOfAnyExcept(Marker) < 0, "a system call changed the VMM's low 2 MiB");

    [Fact]
    public void Brk_past_2_64_returns_the_break_and_discards_nothing()
    {
        var start = Call(Brk, 0);
        Assert.Equal(start + (long)(16 * Page), Call(Brk, (ulong)start + 16 * Page));
        _memory.Span((ulong)start, 16 * Page).Fill(0x3c);
        foreach (var end in new[] { 0xfffffffffffff001UL, ulong.MaxValue, ulong.MaxValue - Page + 1, 1UL << 63 })
            Assert.Equal(start + (long)(16 * Page), Call(Brk, end));
        Assert.True(_memory.Span((ulong)start, 16 * Page).IndexOfAnyExcept((byte)0x3c) < 0);
        AssertVmmPagesIntact();
    }

    [Fact]
    public void Wrapping_lengths_get_linuxs_errno_and_change_nothing()
    {
        var m = MapPattern(4 * Page, 0x5a);
        const ulong roundsPast = ulong.MaxValue - Page + 2, lastPage = ulong.MaxValue - Page + 1;
        Assert.Equal(-Errno.EINVAL, Call(Munmap, m, roundsPast));
        Assert.Equal(-Errno.EINVAL, Call(Munmap, m, lastPage));
        Assert.Equal(-Errno.EINVAL, Call(Munmap, lastPage, Page));
        Assert.Equal(-Errno.ENOMEM, Call(Mprotect, m, roundsPast, 1));
        Assert.Equal(-Errno.ENOMEM, Call(Mprotect, lastPage, Page, 1));
        Assert.Equal(-Errno.EINVAL, Call(Madvise, m, roundsPast, 4));
        Assert.Equal(-Errno.EINVAL, Call(Madvise, m, lastPage, 4));
        Assert.Equal(-Errno.ENOMEM, Call(Mmap, 0, roundsPast, 3, 0x22, ulong.MaxValue, 0));
        Assert.Equal(-Errno.ENOMEM, Call(Mmap, lastPage, 2 * Page, 3, 0x32, ulong.MaxValue, 0));
        Assert.Equal(-Errno.EINVAL, Call(Mremap, m, Page, roundsPast, 1));
        Assert.Equal(-Errno.EINVAL, Call(Mremap, m, roundsPast, Page, 0));
        Assert.True(_memory.Span(m, 4 * Page).IndexOfAnyExcept((byte)0x5a) < 0, "a refused call changed the mapping");
        Assert.True(_process.Space.IsMapped(m, 4 * Page, Protection.Read | Protection.Write));
        AssertVmmPagesIntact();
    }

    [Fact]
    public void Iovec_and_pollfd_arrays_near_2_64_are_EFAULT_and_iov_len_above_ssize_max_is_EINVAL()
    {
        var m = MapPattern(Page, 0);
        Assert.Equal(-Errno.EFAULT, Call(Readv, 0, ulong.MaxValue - 15, 2));
        Assert.Equal(-Errno.EFAULT, Call(Writev, 1, ulong.MaxValue - Page + 1, 1024));
        Assert.Equal(-Errno.EINVAL, Call(Readv, 0, m, 1025));
        Assert.Equal(-Errno.EFAULT, Call(Poll, ulong.MaxValue - 7, 2, 0));
        _process.User.Write(m, new Kernel.iovec { iov_base = m, iov_len = 16 });
        _process.User.Write(m + 16, new Kernel.iovec { iov_base = m, iov_len = 1UL << 63 });
        Assert.Equal(-Errno.EINVAL, Call(Writev, 1, m, 2));
        AssertVmmPagesIntact();
    }

    /// <summary>Every pair of edge values as (address, length) of each address-space call, and as (buffer, count)
    /// of each transfer: a result or an errno each time, the VMM's pages untouched, the process still working.</summary>
    [Theory]
    [MemberData(nameof(Edges))]
    public void No_edge_value_makes_a_call_throw_or_touch_the_vmms_pages(ulong first)
    {
        var m = MapPattern(4 * Page, 0x5a);
        foreach (var second in EdgeValues)
        {
            foreach (var (number, a0, a1, a2, a3, a4) in new (ulong, ulong, ulong, ulong, ulong, ulong)[]
            {
                (Munmap, first, second, 0, 0, 0), (Mprotect, first, second, 1, 0, 0), (Madvise, first, second, 4, 0, 0),
                (Mmap, first, second, 3, 0x22, ulong.MaxValue), (Mmap, first, second, 3, 0x32, ulong.MaxValue),
                (Mremap, first, second, Page, 1, 0), (Mremap, m, Page, second, 3, first),
                (Read, 0, first, second, 0, 0), (Write, 1, first, second, 0, 0), (Pread64, 0, first, second, 0, 0),
                (Readv, 0, first, second, 0, 0), (Writev, 1, first, second, 0, 0), (Poll, first, second, 0, 0, 0),
                (Getdents64, 0, first, second, 0, 0), (Brk, first, 0, 0, 0, 0),
            })
            {
                var result = Call(number, a0, a1, a2, a3, a4);
                Assert.True(result >= -4095, $"syscall {number}(0x{a0:x}, 0x{a1:x}, 0x{a2:x}) returned {result}");
                AssertVmmPagesIntact();
            }
            // Put the test's mapping back for the next round (some combinations legitimately unmap or move it).
            Call(Munmap, ProcessGuest.ProgramBase, _process.Space.StackBottom - ProcessGuest.ProgramBase);
            m = MapPattern(4 * Page, 0x5a);
        }
        Assert.True(Call(Brk, 0) > 0);
        Assert.True(_process.Space.IsMapped(_process.Space.StackBottom, AddressSpace.StackSize, Protection.Write), "the stack was unmapped");
    }

    public void Dispose()
    {
        _process.Dispose();
        _memory.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
