using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Snapfn.Vmm.Tests;

/// <summary>Boots real guests on KVM.</summary>
public sealed class MicroVmTests
{
    private static MicroVmOptions Options(double timeoutSeconds = 30, Action<string>? log = null) =>
        new() { MemorySize = 512UL << 20, Timeout = TimeSpan.FromSeconds(timeoutSeconds), Log = log };

    private static byte[] BootAndInvoke(string guest, byte[] input, MicroVmOptions? options = null)
    {
        using var vm = MicroVm.Boot(Guests.Elf(guest), options ?? Options());
        vm.RunToReady();
        var run = vm.Invoke(input);
        return vm.Output(run).ToArray();
    }

    [Fact]
    public void Hello_world_greets_by_name()
    {
        Guests.RequireKvm();
        Assert.Equal("Hello, Ada!", Encoding.UTF8.GetString(BootAndInvoke("hello-world", """{"name":"Ada"}"""u8.ToArray())));
        Assert.Equal("Hello, World!", Encoding.UTF8.GetString(BootAndInvoke("hello-world", [])));
    }

    [Fact]
    public void A_warm_vm_serves_requests_one_after_another()
    {
        Guests.RequireKvm();
        using var vm = MicroVm.Boot(Guests.Elf("hello-world"), Options());
        vm.RunToReady();
        foreach (var name in new[] { "A", "Bob", "Carmen" })
        {
            var run = vm.Invoke(Encoding.UTF8.GetBytes($$"""{"name":"{{name}}"}"""));
            Assert.Equal($"Hello, {name}!", Encoding.UTF8.GetString(vm.Output(run)));
        }
    }

    [Fact]
    public void Sixteen_MiB_of_input_comes_back_intact()
    {
        Guests.RequireKvm();
        var input = new byte[16 << 20];
        new Random(7).NextBytes(input);
        var output = BootAndInvoke("echo", input);
        Assert.Equal(SHA256.HashData(input), SHA256.HashData(output));
    }

    [Fact]
    public void A_faulting_guest_is_reported_with_its_rip()
    {
        Guests.RequireKvm();
        var elf = Guests.Elf("fault");
        var e = Assert.Throws<GuestCrashedException>(() => BootAndInvoke("fault", []));
        Assert.Contains("rip=0x", e.Message);
        Assert.InRange(e.Regs.rip, GuestAbi.ElfBase, elf.ImageEnd);
    }

    [Fact]
    public void A_spinning_guest_is_stopped_by_the_watchdog()
    {
        Guests.RequireKvm();
        var started = Stopwatch.StartNew();
        var e = Assert.Throws<GuestTimeoutException>(() => BootAndInvoke("spin", [], Options(timeoutSeconds: 1)));
        Assert.Equal(TimeSpan.FromSeconds(1), e.Timeout);
        // Generous bound: the point is that the call returns at all, with no thread left in KVM_RUN.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"took {started.Elapsed}");
    }

    [Fact]
    public void Stop_from_another_thread_ends_a_running_guest_with_the_reason()
    {
        Guests.RequireKvm();
        using var vm = MicroVm.Boot(Guests.Elf("spin"), Options(timeoutSeconds: 120));
        vm.RunToReady();
        // The stop lands while the guest spins (or before it starts): either way the run ends with it, long
        // before the two-minute watchdog.
        using var stopper = new Timer(_ => vm.Stop("cancelled by the test"), null, 200, Timeout.Infinite);
        var e = Assert.Throws<GuestStoppedException>(() => vm.Invoke([]));
        Assert.Contains("cancelled by the test", e.Message);
    }

    [Fact]
    public void A_failed_vm_refuses_to_run_again()
    {
        Guests.RequireKvm();
        // The timeout covers init too; on the emulated CPU the watchdog waits five times as long (VirtualCpu.WatchdogDelay).
        using var vm = MicroVm.Boot(Guests.Elf("spin"), Options(timeoutSeconds: 1));
        vm.RunToReady();
        Assert.Throws<GuestTimeoutException>(() => vm.Invoke([]));
        Assert.Throws<InvalidOperationException>(() => vm.Invoke([]));
    }

    [Fact]
    public void A_hypercall_pointer_outside_guest_memory_stops_the_vm()
    {
        Guests.RequireKvm();
        var e = Assert.Throws<GuestProtocolException>(() => BootAndInvoke("badptr", []));
        Assert.Contains("outside guest memory", e.Message);
    }

    [Fact]
    public void Input_larger_than_the_buffer_is_refused_before_the_guest_runs()
    {
        Guests.RequireKvm();
        using var vm = MicroVm.Boot(Guests.Elf("echo"), Options());
        vm.RunToReady();
        Assert.Throws<ArgumentException>(() => vm.Invoke(new byte[(int)GuestLayout.IoBufferSize + 1]));
    }
}
