using System.Runtime.Intrinsics.X86;

namespace Snapfn.Cluster.Artifacts;

/// <summary>
/// The CPUID feature words of a host: what a guest snapshotted there may have seen and used (a Python built with
/// AVX-512 paths picks them at start-up, before the snapshot). A snapshot restored on a CPU that lacks one of them
/// runs until the guest executes such an instruction, then crashes; so a snapshot records its host's words and a
/// node restores it only when they are a subset of its own (<see cref="Missing"/>).
/// </summary>
/// <param name="Leaf1Ecx">CPUID 1, ECX, without bit 31 (hypervisor present: a fact about the host, not a feature).</param>
/// <param name="Leaf1Edx">CPUID 1, EDX.</param>
/// <param name="Leaf7Ebx">CPUID 7.0, EBX (avx2, bmi, avx512f, ...).</param>
/// <param name="Leaf7Ecx">CPUID 7.0, ECX.</param>
/// <param name="Leaf7Edx">CPUID 7.0, EDX.</param>
/// <param name="LeafDSub1Eax">CPUID 0xD.1, EAX (xsaveopt, xsavec, xsaves: the state a restore loads).</param>
/// <param name="Ext1Ecx">CPUID 0x80000001, ECX (lzcnt, sse4a, ...).</param>
/// <param name="Ext1Edx">CPUID 0x80000001, EDX (nx, rdtscp, long mode, ...).</param>
public sealed record CpuFeatures(uint Leaf1Ecx, uint Leaf1Edx, uint Leaf7Ebx, uint Leaf7Ecx, uint Leaf7Edx, uint LeafDSub1Eax,
    uint Ext1Ecx, uint Ext1Edx)
{
    private const uint HypervisorBit = 1u << 31;

    /// <summary>This host's words; all zero where the process does not run on x86 (nothing to compare then).</summary>
    public static CpuFeatures Current { get; } = Read();

    /// <summary>The features <paramref name="snapshot"/> has and <paramref name="host"/> lacks, by name where the
    /// name is well known (else "leaf 7 EBX bit 9"); empty when the snapshot can run on the host.</summary>
    public static IReadOnlyList<string> Missing(CpuFeatures snapshot, CpuFeatures host)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(host);
        var missing = new List<string>();
        foreach (var (word, need, have) in snapshot.Words().Zip(host.Words(), (s, h) => (s.Name, s.Value, h.Value)))
        {
            var lacking = need & ~have;
            for (var bit = 0; bit < 32; bit++)
            {
                if ((lacking & (1u << bit)) != 0)
                    missing.Add(_names.TryGetValue((word, bit), out var name) ? name : $"{word} bit {bit}");
            }
        }
        return missing;
    }

    private IEnumerable<(string Name, uint Value)> Words()
    {
        yield return ("leaf 1 ECX", Leaf1Ecx & ~HypervisorBit);
        yield return ("leaf 1 EDX", Leaf1Edx);
        yield return ("leaf 7 EBX", Leaf7Ebx);
        yield return ("leaf 7 ECX", Leaf7Ecx);
        yield return ("leaf 7 EDX", Leaf7Edx);
        yield return ("leaf 0xD.1 EAX", LeafDSub1Eax);
        yield return ("leaf 0x80000001 ECX", Ext1Ecx);
        yield return ("leaf 0x80000001 EDX", Ext1Edx);
    }

    private static CpuFeatures Read()
    {
        if (!X86Base.IsSupported)
            return new CpuFeatures(0, 0, 0, 0, 0, 0, 0, 0);
        var max = (uint)X86Base.CpuId(0, 0).Eax;
        var maxExt = (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        (int Eax, int Ebx, int Ecx, int Edx) Leaf(uint leaf, int sub, uint top) =>
            leaf <= top ? X86Base.CpuId(unchecked((int)leaf), sub) : default;
        var l1 = Leaf(1, 0, max);
        var l7 = Leaf(7, 0, max);
        var ld = Leaf(0xD, 1, max);
        var e1 = Leaf(0x80000001, 0, maxExt);
        return new CpuFeatures((uint)l1.Ecx & ~HypervisorBit, (uint)l1.Edx, (uint)l7.Ebx, (uint)l7.Ecx, (uint)l7.Edx, (uint)ld.Eax,
            (uint)e1.Ecx, (uint)e1.Edx);
    }

    // The names of the features a compiler or a runtime's dispatch actually picks, for the message.
    private static readonly Dictionary<(string Word, int Bit), string> _names = new()
    {
        [("leaf 1 ECX", 0)] = "sse3",
        [("leaf 1 ECX", 9)] = "ssse3",
        [("leaf 1 ECX", 12)] = "fma",
        [("leaf 1 ECX", 19)] = "sse4.1",
        [("leaf 1 ECX", 20)] = "sse4.2",
        [("leaf 1 ECX", 22)] = "movbe",
        [("leaf 1 ECX", 23)] = "popcnt",
        [("leaf 1 ECX", 25)] = "aes",
        [("leaf 1 ECX", 26)] = "xsave",
        [("leaf 1 ECX", 28)] = "avx",
        [("leaf 1 ECX", 29)] = "f16c",
        [("leaf 1 ECX", 30)] = "rdrand",
        [("leaf 1 EDX", 25)] = "sse",
        [("leaf 1 EDX", 26)] = "sse2",
        [("leaf 7 EBX", 3)] = "bmi1",
        [("leaf 7 EBX", 5)] = "avx2",
        [("leaf 7 EBX", 8)] = "bmi2",
        [("leaf 7 EBX", 9)] = "erms",
        [("leaf 7 EBX", 16)] = "avx512f",
        [("leaf 7 EBX", 17)] = "avx512dq",
        [("leaf 7 EBX", 18)] = "rdseed",
        [("leaf 7 EBX", 19)] = "adx",
        [("leaf 7 EBX", 29)] = "sha",
        [("leaf 7 EBX", 30)] = "avx512bw",
        [("leaf 7 EBX", 31)] = "avx512vl",
        [("leaf 7 ECX", 1)] = "avx512vbmi",
        [("leaf 7 ECX", 8)] = "gfni",
        [("leaf 7 ECX", 9)] = "vaes",
        [("leaf 7 ECX", 10)] = "vpclmulqdq",
        [("leaf 7 ECX", 11)] = "avx512vnni",
        [("leaf 7 EDX", 4)] = "fsrm",
        [("leaf 7 EDX", 22)] = "amx-bf16",
        [("leaf 7 EDX", 24)] = "amx-tile",
        [("leaf 0xD.1 EAX", 0)] = "xsaveopt",
        [("leaf 0xD.1 EAX", 1)] = "xsavec",
        [("leaf 0xD.1 EAX", 3)] = "xsaves",
        [("leaf 0x80000001 ECX", 5)] = "lzcnt",
        [("leaf 0x80000001 ECX", 6)] = "sse4a",
        [("leaf 0x80000001 EDX", 27)] = "rdtscp",
    };
}
