using System.Text;

namespace Snapfn.Platform.Logs;

/// <summary>
/// One line a function wrote, as stored: its bytes exactly as the guest wrote them (no newline; not necessarily
/// UTF-8, possibly full of terminal escapes), under the id of the invocation (or snapshot) that wrote it, with the
/// stream (stdout, stderr, log for a C guest's LOG hypercall, snapfn for the platform's own note that lines were
/// dropped), the phase and the path that served it (the restore mode, "warm", or "snapshot").
/// </summary>
public sealed record FunctionLogLine
{
    /// <summary>The line's row: increases with every line stored, the cursor for paging and following.</summary>
    public long Id { get; init; }
    public required string Function { get; init; }
    public required string InvocationId { get; init; }
    public required DateTimeOffset WrittenAt { get; init; }
    public required FunctionLogPhase Phase { get; init; }
    public required string Stream { get; init; }
    public required string Path { get; init; }
    public required byte[] Bytes { get; init; }

    /// <summary>The line as text: invalid UTF-8 becomes U+FFFD. Control characters stay: a renderer escapes them.</summary>
    public string Text => Encoding.UTF8.GetString(Bytes);

    /// <summary>The stream names a line may have.</summary>
    public static readonly IReadOnlyList<string> Streams = ["stdout", "stderr", "log", "snapfn"];

    public static string PhaseName(FunctionLogPhase phase) => phase == FunctionLogPhase.Init ? "init" : "invoke";
}
