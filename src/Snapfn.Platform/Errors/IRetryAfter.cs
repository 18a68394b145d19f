namespace Snapfn.Platform.Errors;

/// <summary>An error for a capacity the host or a function is at for now: the same request may succeed when sent
/// again after <see cref="RetryAfter"/> (HTTP: the Retry-After header), null when it would not.</summary>
public interface IRetryAfter
{
    TimeSpan? RetryAfter { get; }
}
