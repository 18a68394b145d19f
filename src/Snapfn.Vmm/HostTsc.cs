using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>rdtsc for the host: .NET has no intrinsic for it, so a 10-byte function is put in an executable page.</summary>
public static unsafe class HostTsc
{
    /// <summary>Lives as long as the process: the function pointer into it is static.</summary>
    private static readonly MemoryMapping _page = CreatePage();

    private static readonly delegate* unmanaged<ulong> _rdtsc = (delegate* unmanaged<ulong>)_page.Address;

    /// <summary>The host's time-stamp counter now.</summary>
    public static ulong Read() => _rdtsc();

    private static MemoryMapping CreatePage()
    {
        ReadOnlySpan<byte> code = [0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0, 0xc3]; // rdtsc; shl rdx,32; or rax,rdx; ret
        var page = MemoryMapping.Anonymous(4096);
        code.CopyTo(new Span<byte>((void*)page.Address, code.Length));
        page.Protect(Libc.PROT_READ | Libc.PROT_EXEC, "rdtsc page");
        return page;
    }
}
