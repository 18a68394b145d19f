using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

/// <summary>The guest ELFs built by guest/Makefile (the Snapfn.Guests project builds them before the tests).</summary>
public static class Guests
{
    public static string Directory { get; } = Find();

    public static string Path(string name) => System.IO.Path.Combine(Directory, name + ".elf");

    public static ElfImage Elf(string name) => ElfImage.Load(Path(name));

    /// <summary>Skips the calling test, visibly, where this machine has no usable KVM.</summary>
    public static void RequireKvm()
    {
        if (!KvmSystem.IsAvailable(out var reason))
            Assert.Skip($"needs /dev/kvm: {reason}");
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.Directory.Exists(System.IO.Path.Combine(dir.FullName, "guest", "runtime")))
                return System.IO.Path.Combine(dir.FullName, "guest", "build");
        }
        throw new DirectoryNotFoundException("guest/build not found above " + AppContext.BaseDirectory);
    }
}
