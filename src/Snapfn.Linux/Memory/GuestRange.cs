namespace Snapfn.Linux.Memory;

/// <summary>
/// A range of guest addresses [Start, End) whose end is known not to wrap past 2^64: the one place where a system
/// call's (address, length) pair, a page rounding of a length or an array's count times its element size is
/// added up. A pair that would wrap cannot become a range, so no handler can compute an end below its start (a
/// `brk` past 2^64 that wrapped to 0 once discarded the VMM's own pages). A range that ends exactly at 2^64 is
/// refused too: no guest memory is that high, and its end would not fit in a ulong.
/// </summary>
public readonly record struct GuestRange
{
    public const ulong PageSize = AddressSpace.PageSize;

    private GuestRange(ulong start, ulong length)
    {
        Start = start;
        Length = length;
    }

    public ulong Start { get; }

    public ulong Length { get; }

    /// <summary>One past the last byte; never less than <see cref="Start"/>.</summary>
    public ulong End => Start + Length;

    public bool IsEmpty => Length == 0;

    /// <summary>[start, start+length), or false when the end would pass 2^64 - 1.</summary>
    public static bool TryCreate(ulong start, ulong length, out GuestRange range)
    {
        range = default;
        if (length > ulong.MaxValue - start)
            return false;
        range = new GuestRange(start, length);
        return true;
    }

    /// <summary>An array of <paramref name="count"/> elements of <paramref name="elementSize"/> bytes at
    /// <paramref name="start"/> (iovecs, pollfds), or false when the product or the end would wrap.</summary>
    public static bool TryCreateArray(ulong start, ulong count, ulong elementSize, out GuestRange range)
    {
        range = default;
        if (elementSize != 0 && count > ulong.MaxValue / elementSize)
            return false;
        return TryCreate(start, count * elementSize, out range);
    }

    /// <summary>[start, start + length rounded up to whole pages), as mmap, munmap, mprotect and madvise take their
    /// lengths; false when the rounding or the end would wrap. <paramref name="start"/> itself is not aligned here.</summary>
    public static bool TryCreatePages(ulong start, ulong length, out GuestRange range)
    {
        range = default;
        return TryPageAlignUp(length, out var rounded) && TryCreate(start, rounded, out range);
    }

    /// <summary>A range the caller has already checked; throws (a bug of ours, never the guest's) if it wraps.</summary>
    public static GuestRange Of(ulong start, ulong length) =>
        TryCreate(start, length, out var range) ? range
            : throw new ArgumentOutOfRangeException(nameof(length), $"range 0x{start:x}+0x{length:x} wraps past 2^64");

    /// <summary><paramref name="value"/> rounded up to a page, or false when that passes 2^64 - 1.</summary>
    public static bool TryPageAlignUp(ulong value, out ulong aligned)
    {
        aligned = 0;
        if (value > ulong.MaxValue - (PageSize - 1))
            return false;
        aligned = (value + PageSize - 1) & ~(PageSize - 1);
        return true;
    }

    public static bool IsPageAligned(ulong value) => (value & (PageSize - 1)) == 0;

    /// <summary>True when every byte lies in [low, high).</summary>
    public bool IsWithin(ulong low, ulong high) => Start >= low && End <= high;

    public bool Overlaps(GuestRange other) => Start < other.End && other.Start < End;

    public override string ToString() => $"0x{Start:x}+0x{Length:x}";
}
