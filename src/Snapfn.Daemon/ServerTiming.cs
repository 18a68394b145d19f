using System.Globalization;
using Snapfn.Platform;

namespace Snapfn.Daemon;

/// <summary>
/// The W3C Server-Timing header of an invocation (<c>name;dur=MS</c>, comma-separated): how long it queued for an
/// instance, restored, and executed, so that a browser's or a client's tools show where a slow request spent its
/// time. The path that served it is a metric with a description only.
/// </summary>
public static class ServerTiming
{
    public static string Of(InvocationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var timing = string.Create(CultureInfo.InvariantCulture,
            $"queue;dur={result.QueueMs:0.###}, restore;dur={result.RestoreMs:0.###}, execute;dur={result.ExecuteMs:0.###}");
        // A path name is lower-case letters, digits and dashes: a valid quoted-string as it is.
        return result.Path is { } path ? $"{timing}, path;desc=\"{path}\"" : timing;
    }
}
