using Snapfn.Interop;

namespace Snapfn.Vmm.Tests;

/// <summary>
/// The software vCPU keeps KVM's contract where the VMM relies on it: how a `syscall` exit looks, which pending
/// `out` the next run skips, what a kick does, how XSAVE areas round-trip and are refused, what cpuid says.
/// These need libunicorn, not KVM.
/// </summary>
public sealed unsafe class SoftVcpuTests : IDisposable
{
    private const ulong MemorySize = 128UL << 20;
    private const ulong Code = 0x200000;

    /// <summary>Where the C-runtime guest's code goes in the restore test.</summary>
    private const ulong RuntimeCode = 4UL << 20;
    private readonly MemoryMapping _memory = MemoryMapping.Anonymous(MemorySize);
    private readonly SoftVcpu? _vcpu;

    public SoftVcpuTests()
    {
        if (!Unicorn.IsLoadable(out _))
            return;
        _vcpu = new SoftVcpu(_memory);
    }

    private SoftVcpu Cpu
    {
        get
        {
            if (_vcpu is null)
            {
                _ = Unicorn.IsLoadable(out var reason);
                Assert.Skip($"needs the software vCPU: {reason}");
            }
            return _vcpu!;
        }
    }

    /// <summary>A Linux program's VM: its VMM pages, CPL 3 with `syscall` enabled, <paramref name="code"/> at 2 MiB.</summary>
    private SoftVcpu ProcessAt(ReadOnlySpan<byte> code)
    {
        var cpu = Cpu;
        var memory = new GuestMemory(_memory);
        VmmPages.ForProcess(MemorySize, []).WriteTo(memory);
        // The stub of a CPU where `syscall` stays at CPL 3 (the soft CPU's, whatever this host is): out ; jmp rcx.
        new byte[] { 0xe7, SyscallTrap.Port, 0xff, 0xe1 }.CopyTo(memory.Span(SyscallTrap.StubAddress, 4));
        code.CopyTo(memory.Span(Code, (ulong)code.Length));
        cpu.SetSregs(ProcessGuest.InitialSregs(cpu.GetSregs()));
        cpu.SetMsrs(ProcessGuest.SyscallMsrs);
        cpu.SetRegs(new Kvm.kvm_regs { rip = Code, rsp = 0x400000, rflags = CpuSetup.RflagsReserved });
        return cpu;
    }

    [Fact]
    public void A_syscall_exits_on_the_stubs_out_with_rcx_and_r11_as_the_instruction_sets_them()
    {
        // mov eax, 39 ; syscall ; mov rbx, rax ; syscall
        var cpu = ProcessAt([0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc3, 0x0f, 0x05]);
        Assert.True(cpu.Run());
        ref var run = ref cpu.RunPage;
        Assert.Equal(Kvm.KVM_EXIT_IO, run.exit_reason);
        Assert.Equal(SyscallTrap.Port, run.io.port);
        Assert.Equal(Kvm.KVM_EXIT_IO_OUT, run.io.direction);
        Assert.Equal(SyscallTrap.StubAddress, run.sync_regs.rip);
        Assert.Equal(Code + 7, run.sync_regs.rcx);
        Assert.Equal(39UL, run.sync_regs.rax);
        Assert.Equal(run.sync_regs.rflags, run.sync_regs.r11);

        // The VMM answers in the sync registers; the run skips the out, the stub returns to RCX, the program goes on.
        run.sync_regs.rax = 1234;
        run.kvm_dirty_regs = Kvm.KVM_SYNC_X86_REGS;
        Assert.True(cpu.Run());
        Assert.Equal(1234UL, cpu.RunPage.sync_regs.rbx);
        Assert.Equal(Code + 12, cpu.RunPage.sync_regs.rcx);
    }

    [Fact]
    public void Registers_of_another_thread_put_in_place_at_an_exit_keep_their_rip()
    {
        // At 2 MiB: syscall. At 2 MiB + 0x100: mov ecx, 7 ; syscall.
        var code = new byte[0x108];
        code[0] = 0x0f;
        code[1] = 0x05;
        new byte[] { 0xb9, 7, 0, 0, 0, 0x0f, 0x05 }.CopyTo(code, 0x100);
        var cpu = ProcessAt(code);
        Assert.True(cpu.Run());
        ref var run = ref cpu.RunPage;
        // A scheduler switching threads: the other thread resumes where it was, not two bytes further (KVM skips the
        // out only while RIP is still on it).
        run.sync_regs.rip = Code + 0x100;
        run.kvm_dirty_regs = Kvm.KVM_SYNC_X86_REGS;
        Assert.True(cpu.Run());
        Assert.Equal(SyscallTrap.StubAddress, cpu.RunPage.sync_regs.rip);
        Assert.Equal(Code + 0x107, cpu.RunPage.sync_regs.rcx);
    }

    [Fact]
    public void A_kick_before_a_run_interrupts_it_without_running_the_guest()
    {
        // syscall: were the guest run, this would exit.
        var cpu = ProcessAt([0x0f, 0x05]);
        cpu.Kick();
        Assert.False(cpu.Run());
        Assert.Equal(Code, cpu.GetRegs().rip);
        Assert.True(cpu.Run());
        Assert.Equal(Kvm.KVM_EXIT_IO, cpu.RunPage.exit_reason);
    }

    [Fact]
    public void A_syscall_into_the_guests_own_code_at_lstar_runs_it_and_exits_where_that_code_does()
    {
        // At Code: mov eax, 39 ; syscall. At Code + 16, where LSTAR points: mov eax, 0x55 ; out 0x80, eax.
        var code = new byte[32];
        new byte[] { 0xb8, 39, 0, 0, 0, 0x0f, 0x05 }.CopyTo(code, 0);
        new byte[] { 0xb8, 0x55, 0, 0, 0, 0xe7, 0x80 }.CopyTo(code, 16);
        var cpu = ProcessAt(code);
        cpu.SetMsrs([new MsrValue(SyscallTrap.MsrLstar, Code + 16)]);
        Assert.True(cpu.Run());
        ref var run = ref cpu.RunPage;
        Assert.Equal(Kvm.KVM_EXIT_IO, run.exit_reason);
        Assert.Equal((ushort)0x80, run.io.port);
        Assert.Equal(Code + 7, run.sync_regs.rcx);
        Assert.Equal(0x55UL, run.sync_regs.rax);
    }

    [Fact]
    public void A_fault_with_no_idt_is_a_shutdown_like_a_triple_fault()
    {
        // mov rax, [0] with page 0 not present to the program: #PF, and no IDT to deliver it.
        var cpu = ProcessAt([0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0]);
        Assert.True(cpu.Run());
        Assert.Equal(Kvm.KVM_EXIT_SHUTDOWN, cpu.RunPage.exit_reason);
    }

    [Fact]
    public void A_guests_cpuid_offers_sse4_1_and_no_popcnt_avx_or_xsave()
    {
        // mov eax, 1 ; cpuid ; mov r12, rcx ; mov r13, rdx ; syscall
        var cpu = ProcessAt([0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x49, 0x89, 0xcc, 0x49, 0x89, 0xd5, 0x0f, 0x05]);
        Assert.True(cpu.Run());
        var ecx = cpu.RunPage.sync_regs.r12;
        var edx = cpu.RunPage.sync_regs.r13;
        foreach (var bit in new[] { 0, 9, 13, 19 }) // SSE3 SSSE3 CX16 SSE4.1
            Assert.True((ecx >> bit & 1) == 1, $"cpuid.1:ecx bit {bit} is clear");
        foreach (var bit in new[] { 20, 23, 26, 27, 28 }) // SSE4.2 POPCNT XSAVE OSXSAVE AVX (SoftCpuid says why)
            Assert.True((ecx >> bit & 1) == 0, $"cpuid.1:ecx bit {bit} is set");
        foreach (var bit in new[] { 0, 4, 15, 23, 24, 25, 26 }) // FPU TSC CMOV MMX FXSR SSE SSE2
            Assert.True((edx >> bit & 1) == 1, $"cpuid.1:edx bit {bit} is clear");
    }

    [Fact]
    public void An_xsave_area_comes_back_as_it_was_loaded()
    {
        var cpu = Cpu;
        var area = cpu.GetXsave();
        BitConverter.TryWriteBytes(area.AsSpan(0), (ushort)0x027f); // FCW: double precision
        BitConverter.TryWriteBytes(area.AsSpan(24), 0x1f80u | 0x6000u); // MXCSR: round toward zero
        for (var i = 0; i < 16 * 16; i++)
            area[160 + i] = (byte)(i * 7 + 3);
        // ST(0) = 1.0 (mantissa 1 << 63, exponent 0x3fff), tagged valid in the abridged tag word.
        area[4] = 0x80;
        BitConverter.TryWriteBytes(area.AsSpan(2), (ushort)(7 << 11)); // TOP = 7: ST(0) is physical register 7
        BitConverter.TryWriteBytes(area.AsSpan(32), 1UL << 63);
        BitConverter.TryWriteBytes(area.AsSpan(40), (ushort)0x3fff);
        cpu.SetXsave(area);
        var back = cpu.GetXsave();
        Assert.Equal(area.AsSpan(0, 6).ToArray(), back.AsSpan(0, 6).ToArray());
        Assert.Equal(area.AsSpan(24, 4).ToArray(), back.AsSpan(24, 4).ToArray());
        Assert.Equal(area.AsSpan(32, 10).ToArray(), back.AsSpan(32, 10).ToArray());
        Assert.Equal(area.AsSpan(160, 256).ToArray(), back.AsSpan(160, 256).ToArray());
    }

    [Theory]
    [InlineData(24, 0x0001_0000UL, 4)] // a reserved MXCSR bit
    [InlineData(512, 1UL << 5, 8)] // a state component this CPU lacks (AVX-512)
    [InlineData(520, 1UL << 63, 8)] // the compacted form
    [InlineData(530, 1UL, 1)] // a reserved header byte
    public void A_malformed_xsave_area_is_refused_with_einval_as_kvm_refuses_it(int offset, ulong value, int size)
    {
        var cpu = Cpu;
        var area = cpu.GetXsave();
        BitConverter.GetBytes(value).AsSpan(0, size).CopyTo(area.AsSpan(offset));
        var e = Assert.Throws<SyscallException>(() => cpu.SetXsave(area));
        Assert.Equal(22, e.Errno);
    }

    [Theory]
    [InlineData(null, CpuKind.Kvm)]
    [InlineData("", CpuKind.Kvm)]
    [InlineData("kvm", CpuKind.Kvm)]
    [InlineData(" Soft ", CpuKind.Soft)]
    public void The_cpu_kind_is_read_from_snapfn_cpu(string? value, CpuKind expected) =>
        Assert.Equal(expected, VirtualCpu.Parse(value));

    [Fact]
    public void An_unknown_cpu_kind_is_refused_naming_the_variable_and_the_choices()
    {
        var e = Assert.Throws<KvmUnavailableException>(() => VirtualCpu.Parse("tcg"));
        Assert.Contains("SNAPFN_CPU=tcg", e.Message);
        Assert.Contains("kvm", e.Message);
        Assert.Contains("soft", e.Message);
    }

    [Fact]
    public void Code_changed_by_the_vmm_runs_anew_after_a_state_is_restored_and_the_vmms_pages_are_left_as_built()
    {
        _ = Cpu; // skips where libunicorn is missing
        using var mapping = MemoryMapping.Anonymous(MemorySize);
        var memory = new GuestMemory(mapping);
        var layout = GuestLayout.For(MemorySize, RuntimeCode + GuestLayout.LargePageSize);
        VmmPages.ForRuntime(layout).WriteTo(memory);
        var built = memory.Span(0, GuestLayout.LargePageSize).ToArray();
        using var vcpu = new SoftVcpu(mapping);
        vcpu.SetSregs(CpuSetup.InitialSregs(vcpu.GetSregs()));
        // Loading CS and SS at CPL 3 walked the page tables: their accessed bits are not left behind (KVM writes none).
        Assert.True(memory.Span(0, GuestLayout.LargePageSize).SequenceEqual(built), "loading the control state changed the VMM's pages");

        WriteOut(memory, 0x11);
        vcpu.SetRegs(CpuSetup.InitialRegs(RuntimeCode, layout.StackTop));
        Assert.Equal(0x11u, RunToOut(vcpu));
        var state = vcpu.CaptureState();

        // The VMM puts other code in place (a reset in place, a mapping replaced): the next run must not use the old translation.
        WriteOut(memory, 0x22);
        var regs = state.Regs;
        regs.rip = RuntimeCode;
        vcpu.RestoreState(state with { Regs = regs });
        Assert.Equal(0x22u, RunToOut(vcpu));
    }

    /// <summary>mov eax, value; out 0x80, eax; jmp $ (the `out` ends the run).</summary>
    private static void WriteOut(GuestMemory memory, uint value)
    {
        var code = memory.Span(RuntimeCode, 9);
        code[0] = 0xb8;
        BitConverter.TryWriteBytes(code[1..], value);
        code[5] = 0xe7;
        code[6] = 0x80;
        code[7] = 0xeb;
        code[8] = 0xfe;
    }

    private static uint RunToOut(SoftVcpu vcpu)
    {
        Assert.True(vcpu.Run());
        ref var run = ref vcpu.RunPage;
        Assert.Equal(Kvm.KVM_EXIT_IO, run.exit_reason);
        fixed (Kvm.kvm_run* page = &run)
            return *(uint*)((byte*)page + run.io.data_offset);
    }

    public void Dispose()
    {
        _vcpu?.Dispose();
        _memory.Dispose();
    }
}
