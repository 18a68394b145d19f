namespace Snapfn.Vmm;

/// <summary>
/// Where everything lives in guest-physical (= guest-virtual) memory. The first 2 MiB hold the VMM's structures,
/// mapped with 4 KiB pages so that page 0 can stay absent (NULL faults) and only the mailbox is user-accessible;
/// the ELF sits at 2 MiB; above it a 2 MiB unmapped guard, the stack, the input and output buffers, and the heap.
/// </summary>
public sealed record GuestLayout
{
    public const ulong PageSize = 4096;
    public const ulong LargePageSize = 2 << 20;
    public const ulong Pml4Address = 0x1000;
    public const ulong PdptAddress = 0x2000;
    public const ulong LowPageTableAddress = 0x3000;
    public const ulong GdtAddress = 0x4000;
    public const ulong TssAddress = 0x5000;
    public const ulong PageDirectoriesAddress = 0x10000;
    public const ulong MaxMemorySize = 64UL << 30;
    public const ulong MinMemorySize = 128UL << 20;
    public const ulong StackSize = 8UL << 20;
    public const ulong IoBufferSize = 32UL << 20;

    public required ulong MemorySize { get; init; }
    public required ulong ImageEnd { get; init; }
    public required ulong GuardStart { get; init; }
    public required ulong StackBottom { get; init; }
    public required ulong StackTop { get; init; }
    public required ulong InputAddress { get; init; }
    public required ulong OutputAddress { get; init; }
    public required ulong HeapStart { get; init; }
    public ulong HeapEnd => MemorySize;

    /// <summary>Lays out a guest of <paramref name="memorySize"/> bytes whose ELF image ends at <paramref name="imageEnd"/>.</summary>
    public static GuestLayout For(ulong memorySize, ulong imageEnd)
    {
        if (memorySize % LargePageSize != 0)
            throw new ArgumentException($"guest memory must be a multiple of 2 MiB, not {memorySize} bytes", nameof(memorySize));
        if (memorySize is < MinMemorySize or > MaxMemorySize)
            throw new ArgumentException(
                $"guest memory must be between {MinMemorySize >> 20} MiB and {MaxMemorySize >> 30} GiB, not {memorySize >> 20} MiB",
                nameof(memorySize));
        var guard = AlignUp(Math.Max(imageEnd, GuestAbi.ElfBase + 1), LargePageSize);
        var stackBottom = guard + LargePageSize;
        var stackTop = stackBottom + StackSize;
        var input = stackTop;
        var output = input + IoBufferSize;
        var heap = output + IoBufferSize;
        if (heap + LargePageSize > memorySize)
            throw new ArgumentException(
                $"guest memory of {memorySize >> 20} MiB leaves no heap for an image ending at 0x{imageEnd:x}; give the guest more memory",
                nameof(memorySize));
        return new GuestLayout
        {
            MemorySize = memorySize,
            ImageEnd = imageEnd,
            GuardStart = guard,
            StackBottom = stackBottom,
            StackTop = stackTop,
            InputAddress = input,
            OutputAddress = output,
            HeapStart = heap,
        };
    }

    public static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
