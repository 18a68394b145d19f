namespace Snapfn.Linux.Tests.Programs;

/// <summary>The system-call layer against small C programs (guest/linux-tests, host gcc and glibc, static and
/// dynamic) that check the results from inside the guest.</summary>
public sealed class SyscallLayerTests
{
    public static TheoryData<string> Linkages => new() { "static", "dynamic" };

    [Theory]
    [InlineData("hello-static")]
    [InlineData("hello-dynamic")]
    [InlineData("hello-pie")]
    public void Hello_sees_its_arguments_environment_and_auxv(string name)
    {
        var output = GuestProgram.Run("/tests/" + name, ["a", "b"], environment: ["SNAPFN_TEST=1", "PATH=/usr/bin"]);
        Assert.True(output.Exit.Status == 0 && !output.Stdout.Contains("FAIL", StringComparison.Ordinal), output.ToString());
        Assert.Contains($"hello from /tests/{name}", output.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Linkages))]
    public void Files_and_descriptors(string linkage) => GuestProgram.RunChecks("fs-" + linkage);

    [Theory]
    [MemberData(nameof(Linkages))]
    public void Memory_mappings(string linkage) => GuestProgram.RunChecks("mem-" + linkage);

    [Theory]
    [MemberData(nameof(Linkages))]
    public void Process_time_and_signal_calls(string linkage) => GuestProgram.RunChecks("misc-" + linkage);

    /// <summary>Issue 24: clock_settime, settimeofday and adjtimex without CAP_SYS_TIME; the CPU-time clocks of threads and
    /// the process (gettime, getres, nanosleep on another thread's clock); nice values per thread.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Clocks_cpu_time_and_nice(string linkage) => GuestProgram.RunChecks("clocks-" + linkage);

    /// <summary>Issue 24: chmod, utimensat and the fsync family on /tmp, getpwuid(0), /proc/self/fd, status and maps.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void File_modes_times_sync_users_and_proc_self(string linkage) => GuestProgram.RunChecks("fileattrs-" + linkage);

    /// <summary>Issue 24: the file-system calls CPython's tests found missing: chmod without following a link, the chown
    /// family, mknod and FIFOs, hard links, a trailing slash, statfs of the root.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void File_nodes_owners_links_and_fifos(string linkage) => GuestProgram.RunChecks("fsnodes-" + linkage);

    /// <summary>Issue 24: sendfile (Python's shutil.copyfile) and copy_file_range: whole files past one call's chunk,
    /// offsets through the pointer or the descriptor, into a pipe, and Linux's refusals; splice and tee.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Sendfile_copy_file_range_splice_and_tee(string linkage) => GuestProgram.RunChecks("copies-" + linkage);

    /// <summary>Issue 24: preadv, pwritev, their v2 forms and fallocate (CPython's test_posix found them ENOSYS).</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Positioned_vectors_and_fallocate(string linkage) => GuestProgram.RunChecks("positioned-" + linkage);

    /// <summary>Issue 24: pipe2, eventfd2, poll, ppoll, select, pselect6 and epoll, with readiness and timeouts.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Pipes_eventfds_poll_select_and_epoll(string linkage) => GuestProgram.RunChecks("pipes-" + linkage);

    /// <summary>Issue 24: MAP_SHARED mappings of /tmp files write through: stores reach read(), pread(), msync, munmap and
    /// fsync; write(), pwrite() and ftruncate reach the mapping; two mappings merge; MADV_DONTNEED and mremap keep stores.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Shared_file_mappings_write_through(string linkage) => GuestProgram.RunChecks("mapshared-" + linkage);

    /// <summary>Issue 24: memfd_create (an unnamed /tmp file: its /proc/self/fd link, MAP_SHARED, EINVAL and EFAULT cases),
    /// file seals, and the /tmp quota bounding it (8 MiB here).</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Memfds_and_seals(string linkage)
    {
        var output = GuestProgram.Run("/tests/memfd-" + linkage, ["8"], tmpQuota: new Snapfn.Linux.Files.TmpQuota(8L << 20, 100));
        Assert.True(output.Exit.Status == 0 && !output.Stdout.Contains("FAIL", StringComparison.Ordinal), $"memfd-{linkage} failed:\n{output}");
        Assert.Contains("ok memfd-bounded-by-tmp-quota", output.Stdout, StringComparison.Ordinal);
        Assert.Contains("ok tmpfs-file-has-seal-seal", output.Stdout, StringComparison.Ordinal); // /tmp is tmpfs here
    }

    /// <summary>Issue 24: socketpair(AF_UNIX) streams, datagrams and seqpackets, send/recv and their flags, shutdown, a
    /// closed peer, socket options and names, poll and epoll readiness.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Socket_pairs(string linkage) => GuestProgram.RunChecks("sockets-" + linkage);

    /// <summary>Issue 24: signals sent to itself and by timers run the program's handlers (on its alternate stack, with
    /// its FPU registers kept), setitimer, alarm, timer_create, sigsuspend, sigtimedwait, getrusage and times.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Signals_timers_and_cpu_time(string linkage) => GuestProgram.RunChecks("signals-" + linkage);

    /// <summary>Issue 24: pthread_create and join, TLS and FS base per thread, a mutex and condvar ping-pong, futex
    /// values and timeouts, tgkill to one thread, per-thread masks, 64 threads, a thread preempted by its time slice.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Threads_futexes_and_signals_to_one_thread(string linkage) => GuestProgram.RunChecks("threads-" + linkage);

    /// <summary>Threads that compute without system calls are switched by the time slice and each comes back exactly as
    /// it left: its integer, flag, SSE and x87 results are what one thread alone computes, and an atomic add runs once
    /// per step (the soft CPU once re-ran the start of a block after a kick, and reset the x87 control word to 0).</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Preempted_threads_keep_their_registers_and_run_each_instruction_once(string linkage) => GuestProgram.RunChecks("preempt-" + linkage);

    /// <summary>Issue 24: the calls node and python3 were traced making that the layer used to refuse (capget/capset,
    /// statx, the protection-key calls, clone3's checks, mprotect's bits, MADV_DONTFORK) and robust mutexes whose
    /// owner thread exits (EOWNERDEAD, the waiter woken by the walk of the robust list), rt_sigaction dropping unknown flag
    /// bits, /proc/self/stat and statm as libuv reads them. 70 checks, all ok natively.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Calls_node_and_python_make_and_robust_mutexes(string linkage)
    {
        var output = GuestProgram.RunChecks("runtimes-" + linkage);
        Assert.DoesNotContain("which Snapfn does not support", output.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Linkages))]
    public void Network_processes_and_unsupported_calls_are_refused(string linkage)
    {
        var output = GuestProgram.RunChecks("deny-" + linkage);
        Assert.Contains("which Snapfn does not support", output.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Linkages))]
    public void Bad_pointers_are_EFAULT_and_never_reach_the_host(string linkage) => GuestProgram.RunChecks("efault-" + linkage);

    /// <summary>Issue 18: brk(0xfffffffffffff001) once wrapped to 0 and discarded the VMM's pages; munmap(addr,
    /// 2^64-4095) rounded to a zero-length host mmap that ended the run with a VMM error. The program attacks every
    /// address-space and transfer call with wrapping values and pointers near the end of memory, checks Linux's
    /// errno for each, then that its data, the break, the vDSO's clock and file reads still work.</summary>
    [Theory]
    [MemberData(nameof(Linkages))]
    public void Wrapping_arguments_get_linuxs_errno_and_leave_every_page_intact(string linkage) => GuestProgram.RunChecks("wrap-" + linkage);

    [Fact]
    public void The_exit_status_is_the_programs()
    {
        var output = GuestProgram.Run("/tests/exit42-static");
        Assert.Equal(42, output.Exit.Status);
        Assert.NotEmpty(output.Stdout);
    }
}
