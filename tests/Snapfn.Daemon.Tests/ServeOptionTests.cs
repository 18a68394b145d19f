using System.CommandLine;
using Snapfn.Cli;
using Snapfn.Cli.Commands;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>`snapfn serve`'s options for the limits inside a guest (/tmp, the channel frame) reach the platform's
/// options; nothing is served (the daemon's run is captured).</summary>
public sealed class ServeOptionTests
{
    private static DaemonOptions Parse(params string[] args)
    {
        DaemonOptions? parsed = null;
        var exit = ServeCommand.Create(options => parsed = options).Parse(args)
            .Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        Assert.Equal(0, exit);
        return parsed!;
    }

    [Fact]
    public void The_guest_limits_default_to_the_platform_s()
    {
        var guests = Parse().Platform.Guests;
        Assert.Equal(new GuestLimits(), guests);
        Assert.Equal(256L << 20, guests.Tmp.Bytes);
        Assert.Equal(10_000, guests.Tmp.Entries);
        Assert.Equal(32 << 20, guests.MaxChannelFrameBytes);
    }

    [Fact]
    public void The_tmp_quota_and_the_channel_frame_are_set_from_the_command_line()
    {
        var options = Parse("--max-tmp-mib", "1024", "--max-tmp-entries", "50000", "--max-channel-frame-mib", "64", "--max-guest-memory-mib", "2048");
        Assert.Equal(1024L << 20, options.Platform.Guests.Tmp.Bytes);
        Assert.Equal(50_000, options.Platform.Guests.Tmp.Entries);
        Assert.Equal(64 << 20, options.Platform.Guests.MaxChannelFrameBytes);
        Assert.Equal(2048, options.Platform.MaxGuestMemoryMib); // the other platform options are kept beside them
    }

    [Theory]
    [InlineData("--max-tmp-mib", "0", "--max-tmp-mib must be between 1 and 1048576 (got 0)")]
    [InlineData("--max-tmp-mib", "-5", "--max-tmp-mib must be between 1 and 1048576 (got -5)")]
    [InlineData("--max-tmp-mib", "1048577", "--max-tmp-mib must be between 1 and 1048576")]
    [InlineData("--max-tmp-entries", "0", "--max-tmp-entries must be between 1 and 10000000 (got 0)")]
    [InlineData("--max-channel-frame-mib", "0", "--max-channel-frame-mib must be between 1 and 1024 (got 0)")]
    [InlineData("--max-channel-frame-mib", "2048", "--max-channel-frame-mib must be between 1 and 1024 (got 2048)")]
    public void Values_out_of_range_are_refused_naming_the_option(string option, string value, string message)
    {
        var e = Assert.Throws<UsageException>(() => Parse(option, value));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
