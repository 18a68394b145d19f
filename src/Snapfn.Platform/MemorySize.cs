using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>Guest memory sizes as people give them (MiB), checked against what <see cref="GuestLayout"/> accepts.</summary>
public static class MemorySize
{
    public const int DefaultMiB = (int)(MicroVmOptions.DefaultMemorySize >> 20);
    public const int MinMiB = (int)(GuestLayout.MinMemorySize >> 20);
    public const int MaxMiB = (int)(GuestLayout.MaxMemorySize >> 20);

    /// <summary>The size in bytes; throws <see cref="InvalidRequestException"/> naming <paramref name="what"/> unless
    /// the size can back a guest.</summary>
    public static ulong Check(int mib, string what)
    {
        // Guest memory is mapped with 2 MiB pages.
        if (mib is < MinMiB or > MaxMiB || mib % 2 != 0)
            throw new InvalidRequestException($"{what} must be an even number of MiB between {MinMiB} and {MaxMiB} (got {mib})");
        return (ulong)mib << 20;
    }
}
