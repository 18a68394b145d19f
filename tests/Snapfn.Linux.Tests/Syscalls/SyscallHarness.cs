using Snapfn.Interop;
using Snapfn.Linux.Syscalls;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>A clock that moves only when the program sleeps: waits and timers without real time passing.</summary>
internal sealed class ManualClock : IGuestClock
{
    public long Monotonic { get; set; } = 1_000_000_000_000;

    public long Realtime => Monotonic + 1_700_000_000_000_000_000;

    public long Slept { get; private set; }

    public long Sleep(long ns)
    {
        Monotonic += ns;
        Slept += ns;
        return 0;
    }
}

/// <summary>A process over plain guest memory (no KVM) with a manual clock and a scratch mapping; calls go through
/// <see cref="LinuxProcess.OnSyscall"/> as a vCPU's would, so that signals are delivered into the registers.</summary>
internal sealed class SyscallHarness : IDisposable
{
    public const ulong MemorySize = 64UL << 20;
    private readonly string _root = Directory.CreateTempSubdirectory("snapfn-harness-root-").FullName;
    private readonly GuestMemory _memory = new(MemoryMapping.Anonymous(MemorySize));

    public SyscallHarness(long pipeBufferLimit = ProcessOptions.DefaultPipeBufferLimit, int maxThreads = 256, bool function = false,
        long sharedFileMappingLimit = ProcessOptions.DefaultSharedFileMappingLimit)
    {
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        File.WriteAllText(Path.Combine(_root, "etc", "hostname"), "snapfn\n");
        Process = LinuxProcess.WithoutVm(new ProcessOptions
        {
            RootDirectory = _root, Program = "/none", Arguments = ["/none"], PipeBufferLimit = pipeBufferLimit, MaxThreads = maxThreads, Function = function,
            SharedFileMappingLimit = sharedFileMappingLimit,
            Vm = new MicroVmOptions { MemorySize = MemorySize, Name = "harness" },
        }, _memory);
        Process.Clock = Clock;
        Scratch = (ulong)Call(9, 0, 1 << 20, 3, 0x22, ulong.MaxValue, 0);
        Regs = new Kvm.kvm_regs { rsp = Process.Space.StackTop - 4096, rcx = ProcessGuest.ProgramBase + 0x1234, r11 = 0x202 };
    }

    public LinuxProcess Process { get; }

    public ManualClock Clock { get; } = new();

    /// <summary>1 MiB of read-write memory for arguments.</summary>
    public ulong Scratch { get; }

    /// <summary>The registers the program resumes with after <see cref="Call"/> (a signal handler's, or as before).</summary>
    public Kvm.kvm_regs Regs;

    public long Call(ulong number, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        Regs.rax = number;
        Regs.rdi = a0;
        Regs.rsi = a1;
        Regs.rdx = a2;
        Regs.r10 = a3;
        Regs.r8 = a4;
        Regs.r9 = a5;
        Process.OnSyscall(null!, ref Regs);
        return unchecked((long)Regs.rax);
    }

    /// <summary>The root directory on the host (read-only to the program).</summary>
    public string RootDirectory => _root;

    /// <summary>Writes a NUL-terminated string at <paramref name="address"/> and returns the address.</summary>
    public ulong Text(ulong address, string text)
    {
        Process.User.Write(address, System.Text.Encoding.UTF8.GetBytes(text + "\0"));
        return address;
    }

    public T Read<T>(ulong address) where T : unmanaged => Process.User.Read<T>(address);

    public void Write<T>(ulong address, T value) where T : unmanaged => Process.User.Write(address, value);

    public void Dispose()
    {
        Process.Dispose();
        _memory.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
