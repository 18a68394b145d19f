using System.Buffers.Binary;
using System.Text;

namespace Snapfn.Vmm;

/// <summary>One port I/O exit as KVM reports it (<c>kvm_run.io</c>): which way, to which port, how wide, how many.</summary>
internal readonly record struct PortIo(byte Direction, ushort Port, byte Size, uint Count);

/// <summary>
/// The C runtime's hypercalls: an `out` of a 4-byte call number to <see cref="GuestAbi.HypercallPort"/>, the
/// arguments in the mailbox page of guest memory. Everything here is the guest's choice — the port, width and
/// direction of its I/O instruction, the number it wrote, the mailbox it filled, the memory the mailbox points at
/// — and is checked before use: a broken call is a <see cref="GuestProtocolException"/>, an abort a
/// <see cref="GuestAbortedException"/>. Kept apart from <see cref="MicroVm"/>, which owns KVM's run page, so that
/// it is driven without a VM (the `hypercall` fuzz target).
/// </summary>
internal static class Hypercalls
{
    /// <summary>The longest LOG or ABORT message, in bytes.</summary>
    internal const ulong MaxMessageLength = 64 * 1024;

    /// <summary>Serves one port I/O exit: returns a stop for READY/RESULT, null for calls served in place.</summary>
    /// <param name="data">What the instruction wrote: KVM's data area for the exit (at most 8 bytes of it are looked at).</param>
    /// <param name="log">Receives a LOG call's message; null drops it.</param>
    internal static GuestStop? Serve(PortIo io, ReadOnlySpan<byte> data, GuestMemory memory, GuestLayout layout, Action<string>? log)
    {
        if (io.Direction != Interop.Kvm.KVM_EXIT_IO_OUT || io.Port != GuestAbi.HypercallPort || io.Size != 4 || io.Count != 1 || data.Length < 4)
            throw new GuestProtocolException($"port I/O to 0x{io.Port:x} (size {io.Size}, direction {io.Direction}) is not a hypercall");
        var number = BinaryPrimitives.ReadUInt32LittleEndian(data);
        ref var mailbox = ref memory.Ref<Mailbox>(GuestAbi.MailboxAddress);
        switch ((Hypercall)number)
        {
            case Hypercall.Log:
                var text = GuestText(memory, mailbox.Arg0, mailbox.Arg1, "log");
                log?.Invoke(text);
                return null;
            case Hypercall.Discard:
                Discard(memory, layout, mailbox.Arg0, mailbox.Arg1);
                return null;
            case Hypercall.Ready:
                return GuestStop.Ready;
            case Hypercall.Result:
                if (mailbox.Arg0 > GuestLayout.IoBufferSize)
                    throw new GuestProtocolException($"result of {mailbox.Arg0} bytes exceeds the {GuestLayout.IoBufferSize >> 20} MiB output buffer");
                return GuestStop.Result;
            case Hypercall.Abort:
                throw new GuestAbortedException(GuestText(memory, mailbox.Arg0, mailbox.Arg1, "abort"));
            default:
                throw new GuestProtocolException($"unknown hypercall {number}");
        }
    }

    private static string GuestText(GuestMemory memory, ulong address, ulong length, string call)
    {
        if (length > MaxMessageLength)
            throw new GuestProtocolException($"{call} message of {length} bytes is longer than {MaxMessageLength}");
        if (!memory.Contains(address, length) || address < GuestAbi.ElfBase && length > 0)
            throw new GuestProtocolException($"{call} message at 0x{address:x}+{length} is outside guest memory");
        return Encoding.UTF8.GetString(memory.Span(address, length));
    }

    private static void Discard(GuestMemory memory, GuestLayout layout, ulong address, ulong length)
    {
        if (address % GuestLayout.PageSize != 0 || length % GuestLayout.PageSize != 0)
            throw new GuestProtocolException($"discard of 0x{address:x}+0x{length:x} is not page-aligned");
        if (address < layout.HeapStart || !memory.Contains(address, length))
            throw new GuestProtocolException($"discard of 0x{address:x}+0x{length:x} is outside the heap");
        if (length > 0)
            memory.Discard(address, length);
    }
}
