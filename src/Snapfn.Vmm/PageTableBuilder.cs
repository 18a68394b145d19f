using System.Buffers.Binary;

namespace Snapfn.Vmm;

/// <summary>
/// Builds the identity map the guest runs on: 4-level paging, 2 MiB pages for everything above 2 MiB and 4 KiB
/// pages for the first 2 MiB. Every page is user-accessible (the guest runs at CPL 3) except the VMM's own
/// structures in the low pages, which are supervisor-only; page 0 and the stack guard are left absent.
/// </summary>
public static class PageTableBuilder
{
    public const ulong Present = 1;
    public const ulong Writable = 2;
    public const ulong User = 4;
    public const ulong LargePage = 0x80;

    /// <summary>Writes the tables into <paramref name="lowMemory"/>, the guest's first 2 MiB.</summary>
    public static void Build(Span<byte> lowMemory, GuestLayout layout)
    {
        if ((ulong)lowMemory.Length < GuestLayout.LargePageSize)
            throw new ArgumentException("the page tables are built in the guest's first 2 MiB", nameof(lowMemory));
        lowMemory[..(int)(GuestLayout.PageDirectoriesAddress + PageDirectoryCount(layout) * GuestLayout.PageSize)].Clear();

        Write(lowMemory, GuestLayout.Pml4Address, 0, GuestLayout.PdptAddress | Present | Writable | User);
        for (ulong gib = 0; gib < PageDirectoryCount(layout); gib++)
        {
            var directory = GuestLayout.PageDirectoriesAddress + gib * GuestLayout.PageSize;
            Write(lowMemory, GuestLayout.PdptAddress, gib, directory | Present | Writable | User);
            for (ulong entry = 0; entry < 512; entry++)
            {
                var address = (gib << 30) | (entry << 21);
                if (address >= layout.MemorySize)
                    break;
                if (address == 0)
                    Write(lowMemory, directory, entry, GuestLayout.LowPageTableAddress | Present | Writable | User);
                else if (address != layout.GuardStart)
                    Write(lowMemory, directory, entry, address | Present | Writable | User | LargePage);
            }
        }

        // The low 2 MiB: the VMM's tables are supervisor-only, so a guest cannot rewrite its own mappings.
        foreach (var page in new[] { GuestLayout.Pml4Address, GuestLayout.PdptAddress, GuestLayout.LowPageTableAddress,
                     GuestLayout.GdtAddress, GuestLayout.TssAddress })
            Write(lowMemory, GuestLayout.LowPageTableAddress, page / GuestLayout.PageSize, page | Present | Writable);
        for (ulong page = GuestLayout.PageDirectoriesAddress; page < GuestLayout.PageDirectoriesAddress + PageDirectoryCount(layout) * GuestLayout.PageSize; page += GuestLayout.PageSize)
            Write(lowMemory, GuestLayout.LowPageTableAddress, page / GuestLayout.PageSize, page | Present | Writable);
        Write(lowMemory, GuestLayout.LowPageTableAddress, GuestAbi.MailboxAddress / GuestLayout.PageSize,
            GuestAbi.MailboxAddress | Present | Writable | User);
    }

    public static ulong PageDirectoryCount(GuestLayout layout) => (layout.MemorySize + (1UL << 30) - 1) >> 30;

    /// <summary>Walks the tables like the MMU would; returns the entry's flags, or null where the address is unmapped.</summary>
    public static ulong? Translate(ReadOnlySpan<byte> lowMemory, ulong virtualAddress)
    {
        var pml4e = Read(lowMemory, GuestLayout.Pml4Address, (virtualAddress >> 39) & 511);
        if ((pml4e & Present) == 0)
            return null;
        var pdpte = Read(lowMemory, pml4e & ~0xfffUL, (virtualAddress >> 30) & 511);
        if ((pdpte & Present) == 0)
            return null;
        var pde = Read(lowMemory, pdpte & ~0xfffUL, (virtualAddress >> 21) & 511);
        if ((pde & Present) == 0)
            return null;
        if ((pde & LargePage) != 0)
            return pde & pml4e & pdpte & (Present | Writable | User);
        var pte = Read(lowMemory, pde & ~0xfffUL, (virtualAddress >> 12) & 511);
        return (pte & Present) == 0 ? null : pte & pml4e & pdpte & pde & (Present | Writable | User);
    }

    private static void Write(Span<byte> memory, ulong table, ulong index, ulong value) =>
        BinaryPrimitives.WriteUInt64LittleEndian(memory[(int)(table + index * 8)..], value);

    private static ulong Read(ReadOnlySpan<byte> memory, ulong table, ulong index) =>
        BinaryPrimitives.ReadUInt64LittleEndian(memory[(int)(table + index * 8)..]);
}
