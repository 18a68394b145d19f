using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Tests.Syscalls;

public sealed class TimeCallsTests
{
    [Theory]
    [InlineData(0L, 0L, 0L)]
    [InlineData(10L, 5L, 10_000_000_005L)]
    [InlineData(9_223_372_036L, 854_775_807L, long.MaxValue)] // exactly long.MaxValue ns
    [InlineData(9_223_372_036L, 854_775_808L, long.MaxValue)] // one more: saturates
    [InlineData(long.MaxValue, 999_999_999L, long.MaxValue)]  // once wrapped to a short (or negative) sleep
    public void A_timespec_becomes_nanoseconds_saturating_instead_of_wrapping(long seconds, long nanoseconds, long expected)
    {
        Assert.True(TimeCalls.TryNanoseconds(new Kernel.timespec { tv_sec = seconds, tv_nsec = nanoseconds }, out var ns));
        Assert.Equal(expected, ns);
    }

    [Theory]
    [InlineData(-1L, 0L)]
    [InlineData(0L, -1L)]
    [InlineData(0L, 1_000_000_000L)]
    [InlineData(long.MinValue, 0L)]
    public void An_invalid_timespec_is_EINVAL(long seconds, long nanoseconds) =>
        Assert.False(TimeCalls.TryNanoseconds(new Kernel.timespec { tv_sec = seconds, tv_nsec = nanoseconds }, out _));
}
