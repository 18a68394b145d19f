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
/// inside the snapshot's state file, which checksums it. Version 1 (before threads) still loads, as one thread;
/// version 2 (before pipes, socket pairs, eventfds, epoll instances and the made-up files were kept) still loads.
/// Since version 3 a description may be a pipe end (its pipe, with the bytes it holds, is in <see cref="Pipes"/>, shared by
/// both ends), an end of a socket pair (its peer by description), an eventfd, an epoll instance (its registrations by
/// description, so that one outlives its descriptor as on Linux) or a file the VMM makes up (reopened by its path),
/// and a mapping may be a MAP_SHARED one of a /tmp file (<see cref="Mapping.Shared"/>), registered again at a restore.
/// Since version 4 a thread has its nice value (setpriority). Since version 5 a /tmp entry has the owner chown gave it
/// and its modification time (before, entries were root's and took the time of the restore), and may be a second
/// name of a file or a FIFO; the process has its supplementary groups, and a thread what its waiting write has
/// already written.
/// </summary>
public sealed class ProcessState
{
    private const int Version = 5;
    private const int FirstVersion = 1;

    /// <summary>Threads a state file may hold (what a process may have is <see cref="ProcessOptions.MaxThreads"/>).</summary>
    public const int MaxThreads = 1 << 16;

    /// <summary>The largest FPU state of a thread (an XSAVE area; KVM's is 4 KiB, with AMX up to 11 KiB).</summary>
    private const int MaxFpuBytes = 1 << 16;
    /// <summary>A snapshot's /tmp must stay small: it is copied into every restored VM.</summary>
    public const long MaxTmpBytes = 64L << 20;

    /// <summary>Entries (files, directories, links) a snapshot's /tmp may hold.</summary>
    public const int MaxTmpEntries = 10_000;

    /// <summary>What one end of a socket pair can hold unread: a full SO_SNDBUF and one message sent past it.</summary>
    private const int MaxSocketQueueBytes = 2 * SocketEnd.DefaultSendBuffer + SocketQueue.MessageOverhead;

    /// <summary>Messages one end can hold unread: each costs at least its overhead against the sender's SO_SNDBUF.</summary>
    private const int MaxSocketMessages = MaxSocketQueueBytes / SocketQueue.MessageOverhead + 1;

    /// <summary>Plain SOL_SOCKET options one end may have set (setsockopt keeps only the names it knows).</summary>
    private const int MaxSocketOptions = 64;

    /// <summary>The largest errno (SO_ERROR's range).</summary>
    private const int MaxErrno = 4095;

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

    /// <summary>The pipes the descriptions' pipe ends belong to (version 3).</summary>
    public IReadOnlyList<PipeRecord> Pipes { get; init; } = [];

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

    /// <summary>The supplementary groups (setgroups; since version 5).</summary>
    public IReadOnlyList<uint> Groups { get; init; } = [];

    /// <summary>
    /// One thread. The thread on the vCPU (<see cref="OnCpu"/>) has no registers or FPU state here: they are the
    /// snapshot's vCPU state. Another resumes as <see cref="Resume"/> says: returning <see cref="Result"/> from
    /// call <see cref="SyscallNumber"/>, serving that call again, or as it was interrupted; <see cref="Wait"/> is
    /// what it waits for (null: it is runnable).
    /// </summary>
    public sealed record ThreadRecord(int Tid, bool OnCpu, ResumeKind Resume, ulong SyscallNumber, long Result, ulong FsBase, byte[] Fpu,
        Kvm.kvm_regs Registers, ulong Mask, ulong? SavedMask, Kernel.stack_t AlternateStack, ulong ClearChildTid, ulong RobustList,
        ulong RobustListLength, long? CallDeadline, ThreadWait? Wait, int Nice = 0, long CallProgress = 0);

    /// <summary>An open file description: what it is, and for a host file its path, flags and offset; for a pipe end,
    /// socket end, eventfd or epoll instance what it holds (<see cref="State"/>).</summary>
    public sealed record Description(DescriptionKind Kind, string Path, int Flags, long Offset)
    {
        public DescriptionState? State { get; init; }
    }

    /// <summary>What a description that lives only in the VMM holds.</summary>
    public abstract record DescriptionState;

    /// <summary>A pipe end: its pipe, by index in <see cref="Pipes"/>.</summary>
    public sealed record PipeEndState(int Pipe) : DescriptionState;

    /// <summary>An end of a socket pair: its peer by description (-1: closed) and what it holds.</summary>
    public sealed record SocketState(int Peer, SocketEnd.SocketEndState End) : DescriptionState;

    /// <summary>An eventfd: its counter and whether it counts as a semaphore.</summary>
    public sealed record EventState(ulong Counter, bool Semaphore) : DescriptionState;

    /// <summary>An epoll instance: its live registrations in the order it reports them.</summary>
    public sealed record EpollState(IReadOnlyList<EpollWatch> Watches) : DescriptionState;

    /// <summary>One registration: the descriptor number it was made with (which may since have been closed or
    /// replaced), the file by description, the events and data word, and the one-shot and edge states
    /// (<see cref="Reported"/>: an edge-triggered registration reported the file's present readiness already).</summary>
    public sealed record EpollWatch(int Fd, int Target, uint Events, ulong Data, bool Disabled, bool Reported);

    /// <summary>A pipe: its capacity (F_SETPIPE_SZ) and the bytes waiting in it.</summary>
    public sealed record PipeRecord(int Capacity, byte[] Bytes);

    /// <summary>A descriptor of the guest program: its number there (the FdTable slot, never a host descriptor) and its description.</summary>
    public sealed record Descriptor(int Number, int Description, bool CloseOnExec);

    /// <summary>A file, directory or symbolic link of /tmp, by its path below /tmp; a file's content is its bytes, a
    /// link's its target (never what it points to).</summary>
    public sealed record TmpEntry(string Path, TmpEntryKind Kind, int Mode, byte[] Content)
    {
        /// <summary>The owner the program gave it with chown (root's, 0, unless it did).</summary>
        public uint Uid { get; init; }

        public uint Gid { get; init; }

        /// <summary>Its modification time; null in a state from before version 5 (it takes the time of the restore).</summary>
        public Kernel.timespec? Modified { get; init; }
    }

    public enum DescriptionKind
    {
        StandardInput,
        StandardOutput,
        StandardError,
        Channel,
        Device,
        Host,
        PipeRead,
        PipeWrite,
        Socket,
        Event,
        Epoll,

        /// <summary>A read-only file or directory the VMM makes up (/proc/cpuinfo, /etc/passwd, /proc/self/fd):
        /// opened again by its path, at its offset.</summary>
        Synthetic,
    }

    public enum TmpEntryKind
    {
        File,
        Directory,
        Symlink,

        /// <summary>Another name of an earlier File entry, whose path is the content (since version 5).</summary>
        HardLink,

        /// <summary>A FIFO with no end open (since version 5).</summary>
        Fifo,
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
            SyncSharedMappings(p, shared);
        var files = new List<OpenFile>();
        var ids = new Dictionary<OpenFile, int>(ReferenceEqualityComparer.Instance);
        var descriptors = new List<Descriptor>();
        foreach (var (fd, file, closeOnExec) in p.Files.Entries())
        {
            if (!ids.TryGetValue(file, out var id))
            {
                id = files.Count;
                ids[file] = id;
                files.Add(file);
            }
            descriptors.Add(new Descriptor(fd, id, closeOnExec));
        }
        var pipes = new List<PipeRecord>();
        var pipeIds = new Dictionary<Pipe, int>(ReferenceEqualityComparer.Instance);
        var descriptions = files.Select(file => Describe(file, ids, pipes, pipeIds)).ToList();
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
            Pipes = pipes,
            Descriptors = descriptors,
            SignalActions = actions,
            SignalMask = p.Signals.Mask,
            AlternateStack = p.Signals.AlternateStack,
            PendingRead = p.Channel?.PendingRead,
            Tmp = TmpTree.Capture(p.Tmp.Directory, p.Tmp.Owners, MaxTmpBytes, MaxTmpEntries),
            Threads = CaptureThreads(p),
            LeaderExitStatus = p.Threads.LeaderExitStatus,
            Groups = [.. p.Groups],
        };
    }

    /// <summary>Writes every MAP_SHARED mapping's stores back to its /tmp file, so that the snapshot's /tmp holds what its
    /// memory does; a mapping whose file no longer has its path (renamed, removed) could not be found again and is refused.</summary>
    private static void SyncSharedMappings(LinuxProcess p, SharedFileMappings shared)
    {
        shared.SyncAll();
        foreach (var (path, identity) in shared.Files())
        {
            if (!path.StartsWith("/tmp/", StringComparison.Ordinal))
                throw new SnapshotStateException($"had a MAP_SHARED mapping of {path}, outside /tmp (a snapshot keeps only /tmp's files)");
            var file = p.Root.Open(path, Libc.O_RDONLY, 0, out _);
            var same = file?.HostFd is { } fd && SharedFileMappings.IdentityOf(fd) == identity;
            file?.Dispose();
            if (!same)
                throw new SnapshotStateException($"had a MAP_SHARED mapping of {path}, whose file has since been renamed or removed");
        }
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
                t.CallDeadline, onCpu ? null : t.Wait, t.Nice, t.CallProgress);
        })];
    }

    /// <summary>What <paramref name="file"/> is; a pipe end adds its pipe to <paramref name="pipes"/> the first time, an end of
    /// a socket pair and an epoll instance name other descriptions by <paramref name="ids"/>.</summary>
    private static Description Describe(OpenFile file, Dictionary<OpenFile, int> ids, List<PipeRecord> pipes, Dictionary<Pipe, int> pipeIds) => file switch
    {
        PipeEnd { IsNamed: true } => throw new SnapshotStateException(
            $"held the FIFO {file.GuestPath} open at the snapshot point; a snapshot keeps no FIFO: close it in init(), before the first read of a request"),
        PipeEnd end => new Description(end.IsReadEnd ? DescriptionKind.PipeRead : DescriptionKind.PipeWrite, file.GuestPath, file.StatusFlags, 0)
        {
            State = new PipeEndState(PipeId(end.Pipe, pipes, pipeIds)),
        },
        SocketEnd socket => new Description(DescriptionKind.Socket, file.GuestPath, file.StatusFlags, 0)
        {
            State = new SocketState(socket.Peer is { } peer ? Id(peer, ids, "the peer of a socket pair") : -1, socket.Snapshot()),
        },
        EventFile eventFile => new Description(DescriptionKind.Event, file.GuestPath, file.StatusFlags, 0)
        {
            State = new EventState(eventFile.Counter, eventFile.Semaphore),
        },
        EpollFile epoll => new Description(DescriptionKind.Epoll, file.GuestPath, file.StatusFlags, 0)
        {
            State = new EpollState([.. epoll.Registrations().Select(r =>
                new EpollWatch(r.Fd, Id(r.File, ids, $"a file an epoll instance watches (registered as fd {r.Fd})"), r.Events, r.Data, r.Disabled, r.Reported))]),
        },
        ContentFile => new Description(DescriptionKind.Synthetic, file.GuestPath, file.StatusFlags, Math.Max(0, file.Seek(0, Kernel.SEEK_CUR))),
        SyntheticDirectory directory => new Description(DescriptionKind.Synthetic, file.GuestPath, file.StatusFlags, directory.Position),
        ChannelFile => new Description(DescriptionKind.Channel, file.GuestPath, file.StatusFlags, 0),
        StreamFile when file.GuestPath == "/dev/stdin" => new Description(DescriptionKind.StandardInput, file.GuestPath, file.StatusFlags, 0),
        StreamFile when file.GuestPath == "/dev/stdout" => new Description(DescriptionKind.StandardOutput, file.GuestPath, file.StatusFlags, 0),
        StreamFile => new Description(DescriptionKind.StandardError, file.GuestPath, file.StatusFlags, 0),
        DeviceFile => new Description(DescriptionKind.Device, file.GuestPath, file.StatusFlags, 0),
        HostFile { IsMemfd: true } => throw new SnapshotStateException($"held a memfd ({file.GuestPath}), which has no name to be reopened by"),
        HostFile host => new Description(DescriptionKind.Host, file.GuestPath, file.StatusFlags | (host.IsDirectory ? Libc.O_DIRECTORY : 0),
            host.Seek(0, Kernel.SEEK_CUR) is var offset and >= 0 ? offset : 0),
        _ => throw new InvalidOperationException($"cannot snapshot an open {file.GetType().Name}"),
    };

    private static int Id(OpenFile file, Dictionary<OpenFile, int> ids, string what) =>
        ids.TryGetValue(file, out var id) ? id : throw new SnapshotStateException($"held {what}, {file.GuestPath}, open without a descriptor");

    private static int PipeId(Pipe pipe, List<PipeRecord> pipes, Dictionary<Pipe, int> pipeIds)
    {
        if (!pipeIds.TryGetValue(pipe, out var id))
        {
            id = pipes.Count;
            pipeIds[pipe] = id;
            pipes.Add(new PipeRecord(pipe.Capacity, pipe.Peek()));
        }
        return id;
    }

    /// <summary>Puts this state into a fresh process (its memory is the snapshot's, already mapped).</summary>
    internal void ApplyTo(LinuxProcess p)
    {
        TmpTree.Restore(p.Tmp.Directory, p.Tmp.Owners, Tmp);
        p.Tmp.Recount();
        p.Root.ExecutablePath = Program;
        p.Cwd = Cwd;
        p.Umask = Umask;
        p.Groups = Groups;
        p.FsBase = FsBase;
        p.ThreadName = ThreadName;
        p.Space.Load(BrkStart, BrkEnd, Mappings);
        for (var signal = 1; signal <= SignalState.Count; signal++)
            p.Signals.Action(signal) = SignalActions[signal];
        p.Signals.Mask = SignalMask;
        p.Signals.AlternateStack = AlternateStack;
        var files = RestoreFiles(p);
        foreach (var descriptor in Descriptors)
        {
            if (files[descriptor.Description] is { } file)
                p.Files.Set(descriptor.Number, file, descriptor.CloseOnExec);
        }
        foreach (var file in files)
            file?.Release(); // Set took a reference for each descriptor
        RestoreSharedMappings(p);
        if (p.Channel is { } channel)
            channel.PendingRead = PendingRead;
        ApplyThreads(p);
    }

    /// <summary>Each MAP_SHARED mapping again over its restored /tmp file: its memory (the snapshot's) holds what the file
    /// does, and its stores go on reaching the file.</summary>
    private void RestoreSharedMappings(LinuxProcess p)
    {
        foreach (var m in Mappings.Where(m => m.Shared))
        {
            var file = p.Root.Open(m.Path!, Libc.O_RDWR, 0, out var errno);
            try
            {
                if (file is not HostFile { Space: { } space, HostFd: { } fd })
                    throw new ProcessRestoreException($"the program had {m.Path} mapped MAP_SHARED, and it cannot be opened for writing now ({(file is null ? Errno.Name(errno) : "not a file of a writable mount")})");
                space.MappedFiles ??= p.Mappings.SharedWithin(p.Options.SharedFileMappingLimit);
                var added = p.Mappings.Shared!.Add(m.Start, m.Length, fd, m.FileOffset, m.Path!, (m.Protection & Protection.Write) != 0);
                if (added == -Errno.ENOMEM)
                    throw new ProcessRestoreException($"the program's MAP_SHARED mappings are larger than ProcessOptions.SharedFileMappingLimit " +
                        $"({p.Options.SharedFileMappingLimit} bytes): raise it to what the snapshot was taken with");
                if (added < 0)
                    throw new ProcessRestoreException($"the program had {m.Path} mapped MAP_SHARED, and it cannot be mapped again ({Errno.Name((int)-added)})");
            }
            finally
            {
                file?.Dispose();
            }
        }
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
        thread.Nice = r.Nice;
        thread.CallProgress = r.CallProgress;
    }

    /// <summary>
    /// Every description as a file of <paramref name="p"/>: the pipes first (each end then joins its pipe), the second end of
    /// a socket pair joins the first, and the epoll instances come last, so that each registration finds its file holding
    /// what it held (an edge already reported stays reported).
    /// </summary>
    private OpenFile?[] RestoreFiles(LinuxProcess p)
    {
        var pipes = Pipes.Select(r => Pipe.Restore(p.Pipes, r.Capacity, r.Bytes) ?? throw BuffersFull(p, $"a pipe of {r.Capacity} bytes")).ToArray();
        var files = new OpenFile?[Descriptions.Count];
        for (var i = 0; i < files.Length; i++)
        {
            if (Descriptions[i].Kind != DescriptionKind.Epoll)
                files[i] = Reopen(p, Descriptions[i], pipes, files);
        }
        for (var i = 0; i < files.Length; i++)
        {
            if (Descriptions[i] is { Kind: DescriptionKind.Epoll, State: EpollState state } d)
            {
                var epoll = new EpollFile(d.Flags & Libc.O_NONBLOCK);
                files[i] = epoll;
                foreach (var w in state.Watches)
                {
                    if (files[w.Target] is not { } target || epoll.Restore(w.Fd, target, w.Events, w.Data, w.Disabled, w.Reported) < 0)
                        throw new ProcessRestoreException($"an epoll instance of the snapshot's program cannot watch fd {w.Fd} again");
                }
            }
        }
        return files;
    }

    private static ProcessRestoreException BuffersFull(LinuxProcess p, string what) =>
        new($"the snapshot's program held {what}, more than its pipe and socket buffers may hold ({p.Pipes.Limit} bytes, " +
            "ProcessOptions.PipeBufferLimit): raise it to what the snapshot was taken with");

    /// <summary>Status flags a restored pipe, socket or eventfd keeps from the snapshot's (F_SETFL's; the access mode is its kind's).</summary>
    private const int KeptFlags = Libc.O_NONBLOCK | Libc.O_APPEND;

    private static OpenFile? Reopen(LinuxProcess p, Description d, Pipe[] pipes, OpenFile?[] restored)
    {
        switch (d.Kind)
        {
            case DescriptionKind.PipeRead or DescriptionKind.PipeWrite when d.State is PipeEndState end:
                return PipeEnd.Attach(pipes[end.Pipe], d.Kind == DescriptionKind.PipeRead, d.Flags & KeptFlags);
            case DescriptionKind.Socket when d.State is SocketState socket:
                var peer = socket.Peer >= 0 ? restored[socket.Peer] as SocketEnd : null;
                return SocketEnd.Restore(p.Pipes, d.Flags & KeptFlags, socket.End, peer)
                    ?? throw BuffersFull(p, $"{socket.End.Queue.Sum(q => (long)q.Length)} bytes unread in a socket pair");
            case DescriptionKind.Event when d.State is EventState counter:
                return new EventFile(counter.Counter, counter.Semaphore, d.Flags & KeptFlags);
            case DescriptionKind.Synthetic:
                var path = ProcFiles.Normalize(d.Path);
                var synthetic = path is not null ? ProcFiles.Open(p, path, d.Flags & Libc.O_DIRECTORY, out var error) : p.Root.Open(d.Path, Libc.O_RDONLY, 0, out error);
                if (synthetic is null)
                    throw new ProcessRestoreException($"the program had {d.Path} open at the snapshot point, and it cannot be opened now ({Errno.Name(error)})");
                if (d.Offset > 0)
                    synthetic.Seek(d.Offset, Kernel.SEEK_SET);
                return synthetic;
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
            case DescriptionKind.Host or DescriptionKind.Device:
                var file = p.Root.Open(d.Path, d.Flags & (Libc.O_ACCMODE | Libc.O_APPEND | Libc.O_DIRECTORY | Libc.O_NONBLOCK | Libc.O_PATH), 0, out var errno)
                    ?? throw new ProcessRestoreException($"the program had {d.Path} open at the snapshot point, and it cannot be opened now ({Errno.Name(errno)})");
                if (d.Offset > 0 && file.Seek(d.Offset, Kernel.SEEK_SET) < 0)
                {
                    file.Dispose();
                    throw new ProcessRestoreException($"cannot seek {d.Path} back to offset {d.Offset}");
                }
                return file;
            default:
                throw new ProcessRestoreException($"the snapshot's description of {d.Path} ({d.Kind}) says nothing of what it held: take the snapshot again");
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
                w.Write(m.Shared);
            }
            w.Write(Pipes.Count);
            foreach (var pipe in Pipes)
            {
                w.Write(pipe.Capacity);
                w.Write(pipe.Bytes.Length);
                w.Write(pipe.Bytes);
            }
            w.Write(Descriptions.Count);
            foreach (var d in Descriptions)
            {
                w.Write((int)d.Kind);
                w.Write(d.Path);
                w.Write(d.Flags);
                w.Write(d.Offset);
                WriteState(w, d.State);
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
                w.Write(e.Uid);
                w.Write(e.Gid);
                w.Write(e.Modified is not null);
                w.Write(e.Modified?.tv_sec ?? 0);
                w.Write(e.Modified?.tv_nsec ?? 0);
            }
            w.Write(LeaderExitStatus ?? -1);
            w.Write(Threads.Count);
            foreach (var t in Threads)
                WriteThread(w, t);
            w.Write(Groups.Count);
            foreach (var g in Groups)
                w.Write(g);
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
                var shared = version >= 3 && r.ReadBoolean();
                if (end <= start || (start | end) % AddressSpace.PageSize != 0)
                    throw new InvalidDataException("a mapping is not page-aligned");
                if (shared && (kind != MappingKind.File || !path.StartsWith("/tmp/", StringComparison.Ordinal) || offset % AddressSpace.PageSize != 0))
                    throw new InvalidDataException("a shared mapping is not of a /tmp file at a page-aligned offset");
                mappings[i] = new Mapping(start, end, protection, kind, path.Length == 0 ? null : path, offset, shared);
            }
            var pipes = Array.Empty<PipeRecord>();
            if (version >= 3)
            {
                pipes = new PipeRecord[Count(r, FdTable.Limit)];
                for (var i = 0; i < pipes.Length; i++)
                {
                    var capacity = r.ReadInt32();
                    if (!Pipe.IsCapacity(capacity))
                        throw new InvalidDataException($"a pipe's capacity of {capacity} bytes is not a power of two pages up to {Pipe.MaxCapacity}");
                    pipes[i] = new PipeRecord(capacity, r.ReadBytes(Count(r, capacity)));
                }
            }
            var descriptions = new Description[Count(r, FdTable.Limit)];
            for (var i = 0; i < descriptions.Length; i++)
            {
                var kind = (DescriptionKind)r.ReadInt32();
                if (!Enum.IsDefined(kind) || version < 3 && kind > DescriptionKind.Host)
                    throw new InvalidDataException($"a description has the unknown kind {(int)kind}");
                descriptions[i] = new Description(kind, r.ReadString(), r.ReadInt32(), r.ReadInt64()) { State = version >= 3 ? ReadState(r, kind) : null };
            }
            CheckDescriptions(descriptions, pipes);
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
            {
                tmp[i] = new TmpEntry(r.ReadString(), (TmpEntryKind)r.ReadInt32(), r.ReadInt32(), r.ReadBytes(Count(r, (int)MaxTmpBytes)));
                if (version >= 5)
                {
                    var (uid, gid, hasModified, modified) = (r.ReadUInt32(), r.ReadUInt32(), r.ReadBoolean(), new Kernel.timespec { tv_sec = r.ReadInt64(), tv_nsec = r.ReadInt64() });
                    tmp[i] = tmp[i] with { Uid = uid, Gid = gid, Modified = hasModified ? modified : null };
                }
            }
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
                    threads[i] = ReadThread(r, first: i == 0, withNice: version >= 4, withProgress: version >= 5);
                if (threads.Select(t => t.Tid).Distinct().Count() != threads.Length)
                    throw new InvalidDataException("two threads have the same id");
            }
            var groups = new uint[version >= 5 ? Count(r, ProcessCalls.MaxGroups) : 0];
            for (var i = 0; i < groups.Length; i++)
                groups[i] = r.ReadUInt32();
            if (r.BaseStream.Position != r.BaseStream.Length)
                throw new InvalidDataException("the process state has trailing bytes");
            return new ProcessState
            {
                Program = program, RootFingerprint = fingerprint.Length == 0 ? null : fingerprint, Cwd = cwd, Umask = umask,
                FsBase = fsBase, ThreadName = threadName, BrkStart = brkStart, BrkEnd = brkEnd, Mappings = mappings,
                Descriptions = descriptions, Pipes = pipes, Descriptors = descriptors, SignalActions = actions, SignalMask = mask,
                AlternateStack = stack, PendingRead = hasPending ? pending : null, Tmp = tmp, Threads = threads, LeaderExitStatus = leaderExit,
                Groups = groups,
            };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or FormatException)
        {
            throw new InvalidDataException("the process state is malformed", e);
        }
    }

    private static void WriteState(BinaryWriter w, DescriptionState? state)
    {
        switch (state)
        {
            case PipeEndState pipe:
                w.Write(pipe.Pipe);
                break;
            case SocketState socket:
                var end = socket.End;
                w.Write(socket.Peer);
                w.Write(end.Type);
                w.Write(end.Shutdown);
                w.Write(end.SendBuffer);
                w.Write(end.ReceiveBuffer);
                w.Write(end.PendingError);
                w.Write(end.RefusedOnce);
                w.Write(end.Options.Count);
                foreach (var (name, value) in end.Options)
                {
                    w.Write(name);
                    w.Write(value);
                }
                w.Write(end.Queue.Count);
                foreach (var piece in end.Queue)
                {
                    w.Write(piece.Length);
                    w.Write(piece);
                }
                break;
            case EventState counter:
                w.Write(counter.Counter);
                w.Write(counter.Semaphore);
                break;
            case EpollState epoll:
                w.Write(epoll.Watches.Count);
                foreach (var watch in epoll.Watches)
                {
                    w.Write(watch.Fd);
                    w.Write(watch.Target);
                    w.Write(watch.Events);
                    w.Write(watch.Data);
                    w.Write(watch.Disabled);
                    w.Write(watch.Reported);
                }
                break;
        }
    }

    /// <summary>What a version 3 description of <paramref name="kind"/> holds, each count bounded by what the kind can hold
    /// before anything is allocated.</summary>
    private static DescriptionState? ReadState(BinaryReader r, DescriptionKind kind)
    {
        switch (kind)
        {
            case DescriptionKind.PipeRead or DescriptionKind.PipeWrite:
                return new PipeEndState(r.ReadInt32());
            case DescriptionKind.Socket:
                var peer = r.ReadInt32();
                var (type, shutdown, send, receive, error, refused) = (r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadBoolean());
                if (type is not (SocketEnd.SOCK_STREAM or SocketEnd.SOCK_DGRAM or SocketEnd.SOCK_SEQPACKET) || shutdown is < 0 or > 3 ||
                    send is < SocketEnd.MinSendBuffer or > SocketEnd.DefaultSendBuffer || receive is < SocketEnd.MinSendBuffer or > SocketEnd.DefaultSendBuffer ||
                    error is < 0 or > MaxErrno)
                    throw new InvalidDataException("a socket's type, shutdown, buffer sizes or pending error are out of range");
                var options = new (int, int)[Count(r, MaxSocketOptions)];
                for (var i = 0; i < options.Length; i++)
                    options[i] = (r.ReadInt32(), r.ReadInt32());
                if (options.Select(o => o.Item1).Distinct().Count() != options.Length)
                    throw new InvalidDataException("a socket has an option twice");
                var queue = new byte[Count(r, type == SocketEnd.SOCK_STREAM ? 1 : MaxSocketMessages)][];
                var total = 0L;
                for (var i = 0; i < queue.Length; i++)
                {
                    queue[i] = r.ReadBytes(Count(r, (int)(MaxSocketQueueBytes - total)));
                    total += queue[i].Length;
                }
                return new SocketState(peer, new SocketEnd.SocketEndState(type, shutdown, send, receive, error, refused, options, queue));
            case DescriptionKind.Event:
                var value = r.ReadUInt64();
                if (value > EventFile.MaxCounter)
                    throw new InvalidDataException("an eventfd's counter is out of range");
                return new EventState(value, r.ReadBoolean());
            case DescriptionKind.Epoll:
                var watches = new EpollWatch[Count(r, EpollFile.MaxRegistrations)];
                for (var i = 0; i < watches.Length; i++)
                {
                    watches[i] = new EpollWatch(r.ReadInt32(), r.ReadInt32(), r.ReadUInt32(), r.ReadUInt64(), r.ReadBoolean(), r.ReadBoolean());
                    if (watches[i].Fd is < 0 or >= FdTable.Limit)
                        throw new InvalidDataException("an epoll registration's descriptor is out of range");
                }
                return new EpollState(watches);
            default:
                return null;
        }
    }

    /// <summary>
    /// What refers to another description or pipe refers to one that is there and can be: a pipe end to a pipe with at most
    /// one end of each kind and every pipe to an end; an end of a socket pair to an end of its type that names it back; an
    /// epoll registration to a file epoll can watch (not another epoll instance, as here), each (fd, file) once; a made-up
    /// file to one of the paths the VMM makes up.
    /// </summary>
    private static void CheckDescriptions(Description[] descriptions, PipeRecord[] pipes)
    {
        var ends = new int[pipes.Length, 2];
        for (var i = 0; i < descriptions.Length; i++)
        {
            var d = descriptions[i];
            switch (d.State)
            {
                case PipeEndState pipe:
                    if (pipe.Pipe < 0 || pipe.Pipe >= pipes.Length || ++ends[pipe.Pipe, d.Kind == DescriptionKind.PipeRead ? 0 : 1] > 1)
                        throw new InvalidDataException("a pipe end names a pipe out of range or taken");
                    break;
                case SocketState socket:
                    if (socket.Peer != -1 && (socket.Peer < 0 || socket.Peer >= descriptions.Length || socket.Peer == i ||
                        descriptions[socket.Peer].State is not SocketState other || other.Peer != i || other.End.Type != socket.End.Type))
                        throw new InvalidDataException("a socket's peer is out of range or not its peer");
                    break;
                case EpollState epoll:
                    foreach (var w in epoll.Watches)
                    {
                        if (w.Target < 0 || w.Target >= descriptions.Length || !CanEpoll(descriptions[w.Target].Kind))
                            throw new InvalidDataException("an epoll registration names a file out of range or one epoll cannot watch");
                    }
                    if (epoll.Watches.Select(w => (w.Fd, w.Target)).Distinct().Count() != epoll.Watches.Count)
                        throw new InvalidDataException("an epoll instance has a registration twice");
                    break;
            }
            if (d.Kind == DescriptionKind.Synthetic && !IsSynthetic(d.Path) || d.Offset < 0)
                throw new InvalidDataException($"a made-up file has the path {d.Path}, which the VMM does not make up, or an offset is negative");
        }
        for (var i = 0; i < pipes.Length; i++)
        {
            if (ends[i, 0] + ends[i, 1] == 0)
                throw new InvalidDataException("a pipe has no end");
        }
    }

    private static bool CanEpoll(DescriptionKind kind) => kind is DescriptionKind.PipeRead or DescriptionKind.PipeWrite or DescriptionKind.Socket or
        DescriptionKind.Event or DescriptionKind.Channel or DescriptionKind.StandardInput or DescriptionKind.StandardOutput or DescriptionKind.StandardError;

    private static bool IsSynthetic(string path) =>
        ContentFile.Known.ContainsKey(path) || path is "/proc/self" or "/proc/self/fd" or "/proc/self/status" or "/proc/self/maps";

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
        w.Write(t.Nice);
        w.Write(t.CallProgress);
    }

    private static ThreadRecord ReadThread(BinaryReader r, bool first, bool withNice, bool withProgress)
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
        var nice = withNice ? r.ReadInt32() : 0;
        if (nice is < GuestThread.MinNice or > GuestThread.MaxNice)
            throw new InvalidDataException("a thread's nice value is out of range");
        var progress = withProgress ? r.ReadInt64() : 0;
        if (progress is < 0 or > (long)UserMemory.MaxTransfer)
            throw new InvalidDataException("a thread's progress in its call is out of range");
        return new ThreadRecord(tid, onCpu, resume, number, result, fsBase, fpu, regs, mask, hasSaved ? saved : null, stack, clearTid, robust,
            robustLength, hasDeadline ? deadline : null, wait, nice, progress);
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
