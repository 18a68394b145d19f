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
/// mutations hit pointers near the ends of guest memory, the VMM's pages, paths and wrapping lengths.
/// Invariants: a handler returns a value or an errno, or raises a guest failure (<see cref="GuestFailureException"/>);
/// the VMM's pages are unchanged after every input; a host file outside the root keeps its random token and is
/// never written to the program's output.
/// </summary>
public sealed class SyscallTarget : FuzzTarget, IDisposable
{
    private const ulong MemorySize = 64UL << 20;
    private const int MaxCalls = 16;
    private const ulong ScratchLength = 0x10000;

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
        _scratch = Directory.CreateTempSubdirectory("snapfn-fuzz-syscalls-").FullName;
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
                var reader = new InputReader(input);
                Span<ulong> args = stackalloc ulong[6];
                for (var i = 0; i < MaxCalls && !reader.Done; i++)
                {
                    var number = (ulong)(reader.Byte() | (reader.Byte() & 1) << 8);
                    for (var a = 0; a < 6; a++)
                        args[a] = Argument(ref reader, (ulong)scratch);
                    try
                    {
                        var action = CallAction(process, number, args);
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
            secretChanged = !File.ReadAllBytes(_secret).AsSpan().SequenceEqual(_token);
        }
        finally
        {
            // Back to the state before the input, whatever escaped: the VMM's pages as written, everything else
            // zero, the planted file as planted (SharpFuzz runs the next input in this process).
            _lowMemory.CopyTo(memory.Span(0, GuestLayout.LargePageSize));
            memory.Discard(GuestLayout.LargePageSize, MemorySize - GuestLayout.LargePageSize);
            File.WriteAllBytes(_secret, _token);
        }
        if (changed)
            throw new InvariantViolatedException("the VMM's own pages (page tables, GDT, TSS, stub) changed: " + difference);
        if (secretChanged)
            throw new InvariantViolatedException("a host file outside the root was changed");
        if (_output.ToArray().AsSpan().IndexOf(_token) >= 0)
            throw new InvariantViolatedException("a host file outside the root was written to the program's output");
    }

    /// <summary>
    /// One argument from the input: a selector byte, then by its low 3 bits a signed byte, 4 or 8 raw bytes, an
    /// interesting value (the ends of memory, the VMM's pages, values that wrap), a pointer into the scratch
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
            3 => _interesting[reader.Byte() % _interesting.Length],
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

    private static long Call(LinuxProcess process, ulong number, params ReadOnlySpan<ulong> args)
    {
        var regs = Regs(number, args);
        process.OnSyscall(null!, ref regs);
        return unchecked((long)regs.rax);
    }

    private static SyscallAction CallAction(LinuxProcess process, ulong number, ReadOnlySpan<ulong> args)
    {
        var regs = Regs(number, args);
        return process.OnSyscall(null!, ref regs);
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
    }

    private byte Index(ulong value) => (byte)Array.IndexOf(_interesting, value);

    public void Dispose()
    {
        _memory.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }
}
