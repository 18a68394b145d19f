using Snapfn.Interop;

namespace Snapfn.Vmm.Tests;

/// <summary>The software vCPU's `cpuid` may only advertise what its emulator runs: it said POPCNT, which Debian's
/// Unicorn translates as an invalid instruction, and node (V8, simdutf) took that path and died of a triple fault.</summary>
public sealed class SoftCpuidTests
{
    private const int Ebx = 1, Ecx = 2, Edx = 3;

    /// <summary>A feature bit and one instruction it promises (RSI points at zeroed scratch memory).</summary>
    public static TheoryData<string, uint, int, int, byte[]> Features => new()
    {
        { "MMX", 1, Edx, 23, [0x0f, 0xfc, 0xc1] }, // paddb mm0, mm1
        { "SSE", 1, Edx, 25, [0x0f, 0x58, 0xc1] }, // addps xmm0, xmm1
        { "SSE2", 1, Edx, 26, [0x66, 0x0f, 0xfe, 0xc1] }, // paddd xmm0, xmm1
        { "SSE3", 1, Ecx, 0, [0xf2, 0x0f, 0x7c, 0xc1, 0xf2, 0x0f, 0x12, 0xc1] }, // haddps, movddup
        { "PCLMULQDQ", 1, Ecx, 1, [0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00] },
        { "SSSE3", 1, Ecx, 9, [0x66, 0x0f, 0x38, 0x00, 0xc1] }, // pshufb
        { "FMA", 1, Ecx, 12, [0xc4, 0xe2, 0xf1, 0xa8, 0xc2] }, // vfmadd213ps
        { "CX16", 1, Ecx, 13, [0x48, 0x0f, 0xc7, 0x0e] }, // cmpxchg16b [rsi]
        { "SSE4.1", 1, Ecx, 19, [0x66, 0x0f, 0x38, 0x39, 0xc1, 0x66, 0x0f, 0x3a, 0x0e, 0xc1, 0x0f] }, // pminsd, pblendw
        { "SSE4.2", 1, Ecx, 20, [0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc0, 0x66, 0x0f, 0x3a, 0x63, 0xc1, 0x00] }, // crc32, pcmpistri
        { "MOVBE", 1, Ecx, 22, [0x48, 0x0f, 0x38, 0xf0, 0x06] },
        { "POPCNT", 1, Ecx, 23, [0xf3, 0x48, 0x0f, 0xb8, 0xc0] },
        { "AES", 1, Ecx, 25, [0x66, 0x0f, 0x38, 0xdc, 0xc1] }, // aesenc
        { "XSAVE", 1, Ecx, 26, [0x31, 0xc9, 0x0f, 0x01, 0xd0] }, // xgetbv
        { "AVX", 1, Ecx, 28, [0xc5, 0xf8, 0x77] }, // vzeroupper
        { "F16C", 1, Ecx, 29, [0xc4, 0xe2, 0x79, 0x13, 0xc1] }, // vcvtph2ps
        { "RDRAND", 1, Ecx, 30, [0x48, 0x0f, 0xc7, 0xf0] },
        { "BMI1", 7, Ebx, 3, [0xc4, 0xe2, 0xf8, 0xf2, 0xc3, 0xf3, 0x48, 0x0f, 0xbc, 0xc0] }, // andn, tzcnt
        { "AVX2", 7, Ebx, 5, [0xc5, 0xfd, 0xfe, 0xc1] }, // vpaddd ymm
        { "BMI2", 7, Ebx, 8, [0xc4, 0xe2, 0xe1, 0xf7, 0xc0] }, // shlx
        { "RDSEED", 7, Ebx, 18, [0x48, 0x0f, 0xc7, 0xf8] },
        { "ADX", 7, Ebx, 19, [0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc3] }, // adcx
        { "SHA", 7, Ebx, 29, [0x0f, 0x38, 0xc9, 0xc1] }, // sha1msg1
        { "LAHF/SAHF", 0x8000_0001, Ecx, 0, [0x9f, 0x9e] },
        { "LZCNT", 0x8000_0001, Ecx, 5, [0xf3, 0x48, 0x0f, 0xbd, 0xc0] },
        { "RDTSCP", 0x8000_0001, Edx, 27, [0x0f, 0x01, 0xf9] },
    };

    [Theory]
    [MemberData(nameof(Features))]
    public void An_advertised_feature_is_one_the_emulator_runs(string name, uint leaf, int register, int bit, byte[] code)
    {
        RequireUnicorn();
        var (_, ebx, ecx, edx) = SoftCpuid.Leaf(leaf);
        var word = register switch { Ebx => ebx, Ecx => ecx, _ => edx };
        if ((word >> bit & 1) == 0)
            return; // not advertised: programs do not use it
        Assert.True(SoftCpuid.Runs(code), $"cpuid advertises {name} (leaf 0x{leaf:x}, bit {bit}) but the emulator refuses its instructions");
    }

    /// <summary>simdutf (in node) picks its SSE4.2 kernels by that bit alone, and they use `popcnt`.</summary>
    [Fact]
    public void SSE4_2_is_advertised_only_with_POPCNT()
    {
        RequireUnicorn();
        var ecx = SoftCpuid.Leaf(1).Ecx;
        Assert.False((ecx >> 20 & 1) != 0 && (ecx >> 23 & 1) == 0, $"leaf 1 ECX 0x{ecx:x} has SSE4.2 without POPCNT");
    }

    [Fact]
    public void The_baseline_every_x86_64_program_assumes_is_advertised()
    {
        RequireUnicorn();
        var (_, _, _, edx) = SoftCpuid.Leaf(1);
        foreach (var bit in new[] { 0, 4, 8, 15, 23, 24, 25, 26 }) // FPU TSC CX8 CMOV MMX FXSR SSE SSE2
            Assert.True((edx >> bit & 1) != 0, $"leaf 1 EDX bit {bit}");
        var (_, _, _, extended) = SoftCpuid.Leaf(0x8000_0001);
        Assert.True((extended >> 11 & 1) != 0 && (extended >> 29 & 1) != 0, "SYSCALL and LM");
    }

    private static void RequireUnicorn()
    {
        if (!Unicorn.IsLoadable(out var reason))
            Assert.Skip($"needs libunicorn2 (the software CPU): {reason}");
    }
}
