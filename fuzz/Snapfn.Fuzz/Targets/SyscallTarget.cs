using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;
using Snapfn.Vmm;

namespace Snapfn.Fuzz.Targets;

/// <summary>
/// The Linux system-call layer without KVM: a <see cref="LinuxProcess"/> over plain anonymous guest memory whose
/// low 2 MiB hold what the VMM writes there (page tables, GDT, TSS, the syscall stub), driven through
/// <see cref="LinuxProcess.OnSyscall"/> with up to 16 calls an input. An input is a list of calls: two bytes of
/// number (0-511), then per argument a selector byte and its payload (see <see cref="Argument"/>), so that
/// mutations hit pointers near the ends of guest memory, the VMM's pages, paths and wrapping lengths. Number 511
/// (no system call) is the harness's own: it writes bytes of the input into the scratch page, so that the structures
/// the calls read (a msghdr, a sigaction, an epoll_event, a futex word) are fuzzed too; the scratch page starts with
/// valid ones (<see cref="WriteTemplates"/>).
/// Invariants: a handler returns a value or an errno, or raises a guest failure (<see cref="GuestFailureException"/>);
/// the VMM's pages are unchanged after every input; a host file outside the root keeps its random token and is
/// never written to the program's output.
/// </summary>
public sealed class SyscallTarget : FuzzTarget, IDisposable
{
    private const ulong MemorySize = 64UL << 20;
    private const int MaxCalls = 16;
    private const ulong ScratchLength = 0x10000;

    /// <summary>The call number of the harness's "write these bytes into the scratch page" (no system call has it).</summary>
    private const int Poke = 511;

    /// <summary>Where in the scratch page the templates are (after the paths); selector 4 reaches them as slot
    /// offset / 64.</summary>
    private const int Timespec = 0x3000, EpollEvent = 0x3040, Iovecs = 0x3080, Msghdr = 0x30c0, Sigaction = 0x3100, AltStack = 0x3140,
        Sigset = 0x3180, Counter = 0x31c0, FutexZero = 0x3200, FutexOne = 0x3240, TidWord = 0x3300, Tls = 0x3340, Pair = 0x3480,
        Events = 0x3500, Data = 0x3800, StackTop = 0x3f00;

    /// <summary>Flag words and operations of the calls threads, sockets, pipes, epoll, eventfd, shared mappings and
    /// signals take, which a random byte rarely is (selector 3 with bit 3 set).</summary>
    private static readonly ulong[] _flags =
    [
        0x3d0f00, // clone as pthread_create: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
        0x350f00, 0x10f00, 0x10100, 0x10000, 0x1200011 /* fork */, 0x4111 /* vfork */, 0x3d0f00 | 0x400000 /* CHILD_SETTID */,
        0, 1, 3, 4, 5, 6, 9, 10, 128, 129, 131, 132, 137, 138, 128 | 256 | 9, // futex: WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, LOCK_PI, *_BITSET, PRIVATE, CLOCK_REALTIME
        0x800, 0x80000, 0x80800, 0x4000, // SOCK_/O_/EFD_NONBLOCK, *_CLOEXEC, both, O_DIRECT
        0x80801, 0x80802, 0x80805, 0x806, // socket types with flags
        0x40, 0x100, 0x4000, 0x20, 0x40000000, 0x4042, // MSG_DONTWAIT, WAITALL, NOSIGNAL, TRUNC, CMSG_CLOEXEC
        0x80000000UL | 1, 0x80000000UL | 4 | 1, 0x2000, 0x10, // EPOLLIN|EPOLLET, with EPOLLOUT, EPOLLRDHUP, EPOLLHUP
        0x11, 0x21, 0x13, 0x03, 0x100011, // MAP_SHARED|FIXED, SHARED|ANONYMOUS, SHARED_VALIDATE|FIXED, SHARED_VALIDATE, with FIXED_NOREPLACE
        0x42, 0x242, 0x80042, 0x1a4, 0x1ff, // O_RDWR|O_CREAT, |O_TRUNC, |O_CLOEXEC; modes
        1 << 9, 1UL << 16, (1UL << 9) | (1UL << 16), 1UL << 31, 1UL << 63, ulong.MaxValue, // signal sets: SIGUSR1, SIGCHLD, SIGRTMIN, 64
        0x04000004, 0x0c000004, 0x44000000, 0x80000000, // SA_RESTORER|SA_SIGINFO, |SA_ONSTACK, |SA_RESTART, SA_RESETHAND
        2, 8, 16, 1UL << 32, // SS_DISABLE, sigset sizes (8 is right)
    ];

    private static readonly string[] _paths =
    [
        "/etc/hostname", "/tmp/x", "/tmp", "/tmp/d/", ".", "..", "/", "/proc/self/exe", "/dev/zero", "/dev/null", "/dev/urandom",
        "escape/secret", "/../secret", "../../secret", "/etc/../../secret", "link-out", "/proc/self/root/../secret", "", "/usr/bin/prog",
        "/etc", "/tmp/x/../../etc/hostname", "\u00e9", new string('a', 300), "/tmp/" + new string('b', 255),
    ];

    private readonly string _scratch;
    private readonly string _root;
    private readonly string _secret;
    private readonly byte[] _token = Encoding.ASCII.GetBytes(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
    private readonly byte[] _lowMemory;
    private readonly ulong[] _interesting;
    private readonly MemoryStream _output = new();
    private readonly GuestMemory _memory;

    public SyscallTarget()
    {
        // In memory (/dev/shm, or the run's folder): a file rewritten on a disk with discard costs a synchronous
        // block discard at each truncation.
        _scratch = FuzzScratch.Create("syscalls");
        _root = Directory.CreateDirectory(Path.Combine(_scratch, "root")).FullName;
        _secret = Path.Combine(_scratch, "secret");
        File.WriteAllBytes(_secret, _token);
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        Directory.CreateDirectory(Path.Combine(_root, "usr", "bin"));
        File.WriteAllText(Path.Combine(_root, "etc", "hostname"), "snapfn\n");
        File.WriteAllBytes(Path.Combine(_root, "usr", "bin", "prog"), [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1]);
        File.CreateSymbolicLink(Path.Combine(_root, "link-out"), _secret);
        Directory.CreateSymbolicLink(Path.Combine(_root, "escape"), _scratch);
        _lowMemory = new byte[GuestLayout.LargePageSize];
        VmmPages.ForProcess(MemorySize, []).CopyTo(_lowMemory);
        // One guest memory for every input, reset after each: faulting in fresh pages for the VMM's 2 MiB cost
        // ~35 ms an input on this host, copying them back into pages already there costs ~0.1 ms.
        _memory = new GuestMemory(MemoryMapping.Anonymous(MemorySize));
        _lowMemory.CopyTo(_memory.Span(0, GuestLayout.LargePageSize));
        _interesting =
        [
            0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x1000, 0xfff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, ulong.MaxValue,
            ulong.MaxValue - 1, 1UL << 63, (1UL << 63) - 1, ulong.MaxValue - 4094, ulong.MaxValue - 4095, ulong.MaxValue - 4096, ulong.MaxValue - 0x1fffff,
            1UL << 47, (1UL << 47) - 4096, MemorySize, MemorySize - 1, MemorySize - 8, MemorySize - 4096, MemorySize + 4096,
            GuestLayout.Pml4Address, GuestLayout.PdptAddress, GuestLayout.LowPageTableAddress, GuestLayout.GdtAddress, GuestLayout.TssAddress,
            SyscallTrap.StubAddress, GuestLayout.PageDirectoriesAddress, ProcessGuest.ReadOnlyWindow,
            ProcessGuest.ReadOnlyWindow + ProcessGuest.ReadOnlyWindowSize - 8, ProcessGuest.ProgramBase, ProcessGuest.ProgramBase - 1,
            ProcessGuest.ProgramBase - 4096, MemorySize - (8UL << 20), MemorySize - (9UL << 20), unchecked((ulong)-Errno.EFAULT),
        ];
    }

    /// <summary>Replays set this: the VMM's pages are compared after every call (too slow for fuzzing), and a
    /// finding names the call that broke the invariant.</summary>
    public bool CheckEveryCall { get; set; }

    /// <summary>Replays set this with SNAPFN_FUZZ_TRACE=1: every call and its result go to the standard error, to see
    /// what a seed or a finding does.</summary>
    public bool Trace { get; set; }

    public override string Name => "syscalls";

    public override string Description => "LinuxProcess.OnSyscall over plain guest memory (no KVM): random numbers and arguments";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var memory = _memory;
        _output.SetLength(0);
        var options = new ProcessOptions
        {
            RootDirectory = _root, Program = "/usr/bin/prog", Arguments = ["/usr/bin/prog"],
            StandardInput = new MemoryStream("input\n"u8.ToArray()),
            StandardOutput = bytes => _output.Write(bytes),
            StandardError = bytes => _output.Write(bytes),
            Vm = new MicroVmOptions { MemorySize = MemorySize, Name = "fuzz" },
        };
        var changed = false;
        var difference = "";
        var secretChanged = false;
        try
        {
            using (var process = LinuxProcess.WithoutVm(options, memory))
            {
                process.Space.SetBrkStart(ProcessGuest.ProgramBase + 0x100000);
                var scratch = Call(process, 9, 0, ScratchLength, Libc.PROT_READ | Libc.PROT_WRITE, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, ulong.MaxValue, 0);
                if (scratch is < 0 or >= (long)MemorySize)
                    throw new InvariantViolatedException($"mmap of the harness's scratch page failed ({scratch})");
                WritePaths(memory, (ulong)scratch);
                WriteTemplates(memory, (ulong)scratch);
                var reader = new InputReader(input);
                Span<ulong> args = stackalloc ulong[6];
                for (var i = 0; i < MaxCalls && !reader.Done; i++)
                {
                    var number = (ulong)(reader.Byte() | (reader.Byte() & 1) << 8);
                    if (number == Poke)
                    {
                        // Up to 64 bytes at a 64-byte slot of the scratch page.
                        var at = (ulong)scratch + (ulong)reader.Byte() * 64;
                        var length = reader.Byte() % 65;
                        var target = memory.Span(at, (ulong)length);
                        for (var b = 0; b < length; b++)
                            target[b] = reader.Byte();
                        continue;
                    }
                    for (var a = 0; a < 6; a++)
                        args[a] = Argument(ref reader, (ulong)scratch);
                    try
                    {
                        var (action, result) = CallAction(process, number, args);
                        if (Trace)
                            Console.Error.WriteLine($"{Describe(number, args)} = {unchecked((long)result)} ({action})");
                        if (CheckEveryCall && !memory.Span(0, GuestLayout.LargePageSize).SequenceEqual(_lowMemory))
                            throw new InvariantViolatedException($"{Describe(number, args)} changed the VMM's own pages: {FirstDifference(memory)}");
                        if (action == SyscallAction.Exited)
                            break;
                    }
                    catch (GuestFailureException)
                    {
                        break;
                    }
                    catch (Exception e) when (CheckEveryCall && e is not InvariantViolatedException)
                    {
                        throw new InvariantViolatedException($"{Describe(number, args)} raised {e.GetType().Name}", e);
                    }
                }
            }
            changed = !memory.Span(0, GuestLayout.LargePageSize).SequenceEqual(_lowMemory);
            difference = changed ? FirstDifference(memory) : "";
            secretChanged = !SecretIntact();
        }
        finally
        {
            // Back to the state before the input, whatever escaped: the VMM's pages as written, everything else
            // zero, the planted file as planted (SharpFuzz runs the next input in this process).
            _lowMemory.CopyTo(memory.Span(0, GuestLayout.LargePageSize));
            memory.Discard(GuestLayout.LargePageSize, MemorySize - GuestLayout.LargePageSize);
            if (!SecretIntact())
                File.WriteAllBytes(_secret, _token);
        }
        if (changed)
            throw new InvariantViolatedException("the VMM's own pages (page tables, GDT, TSS, stub) changed: " + difference);
        if (secretChanged)
            throw new InvariantViolatedException("a host file outside the root was changed");
        if (_output.ToArray().AsSpan().IndexOf(_token) >= 0)
            throw new InvariantViolatedException("a host file outside the root was written to the program's output");
    }

    /// <summary>The planted file as planted (rewritten only when not: a rewrite is a truncation).</summary>
    private bool SecretIntact()
    {
        try
        {
            return File.ReadAllBytes(_secret).AsSpan().SequenceEqual(_token);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// One argument from the input: a selector byte, then by its low 3 bits a signed byte, 4 or 8 raw bytes, an
    /// interesting value (the ends of memory, the VMM's pages, values that wrap; with bit 3, a flag word of
    /// <see cref="_flags"/>), a pointer into the scratch
    /// page (where paths are written), a path, the last bytes of guest memory, or a small descriptor.
    /// </summary>
    private ulong Argument(ref InputReader reader, ulong scratch)
    {
        if (reader.Done)
            return 0;
        var selector = reader.Byte();
        return (selector & 7) switch
        {
            0 => unchecked((ulong)(sbyte)reader.Byte()),
            1 => reader.UInt32(),
            2 => reader.UInt64(),
            3 => (selector & 8) == 0 ? _interesting[reader.Byte() % _interesting.Length] : _flags[reader.Byte() % _flags.Length],
            4 => scratch + (ulong)reader.Byte() * 64,
            5 => scratch + (ulong)(reader.Byte() % _paths.Length) * 512,
            6 => MemorySize - (ulong)reader.Byte() - (ulong)(selector >> 3),
            _ => (ulong)(selector >> 3),
        };
    }

    private static void WritePaths(GuestMemory memory, ulong scratch)
    {
        for (var i = 0; i < _paths.Length; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(_paths[i]);
            bytes.CopyTo(memory.Span(scratch + (ulong)i * 512, (ulong)bytes.Length));
        }
    }

    /// <summary>Valid structures for the calls that read them, at fixed places of the scratch page: a timespec of 1 ms,
    /// an epoll_event, two iovecs and a msghdr over them, a sigaction (handler, SA_SIGINFO|SA_RESTORER|SA_ONSTACK), an
    /// alternate stack inside the page, a signal set (SIGUSR1, SIGCHLD), an eventfd count, futex words of 0 and 1, a
    /// TLS block that points to itself, and data.</summary>
    private static void WriteTemplates(GuestMemory memory, ulong scratch)
    {
        void Put(int offset, params ReadOnlySpan<ulong> words)
        {
            for (var i = 0; i < words.Length; i++)
                BinaryPrimitives.WriteUInt64LittleEndian(memory.Span(scratch + (ulong)offset + (ulong)i * 8, 8), words[i]);
        }
        Put(Timespec, 0, 1_000_000);
        BinaryPrimitives.WriteUInt32LittleEndian(memory.Span(scratch + EpollEvent, 4), 1 | 4); // EPOLLIN|EPOLLOUT, then 8 bytes of data (packed)
        BinaryPrimitives.WriteUInt64LittleEndian(memory.Span(scratch + EpollEvent + 4, 8), 0x1122334455667788);
        Put(Iovecs, scratch + Data, 16, scratch + Data + 0x100, 0x400);
        Put(Msghdr, 0, 0, scratch + Iovecs, 2, 0, 0, 0);
        Put(Sigaction, ProcessGuest.ProgramBase + 0x1000, 0x0c000004, ProcessGuest.ProgramBase + 0x2000, 1UL << 9);
        Put(AltStack, scratch + 0x8000, 0, 0x8000);
        Put(Sigset, (1UL << 9) | (1UL << 16));
        Put(Counter, 1);
        Put(FutexZero, 0);
        Put(FutexOne, 1);
        Put(Tls, scratch + Tls);
        "0123456789abcdef"u8.CopyTo(memory.Span(scratch + Data, 16));
    }

    private static long Call(LinuxProcess process, ulong number, params ReadOnlySpan<ulong> args)
    {
        var regs = Regs(number, args);
        process.OnSyscall(null!, ref regs);
        return unchecked((long)regs.rax);
    }

    private static (SyscallAction Action, ulong Result) CallAction(LinuxProcess process, ulong number, ReadOnlySpan<ulong> args)
    {
        var regs = Regs(number, args);
        var action = process.OnSyscall(null!, ref regs);
        return (action, regs.rax);
    }

    private static Kvm.kvm_regs Regs(ulong number, ReadOnlySpan<ulong> args) => new()
    {
        rax = number, rdi = args[0], rsi = args[1], rdx = args[2], r10 = args[3], r8 = args[4], r9 = args[5],
    };

    private static string Describe(ulong number, ReadOnlySpan<ulong> args) =>
        $"{SyscallTable.Lookup(number)?.Name ?? "syscall " + number}(0x{args[0]:x}, 0x{args[1]:x}, 0x{args[2]:x}, 0x{args[3]:x}, 0x{args[4]:x}, 0x{args[5]:x})";

    private string FirstDifference(GuestMemory memory)
    {
        var now = memory.Span(0, GuestLayout.LargePageSize);
        var at = now.CommonPrefixLength(_lowMemory);
        return $"first at 0x{at:x} (0x{_lowMemory[at]:x2} became 0x{now[at]:x2})";
    }

    public override IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        // Each seed: number (2 bytes), then arguments as selector + payload (see Argument).
        // brk(0xfffffffffffff001) and munmap(ProgramBase, 2^64-4095), finding 4 of issue 18, are kept in
        // fuzz/corpus/crashes/syscalls (brk-wraps, munmap-huge) until the system-call layer refuses them.
        yield return ("open-read-hostname", [2, 0, 5, 0, 7, 0, 0, 0, /* read(3, scratch, 64) */ 0, 0, 7 | 3 << 3, 4, 16, 0, 64]);
        yield return ("openat-escape", [1, 1, 0, 0x9c, 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0]);
        yield return ("write-tmp", [2, 0, 5, 1, 1, 0x41, 0x02, 0, 0, 0, 0xa4, 1, 0, 0, 7 | 3 << 3, 5, 0, 0, 6]);
        yield return ("mmap-fixed-low", [9, 0, 3, Index(GuestLayout.Pml4Address), 3, 7, 0, 3, 0, 0x32, 0, 0xff, 0, 0]);
        yield return ("read-to-stub", [0, 0, 7, 3, Index(SyscallTrap.StubAddress), 0, 64]);
        yield return ("uname-end", [63, 0, 6, 100]);
        // Threads, sockets, pipes, epoll, eventfd, shared mappings of /tmp files and signals (issue 24), each a short
        // program such as glibc and Python's runtime make. Descriptors: 3 and 4 are the first pair made.
        yield return ("clone-futex", Program(
            (56, [Flag(0x3d0f00), Slot(StackTop), Slot(TidWord), Slot(TidWord), Slot(Tls)]), // clone as pthread_create
            (202, [Slot(FutexZero), Flag(129), Small(1)]), // FUTEX_WAKE_PRIVATE
            (202, [Slot(FutexOne), Flag(137), Small(1), Slot(Timespec), Small(0), Raw32(uint.MaxValue)]), // WAIT_BITSET_PRIVATE with a timeout
            (202, [Slot(TidWord), Flag(128), Small(2), Small(0)]), // FUTEX_WAIT_PRIVATE on the child's tid (pthread_join)
            (60, [Small(0)]), // the running thread exits
            (202, [Slot(FutexZero), Flag(131), Small(1), Small(1), Slot(FutexOne)]))); // FUTEX_REQUEUE_PRIVATE
        yield return ("socketpair-msg", Program(
            (53, [Small(1), Flag(0x80801), Small(0), Slot(Pair)]), // socketpair(AF_UNIX, SOCK_STREAM|NONBLOCK|CLOEXEC)
            (46, [Fd(3), Slot(Msghdr), Flag(0x4000)]), // sendmsg, MSG_NOSIGNAL
            (47, [Fd(4), Slot(Msghdr), Flag(0x40)]), // recvmsg, MSG_DONTWAIT
            (44, [Fd(4), Slot(Data), Small(16), Small(0), Small(0), Small(0)]), // sendto
            (45, [Fd(3), Slot(Events), Small(64), Small(2), Small(0), Small(0)]), // recvfrom, MSG_PEEK
            (48, [Fd(3), Small(1)]), // shutdown(SHUT_WR)
            (45, [Fd(4), Slot(Events), Small(64), Flag(0x100), Small(0), Small(0)]))); // recvfrom, MSG_WAITALL, at EOF
        yield return ("pipe-epoll-eventfd", Program(
            (293, [Slot(Pair), Flag(0x80000)]), // pipe2(O_CLOEXEC)
            (290, [Small(0), Flag(0x800)]), // eventfd2(0, EFD_NONBLOCK): 5
            (291, [Flag(0x80000)]), // epoll_create1(EPOLL_CLOEXEC): 6
            (233, [Fd(6), Small(1), Fd(3), Slot(EpollEvent)]), // EPOLL_CTL_ADD the pipe's read end
            (233, [Fd(6), Small(1), Fd(5), Slot(EpollEvent)]), // and the eventfd
            (1, [Fd(5), Slot(Counter), Small(8)]), // write(eventfd, 1)
            (1, [Fd(4), Slot(Data), Small(16)]), // write(pipe)
            (232, [Fd(6), Slot(Events), Small(8), Small(0)]), // epoll_wait, no timeout
            (0, [Fd(5), Slot(Events), Small(8)]), // read(eventfd)
            (233, [Fd(6), Small(2), Fd(3), Small(0)]), // EPOLL_CTL_DEL
            (281, [Fd(6), Slot(Events), Small(8), Small(-1), Slot(Sigset), Small(8)]))); // epoll_pwait, forever: nothing else can end it
        yield return ("tmp-map-shared", Program(
            (2, [PathArg(1), Flag(0x42), Flag(0x1a4)]), // open("/tmp/x", O_RDWR|O_CREAT, 0644): 3
            (77, [Fd(3), Raw32(8192)]), // ftruncate
            (9, [Interesting(ProcessGuest.ProgramBase), Raw32(8192), Small(3), Flag(0x11), Fd(3), Small(0)]), // mmap(MAP_SHARED|MAP_FIXED)
            (0, [Fd(0), Interesting(ProcessGuest.ProgramBase), Small(6)]), // read stdin into the mapping
            (26, [Interesting(ProcessGuest.ProgramBase), Raw32(8192), Small(4)]), // msync(MS_SYNC)
            (17, [Fd(3), Slot(Events), Small(6), Small(0)]), // pread64 the file back
            (1, [Fd(1), Slot(Events), Small(6)]), // write it out
            (11, [Interesting(ProcessGuest.ProgramBase), Raw32(8192)]))); // munmap
        yield return ("signals", Program(
            (13, [Small(10), Slot(Sigaction), Small(0), Small(8)]), // rt_sigaction(SIGUSR1)
            (131, [Slot(AltStack), Small(0)]), // sigaltstack
            (14, [Small(0), Slot(Sigset), Small(0), Small(8)]), // rt_sigprocmask(SIG_BLOCK)
            (234, [Small(1), Small(1), Small(10)]), // tgkill(1, 1, SIGUSR1): pending
            (127, [Slot(Events), Small(8)]), // rt_sigpending
            (128, [Slot(Sigset), Slot(Events), Slot(Timespec), Small(8)]), // rt_sigtimedwait takes it
            (62, [Small(1), Small(10)]), // kill(1, SIGUSR1): pending again
            (14, [Small(1), Slot(Sigset), Small(0), Small(8)]), // SIG_UNBLOCK: delivered on the alternate stack
            (15, []))); // rt_sigreturn
    }

    // The seeds' arguments, as Argument reads them.
    private static byte[] Small(sbyte value) => [0, unchecked((byte)value)];

    private static byte[] Raw32(uint value) => [1, (byte)value, (byte)(value >> 8), (byte)(value >> 16), (byte)(value >> 24)];

    private byte[] Interesting(ulong value) => [3, Index(value)];

    private static byte[] Flag(ulong value) => [3 | 8, (byte)Array.IndexOf(_flags, value)];

    private static byte[] Slot(int offset) => [4, (byte)(offset / 64)];

    private static byte[] PathArg(int index) => [5, (byte)index];

    private static byte[] Fd(int fd) => [(byte)(7 | fd << 3)];

    /// <summary>Calls as the input encodes them: the number, then six arguments (those not given are 0).</summary>
    private static byte[] Program(params (int Number, byte[][] Args)[] calls) =>
        [.. calls.SelectMany(c => new[] { (byte)c.Number, (byte)(c.Number >> 8) }.Concat(c.Args.Concat(Enumerable.Repeat(Small(0), 6 - c.Args.Length)).SelectMany(a => a)))];

    private byte Index(ulong value) => (byte)Array.IndexOf(_interesting, value);

    public void Dispose()
    {
        _memory.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }
}
