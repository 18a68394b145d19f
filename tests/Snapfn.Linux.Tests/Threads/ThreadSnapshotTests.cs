using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;
using Snapfn.Linux.Tests.Syscalls;
using Snapfn.Linux.Threads;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Threads;

/// <summary>Issue 24: a snapshot of a program with threads keeps every thread — registers, FS base, FPU state, mask,
/// what it waits for — and a restored process runs them on as the original would; without KVM.</summary>
public sealed class ThreadSnapshotTests : IDisposable
{
    private const ulong Clone = 56, Futex = 202, Exit = 60, Gettid = 186, RtSigprocmask = 14, PthreadFlags = 0x3d0f00, Tls = 0x7f00_0000_1000;
    private readonly SyscallHarness _original = new();
    private readonly SyscallHarness _restored = new();
    private readonly RecordingCpu _cpu = new();

    public ThreadSnapshotTests()
    {
        _original.Process.Cpu = _cpu;
        _restored.Process.Cpu = new RecordingCpu();
    }

    [Fact]
    public void Every_thread_survives_a_snapshot_and_a_waiting_one_is_woken_after_the_restore()
    {
        var h = _original;
        var word = h.Scratch + 0x100;
        var childStack = h.Scratch + 0x80000;
        _cpu.Fpu = [0x11];
        Assert.Equal(2, h.Call(Clone, PthreadFlags, childStack, h.Scratch + 0x104, h.Scratch + 0x108, Tls));
        h.Write(h.Scratch + 0x40, 1UL << 13);
        h.Call(RtSigprocmask, 0, h.Scratch + 0x40, 0, 8); // main blocks SIGPIPE; the child does not
        h.Regs.r12 = 0x1212;
        h.Call(Futex, word, 0, 0); // main waits on the word: the child runs
        Assert.Equal(childStack, h.Regs.rsp);
        var state = ProcessState.Deserialize(h.Process.Capture().Serialize());

        Assert.Equal([2, 1], state.Threads.Select(t => t.Tid));
        Assert.True(state.Threads[0].OnCpu);
        Assert.Equal(Tls, state.Threads[0].FsBase);
        var main = state.Threads[1];
        Assert.Equal(WaitKind.Futex, main.Wait!.Kind);
        Assert.Equal(word, main.Wait.FutexAddress);
        Assert.Equal(0x1212UL, main.Registers.r12);
        Assert.Equal([0x11], main.Fpu);
        Assert.Equal(1UL << 13, main.Mask);

        // The memory and the vCPU (the child's registers) are the snapshot's; the process state is rebuilt.
        var r = _restored;
        h.Process.User.Readable(h.Scratch, 1 << 20).CopyTo(r.Process.User.Writable(h.Scratch, 1 << 20));
        state.ApplyTo(r.Process);
        r.Regs = h.Regs;
        Assert.Equal(2, r.Process.Threads.Count);
        Assert.Equal(2, r.Call(Gettid));
        Assert.Equal(Tls, r.Process.FsBase);
        Assert.Equal(0UL, r.Process.Signals.Mask);
        Assert.Equal(1, r.Call(Futex, word, 1, 1)); // the child wakes main, which waits in the restored process
        r.Call(Exit, 0);
        Assert.Equal(0x1212UL, r.Regs.r12);
        Assert.Equal(SyscallTrap.ReturnAddress, r.Regs.rip);
        Assert.Equal(0UL, r.Regs.rax);
        Assert.Equal(1, r.Call(Gettid));
        Assert.Equal(1UL << 13, r.Process.Signals.Mask);
        Assert.Equal([0x11], ((RecordingCpu)r.Process.Cpu).Fpu);
    }

    [Fact]
    public void A_state_without_threads_restores_one_thread_and_a_crafted_thread_list_is_refused()
    {
        var plain = ProcessState.Deserialize(_original.Process.Capture().Serialize());
        Assert.Equal(1, Assert.Single(plain.Threads).Tid);

        var h = _original;
        h.Call(Clone, PthreadFlags, h.Scratch + 0x80000, h.Scratch + 0x104, h.Scratch + 0x108, Tls);
        var state = h.Process.Capture();
        // A state file is data from disk: two threads with one id, or a second thread "on the vCPU", are refused.
        var twins = WithThreads(state, [state.Threads[0], state.Threads[1] with { Tid = state.Threads[0].Tid }]);
        Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(twins.Serialize()));
        var bytes = WithThreads(state, [state.Threads[0], state.Threads[1] with { OnCpu = true }]).Serialize();
        Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(bytes));
    }

    [Fact]
    public void Each_threads_nice_value_survives_a_snapshot_and_an_out_of_range_one_is_refused()
    {
        const ulong Getpriority = 140, Setpriority = 141;
        var h = _original;
        Assert.Equal(0, h.Call(Setpriority, 0, 0, 3));
        Assert.Equal(2, h.Call(Clone, PthreadFlags, h.Scratch + 0x80000, h.Scratch + 0x104, h.Scratch + 0x108, Tls));
        Assert.Equal(0, h.Call(Setpriority, 0, 2, 7)); // the new thread, by its id; main keeps 3
        var state = ProcessState.Deserialize(h.Process.Capture().Serialize());

        state.ApplyTo(_restored.Process);
        Assert.Equal(20 - 3, _restored.Call(Getpriority, 0, 1));
        Assert.Equal(20 - 7, _restored.Call(Getpriority, 0, 2));
        var bytes = WithThreads(state, [state.Threads[0] with { Nice = 20 }, state.Threads[1]]).Serialize();
        Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(bytes));
    }

    [Fact]
    public void Restoring_more_threads_than_the_limit_says_what_to_do()
    {
        var h = _original;
        h.Call(Clone, PthreadFlags, h.Scratch + 0x80000, h.Scratch + 0x104, h.Scratch + 0x108, Tls);
        h.Call(Clone, PthreadFlags, h.Scratch + 0x90000, h.Scratch + 0x104, h.Scratch + 0x108, Tls);
        var state = h.Process.Capture();
        using var small = new SyscallHarness(maxThreads: 2);
        var e = Assert.Throws<ProcessRestoreException>(() => state.ApplyTo(small.Process));
        Assert.Contains("MaxThreads", e.Message, StringComparison.Ordinal);
    }

    private static ProcessState WithThreads(ProcessState s, ProcessState.ThreadRecord[] threads) => new()
    {
        Program = s.Program, RootFingerprint = s.RootFingerprint, Cwd = s.Cwd, Umask = s.Umask, FsBase = s.FsBase, ThreadName = s.ThreadName,
        BrkStart = s.BrkStart, BrkEnd = s.BrkEnd, Mappings = s.Mappings, Descriptions = s.Descriptions, Descriptors = s.Descriptors,
        SignalActions = s.SignalActions, SignalMask = s.SignalMask, AlternateStack = s.AlternateStack, PendingRead = s.PendingRead, Tmp = s.Tmp,
        Threads = threads, LeaderExitStatus = s.LeaderExitStatus,
    };

    public void Dispose()
    {
        _original.Dispose();
        _restored.Dispose();
    }
}
