namespace Snapfn.Platform.Errors;

/// <summary>An exception of a layer above the platform (the CLI, the daemon, the bench) that states its own
/// classification; <see cref="ErrorClassifier"/> knows the exception types of the platform and the layers below.</summary>
public interface IClassifiedError
{
    ErrorCode Code { get; }

    ErrorRemedy? Remedy => null;
}
