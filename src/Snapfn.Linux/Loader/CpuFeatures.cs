using System.Runtime.Intrinsics.X86;

namespace Snapfn.Linux.Loader;

/// <summary>AT_HWCAP as Linux computes it on x86: CPUID leaf 1's EDX. The guest's CPUID is KVM's supported set,
/// which on these features is the host's.</summary>
public static class CpuFeatures
{
    public static ulong Hwcap { get; } = X86Base.IsSupported ? (ulong)(uint)X86Base.CpuId(1, 0).Edx : 0;
}
