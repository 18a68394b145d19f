namespace Snapfn.Linux.Files;

/// <summary>
/// What one end of a socket pair has received and not yet read: a byte stream (SOCK_STREAM) or whole messages
/// (SOCK_DGRAM, SOCK_SEQPACKET). The host memory it holds is taken from the program's <see cref="PipeBuffers"/>
/// as it is queued and given back as it is read, so that the pipes and socket pairs of a program hold at most
/// <see cref="ProcessOptions.PipeBufferLimit"/> between them. <see cref="Charged"/> is what the sending end's
/// SO_SNDBUF is measured against, as Linux measures a unix socket's sk_wmem_alloc: bytes for a stream, each
/// message's length plus <see cref="MessageOverhead"/> for messages (so that a flood of empty datagrams stops).
/// </summary>
internal sealed class SocketQueue
{
    /// <summary>What a queued message costs beyond its bytes, about what Linux's sk_buff costs (its truesize).</summary>
    public const int MessageOverhead = 768;

    /// <summary>Stream data is kept in chunks of this size, so that many small writes do not make many host objects.</summary>
    private const int ChunkSize = 16 * 1024;

    private readonly PipeBuffers _budget;
    private readonly LinkedList<Segment> _segments = new();

    public SocketQueue(PipeBuffers budget, bool messages)
    {
        _budget = budget;
        Messages = messages;
    }

    public bool Messages { get; }

    /// <summary>Bytes waiting to be read.</summary>
    public long Bytes { get; private set; }

    /// <summary>Messages waiting (for a stream, its chunks).</summary>
    public int Count => _segments.Count;

    /// <summary>What the sender's SO_SNDBUF is measured against.</summary>
    public long Charged { get; private set; }

    /// <summary>The length of the next message (0 when there is none); for a stream, every byte waiting.</summary>
    public long NextLength => Messages ? _segments.First?.Value.Length ?? 0 : Bytes;

    /// <summary>Queues the bytes of <paramref name="data"/> that <paramref name="room"/> allows (a message: all of it); 0 or
    /// ENOBUFS (negated) when the program's buffers are full.</summary>
    public long Append(ReadOnlySpan<byte> data, long room)
    {
        if (Messages)
        {
            if (!_budget.TryReserve(data.Length + MessageOverhead))
                return -Abi.Errno.ENOBUFS;
            _segments.AddLast(new Segment(data.ToArray()));
            Bytes += data.Length;
            Charged += data.Length + MessageOverhead;
            return data.Length;
        }
        var n = (int)Math.Min(data.Length, room);
        var done = 0;
        while (done < n)
        {
            if (_segments.Last?.Value is not { Free: > 0 } tail)
            {
                var size = Math.Max(ChunkSize, Math.Min(n - done, 64 * 1024));
                if (!_budget.TryReserve(size))
                    break;
                tail = new Segment(new byte[size], 0);
                _segments.AddLast(tail);
            }
            done += tail.Append(data[done..n]);
        }
        Bytes += done;
        Charged += done;
        return done == 0 && n > 0 ? -Abi.Errno.ENOBUFS : done;
    }

    /// <summary>Stream: copies up to <paramref name="buffer"/>'s length, consuming it unless <paramref name="peek"/>.</summary>
    public int ReadBytes(Span<byte> buffer, bool peek)
    {
        var done = 0;
        for (var node = _segments.First; node is not null && done < buffer.Length;)
        {
            var segment = node.Value;
            var run = Math.Min(buffer.Length - done, segment.Length);
            segment.Data.AsSpan(segment.Start, run).CopyTo(buffer[done..]);
            done += run;
            var next = node.Next;
            if (!peek)
            {
                segment.Start += run;
                if (segment.Length == 0)
                    Remove(node);
            }
            node = next;
        }
        if (!peek)
        {
            Bytes -= done;
            Charged -= done;
        }
        return done;
    }

    /// <summary>Messages: copies the next message's first bytes and returns its whole length; the rest of it is
    /// dropped unless <paramref name="peek"/>, as Linux drops what a short buffer cannot take.</summary>
    public int ReadMessage(Span<byte> buffer, bool peek, out int copied)
    {
        copied = 0;
        if (_segments.First is not { } node)
            return 0;
        var message = node.Value;
        copied = Math.Min(buffer.Length, message.Length);
        message.Data.AsSpan(0, copied).CopyTo(buffer);
        if (!peek)
        {
            Bytes -= message.Length;
            Charged -= message.Length + MessageOverhead;
            _budget.Release(MessageOverhead);
            Remove(node);
        }
        return message.Length;
    }

    /// <summary>What is queued, for a snapshot: each message, or a stream's bytes as one piece (none when empty).</summary>
    public List<byte[]> Snapshot()
    {
        if (!Messages)
        {
            var bytes = new byte[Bytes];
            ReadBytes(bytes, peek: true);
            return Bytes == 0 ? [] : [bytes];
        }
        return [.. _segments.Select(s => s.Data.AsSpan(s.Start, s.Length).ToArray())];
    }

    /// <summary>Queues what <see cref="Snapshot"/> gave, charged as it was sent; false when the program's buffers
    /// cannot hold it.</summary>
    public bool Restore(IReadOnlyList<byte[]> pieces)
    {
        foreach (var piece in pieces)
        {
            if (Append(piece, long.MaxValue) != piece.Length)
                return false;
        }
        return true;
    }

    /// <summary>Drops everything (the end was closed) and gives its memory back.</summary>
    public void Clear()
    {
        while (_segments.First is { } node)
        {
            if (Messages)
                _budget.Release(MessageOverhead);
            Remove(node);
        }
        Bytes = 0;
        Charged = 0;
    }

    private void Remove(LinkedListNode<Segment> node)
    {
        _budget.Release(node.Value.Data.Length);
        _segments.Remove(node);
    }

    private sealed class Segment
    {
        public Segment(byte[] data, int end = -1)
        {
            Data = data;
            End = end < 0 ? data.Length : end;
        }

        public byte[] Data { get; }

        public int Start { get; set; }

        public int End { get; private set; }

        public int Length => End - Start;

        public int Free => Data.Length - End;

        public int Append(ReadOnlySpan<byte> data)
        {
            var n = Math.Min(data.Length, Free);
            data[..n].CopyTo(Data.AsSpan(End));
            End += n;
            return n;
        }
    }
}
