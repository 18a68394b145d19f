using System.Diagnostics;
using System.Globalization;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Loader;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Syscalls;
using Snapfn.Vmm;

namespace Snapfn.Linux;

/// <summary>
/// An unmodified Linux program running in a ring-3 micro-VM, and the guest kernel state that the system-call
/// layer keeps for it, as gVisor's Sentry does for a task: its address space, file descriptors, working
/// directory, signal dispositions, FS base. Every `syscall` exits to <see cref="OnSyscall"/> on the vCPU
/// thread, which answers it from <see cref="SyscallTable"/>.
/// </summary>
public sealed class LinuxProcess : ISyscallHandler, IDisposable
{
    public const int Pid = 1;
    private const int HistoryLength = 16;

    private readonly ProcessOptions _options;
    private readonly string _tmpDirectory;
    private readonly SyscallRecord[] _history = new SyscallRecord[HistoryLength];
    private readonly HashSet<ulong> _reportedUnsupported = [];
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private readonly VdsoClock? _vdsoClock;
    private MicroVm? _vm;
    private GuestMemory? _memory;
    private long _historyCount;
    private bool _disposed;

    private LinuxProcess(ProcessOptions options)
    {
        _options = options;
        _tmpDirectory = Directory.CreateTempSubdirectory("snapfn-tmp-").FullName;
        Root = new RootFileSystem(options.RootDirectory, [.. options.Mounts, new RootMount("/tmp", _tmpDirectory, Writable: true)]);
        if (options.VdsoPath is not null)
            _vdsoClock = new VdsoClock();
        Cwd = options.WorkingDirectory;
    }

    public RootFileSystem Root { get; }

    public FdTable Files { get; } = new();

    public string Cwd { get; set; }

    public int Umask { get; set; } = 0x12; // 022

    public SignalState Signals { get; } = new();

    public ulong FsBase { get; set; }

    /// <summary>prctl(PR_SET_NAME): at most 15 bytes, as the kernel's comm.</summary>
    public byte[] ThreadName { get; set; } = "snapfn-guest"u8.ToArray();

    public AddressSpace Space => Mappings.Space;

    public GuestMappings Mappings { get; private set; } = null!;

    public UserMemory User { get; private set; } = null!;

    public MicroVm Vm => _vm ?? throw new InvalidOperationException("the process has no VM yet");

    /// <summary>The guest's memory size, for sysinfo and rlimits.</summary>
    public ulong MemorySize => _options.Vm.MemorySize;

    public TimeSpan Uptime => Stopwatch.GetElapsedTime(_startedAt);

    /// <summary>Set by exit, exit_group or a fatal signal; the run then ends.</summary>
    public ProgramExit? Exit { get; private set; }

    /// <summary>System calls served so far.</summary>
    public long SyscallCount => _historyCount;

    /// <summary>Boots a VM, loads the program into it and sets up fds 0-2; nothing runs until <see cref="Run"/>.</summary>
    public static LinuxProcess Start(ProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var process = new LinuxProcess(options);
        try
        {
            var vdso = options.VdsoPath is { } vdsoPath ? Vdso.Load(vdsoPath) : null;
            process._vm = MicroVm.BootProcess(options.Vm, process, memory =>
            {
                process._memory = memory;
                var space = new AddressSpace(options.Vm.MemorySize);
                process.Mappings = new GuestMappings(memory, space);
                process.User = new UserMemory(memory, space);
                process.OpenStandardFiles();
                var program = GuestPath.Combine("/", options.Program);
                process.Root.ExecutablePath = program;
                return new ProgramLoader(process.Root, process.Mappings, memory).Load(program, options.Arguments, options.Environment, vdso);
            });
            process._vdsoClock?.Attach(process._vm);
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Runs the program to its end; a crash or timeout is thrown with the last system calls in the message.</summary>
    public ProgramExit Run()
    {
        try
        {
            Vm.RunToExit();
            return Exit!;
        }
        catch (GuestCrashedException e)
        {
            throw new ProgramCrashedException(e, RecentSyscalls());
        }
    }

    private void OpenStandardFiles()
    {
        Files.Add(new StreamFile("/dev/stdin", Libc.O_RDONLY, null, 0x10, _options.StandardInput), closeOnExec: false);
        Files.Add(new StreamFile("/dev/stdout", Libc.O_WRONLY, _options.StandardOutput, 0x11), closeOnExec: false);
        Files.Add(new StreamFile("/dev/stderr", Libc.O_WRONLY, _options.StandardError, 0x12), closeOnExec: false);
    }

    public SyscallAction OnSyscall(MicroVm vm, ref Kvm.kvm_regs regs)
    {
        var number = regs.rax;
        var args = new SyscallArgs(regs);
        var entry = SyscallTable.Lookup(number);
        long result;
        if (entry?.Function is { } function)
        {
            try
            {
                result = function(this, args);
            }
            catch (BadAddressException)
            {
                result = -Errno.EFAULT;
            }
            catch (SyscallErrorException e)
            {
                result = -e.Errno;
            }
        }
        else
        {
            result = -(entry?.Errno ?? Errno.ENOSYS);
            if (entry is null || entry.Support == SupportLevel.Unsupported)
                ReportUnsupported(number, entry);
        }
        regs.rax = unchecked((ulong)result);
        Record(number, args, result);
        _vdsoClock?.Refresh();
        return Exit is null ? SyscallAction.Continue : SyscallAction.Exited;
    }

    public void BeforeRun(MicroVm vm) => _vdsoClock?.Refresh();

    /// <summary>CLOCK_MONOTONIC and CLOCK_REALTIME as the program sees them: from the vDSO's page when it has one
    /// (so that the trapped and the vDSO clock agree), else the host's.</summary>
    public (long Monotonic, long Realtime) Clocks() =>
        _vdsoClock?.Refresh() ?? (HostClock.MonotonicNs(), HostClock.RealtimeNs());

    /// <summary>Ends the program (exit_group, or a signal whose default action is to terminate).</summary>
    public void Terminate(ProgramExit exit) => Exit ??= exit;

    private void ReportUnsupported(ulong number, SyscallEntry? entry)
    {
        if (_reportedUnsupported.Add(number))
            _options.Warning?.Invoke($"snapfn: the program called {entry?.Name ?? "system call " + number.ToString(CultureInfo.InvariantCulture)}, " +
                "which Snapfn does not support: it got ENOSYS");
    }

    private void Record(ulong number, in SyscallArgs args, long result)
    {
        _history[_historyCount++ % HistoryLength] = new SyscallRecord(number, args.A0, args.A1, args.A2, result);
        if (_options.Strace is { } strace)
            strace.WriteLine(_history[(_historyCount - 1) % HistoryLength].Format());
    }

    /// <summary>The last system calls, oldest first, one a line, for crash reports.</summary>
    public string RecentSyscalls()
    {
        var lines = new StringBuilder();
        var first = Math.Max(0, _historyCount - HistoryLength);
        for (var i = first; i < _historyCount; i++)
            lines.Append("  ").AppendLine(_history[i % HistoryLength].Format());
        return lines.ToString();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _vm?.Dispose();
        Files.Dispose();
        Root.Dispose();
        try
        {
            Directory.Delete(_tmpDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A /tmp the program left unremovable (permissions it set) is left for the OS's temp cleaning.
        }
    }

    private readonly record struct SyscallRecord(ulong Number, ulong A0, ulong A1, ulong A2, long Result)
    {
        public string Format()
        {
            var name = SyscallTable.Lookup(Number)?.Name ?? $"syscall_{Number}";
            var result = Result is < 0 and >= -4095 ? $"-1 {Errno.Name((int)-Result)}" : $"0x{Result:x}";
            return $"{name}(0x{A0:x}, 0x{A1:x}, 0x{A2:x}) = {result}";
        }
    }
}

/// <summary>A Linux program crashed: the VM's report (registers, faulting address) and its last system calls.</summary>
public sealed class ProgramCrashedException : GuestFailureException
{
    public ProgramCrashedException(GuestCrashedException crash, string recentSyscalls)
        : base($"program crashed: {crash?.Reason} at rip=0x{crash?.Regs.rip:x} (faulting address cr2=0x{crash?.Cr2:x}, rsp=0x{crash?.Regs.rsp:x}); " +
               $"last system calls:\n{recentSyscalls}", crash!)
    {
        Crash = crash!;
    }

    public GuestCrashedException Crash { get; }
}
