using System.Text;
using Snapfn.Linux.Files;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Programs;

/// <summary>What a hostile or broken program gets: a crash report, the watchdog, no host file.</summary>
public sealed class FailureTests
{
    [Theory]
    [InlineData("crash-segv-static")]
    [InlineData("crash-segv-dynamic")]
    public void A_segfault_is_a_crash_report_with_rip_the_faulting_address_and_the_last_system_calls(string name)
    {
        var e = Assert.Throws<ProgramCrashedException>(() => GuestProgram.Run("/tests/" + name));
        Assert.Contains("rip=0x", e.Message, StringComparison.Ordinal);
        Assert.Contains("cr2=0x8", e.Message, StringComparison.Ordinal);
        Assert.Contains("last system calls", e.Message, StringComparison.Ordinal);
        Assert.Contains("write(0x1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_privileged_instruction_is_a_crash_report()
    {
        var e = Assert.Throws<ProgramCrashedException>(() => GuestProgram.Run("/tests/crash-privileged-static"));
        Assert.Contains("program crashed", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Issue 18: a Linux program's `out` of READY to the C runtime's hypercall port was served, faking the
    /// snapshot point. Its one way out is its system calls: the `out` must crash it.</summary>
    [Theory]
    [InlineData("hypercall-static")]
    [InlineData("hypercall-dynamic")]
    public void A_ready_hypercall_from_a_linux_program_is_a_crash_not_a_snapshot_point(string name)
    {
        var output = new StringBuilder();
        using var process = GuestProgram.StartFunction(name, ["ready"], output);
        var e = Assert.Throws<ProgramCrashedException>(() => process.Vm.RunToReady());
        Assert.Contains("out of READY", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("privileged I/O instruction", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Issue 18: a Linux program's `out` of RESULT ended the request with an empty result (an empty 200).</summary>
    [Theory]
    [InlineData("hypercall-static")]
    [InlineData("hypercall-dynamic")]
    public void A_result_hypercall_from_a_linux_program_is_a_crash_not_an_empty_result(string name)
    {
        var output = new StringBuilder();
        using var process = GuestProgram.StartFunction(name, ["result"], output);
        Assert.Equal(GuestStop.Ready, process.Vm.RunToReady().Stop);
        var e = Assert.Throws<ProgramCrashedException>(() => process.Vm.Invoke("request"u8));
        Assert.Contains("out of RESULT", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("privileged I/O instruction", e.Message, StringComparison.Ordinal);
        Assert.True(process.Output.IsEmpty);
    }

    /// <summary>Issue 18: a write(3, ...) of a 1 GiB frame from untouched pages was buffered whole by the host before
    /// its length was checked. It is refused at the header, as the function's failure naming the limit.</summary>
    [Fact]
    public void A_result_frame_over_the_limit_fails_the_request_at_its_header()
    {
        var output = new StringBuilder();
        using var process = GuestProgram.StartFunction("big-result-static", ["1024"], output, memory: 2UL << 30);
        process.Vm.RunToReady();
        var e = Assert.Throws<ChannelFrameTooLargeException>(() => process.Vm.Invoke("go"u8));
        Assert.Equal(1UL << 30, e.Announced);
        Assert.Equal(ChannelFile.DefaultMaxFrame, e.Limit);
        Assert.Contains("MaxChannelFrame", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("write returned", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_raised_frame_limit_lets_a_larger_result_through()
    {
        var output = new StringBuilder();
        using var process = GuestProgram.StartFunction("big-result-static", ["40"], output, maxChannelFrame: 48 << 20);
        process.Vm.RunToReady();
        var run = process.Vm.Invoke("go"u8);
        Assert.Equal(40 << 20, process.Vm.Output(run).Length);
    }

    [Fact]
    public void A_program_that_never_ends_is_stopped_by_the_watchdog()
    {
        var e = Assert.Throws<GuestTimeoutException>(() => GuestProgram.Run("/tests/spin-static", timeout: TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromSeconds(1), e.Timeout);
        Assert.Contains("did not finish within 1 s", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("escape-static")]
    [InlineData("escape-dynamic")]
    public void Every_way_out_of_the_root_fails_closed(string name)
    {
        var dir = Directory.CreateTempSubdirectory("snapfn-escape-");
        try
        {
            var secret = Path.Combine(dir.FullName, "secret");
            File.WriteAllText(secret, "SNAPFN-SECRET\nnot for guests\n");
            var planted = Directory.CreateDirectory(Path.Combine(dir.FullName, "planted")).FullName;
            File.CreateSymbolicLink(Path.Combine(planted, "abs"), secret);
            File.CreateSymbolicLink(Path.Combine(planted, "rel"), "../../../../../../.." + secret);
            var output = GuestProgram.Run("/tests/" + name, [secret], [new RootMount("/planted", planted, Writable: false)]);
            Assert.True(output.Exit.Status == 0 && !output.Stdout.Contains("FAIL", StringComparison.Ordinal), output.ToString());
            Assert.DoesNotContain("not for guests", output.Stdout + output.Stderr, StringComparison.Ordinal);
            Assert.Equal("SNAPFN-SECRET\nnot for guests\n", File.ReadAllText(secret));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Strace_names_every_call_with_its_result()
    {
        var trace = new StringWriter();
        var options = new ProcessOptions
        {
            RootDirectory = Roots.PythonRoot.Directory,
            Program = "/tests/exit42-static",
            Arguments = ["/tests/exit42-static"],
            Mounts = [new RootMount("/tests", GuestProgram.TestsDirectory, Writable: false)],
            Strace = trace,
            Vm = new MicroVmOptions { MemorySize = 256UL << 20, Name = "strace" },
        };
        Snapfn.Tests.GuestBuild.RequireKvm();
        using var process = LinuxProcess.Start(options);
        Assert.Equal(42, process.Run().Status);
        var lines = trace.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("arch_prctl(0x1002, ", StringComparison.Ordinal) && l.EndsWith("= 0x0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("rseq(", StringComparison.Ordinal) && l.EndsWith("= -1 ENOSYS", StringComparison.Ordinal));
        Assert.StartsWith("exit_group(0x2a", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_program_that_is_not_in_the_root_or_not_an_elf_is_refused_with_a_message()
    {
        Snapfn.Tests.GuestBuild.RequireKvm();
        var missing = Assert.Throws<Snapfn.Linux.Loader.ProgramLoadException>(() => GuestProgram.Run("/usr/bin/no-such-program", mountTests: false));
        Assert.Contains("does not exist in the guest's root", missing.Message, StringComparison.Ordinal);
        var text = Assert.Throws<Snapfn.Linux.Loader.ProgramLoadException>(() => GuestProgram.Run("/usr/lib/python3.11/os.py", mountTests: false));
        Assert.Contains("not an ELF", text.Message, StringComparison.Ordinal);
    }
}
