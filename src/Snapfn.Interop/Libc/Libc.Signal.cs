using System.Runtime.InteropServices;

namespace Snapfn.Interop;

public static partial class Libc
{
    /// <summary>glibc's sigset_t: 1024 bits.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 128)]
    public struct sigset_t
    {
        private ulong _first;

        /// <summary>Sets the bit of <paramref name="signal"/> (1-based, as in the kernel); only the first 64 are used here.</summary>
        public void Add(int signal) => _first |= 1UL << (signal - 1);

        public readonly ulong KernelMask => _first;
    }

    [StructLayout(LayoutKind.Sequential, Size = 128)]
    public struct siginfo_t
    {
        public int si_signo;
        public int si_errno;
        public int si_code;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct timespec
    {
        public long tv_sec;
        public long tv_nsec;
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int pthread_sigmask(int how, sigset_t* set, sigset_t* oldset);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int sigtimedwait(sigset_t* set, siginfo_t* info, timespec* timeout);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int tgkill(int tgid, int tid, int sig);

    [LibraryImport(LibraryName)]
    public static partial int gettid();

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int clock_gettime(int clock, timespec* time);

    [LibraryImport(LibraryName)]
    public static partial int getpid();

    [LibraryImport(LibraryName)]
    public static partial int __libc_current_sigrtmin();

    public const int SIG_BLOCK = 0;
    public const int SIG_UNBLOCK = 1;
    public const int SIG_SETMASK = 2;
}
