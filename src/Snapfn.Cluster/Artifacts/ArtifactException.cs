using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Artifacts;

/// <summary>
/// An artifact in the cluster's stores cannot be used: its manifest is malformed, a chunk is missing or its content is
/// not what its name says, the assembled file's digest is wrong. Nothing of it is kept on this node; publishing the
/// function again from a node that holds it (a deploy there) puts good copies back.
/// </summary>
public sealed class ArtifactException : IOException, IClassifiedError
{
    public ArtifactException(string message) : base(message) { }

    public ArtifactException(string message, Exception innerException) : base(message, innerException) { }

    public ArtifactException() { }

    public ErrorCode Code => ErrorCode.SnapshotUnusable;
}
