using System.Globalization;
using NATS.Client.Core;
using Snapfn.Platform;

namespace Snapfn.Cluster.Serving;

/// <summary>An <see cref="InvokeRequest"/> as NATS headers and back; what a worker reads is checked as any client's.</summary>
public static class InvocationRequestWire
{
    /// <summary>The timeout of a request without <see cref="WireHeaders.TimeoutMs"/>: an HTTP request's default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The most worker ids <see cref="WireHeaders.RefusedBy"/> carries (and a worker reads).</summary>
    public const int MaxRefusedBy = 16;

    public static NatsHeaders ToHeaders(InvokeRequest request, int attempt, IReadOnlyCollection<string>? refusedBy = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var headers = new NatsHeaders
        {
            [WireHeaders.TimeoutMs] = ((long)Math.Ceiling(request.Timeout.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture),
            [WireHeaders.Attempt] = attempt.ToString(CultureInfo.InvariantCulture),
        };
        if (request.InvocationId is { } id)
            headers[WireHeaders.InvocationId] = id;
        if (request.Mode is { } mode)
            headers[WireHeaders.RequestMode] = mode;
        if (request.Cold)
            headers[WireHeaders.Cold] = "1";
        if (refusedBy is { Count: > 0 })
            headers[WireHeaders.RefusedBy] = string.Join(',', refusedBy.Take(MaxRefusedBy));
        return headers;
    }

    /// <summary>Whether <paramref name="worker"/> is among the workers the request's <see cref="WireHeaders.RefusedBy"/>
    /// names (at most <see cref="MaxRefusedBy"/> are read; anything that is not a worker id is ignored).</summary>
    public static bool RefusedBy(NatsHeaders? headers, string worker)
    {
        if (headers is null || !headers.TryGetValue(WireHeaders.RefusedBy, out var value))
            return false;
        var text = value.ToString();
        // Bounded before it is split: a hostile header cannot make a worker hold more than this.
        if (text.Length > MaxRefusedBy * 65)
            text = text[..(MaxRefusedBy * 65)];
        return text.Split(',', MaxRefusedBy + 1, StringSplitOptions.TrimEntries).Take(MaxRefusedBy)
            .Any(id => string.Equals(id, worker, StringComparison.Ordinal));
    }

    /// <summary>The request for <paramref name="function"/> these headers and body describe.</summary>
    /// <exception cref="InvalidRequestException">A header is malformed or out of bounds.</exception>
    public static InvokeRequest Parse(string function, NatsHeaders? headers, byte[] body, TimeSpan maxTimeout)
    {
        ArgumentNullException.ThrowIfNull(function);
        string? Value(string key) => headers is not null && headers.TryGetValue(key, out var v) ? v.ToString() : null;
        // Without the header (a front door always sends it), the daemon's default, never more than this node allows.
        var timeout = maxTimeout < DefaultTimeout ? maxTimeout : DefaultTimeout;
        if (Value(WireHeaders.TimeoutMs) is { } text)
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || ms < 1 || ms > maxTimeout.TotalMilliseconds)
                throw new InvalidRequestException($"{WireHeaders.TimeoutMs} must be a whole number of milliseconds from 1 to {maxTimeout.TotalMilliseconds:0} (got '{Bounded(text)}')");
            timeout = TimeSpan.FromMilliseconds(ms);
        }
        var id = Value(WireHeaders.InvocationId);
        if (id is not null && !InvocationId.IsValid(id))
            throw new InvalidRequestException($"{WireHeaders.InvocationId} '{Bounded(id)}' is not an invocation id (a UUID)");
        var mode = Value(WireHeaders.RequestMode);
        if (mode is not null && !FunctionService.Modes.Contains(mode))
            throw new InvalidRequestException($"unknown mode '{Bounded(mode)}'; modes: {string.Join(", ", FunctionService.Modes)}");
        return new InvokeRequest(function, body)
        {
            Mode = mode,
            Cold = Value(WireHeaders.Cold) == "1",
            Timeout = timeout,
            InvocationId = id ?? InvocationId.New(),
        };
    }

    /// <summary>The function a subject names after <paramref name="prefix"/>, or null when it names none validly.</summary>
    public static string? FunctionOf(string subject, string prefix)
    {
        ArgumentNullException.ThrowIfNull(subject);
        if (!subject.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        var name = subject[prefix.Length..];
        return FunctionName.IsValid(name) ? name : null;
    }

    private static string Bounded(string text) => text.Length > 64 ? text[..64] + "…" : text;
}
