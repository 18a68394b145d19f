using Snapfn.Vmm;

namespace Snapfn.Tests;

/// <summary>
/// Shared by the test projects that boot guests: where guest/Makefile put the ELFs (the Snapfn.Guests project
/// builds them before the tests), and the visible skip where this machine has no usable KVM.
/// </summary>
public static class GuestBuild
{
    public static string Directory { get; } = Find();

    public static string ElfPath(string name) => Path.Combine(Directory, name + ".elf");

    public static ElfImage Elf(string name) => ElfImage.Load(ElfPath(name));

    /// <summary>Skips the calling test, visibly, where guests cannot run here: no usable KVM, and no emulated CPU
    /// asked for (SNAPFN_CPU=soft; scripts/test asks for it where KVM is missing).</summary>
    public static void RequireKvm()
    {
        if (!VirtualCpu.IsAvailable(out var reason))
            Assert.Skip($"needs /dev/kvm: {reason}");
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.Directory.Exists(Path.Combine(dir.FullName, "guest", "runtime")))
                return Path.Combine(dir.FullName, "guest", "build");
        }
        throw new DirectoryNotFoundException("guest/build not found above " + AppContext.BaseDirectory);
    }
}
