using System.Security.Cryptography;
using Snapfn.Interop;
using Snapfn.Linux;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Threads;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Fuzz.Targets;

/// <summary>
/// The snapshot state file (<see cref="StateFile"/>) with the Linux process state inside it. The input is the
/// file without its trailing SHA-256, which the harness appends: a random byte would otherwise stop at the
/// checksum, and the checksum is no defence against a file written on purpose. Allowed: <see cref="SnapshotInvalidException"/>.
/// </summary>
public sealed class StateFileTarget : FuzzTarget
{
    private const string Path = "/fuzz/state";

    public override string Name => "state-file";

    public override string Description => "StateFile.Deserialize (and ProcessState.Deserialize inside it), checksum appended by the harness";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var file = new byte[input.Length + 32];
        input.CopyTo(file);
        SHA256.HashData(input, file.AsSpan(input.Length));
        SnapshotState state;
        try
        {
            state = StateFile.Deserialize(file, Path, SnapshotRemedy.TakeSnapshot("fuzz"));
        }
        catch (SnapshotInvalidException e)
        {
            if (!e.Message.Contains(Path, StringComparison.Ordinal))
                throw new InvariantViolatedException($"a refusal that does not name the file: {e.Message}", e);
            return;
        }
        // What was accepted can be written again, what is written is read again, and it writes the same bytes: no
        // field (a thread's wait, its signal state) is lost or changed on the way through a snapshot and a restore.
        var written = StateFile.Serialize(state);
        SnapshotState again;
        try
        {
            again = StateFile.Deserialize(written, Path, SnapshotRemedy.TakeSnapshot("fuzz"));
        }
        catch (SnapshotInvalidException e)
        {
            throw new InvariantViolatedException($"an accepted state, written again, is refused: {e.Message}", e);
        }
        if (!StateFile.Serialize(again).AsSpan().SequenceEqual(written))
            throw new InvariantViolatedException("an accepted state, written again and read back, writes different bytes");
    }

    public override IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        var vcpu = new VcpuState(new Kvm.kvm_regs { rip = 0x200000, rsp = 0x7fff000 }, default, new byte[64], default,
            [new MsrValue(0x10, 12345), new MsrValue(0xc0000082, 0x7000)]);
        var c = new SnapshotState
        {
            Id = new Guid("6c3f0b1e-0000-4000-8000-000000000001"), Function = "hello-world", ElfSha256 = new string('a', 64),
            MemorySize = 128UL << 20, ImageEnd = 0x300000, MemoryFileName = SnapshotFolder.MemoryFileNameOf(new Guid("6c3f0b1e-0000-4000-8000-000000000002")), CreatedAt = DateTimeOffset.UnixEpoch, Vcpu = vcpu,
            VmmPagesSha256 = new byte[32], MemoryDigest = new MemoryDigest(2UL << 20, [.. Enumerable.Range(0, 64).Select(i => (UInt128)i)]),
        };
        yield return ("c-function", Body(c));
        var actions = new Kernel.kernel_sigaction[Linux.Syscalls.SignalState.Count + 1];
        actions[2] = new Kernel.kernel_sigaction { sa_handler = 0x401000, sa_flags = 0x04000000 };
        var process = new ProcessState
        {
            Program = "/usr/bin/python3", RootFingerprint = "f00d", Cwd = "/function", ThreadName = "python3"u8.ToArray(),
            BrkStart = 0x600000, BrkEnd = 0x621000,
            Mappings =
            [
                new Mapping(0x400000, 0x401000, Protection.Read | Protection.Execute, MappingKind.File, "/usr/bin/python3", 0),
                new Mapping(0x600000, 0x621000, Protection.Read | Protection.Write, MappingKind.Heap),
                new Mapping(0x7000000, 0x7800000, Protection.Read | Protection.Write, MappingKind.Stack),
            ],
            Descriptions =
            [
                new ProcessState.Description(ProcessState.DescriptionKind.StandardInput, "", 0, 0),
                new ProcessState.Description(ProcessState.DescriptionKind.Host, "/usr/lib/python3.11/os.py", 0, 42),
            ],
            Descriptors = [new ProcessState.Descriptor(0, 0, false), new ProcessState.Descriptor(5, 1, true)],
            SignalActions = actions, SignalMask = 1UL << 13, PendingRead = (0x7100000, 4096),
            Tmp =
            [
                new ProcessState.TmpEntry("cache", ProcessState.TmpEntryKind.Directory, 0x1ed, []),
                new ProcessState.TmpEntry("cache/model.bin", ProcessState.TmpEntryKind.File, 0x1a4, "weights"u8.ToArray()),
            ],
        };
        yield return ("linux-program", Body(c with { Function = "py-hello-world", Process = process }));
        // Threads (issue 24): the one on the vCPU, one waiting on a futex with a deadline, one waiting to read a pipe again.
        ProcessState.ThreadRecord Thread(int tid, ThreadWait? wait) => new(tid, tid == 1, tid == 1 ? ResumeKind.FromSyscall : wait?.Kind == WaitKind.Retry ? ResumeKind.Retry : ResumeKind.FromSyscall,
            202, 0, 0x7f0000001000UL * (ulong)tid, tid == 1 ? [] : new byte[512], tid == 1 ? default : new Kvm.kvm_regs { rip = SyscallTrap.ReturnAddress, rsp = 0x7100000UL + (ulong)tid * 0x10000, rax = 202 },
            1UL << 13, null, new Kernel.stack_t { ss_flags = 2 }, 0x7f0000000910, 0x7f0000000920, 24, null, wait);
        yield return ("linux-threads", Body(c with
        {
            Function = "py-threads",
            Process = new ProcessState
            {
                Program = process.Program, RootFingerprint = process.RootFingerprint, Cwd = process.Cwd, ThreadName = process.ThreadName,
                BrkStart = process.BrkStart, BrkEnd = process.BrkEnd, Mappings = process.Mappings, Descriptions = process.Descriptions,
                Descriptors = process.Descriptors, SignalActions = actions, SignalMask = 1UL << 13, PendingRead = (0x7100000, 4096), Tmp = [],
                Threads =
                [
                    Thread(1, null),
                    Thread(2, new ThreadWait(WaitKind.Futex, "waits on the futex at 0x7f0000000a00", 5_000_000_000, 0x7f0000000a00, uint.MaxValue)),
                    Thread(3, new ThreadWait(WaitKind.Retry, "reads the empty pipe at fd 5")),
                ],
            },
        }));
        // Open files (issue 24, process state version 3): what Node's libuv holds at its first read — an epoll instance
        // over a pipe's read end and an eventfd, a pipe with a byte buffered — and asyncio's socket pair, a datagram
        // pair with two messages, a made-up file at an offset, and a MAP_SHARED mapping of a /tmp file.
        ProcessState.Description Of(ProcessState.DescriptionKind kind, string path, int flags, ProcessState.DescriptionState? state) =>
            new(kind, path, flags, 0) { State = state };
        ProcessState.SocketState Socket(int peer, int type, params byte[][] queue) =>
            new(peer, new Linux.Files.SocketEnd.SocketEndState(type, 0, 212992, 212992, 0, false, [(9, 1)], queue));
        yield return ("linux-files", Body(c with
        {
            Function = "node-hello-world",
            Process = new ProcessState
            {
                Program = "/usr/bin/node", RootFingerprint = process.RootFingerprint, Cwd = process.Cwd, ThreadName = "node"u8.ToArray(),
                BrkStart = process.BrkStart, BrkEnd = process.BrkEnd, SignalActions = actions,
                Mappings = [.. process.Mappings, new Mapping(0x7f00000, 0x7f02000, Protection.Read | Protection.Write, MappingKind.File, "/tmp/shared", 0, Shared: true)],
                Tmp = [new ProcessState.TmpEntry("shared", ProcessState.TmpEntryKind.File, 0x1a4, new byte[8192])],
                Pipes = [new ProcessState.PipeRecord(65536, "*"u8.ToArray()), new ProcessState.PipeRecord(4096, [])],
                Descriptions =
                [
                    Of(ProcessState.DescriptionKind.StandardInput, "", 0, null),
                    Of(ProcessState.DescriptionKind.Epoll, "anon_inode:[eventpoll]", 2, new ProcessState.EpollState(
                    [
                        new ProcessState.EpollWatch(7, 4, 1, 7, false, false),
                        new ProcessState.EpollWatch(9, 5, 1u | (1u << 31), 9, false, true),
                    ])),
                    Of(ProcessState.DescriptionKind.PipeRead, "pipe:[1]", 0, new ProcessState.PipeEndState(0)),
                    Of(ProcessState.DescriptionKind.PipeWrite, "pipe:[1]", 1, new ProcessState.PipeEndState(0)),
                    Of(ProcessState.DescriptionKind.PipeRead, "pipe:[2]", 0x800, new ProcessState.PipeEndState(1)),
                    Of(ProcessState.DescriptionKind.Event, "anon_inode:[eventfd]", 0x802, new ProcessState.EventState(1, false)),
                    Of(ProcessState.DescriptionKind.Socket, "socket:[3]", 0x802, Socket(7, 1, [0])),
                    Of(ProcessState.DescriptionKind.Socket, "socket:[4]", 0x802, Socket(6, 1)),
                    Of(ProcessState.DescriptionKind.Socket, "socket:[5]", 2, Socket(9, 2, "a"u8.ToArray(), "bc"u8.ToArray())),
                    Of(ProcessState.DescriptionKind.Socket, "socket:[6]", 2, Socket(8, 2)),
                    new(ProcessState.DescriptionKind.Synthetic, "/proc/cpuinfo", 0, 12),
                ],
                Descriptors =
                [
                    new(0, 0, false), new(4, 1, true), new(5, 2, true), new(6, 3, true), new(7, 4, true), new(9, 5, true), new(10, 6, true),
                    new(11, 7, true), new(12, 8, false), new(13, 9, false), new(14, 10, true), new(20, 2, false),
                ],
            },
        }));
        // Every kind of wait and resume, and each thread's own signal state (a mask saved by rt_sigsuspend, an
        // alternate stack, a wait that a blocked signal also ends), with the main thread gone (exit status 3).
        ProcessState.ThreadRecord Other(int tid, ResumeKind resume, ThreadWait? wait) => Thread(tid, wait) with
        {
            Resume = resume, SavedMask = 1UL << 9, AlternateStack = new Kernel.stack_t { ss_sp = 0x7e0000000000UL + (ulong)tid * 0x4000, ss_size = 0x4000 },
            ClearChildTid = 0x7f0000000990UL + (ulong)tid * 8, RobustList = 0, RobustListLength = 0, CallDeadline = 9_000_000_000,
        };
        yield return ("linux-threads-waits", Body(c with
        {
            Function = "py-asyncio",
            Process = new ProcessState
            {
                Program = process.Program, RootFingerprint = process.RootFingerprint, Cwd = process.Cwd, ThreadName = process.ThreadName,
                BrkStart = process.BrkStart, BrkEnd = process.BrkEnd, Mappings = process.Mappings, Descriptions = process.Descriptions,
                Descriptors = process.Descriptors, SignalActions = actions, SignalMask = 0, Tmp = [], LeaderExitStatus = 3,
                Threads =
                [
                    Thread(4, null) with { OnCpu = true, Fpu = [], Registers = default },
                    Other(5, ResumeKind.FromSyscall, new ThreadWait(WaitKind.Futex, "waits on the futex at 0x7f0000000b00 (bitset 4)", long.MaxValue, 0x7f0000000b00, 4)),
                    Other(6, ResumeKind.Retry, new ThreadWait(WaitKind.Retry, "waits in rt_sigtimedwait", 7_000_000_000, 0, uint.MaxValue, 1UL << 9)),
                    Other(7, ResumeKind.FromSyscall, new ThreadWait(WaitKind.Channel, "reads its invocation channel")),
                    Other(8, ResumeKind.Preempted, null) with { Registers = new Kvm.kvm_regs { rip = 0x401234, rsp = 0x7200000, rflags = 0x202 } },
                    Other(9, ResumeKind.Retry, new ThreadWait(WaitKind.Retry, "waits in epoll_wait on fd 7", 6_000_000_000)),
                ],
            },
        }));
    }

    private static byte[] Body(SnapshotState state) => StateFile.Serialize(state)[..^32];
}
