using Snapfn.Linux.Files;
using Snapfn.Vmm;

namespace Snapfn.Linux;

/// <summary>What to run in a Linux program's VM and with what around it.</summary>
public sealed record ProcessOptions
{
    /// <summary>The read-only root directory (a runtime root assembled from Debian packages).</summary>
    public required string RootDirectory { get; init; }

    /// <summary>The program's absolute path in the guest, e.g. /usr/bin/python3.</summary>
    public required string Program { get; init; }

    /// <summary>argv, argv[0] included.</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    public IReadOnlyList<string> Environment { get; init; } = DefaultEnvironment;

    /// <summary>Read-only (or writable) host folders shown at paths inside the root; /tmp is added by the process.</summary>
    public IReadOnlyList<RootMount> Mounts { get; init; } = [];

    public string WorkingDirectory { get; init; } = "/";

    /// <summary>How much the VM's private /tmp may hold on the host (file data in allocated blocks, entries); past
    /// it the program gets ENOSPC. Default 256 MiB and 10 000 entries.</summary>
    public TmpQuota TmpQuota { get; init; } = TmpQuota.Default;

    /// <summary>guest/build/vdso.so; null runs without a vDSO (every clock read is a system call).</summary>
    public string? VdsoPath { get; init; }

    /// <summary>What the program reads on fd 0; null is end of file.</summary>
    public Stream? StandardInput { get; init; }

    /// <summary>Receive what the program writes to fds 1 and 2; null drops it.</summary>
    public Action<ReadOnlySpan<byte>>? StandardOutput { get; init; }

    public Action<ReadOnlySpan<byte>>? StandardError { get; init; }

    /// <summary>Receives one line per system call (`--strace`); null for none.</summary>
    public TextWriter? Strace { get; init; }

    /// <summary>Receives a line the first time the program makes each unsupported system call.</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>The program is a function: fd 3 is its invocation channel, its first read there is READY.</summary>
    public bool Function { get; init; }

    /// <summary>The largest body of a request or result frame on the invocation channel, in bytes. A result frame
    /// that announces more fails the request as the function's failure as soon as its header is written; the host
    /// never buffers more than this of a frame. Default 32 MiB, as the C runtime's buffers.</summary>
    public int MaxChannelFrame { get; init; } = ChannelFile.DefaultMaxFrame;

    /// <summary>How many bytes of pipe buffers the program's pipes may have on the host, summed (each has 64 KiB, as
    /// on Linux), with the data waiting in its socket pairs. Past it a new pipe gets a 4 KiB buffer and F_SETPIPE_SZ
    /// cannot grow one (EPERM), as past Linux's pipe-user-pages-soft, and a send on a socket pair is ENOBUFS.
    /// Default 16 MiB.</summary>
    public long PipeBufferLimit { get; init; } = DefaultPipeBufferLimit;

    public const long DefaultPipeBufferLimit = 16L << 20;

    /// <summary>Threads the program may have alive at once (the main thread included); past it clone fails with
    /// EAGAIN, as Linux's at RLIMIT_NPROC, and pthread_create returns EAGAIN. Each costs the host a few KiB (its
    /// registers and FPU state). Default 256.</summary>
    public int MaxThreads { get; init; } = Threads.ThreadScheduler.DefaultMaxThreads;

    /// <summary>How long a thread runs before the vCPU is interrupted to let another, ready one run (only while the
    /// program has more than one thread). Default 10 ms; zero or less: threads switch only when one waits.</summary>
    public TimeSpan TimeSlice { get; init; } = DefaultTimeSlice;

    public static readonly TimeSpan DefaultTimeSlice = TimeSpan.FromMilliseconds(10);

    /// <summary>How many bytes of MAP_SHARED mappings of /tmp files the program may hold at once; each costs as much
    /// again on the host (the copy its stores are told apart by). Past it such an mmap is ENOMEM. Default 64 MiB.</summary>
    public long SharedFileMappingLimit { get; init; } = DefaultSharedFileMappingLimit;

    public const long DefaultSharedFileMappingLimit = 64L << 20;

    /// <summary>Identifies the root's contents (its manifest's package hash): a snapshot is only restored into the
    /// root it was taken with.</summary>
    public string? RootFingerprint { get; init; }

    public MicroVmOptions Vm { get; init; } = new() { MemorySize = 1UL << 30, Name = "linux" };

    public static IReadOnlyList<string> DefaultEnvironment { get; } =
        ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", "TMPDIR=/tmp"];
}

/// <summary>How a program ended: its exit status, or the signal that stopped it.</summary>
public sealed record ProgramExit(int Status, int? Signal, string? Note)
{
    /// <summary>The status a shell would report: the exit status, or 128 + the signal.</summary>
    public int ShellStatus => Signal is { } s ? 128 + s : Status;
}
