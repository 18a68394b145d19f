using Snapfn.Vmm;

namespace Snapfn.Cli;

/// <summary>Builds <see cref="MicroVmOptions"/> from --memory and --timeout, refusing values that make no sense.</summary>
public static class VmOptions
{
    public static MicroVmOptions From(int memoryMiB, double timeoutSeconds)
    {
        if (memoryMiB is < 128 or > Platform.MemorySize.MaxMiB || memoryMiB % 2 != 0)
            throw new UsageException($"--memory must be an even number of MiB between 128 and {Platform.MemorySize.MaxMiB} (got {memoryMiB})");
        if (!(timeoutSeconds > 0) || timeoutSeconds > 24 * 3600)
            throw new UsageException($"--timeout must be a positive number of seconds (got {timeoutSeconds})");
        return new MicroVmOptions
        {
            MemorySize = (ulong)memoryMiB << 20,
            Timeout = TimeSpan.FromSeconds(timeoutSeconds),
            Log = line => Console.Error.WriteLine($"[guest] {line}"),
        };
    }
}
