using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux;

/// <summary>
/// The guest kernel's part of a snapshot of a Linux program at READY: what the system-call layer holds outside
/// guest memory and the vCPU — the address-space map and heap, the descriptors (each file by its path in the
/// root, its flags and offset), the working directory, umask, signal state, the read the program waits in,
/// and the contents of its private /tmp. Restoring it into a fresh process makes the program's next step the
/// same as the original's. Serialised inside the snapshot's state file, which checksums it.
/// </summary>
public sealed class ProcessState
{
    private const int Version = 1;
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
        };
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
            if (r.ReadInt32() != Version)
                throw new InvalidDataException("the process state has another format version");
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
            if (r.BaseStream.Position != r.BaseStream.Length)
                throw new InvalidDataException("the process state has trailing bytes");
            return new ProcessState
            {
                Program = program, RootFingerprint = fingerprint.Length == 0 ? null : fingerprint, Cwd = cwd, Umask = umask,
                FsBase = fsBase, ThreadName = threadName, BrkStart = brkStart, BrkEnd = brkEnd, Mappings = mappings,
                Descriptions = descriptions, Descriptors = descriptors, SignalActions = actions, SignalMask = mask,
                AlternateStack = stack, PendingRead = hasPending ? pending : null, Tmp = tmp,
            };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or FormatException)
        {
            throw new InvalidDataException("the process state is malformed", e);
        }
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
