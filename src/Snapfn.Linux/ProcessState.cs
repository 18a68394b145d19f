using System.Runtime.InteropServices;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Syscalls;
using Snapfn.Linux.Threads;
using Snapfn.Vmm;

namespace Snapfn.Linux;

/// <summary>
/// The guest kernel's part of a snapshot of a Linux program at READY: what the system-call layer holds outside
/// guest memory and the vCPU — the address-space map and heap, the descriptors (each file by its path in the
/// root, its flags and offset), the working directory, umask, signal state, the read the program waits in,
/// and the contents of its private /tmp, and every thread: the one on the vCPU (whose registers and FPU state are the
/// snapshot's vCPU state) and the others with their registers, FS base, FPU state, signal mask and what they wait
/// for. Restoring it into a fresh process makes the program's next step the same as the original's. Serialised
/// inside the snapshot's state file, which checksums it. Version 1 (before threads) still loads, as one thread.
/// </summary>
public sealed class ProcessState
{
    private const int Version = 2;
    private const int FirstVersion = 1;

    /// <summary>Threads a state file may hold (what a process may have is <see cref="ProcessOptions.MaxThreads"/>).</summary>
    public const int MaxThreads = 1 << 16;

    /// <summary>The largest FPU state of a thread (an XSAVE area; KVM's is 4 KiB, with AMX up to 11 KiB).</summary>
    private const int MaxFpuBytes = 1 << 16;
    /// <summary>A snapshot's /tmp must stay small: it is copied into every restored VM.</summary>
    public const long MaxTmpBytes = 64L << 20;

    /// <summary>Entries (files, directories, links) a snapshot's /tmp may hold.</summary>
    public const int MaxTmpEntries = 10_000;

    internal ProcessState() { }

    public required string Program { get; init; }

    public string? RootFingerprint { get; init; }

    public required string Cwd { get; init; }

    public int Umask { get; init; }

    public ulong FsBase { get; init; }

    public required byte[] ThreadName { get; init; }

    public ulong BrkStart { get; init; }

    public ulong BrkEnd { get; init; }

    public required IReadOnlyList<Mapping> Mappings { get; init; }

    public required IReadOnlyList<Description> Descriptions { get; init; }

    public required IReadOnlyList<Descriptor> Descriptors { get; init; }

    public required Kernel.kernel_sigaction[] SignalActions { get; init; }

    public ulong SignalMask { get; init; }

    public Kernel.stack_t AlternateStack { get; init; }

    public (ulong Buffer, ulong Count)? PendingRead { get; init; }

    public required IReadOnlyList<TmpEntry> Tmp { get; init; }

    /// <summary>Every thread, the one on the vCPU first; empty in a version 1 state (one thread, tid 1).</summary>
    public IReadOnlyList<ThreadRecord> Threads { get; init; } = [];

    /// <summary>The main thread's exit status when it exited before the snapshot while others ran on.</summary>
    public int? LeaderExitStatus { get; init; }

    /// <summary>
    /// One thread. The thread on the vCPU (<see cref="OnCpu"/>) has no registers or FPU state here: they are the
    /// snapshot's vCPU state. Another resumes as <see cref="Resume"/> says: returning <see cref="Result"/> from
    /// call <see cref="SyscallNumber"/>, serving that call again, or as it was interrupted; <see cref="Wait"/> is
    /// what it waits for (null: it is runnable).
    /// </summary>
    public sealed record ThreadRecord(int Tid, bool OnCpu, ResumeKind Resume, ulong SyscallNumber, long Result, ulong FsBase, byte[] Fpu,
        Kvm.kvm_regs Registers, ulong Mask, ulong? SavedMask, Kernel.stack_t AlternateStack, ulong ClearChildTid, ulong RobustList,
        ulong RobustListLength, long? CallDeadline, ThreadWait? Wait);

    /// <summary>An open file description: what it is, and for a host file its path, flags and offset.</summary>
    public sealed record Description(DescriptionKind Kind, string Path, int Flags, long Offset);

    /// <summary>A descriptor of the guest program: its number there (the FdTable slot, never a host descriptor) and its description.</summary>
    public sealed record Descriptor(int Number, int Description, bool CloseOnExec);

    /// <summary>A file, directory or symbolic link of /tmp, by its path below /tmp; a file's content is its bytes, a
    /// link's its target (never what it points to).</summary>
    public sealed record TmpEntry(string Path, TmpEntryKind Kind, int Mode, byte[] Content);

    public enum DescriptionKind
    {
        StandardInput,
        StandardOutput,
        StandardError,
        Channel,
        Device,
        Host,
    }

    public enum TmpEntryKind
    {
        File,
        Directory,
        Symlink,
    }

    internal static ProcessState Capture(LinuxProcess p)
    {
        if (p.Timers.AnyArmed)
            throw new SnapshotStateException("had a timer armed (setitimer, alarm or timer_settime)");
        if (p.Signals.Pending != 0)
            throw new SnapshotStateException($"had signals pending (mask 0x{p.Signals.Pending:x})");
        if (p.Threads.Threads.FirstOrDefault(t => t.Signals.Pending != 0) is { } signalled)
            throw new SnapshotStateException($"had signals pending for thread {signalled.Tid} (mask 0x{signalled.Signals.Pending:x})");
        if (p.Mappings.Shared is { Count: > 0 } shared)
            throw new SnapshotStateException($"had a MAP_SHARED mapping of {shared.AnyPath}");
        var descriptions = new List<Description>();
        var ids = new Dictionary<OpenFile, int>(ReferenceEqualityComparer.Instance);
        var descriptors = new List<Descriptor>();
        foreach (var (fd, file, closeOnExec) in p.Files.Entries())
        {
            if (!ids.TryGetValue(file, out var id))
            {
                id = descriptions.Count;
                ids[file] = id;
                descriptions.Add(Describe(file));
            }
            descriptors.Add(new Descriptor(fd, id, closeOnExec));
        }
        var actions = new Kernel.kernel_sigaction[SignalState.Count + 1];
        for (var signal = 1; signal <= SignalState.Count; signal++)
            actions[signal] = p.Signals.Action(signal);
        return new ProcessState
        {
            Program = p.Root.ExecutablePath ?? "",
            RootFingerprint = p.Options.RootFingerprint,
            Cwd = p.Cwd,
            Umask = p.Umask,
            FsBase = p.FsBase,
            ThreadName = p.ThreadName,
            BrkStart = p.Space.BrkStart,
            BrkEnd = p.Space.BrkEnd,
            Mappings = [.. p.Space.Mappings],
            Descriptions = descriptions,
            Descriptors = descriptors,
            SignalActions = actions,
            SignalMask = p.Signals.Mask,
            AlternateStack = p.Signals.AlternateStack,
            PendingRead = p.Channel?.PendingRead,
            Tmp = TmpTree.Capture(p.Tmp.Directory, MaxTmpBytes, MaxTmpEntries),
            Threads = CaptureThreads(p),
            LeaderExitStatus = p.Threads.LeaderExitStatus,
        };
    }

    private static ThreadRecord[] CaptureThreads(LinuxProcess p)
    {
        var current = p.Threads.Current;
        return [.. p.Threads.Threads.OrderBy(t => t == current ? 0 : 1).ThenBy(t => t.Tid).Select(t =>
        {
            var onCpu = t == current;
            var fpu = onCpu ? [] : t.Fpu ?? [];
            return new ThreadRecord(t.Tid, onCpu, t.Resume, t.SyscallNumber, t.Result, t.FsBase, fpu, onCpu ? default : t.Registers,
                t.Signals.Mask, t.Signals.SavedMask, t.Signals.AlternateStack, t.ClearChildTid, t.RobustList, t.RobustListLength,
                t.CallDeadline, onCpu ? null : t.Wait);
        })];
    }

    private static Description Describe(OpenFile file) => file switch
    {
        ChannelFile => new Description(DescriptionKind.Channel, file.GuestPath, file.StatusFlags, 0),
        StreamFile when file.GuestPath == "/dev/stdin" => new Description(DescriptionKind.StandardInput, file.GuestPath, file.StatusFlags, 0),
        StreamFile when file.GuestPath == "/dev/stdout" => new Description(DescriptionKind.StandardOutput, file.GuestPath, file.StatusFlags, 0),
        StreamFile => new Description(DescriptionKind.StandardError, file.GuestPath, file.StatusFlags, 0),
        DeviceFile => new Description(DescriptionKind.Device, file.GuestPath, file.StatusFlags, 0),
        HostFile host => new Description(DescriptionKind.Host, file.GuestPath, file.StatusFlags | (host.IsDirectory ? Libc.O_DIRECTORY : 0),
            host.Seek(0, Kernel.SEEK_CUR) is var offset and >= 0 ? offset : 0),
        PipeEnd or SocketEnd or EventFile or EpollFile or ContentFile or SyntheticDirectory => throw new SnapshotStateException($"had {file.GuestPath} open"),
        _ => throw new InvalidOperationException($"cannot snapshot an open {file.GetType().Name}"),
    };

    /// <summary>Puts this state into a fresh process (its memory is the snapshot's, already mapped).</summary>
    internal void ApplyTo(LinuxProcess p)
    {
        TmpTree.Restore(p.Tmp.Directory, Tmp);
        p.Tmp.Recount();
        p.Root.ExecutablePath = Program;
        p.Cwd = Cwd;
        p.Umask = Umask;
        p.FsBase = FsBase;
        p.ThreadName = ThreadName;
        p.Space.Load(BrkStart, BrkEnd, Mappings);
        for (var signal = 1; signal <= SignalState.Count; signal++)
            p.Signals.Action(signal) = SignalActions[signal];
        p.Signals.Mask = SignalMask;
        p.Signals.AlternateStack = AlternateStack;
        var files = Descriptions.Select(d => Reopen(p, d)).ToArray();
        foreach (var descriptor in Descriptors)
        {
            if (files[descriptor.Description] is { } file)
                p.Files.Set(descriptor.Number, file, descriptor.CloseOnExec);
        }
        foreach (var file in files)
            file?.Release(); // Set took a reference for each descriptor
        if (p.Channel is { } channel)
            channel.PendingRead = PendingRead;
        ApplyThreads(p);
    }

    /// <summary>Rebuilds the threads: the one on the vCPU becomes the running thread, the others wait or are ready as
    /// they were. Their flags are the VMM's but for the program's own bits, as for the vCPU's registers.</summary>
    private void ApplyThreads(LinuxProcess p)
    {
        if (Threads.Count == 0)
            return;
        if (Threads.Count > p.Threads.MaxThreads)
            throw new ProcessRestoreException($"the snapshot's program had {Threads.Count} threads, more than the limit of {p.Threads.MaxThreads} " +
                "(ProcessOptions.MaxThreads): raise it, or take the snapshot again with fewer threads");
        var onCpu = Threads[0];
        var current = p.Threads.ResetCurrent(onCpu.Tid, Signals(onCpu), LeaderExitStatus);
        Fill(current, onCpu);
        p.Signals.Thread = current.Signals;
        p.ResetFpuOwner();
        foreach (var record in Threads.Skip(1))
        {
            var thread = p.Threads.Restore(record.Tid, Signals(record));
            Fill(thread, record);
            thread.Fpu = record.Fpu.Length == 0 ? null : record.Fpu;
            var regs = record.Registers;
            regs.rflags = (regs.rflags & CpuSetup.RflagsGuestBits) | CpuSetup.RflagsReserved;
            if (record.Resume != ResumeKind.Preempted)
                regs.r11 = (regs.r11 & CpuSetup.RflagsGuestBits) | CpuSetup.RflagsReserved; // the flags `syscall` saved
            thread.Registers = regs;
            thread.Resume = record.Resume;
            thread.SyscallNumber = record.SyscallNumber;
            thread.Result = record.Result;
            if (record.Wait is { } wait)
                p.Threads.RestoreWaiting(thread, wait);
            else
                p.Threads.RestoreRunnable(thread);
        }
    }

    private static ThreadSignals Signals(ThreadRecord r) =>
        new() { Mask = r.Mask & ~SignalState.Unblockable, SavedMask = r.SavedMask, AlternateStack = r.AlternateStack };

    private static void Fill(GuestThread thread, ThreadRecord r)
    {
        thread.FsBase = r.FsBase;
        thread.ClearChildTid = r.ClearChildTid;
        thread.RobustList = r.RobustList;
        thread.RobustListLength = r.RobustListLength;
        thread.CallDeadline = r.CallDeadline;
    }

    private static OpenFile? Reopen(LinuxProcess p, Description d)
    {
        switch (d.Kind)
        {
            case DescriptionKind.StandardInput:
                return new StreamFile("/dev/stdin", d.Flags, null, 0x10);
            case DescriptionKind.StandardOutput:
                return p.StandardOutput();
            case DescriptionKind.StandardError:
                return p.StandardError();
            case DescriptionKind.Channel:
                var channel = p.Channel?.File ?? p.OpenChannel();
                channel.AddReference();
                return channel;
            default:
                var file = p.Root.Open(d.Path, d.Flags & (Libc.O_ACCMODE | Libc.O_APPEND | Libc.O_DIRECTORY | Libc.O_NONBLOCK | Libc.O_PATH), 0, out var errno)
                    ?? throw new ProcessRestoreException($"the program had {d.Path} open at the snapshot point, and it cannot be opened now ({Errno.Name(errno)})");
                if (d.Offset > 0 && file.Seek(d.Offset, Kernel.SEEK_SET) < 0)
                {
                    file.Dispose();
                    throw new ProcessRestoreException($"cannot seek {d.Path} back to offset {d.Offset}");
                }
                return file;
        }
    }

    public byte[] Serialize()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Version);
            w.Write(Program);
            w.Write(RootFingerprint ?? "");
            w.Write(Cwd);
            w.Write(Umask);
            w.Write(FsBase);
            w.Write(ThreadName.Length);
            w.Write(ThreadName);
            w.Write(BrkStart);
            w.Write(BrkEnd);
            w.Write(Mappings.Count);
            foreach (var m in Mappings)
            {
                w.Write(m.Start);
                w.Write(m.End);
                w.Write((int)m.Protection);
                w.Write((int)m.Kind);
                w.Write(m.Path ?? "");
                w.Write(m.FileOffset);
            }
            w.Write(Descriptions.Count);
            foreach (var d in Descriptions)
            {
                w.Write((int)d.Kind);
                w.Write(d.Path);
                w.Write(d.Flags);
                w.Write(d.Offset);
            }
            w.Write(Descriptors.Count);
            foreach (var d in Descriptors)
            {
                w.Write(d.Number);
                w.Write(d.Description);
                w.Write(d.CloseOnExec);
            }
            for (var signal = 1; signal <= SignalState.Count; signal++)
            {
                var a = SignalActions[signal];
                w.Write(a.sa_handler);
                w.Write(a.sa_flags);
                w.Write(a.sa_restorer);
                w.Write(a.sa_mask);
            }
            w.Write(SignalMask);
            w.Write(AlternateStack.ss_sp);
            w.Write(AlternateStack.ss_flags);
            w.Write(AlternateStack.ss_size);
            w.Write(PendingRead is not null);
            w.Write(PendingRead?.Buffer ?? 0);
            w.Write(PendingRead?.Count ?? 0);
            w.Write(Tmp.Count);
            foreach (var e in Tmp)
            {
                w.Write(e.Path);
                w.Write((int)e.Kind);
                w.Write(e.Mode);
                w.Write(e.Content.Length);
                w.Write(e.Content);
            }
            w.Write(LeaderExitStatus ?? -1);
            w.Write(Threads.Count);
            foreach (var t in Threads)
                WriteThread(w, t);
        }
        return stream.ToArray();
    }

    /// <summary>Reads what <see cref="Serialize"/> wrote; throws <see cref="InvalidDataException"/> on anything else.</summary>
    public static ProcessState Deserialize(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
            var version = r.ReadInt32();
            if (version is < FirstVersion or > Version)
                throw new InvalidDataException($"the process state has format version {version}, and this Snapfn reads {FirstVersion} to {Version}");
            var program = r.ReadString();
            var fingerprint = r.ReadString();
            var cwd = r.ReadString();
            var umask = r.ReadInt32();
            var fsBase = r.ReadUInt64();
            var threadName = r.ReadBytes(Count(r, 16));
            var brkStart = r.ReadUInt64();
            var brkEnd = r.ReadUInt64();
            var mappings = new Mapping[Count(r, 1 << 20)];
            for (var i = 0; i < mappings.Length; i++)
            {
                var (start, end, protection, kind, path, offset) = (r.ReadUInt64(), r.ReadUInt64(), (Protection)r.ReadInt32(), (MappingKind)r.ReadInt32(), r.ReadString(), r.ReadUInt64());
                if (end <= start || (start | end) % AddressSpace.PageSize != 0)
                    throw new InvalidDataException("a mapping is not page-aligned");
                mappings[i] = new Mapping(start, end, protection, kind, path.Length == 0 ? null : path, offset);
            }
            var descriptions = new Description[Count(r, FdTable.Limit)];
            for (var i = 0; i < descriptions.Length; i++)
                descriptions[i] = new Description((DescriptionKind)r.ReadInt32(), r.ReadString(), r.ReadInt32(), r.ReadInt64());
            var descriptors = new Descriptor[Count(r, FdTable.Limit)];
            for (var i = 0; i < descriptors.Length; i++)
            {
                descriptors[i] = new Descriptor(r.ReadInt32(), r.ReadInt32(), r.ReadBoolean());
                if (descriptors[i].Number is < 0 or >= FdTable.Limit || descriptors[i].Description < 0 || descriptors[i].Description >= descriptions.Length)
                    throw new InvalidDataException("a descriptor is out of range");
            }
            var actions = new Kernel.kernel_sigaction[SignalState.Count + 1];
            for (var signal = 1; signal <= SignalState.Count; signal++)
                actions[signal] = new Kernel.kernel_sigaction { sa_handler = r.ReadUInt64(), sa_flags = r.ReadUInt64(), sa_restorer = r.ReadUInt64(), sa_mask = r.ReadUInt64() };
            var mask = r.ReadUInt64();
            var stack = new Kernel.stack_t { ss_sp = r.ReadUInt64(), ss_flags = r.ReadInt32(), ss_size = r.ReadUInt64() };
            var hasPending = r.ReadBoolean();
            var pending = (r.ReadUInt64(), r.ReadUInt64());
            var tmp = new TmpEntry[Count(r, MaxTmpEntries)];
            for (var i = 0; i < tmp.Length; i++)
                tmp[i] = new TmpEntry(r.ReadString(), (TmpEntryKind)r.ReadInt32(), r.ReadInt32(), r.ReadBytes(Count(r, (int)MaxTmpBytes)));
            TmpTree.Check(tmp, MaxTmpBytes, MaxTmpEntries);
            int? leaderExit = null;
            var threads = Array.Empty<ThreadRecord>();
            if (version >= 2)
            {
                var leader = r.ReadInt32();
                leaderExit = leader switch
                {
                    -1 => null,
                    >= 0 and <= 255 => leader,
                    _ => throw new InvalidDataException("the main thread's exit status is out of range"),
                };
                threads = new ThreadRecord[Count(r, MaxThreads)];
                for (var i = 0; i < threads.Length; i++)
                    threads[i] = ReadThread(r, first: i == 0);
                if (threads.Select(t => t.Tid).Distinct().Count() != threads.Length)
                    throw new InvalidDataException("two threads have the same id");
            }
            if (r.BaseStream.Position != r.BaseStream.Length)
                throw new InvalidDataException("the process state has trailing bytes");
            return new ProcessState
            {
                Program = program, RootFingerprint = fingerprint.Length == 0 ? null : fingerprint, Cwd = cwd, Umask = umask,
                FsBase = fsBase, ThreadName = threadName, BrkStart = brkStart, BrkEnd = brkEnd, Mappings = mappings,
                Descriptions = descriptions, Descriptors = descriptors, SignalActions = actions, SignalMask = mask,
                AlternateStack = stack, PendingRead = hasPending ? pending : null, Tmp = tmp, Threads = threads, LeaderExitStatus = leaderExit,
            };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or FormatException)
        {
            throw new InvalidDataException("the process state is malformed", e);
        }
    }

    private static void WriteThread(BinaryWriter w, ThreadRecord t)
    {
        w.Write(t.Tid);
        w.Write(t.OnCpu);
        w.Write((int)t.Resume);
        w.Write(t.SyscallNumber);
        w.Write(t.Result);
        w.Write(t.FsBase);
        w.Write(t.Fpu.Length);
        w.Write(t.Fpu);
        var regs = t.Registers;
        foreach (var value in MemoryMarshal.Cast<Kvm.kvm_regs, ulong>(new ReadOnlySpan<Kvm.kvm_regs>(in regs)))
            w.Write(value);
        w.Write(t.Mask);
        w.Write(t.SavedMask.HasValue);
        w.Write(t.SavedMask ?? 0);
        w.Write(t.AlternateStack.ss_sp);
        w.Write(t.AlternateStack.ss_flags);
        w.Write(t.AlternateStack.ss_size);
        w.Write(t.ClearChildTid);
        w.Write(t.RobustList);
        w.Write(t.RobustListLength);
        w.Write(t.CallDeadline.HasValue);
        w.Write(t.CallDeadline ?? 0);
        w.Write(t.Wait is not null);
        if (t.Wait is { } wait)
        {
            w.Write((int)wait.Kind);
            w.Write(wait.What);
            w.Write(wait.Deadline);
            w.Write(wait.FutexAddress);
            w.Write(wait.Bitset);
            w.Write(wait.AlsoWakeOn);
        }
    }

    private static ThreadRecord ReadThread(BinaryReader r, bool first)
    {
        var tid = r.ReadInt32();
        var onCpu = r.ReadBoolean();
        var resume = (ResumeKind)r.ReadInt32();
        if (tid <= 0 || onCpu != first || !Enum.IsDefined(resume))
            throw new InvalidDataException("a thread's id, place or way to resume is out of range");
        var (number, result, fsBase) = (r.ReadUInt64(), r.ReadInt64(), r.ReadUInt64());
        var fpu = r.ReadBytes(Count(r, MaxFpuBytes));
        var regs = new Kvm.kvm_regs();
        var values = MemoryMarshal.Cast<Kvm.kvm_regs, ulong>(new Span<Kvm.kvm_regs>(ref regs));
        for (var i = 0; i < values.Length; i++)
            values[i] = r.ReadUInt64();
        var mask = r.ReadUInt64();
        var hasSaved = r.ReadBoolean();
        var saved = r.ReadUInt64();
        var stack = new Kernel.stack_t { ss_sp = r.ReadUInt64(), ss_flags = r.ReadInt32(), ss_size = r.ReadUInt64() };
        var (clearTid, robust, robustLength) = (r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64());
        var hasDeadline = r.ReadBoolean();
        var deadline = r.ReadInt64();
        ThreadWait? wait = null;
        if (r.ReadBoolean())
        {
            var kind = (WaitKind)r.ReadInt32();
            if (!Enum.IsDefined(kind) || onCpu)
                throw new InvalidDataException("a thread's wait is out of range");
            wait = new ThreadWait(kind, r.ReadString(), r.ReadInt64(), r.ReadUInt64(), r.ReadUInt32(), r.ReadUInt64());
            if ((wait.FutexAddress & 3) != 0 || wait.Bitset == 0)
                throw new InvalidDataException("a thread's futex wait is malformed");
        }
        return new ThreadRecord(tid, onCpu, resume, number, result, fsBase, fpu, regs, mask, hasSaved ? saved : null, stack, clearTid, robust,
            robustLength, hasDeadline ? deadline : null, wait);
    }

    private static int Count(BinaryReader r, int max)
    {
        var n = r.ReadInt32();
        // Every entry takes at least a byte: a count the rest cannot hold is refused before anything is allocated.
        return n >= 0 && n <= max && n <= r.BaseStream.Length - r.BaseStream.Position
            ? n
            : throw new InvalidDataException($"a count of {n} is out of range");
    }
}
