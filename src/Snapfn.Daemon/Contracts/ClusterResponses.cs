using Snapfn.Cluster;

namespace Snapfn.Daemon.Contracts;

/// <summary>The answer to an asynchronous invocation (202): its id and where to read its result.</summary>
public sealed record AsyncInvocationResponse(string InvocationId, string Status, string Location);

/// <summary>A function as the cluster knows it (GET /functions on a node started with --nats).</summary>
/// <param name="Here">Whether this node holds the function itself.</param>
public sealed record ClusterSummary(long Version, bool Retryable, bool HasSnapshot, bool Here)
{
    public static ClusterSummary From(ClusterFunction function, bool here)
    {
        ArgumentNullException.ThrowIfNull(function);
        return new(function.Version, function.Retryable, function.HasSnapshot, here);
    }
}
