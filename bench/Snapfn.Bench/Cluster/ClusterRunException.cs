using Snapfn.Platform.Errors;

namespace Snapfn.Bench.Cluster;

/// <summary>The cluster under test failed the experiment before it could measure (a worker that does not start, a
/// deploy refused): the host's fault, reported with the worker's own words, not as a bug of the bench.</summary>
public sealed class ClusterRunException : Exception, IClassifiedError
{
    public ClusterRunException(string message) : base(message) { }

    public ClusterRunException() { }

    public ClusterRunException(string message, Exception innerException) : base(message, innerException) { }

    public ErrorCode Code => ErrorCode.HostError;
}
