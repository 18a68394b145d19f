namespace Snapfn.Linux.Roots;

/// <summary>A runtime root could not be built; the message says why and what to do.</summary>
public sealed class RootBuildException : Exception
{
    public RootBuildException(string message) : base(message) { }

    public RootBuildException() { }

    public RootBuildException(string message, Exception innerException) : base(message, innerException) { }
}
