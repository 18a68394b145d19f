using System.Buffers.Binary;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// The invocation channel, fd 3 of a function's program: requests come in as frames (u32 length, u32 flags, the
/// body), results go out as frames (u32 status, u32 length, the body). guest/python/README.md documents it for
/// programs. A read of an empty channel is where the program waits for the next request: the system-call layer
/// stops the VM there (READY) and finishes the read when the request comes.
/// </summary>
public sealed class ChannelFile : OpenFile
{
    public const int Descriptor = 3;
    public const uint FirstInVm = 1;
    public const int HeaderSize = 8;

    /// <summary>As the C runtime's buffers: a request or a result may be at most 32 MiB.</summary>
    public const int MaxBody = 32 << 20;

    private byte[] _input = [];
    private int _inputOffset;
    private readonly MemoryStream _output = new();

    public ChannelFile() : base("/dev/snapfn-channel", Interop.Libc.O_RDWR)
    {
    }

    public bool HasInput => _inputOffset < _input.Length;

    /// <summary>Queues one request frame for the program.</summary>
    public void Deliver(ReadOnlySpan<byte> body, bool firstInVm)
    {
        if (body.Length > MaxBody)
            throw new ArgumentException($"input is {body.Length} bytes; a function takes at most {MaxBody >> 20} MiB", nameof(body));
        var frame = new byte[HeaderSize + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), firstInVm ? FirstInVm : 0);
        body.CopyTo(frame.AsSpan(HeaderSize));
        _input = frame;
        _inputOffset = 0;
        _output.SetLength(0);
    }

    public override long Read(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _input.Length - _inputOffset);
        _input.AsSpan(_inputOffset, n).CopyTo(buffer);
        _inputOffset += n;
        return n;
    }

    /// <summary>Collects the program's result frame; <see cref="Result"/> is set once it is complete.</summary>
    public override long Write(ReadOnlySpan<byte> buffer)
    {
        if (Result is not null)
            return -Errno.EBADF; // one result per request
        _output.Write(buffer);
        if (_output.Length >= HeaderSize)
        {
            var bytes = _output.GetBuffer().AsSpan(0, (int)_output.Length);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
            if (length > MaxBody)
                throw new ChannelException($"the function's result is {length} bytes; results are at most {MaxBody >> 20} MiB");
            if (bytes.Length > HeaderSize + length)
                throw new ChannelException("the function wrote more than one result frame to its channel");
            if (bytes.Length == HeaderSize + length)
                Result = new ChannelResult(BinaryPrimitives.ReadUInt32LittleEndian(bytes), bytes[HeaderSize..].ToArray());
        }
        return buffer.Length;
    }

    /// <summary>The complete result frame of the current request, or null while it is still being written.</summary>
    public ChannelResult? Result { get; private set; }

    /// <summary>Forgets the result once the host has taken it.</summary>
    public void ClearResult()
    {
        Result = null;
        _output.SetLength(0);
    }

    public override int Stat(out Kernel.stat st)
    {
        st = default;
        st.st_mode = Kernel.S_IFIFO | 0x180;
        st.st_nlink = 1;
        st.st_blksize = 4096;
        st.st_ino = 0x13;
        return 0;
    }
}

/// <summary>A result frame: status 0 is the handler's output, 1 its error, 2 a failed init.</summary>
public sealed record ChannelResult(uint Status, byte[] Body)
{
    public const uint Ok = 0;
    public const uint HandlerFailed = 1;
    public const uint InitFailed = 2;
}

/// <summary>The program broke the channel's framing; the request fails and the VM is stopped.</summary>
public sealed class ChannelException : Vmm.GuestFailureException
{
    public ChannelException(string message) : base(message) { }
}
