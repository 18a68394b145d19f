namespace Snapfn.Vmm;

/// <summary>How a run of the guest ended normally: at READY (after init) or at RESULT (after a request).</summary>
public enum GuestStop
{
    Ready,
    Result,
}

/// <summary>One run of the guest up to READY or RESULT, with the Stopwatch timestamps of its first entry and its end.</summary>
public readonly record struct GuestRun(GuestStop Stop, ulong OutputLength, long EnteredAt, long StoppedAt, int Exits);
