using Snapfn.Vmm;

namespace Snapfn.Daemon.Tests;

public static class Kvm
{
    /// <summary>Skips the calling test, visibly, where guests cannot run here: no usable KVM, and no emulated CPU
    /// asked for (SNAPFN_CPU=soft; the daemon and CLI processes the tests start inherit it).</summary>
    public static void Require()
    {
        if (!VirtualCpu.IsAvailable(out var reason))
            Assert.Skip($"needs /dev/kvm: {reason}");
    }
}
