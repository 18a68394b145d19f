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

    /// <summary>Set to 1 to run the workload tests on the emulated CPU too.</summary>
    public const string SoftCpuVariable = "SNAPFN_SOFT_WORKLOADS";

    /// <summary>Skips the calling test, visibly, where guests cannot run; and on the emulated CPU unless
    /// <see cref="SoftCpuVariable"/> is 1: the paper's stacks (NumPy, PyTorch, igraph, FFmpeg) take tens of minutes
    /// there in all, which the test command cannot spend inside CI's limit. With it set they run, on the smaller
    /// inputs below.</summary>
    public static void RequireKvm()
    {
        GuestBuild.RequireKvm();
        if (OnSoftCpu && Environment.GetEnvironmentVariable(SoftCpuVariable) != "1")
            Assert.Skip($"workload tests on the emulated CPU (SNAPFN_CPU=soft) take tens of minutes: set {SoftCpuVariable}=1 to run them");
    }

    /// <summary>Whether guests run on the emulated CPU (SNAPFN_CPU=soft), 10-100x slower than KVM for compute: the
    /// tests that would take minutes there give the function a smaller input of the same shape.</summary>
    public static bool OnSoftCpu => VirtualCpu.Selected == CpuKind.Soft;

    /// <summary>Skips the calling test, visibly, on the emulated CPU, for a function whose work is fixed by its code
    /// (no smaller input exists) and takes longer there than a test run can spend.</summary>
    public static void SkipOnSoftCpu(string why)
    {
        if (OnSoftCpu)
            Assert.Skip($"too slow on the emulated CPU (SNAPFN_CPU=soft): {why}; it runs where /dev/kvm is");
    }

    /// <summary>matmul's n on the emulated CPU: several row strips (MC 96), two depth panels (KC 256) and edge tiles
    /// on both sides (300 is a multiple of neither 6 nor 8), at a three-hundredth of input A's 2000³ work.</summary>
    public const int SoftCpuMatmulN = 300;

    /// <summary>The input of a matmul function (matmul, py-matmul) for <paramref name="set"/>: its own on KVM, the
    /// same seed with n = <see cref="SoftCpuMatmulN"/> on the emulated CPU.</summary>
    public static byte[] MatmulInput(string function, InputSet set) => SizedInput(function, set, SoftCpuMatmulN);

    /// <summary>py-pagerank's n on the emulated CPU: igraph's graph generation and PRPACK at 90 000 nodes took over
    /// ten minutes there; 5000 nodes (about 50 000 edges) still rank a scale-free graph with a clear top ten.</summary>
    public const int SoftCpuPagerankN = 5000;

    /// <summary>The input of py-pagerank for <paramref name="set"/>: its own on KVM, the same seed with n =
    /// <see cref="SoftCpuPagerankN"/> on the emulated CPU.</summary>
    public static byte[] PagerankInput(string function, InputSet set) => SizedInput(function, set, SoftCpuPagerankN);

    /// <summary>An {"n", "seed"} input for <paramref name="set"/>: its own on KVM, the same seed with
    /// n = <paramref name="softCpuN"/> on the emulated CPU.</summary>
    private static byte[] SizedInput(string function, InputSet set, int softCpuN)
    {
        var input = Input(function, set);
        if (!OnSoftCpu)
            return input;
        using var parameters = System.Text.Json.JsonDocument.Parse(input);
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        return System.Text.Encoding.ASCII.GetBytes($"{{\"n\":{softCpuN},\"seed\":{seed}}}");
    }

    /// <summary>Frames of a video input the emulated CPU gets (of 30): every frame is decoded, turned gray and encoded
    /// the same way, so the first few check what all of them do.</summary>
    public const int SoftCpuVideoFrames = 4;

    /// <summary>The number of frames <see cref="VideoInput"/> holds.</summary>
    public static int VideoFrames => OnSoftCpu ? SoftCpuVideoFrames : 30;

    /// <summary>The input of a video function (video, py-video) for <paramref name="set"/>: all its 30 frames on KVM,
    /// the first <see cref="SoftCpuVideoFrames"/> on the emulated CPU.</summary>
    public static byte[] VideoInput(string function, InputSet set)
    {
        var input = Input(function, set);
        return OnSoftCpu ? [.. JpegFile.Frames(input).Take(SoftCpuVideoFrames).SelectMany(f => f)] : input;
    }

    /// <summary>How long one boot, init() and request may take before the guest is stopped as hung (on the emulated
    /// CPU the watchdog stretches it itself: VirtualCpu.WatchdogDelay).</summary>
    private static TimeSpan RunTimeout(int kvmSeconds) => TimeSpan.FromSeconds(kvmSeconds);

    /// <summary>Boots the function on the default guest size (2 GiB), runs init() and one request.</summary>
    public static byte[] Run(string function, byte[] input)
    {
        var options = new MicroVmOptions { MemorySize = 2UL << 30, Timeout = RunTimeout(60), Name = function };
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
            MemorySize = memory, Timeout = RunTimeout(300), Name = function, Log = line => { lock (log) log.Add(line); },
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
