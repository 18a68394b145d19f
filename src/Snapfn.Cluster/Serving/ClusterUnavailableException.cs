using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Serving;

/// <summary>The node cannot join the cluster: NATS unreachable, or JetStream refusing the stream and buckets.</summary>
public sealed class ClusterUnavailableException : Exception, IClassifiedError
{
    public ClusterUnavailableException() { }

    public ClusterUnavailableException(string message) : base(message) { }

    public ClusterUnavailableException(string message, Exception innerException) : base(message, innerException) { }

    public ErrorCode Code => ErrorCode.HostError;
}
