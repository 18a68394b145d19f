using Snapfn.Interop;

namespace Snapfn.Linux.Syscalls;

/// <summary>A system call's six arguments (RDI, RSI, RDX, R10, R8, R9), as the x86-64 ABI passes them.</summary>
public readonly struct SyscallArgs
{
    public SyscallArgs(in Kvm.kvm_regs regs)
    {
        A0 = regs.rdi;
        A1 = regs.rsi;
        A2 = regs.rdx;
        A3 = regs.r10;
        A4 = regs.r8;
        A5 = regs.r9;
    }

    public SyscallArgs(ulong a0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        A0 = a0;
        A1 = a1;
        A2 = a2;
        A3 = a3;
        A4 = a4;
        A5 = a5;
    }

    public ulong A0 { get; }

    public ulong A1 { get; }

    public ulong A2 { get; }

    public ulong A3 { get; }

    public ulong A4 { get; }

    public ulong A5 { get; }

    /// <summary>An int argument (file descriptors, flags): the low 32 bits, sign-extended, as the kernel reads it.</summary>
    public static int AsInt(ulong value) => unchecked((int)(uint)value);
}

/// <summary>A system call's implementation: the result, or a negated errno.</summary>
public delegate long SyscallFunction(LinuxProcess process, in SyscallArgs args);
