using Snapfn.Interop;

namespace Snapfn.Vmm.Tests;

/// <summary>The VMM's own pages are rebuilt whole over whatever guest memory held, and the vCPU's control state
/// comes from the VMM, not from a snapshot.</summary>
public sealed class VmmPagesTests
{
    private static readonly GuestLayout _layout = GuestLayout.For(512UL << 20, 0x240000);

    /// <summary>Bytes of the VMM's pages an attacker (or a disk) might flip: the PML4's first entry, a page-directory
    /// entry, a user code descriptor's DPL, the TSS's I/O bitmap, the mailbox's heap end.</summary>
    private static readonly ulong[] _targets =
    [
        GuestLayout.Pml4Address, GuestLayout.PageDirectoriesAddress + 8 * 3, GuestLayout.GdtAddress + 3 * 8 + 5,
        GuestLayout.TssAddress + GdtBuilder.IoBitmapOffset + 2, GuestAbi.MailboxAddress + 8 * 8,
    ];

    [Fact]
    public void Rewriting_undoes_flipped_bytes_in_the_tables_GDT_TSS_and_mailbox()
    {
        using var memory = new GuestMemory(MemoryMapping.Anonymous(_layout.MemorySize));
        var pages = VmmPages.ForRuntime(_layout);
        pages.WriteTo(memory);
        var built = memory.Span(0, GuestLayout.LargePageSize).ToArray();
        foreach (var target in _targets)
        {
            Assert.True(pages.Owns(target), $"0x{target:x} should be a VMM page");
            memory.Span(target, 1)[0] ^= 0x5a;
        }
        Assert.False(memory.Span(0, GuestLayout.LargePageSize).SequenceEqual(built));
        pages.WriteTo(memory);
        Assert.True(memory.Span(0, GuestLayout.LargePageSize).SequenceEqual(built));
        Assert.Equal(PageTableBuilder.Present | PageTableBuilder.Writable | PageTableBuilder.User, PageTableBuilder.Translate(built, _layout.HeapStart));
    }

    [Fact]
    public void Pages_mapped_from_a_corrupt_file_are_replaced_and_the_file_is_not_written()
    {
        var path = Path.GetTempFileName();
        try
        {
            var pages = VmmPages.ForRuntime(_layout);
            var image = new byte[GuestLayout.LargePageSize * 2];
            pages.CopyTo(image);
            var good = image[..(int)GuestLayout.LargePageSize];
            foreach (var target in _targets)
                image[target] ^= 0xff;
            image[GuestLayout.LargePageSize + 17] = 42; // the guest's own data, which stays the file's
            File.WriteAllBytes(path, image);
            using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
                RandomAccess.SetLength(file, (long)_layout.MemorySize);

            using var memory = new GuestMemory(MemoryMapping.Anonymous(_layout.MemorySize));
            using (var fd = new SafeFd(Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0)))
                memory.Mapping.MapFilePrivate(0, _layout.MemorySize, fd, 0);
            pages.WriteTo(memory);

            Assert.True(memory.Span(0, GuestLayout.LargePageSize).SequenceEqual(good));
            Assert.Equal(42, memory.Span(GuestLayout.LargePageSize + 17, 1)[0]);
            Assert.Equal(image, File.ReadAllBytes(path)[..image.Length]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_Linux_program_s_pages_hold_the_stub_and_its_vdso_and_a_different_vdso_changes_the_digest()
    {
        byte[] vdso = [0x7f, (byte)'E', (byte)'L', (byte)'F', .. Enumerable.Range(0, 5000).Select(i => (byte)i)];
        var pages = VmmPages.ForProcess(_layout.MemorySize, vdso);
        var image = new byte[GuestLayout.LargePageSize];
        pages.CopyTo(image);
        Assert.Equal(SyscallTrap.Stub.ToArray(), image.AsSpan((int)SyscallTrap.StubAddress, SyscallTrap.Stub.Length).ToArray());
        Assert.Equal(vdso, image.AsSpan((int)ProcessGuest.ReadOnlyWindow, vdso.Length).ToArray());
        Assert.True(pages.Owns(ProcessGuest.ReadOnlyWindow + ProcessGuest.ReadOnlyWindowSize - 1));
        Assert.False(pages.Owns(GuestAbi.MailboxAddress));

        Assert.Equal(pages.Digest, VmmPages.ForProcess(_layout.MemorySize, vdso).Digest);
        vdso[100] ^= 1;
        Assert.NotEqual(pages.Digest, VmmPages.ForProcess(_layout.MemorySize, vdso).Digest);
        Assert.NotEqual(pages.Digest, VmmPages.ForProcess(_layout.MemorySize, []).Digest);
        Assert.NotEqual(pages.Digest, VmmPages.ForRuntime(_layout).Digest);
    }

    [Fact]
    public void A_restore_takes_the_guest_s_registers_and_the_VMM_s_control_state()
    {
        var saved = new VcpuState(
            new Kvm.kvm_regs { rip = 0x200123, rsp = 0xdff000, rax = 7, rflags = 0x3000 | 0x2 | 0x1 | 0x40 | (1UL << 17) | (1UL << 9) },
            new Kvm.kvm_sregs
            {
                cr0 = 0x1, cr3 = 0x7000, cr4 = 0, efer = 0, gdt = new Kvm.kvm_dtable { @base = 0x6000, limit = 0xffff },
                cs = GdtBuilder.UserCodeSegment with { dpl = 0, selector = GdtBuilder.KernelCode },
                fs = GdtBuilder.UserDataSegment with { @base = 0x7f0000001000 }, gs = GdtBuilder.UserDataSegment with { @base = 0x1234 },
            },
            [1, 2, 3], new Kvm.kvm_xcrs { nr_xcrs = 1 },
            [new MsrValue(SyscallTrap.MsrLstar, 0x6000), new MsrValue(0x10, 99), new MsrValue(0x1b, 0xfee00000), new MsrValue(0x277, 0)]);

        foreach (var process in new[] { false, true })
        {
            var restored = CpuSetup.ForRestore(saved, default, process);
            var boot = process ? ProcessGuest.InitialSregs(default) : CpuSetup.InitialSregs(default);
            Assert.Equal(GuestLayout.Pml4Address, restored.Sregs.cr3);
            Assert.Equal(boot.cr0, restored.Sregs.cr0);
            Assert.Equal(boot.cr4, restored.Sregs.cr4);
            Assert.Equal(boot.efer, restored.Sregs.efer);
            Assert.Equal(boot.gdt, restored.Sregs.gdt);
            Assert.Equal(boot.tr, restored.Sregs.tr);
            Assert.Equal(boot.cs, restored.Sregs.cs);
            Assert.Equal(3, restored.Sregs.cs.dpl);
            Assert.Equal(0x7f0000001000UL, restored.Sregs.fs.@base);
            Assert.Equal(0x1234UL, restored.Sregs.gs.@base);
            // The guest's registers and flags; the VMM's IOPL (3 for a C-runtime guest, 0 for a Linux program, whose
            // `out` must meet the TSS's bitmap) and nothing of VM (bit 17) or IF (bit 9).
            Assert.Equal(saved.Regs with { rflags = (process ? 0UL : 0x3000) | 0x2 | 0x1 | 0x40 }, restored.Regs);
            Assert.Equal(CpuSetup.Xcr0, restored.Xcrs.xcrs[0].value);
            Assert.Equal(1u, restored.Xcrs.nr_xcrs);
            var msrs = restored.Msrs.ToDictionary(m => m.Index, m => m.Value);
            Assert.Equal(process ? SyscallTrap.StubAddress : 0, msrs[SyscallTrap.MsrLstar]);
            Assert.Equal(CpuSetup.DefaultPat, msrs[0x277]);
            Assert.Equal(99UL, msrs[0x10]);
            Assert.False(msrs.ContainsKey(0x1b), "an MSR the VMM does not save must not be loaded from a snapshot");
        }
    }
}
