using Snapfn.Interop;
using Snapfn.Linux.Abi;
using static Snapfn.Linux.Files.PollEvents;

namespace Snapfn.Linux.Files;

/// <summary>
/// One end of a socketpair(AF_UNIX): a connected, unnamed unix socket. What it sends is queued at its peer
/// (<see cref="SocketQueue"/>), up to its SO_SNDBUF; its own queue is what the peer sent. Like a pipe's ends, it
/// never waits: an empty queue or a full peer is EAGAIN, and the system call decides whether the program waits.
/// The answers follow Linux's af_unix for each type, checked natively by guest/linux-tests/sockets.c: a stream has
/// no boundaries and hangs up both ways on close; SOCK_SEQPACKET keeps boundaries and hangs up; SOCK_DGRAM keeps
/// boundaries and never hangs up (a closed peer makes the next send ECONNREFUSED, then ENOTCONN).
/// </summary>
public sealed class SocketEnd : OpenFile
{
    internal const int SOCK_STREAM = 1;
    internal const int SOCK_DGRAM = 2;
    internal const int SOCK_SEQPACKET = 5;

    /// <summary>sk_shutdown's bits.</summary>
    public const int ReceiveShutdown = 1;
    public const int SendShutdown = 2;
    private const int ShutdownMask = ReceiveShutdown | SendShutdown;

    /// <summary>net.core.wmem_default and wmem_max: SO_SNDBUF's default and its ceiling (setsockopt doubles what it
    /// is given, as Linux does, and clamps it to [<see cref="MinSendBuffer"/>, this]).</summary>
    public const int DefaultSendBuffer = 212992;

    /// <summary>SOCK_MIN_SNDBUF on x86-64.</summary>
    public const int MinSendBuffer = 4608;

    /// <summary>A message may be this much shorter than SO_SNDBUF at most (EMSGSIZE above), as af_unix's limit.</summary>
    private const int MessageHeadroom = 32;

    private static long _nextInode = 0x30000;

    private readonly SocketQueue _received;
    private readonly Connection _connection;
    private SocketEnd? _peer;
    private bool _refusedOnce;

    private SocketEnd(int type, PipeBuffers budget, Connection connection, int statusFlags)
        : this(type, budget, connection, statusFlags, (ulong)Interlocked.Increment(ref _nextInode)) { }

    private SocketEnd(int type, PipeBuffers budget, Connection connection, int statusFlags, ulong inode)
        : base($"socket:[{inode}]", Libc.O_RDWR | statusFlags)
    {
        Type = type;
        Inode = inode;
        _connection = connection;
        _received = new SocketQueue(budget, messages: type != SOCK_STREAM);
    }

    /// <summary>Two connected ends of <paramref name="type"/>, with <paramref name="statusFlags"/> (O_NONBLOCK) on both.</summary>
    public static (SocketEnd First, SocketEnd Second) CreatePair(int type, PipeBuffers budget, int statusFlags)
    {
        if (type is not (SOCK_STREAM or SOCK_DGRAM or SOCK_SEQPACKET))
            throw new ArgumentOutOfRangeException(nameof(type), type, "not a socket type socketpair makes here");
        var connection = new Connection();
        var first = new SocketEnd(type, budget, connection, statusFlags);
        var second = new SocketEnd(type, budget, connection, statusFlags);
        first._peer = second;
        second._peer = first;
        return (first, second);
    }

    /// <summary>
    /// An end as a snapshot had it (what <see cref="Snapshot"/> gave), connected to <paramref name="peer"/> when that
    /// end is already restored (the second end of a pair passes the first), alone otherwise (its peer was closed, or
    /// comes later). Null when the program's buffers cannot hold what was queued.
    /// </summary>
    internal static SocketEnd? Restore(PipeBuffers budget, int statusFlags, SocketEndState state, SocketEnd? peer)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Type is not (SOCK_STREAM or SOCK_DGRAM or SOCK_SEQPACKET) || peer is not null && (peer.Type != state.Type || peer._peer is not null))
            throw new ArgumentOutOfRangeException(nameof(state), "not a socket type socketpair makes here, or a peer of another type");
        var end = new SocketEnd(state.Type, budget, peer?._connection ?? new Connection(), statusFlags)
        {
            Shutdown = state.Shutdown & ShutdownMask,
            SendBuffer = Math.Clamp(state.SendBuffer, MinSendBuffer, DefaultSendBuffer),
            ReceiveBuffer = Math.Clamp(state.ReceiveBuffer, MinSendBuffer, DefaultSendBuffer),
            PendingError = state.PendingError,
            _refusedOnce = state.RefusedOnce,
        };
        foreach (var (name, value) in state.Options)
            end._options[name] = value;
        if (!end._received.Restore(state.Queue))
        {
            end._received.Clear();
            return null;
        }
        if (peer is not null)
        {
            end._peer = peer;
            peer._peer = end;
        }
        return end;
    }

    /// <summary>What this end holds, for a snapshot (its peer is the caller's to name).</summary>
    internal SocketEndState Snapshot() =>
        new(Type, Shutdown, SendBuffer, ReceiveBuffer, PendingError, _refusedOnce, [.. _options.OrderBy(o => o.Key).Select(o => (o.Key, o.Value))],
            _received.Snapshot());

    /// <summary>The connected end, or null once it was closed.</summary>
    internal SocketEnd? Peer => _peer;

    public int Type { get; }

    public ulong Inode { get; }

    /// <summary>True where the message boundaries are kept (SOCK_DGRAM, SOCK_SEQPACKET).</summary>
    public bool KeepsBoundaries => Type != SOCK_STREAM;

    /// <summary>sk_shutdown: <see cref="ReceiveShutdown"/> and <see cref="SendShutdown"/>.</summary>
    public int Shutdown { get; private set; }

    /// <summary>SO_SNDBUF: how much of what this end sent may wait unread at its peer.</summary>
    public int SendBuffer { get; private set; } = DefaultSendBuffer;

    /// <summary>SO_RCVBUF: reported and settable; af_unix does not limit a receive queue by it.</summary>
    public int ReceiveBuffer { get; private set; } = DefaultSendBuffer;

    /// <summary>SO_ERROR: ECONNRESET when the peer of a stream closed with data it had not read.</summary>
    public int PendingError { get; private set; }

    /// <summary>Plain int options of SOL_SOCKET a program may set and read back, with no effect here.</summary>
    private readonly Dictionary<int, int> _options = [];

    /// <summary>Bytes FIONREAD reports: a datagram's next message, a stream's or a seqpacket's whole queue.</summary>
    public long Available => Type == SOCK_DGRAM ? _received.NextLength : _received.Bytes;

    /// <summary>Takes SO_ERROR (reading it clears it, as on Linux).</summary>
    public int TakeError()
    {
        var error = PendingError;
        PendingError = 0;
        return error;
    }

    /// <summary>
    /// send: the bytes queued at the peer, or a negated errno. A stream takes what fits under SO_SNDBUF (EAGAIN when
    /// nothing does); a message goes whole or not at all (EMSGSIZE past SO_SNDBUF, EAGAIN while the peer holds a full
    /// SO_SNDBUF of this end's messages). EPIPE once this end shut its sending side or a stream or seqpacket peer went.
    /// </summary>
    public long Send(ReadOnlySpan<byte> data)
    {
        if (KeepsBoundaries && data.Length > SendBuffer - MessageHeadroom)
            return -Errno.EMSGSIZE;
        if ((Shutdown & SendShutdown) != 0)
            return -Errno.EPIPE;
        if (_peer is not { } peer)
        {
            // Only a datagram end outlives its peer without a shutdown: Linux answers ECONNREFUSED once, then ENOTCONN.
            if (_refusedOnce)
                return -Errno.ENOTCONN;
            _refusedOnce = true;
            return -Errno.ECONNREFUSED;
        }
        if ((peer.Shutdown & ReceiveShutdown) != 0)
            return -Errno.EPIPE;
        if (KeepsBoundaries ? peer._received.Charged >= SendBuffer : peer._received.Charged >= SendBuffer && data.Length > 0)
            return -Errno.EAGAIN;
        if (data.IsEmpty && !KeepsBoundaries)
            return 0;
        var n = peer._received.Append(data, SendBuffer - peer._received.Charged);
        if (n > 0 || KeepsBoundaries)
            _connection.Version++;
        return n;
    }

    /// <summary>
    /// recv: copies what is there into <paramref name="buffer"/> and returns its length — for a message its whole
    /// length, which may be more than was copied (<paramref name="truncated"/>, the rest dropped unless
    /// <paramref name="peek"/>). With nothing there: a pending error (once), 0 (end of file) once the sending side is
    /// shut, else EAGAIN; a datagram end shut for receiving answers 0 only to a call that would wait, as Linux's.
    /// </summary>
    public long Receive(Span<byte> buffer, bool peek, bool wouldWait, out bool truncated)
    {
        truncated = false;
        if (_received.Count == 0)
        {
            if (PendingError != 0)
                return -TakeError();
            if ((Shutdown & ReceiveShutdown) != 0 && (Type != SOCK_DGRAM || wouldWait))
                return 0;
            return -Errno.EAGAIN;
        }
        long n;
        if (KeepsBoundaries)
        {
            n = _received.ReadMessage(buffer, peek, out var copied);
            truncated = copied < n;
        }
        else
        {
            n = _received.ReadBytes(buffer, peek);
        }
        if (!peek)
            _connection.Version++;
        return n;
    }

    /// <summary>shutdown(2) with SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2); a stream or seqpacket peer sees the other
    /// side of it (a datagram's peer does not), as in af_unix.</summary>
    public int Shut(int how)
    {
        if (how is < 0 or > 2)
            return -Errno.EINVAL;
        var mode = how + 1; // SHUT_RD -> ReceiveShutdown, SHUT_WR -> SendShutdown, SHUT_RDWR -> both
        Shutdown |= mode;
        if (_peer is { } peer && Type != SOCK_DGRAM)
            peer.Shutdown |= ((mode & ReceiveShutdown) != 0 ? SendShutdown : 0) | ((mode & SendShutdown) != 0 ? ReceiveShutdown : 0);
        _connection.Version++;
        return 0;
    }

    /// <summary>SO_SNDBUF and SO_RCVBUF as setsockopt sets them: doubled, clamped.</summary>
    public void SetBuffer(bool send, int value)
    {
        var size = (int)Math.Clamp(2L * Math.Max(0, value), MinSendBuffer, DefaultSendBuffer);
        if (send)
            SendBuffer = size;
        else
            ReceiveBuffer = size;
        _connection.Version++;
    }

    /// <summary>A plain SOL_SOCKET option (SO_REUSEADDR, SO_KEEPALIVE, SO_PASSCRED, ...): its value, 0 by default.</summary>
    public int Option(int name) => _options.TryGetValue(name, out var value) ? value : 0;

    public void SetOption(int name, int value) => _options[name] = value;

    public override long Read(Span<byte> buffer) => Receive(buffer, peek: false, wouldWait: (StatusFlags & Libc.O_NONBLOCK) == 0, out _);

    public override long Write(ReadOnlySpan<byte> buffer) => Send(buffer);

    /// <summary>Only a stream's EPIPE raises SIGPIPE: af_unix's datagram and seqpacket sends do not.</summary>
    public override bool SignalsBrokenPipe => Type == SOCK_STREAM;

    /// <summary>As af_unix's unix_poll and unix_dgram_poll: writable while what this end sent and the peer has not read
    /// is at most a quarter of SO_SNDBUF (so a send may succeed where poll says wait, as on Linux).</summary>
    public override int Poll()
    {
        var mask = PendingError != 0 ? POLLERR : 0;
        if (Shutdown == ShutdownMask)
            mask |= POLLHUP;
        if ((Shutdown & ReceiveShutdown) != 0)
            mask |= POLLRDHUP | Readable;
        if (_received.Count > 0)
            mask |= Readable;
        var inFlight = _peer?._received.Charged ?? 0;
        if (inFlight * 4 <= SendBuffer)
            mask |= Writable | POLLWRBAND;
        return mask;
    }

    public override bool CanEpoll => true;

    public override long ReadinessVersion => _connection.Version;

    public override int Stat(out Kernel.stat st) => PseudoFileStat(Kernel.S_IFSOCK | 0x1ff, Inode, out st); // 0777, as sockfs

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (_peer is { } peer)
            {
                if (Type != SOCK_DGRAM)
                {
                    // A stream or seqpacket peer hangs up; one that sent what this end never read learns of it.
                    peer.Shutdown = ShutdownMask;
                    if (_received.Count > 0)
                        peer.PendingError = Errno.ECONNRESET;
                }
                peer._peer = null;
                _peer = null;
            }
            _received.Clear();
            _connection.Version++;
        }
        base.Dispose(disposing);
    }

    /// <summary>One end of a socket pair in a snapshot: its type, shutdown bits, buffer sizes, SO_ERROR, whether a datagram
    /// end already answered ECONNREFUSED, the plain options set, and what it has received and not read (each message, or a
    /// stream's bytes).</summary>
    public sealed record SocketEndState(int Type, int Shutdown, int SendBuffer, int ReceiveBuffer, int PendingError, bool RefusedOnce,
        IReadOnlyList<(int Name, int Value)> Options, IReadOnlyList<byte[]> Queue);

    /// <summary>What the two ends share: the count that changes with either end's readiness.</summary>
    private sealed class Connection
    {
        public long Version;
    }
}
