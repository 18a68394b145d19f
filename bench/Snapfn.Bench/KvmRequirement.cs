using Snapfn.Vmm;

namespace Snapfn.Bench;

/// <summary>The refusal every experiment that measures running guests makes before it starts anything.</summary>
internal static class KvmRequirement
{
    /// <summary>Refuses the emulated CPU (its timings mean nothing) and a machine without KVM, saying what
    /// <paramref name="experiment"/> needs KVM for (<paramref name="why"/>).</summary>
    public static void Require(string experiment, string why)
    {
        VirtualCpu.RequireKvmToMeasure(experiment);
        if (!KvmSystem.IsAvailable(out var reason))
            throw new KvmUnavailableException($"{experiment} needs KVM ({why}): {reason}. Nothing was started and no results were written");
    }
}
