using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Programs;

/// <summary>How long a test lets a guest run before the watchdog stops it: what it needs on KVM, ten times that on the
/// software vCPU, which runs Python one to two orders of magnitude slower (more on a machine shared by several test
/// runs). A net against a hang, never a measurement: no test asserts a guest's speed.</summary>
public static class GuestTimeouts
{
    public static TimeSpan For(TimeSpan onKvm) => VirtualCpu.Selected == CpuKind.Soft ? onKvm * 10 : onKvm;
}
