using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// An invocation that failed in the cluster: either on the worker that ran it (its error code, message, remedy and
/// Retry-After carried back over NATS, so that the front door answers exactly as the worker's own HTTP API would), or
/// in the cluster itself (no worker, a worker lost mid-request, a body larger than NATS carries).
/// </summary>
public sealed class ClusterInvocationException : Exception, IClassifiedError, IRetryAfter
{
    public ClusterInvocationException(ClassifiedError error, TimeSpan? retryAfter = null, string? worker = null)
        : base((error ?? throw new ArgumentNullException(nameof(error))).Message)
    {
        Error = error;
        RetryAfter = retryAfter;
        Worker = worker;
    }

    public ClusterInvocationException() : this(new ClassifiedError(ErrorCode.Internal, "cluster invocation failed")) { }

    public ClusterInvocationException(string message) : this(new ClassifiedError(ErrorCode.Internal, message)) { }

    public ClusterInvocationException(string message, Exception innerException) : base(message, innerException) =>
        Error = new ClassifiedError(ErrorCode.Internal, message);

    public ClassifiedError Error { get; }

    public ErrorCode Code => Error.Code;

    public ErrorRemedy? Remedy => Error.Remedy;

    public TimeSpan? RetryAfter { get; }

    /// <summary>The worker that answered (or vanished); null when none was reached.</summary>
    public string? Worker { get; }
}
