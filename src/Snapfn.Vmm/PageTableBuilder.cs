using System.Buffers.Binary;

namespace Snapfn.Vmm;

/// <summary>A page of the guest's first 2 MiB that the guest may use, and how.</summary>
public readonly record struct LowPage(ulong Address, bool Writable);

/// <summary>
/// Builds the identity map the guest runs on: 4-level paging, 2 MiB pages for everything above 2 MiB and 4 KiB
/// pages for the first 2 MiB. Every page above 2 MiB is user-accessible (the guest runs at CPL 3), but for one
/// optional guard; in the first 2 MiB the VMM's own structures are supervisor-only, the pages the guest is
/// given (the C runtime's mailbox; a Linux program's system-call stub and vDSO) are user pages, and every other
/// page, page 0 included, is absent.
/// </summary>
public static class PageTableBuilder
{
    public const ulong Present = 1;
    public const ulong Writable = 2;
    public const ulong User = 4;
    public const ulong LargePage = 0x80;

    /// <summary>Writes the tables of a C-runtime guest into <paramref name="lowMemory"/>, the guest's first 2 MiB:
    /// the stack guard is absent and the mailbox is the one user page below 2 MiB.</summary>
    public static void Build(Span<byte> lowMemory, GuestLayout layout) =>
        Build(lowMemory, layout.MemorySize, layout.GuardStart, [new LowPage(GuestAbi.MailboxAddress, Writable: true)]);

    /// <summary>Writes the tables for <paramref name="memorySize"/> bytes of guest memory; the large page at
    /// <paramref name="absentLargePage"/> (if any) is left out, and <paramref name="userPages"/> are the low pages
    /// the guest may touch.</summary>
    public static void Build(Span<byte> lowMemory, ulong memorySize, ulong? absentLargePage, IReadOnlyList<LowPage> userPages)
    {
        ArgumentNullException.ThrowIfNull(userPages);
        if ((ulong)lowMemory.Length < GuestLayout.LargePageSize)
            throw new ArgumentException("the page tables are built in the guest's first 2 MiB", nameof(lowMemory));
        var directories = PageDirectoryCount(memorySize);
        lowMemory[..(int)(GuestLayout.PageDirectoriesAddress + directories * GuestLayout.PageSize)].Clear();

        Write(lowMemory, GuestLayout.Pml4Address, 0, GuestLayout.PdptAddress | Present | Writable | User);
        for (ulong gib = 0; gib < directories; gib++)
        {
            var directory = GuestLayout.PageDirectoriesAddress + gib * GuestLayout.PageSize;
            Write(lowMemory, GuestLayout.PdptAddress, gib, directory | Present | Writable | User);
            for (ulong entry = 0; entry < 512; entry++)
            {
                var address = (gib << 30) | (entry << 21);
                if (address >= memorySize)
                    break;
                if (address == 0)
                    Write(lowMemory, directory, entry, GuestLayout.LowPageTableAddress | Present | Writable | User);
                else if (address != absentLargePage)
                    Write(lowMemory, directory, entry, address | Present | Writable | User | LargePage);
            }
        }

        // The low 2 MiB: the VMM's tables are supervisor-only, so a guest cannot rewrite its own mappings.
        foreach (var page in new[] { GuestLayout.Pml4Address, GuestLayout.PdptAddress, GuestLayout.LowPageTableAddress,
                     GuestLayout.GdtAddress, GuestLayout.TssAddress })
            Write(lowMemory, GuestLayout.LowPageTableAddress, page / GuestLayout.PageSize, page | Present | Writable);
        for (var page = GuestLayout.PageDirectoriesAddress; page < GuestLayout.PageDirectoriesAddress + directories * GuestLayout.PageSize; page += GuestLayout.PageSize)
            Write(lowMemory, GuestLayout.LowPageTableAddress, page / GuestLayout.PageSize, page | Present | Writable);
        foreach (var page in userPages)
        {
            if (page.Address % GuestLayout.PageSize != 0 || page.Address == 0 || page.Address >= GuestLayout.LargePageSize ||
                page.Address is >= GuestLayout.Pml4Address and <= GuestLayout.TssAddress ||
                page.Address >= GuestLayout.PageDirectoriesAddress && page.Address < GuestLayout.PageDirectoriesAddress + directories * GuestLayout.PageSize)
                throw new ArgumentException($"0x{page.Address:x} cannot be a user page: it is not a free page of the first 2 MiB", nameof(userPages));
            Write(lowMemory, GuestLayout.LowPageTableAddress, page.Address / GuestLayout.PageSize,
                page.Address | Present | User | (page.Writable ? Writable : 0));
        }
    }

    public static ulong PageDirectoryCount(GuestLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return PageDirectoryCount(layout.MemorySize);
    }

    public static ulong PageDirectoryCount(ulong memorySize) => (memorySize + (1UL << 30) - 1) >> 30;

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
