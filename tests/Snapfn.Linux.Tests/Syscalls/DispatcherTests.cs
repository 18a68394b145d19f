using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>The dispatcher's guarantee: whatever a handler throws, a program's system call ends as an errno or as
/// the program's own failure naming the call, never as a VMM error.</summary>
public sealed class DispatcherTests
{
    private const ulong Munmap = 11;
    private static readonly SyscallArgs _args = new(0x200000, 0xfffffffffffff001);

    [Fact]
    public void A_bad_pointer_is_EFAULT_and_a_helpers_errno_is_returned()
    {
        Assert.Equal(-Errno.EFAULT, LinuxProcess.Serve(null!, (LinuxProcess p, in SyscallArgs a) => throw new BadAddressException(a.A0, a.A1), Munmap, _args));
        Assert.Equal(-Errno.ENAMETOOLONG,
            LinuxProcess.Serve(null!, (LinuxProcess p, in SyscallArgs a) => throw new SyscallErrorException(Errno.ENAMETOOLONG), Munmap, _args));
    }

    /// <summary>Issue 18: a host mmap that failed under munmap ended the run with "snapfn: mmap … failed".</summary>
    [Fact]
    public void Any_other_exception_stops_the_program_as_its_failure_naming_the_call()
    {
        var host = new IOException("mmap(guest memory) failed: Invalid argument");
        var e = Assert.Throws<SyscallFailedException>(() =>
            LinuxProcess.Serve(null!, (LinuxProcess p, in SyscallArgs a) => throw host, Munmap, _args));
        Assert.IsAssignableFrom<Vmm.GuestFailureException>(e);
        Assert.Same(host, e.InnerException);
        Assert.Equal("munmap(0x200000, 0xfffffffffffff001, 0x0, 0x0, 0x0, 0x0)", e.Call);
        Assert.Contains("munmap(0x200000, 0xfffffffffffff001", e.Message, StringComparison.Ordinal);
        Assert.Contains("the program was stopped", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_guest_failure_passes_through_unchanged()
    {
        var failure = new ChannelException("broken frame");
        Assert.Same(failure, Assert.Throws<ChannelException>(() =>
            LinuxProcess.Serve(null!, (LinuxProcess p, in SyscallArgs a) => throw failure, 1, _args)));
    }

    /// <summary>A refactoring of the call path dropped the recording: crash reports listed no last system calls and
    /// the strace was empty. Every call that ends is recorded with its result, a refused one too.</summary>
    [Fact]
    public void Every_served_call_is_recorded_for_the_crash_report_with_its_result()
    {
        using var h = new SyscallHarness();
        var before = h.Process.SyscallCount;
        var pid = h.Call(39);
        Assert.Equal(-Errno.ENOSYS, h.Call(100_000, 7));
        Assert.Equal(before + 2, h.Process.SyscallCount);
        var lines = h.Process.RecentSyscalls().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"  getpid(0x0, 0x0, 0x0) = 0x{pid:x}", lines[^2]);
        Assert.Equal("  syscall_100000(0x7, 0x0, 0x0) = -1 ENOSYS", lines[^1]);
    }
}
