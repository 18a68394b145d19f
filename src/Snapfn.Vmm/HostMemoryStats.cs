using System.Globalization;

namespace Snapfn.Vmm;

/// <summary>What the host kernel says of this process's memory (/proc/self/smaps_rollup), for stating machine
/// effects beside benchmark results.</summary>
public static class HostMemoryStats
{
    /// <summary>KiB of file pages this process maps with PMDs (2 MiB huge pages) right now. Only guest memory maps
    /// large files privately here, so this is the guest's file pages mapped huge.</summary>
    public static long FilePmdMappedKb() => RollupField("FilePmdMapped");

    private static long RollupField(string name)
    {
        foreach (var line in File.ReadLines("/proc/self/smaps_rollup"))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
                return long.Parse(line[(name.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        return 0;
    }
}
