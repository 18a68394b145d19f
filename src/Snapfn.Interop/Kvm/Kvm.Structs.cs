using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Snapfn.Interop;

public static partial class Kvm
{
    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_userspace_memory_region
    {
        public uint slot;
        public uint flags;
        public ulong guest_phys_addr;
        public ulong memory_size;
        public ulong userspace_addr;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_regs
    {
        public ulong rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
        public ulong r8, r9, r10, r11, r12, r13, r14, r15;
        public ulong rip, rflags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_segment
    {
        public ulong @base;
        public uint limit;
        public ushort selector;
        public byte type, present, dpl, db, s, l, g, avl, unusable, padding;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_dtable
    {
        public ulong @base;
        public ushort limit;
        public ushort padding0, padding1, padding2;
    }

    [InlineArray(4)]
    public struct InterruptBitmap
    {
        private ulong _element;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_sregs
    {
        public kvm_segment cs, ds, es, fs, gs, ss, tr, ldt;
        public kvm_dtable gdt, idt;
        public ulong cr0, cr2, cr3, cr4, cr8;
        public ulong efer;
        public ulong apic_base;
        public InterruptBitmap interrupt_bitmap;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_xcr
    {
        public uint xcr;
        public uint reserved;
        public ulong value;
    }

    [InlineArray(16)]
    public struct XcrArray
    {
        private kvm_xcr _element;
    }

    [InlineArray(16)]
    public struct XcrPadding
    {
        private ulong _element;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_xcrs
    {
        public uint nr_xcrs;
        public uint flags;
        public XcrArray xcrs;
        public XcrPadding padding;
    }

    /// <summary>The fixed head of kvm_msrs; <see cref="kvm_msr_entry"/> records follow it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_msrs
    {
        public uint nmsrs;
        public uint pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_msr_entry
    {
        public uint index;
        public uint reserved;
        public ulong data;
    }

    /// <summary>The fixed head of kvm_cpuid2; <see cref="kvm_cpuid_entry2"/> records follow it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_cpuid2
    {
        public uint nent;
        public uint padding;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_cpuid_entry2
    {
        public uint function;
        public uint index;
        public uint flags;
        public uint eax, ebx, ecx, edx;
        public uint padding0, padding1, padding2;
    }

    /// <summary>kvm_signal_mask with the kernel's 8-byte sigset inline (len must be 8 on x86-64); the
    /// sigset follows len directly, at offset 4.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct kvm_signal_mask
    {
        public uint len;
        public ulong sigset;
    }

    /// <summary>The fields of the shared kvm_run page that Snapfn reads; offsets as in linux/kvm.h.</summary>
    [StructLayout(LayoutKind.Explicit)]
    public struct kvm_run
    {
        [FieldOffset(0)] public byte request_interrupt_window;
        [FieldOffset(1)] public byte immediate_exit;
        [FieldOffset(8)] public uint exit_reason;
        [FieldOffset(32)] public kvm_run_io io;
        [FieldOffset(32)] public kvm_run_fail_entry fail_entry;
        [FieldOffset(32)] public kvm_run_internal @internal;
        [FieldOffset(32)] public kvm_run_mmio mmio;
        [FieldOffset(288)] public ulong kvm_valid_regs;
        [FieldOffset(288 + 8)] public ulong kvm_dirty_regs;
        /// <summary>s.regs.regs: with KVM_SYNC_X86_REGS in kvm_valid_regs, KVM stores the registers here at every
        /// exit, and loads them back at the next KVM_RUN when kvm_dirty_regs says so - no GET/SET_REGS ioctl.</summary>
        [FieldOffset(288 + 16)] public kvm_regs sync_regs;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_run_io
    {
        public byte direction;
        public byte size;
        public ushort port;
        public uint count;
        public ulong data_offset;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_run_fail_entry
    {
        public ulong hardware_entry_failure_reason;
        public uint cpu;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_run_internal
    {
        public uint suberror;
        public uint ndata;
        public ulong data0, data1, data2, data3;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct kvm_run_mmio
    {
        public ulong phys_addr;
        public ulong data;
        public uint len;
        public byte is_write;
    }
}
