using Snapfn.Interop;
using static Snapfn.Interop.Unicorn;

namespace Snapfn.Vmm;

/// <summary>
/// What `cpuid` answers on the software vCPU. Unicorn's own model leaves out bits that every x86-64 CPU has (FPU,
/// TSC, MMX in leaf 1), so glibc's loader refuses to start ("CPU ISA level is lower than required"). This is that
/// model with the x86-64-v2 features QEMU's TCG does emulate added — SSE3, SSSE3, SSE4.1/4.2, POPCNT, CX16,
/// LAHF/SAHF — and still no XSAVE or AVX, which it does not, so programs choose code paths it runs.
/// </summary>
internal static unsafe class SoftCpuid
{
    private const uint Leaf1Edx = 1u << 0 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 8 | 1u << 13 | 1u << 15 | 1u << 16 | 1u << 19
                                  | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26; // FPU TSC MSR PAE CX8 PGE CMOV PAT CLFSH MMX FXSR SSE SSE2
    private const uint Leaf1Ecx = 1u << 0 | 1u << 9 | 1u << 13 | 1u << 19 | 1u << 20 | 1u << 23 | 1u << 31; // SSE3 SSSE3 CX16 SSE4.1 SSE4.2 POPCNT hypervisor
    private const uint Leaf1EcxRemoved = 1u << 26 | 1u << 27 | 1u << 28; // XSAVE OSXSAVE AVX
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

    /// <summary>Runs one `cpuid` on a scratch engine without the hook.</summary>
    private static (uint Eax, uint Ebx, uint Ecx, uint Edx) AskUnicorn(uint leaf)
    {
        Check(uc_open(UC_ARCH_X86, UC_MODE_64, out var uc), "uc_open");
        using var page = MemoryMapping.Anonymous(4096);
        try
        {
            ReadOnlySpan<byte> code = [0x0f, 0xa2]; // cpuid
            code.CopyTo(new Span<byte>((void*)page.Address, code.Length));
            Check(uc_mem_map_ptr(uc, 0x1000, 4096, UC_PROT_ALL, (void*)page.Address), "uc_mem_map_ptr");
            ulong eax = leaf, ecx = 0;
            Check(uc_reg_write(uc, UC_X86_REG_RAX, &eax), "uc_reg_write(RAX)");
            Check(uc_reg_write(uc, UC_X86_REG_RCX, &ecx), "uc_reg_write(RCX)");
            Check(uc_emu_start(uc, 0x1000, 0x1002, 0, 0), "cpuid");
            ulong a, b, c, d;
            Check(uc_reg_read(uc, UC_X86_REG_RAX, &a), "uc_reg_read");
            Check(uc_reg_read(uc, UC_X86_REG_RBX, &b), "uc_reg_read");
            Check(uc_reg_read(uc, UC_X86_REG_RCX, &c), "uc_reg_read");
            Check(uc_reg_read(uc, UC_X86_REG_RDX, &d), "uc_reg_read");
            return ((uint)a, (uint)b, (uint)c, (uint)d);
        }
        finally
        {
            _ = uc_close(uc);
        }
    }
}
