using Snapfn.Interop;

namespace Snapfn.Vmm.Tests;

/// <summary>
/// The emulated CPU (<see cref="SoftVcpu"/>) keeps translations of guest code, which KVM does not have: code the
/// VMM changes behind its back must not run from them, and loading a state must not write guest memory.
/// </summary>
public sealed class SoftVcpuTests
{
    private const ulong Code = 4UL << 20;
    private const ulong MemorySize = 128UL << 20;

    [Fact]
    public void Code_changed_by_the_vmm_runs_anew_after_a_state_is_restored_and_the_vmms_pages_are_left_as_built()
    {
        if (VirtualCpu.Selected != CpuKind.Soft)
            Assert.Skip("tests the emulated CPU: set SNAPFN_CPU=soft");
        Guests.RequireKvm();
        using var mapping = MemoryMapping.Anonymous(MemorySize);
        var memory = new GuestMemory(mapping);
        var layout = GuestLayout.For(MemorySize, Code + GuestLayout.LargePageSize);
        VmmPages.ForRuntime(layout).WriteTo(memory);
        var built = memory.Span(0, GuestLayout.LargePageSize).ToArray();
        using var vcpu = new SoftVcpu(mapping);
        vcpu.SetSregs(CpuSetup.InitialSregs(vcpu.GetSregs()));
        // Loading CS and SS at CPL 3 walked the page tables: their accessed bits are not left behind (KVM writes none).
        Assert.True(memory.Span(0, GuestLayout.LargePageSize).SequenceEqual(built), "loading the control state changed the VMM's pages");

        WriteOut(memory, 0x11);
        vcpu.SetRegs(CpuSetup.InitialRegs(Code, layout.StackTop));
        Assert.Equal(0x11u, RunToOut(vcpu));
        var state = vcpu.CaptureState();

        // The VMM puts other code in place (a reset in place, a mapping replaced): the next run must not use the old translation.
        WriteOut(memory, 0x22);
        var regs = state.Regs;
        regs.rip = Code;
        vcpu.RestoreState(state with { Regs = regs });
        Assert.Equal(0x22u, RunToOut(vcpu));
    }

    /// <summary>mov eax, value; out 0x80, eax; jmp $ (the `out` ends the run).</summary>
    private static void WriteOut(GuestMemory memory, uint value)
    {
        var code = memory.Span(Code, 9);
        code[0] = 0xb8;
        BitConverter.TryWriteBytes(code[1..], value);
        code[5] = 0xe7;
        code[6] = 0x80;
        code[7] = 0xeb;
        code[8] = 0xfe;
    }

    private static unsafe uint RunToOut(SoftVcpu vcpu)
    {
        Assert.True(vcpu.Run());
        ref var run = ref vcpu.RunPage;
        Assert.Equal(Kvm.KVM_EXIT_IO, run.exit_reason);
        fixed (Kvm.kvm_run* page = &run)
            return *(uint*)((byte*)page + run.io.data_offset);
    }
}
