using System.Text;
using Snapfn.Interop;

namespace Snapfn.Vmm.Tests;

/// <summary>The hypercall mailbox served without a VM (<see cref="Hypercalls.Serve"/>, what MicroVm calls at every
/// port I/O exit): what a well-formed call does and how a malformed one is refused.</summary>
public sealed class HypercallTests : IDisposable
{
    private static readonly PortIo _call = new(Kvm.KVM_EXIT_IO_OUT, GuestAbi.HypercallPort, 4, 1);
    private readonly GuestLayout _layout = GuestLayout.For(GuestLayout.MinMemorySize, GuestAbi.ElfBase + 0x1000);
    private readonly GuestMemory _memory = new(MemoryMapping.Anonymous(GuestLayout.MinMemorySize));

    private GuestStop? Serve(Hypercall call, ulong arg0, ulong arg1, PortIo? io = null, Action<string>? log = null)
    {
        ref var mailbox = ref _memory.Ref<Mailbox>(GuestAbi.MailboxAddress);
        mailbox.Arg0 = arg0;
        mailbox.Arg1 = arg1;
        return Hypercalls.Serve(io ?? _call, BitConverter.GetBytes((uint)call), _memory, _layout, log);
    }

    [Fact]
    public void Well_formed_calls_log_stop_and_discard()
    {
        var text = "hello from the guest"u8;
        text.CopyTo(_memory.Span(_layout.HeapStart, (ulong)text.Length));
        string? logged = null;
        Assert.Null(Serve(Hypercall.Log, _layout.HeapStart, (ulong)text.Length, log: line => logged = line));
        Assert.Equal("hello from the guest", logged);
        Assert.Equal(GuestStop.Ready, Serve(Hypercall.Ready, 0, 0));
        Assert.Equal(GuestStop.Result, Serve(Hypercall.Result, GuestLayout.IoBufferSize, 0));
        Assert.Equal("guest aborted: hello", Assert.Throws<GuestAbortedException>(() => Serve(Hypercall.Abort, _layout.HeapStart, 5)).Message);
        Assert.Null(Serve(Hypercall.Discard, _layout.HeapStart, GuestLayout.PageSize));
        Assert.Equal(0, _memory.Span(_layout.HeapStart, 1)[0]);
    }

    public static TheoryData<byte, ushort, byte, uint> Shapes => new()
    {
        { Kvm.KVM_EXIT_IO_IN, GuestAbi.HypercallPort, 4, 1 },
        { Kvm.KVM_EXIT_IO_OUT, GuestAbi.HypercallPort + 1, 4, 1 },
        { Kvm.KVM_EXIT_IO_OUT, GuestAbi.HypercallPort, 1, 1 },
        { Kvm.KVM_EXIT_IO_OUT, GuestAbi.HypercallPort, 4, 2 },
        { Kvm.KVM_EXIT_IO_OUT, GuestAbi.HypercallPort, 4, 0 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Port_io_of_another_shape_is_not_a_hypercall(byte direction, ushort port, byte size, uint count)
    {
        var e = Assert.Throws<GuestProtocolException>(() => Serve(Hypercall.Ready, 0, 0, new PortIo(direction, port, size, count)));
        Assert.Contains("is not a hypercall", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_shorter_than_a_call_number_is_not_a_hypercall() =>
        Assert.Throws<GuestProtocolException>(() => Hypercalls.Serve(_call, [2, 0], _memory, _layout, null));

    [Theory]
    [InlineData(Hypercall.Log, 0x1000UL, 16UL, "outside guest memory")] // the VMM's pages
    [InlineData(Hypercall.Log, GuestLayout.MinMemorySize - 8, 16UL, "outside guest memory")]
    [InlineData(Hypercall.Log, ulong.MaxValue - 7, 16UL, "outside guest memory")] // wraps
    [InlineData(Hypercall.Abort, GuestAbi.ElfBase, 64 * 1024 + 1UL, "is longer than")]
    [InlineData(Hypercall.Result, GuestLayout.IoBufferSize + 1, 0UL, "exceeds")]
    [InlineData(Hypercall.Discard, GuestAbi.ElfBase, 4096UL, "outside the heap")]
    [InlineData(Hypercall.Discard, GuestLayout.MinMemorySize - 4096, 8192UL, "outside the heap")]
    [InlineData(Hypercall.Discard, GuestLayout.MinMemorySize - 4096, ulong.MaxValue - 4095, "outside the heap")] // wraps
    [InlineData(Hypercall.Discard, GuestLayout.MinMemorySize - 4096, 100UL, "not page-aligned")]
    [InlineData((Hypercall)0, 0UL, 0UL, "unknown hypercall 0")]
    [InlineData((Hypercall)uint.MaxValue, 0UL, 0UL, "unknown hypercall 4294967295")]
    public void A_malformed_call_is_refused_as_the_guest_s_protocol_error(Hypercall call, ulong arg0, ulong arg1, string message)
    {
        // Data where a refused discard would have zeroed it: the ELF's first page and the last page of memory.
        ulong[] planted = [GuestAbi.ElfBase, GuestLayout.MinMemorySize - 4096];
        foreach (var address in planted)
            _memory.Span(address, 1)[0] = 0x5a;
        var e = Assert.Throws<GuestProtocolException>(() => Serve(call, arg0, arg1));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.All(planted, address => Assert.Equal(0x5a, _memory.Span(address, 1)[0]));
    }

    public void Dispose() => _memory.Dispose();
}
