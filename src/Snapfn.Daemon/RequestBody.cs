using Microsoft.AspNetCore.Http;

namespace Snapfn.Daemon;

/// <summary>Reads a request body whole, refusing more than an endpoint's limit before buffering it.</summary>
internal static class RequestBody
{
    public static async Task<byte[]> ReadAsync(HttpRequest request, long limit, string what, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > limit)
            throw TooLarge(request.ContentLength.Value, limit, what);
        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 4096);
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellation)) > 0)
        {
            if (buffer.Length + read > limit)
                throw TooLarge(buffer.Length + read, limit, what);
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static RequestTooLargeException TooLarge(long bytes, long limit, string what) =>
        new($"{what} is larger than the {limit >> 20} MiB this endpoint accepts (at least {bytes} bytes)");
}
