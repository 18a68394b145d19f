namespace Snapfn.Platform;

/// <summary>A request the platform refuses as given (a malformed ELF, an unknown mode, a bad memory size);
/// the message says what was wrong. The daemon answers 400. An inner <c>ElfFormatException</c> (rebuild the
/// function) or retryable <c>RootBuildException</c> (try again) tells the edge which remedy to word.</summary>
public sealed class InvalidRequestException : Exception
{
    public InvalidRequestException(string message) : base(message) { }

    public InvalidRequestException() { }

    public InvalidRequestException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>A request that clashes with what is registered (a user function named like a built-in, deleting a
/// built-in). The daemon answers 409.</summary>
public sealed class FunctionConflictException : Exception
{
    public FunctionConflictException(string message) : base(message) { }

    public FunctionConflictException() { }

    public FunctionConflictException(string message, Exception innerException) : base(message, innerException) { }
}
