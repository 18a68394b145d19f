using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Snapfn.Vmm;

/// <summary>
/// The pages of guest memory that are the VMM's, not the guest's: the page tables, the GDT and the TSS with its
/// I/O bitmap, and by kind of guest the C runtime's mailbox, or a Linux program's system-call stub and read-only
/// window (the vDSO's code and its data page). They are built from the layout (and the vDSO image) alone, at boot
/// and again at every restore, so a snapshot's memory file is never taken at its word for them (docs/trust-model.md).
/// The other pages of the first 2 MiB are absent from the page tables: the guest cannot reach them and the VMM
/// never reads them. <see cref="Digest"/> identifies what was built: a snapshot records it, and a restore whose
/// VMM would build other pages (a rebuilt vDSO, another kind of KVM host's stub) is refused.
/// </summary>
public sealed class VmmPages
{
    /// <summary>Distinct guests (memory size, image end, vDSO) kept built; past this, pages are built per call.</summary>
    private const int CacheLimit = 64;
    private static readonly ConcurrentDictionary<string, VmmPages> _cache = new();

    private readonly byte[] _bytes;
    private readonly (ulong Address, int Offset, int Length)[] _ranges;

    private VmmPages(ReadOnlySpan<byte> low, IEnumerable<(ulong Start, ulong End)> ranges)
    {
        // Adjacent ranges become one: one replacement (one mmap) each.
        var list = new List<(ulong Start, ulong End)>();
        foreach (var range in ranges.OrderBy(r => r.Start))
        {
            if (list.Count > 0 && list[^1].End == range.Start)
                list[^1] = (list[^1].Start, range.End);
            else
                list.Add(range);
        }
        _ranges = new (ulong, int, int)[list.Count];
        var offset = 0;
        for (var i = 0; i < list.Count; i++)
        {
            var (start, end) = list[i];
            _ranges[i] = (start, offset, (int)(end - start));
            offset += (int)(end - start);
        }
        _bytes = new byte[offset];
        foreach (var (address, at, length) in _ranges)
            low.Slice((int)address, length).CopyTo(_bytes.AsSpan(at));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (address, at, length) in _ranges)
        {
            hash.AppendData(BitConverter.GetBytes(address));
            hash.AppendData(_bytes, at, length);
        }
        Digest = hash.GetHashAndReset();
    }

    /// <summary>SHA-256 over every page with its address.</summary>
    public byte[] Digest { get; }

    /// <summary>The VMM's ranges of guest memory, page-aligned, in address order.</summary>
    public IEnumerable<(ulong Address, ulong Length)> Ranges => _ranges.Select(r => (r.Address, (ulong)r.Length));

    /// <summary>The bytes of all the pages.</summary>
    public ulong Size => (ulong)_bytes.Length;

    /// <summary>True where <paramref name="address"/> is in one of the VMM's pages.</summary>
    public bool Owns(ulong address) => _ranges.Any(r => address >= r.Address && address - r.Address < (ulong)r.Length);

    /// <summary>The pages of a C-runtime guest: tables, GDT, TSS (hypercall port only) and the mailbox, whose fields
    /// the VMM sets (the layout) and the guest writes only to pass a hypercall's arguments, none of them live at READY.</summary>
    public static VmmPages ForRuntime(GuestLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return Cached($"runtime:{layout.MemorySize}:{layout.ImageEnd}:{SyscallTrap.StaysAtCpl3}", () =>
        {
            var low = new byte[GuestLayout.LargePageSize];
            PageTableBuilder.Build(low, layout);
            GdtBuilder.Build(low);
            MemoryMarshal.Write(low.AsSpan((int)GuestAbi.MailboxAddress), new Mailbox
            {
                Magic = GuestAbi.Magic,
                AbiVersion = GuestAbi.Version,
                MemorySize = layout.MemorySize,
                InputAddress = layout.InputAddress,
                InputCapacity = GuestLayout.IoBufferSize,
                OutputAddress = layout.OutputAddress,
                OutputCapacity = GuestLayout.IoBufferSize,
                HeapStart = layout.HeapStart,
                HeapEnd = layout.HeapEnd,
            });
            return new VmmPages(low, [.. Tables(layout.MemorySize), (GuestAbi.MailboxAddress, GuestAbi.MailboxAddress + GuestLayout.PageSize)]);
        });
    }

    /// <summary>The pages of a Linux program's guest: tables, GDT, TSS (the system-call port only), the stub, and the
    /// whole read-only window: <paramref name="vdsoImage"/> (empty: the program has no vDSO) at its start, zeros
    /// after it, the vDSO's data page zero (invalid: the system-call layer writes the clocks before the guest runs).</summary>
    public static VmmPages ForProcess(ulong memorySize, ReadOnlySpan<byte> vdsoImage)
    {
        // The data page follows at most 64 KiB of image (Linux's Vdso.MaxImageSize).
        if ((ulong)vdsoImage.Length > ProcessGuest.ReadOnlyWindowSize - GuestLayout.PageSize)
            throw new ArgumentException($"a vDSO image of {vdsoImage.Length} bytes does not fit the read-only window", nameof(vdsoImage));
        var key = $"process:{memorySize}:{SyscallTrap.StaysAtCpl3}:{Convert.ToHexString(SHA256.HashData(vdsoImage))}";
        var image = vdsoImage.ToArray();
        return Cached(key, () =>
        {
            var low = new byte[GuestLayout.LargePageSize];
            PageTableBuilder.Build(low, memorySize, absentLargePage: null, ProcessGuest.UserPages);
            // The system-call port only: a Linux program's one way out is its system calls (GdtBuilder.BuildTss).
            GdtBuilder.Build(low, SyscallTrap.Port);
            SyscallTrap.Stub.CopyTo(low.AsSpan((int)SyscallTrap.StubAddress));
            image.CopyTo(low.AsSpan((int)ProcessGuest.ReadOnlyWindow));
            return new VmmPages(low,
            [
                .. Tables(memorySize),
                (SyscallTrap.StubAddress, SyscallTrap.StubAddress + GuestLayout.PageSize),
                (ProcessGuest.ReadOnlyWindow, ProcessGuest.ReadOnlyWindow + ProcessGuest.ReadOnlyWindowSize),
            ]);
        });
    }

    /// <summary>Puts the pages into <paramref name="memory"/>, replacing whatever was there without reading it
    /// (<see cref="GuestMemory.ReplacePages"/>). Before the vCPU runs: at boot, and at restore once a mode has mapped
    /// the snapshot.</summary>
    public void WriteTo(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        foreach (var (address, offset, length) in _ranges)
            memory.ReplacePages(address, _bytes.AsSpan(offset, length));
    }

    /// <summary>Copies the pages into <paramref name="image"/>, an image of guest memory from address 0 (what a
    /// restored guest's memory holds there).</summary>
    public void CopyTo(Span<byte> image)
    {
        foreach (var (address, offset, length) in _ranges)
            _bytes.AsSpan(offset, length).CopyTo(image[(int)address..]);
    }

    /// <summary>PML4, PDPT, the low page table, GDT, TSS (one run), then the page directories.</summary>
    private static (ulong Start, ulong End)[] Tables(ulong memorySize) =>
    [
        (GuestLayout.Pml4Address, GuestLayout.TssAddress + GuestLayout.PageSize),
        (GuestLayout.PageDirectoriesAddress, GuestLayout.PageDirectoriesAddress + PageTableBuilder.PageDirectoryCount(memorySize) * GuestLayout.PageSize),
    ];

    private static VmmPages Cached(string key, Func<VmmPages> build)
    {
        if (_cache.TryGetValue(key, out var pages))
            return pages;
        pages = build();
        if (_cache.Count < CacheLimit)
            _cache.TryAdd(key, pages);
        return pages;
    }
}
