using System.Runtime.InteropServices;

namespace Snapfn.Linux.Abi;

// Kernel structures as the x86-64 ABI lays them out; names as in the kernel's headers. A test compiles C against
// the real headers and checks sizes and offsets.
#pragma warning disable CS8981, CA1707, IDE1006, CA1815, CA1051, CA1034 // kernel names and plain fields on purpose

/// <summary>The kernel ABI's structures and constants, with their kernel names.</summary>
public static class Kernel
{
    [StructLayout(LayoutKind.Sequential)]
    public struct timespec
    {
        public long tv_sec;
        public long tv_nsec;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct timeval
    {
        public long tv_sec;
        public long tv_usec;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct iovec
    {
        public ulong iov_base;
        public ulong iov_len;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct rlimit
    {
        public ulong rlim_cur;
        public ulong rlim_max;
    }

    /// <summary>struct new_utsname: six fields of 65 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 6 * 65)]
    public struct new_utsname
    {
        public byte first;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct sysinfo
    {
        public long uptime;
        public ulong load0, load1, load2;
        public ulong totalram, freeram, sharedram, bufferram, totalswap, freeswap;
        public ushort procs, pad;
        public uint pad2;
        public ulong totalhigh, freehigh;
        public uint mem_unit;
        public uint pad3;
    }

    /// <summary>The kernel's struct sigaction for rt_sigaction (not glibc's): handler, flags, restorer, mask.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct kernel_sigaction
    {
        public ulong sa_handler;
        public ulong sa_flags;
        public ulong sa_restorer;
        public ulong sa_mask;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct stack_t
    {
        public ulong ss_sp;
        public int ss_flags;
        public int pad;
        public ulong ss_size;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct pollfd
    {
        public int fd;
        public short events;
        public short revents;
    }

    /// <summary>struct epoll_event: packed on x86-64 (12 bytes), unlike on other architectures.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct epoll_event
    {
        public uint events;
        public ulong data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct itimerval
    {
        public timeval it_interval;
        public timeval it_value;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct itimerspec
    {
        public timespec it_interval;
        public timespec it_value;
    }

    /// <summary>struct sigevent as timer_create reads it (64 bytes; the union's thread fields unused).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    public struct sigevent
    {
        public ulong sigev_value;
        public int sigev_signo;
        public int sigev_notify;
        public int sigev_notify_thread_id;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct tms
    {
        public long tms_utime, tms_stime, tms_cutime, tms_cstime;
    }

    /// <summary>struct stat on x86-64 (the kernel's and glibc's are the same, 144 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct stat
    {
        public ulong st_dev;
        public ulong st_ino;
        public ulong st_nlink;
        public uint st_mode;
        public uint st_uid;
        public uint st_gid;
        public uint pad0;
        public ulong st_rdev;
        public long st_size;
        public long st_blksize;
        public long st_blocks;
        public long st_atime, st_atime_nsec;
        public long st_mtime, st_mtime_nsec;
        public long st_ctime, st_ctime_nsec;
        public long reserved0, reserved1, reserved2;
    }

    /// <summary>struct statfs on x86-64 (120 bytes), as statfs and fstatfs write it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct statfs
    {
        public long f_type;
        public long f_bsize;
        public ulong f_blocks, f_bfree, f_bavail, f_files, f_ffree;
        public int f_fsid0, f_fsid1;
        public long f_namelen;
        public long f_frsize;
        public long f_flags;
        public long f_spare0, f_spare1, f_spare2, f_spare3;
    }

    /// <summary>struct user_msghdr, as sendmsg and recvmsg read it (56 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct msghdr
    {
        public ulong msg_name;
        public int msg_namelen;
        public ulong msg_iov;
        public ulong msg_iovlen;
        public ulong msg_control;
        public ulong msg_controllen;
        public int msg_flags;
    }

    /// <summary>struct statx_timestamp.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct statx_timestamp
    {
        public long tv_sec;
        public uint tv_nsec;
        public int reserved;
    }

    /// <summary>struct statx (256 bytes): what statx writes, the spare words zero.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    public struct statx
    {
        public uint stx_mask;
        public uint stx_blksize;
        public ulong stx_attributes;
        public uint stx_nlink;
        public uint stx_uid;
        public uint stx_gid;
        public ushort stx_mode;
        public ushort spare0;
        public ulong stx_ino;
        public ulong stx_size;
        public ulong stx_blocks;
        public ulong stx_attributes_mask;
        public statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
        public uint stx_rdev_major, stx_rdev_minor;
        public uint stx_dev_major, stx_dev_minor;
        public ulong stx_mnt_id;
    }

    /// <summary>struct clone_args, clone3's argument (its first version, CLONE_ARGS_SIZE_VER0, is 64 bytes; this is
    /// the 88-byte version 2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct clone_args
    {
        public ulong flags;
        public ulong pidfd;
        public ulong child_tid;
        public ulong parent_tid;
        public ulong exit_signal;
        public ulong stack;
        public ulong stack_size;
        public ulong tls;
        public ulong set_tid;
        public ulong set_tid_size;
        public ulong cgroup;
    }

    /// <summary>struct ucred, SO_PEERCRED's answer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ucred
    {
        public int pid;
        public uint uid;
        public uint gid;
    }

    public const int SEEK_SET = 0;
    public const int SEEK_CUR = 1;
    public const int SEEK_END = 2;

    /// <summary>utimensat's tv_nsec for "now" and for "leave this time as it is".</summary>
    public const long UTIME_NOW = (1L << 30) - 1, UTIME_OMIT = (1L << 30) - 2;

    public const uint S_IFMT = 0xf000;
    public const uint S_IFIFO = 0x1000;
    public const uint S_IFCHR = 0x2000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFBLK = 0x6000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFLNK = 0xa000;
    public const uint S_IFSOCK = 0xc000;
}
