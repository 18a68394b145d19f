using System.Runtime.InteropServices;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Tests.Abi;

/// <summary>
/// The system-call layer's view of the kernel ABI, checked against the real headers: every struct it copies in
/// or out of guest memory (size and the offsets it uses), the file-type bits and every errno it returns. A wrong
/// layout here would hand a program garbage, silently.
/// </summary>
public sealed class KernelAbiTests
{
    private static readonly Lazy<Dictionary<string, ulong>> _native = new(CompileAndRun);

    public static TheoryData<string, ulong> Values()
    {
        var data = new TheoryData<string, ulong>
        {
            { "sizeof(struct stat)", Size<Kernel.stat>() },
            { "offsetof(struct stat, st_mode)", Offset<Kernel.stat>("st_mode") },
            { "offsetof(struct stat, st_size)", Offset<Kernel.stat>("st_size") },
            { "offsetof(struct stat, st_mtim)", Offset<Kernel.stat>("st_mtime") },
            { "sizeof(struct timespec)", Size<Kernel.timespec>() },
            { "sizeof(struct timeval)", Size<Kernel.timeval>() },
            { "sizeof(struct iovec)", Size<Kernel.iovec>() },
            { "sizeof(struct rlimit)", Size<Kernel.rlimit>() },
            { "sizeof(struct new_utsname)", Size<Kernel.new_utsname>() },
            { "sizeof(struct sysinfo)", Size<Kernel.sysinfo>() },
            { "offsetof(struct sysinfo, totalram)", Offset<Kernel.sysinfo>("totalram") },
            { "offsetof(struct sysinfo, procs)", Offset<Kernel.sysinfo>("procs") },
            { "offsetof(struct sysinfo, mem_unit)", Offset<Kernel.sysinfo>("mem_unit") },
            { "sizeof(struct kernel_sigaction_abi)", Size<Kernel.kernel_sigaction>() },
            { "sizeof(stack_t)", Size<Kernel.stack_t>() },
            { "offsetof(stack_t, ss_size)", Offset<Kernel.stack_t>("ss_size") },
            { "sizeof(struct pollfd)", Size<Kernel.pollfd>() },
            { "sizeof(struct epoll_event)", Size<Kernel.epoll_event>() },
            { "offsetof(struct epoll_event, data)", Offset<Kernel.epoll_event>("data") },
            { "sizeof(struct itimerval)", Size<Kernel.itimerval>() },
            { "offsetof(struct itimerval, it_value)", Offset<Kernel.itimerval>("it_value") },
            { "sizeof(struct itimerspec)", Size<Kernel.itimerspec>() },
            { "offsetof(struct itimerspec, it_value)", Offset<Kernel.itimerspec>("it_value") },
            { "sizeof(struct sigevent)", Size<Kernel.sigevent>() },
            { "offsetof(struct sigevent, sigev_signo)", Offset<Kernel.sigevent>("sigev_signo") },
            { "offsetof(struct sigevent, sigev_notify)", Offset<Kernel.sigevent>("sigev_notify") },
            { "sizeof(struct tms)", Size<Kernel.tms>() },
            { "sizeof(struct msghdr)", Size<Kernel.msghdr>() },
            { "offsetof(struct msghdr, msg_namelen)", Offset<Kernel.msghdr>("msg_namelen") },
            { "offsetof(struct msghdr, msg_iov)", Offset<Kernel.msghdr>("msg_iov") },
            { "offsetof(struct msghdr, msg_iovlen)", Offset<Kernel.msghdr>("msg_iovlen") },
            { "offsetof(struct msghdr, msg_control)", Offset<Kernel.msghdr>("msg_control") },
            { "offsetof(struct msghdr, msg_controllen)", Offset<Kernel.msghdr>("msg_controllen") },
            { "offsetof(struct msghdr, msg_flags)", Offset<Kernel.msghdr>("msg_flags") },
            { "sizeof(struct ucred)", Size<Kernel.ucred>() },
            { "sizeof(struct statfs)", Size<Kernel.statfs>() },
            { "offsetof(struct statfs, f_fsid)", Offset<Kernel.statfs>("f_fsid0") },
            { "offsetof(struct statfs, f_namelen)", Offset<Kernel.statfs>("f_namelen") },
            { "offsetof(struct statfs, f_flags)", Offset<Kernel.statfs>("f_flags") },
            { "sizeof(struct statx)", Size<Kernel.statx>() },
            { "offsetof(struct statx, stx_mode)", Offset<Kernel.statx>("stx_mode") },
            { "offsetof(struct statx, stx_ino)", Offset<Kernel.statx>("stx_ino") },
            { "offsetof(struct statx, stx_attributes_mask)", Offset<Kernel.statx>("stx_attributes_mask") },
            { "offsetof(struct statx, stx_atime)", Offset<Kernel.statx>("stx_atime") },
            { "offsetof(struct statx, stx_mtime)", Offset<Kernel.statx>("stx_mtime") },
            { "offsetof(struct statx, stx_rdev_major)", Offset<Kernel.statx>("stx_rdev_major") },
            { "offsetof(struct statx, stx_dev_minor)", Offset<Kernel.statx>("stx_dev_minor") },
            { "offsetof(struct statx, stx_mnt_id)", Offset<Kernel.statx>("stx_mnt_id") },
            { "sizeof(struct statx_timestamp)", Size<Kernel.statx_timestamp>() },
            { "sizeof(struct clone_args)", Size<Kernel.clone_args>() },
            { "offsetof(struct clone_args, stack_size)", Offset<Kernel.clone_args>("stack_size") },
            { "offsetof(struct clone_args, tls)", Offset<Kernel.clone_args>("tls") },
            { "CLONE_ARGS_SIZE_VER0", (ulong)Snapfn.Linux.Syscalls.ThreadCalls.CloneArgsSizeVer0 },
            { "sizeof(struct __user_cap_header_struct)", 8 },
            { "sizeof(struct __user_cap_data_struct)", 12 },
            { "_LINUX_CAPABILITY_VERSION_3", 0x20080522 },
            { "ROBUST_LIST_LIMIT", (ulong)Snapfn.Linux.Syscalls.RobustList.Limit },
            { "sizeof(struct robust_list_head)", (ulong)Snapfn.Linux.Syscalls.RobustList.HeadSize },
            { "FUTEX_OWNER_DIED", Snapfn.Linux.Syscalls.RobustList.FUTEX_OWNER_DIED },
            { "FUTEX_WAITERS", Snapfn.Linux.Syscalls.RobustList.FUTEX_WAITERS },
            { "SEEK_SET", (ulong)Kernel.SEEK_SET },
            { "SEEK_CUR", (ulong)Kernel.SEEK_CUR },
            { "SEEK_END", (ulong)Kernel.SEEK_END },
            { "S_IFMT", Kernel.S_IFMT },
            { "S_IFIFO", Kernel.S_IFIFO },
            { "S_IFCHR", Kernel.S_IFCHR },
            { "S_IFDIR", Kernel.S_IFDIR },
            { "S_IFREG", Kernel.S_IFREG },
            { "S_IFLNK", Kernel.S_IFLNK },
            { "S_IFSOCK", Kernel.S_IFSOCK },
        };
        foreach (var field in typeof(Errno).GetFields().Where(f => f.IsLiteral && f.FieldType == typeof(int)))
            data.Add(field.Name, (ulong)(int)field.GetRawConstantValue()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Values))]
    public void Matches_the_kernel_headers(string expression, ulong value) => Assert.Equal(_native.Value[expression], value);

    private static unsafe ulong Size<T>() where T : unmanaged => (ulong)sizeof(T);

    private static ulong Offset<T>(string field) => (ulong)Marshal.OffsetOf<T>(field);

    // The kernel's rt_sigaction struct is not in a public header; kernel_sigaction_abi is its x86-64 layout.
    private static Dictionary<string, ulong> CompileAndRun() => Snapfn.Tests.HeaderProbe.Evaluate("""
                #define _GNU_SOURCE
                #include <errno.h>
                #include <poll.h>
                #include <signal.h>
                #include <stddef.h>
                #include <stdio.h>
                #include <sys/epoll.h>
                #include <sys/resource.h>
                #include <sys/socket.h>
                #include <sys/times.h>
                #include <time.h>
                #include <sys/stat.h>
                #include <sys/statfs.h>
                #include <sys/sysinfo.h>
                #include <sys/time.h>
                #include <sys/uio.h>
                #include <unistd.h>
                #include <linux/utsname.h>
                #include <linux/capability.h>
                #include <linux/futex.h>
                #include <linux/sched.h>
                struct kernel_sigaction_abi { void *handler; unsigned long flags; void *restorer; unsigned long mask; };
        """, Values().Select(row => (string)row.Data.Item1));
}
