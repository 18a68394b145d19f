using System.Diagnostics;
using Snapfn.Platform.Logs;
using Snapfn.Platform.Telemetry;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>
/// What one invocation leaves to be seen (issue 21, logs and traces): its id, its span (the daemon's, or one of its
/// own for a local invoke) and the capture of its guest's output. <see cref="FunctionServer.Run"/> begins one,
/// gives <see cref="Output"/> to the VM, and ends it with the result or the error: the output lines are then stored
/// under the id and the path that served the invocation, and the span gets its attributes.
/// </summary>
internal sealed class InvocationObserver : IDisposable
{
    private readonly Activity? _ownSpan;
    private readonly Activity? _span;
    private readonly FunctionLogCapture _capture;

    private InvocationObserver(FunctionLogStore logs, string function, string id)
    {
        Id = id;
        _capture = logs.Capture(function, id);
        if (InvocationTelemetry.Current is { } daemon)
            _span = daemon;
        else
            _span = _ownSpan = InvocationTelemetry.StartInvocation(function, InvocationTelemetry.OtherTrigger);
    }

    /// <param name="id">The id the caller chose (the daemon sends it back as a header before the invocation ends);
    /// a new one when null.</param>
    public static InvocationObserver Begin(FunctionLogStore logs, string function, string? id) =>
        new(logs, function, id ?? InvocationId.New());

    public string Id { get; }

    /// <summary>Where the VM sends what the guest writes.</summary>
    public IGuestOutput Output => _capture;

    public InvocationResult Succeeded(InvocationResult result, ulong memoryBytes)
    {
        ArgumentNullException.ThrowIfNull(result);
        var path = result.Path ?? result.Mode;
        _capture.Complete(path);
        InvocationTelemetry.Describe(_span, Id, (long)memoryBytes, result, path, null);
        return result with { InvocationId = Id };
    }

    public void Failed(Exception error, string path, ulong memoryBytes)
    {
        _capture.Complete(path);
        InvocationTelemetry.Describe(_span, Id, (long)memoryBytes, null, path, error);
    }

    public void Dispose() => _ownSpan?.Dispose();
}
