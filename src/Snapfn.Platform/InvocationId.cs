namespace Snapfn.Platform;

/// <summary>
/// An invocation's id: a UUID (version 7, so ids sort by the time they were made), as OpenTelemetry's
/// <c>faas.invocation_id</c> and the <c>Snapfn-Invocation-Id</c> header carry it, and under which the invocation's
/// output lines and its row in the invocation log are kept.
/// </summary>
public static class InvocationId
{
    public static string New() => Guid.CreateVersion7().ToString("D");

    /// <summary>True for an id as <see cref="New"/> makes them (any UUID in its 36-character form).</summary>
    public static bool IsValid(string? id) => id is { Length: 36 } && Guid.TryParseExact(id, "D", out _);
}
