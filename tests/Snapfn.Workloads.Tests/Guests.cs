using Snapfn.Platform;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Workloads.Tests;

/// <summary>The workload guests built by guest/Makefile (the Snapfn.Guests project builds them before the tests).</summary>
public static class Guests
{
    public static string Directory => GuestBuild.Directory;

    public static FunctionCatalog Catalog { get; } = new(Directory);

    /// <summary>The input the CLI and the bench send for <paramref name="set"/>.</summary>
    public static byte[] Input(string function, InputSet set) => WorkloadInputs.Get(Catalog, function, set);

    public static void RequireKvm() => GuestBuild.RequireKvm();

    /// <summary>Boots the function on the default guest size (2 GiB), runs init() and one request.</summary>
    public static byte[] Run(string function, byte[] input)
    {
        var options = new MicroVmOptions { MemorySize = 2UL << 30, Timeout = TimeSpan.FromSeconds(60), Name = function };
        using var vm = MicroVm.Boot(GuestBuild.Elf(function), options);
        vm.RunToReady();
        var run = vm.Invoke(input);
        var output = vm.Output(run).ToArray();
        Assert.NotEmpty(output);
        return output;
    }

    /// <summary>Boots a script function of guest/functions (py-NAME, node-NAME) on its language's runtime with the
    /// packages its snapfn.json lists (the root is built on first use), runs init() and one request.</summary>
    public static byte[] RunScript(string function, byte[] input, ulong memory = 2UL << 30)
    {
        var log = new List<string>();
        var options = new MicroVmOptions
        {
            MemorySize = memory, Timeout = TimeSpan.FromSeconds(300), Name = function, Log = line => { lock (log) log.Add(line); },
        };
        try
        {
            var output = BootRun.Run(Catalog.Get(function), input, options).Output;
            Assert.NotEmpty(output);
            return output;
        }
        catch (GuestFailureException e)
        {
            throw new InvalidOperationException($"{function} failed: {e.Message}\nits log:\n{string.Join('\n', log.TakeLast(30))}", e);
        }
    }
}
