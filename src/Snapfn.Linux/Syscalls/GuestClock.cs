namespace Snapfn.Linux.Syscalls;

/// <summary>
/// The time a program waits by: its CLOCK_MONOTONIC and CLOCK_REALTIME, and a sleep on the vCPU thread. One seam,
/// so that everything that waits (sleeps, timeouts of poll, select and epoll, timers and their signals) is driven
/// by one clock, which a test replaces with a manual one instead of sleeping.
/// </summary>
internal interface IGuestClock
{
    long Monotonic { get; }

    long Realtime { get; }

    /// <summary>Waits <paramref name="ns"/>: 0 when the time has passed, -EINTR if the guest is being stopped.</summary>
    long Sleep(long ns);
}

/// <summary>The host's clocks as the program sees them (through its vDSO page when it has one), and real sleeps.</summary>
internal sealed class HostGuestClock : IGuestClock
{
    private readonly LinuxProcess _process;

    public HostGuestClock(LinuxProcess process)
    {
        _process = process;
    }

    public long Monotonic => _process.Clocks().Monotonic;

    public long Realtime => _process.Clocks().Realtime;

    public long Sleep(long ns) => TimeCalls.SleepFor(_process, ns);
}
