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
    private readonly OutputTail _stderrTail;
    private long _historyCount;
    private bool _disposed;

    private LinuxProcess(ProcessOptions options)
    {
        _options = options;
        _tmpDirectory = Directory.CreateTempSubdirectory("snapfn-tmp-").FullName;
        try
        {
            Root = new RootFileSystem(options.RootDirectory, [.. options.Mounts, new RootMount("/tmp", _tmpDirectory, Writable: true)]);
        }
        catch
        {
            Directory.Delete(_tmpDirectory, recursive: true);
            throw;
        }
        if (options.VdsoPath is not null)
            _vdsoClock = new VdsoClock();
        Cwd = options.WorkingDirectory;
        _stderrTail = new OutputTail(options.StandardError);
    }

    /// <summary>The invocation channel (fd 3) of a function's program; null for a plain program.</summary>
    public FunctionChannel? Channel { get; private set; }

    internal ProcessOptions Options => _options;

    internal string TmpDirectory => _tmpDirectory;

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

    /// <summary>The guest's memory: the VM's, or the memory <see cref="WithoutVm"/> was given.</summary>
    internal GuestMemory Memory { get; private set; } = null!;

    /// <summary>True once the VM was asked to stop; a process without a VM never runs, so a wait there ends at once.</summary>
    internal bool StopRequested => _vm?.StopRequested ?? true;

    /// <summary>Sets the FS base in the vCPU (when there is one) and in the books.</summary>
    internal void SetFsBase(ulong value)
    {
        _vm?.SetFsBase(value);
        FsBase = value;
    }

    /// <summary>
    /// A process over <paramref name="memory"/> with no VM and no program loaded: its system calls are served from
    /// <see cref="OnSyscall"/> by whoever calls it, as the fuzzer's harness does without booting KVM.
    /// </summary>
    internal static LinuxProcess WithoutVm(ProcessOptions options, GuestMemory memory)
    {
        var process = new LinuxProcess(options);
        try
        {
            process.Attach(memory, new AddressSpace(options.Vm.MemorySize));
            process.OpenStandardFiles();
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

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
                process.Attach(memory, new AddressSpace(options.Vm.MemorySize));
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

    /// <summary>
    /// Rebuilds the process of a snapshot around memory a restore mode has mapped into <paramref name="shell"/>:
    /// its address space, files (reopened by path), /tmp, signal state and the read it is waiting in; the VM
    /// then resumes at that read. <paramref name="options"/> gives what is the host's now: where output goes, the
    /// VM's limits, and the root, which must be the one the snapshot was taken with.
    /// </summary>
    public static LinuxProcess Restore(ProcessState state, ProcessOptions options, VmShell shell, GuestMemory memory, GuestLayout layout, VcpuState vcpu)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(shell);
        if (state.RootFingerprint != options.RootFingerprint)
        {
            shell.Dispose();
            throw new ProcessRestoreException(
                $"the runtime root changed since the snapshot was taken (packages {Short(state.RootFingerprint)} then, {Short(options.RootFingerprint)} now)");
        }
        LinuxProcess process;
        try
        {
            process = new LinuxProcess(options);
        }
        catch
        {
            shell.Dispose();
            throw;
        }
        try
        {
            process.Attach(memory, new AddressSpace(options.Vm.MemorySize));
            state.ApplyTo(process);
            process._vm = MicroVm.Restore(shell, memory, layout, vcpu, options.Vm, process);
            process._vdsoClock?.Attach(process._vm);
            return process;
        }
        catch
        {
            if (process._vm is null)
                shell.Dispose();
            process.Dispose();
            throw;
        }
    }

    private static string Short(string? fingerprint) => fingerprint is null ? "none" : fingerprint[..Math.Min(12, fingerprint.Length)];

    /// <summary>The process's state at READY, for a snapshot (the VM's memory and vCPU are captured separately).</summary>
    public ProcessState Capture() => ProcessState.Capture(this);

    /// <summary>Runs the program to its end; a crash or timeout is thrown with the last system calls in the message.</summary>
    public ProgramExit Run()
    {
        Vm.RunToExit();
        return Exit!;
    }

    private void Attach(GuestMemory memory, AddressSpace space)
    {
        Memory = memory;
        Mappings = new GuestMappings(memory, space);
        User = new UserMemory(memory, space);
    }

    private void OpenStandardFiles()
    {
        Files.Add(new StreamFile("/dev/stdin", Libc.O_RDONLY, null, 0x10, _options.StandardInput), closeOnExec: false);
        Files.Add(StandardOutput(), closeOnExec: false);
        Files.Add(StandardError(), closeOnExec: false);
        if (_options.Function)
            OpenChannel();
    }

    internal StreamFile StandardOutput() => new("/dev/stdout", Libc.O_WRONLY, _options.StandardOutput, 0x11);

    internal StreamFile StandardError() => new("/dev/stderr", Libc.O_WRONLY, _stderrTail.Write, 0x12);

    internal ChannelFile OpenChannel()
    {
        var file = new ChannelFile();
        Files.Set(ChannelFile.Descriptor, file, closeOnExec: false);
        file.Release(); // Set took its own reference
        Channel = new FunctionChannel(file);
        return file;
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
        Record(number, args, result);
        _vdsoClock?.Refresh();
        if (result == FunctionChannel.Waiting)
            return SyscallAction.Ready; // the read stays unfinished: RAX is set when the request comes
        regs.rax = unchecked((ulong)result);
        if (Exit is { } exit)
        {
            if (_options.Function)
                throw new ProgramExitedException(exit, Channel?.HasServed == true ? "during a request" : "before it read its first request",
                    _stderrTail.Text);
            return SyscallAction.Exited;
        }
        return Channel?.TakeResult() is { } done ? Finish(done) : SyscallAction.Continue;
    }

    private SyscallAction Finish(ChannelResult result)
    {
        if (result.Status == ChannelResult.InitFailed)
            throw new FunctionFailedException("the function failed to start: " + Encoding.UTF8.GetString(result.Body), _stderrTail.Text);
        return SyscallAction.Result;
    }

    public void BeforeRun(MicroVm vm) => _vdsoClock?.Refresh();

    public void WriteInput(MicroVm vm, ReadOnlySpan<byte> input)
    {
        var channel = Channel ?? throw new InvalidOperationException("this program has no invocation channel");
        channel.Deliver(input);
        if (channel.TakePendingRead() is var (buffer, count))
        {
            long n;
            try
            {
                n = channel.File.Read(User.Writable(buffer, Math.Min(count, UserMemory.MaxTransfer)));
            }
            catch (BadAddressException)
            {
                n = -Errno.EFAULT;
            }
            vm.CompleteSyscall(n);
        }
    }

    public ReadOnlySpan<byte> Output => Channel is { } channel ? channel.Output : [];

    public void CheckResult()
    {
        if (Channel?.LastResult is { Status: not ChannelResult.Ok } failed)
            throw new FunctionFailedException(Encoding.UTF8.GetString(failed.Body), null);
    }

    public GuestFailureException Explain(GuestFailureException failure) => failure switch
    {
        GuestCrashedException crash => new ProgramCrashedException(crash, RecentSyscalls(), _stderrTail.Text),
        _ => failure,
    };

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
    public ProgramCrashedException(GuestCrashedException crash, string recentSyscalls, string stderrTail = "")
        : base($"program crashed: {crash?.Reason} at rip=0x{crash?.Regs.rip:x} (faulting address cr2=0x{crash?.Cr2:x}, rsp=0x{crash?.Regs.rsp:x}); " +
               $"last system calls:\n{recentSyscalls}" + (string.IsNullOrWhiteSpace(stderrTail) ? "" : $"its last output:\n{stderrTail.TrimEnd()}"), crash!)
    {
        Crash = crash!;
    }

    public GuestCrashedException Crash { get; }
}
