using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Snapfn.LoadBench;

/// <summary>
/// One keep-alive HTTP/1.1 connection that sends a prepared POST and reads the answer, blocking, with nothing
/// allocated per request beyond the reply's status check: the client should cost as little as wrk's, so that what
/// is measured is the daemon. Understands only what Kestrel sends back here (Content-Length bodies).
/// </summary>
public sealed class RawHttpConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _request;
    private readonly byte[] _buffer = new byte[64 * 1024];

    public RawHttpConnection(IPEndPoint server, string path, byte[] body, string token)
    {
        ArgumentNullException.ThrowIfNull(body);
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(server);
        var head = Encoding.ASCII.GetBytes(
            $"POST {path} HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\n\r\n");
        _request = [.. head, .. body];
    }

    /// <summary>Sends the request and reads the whole response; throws unless it is a 200.</summary>
    public void Send()
    {
        _socket.Send(_request);
        var filled = 0;
        int headerEnd;
        while ((headerEnd = _buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            filled += Receive(filled);
        var head = _buffer.AsSpan(0, headerEnd);
        if (!head.StartsWith("HTTP/1.1 200 "u8))
            throw new InvalidOperationException("the daemon answered: " + Encoding.ASCII.GetString(head));
        var length = ContentLength(head);
        var total = headerEnd + 4 + length;
        while (filled < total)
            filled += Receive(filled);
    }

    private int Receive(int offset)
    {
        if (offset == _buffer.Length)
            throw new InvalidOperationException("response larger than the client's buffer");
        var read = _socket.Receive(_buffer, offset, _buffer.Length - offset, SocketFlags.None);
        if (read == 0)
            throw new InvalidOperationException("the daemon closed the connection");
        return read;
    }

    private static int ContentLength(ReadOnlySpan<byte> head)
    {
        var key = "\r\ncontent-length:"u8;
        Span<byte> lower = stackalloc byte[head.Length];
        for (var i = 0; i < head.Length; i++)
            lower[i] = (byte)char.ToLowerInvariant((char)head[i]);
        var at = lower.IndexOf(key);
        if (at < 0)
            throw new InvalidOperationException("response without Content-Length");
        var rest = head[(at + key.Length)..];
        var end = rest.IndexOf("\r\n"u8);
        return int.Parse(Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() => _socket.Dispose();
}
