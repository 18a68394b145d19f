namespace Snapfn.Linux.Roots;

/// <summary>A runtime root could not be built; the message says why and what to check. When
/// <see cref="Retryable"/>, the same request may succeed once that is fixed (the network, a package name), and the
/// edge (CLI, HTTP API) says how to repeat it in its own terms.</summary>
public sealed class RootBuildException : Exception
{
    public RootBuildException(string message) : base(message) { }

    public RootBuildException() { }

    public RootBuildException(string message, Exception innerException) : base(message, innerException) { }

    public bool Retryable { get; init; }
}
