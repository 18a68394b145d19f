namespace Snapfn.Vmm;

/// <summary>How a run of the guest ended normally: at READY (after init), at RESULT (after a request), or, for a
/// Linux program, when it exited.</summary>
public enum GuestStop
{
    Ready,
    Result,
    Exited,
}

/// <summary>One run of the guest up to READY or RESULT, with the Stopwatch timestamps of its first entry and its end.</summary>
public readonly record struct GuestRun(GuestStop Stop, ulong OutputLength, long EnteredAt, long StoppedAt, int Exits);
