using Snapfn.Vmm;

namespace Snapfn.Daemon.Tests;

public static class Kvm
{
    /// <summary>Skips the calling test, visibly, where this machine has no usable KVM.</summary>
    public static void Require()
    {
        if (!KvmSystem.IsAvailable(out var reason))
            Assert.Skip($"needs /dev/kvm: {reason}");
    }
}
