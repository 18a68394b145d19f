using Snapfn.Platform.Logs;

namespace Snapfn.Daemon.Contracts;

/// <summary>One line a function wrote, as the API sends it: its text when the bytes are UTF-8, else base64
/// (<c>encoding</c> says which). The text is the guest's: control characters and terminal escapes included, for the
/// reader to escape (`snapfn logs` does).</summary>
public sealed record FunctionLogLineResponse
{
    public required long Id { get; init; }
    public required string InvocationId { get; init; }
    public required DateTimeOffset Time { get; init; }
    public required string Phase { get; init; }
    public required string Stream { get; init; }
    public required string Path { get; init; }
    public required string Text { get; init; }
    public required string Encoding { get; init; }

    public static FunctionLogLineResponse From(FunctionLogLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var (text, encoding) = OutputText.Encode(line.Bytes);
        return new FunctionLogLineResponse
        {
            Id = line.Id, InvocationId = line.InvocationId, Time = line.WrittenAt, Phase = FunctionLogLine.PhaseName(line.Phase),
            Stream = line.Stream, Path = line.Path, Text = text, Encoding = encoding,
        };
    }

    /// <summary>The line's bytes, as the function wrote them.</summary>
    public byte[] Bytes() => OutputText.Decode(Text, Encoding);
}

/// <summary>GET /functions/{name}/logs: a page of lines, newest first; <c>next_before</c> asks for the page after it
/// (null when this one is the last).</summary>
public sealed record FunctionLogsResponse(IReadOnlyList<FunctionLogLineResponse> Lines, long? NextBefore);
