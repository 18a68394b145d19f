namespace Snapfn.Platform.Errors;

/// <summary>An error as every surface reports it: its code (and so its kind), the message saying what went wrong,
/// and the remedy the surface words.</summary>
public sealed record ClassifiedError(ErrorCode Code, string Message, ErrorRemedy? Remedy = null)
{
    public ErrorKind Kind => Code.Kind;
}
