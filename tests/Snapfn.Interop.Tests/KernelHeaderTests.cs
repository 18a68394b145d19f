using System.Runtime.InteropServices;
using Snapfn.Interop;

namespace Snapfn.Interop.Tests;

/// <summary>
/// Compiles a C program against the real kernel headers and checks every ioctl number, struct size and field
/// offset the C# side declares: a wrong layout in a VMM is silent corruption, so it is checked, not trusted.
/// </summary>
public sealed class KernelHeaderTests
{
    private static readonly Lazy<Dictionary<string, ulong>> _native = new(CompileAndRun);

    public static TheoryData<string, ulong> Constants => new()
    {
        { "KVM_GET_API_VERSION", Kvm.KVM_GET_API_VERSION },
        { "KVM_CREATE_VM", Kvm.KVM_CREATE_VM },
        { "KVM_CHECK_EXTENSION", Kvm.KVM_CHECK_EXTENSION },
        { "KVM_GET_VCPU_MMAP_SIZE", Kvm.KVM_GET_VCPU_MMAP_SIZE },
        { "KVM_GET_SUPPORTED_CPUID", Kvm.KVM_GET_SUPPORTED_CPUID },
        { "KVM_CREATE_VCPU", Kvm.KVM_CREATE_VCPU },
        { "KVM_SET_USER_MEMORY_REGION", Kvm.KVM_SET_USER_MEMORY_REGION },
        { "KVM_SET_TSS_ADDR", Kvm.KVM_SET_TSS_ADDR },
        { "KVM_RUN", Kvm.KVM_RUN },
        { "KVM_GET_REGS", Kvm.KVM_GET_REGS },
        { "KVM_SET_REGS", Kvm.KVM_SET_REGS },
        { "KVM_GET_SREGS", Kvm.KVM_GET_SREGS },
        { "KVM_SET_SREGS", Kvm.KVM_SET_SREGS },
        { "KVM_GET_MSRS", Kvm.KVM_GET_MSRS },
        { "KVM_SET_MSRS", Kvm.KVM_SET_MSRS },
        { "KVM_SET_SIGNAL_MASK", Kvm.KVM_SET_SIGNAL_MASK },
        { "KVM_SET_CPUID2", Kvm.KVM_SET_CPUID2 },
        { "KVM_GET_XSAVE", Kvm.KVM_GET_XSAVE },
        { "KVM_SET_XSAVE", Kvm.KVM_SET_XSAVE },
        { "KVM_GET_XCRS", Kvm.KVM_GET_XCRS },
        { "KVM_SET_XCRS", Kvm.KVM_SET_XCRS },
        { "KVM_GET_XSAVE2", Kvm.KVM_GET_XSAVE2 },
        { "KVM_GET_VCPU_EVENTS", Kvm.KVM_GET_VCPU_EVENTS },
        { "KVM_SET_VCPU_EVENTS", Kvm.KVM_SET_VCPU_EVENTS },
        { "KVM_API_VERSION", Kvm.KVM_API_VERSION },
        { "KVM_CAP_IMMEDIATE_EXIT", Kvm.KVM_CAP_IMMEDIATE_EXIT },
        { "KVM_CAP_XSAVE2", Kvm.KVM_CAP_XSAVE2 },
        { "KVM_CAP_SYNC_REGS", (ulong)Kvm.KVM_CAP_SYNC_REGS },
        { "KVM_SYNC_X86_REGS", Kvm.KVM_SYNC_X86_REGS },
        { "__NR_openat2", (ulong)Libc.SYS_openat2 },
        { "__NR_getdents64", (ulong)Libc.SYS_getdents64 },
        { "AT_FDCWD", unchecked((ulong)Libc.AT_FDCWD) },
        { "AT_SYMLINK_NOFOLLOW", Libc.AT_SYMLINK_NOFOLLOW },
        { "AT_REMOVEDIR", Libc.AT_REMOVEDIR },
        { "AT_EMPTY_PATH", Libc.AT_EMPTY_PATH },
        { "O_WRONLY", Libc.O_WRONLY },
        { "O_EXCL", Libc.O_EXCL },
        { "O_APPEND", Libc.O_APPEND },
        { "O_DIRECTORY", Libc.O_DIRECTORY },
        { "O_NOFOLLOW", Libc.O_NOFOLLOW },
        { "O_PATH", Libc.O_PATH },
        { "O_TMPFILE", Libc.O_TMPFILE },
        { "RESOLVE_NO_MAGICLINKS", Libc.RESOLVE_NO_MAGICLINKS },
        { "RESOLVE_IN_ROOT", Libc.RESOLVE_IN_ROOT },
        { "RESOLVE_BENEATH", Libc.RESOLVE_BENEATH },
        { "S_IFMT", Libc.S_IFMT },
        { "S_IFDIR", Libc.S_IFDIR },
        { "S_IFLNK", Libc.S_IFLNK },
        { "S_IFREG", Libc.S_IFREG },
        { "S_IFIFO", Libc.S_IFIFO },
        { "S_IFCHR", Libc.S_IFCHR },
        { "S_IFBLK", Libc.S_IFBLK },
        { "S_IFSOCK", Libc.S_IFSOCK },
        { "RESOLVE_NO_SYMLINKS", Libc.RESOLVE_NO_SYMLINKS },
        { "RESOLVE_NO_XDEV", Libc.RESOLVE_NO_XDEV },
        { "KVM_EXIT_IO", Kvm.KVM_EXIT_IO },
        { "KVM_EXIT_HLT", Kvm.KVM_EXIT_HLT },
        { "KVM_EXIT_MMIO", Kvm.KVM_EXIT_MMIO },
        { "KVM_EXIT_SHUTDOWN", Kvm.KVM_EXIT_SHUTDOWN },
        { "KVM_EXIT_FAIL_ENTRY", Kvm.KVM_EXIT_FAIL_ENTRY },
        { "KVM_EXIT_INTR", Kvm.KVM_EXIT_INTR },
        { "KVM_EXIT_INTERNAL_ERROR", Kvm.KVM_EXIT_INTERNAL_ERROR },
        { "KVM_EXIT_SYSTEM_EVENT", Kvm.KVM_EXIT_SYSTEM_EVENT },
        { "KVM_EXIT_IO_OUT", Kvm.KVM_EXIT_IO_OUT },
        { "UFFD_API", Uffd.UFFD_API },
        { "UFFDIO_API", Uffd.UFFDIO_API },
        { "UFFDIO_REGISTER", Uffd.UFFDIO_REGISTER },
        { "UFFDIO_UNREGISTER", Uffd.UFFDIO_UNREGISTER },
        { "UFFDIO_WAKE", Uffd.UFFDIO_WAKE },
        { "UFFDIO_COPY", Uffd.UFFDIO_COPY },
        { "UFFDIO_ZEROPAGE", Uffd.UFFDIO_ZEROPAGE },
        { "UFFDIO_REGISTER_MODE_MISSING", Uffd.UFFDIO_REGISTER_MODE_MISSING },
        { "UFFDIO_COPY_MODE_DONTWAKE", Uffd.UFFDIO_COPY_MODE_DONTWAKE },
        { "UFFD_EVENT_PAGEFAULT", Uffd.UFFD_EVENT_PAGEFAULT },
        { "__NR_userfaultfd", (ulong)Uffd.SYS_userfaultfd },
        { "PROT_READ", Libc.PROT_READ },
        { "PROT_WRITE", Libc.PROT_WRITE },
        { "MAP_SHARED", Libc.MAP_SHARED },
        { "MAP_PRIVATE", Libc.MAP_PRIVATE },
        { "MAP_FIXED", Libc.MAP_FIXED },
        { "MAP_ANONYMOUS", Libc.MAP_ANONYMOUS },
        { "MAP_NORESERVE", Libc.MAP_NORESERVE },
        { "MAP_POPULATE", Libc.MAP_POPULATE },
        { "MADV_WILLNEED", Libc.MADV_WILLNEED },
        { "MADV_DONTNEED", Libc.MADV_DONTNEED },
        { "MADV_RANDOM", Libc.MADV_RANDOM },
        { "MADV_SEQUENTIAL", Libc.MADV_SEQUENTIAL },
        { "MADV_HUGEPAGE", Libc.MADV_HUGEPAGE },
        { "MADV_NOHUGEPAGE", Libc.MADV_NOHUGEPAGE },
        { "MADV_POPULATE_READ", Libc.MADV_POPULATE_READ },
        { "MADV_POPULATE_WRITE", Libc.MADV_POPULATE_WRITE },
        { "O_RDWR", Libc.O_RDWR },
        { "O_CREAT", Libc.O_CREAT },
        { "O_TRUNC", Libc.O_TRUNC },
        { "O_CLOEXEC", Libc.O_CLOEXEC },
        { "O_NONBLOCK", Libc.O_NONBLOCK },
        { "O_DIRECT", Libc.O_DIRECT },
        { "POSIX_FADV_DONTNEED", Libc.POSIX_FADV_DONTNEED },
        { "POSIX_FADV_WILLNEED", Libc.POSIX_FADV_WILLNEED },
        { "POSIX_FADV_SEQUENTIAL", Libc.POSIX_FADV_SEQUENTIAL },
        { "EFD_CLOEXEC", Libc.EFD_CLOEXEC },
        { "EFD_NONBLOCK", Libc.EFD_NONBLOCK },
        { "POLLIN", (ulong)Libc.POLLIN },
        { "SIG_BLOCK", Libc.SIG_BLOCK },
        { "EINTR", Libc.EINTR },
        { "EAGAIN", Libc.EAGAIN },
        { "EEXIST", Libc.EEXIST },
        { "EACCES", Libc.EACCES },
        { "E2BIG", Libc.E2BIG },
        { "ENOENT", Libc.ENOENT },
        { "EFAULT", Libc.EFAULT },
        { "EBADF", Libc.EBADF },
        { "ENXIO", Libc.ENXIO },
        { "SEEK_DATA", Libc.SEEK_DATA },
        { "SEEK_HOLE", Libc.SEEK_HOLE },
        { "FALLOC_FL_KEEP_SIZE", Libc.FALLOC_FL_KEEP_SIZE },
        { "FALLOC_FL_PUNCH_HOLE", Libc.FALLOC_FL_PUNCH_HOLE },
    };

    public static TheoryData<string, ulong> Layouts => new()
    {
        { "sizeof(struct kvm_userspace_memory_region)", Size<Kvm.kvm_userspace_memory_region>() },
        { "offsetof(struct kvm_userspace_memory_region, userspace_addr)", Offset<Kvm.kvm_userspace_memory_region>("userspace_addr") },
        { "sizeof(struct kvm_regs)", Size<Kvm.kvm_regs>() },
        { "offsetof(struct kvm_regs, rip)", Offset<Kvm.kvm_regs>("rip") },
        { "offsetof(struct kvm_regs, rflags)", Offset<Kvm.kvm_regs>("rflags") },
        { "sizeof(struct kvm_segment)", Size<Kvm.kvm_segment>() },
        { "offsetof(struct kvm_segment, selector)", Offset<Kvm.kvm_segment>("selector") },
        { "offsetof(struct kvm_segment, unusable)", Offset<Kvm.kvm_segment>("unusable") },
        { "sizeof(struct kvm_dtable)", Size<Kvm.kvm_dtable>() },
        { "sizeof(struct kvm_sregs)", Size<Kvm.kvm_sregs>() },
        { "offsetof(struct kvm_sregs, tr)", Offset<Kvm.kvm_sregs>("tr") },
        { "offsetof(struct kvm_sregs, gdt)", Offset<Kvm.kvm_sregs>("gdt") },
        { "offsetof(struct kvm_sregs, cr0)", Offset<Kvm.kvm_sregs>("cr0") },
        { "offsetof(struct kvm_sregs, efer)", Offset<Kvm.kvm_sregs>("efer") },
        { "offsetof(struct kvm_sregs, interrupt_bitmap)", Offset<Kvm.kvm_sregs>("interrupt_bitmap") },
        { "sizeof(struct kvm_xcr)", Size<Kvm.kvm_xcr>() },
        { "sizeof(struct kvm_xcrs)", Size<Kvm.kvm_xcrs>() },
        { "offsetof(struct kvm_xcrs, xcrs)", Offset<Kvm.kvm_xcrs>("xcrs") },
        { "offsetof(struct kvm_xcrs, padding)", Offset<Kvm.kvm_xcrs>("padding") },
        { "sizeof(struct kvm_msrs)", Size<Kvm.kvm_msrs>() },
        { "sizeof(struct kvm_msr_entry)", Size<Kvm.kvm_msr_entry>() },
        { "offsetof(struct kvm_msr_entry, data)", Offset<Kvm.kvm_msr_entry>("data") },
        { "sizeof(struct kvm_cpuid2)", Size<Kvm.kvm_cpuid2>() },
        { "sizeof(struct kvm_cpuid_entry2)", Size<Kvm.kvm_cpuid_entry2>() },
        { "offsetof(struct kvm_cpuid_entry2, eax)", Offset<Kvm.kvm_cpuid_entry2>("eax") },
        { "sizeof(struct kvm_signal_mask) + 8", Size<Kvm.kvm_signal_mask>() },
        { "offsetof(struct kvm_signal_mask, sigset)", Offset<Kvm.kvm_signal_mask>("sigset") },
        { "offsetof(struct kvm_run, immediate_exit)", Offset<Kvm.kvm_run>("immediate_exit") },
        { "offsetof(struct kvm_run, exit_reason)", Offset<Kvm.kvm_run>("exit_reason") },
        { "offsetof(struct kvm_run, io)", Offset<Kvm.kvm_run>("io") },
        { "offsetof(struct kvm_run, io.port)", Offset<Kvm.kvm_run>("io") + Offset<Kvm.kvm_run_io>("port") },
        { "offsetof(struct kvm_run, io.count)", Offset<Kvm.kvm_run>("io") + Offset<Kvm.kvm_run_io>("count") },
        { "offsetof(struct kvm_run, io.data_offset)", Offset<Kvm.kvm_run>("io") + Offset<Kvm.kvm_run_io>("data_offset") },
        { "offsetof(struct kvm_run, fail_entry.cpu)", Offset<Kvm.kvm_run>("fail_entry") + Offset<Kvm.kvm_run_fail_entry>("cpu") },
        { "offsetof(struct kvm_run, internal.data)", Offset<Kvm.kvm_run>("internal") + Offset<Kvm.kvm_run_internal>("data0") },
        { "offsetof(struct kvm_run, mmio.len)", Offset<Kvm.kvm_run>("mmio") + Offset<Kvm.kvm_run_mmio>("len") },
        { "offsetof(struct kvm_run, mmio.is_write)", Offset<Kvm.kvm_run>("mmio") + Offset<Kvm.kvm_run_mmio>("is_write") },
        { "offsetof(struct kvm_run, kvm_valid_regs)", Offset<Kvm.kvm_run>("kvm_valid_regs") },
        { "offsetof(struct kvm_run, kvm_dirty_regs)", Offset<Kvm.kvm_run>("kvm_dirty_regs") },
        { "offsetof(struct kvm_run, s.regs.regs)", Offset<Kvm.kvm_run>("sync_regs") },
        { "sizeof(struct open_how)", Size<Libc.open_how>() },
        { "sizeof(struct stat)", Size<Libc.stat_buf>() },
        { "offsetof(struct stat, st_mode)", Offset<Libc.stat_buf>("st_mode") },
        { "offsetof(struct stat, st_size)", Offset<Libc.stat_buf>("st_size") },
        { "offsetof(struct stat, st_dev)", Offset<Libc.stat_buf>("st_dev") },
        { "offsetof(struct stat, st_ino)", Offset<Libc.stat_buf>("st_ino") },
        { "offsetof(struct stat, st_nlink)", Offset<Libc.stat_buf>("st_nlink") },
        { "offsetof(struct stat, st_blocks)", Offset<Libc.stat_buf>("st_blocks") },
        { "offsetof(struct stat, st_mtim.tv_sec)", Offset<Libc.stat_buf>("st_mtime_sec") },
        { "offsetof(struct stat, st_mtim.tv_nsec)", Offset<Libc.stat_buf>("st_mtime_nsec") },
        { "sizeof(struct uffdio_api)", Size<Uffd.uffdio_api>() },
        { "sizeof(struct uffdio_register)", Size<Uffd.uffdio_register>() },
        { "offsetof(struct uffdio_register, mode)", Offset<Uffd.uffdio_register>("mode") },
        { "sizeof(struct uffdio_copy)", Size<Uffd.uffdio_copy>() },
        { "offsetof(struct uffdio_copy, copy)", Offset<Uffd.uffdio_copy>("copy") },
        { "sizeof(struct uffdio_zeropage)", Size<Uffd.uffdio_zeropage>() },
        { "sizeof(struct uffd_msg)", Size<Uffd.uffd_msg>() },
        { "offsetof(struct uffd_msg, arg.pagefault.address)", Offset<Uffd.uffd_msg>("pagefault_address") },
        { "offsetof(struct uffd_msg, arg.pagefault.flags)", Offset<Uffd.uffd_msg>("pagefault_flags") },
        { "sizeof(struct pollfd)", Size<Libc.pollfd>() },
        { "sizeof(sigset_t)", Size<Libc.sigset_t>() },
        { "sizeof(struct timespec)", Size<Libc.timespec>() },
    };

    [Theory]
    [MemberData(nameof(Constants))]
    public void Constant_matches_the_kernel_header(string name, ulong value) =>
        Assert.Equal(_native.Value[name], value);

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Struct_layout_matches_the_kernel_header(string expression, ulong value) =>
        Assert.Equal(_native.Value[expression], value);

    private static unsafe ulong Size<T>() where T : unmanaged => (ulong)sizeof(T);

    private static ulong Offset<T>(string field) => (ulong)Marshal.OffsetOf<T>(field);

    private static Dictionary<string, ulong> CompileAndRun() => Snapfn.Tests.HeaderProbe.Evaluate("""
                #define _GNU_SOURCE
                #include <linux/kvm.h>
                #include <linux/userfaultfd.h>
                #include <linux/openat2.h>
                #include <sys/stat.h>
                #include <sys/syscall.h>
                #include <sys/mman.h>
                #include <sys/eventfd.h>
                #include <poll.h>
                #include <signal.h>
                #include <fcntl.h>
                #include <unistd.h>
                #include <errno.h>
                #include <time.h>
                #include <stddef.h>
                #include <stdio.h>
        """, Constants.Concat(Layouts).Select(row => (string)row.Data.Item1));
}
