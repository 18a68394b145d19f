using System.Runtime.InteropServices;

namespace Snapfn.Bench.Cluster;

/// <summary>
/// Turns Ctrl-C (SIGINT), SIGTERM, SIGHUP and SIGQUIT into a cancellation, so that the experiment unwinds through its
/// finally blocks and stops every process it started instead of the runtime ending the process under them. While
/// this lives, the signals do not end the process; disposing it restores their default.
/// </summary>
public sealed class ShutdownSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly List<PosixSignalRegistration> _registrations;

    public ShutdownSignals()
    {
        _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, OnSignal))];
    }

    public CancellationToken Token => _cancel.Token;

    /// <summary>The signal that cancelled, if one did.</summary>
    public PosixSignal? Received { get; private set; }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Received ??= context.Signal;
        _cancel.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
        _cancel.Dispose();
    }
}
