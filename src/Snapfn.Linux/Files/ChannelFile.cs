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

    /// <summary>The default of <see cref="MaxFrame"/>: 32 MiB, as the C runtime's input and output buffers.</summary>
    public const int DefaultMaxFrame = 32 << 20;

    private byte[] _input = [];
    private int _inputOffset;

    // The result frame being written: its header, then a body buffer of exactly the length the header announced,
    // allocated only once that length is known to be within MaxFrame. A program's write of 1 GiB to fd 3 is refused
    // at its header, before the host copies or holds any of it.
    private readonly byte[] _header = new byte[HeaderSize];
    private int _headerFill;
    private byte[]? _body;
    private int _bodyFill;

    public ChannelFile(int maxFrame = DefaultMaxFrame) : base("/dev/snapfn-channel", Interop.Libc.O_RDWR)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxFrame);
        MaxFrame = maxFrame;
    }

    /// <summary>The largest body of a request or a result frame, in bytes (<see cref="ProcessOptions.MaxChannelFrame"/>).</summary>
    public int MaxFrame { get; }

    public bool HasInput => _inputOffset < _input.Length;

    /// <summary>Queues one request frame for the program.</summary>
    public void Deliver(ReadOnlySpan<byte> body, bool firstInVm)
    {
        if (body.Length > MaxFrame)
            throw new ArgumentException($"input is {body.Length} bytes; this function's channel takes at most {MaxFrame} bytes " +
                "(ProcessOptions.MaxChannelFrame)", nameof(body));
        var frame = new byte[HeaderSize + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), firstInVm ? FirstInVm : 0);
        body.CopyTo(frame.AsSpan(HeaderSize));
        _input = frame;
        _inputOffset = 0;
        ClearResult();
    }

    public override long Read(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _input.Length - _inputOffset);
        _input.AsSpan(_inputOffset, n).CopyTo(buffer);
        _inputOffset += n;
        return n;
    }

    /// <summary>Collects the program's result frame; <see cref="Result"/> is set once it is complete. The announced
    /// length is checked against <see cref="MaxFrame"/> as soon as the header is in, and bytes past the frame are
    /// refused before they are copied: the host never holds more than one frame of at most MaxFrame bytes.</summary>
    public override long Write(ReadOnlySpan<byte> buffer)
    {
        if (Result is not null)
            return -Errno.EBADF; // one result per request
        var rest = buffer;
        if (_headerFill < HeaderSize)
        {
            var n = Math.Min(rest.Length, HeaderSize - _headerFill);
            rest[..n].CopyTo(_header.AsSpan(_headerFill));
            _headerFill += n;
            rest = rest[n..];
            if (_headerFill < HeaderSize)
                return buffer.Length;
            var announced = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4));
            if (announced > (uint)MaxFrame)
                throw new ChannelFrameTooLargeException(announced, MaxFrame);
            _body = announced == 0 ? [] : new byte[announced];
            _bodyFill = 0;
        }
        var body = _body!;
        if (rest.Length > body.Length - _bodyFill)
            throw new ChannelException("the function wrote more than one result frame to its channel");
        rest.CopyTo(body.AsSpan(_bodyFill));
        _bodyFill += rest.Length;
        if (_bodyFill == body.Length)
            Result = new ChannelResult(BinaryPrimitives.ReadUInt32LittleEndian(_header), body);
        return buffer.Length;
    }

    /// <summary>The complete result frame of the current request, or null while it is still being written.</summary>
    public ChannelResult? Result { get; private set; }

    /// <summary>Forgets the result once the host has taken it.</summary>
    public void ClearResult()
    {
        Result = null;
        _headerFill = 0;
        _body = null;
        _bodyFill = 0;
    }

    /// <summary>Looks like a pipe to the program, so it can join an epoll set; always ready (a read waits in the read).</summary>
    public override bool CanEpoll => true;

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

/// <summary>The program announced a result frame larger than its channel's limit; the request fails as the
/// function's failure and the VM is stopped, before the host buffered any of the frame's body.</summary>
public sealed class ChannelFrameTooLargeException : Vmm.GuestFailureException
{
    public ChannelFrameTooLargeException(ulong announced, int limit)
        : base($"the function's result frame announces {announced} bytes, more than the channel's limit of {limit} bytes " +
               $"({limit / (1 << 20)} MiB); return a smaller result, or raise the limit with ProcessOptions.MaxChannelFrame " +
               "where the function's process is configured")
    {
        Announced = announced;
        Limit = limit;
    }

    public ulong Announced { get; }

    public int Limit { get; }
}
