namespace Snapfn.Platform;

/// <summary>
/// The tests' shorthand for one invocation in a given mode: since the serve side was split out, a request goes
/// through <see cref="FunctionServer.Invoke"/> (admission, then the run), named here the way the function-log and
/// trace tests name it. Linked into the daemon's tests too.
/// </summary>
internal static class ServerInvoke
{
    public static InvocationResult Invoke(this FunctionService service, string name, string mode, byte[] input, bool cold, TimeSpan timeout,
        CancellationToken cancel) =>
        Invoke(service, name, mode, input, cold, timeout, invocationId: null, cancel);

    /// <summary>Under <paramref name="invocationId"/>, as the daemon gives the id it already sent back.</summary>
    public static InvocationResult Invoke(this FunctionService service, string name, string mode, byte[] input, bool cold, TimeSpan timeout,
        string? invocationId, CancellationToken cancel) =>
        service.Server.Invoke(new InvokeRequest(name, input) { Mode = mode, Cold = cold, Timeout = timeout, InvocationId = invocationId }, cancel);
}
