using System.Buffers.Binary;
using Snapfn.Interop;
using Snapfn.Vmm;

namespace Snapfn.Fuzz.Targets;

/// <summary>
/// The C runtime's hypercall mailbox without KVM: <see cref="Hypercalls.Serve"/> (what <see cref="MicroVm"/> calls
/// at every port I/O exit) over plain anonymous guest memory laid out as a C guest's, whose low 2 MiB hold the
/// VMM's pages and the mailbox. An input is up to 8 calls: the port I/O (which way, port, width, count — the
/// hypercall's shape, or raw values), the 4-byte call number and the mailbox's two arguments, each an argument
/// selector and its payload (see <see cref="Argument"/>), so that mutations hit the ends of memory, the VMM's
/// pages, the ELF, the I/O buffers, the heap's edges and lengths that wrap; the input itself also lies in the heap
/// as a message to log. Allowed: a stop or nothing, or a guest failure (<see cref="GuestFailureException"/>).
/// Invariants: the VMM's pages (all of the low 2 MiB but the mailbox) are unchanged; guest memory outside the
/// heap ranges a DISCARD accepted is unchanged (sentinels every 64 KiB), and an accepted DISCARD lies in the heap; a logged message is at most
/// <see cref="Hypercalls.MaxMessageLength"/> bytes; a RESULT stop announces at most the output buffer.
/// </summary>
public sealed class HypercallTarget : FuzzTarget, IDisposable
{
    private const ulong MemorySize = 128UL << 20;
    private const int MaxCalls = 8;
    private const ulong SentinelStride = 64 * 1024;
    private const ulong SentinelOffset = 0x8000;
    private const byte Sentinel = 0xa5;
    private const int MaxText = 0x7000;

    private static readonly ushort[] _ports = [GuestAbi.HypercallPort, GuestAbi.HypercallPort + 1, GuestAbi.HypercallPort - 1, GuestAbi.HypercallPort + 4,
        SyscallTrap.Port, 0, 0x3f8, 0x80, 0xffff];

    private readonly GuestLayout _layout = GuestLayout.For(MemorySize, GuestAbi.ElfBase + 0x40000);
    private readonly byte[] _lowMemory = new byte[GuestLayout.LargePageSize];
    private readonly GuestMemory _memory;
    private readonly ulong _text;
    private readonly ulong[] _interesting;
    private readonly List<(ulong Start, ulong End)> _discarded = [];

    public HypercallTarget()
    {
        VmmPages.ForRuntime(_layout).CopyTo(_lowMemory);
        _memory = new GuestMemory(MemoryMapping.Anonymous(MemorySize));
        _lowMemory.CopyTo(_memory.Span(0, GuestLayout.LargePageSize));
        for (var at = GuestLayout.LargePageSize; at < MemorySize; at += SentinelStride)
            _memory.Span(at + SentinelOffset, 1)[0] = Sentinel;
        // A 64 KiB-aligned heap address: the input copied there stays below the next sentinel.
        _text = _layout.HeapStart + (1UL << 20);
        _interesting =
        [
            0, 1, 2, 0x7f, 0xff, 0xfff, 0x1000, 0x7fff_ffff, 0xffff_ffff, 0x1_0000_0000, ulong.MaxValue, ulong.MaxValue - 4095,
            ulong.MaxValue - 4096, 1UL << 63, (1UL << 63) - 4096, GuestAbi.MailboxAddress, GuestAbi.MailboxAddress + 0xff0, GuestAbi.ElfBase,
            GuestAbi.ElfBase - 1, GuestLayout.Pml4Address, GuestLayout.PageDirectoriesAddress, _layout.GuardStart, _layout.StackBottom,
            _layout.StackTop - 8, _layout.InputAddress, _layout.OutputAddress, _layout.HeapStart, _layout.HeapStart - 4096,
            _layout.HeapStart + 4096, MemorySize, MemorySize - 1, MemorySize - 4096, MemorySize + 4096, MemorySize - _layout.HeapStart,
            MemorySize - _layout.HeapStart + 4096, GuestLayout.IoBufferSize, GuestLayout.IoBufferSize + 1, Hypercalls.MaxMessageLength,
            Hypercalls.MaxMessageLength + 1, _text, 1UL << 47,
        ];
    }

    public override string Name => "hypercall";

    public override string Description => "Hypercalls.Serve over plain guest memory (no KVM): port I/O shapes, call numbers, mailbox arguments";

    public override void Run(ReadOnlySpan<byte> input)
    {
        _discarded.Clear();
        string? broken = null;
        var textLength = 0;
        try
        {
            input[..Math.Min(input.Length, MaxText)].CopyTo(_memory.Span(_text, MaxText));
            textLength = Math.Min(input.Length, MaxText);
            var reader = new InputReader(input);
            Span<byte> data = stackalloc byte[8];
            for (var i = 0; i < MaxCalls && !reader.Done; i++)
            {
                var (io, number) = Call(ref reader);
                BinaryPrimitives.WriteUInt32LittleEndian(data, number);
                BinaryPrimitives.WriteUInt32LittleEndian(data[4..], reader.UInt32());
                var length = (int)Math.Min((ulong)io.Size * io.Count, 8);
                ref var mailbox = ref _memory.Ref<Mailbox>(GuestAbi.MailboxAddress);
                var arg0 = mailbox.Arg0 = Argument(ref reader);
                var arg1 = mailbox.Arg1 = Argument(ref reader);
                string? logged = null;
                GuestStop? stop;
                try
                {
                    stop = Hypercalls.Serve(io, data[..length], _memory, _layout, text => logged = text);
                }
                catch (GuestFailureException)
                {
                    break;
                }
                if (logged is not null && (ulong)logged.Length > Hypercalls.MaxMessageLength)
                    broken = $"a log message of {logged.Length} characters came out of {Describe(io, number, arg0, arg1)}";
                else if (stop == GuestStop.Result && _memory.Ref<Mailbox>(GuestAbi.MailboxAddress).Arg0 > GuestLayout.IoBufferSize)
                    broken = $"a result larger than the output buffer was accepted: {Describe(io, number, arg0, arg1)}";
                else if ((Hypercall)number == Hypercall.Discard && stop is null)
                {
                    if (arg0 < _layout.HeapStart || arg1 > MemorySize - arg0)
                        broken = $"a discard outside the heap was accepted: {Describe(io, number, arg0, arg1)}";
                    _discarded.Add((arg0, arg0 + arg1));
                }
                if (broken is not null)
                    break;
            }
            broken ??= CheckMemory();
        }
        finally
        {
            // Back to the state before the input, whatever escaped (SharpFuzz runs the next input in this process):
            // the VMM's pages as written, the sentinels of discarded ranges written again, the message area zero.
            if (!_memory.Span(0, GuestLayout.LargePageSize).SequenceEqual(_lowMemory))
                _lowMemory.CopyTo(_memory.Span(0, GuestLayout.LargePageSize));
            foreach (var (start, end) in _discarded)
            {
                for (var at = start - start % SentinelStride; at < end; at += SentinelStride)
                    _memory.Span(at + SentinelOffset, 1)[0] = Sentinel;
            }
            _memory.Span(_text, (ulong)textLength).Clear();
        }
        if (broken is not null)
            throw new InvariantViolatedException(broken);
    }

    /// <summary>The VMM's pages (the low 2 MiB but the mailbox, which the guest writes) as written, and every
    /// sentinel as planted unless a DISCARD the harness saw accepted covered it.</summary>
    private string? CheckMemory()
    {
        var low = _memory.Span(0, GuestLayout.LargePageSize);
        var mailbox = (int)GuestAbi.MailboxAddress;
        var page = (int)GuestLayout.PageSize;
        if (!low[..mailbox].SequenceEqual(_lowMemory.AsSpan(0, mailbox)) || !low[(mailbox + page)..].SequenceEqual(_lowMemory.AsSpan(mailbox + page)))
            return $"the VMM's own pages changed (first difference at 0x{low.CommonPrefixLength(_lowMemory):x})";
        for (var at = GuestLayout.LargePageSize; at < MemorySize; at += SentinelStride)
        {
            var address = at + SentinelOffset;
            var discarded = _discarded.Any(r => address >= r.Start && address < r.End);
            var value = _memory.Span(address, 1)[0];
            if (value != (discarded ? 0 : Sentinel))
                return discarded
                    ? $"a discarded page at 0x{address:x} still holds its data"
                    : $"guest memory at 0x{address:x} changed outside any accepted discard ({(_layout.HeapStart <= address ? "heap" : "below the heap")})";
        }
        return null;
    }

    /// <summary>One call's shape and number. A shape byte below 0xc0 is the hypercall's own (out, its port, 4
    /// bytes, once); else raw fields follow: direction, a port from a list or raw, width, count. A number byte
    /// below 0xf0 picks 0-6 (the calls and their neighbours), else 4 raw bytes follow.</summary>
    private static (PortIo Io, uint Number) Call(ref InputReader reader)
    {
        var shape = reader.Byte();
        var io = new PortIo((byte)Kvm.KVM_EXIT_IO_OUT, GuestAbi.HypercallPort, 4, 1);
        if (shape >= 0xc0)
        {
            var direction = (byte)(reader.Byte() & 1);
            var port = (shape & 1) == 0 ? _ports[reader.Byte() % _ports.Length] : (ushort)(reader.Byte() | reader.Byte() << 8);
            io = new PortIo(direction, port, reader.Byte(), (shape & 2) == 0 ? 1 : reader.UInt32());
        }
        var n = reader.Byte();
        return (io, n < 0xf0 ? (uint)(n % 7) : reader.UInt32());
    }

    /// <summary>
    /// One mailbox argument: a selector byte, then by its low 3 bits a small value, 4 or 8 raw bytes, an
    /// interesting value (the ends of memory, the VMM's pages, the layout's edges, values that wrap), a pointer
    /// into the logged message, a page-aligned heap address, a page count, or an address near the end of memory.
    /// </summary>
    private ulong Argument(ref InputReader reader)
    {
        if (reader.Done)
            return 0;
        var selector = reader.Byte();
        return (selector & 7) switch
        {
            0 => (ulong)(selector >> 3),
            1 => reader.UInt32(),
            2 => reader.UInt64(),
            3 => _interesting[reader.Byte() % _interesting.Length],
            4 => _text + (ulong)reader.Byte() * 16,
            5 => _layout.HeapStart + (ulong)(reader.Byte() | reader.Byte() << 8) * GuestLayout.PageSize,
            6 => (ulong)(reader.Byte() | reader.Byte() << 8) * GuestLayout.PageSize,
            _ => MemorySize - (ulong)reader.Byte() * GuestLayout.PageSize,
        };
    }

    private static string Describe(PortIo io, uint number, ulong arg0, ulong arg1) =>
        $"out {io.Direction} port 0x{io.Port:x} size {io.Size} count {io.Count}, call {number}, arg0 0x{arg0:x}, arg1 0x{arg1:x}";

    public override IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        // Per call: shape (below 0xc0: the hypercall's own), number byte, 4 more data bytes, then the two arguments
        // as selector + payload (see Argument).
        yield return ("log-hello", [0, 1, 0, 0, 0, 0, 4, 0, 0 | 5 << 3, /* text: the input itself */ (byte)'h', (byte)'i']);
        yield return ("ready-result", [0, 2, 0, 0, 0, 0, 0, 0, /* then */ 0, 3, 0, 0, 0, 0, 1, 0x40, 0, 0, 0, 0, 0]);
        yield return ("discard-heap", [0, 5, 0, 0, 0, 0, 5, 2, 0, 6, 16, 0]);
        yield return ("discard-below-heap", [0, 5, 0, 0, 0, 0, 3, Index(_layout.HeapStart - 4096), 6, 2, 0]);
        yield return ("abort-at-end", [0, 4, 0, 0, 0, 0, 7, 1, 0 | 8 << 3]);
        yield return ("log-too-long", [0, 1, 0, 0, 0, 0, 4, 0, 3, Index(Hypercalls.MaxMessageLength + 1)]);
        yield return ("result-too-large", [0, 3, 0, 0, 0, 0, 3, Index(GuestLayout.IoBufferSize + 1), 0]);
        yield return ("out-byte-to-another-port", [0xc0, 1, 5, 1, 2, 0, 0, 0, 0, 0, 0]);
        yield return ("rep-out", [0xc3, 1, 0xf0, 0x05, 4, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
        yield return ("in-from-the-port", [0xc0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0]);
        yield return ("unknown-call", [0, 0xf0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0]);
    }

    private byte Index(ulong value) => (byte)Array.IndexOf(_interesting, value);

    public void Dispose() => _memory.Dispose();
}
