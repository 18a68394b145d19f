using Snapfn.Vmm;

namespace Snapfn.Bench;

/// <summary>
/// The CPU an experiment's guests ran on, which its results and its report record. On the emulated CPU
/// (<c>SNAPFN_CPU=soft</c>) a run is a <em>trial</em>: what it counts (requests lost or served twice, the paths the
/// platform chose, which worker fetched what) is the system's behaviour and holds on any CPU; what it times is the
/// emulator's and says nothing about Snapfn.
/// </summary>
public sealed record ExperimentCpu(CpuKind Kind)
{
    public bool Emulated => Kind == CpuKind.Soft;

    /// <summary>The name results.json gives the CPU: <c>kvm</c> or <c>soft</c>.</summary>
    public string Name => Emulated ? "soft" : "kvm";

    /// <summary>The line a report and the console print first on the emulated CPU; null on KVM.</summary>
    public string? Caveat => Emulated
        ? "EMULATED CPU (SNAPFN_CPU=soft): a trial of the system's behaviour. Its counts hold on any CPU; every time in it " +
          "(latencies, throughput, durations) is the emulator's, one to two orders of magnitude slower than KVM, and is not a measurement of Snapfn."
        : null;
}

/// <summary>The refusal every experiment that runs guests makes before it starts anything.</summary>
internal static class KvmRequirement
{
    /// <summary>
    /// Refuses a machine where guests cannot run, saying what <paramref name="experiment"/> needs them for
    /// (<paramref name="why"/>) and what to do. The emulated CPU is accepted, for a trial (<see cref="ExperimentCpu"/>):
    /// it was chosen explicitly, and the run is labelled as such wherever a time is shown.
    /// </summary>
    public static ExperimentCpu RequireGuests(string experiment, string why)
    {
        if (VirtualCpu.Selected == CpuKind.Soft)
        {
            if (!VirtualCpu.IsAvailable(out var softReason))
                throw new KvmUnavailableException($"{experiment} needs guests ({why}) and the emulated CPU cannot run here: {softReason}. Nothing was started and no results were written");
            return new ExperimentCpu(CpuKind.Soft);
        }
        if (!KvmSystem.IsAvailable(out var reason))
            throw new KvmUnavailableException(
                $"{experiment} needs KVM ({why}): {reason}. Nothing was started and no results were written. " +
                $"Without KVM, {VirtualCpu.EnvironmentVariable}=soft runs it on an emulated CPU as a trial: its counts hold, its times are not measurements");
        return new ExperimentCpu(CpuKind.Kvm);
    }
}
