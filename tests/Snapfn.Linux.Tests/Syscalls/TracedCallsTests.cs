using Snapfn.Linux.Abi;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Syscalls;
using Snapfn.Linux.Tests.Threads;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>Issue 24: the calls Debian's node and python3 were traced making on the host (docs/node-syscalls.md) that
/// the layer answered with ENOSYS or got wrong: capget/capset, the protection-key calls, statx, clone3, mprotect's
/// checks of its protection bits, rt_sigaction's unknown flag bits, /proc/stat, /proc/self/stat and statm, and io_uring refused without a warning. Hostile pointers are EFAULT, never a VMM
/// exception.</summary>
public sealed class TracedCallsTests : IDisposable
{
    private const ulong Mprotect = 10, Newfstatat = 262, Openat = 257, Capget = 125, Capset = 126, Futex = 202, Gettid = 186,
        PkeyMprotect = 329, PkeyAlloc = 330, PkeyFree = 331, Statx = 332, Clone3 = 435;
    private const ulong AtFdcwd = unchecked((ulong)-100);
    private const uint V1 = 0x19980330, V2 = 0x20071026, V3 = 0x20080522;
    private const ulong CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800, CLONE_THREAD = 0x10000,
        CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000,
        CLONE_DETACHED = 0x400000;
    /// <summary>glibc 2.36's pthread_create, through clone3 (as traced: no CLONE_DETACHED, which clone3 refuses).</summary>
    private const ulong PthreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
        CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

    private readonly SyscallHarness _h = new();

    private ulong Header => _h.Scratch + 0x100;

    private ulong Data => _h.Scratch + 0x200;

    private ulong Args => _h.Scratch + 0x400;

    private ulong Path0(string path) => _h.Text(_h.Scratch + 0x600, path);

    private const ulong End = SyscallHarness.MemorySize;

    private void Fill(ulong address, int length, byte value) => _h.Process.User.Writable(address, (ulong)length).Fill(value);

    private void CapHeader(uint version, int pid)
    {
        _h.Write(Header, version);
        _h.Write(Header + 4, pid);
    }

    [Fact]
    public void Capget_reports_empty_sets_for_this_process_in_each_version()
    {
        CapHeader(V3, 0);
        Fill(Data, 32, 0xff);
        Assert.Equal(0, _h.Call(Capget, Header, Data));
        Assert.All(_h.Process.User.Readable(Data, 24).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0xff, _h.Read<byte>(Data + 24)); // two structs of three words, nothing past them

        CapHeader(V1, 1);
        Fill(Data, 32, 0xff);
        Assert.Equal(0, _h.Call(Capget, Header, Data));
        Assert.Equal(0u, _h.Read<uint>(Data + 8));
        Assert.Equal(0xff, _h.Read<byte>(Data + 12)); // version 1: one struct

        CapHeader(V2, 0);
        Assert.Equal(0, _h.Call(Capget, Header, Data));
    }

    [Fact]
    public void Capget_answers_the_version_handshake_and_refuses_other_processes()
    {
        CapHeader(0x1234, 0);
        Assert.Equal(0, _h.Call(Capget, Header, 0)); // NULL data: the program asks for the preferred version
        Assert.Equal(V3, _h.Read<uint>(Header));
        CapHeader(0x1234, 0);
        Assert.Equal(-Errno.EINVAL, _h.Call(Capget, Header, Data));
        Assert.Equal(V3, _h.Read<uint>(Header));
        CapHeader(V3, -1);
        Assert.Equal(-Errno.EINVAL, _h.Call(Capget, Header, Data));
        CapHeader(V3, 99);
        Assert.Equal(-Errno.ESRCH, _h.Call(Capget, Header, Data));
    }

    [Fact]
    public void Capget_and_capset_with_pointers_off_the_end_of_memory_are_efault()
    {
        Assert.Equal(-Errno.EFAULT, _h.Call(Capget, End - 2, Data)); // the stack's last bytes, then nothing
        Assert.Equal(-Errno.EFAULT, _h.Call(Capget, End, Data));
        Assert.Equal(-Errno.EFAULT, _h.Call(Capget, ulong.MaxValue - 3, Data));
        CapHeader(V3, 0);
        Assert.Equal(-Errno.EFAULT, _h.Call(Capget, Header, End - 12)); // the second struct is past the end
        Assert.Equal(-Errno.EFAULT, _h.Call(Capget, Header, ulong.MaxValue - 8));
        Assert.Equal(-Errno.EFAULT, _h.Call(Capset, Header, End - 12));
        Assert.Equal(-Errno.EFAULT, _h.Call(Capset, End - 2, Data));
    }

    [Fact]
    public void Capset_takes_only_empty_sets_for_this_process()
    {
        CapHeader(V3, 0);
        Fill(Data, 24, 0);
        Assert.Equal(0, _h.Call(Capset, Header, Data));
        _h.Write(Data + 4, 1u << 10); // permitted: CAP_NET_BIND_SERVICE
        Assert.Equal(-Errno.EPERM, _h.Call(Capset, Header, Data));
        Fill(Data, 24, 0);
        CapHeader(V3, 5);
        Assert.Equal(-Errno.EPERM, _h.Call(Capset, Header, Data));
        CapHeader(7, 0);
        Assert.Equal(-Errno.EINVAL, _h.Call(Capset, Header, Data));
        Assert.Equal(V3, _h.Read<uint>(Header));
    }

    [Fact]
    public void No_protection_key_can_be_allocated_and_pkey_mprotect_is_mprotect_with_key_minus_one()
    {
        Assert.Equal(-Errno.EINVAL, _h.Call(PkeyAlloc, 0, 1 /* PKEY_DISABLE_ACCESS, as V8 asks */));
        Assert.Equal(-Errno.EINVAL, _h.Call(PkeyAlloc, 0, 0));
        Assert.Equal(-Errno.EINVAL, _h.Call(PkeyFree, 0));
        var page = _h.Scratch + 0x10000;
        Assert.Equal(-Errno.EINVAL, _h.Call(PkeyMprotect, page, 4096, 1, 1));
        Assert.Equal(Protection.Read | Protection.Write, _h.Process.Space.Find(page)!.Protection);
        Assert.Equal(0, _h.Call(PkeyMprotect, page, 4096, 1, unchecked((ulong)-1)));
        Assert.Equal(Protection.Read, _h.Process.Space.Find(page)!.Protection);
        Assert.Equal(0, _h.Call(PkeyMprotect, page, 0, 1, 5)); // an empty range succeeds before the key is looked at
    }

    [Theory]
    [InlineData(0x10UL, -Errno.EINVAL)]                         // an unknown bit
    [InlineData(0x0300_0001UL, -Errno.EINVAL)]                  // PROT_GROWSDOWN | PROT_GROWSUP
    [InlineData(0x8UL | 3, 0L)]                                 // PROT_SEM: accepted
    [InlineData(0x0100_0000UL | 7, 0L)]                         // PROT_GROWSDOWN
    public void Mprotect_checks_its_protection_bits_as_linux(ulong prot, long expected)
    {
        Assert.Equal(expected, _h.Call(Mprotect, _h.Scratch + 0x10000, 4096, prot));
        Assert.Equal(0, _h.Call(Mprotect, _h.Scratch + 0x10000, 0, 0x10)); // nothing to change: 0 before the bits are looked at
    }

    private Kernel.statx StatxOf(string path, int flags = 0, ulong dirfd = AtFdcwd)
    {
        Fill(_h.Scratch + 0x1000, 256, 0xee);
        Assert.Equal(0, _h.Call(Statx, dirfd, Path0(path), (ulong)flags, 0xfff, _h.Scratch + 0x1000));
        return _h.Read<Kernel.statx>(_h.Scratch + 0x1000);
    }

    [Fact]
    public void Statx_reports_what_fstatat_does_in_its_own_layout()
    {
        Assert.Equal(0, _h.Call(Newfstatat, AtFdcwd, Path0("/etc/hostname"), _h.Scratch + 0x800, 0));
        var st = _h.Read<Kernel.stat>(_h.Scratch + 0x800);
        var stx = StatxOf("/etc/hostname");
        Assert.Equal(0x7ffu, stx.stx_mask);
        Assert.Equal((ushort)st.st_mode, stx.stx_mode);
        Assert.Equal(7UL, stx.stx_size);
        Assert.Equal(st.st_ino, stx.stx_ino);
        Assert.Equal((ulong)st.st_blocks, stx.stx_blocks);
        Assert.Equal(st.st_mtime, stx.stx_mtime.tv_sec);
        Assert.Equal((uint)st.st_mtime_nsec, stx.stx_mtime.tv_nsec);
        Assert.Equal(0L, stx.stx_btime.tv_sec);
        Assert.Equal(st.st_dev, MakeDev(stx.stx_dev_major, stx.stx_dev_minor));
        Assert.Equal(0UL, _h.Read<ulong>(_h.Scratch + 0x1000 + 0xf8)); // the spare words are written as zeros

        var fd = _h.Call(Openat, AtFdcwd, Path0("/etc/hostname"), 0);
        Assert.True(fd >= 0);
        Assert.Equal(stx.stx_ino, StatxOf("", 0x1000 /* AT_EMPTY_PATH */, (ulong)fd).stx_ino);
        Assert.Equal(0x4000, StatxOf("/etc", 0x100 /* AT_SYMLINK_NOFOLLOW */).stx_mode & 0xf000);
        Assert.Equal(StatxOf("/").stx_ino, StatxOf("", 0x1000).stx_ino); // AT_FDCWD with "": the working directory, /
        Assert.Equal(0, _h.Call(Newfstatat, AtFdcwd, Path0(""), _h.Scratch + 0x800, 0x1000));
        Assert.Equal(StatxOf("/").stx_ino, _h.Read<Kernel.stat>(_h.Scratch + 0x800).st_ino);
    }

    /// <summary>glibc's makedev.</summary>
    private static ulong MakeDev(ulong major, ulong minor) =>
        ((major & 0xfff) << 8) | ((major & ~0xfffUL) << 32) | (minor & 0xff) | ((minor & ~0xffUL) << 12);

    [Theory]
    [InlineData(0x6000, 0x7ffu, -Errno.EINVAL)]      // AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC
    [InlineData(0x1, 0x7ffu, -Errno.EINVAL)]         // an unknown flag
    [InlineData(0, 0x8000_0000u, -Errno.EINVAL)]     // STATX__RESERVED
    [InlineData(0x2000, 0u, 0L)]                     // AT_STATX_FORCE_SYNC, an empty mask: still answered
    public void Statx_checks_its_flags_and_mask_as_linux(int flags, uint mask, long expected) =>
        Assert.Equal(expected, _h.Call(Statx, AtFdcwd, Path0("/etc/hostname"), (ulong)flags, mask, _h.Scratch + 0x1000));

    [Fact]
    public void Statx_with_a_buffer_or_path_off_the_end_of_memory_is_efault_and_a_missing_file_enoent()
    {
        Assert.Equal(-Errno.EFAULT, _h.Call(Statx, AtFdcwd, Path0("/etc/hostname"), 0, 0x7ff, End - 128));
        Assert.Equal(-Errno.EFAULT, _h.Call(Statx, AtFdcwd, Path0("/etc/hostname"), 0, 0x7ff, ulong.MaxValue - 100));
        Assert.Equal(-Errno.EFAULT, _h.Call(Statx, AtFdcwd, End, 0, 0x7ff, _h.Scratch + 0x1000));
        _h.Write(End - 4, 0x2f2f2f2fu); // "////" up to the end of memory, with no NUL
        Assert.Equal(-Errno.EFAULT, _h.Call(Statx, AtFdcwd, End - 4, 0, 0x7ff, _h.Scratch + 0x1000));
        Assert.Equal(-Errno.ENOENT, _h.Call(Statx, AtFdcwd, Path0("/etc/missing"), 0, 0x7ff, _h.Scratch + 0x1000));
        Assert.Equal(-Errno.EBADF, _h.Call(Statx, 99, Path0(""), 0x1000, 0x7ff, _h.Scratch + 0x1000));
    }

    private void CloneArgs(ulong flags, ulong stack, ulong stackSize, ulong tls = 0x7f00_0000_1000, ulong exitSignal = 0, ulong setTid = 0) =>
        _h.Write(Args, new Kernel.clone_args
        {
            flags = flags,
            child_tid = _h.Scratch + 0x108,
            parent_tid = _h.Scratch + 0x104,
            exit_signal = exitSignal,
            stack = stack,
            stack_size = stackSize,
            tls = tls,
            set_tid = setTid,
        });

    [Fact]
    public void Clone3_starts_a_thread_at_the_top_of_its_stack_with_its_tls()
    {
        var cpu = new RecordingCpu();
        _h.Process.Cpu = cpu;
        var mainStack = _h.Regs.rsp;
        var stack = _h.Scratch + 0x40000;
        CloneArgs(PthreadFlags, stack, 0x40000);
        Assert.Equal(2, _h.Call(Clone3, Args, 88));
        Assert.Equal(2, _h.Read<int>(_h.Scratch + 0x104)); // CLONE_PARENT_SETTID
        Assert.Equal(mainStack, _h.Regs.rsp);
        _h.Call(Futex, _h.Scratch + 0x100, 0 /* FUTEX_WAIT */, 0);
        Assert.Equal(stack + 0x40000, _h.Regs.rsp); // the child runs on stack + stack_size
        Assert.Equal(0UL, _h.Regs.rax);
        Assert.Equal(0x7f00_0000_1000UL, cpu.FsBase);
        Assert.Equal(2, _h.Call(Gettid));
    }

    [Fact]
    public void Clone3_checks_its_struct_as_linux_before_anything_is_made()
    {
        var stack = _h.Scratch + 0x40000;
        CloneArgs(PthreadFlags, stack, 0x40000);
        Assert.Equal(-Errno.EINVAL, _h.Call(Clone3, Args, 63));
        Assert.Equal(-Errno.E2BIG, _h.Call(Clone3, Args, 4097));
        _h.Write(Args + 88, 0UL);
        _h.Write(Args + 96, 1UL);
        Assert.Equal(-Errno.E2BIG, _h.Call(Clone3, Args, 104)); // a field this layer does not know is set
        Assert.Equal(-Errno.EFAULT, _h.Call(Clone3, End - 64, 88));
        Assert.Equal(-Errno.EFAULT, _h.Call(Clone3, ulong.MaxValue - 63, 64));

        CloneArgs(PthreadFlags, stack, 0);
        Assert.Equal(-Errno.EINVAL, _h.Call(Clone3, Args, 88)); // a stack without a size
        CloneArgs(PthreadFlags, 0, 0x1000);
        Assert.Equal(-Errno.EINVAL, _h.Call(Clone3, Args, 88)); // a size without a stack
        CloneArgs(PthreadFlags, 0x7fff_ffff_f000, 0x2000);
        Assert.Equal(-Errno.EINVAL, _h.Call(Clone3, Args, 88)); // a stack past user space
        CloneArgs(PthreadFlags, ulong.MaxValue - 0xfff, 0x2000);
        Assert.Equal(-Errno.EINVAL, _h.Call(Clone3, Args, 88)); // stack + size wraps
        CloneArgs(PthreadFlags, stack, 0x1000, exitSignal: 17);
        Assert.Equal(-Errno.EINVAL, _h.Call(Clone3, Args, 88)); // CLONE_THREAD with an exit signal
        CloneArgs(PthreadFlags | CLONE_DETACHED, stack, 0x1000);
        Assert.Equal(-Errno.EINVAL, _h.Call(Clone3, Args, 88));
        CloneArgs(PthreadFlags, stack, 0x1000, setTid: _h.Scratch);
        Assert.Equal(-Errno.EINVAL, _h.Call(Clone3, Args, 88));
        CloneArgs(0, 0, 0, exitSignal: 17); // fork
        Assert.Equal(-Errno.EAGAIN, _h.Call(Clone3, Args, 64));
        Assert.Equal(1, _h.Process.Threads.Count);
    }

    [Fact]
    public void Io_uring_is_refused_as_linux_without_it_and_counted_as_a_decision_not_a_gap()
    {
        Assert.Equal(-Errno.ENOSYS, _h.Call(425, 8, _h.Scratch));
        Assert.Equal(SupportLevel.Denied, SyscallTable.Lookup(425)!.Support);
    }

    /// <summary>Every combination of pointers at the edges of guest memory and of 64-bit space, and of sizes around
    /// the limits, for the calls this change serves: each answer is an errno Linux gives or a success, never a VMM
    /// exception (which <see cref="LinuxProcess.Serve"/> would turn into the program's failure).</summary>
    [Fact]
    public void Hostile_arguments_to_the_new_calls_are_errnos()
    {
        ulong[] pointers = [0, 8, _h.Scratch, End - 2, End - 12, End, 1UL << 47, ulong.MaxValue - 3, ulong.MaxValue];
        ulong[] numbers = [0, 1, 63, 64, 88, 4097, 0x8000_0000, ulong.MaxValue];
        int[] allowed = [0, Errno.EFAULT, Errno.EINVAL, Errno.E2BIG, Errno.EPERM, Errno.ESRCH, Errno.ENOENT, Errno.EBADF, Errno.EAGAIN, Errno.ENOTDIR,
            Errno.ENAMETOOLONG];
        foreach (var a0 in pointers)
        {
            foreach (var a1 in pointers.Concat(numbers))
            {
                _h.Write(_h.Scratch, 0UL); // a clone_args or capability header the calls may read: zeros
                Check(Capget, a0, a1);
                Check(Capset, a0, a1);
                Check(Clone3, a0, a1);
                Check(PkeyAlloc, a0, a1);
                Check(PkeyFree, a0);
                foreach (var flags in numbers)
                    Check(Statx, AtFdcwd, a0, flags, a1, a0);
            }
        }

        void Check(ulong number, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0)
        {
            var result = _h.Call(number, a0, a1, a2, a3, a4);
            Assert.True(result == 0 || allowed.Contains((int)-result), $"{number}(0x{a0:x}, 0x{a1:x}, 0x{a2:x}, 0x{a3:x}, 0x{a4:x}) = {result}");
        }
    }

    /// <summary>Every call node (hello-world, json and a handler using fs, crypto, zlib and timers) and python3 (a
    /// ThreadPoolExecutor and asyncio) made when traced natively (docs/node-syscalls.md): each is served, or refused on
    /// purpose with an errno the program handles; none is a gap that would print a warning.</summary>
    [Fact]
    public void Every_call_the_traced_programs_made_is_served_or_refused_on_purpose()
    {
        string[] traced =
        [
            "access", "arch_prctl", "brk", "capget", "clone", "clone3", "close", "epoll_create1", "epoll_ctl", "epoll_wait", "eventfd2",
            "exit", "exit_group", "fcntl", "futex", "getdents64", "getegid", "geteuid", "getgid", "getpid", "getrandom", "getsockname",
            "gettid", "getuid", "ioctl", "lseek", "madvise", "mmap", "mprotect", "munmap", "newfstatat", "openat", "pipe2", "pkey_alloc",
            "pread64", "prlimit64", "read", "readlink", "recvfrom", "rseq", "rt_sigaction", "rt_sigprocmask", "sched_yield", "sendto",
            "set_robust_list", "set_tid_address", "socketpair", "statx", "sysinfo", "uname", "write",
        ];
        var byName = SyscallTable.All.ToDictionary(e => e.Name);
        Assert.All(traced, name => Assert.NotEqual(SupportLevel.Unsupported, byName[name].Support));
        Assert.All(traced.Where(n => n is not ("rseq")), name => Assert.NotNull(byName[name].Function));
    }

    [Fact]
    public void Rt_sigaction_keeps_only_the_flag_bits_linux_knows()
    {
        // Node's SIGINT handler as glibc passes it: SA_RESETHAND sign-extended from an int; SA_UNSUPPORTED (0x400) is
        // how a program probes for flags, and must not come back.
        _h.Write(Args, new Kernel.kernel_sigaction { sa_handler = 0x400100, sa_flags = 0xffff_ffff_8000_0000UL | 0x0400_0000 | 0x400, sa_restorer = 0x400200 });
        Assert.Equal(0, _h.Call(13, 2 /* SIGINT */, Args, 0, 8));
        Assert.Equal(0, _h.Call(13, 2, 0, Args + 0x40, 8));
        Assert.Equal(0x8000_0000UL | 0x0400_0000, _h.Read<Kernel.kernel_sigaction>(Args + 0x40).sa_flags);
    }

    private string ReadFile(string path)
    {
        var fd = _h.Call(Openat, AtFdcwd, Path0(path), 0);
        Assert.True(fd >= 0, $"open {path}: {fd}");
        var n = _h.Call(0 /* read */, (ulong)fd, _h.Scratch + 0x2000, 4096);
        Assert.True(n > 0, $"read {path}: {n}");
        _h.Call(3 /* close */, (ulong)fd);
        return System.Text.Encoding.ASCII.GetString(_h.Process.User.Readable(_h.Scratch + 0x2000, (ulong)n));
    }

    /// <summary>libuv's uv_resident_set_memory (Node's process.memoryUsage()) reads /proc/self/stat's 24th field, the
    /// resident pages, after the command name's ')'; it threw ENOENT in the VM before the file existed.</summary>
    [Fact]
    public void Proc_self_stat_and_statm_have_linux_fields_where_libuv_reads_them()
    {
        Assert.Equal(0, _h.Call(157 /* prctl */, 15 /* PR_SET_NAME */, _h.Text(_h.Scratch + 0x300, "a (b) c")));
        Assert.Equal(0, _h.Call(Mprotect, _h.Scratch + 0x10000, 0x10000, 0)); // PROT_NONE: not resident
        var line = ReadFile("/proc/self/stat").TrimEnd('\n');
        Assert.StartsWith("1 (a (b) c) R ", line, StringComparison.Ordinal);
        var fields = line[(line.LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal(52 - 2, fields.Length);
        long Field(int n) => long.Parse(fields[n - 3], System.Globalization.CultureInfo.InvariantCulture);
        var mapped = _h.Process.Space.Mappings.Aggregate(0UL, (sum, m) => sum + m.Length);
        Assert.Equal((long)mapped, Field(23)); // vsize, bytes
        Assert.Equal((long)(mapped - 0x10000) / 4096, Field(24)); // rss, pages
        Assert.Equal(1, Field(20)); // threads
        Assert.Equal(17, Field(38)); // exit signal
        Assert.Equal(ReadFile("/proc/1/stat"), ReadFile("/proc/self/stat"));

        var statm = ReadFile("/proc/self/statm").TrimEnd('\n').Split(' ').Select(ulong.Parse).ToArray();
        Assert.Equal(7, statm.Length);
        Assert.Equal(mapped / 4096, statm[0]);
        Assert.Equal((mapped - 0x10000) / 4096, statm[1]);

        Assert.Equal(0, _h.Call(Newfstatat, AtFdcwd, Path0("/proc/self/stat"), _h.Scratch + 0x800, 0));
        Assert.Equal(Kernel.S_IFREG, _h.Read<Kernel.stat>(_h.Scratch + 0x800).st_mode & Kernel.S_IFMT);
    }

    /// <summary>libuv's uv_cpu_info (Node's os.cpus()) counts the cpuN lines of /proc/stat and sscanf's six numbers
    /// after each, aborting the program when they are not there.</summary>
    [Fact]
    public void Proc_stat_describes_one_cpu_in_the_format_libuv_parses()
    {
        var fd = _h.Call(Openat, AtFdcwd, Path0("/proc/stat"), 0x80000 /* O_CLOEXEC */);
        Assert.True(fd >= 0, $"open /proc/stat: {fd}");
        var n = _h.Call(0 /* read */, (ulong)fd, _h.Scratch + 0x2000, 4096);
        Assert.True(n > 0);
        var lines = System.Text.Encoding.ASCII.GetString(_h.Process.User.Readable(_h.Scratch + 0x2000, (ulong)n)).Split('\n');
        Assert.StartsWith("cpu  ", lines[0], StringComparison.Ordinal);
        var cpus = lines.Where(l => l.StartsWith("cpu", StringComparison.Ordinal) && l.Length > 3 && char.IsAsciiDigit(l[3])).ToArray();
        var cpu0 = Assert.Single(cpus);
        Assert.True(cpu0["cpu0 ".Length..].Split(' ').Count(f => ulong.TryParse(f, out _)) >= 6, cpu0);
    }

    public void Dispose() => _h.Dispose();
}
