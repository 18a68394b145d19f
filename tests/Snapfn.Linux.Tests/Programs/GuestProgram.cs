using System.Text;
using Snapfn.Linux.Files;
using Snapfn.Linux.Tests.Roots;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Programs;

/// <summary>What a program run in a VM printed, and how it ended.</summary>
public sealed record ProgramOutput(ProgramExit Exit, string Stdout, string Stderr, long Syscalls)
{
    public override string ToString() => $"exit {Exit}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs a Linux program in a VM on the python runtime's root, with the C test programs of
/// guest/linux-tests visible read-only at /tests (as the programs expect).</summary>
public static class GuestProgram
{
    public static string TestsDirectory => Path.Combine(GuestBuild.Directory, "linux-tests");

    public static string VdsoPath => Path.Combine(GuestBuild.Directory, "vdso.so");

    public static ProgramOutput Run(string program, IReadOnlyList<string>? arguments = null, IReadOnlyList<RootMount>? mounts = null,
        TimeSpan? timeout = null, IReadOnlyList<string>? environment = null, ulong memory = 512UL << 20, bool mountTests = true,
        TmpQuota? tmpQuota = null, Func<string>? root = null)
    {
        GuestBuild.RequireKvm();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var options = new ProcessOptions
        {
            // After the KVM check: a root is built (from the network) only for a test that can run.
            RootDirectory = root?.Invoke() ?? PythonRoot.Directory,
            Program = program,
            Arguments = [program, .. arguments ?? []],
            Environment = environment ?? ProcessOptions.DefaultEnvironment,
            Mounts = [.. mountTests ? [new RootMount("/tests", TestsDirectory, Writable: false)] : Array.Empty<RootMount>(), .. mounts ?? []],
            VdsoPath = File.Exists(VdsoPath) ? VdsoPath : null,
            TmpQuota = tmpQuota ?? TmpQuota.Default,
            StandardOutput = bytes => { lock (stdout) stdout.Append(Encoding.UTF8.GetString(bytes)); },
            StandardError = bytes => { lock (stderr) stderr.Append(Encoding.UTF8.GetString(bytes)); },
            Warning = line => { lock (stderr) stderr.AppendLine(line); },
            Vm = new MicroVmOptions { MemorySize = memory, Timeout = timeout ?? TimeSpan.FromSeconds(60), Name = "test" },
        };
        using var process = LinuxProcess.Start(options);
        var exit = process.Run();
        return new ProgramOutput(exit, stdout.ToString(), stderr.ToString(), process.SyscallCount);
    }

    /// <summary>Starts one of guest/linux-tests as a function (fd 3 is its invocation channel); nothing runs yet.
    /// What it prints on stdout and stderr goes to <paramref name="output"/>.</summary>
    public static LinuxProcess StartFunction(string name, IReadOnlyList<string> arguments, StringBuilder output, ulong memory = 512UL << 20,
        int maxChannelFrame = ChannelFile.DefaultMaxFrame)
    {
        GuestBuild.RequireKvm();
        var program = "/tests/" + name;
        return LinuxProcess.Start(new ProcessOptions
        {
            RootDirectory = PythonRoot.Directory,
            Program = program,
            Arguments = [program, .. arguments],
            Mounts = [new RootMount("/tests", TestsDirectory, Writable: false)],
            VdsoPath = File.Exists(VdsoPath) ? VdsoPath : null,
            StandardOutput = bytes => { lock (output) output.Append(Encoding.UTF8.GetString(bytes)); },
            StandardError = bytes => { lock (output) output.Append(Encoding.UTF8.GetString(bytes)); },
            Function = true,
            MaxChannelFrame = maxChannelFrame,
            Vm = new MicroVmOptions { MemorySize = memory, Timeout = TimeSpan.FromSeconds(60), Name = "test-fn" },
        });
    }

    /// <summary>Runs one of guest/linux-tests and checks it passed all its checks (`ok`/`FAIL` lines, exit 0).</summary>
    public static ProgramOutput RunChecks(string name, params string[] arguments)
    {
        var output = Run("/tests/" + name, arguments);
        Assert.True(output.Exit.Status == 0 && output.Exit.Signal is null && !output.Stdout.Contains("FAIL", StringComparison.Ordinal),
            $"/tests/{name} failed:\n{output}");
        Assert.Contains("ok ", output.Stdout, StringComparison.Ordinal);
        return output;
    }
}
