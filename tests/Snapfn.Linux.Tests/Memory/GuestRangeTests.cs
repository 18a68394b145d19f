using Snapfn.Linux.Memory;

namespace Snapfn.Linux.Tests.Memory;

/// <summary>The one overflow-safe range type every system call's (address, length) goes through.</summary>
public sealed class GuestRangeTests
{
    private const ulong Page = 4096;
    private const ulong Max = ulong.MaxValue;

    [Theory]
    [InlineData(0UL, 0UL, true)]
    [InlineData(0UL, Max, true)]
    [InlineData(1UL, Max, false)]
    [InlineData(Max, 0UL, true)]
    [InlineData(Max, 1UL, false)]
    [InlineData(Max - Page + 1, Page, false)] // the last page: its end would be 2^64
    [InlineData(Max - Page + 1, Page - 1, true)]
    [InlineData(0x200000UL, Max - 0x200000UL, true)]
    [InlineData(0x200000UL, Max - 0x1fffffUL, false)]
    public void A_pair_becomes_a_range_only_when_its_end_does_not_wrap(ulong start, ulong length, bool valid)
    {
        Assert.Equal(valid, GuestRange.TryCreate(start, length, out var range));
        if (valid)
        {
            Assert.Equal(start, range.Start);
            Assert.Equal(length, range.Length);
            Assert.True(range.End >= range.Start);
        }
    }

    [Theory]
    [InlineData(0UL, 0UL)]
    [InlineData(1UL, Page)]
    [InlineData(Page, Page)]
    [InlineData(Page + 1, 2 * Page)]
    [InlineData(Max - 2 * Page + 2, Max - Page + 1)] // rounds up to the last page's start
    [InlineData(Max - Page + 1, Max - Page + 1)]      // already aligned
    public void Page_rounding_rounds_up(ulong value, ulong expected)
    {
        Assert.True(GuestRange.TryPageAlignUp(value, out var aligned));
        Assert.Equal(expected, aligned);
    }

    [Theory]
    [InlineData(Max - Page + 2)] // munmap(addr, 2^64-4095) of issue 18: wrapped to 0
    [InlineData(Max)]
    [InlineData(Max - 1)]
    public void Page_rounding_past_2_64_is_refused(ulong value)
    {
        Assert.False(GuestRange.TryPageAlignUp(value, out _));
        Assert.False(GuestRange.TryCreatePages(0x200000, value, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => AddressSpace.PageAlignUp(value));
    }

    [Fact]
    public void Page_ranges_round_the_length_and_check_the_end()
    {
        Assert.True(GuestRange.TryCreatePages(0x200000, 1, out var range));
        Assert.Equal(Page, range.Length);
        Assert.Equal(0x201000UL, range.End);
        Assert.True(GuestRange.TryCreatePages(0, 0, out var empty));
        Assert.True(empty.IsEmpty);
        // The length rounds fine, but start + rounded length wraps.
        Assert.False(GuestRange.TryCreatePages(Max - Page + 1, 1, out _));
        Assert.False(GuestRange.TryCreatePages(0x200000, Max - Page + 1, out _));
    }

    [Theory]
    [InlineData(0x10000UL, 1024UL, 16UL, true)]
    [InlineData(0x10000UL, 0UL, 16UL, true)]
    [InlineData(Max - 16, 1UL, 16UL, true)]   // ends at 2^64 - 1
    [InlineData(Max - 15, 1UL, 16UL, false)]  // would end at 2^64
    [InlineData(Max - 15, 2UL, 16UL, false)]
    [InlineData(0UL, 1UL << 60, 16UL, false)] // count * size wraps to 0
    [InlineData(0UL, Max, 8UL, false)]
    public void Arrays_check_the_product_and_the_end(ulong start, ulong count, ulong size, bool valid) =>
        Assert.Equal(valid, GuestRange.TryCreateArray(start, count, size, out _));

    [Fact]
    public void A_checked_range_that_wraps_is_a_bug_not_a_silent_wrap() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => GuestRange.Of(Max - Page + 1, 2 * Page));

    [Fact]
    public void Within_and_overlap_use_the_exact_ends()
    {
        var range = GuestRange.Of(0x200000, 0x1000);
        Assert.True(range.IsWithin(0x200000, 0x201000));
        Assert.False(range.IsWithin(0x200001, 0x201000));
        Assert.False(range.IsWithin(0x200000, 0x200fff));
        Assert.True(range.Overlaps(GuestRange.Of(0x200fff, 1)));
        Assert.False(range.Overlaps(GuestRange.Of(0x201000, 1)));
        Assert.False(range.Overlaps(GuestRange.Of(0x1ff000, 0x1000)));
    }
}
