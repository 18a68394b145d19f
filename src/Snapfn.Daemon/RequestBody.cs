using Microsoft.AspNetCore.Http;

namespace Snapfn.Daemon;

/// <summary>
/// Reads a request body whole, up to an endpoint's limit. The buffer grows with the bytes that arrive, never from the
/// Content-Length a client announces: a header costs nothing to send, so believing it would let any client make the
/// daemon allocate the limit (or, unchecked, its own figure) per request for a body that never comes.
/// </summary>
internal static class RequestBody
{
    private const int FirstBuffer = 16 * 1024;

    /// <param name="what">The body in words, for the error ("the input").</param>
    /// <param name="remedy">What to do about a body over the limit.</param>
    public static Task<byte[]> ReadAsync(HttpRequest request, long limit, string what, string remedy, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ReadAsync(request.Body, request.ContentLength, limit, what, remedy, cancellation);
    }

    /// <param name="grown">Told each buffer size allocated, for tests.</param>
    public static async Task<byte[]> ReadAsync(Stream body, long? announced, long limit, string what, string remedy,
        CancellationToken cancellation, Action<int>? grown = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        // An announcement over the limit is refused at once: nothing needs reading to know the answer.
        if (announced > limit)
            throw TooLarge(announced.Value, limit, what, remedy);
        var buffer = new byte[(int)Math.Min(FirstBuffer, limit + 1)];
        grown?.Invoke(buffer.Length);
        var filled = 0;
        int read;
        // The buffer is one byte over the limit so that a body of exactly the limit is told from a longer one.
        while ((read = await body.ReadAsync(buffer.AsMemory(filled), cancellation)) > 0)
        {
            filled += read;
            if (filled > limit)
                throw TooLarge(filled, limit, what, remedy);
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, limit + 1));
                grown?.Invoke(buffer.Length);
            }
        }
        return buffer.AsSpan(0, filled).ToArray();
    }

    private static RequestTooLargeException TooLarge(long bytes, long limit, string what, string remedy) =>
        new($"{what} is larger than the {Size(limit)} this endpoint accepts (at least {bytes} bytes): {remedy}");

    private static string Size(long bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes} bytes";
}
