using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Vmm.Tests;

/// <summary>The built guests, by name (see <see cref="GuestBuild"/>).</summary>
public static class Guests
{
    public static string Directory => GuestBuild.Directory;

    public static string Path(string name) => GuestBuild.ElfPath(name);

    public static ElfImage Elf(string name) => GuestBuild.Elf(name);

    public static void RequireKvm() => GuestBuild.RequireKvm();
}
