using Snapfn.Platform.Errors;

namespace Snapfn.Bench.Load;

/// <summary>The daemon under test failed the load experiment before it could measure (it did not start, the deploy
/// was refused or took no snapshot): the host's fault, reported with the daemon's own words, not as a bug of the
/// bench.</summary>
public sealed class LoadRunException : Exception, IClassifiedError
{
    public LoadRunException(string message) : base(message) { }

    public LoadRunException() { }

    public LoadRunException(string message, Exception innerException) : base(message, innerException) { }

    public ErrorCode Code => ErrorCode.HostError;
}
