using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Workloads.Tests;

/// <summary>The workload guests built by guest/Makefile (the Snapfn.Guests project builds them before the tests).</summary>
public static class Guests
{
    public static string Directory { get; } = Find();

    public static FunctionCatalog Catalog { get; } = new(Directory);

    /// <summary>The input the CLI and the bench send for <paramref name="set"/>.</summary>
    public static byte[] Input(string function, InputSet set) => WorkloadInputs.Get(Catalog, function, set);

    /// <summary>Skips the calling test, visibly, where this machine has no usable KVM.</summary>
    public static void RequireKvm()
    {
        if (!KvmSystem.IsAvailable(out var reason))
            Assert.Skip($"needs /dev/kvm: {reason}");
    }

    /// <summary>Boots the function on the default guest size (2 GiB), runs init() and one request.</summary>
    public static byte[] Run(string function, byte[] input)
    {
        var options = new MicroVmOptions { MemorySize = 2UL << 30, Timeout = TimeSpan.FromSeconds(60), Name = function };
        using var vm = MicroVm.Boot(ElfImage.Load(Path.Combine(Directory, function + ".elf")), options);
        vm.RunToReady();
        var run = vm.Invoke(input);
        var output = vm.Output(run).ToArray();
        Assert.NotEmpty(output);
        return output;
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
