using Snapfn.Interop;
using static Snapfn.Interop.Unicorn;

namespace Snapfn.Vmm;

/// <summary>
/// What `cpuid` answers on the software vCPU. Unicorn's own model leaves out bits that every x86-64 CPU has (FPU,
/// TSC, MMX in leaf 1), so glibc's loader refuses to start ("CPU ISA level is lower than required"). This is that
/// model with the features QEMU's TCG does emulate added — SSE3, SSSE3, SSE4.1, CX16, LAHF/SAHF — and still no
/// XSAVE or AVX, which it does not, so programs choose code paths it runs. Nor POPCNT: Debian's Unicorn 2.0.1 keeps
/// it out of its CPU's features whatever the model, and TCG then translates `popcnt` as an invalid instruction (a
/// program that saw the bit and used it — V8 — died of a triple fault). And so not SSE4.2 either, although TCG runs
/// its instructions: no real CPU has SSE4.2 without POPCNT, and code chosen by SSE4.2 alone uses `popcnt` (simdutf's
/// "westmere" kernels in node, compiled for "sse4.2,popcnt"). Every bit said here must name instructions the
/// emulator runs: SoftCpuidTests runs one of each advertised feature.
/// </summary>
internal static unsafe class SoftCpuid
{
    private const uint Leaf1Edx = 1u << 0 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 8 | 1u << 13 | 1u << 15 | 1u << 16 | 1u << 19
                                  | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26; // FPU TSC MSR PAE CX8 PGE CMOV PAT CLFSH MMX FXSR SSE SSE2
    private const uint Leaf1Ecx = 1u << 0 | 1u << 9 | 1u << 13 | 1u << 19 | 1u << 31; // SSE3 SSSE3 CX16 SSE4.1 hypervisor
    private const uint Leaf1EcxRemoved = 1u << 20 | 1u << 23 | 1u << 26 | 1u << 27 | 1u << 28; // SSE4.2 POPCNT XSAVE OSXSAVE AVX
    private const uint Extended1Edx = 1u << 11 | 1u << 20 | 1u << 29; // SYSCALL NX LM
    private const uint Extended1Ecx = 1u << 0; // LAHF/SAHF in 64-bit mode

    private static readonly Lazy<Dictionary<uint, (uint Eax, uint Ebx, uint Ecx, uint Edx)>> _patched = new(Build);

    /// <summary>The answer for <paramref name="leaf"/> when this model changes Unicorn's, else null (Unicorn answers).</summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx)? Answer(uint leaf) =>
        _patched.Value.TryGetValue(leaf, out var answer) ? answer : null;

    private static Dictionary<uint, (uint, uint, uint, uint)> Build()
    {
        var leaf1 = AskUnicorn(1);
        var extended1 = AskUnicorn(0x8000_0001);
        return new()
        {
            [1] = (leaf1.Eax, leaf1.Ebx, (leaf1.Ecx | Leaf1Ecx) & ~Leaf1EcxRemoved, leaf1.Edx | Leaf1Edx),
            [0x8000_0001] = (extended1.Eax, extended1.Ebx, extended1.Ecx | Extended1Ecx, extended1.Edx | Extended1Edx),
        };
    }

    /// <summary>What the guest's `cpuid` answers for <paramref name="leaf"/> (subleaf 0).</summary>
    internal static (uint Eax, uint Ebx, uint Ecx, uint Edx) Leaf(uint leaf) => Answer(leaf) ?? AskUnicorn(leaf);

    /// <summary>Whether <paramref name="code"/> runs to its end on a scratch engine like the vCPU's (RSI and RDI point
    /// at zeroed scratch memory): false when the emulator refuses an instruction of it.</summary>
    internal static bool Runs(ReadOnlySpan<byte> code) => Execute(code, 0, out _) == UC_ERR_OK;

    /// <summary>Runs one `cpuid` on a scratch engine without the hook.</summary>
    private static (uint Eax, uint Ebx, uint Ecx, uint Edx) AskUnicorn(uint leaf)
    {
        Check(Execute([0x0f, 0xa2], leaf, out var r), "cpuid");
        return ((uint)r.Rax, (uint)r.Rbx, (uint)r.Rcx, (uint)r.Rdx);
    }

    private static int Execute(ReadOnlySpan<byte> code, ulong rax, out (ulong Rax, ulong Rbx, ulong Rcx, ulong Rdx) result)
    {
        const ulong Base = 0x1000, Size = 8192;
        if (code.Length > 4096)
            throw new ArgumentException("at most a page of code", nameof(code));
        Check(uc_open(UC_ARCH_X86, UC_MODE_64, out var uc), "uc_open");
        using var page = MemoryMapping.Anonymous(Size);
        try
        {
            code.CopyTo(new Span<byte>((void*)page.Address, code.Length));
            Check(uc_mem_map_ptr(uc, Base, (nuint)Size, UC_PROT_ALL, (void*)page.Address), "uc_mem_map_ptr");
            ulong zero = 0, scratch = Base + 4096;
            Check(uc_reg_write(uc, UC_X86_REG_RAX, &rax), "uc_reg_write(RAX)");
            Check(uc_reg_write(uc, UC_X86_REG_RCX, &zero), "uc_reg_write(RCX)");
            Check(uc_reg_write(uc, UC_X86_REG_RSI, &scratch), "uc_reg_write(RSI)");
            Check(uc_reg_write(uc, UC_X86_REG_RDI, &scratch), "uc_reg_write(RDI)");
            var error = uc_emu_start(uc, Base, Base + (ulong)code.Length, 0, 0);
            ulong a, b, c, d;
            Check(uc_reg_read(uc, UC_X86_REG_RAX, &a), "uc_reg_read");
            Check(uc_reg_read(uc, UC_X86_REG_RBX, &b), "uc_reg_read");
            Check(uc_reg_read(uc, UC_X86_REG_RCX, &c), "uc_reg_read");
            Check(uc_reg_read(uc, UC_X86_REG_RDX, &d), "uc_reg_read");
            result = (a, b, c, d);
            return error;
        }
        finally
        {
            _ = uc_close(uc);
        }
    }
}
