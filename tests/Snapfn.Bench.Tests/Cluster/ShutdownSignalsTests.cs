using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Snapfn.Bench.Cluster;

namespace Snapfn.Bench.Tests.Cluster;

public sealed class ShutdownSignalsTests
{
    /// <summary>A real SIGTERM to this test process: it cancels the token instead of ending the process, so the
    /// experiment's finally blocks run and stop what it started.</summary>
    [Fact]
    public void SIGTERM_cancels_instead_of_ending_the_process()
    {
        using var signals = new ShutdownSignals();
        using (var kill = Process.Start("kill", ["-TERM", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]))
            kill.WaitForExit();
        // Delivery is asynchronous; the wait ends as soon as it arrives (the bound only keeps a broken build from hanging).
        Assert.True(signals.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)), "SIGTERM did not cancel the token");
        Assert.Equal(PosixSignal.SIGTERM, signals.Received);
    }
}
