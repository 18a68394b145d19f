using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Snapfn.Linux.Memory;
using Snapfn.Vmm;

namespace Snapfn.Linux.Loader;

/// <summary>
/// Snapfn's small vDSO (guest/vdso): clock_gettime, gettimeofday and time from rdtsc and a data page the VMM
/// keeps current, so that the commonest system call of an interpreter costs nanoseconds instead of an exit.
/// The image is linked at <see cref="ProcessGuest.ReadOnlyWindow"/> and copied there byte for byte; the data
/// page follows it. Both are read-only to the guest.
/// </summary>
public sealed class Vdso
{
    public const ulong ImageAddress = ProcessGuest.ReadOnlyWindow;
    public const ulong MaxImageSize = 0x10000;
    public const ulong DataAddress = ImageAddress + MaxImageSize;

    private readonly byte[] _image;

    private Vdso(byte[] image)
    {
        _image = image;
    }

    /// <summary>Reads and checks guest/build/vdso.so: an ELF that fits the window.</summary>
    public static Vdso Load(string path)
    {
        var image = File.ReadAllBytes(path);
        if (image.Length < 64 || (ulong)image.Length > MaxImageSize || BinaryPrimitives.ReadUInt32LittleEndian(image) != 0x464c457f)
            throw new ProgramLoadException($"{path} is not a vDSO image of at most {MaxImageSize >> 10} KiB; rebuild it with `make -C guest`");
        return new Vdso(image);
    }

    /// <summary>The image's bytes, as the VMM rebuilds them into the window at every restore.</summary>
    public byte[] Image => _image;

    /// <summary>Copies the image into the window and records both pages as the program's (read-only) mappings.</summary>
    public void Map(GuestMappings mappings)
    {
        ArgumentNullException.ThrowIfNull(mappings);
        var imagePages = AddressSpace.PageAlignUp((ulong)_image.Length);
        mappings.MapAnonymous(ImageAddress, imagePages, Protection.Read | Protection.Execute, MappingKind.Vdso);
        mappings.MapAnonymous(DataAddress, AddressSpace.PageSize, Protection.Read, MappingKind.Vdso);
        mappings.Write(ImageAddress, _image);
    }
}

/// <summary>struct snapfn_vdso_data (guest/vdso/snapfn_vdso.h).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VdsoData
{
    public ulong Valid;
    public ulong TscBase;
    public long MonotonicBaseNs;
    public long RealtimeBaseNs;
    public ulong TscMult;
}
