using System.Buffers.Binary;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Files;

/// <summary>The result side of the invocation channel: frames are checked as they arrive, never buffered past the limit.</summary>
public sealed unsafe class ChannelFileTests
{
    private static byte[] Header(uint status, uint length)
    {
        var header = new byte[ChannelFile.HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, status);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), length);
        return header;
    }

    [Fact]
    public void A_frame_written_in_pieces_is_one_result()
    {
        using var channel = new ChannelFile();
        byte[] frame = [.. Header(0, 5), .. "hello"u8];
        foreach (var piece in new[] { frame[..3], frame[3..9], frame[9..] })
        {
            Assert.Null(channel.Result);
            Assert.Equal(piece.Length, channel.Write(piece));
        }
        Assert.Equal("hello"u8.ToArray(), channel.Result!.Body);
        Assert.Equal(-Errno.EBADF, channel.Write([1]));
        channel.ClearResult();
        Assert.Equal(8, channel.Write(Header(1, 0)));
        Assert.Equal(ChannelResult.HandlerFailed, channel.Result!.Status);
    }

    /// <summary>Issue 18: a 1 GiB write from untouched pages was copied whole into a host buffer before its frame was
    /// checked. Here the 1 GiB comes from an untouched host mapping too, and the host allocates nothing of it.</summary>
    [Fact]
    public void A_frame_announcing_more_than_the_limit_fails_at_its_header_without_buffering()
    {
        using var mapping = MemoryMapping.Anonymous(1UL << 30);
        var huge = new Span<byte>((void*)mapping.Address, 1 << 30);
        Header(0, (1U << 30) - 8).CopyTo(huge);
        using var channel = new ChannelFile();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        ChannelFrameTooLargeException? failure = null;
        try
        {
            channel.Write(huge);
        }
        catch (ChannelFrameTooLargeException e)
        {
            failure = e;
        }
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1 << 20, "the channel buffered part of a refused frame");
        Assert.NotNull(failure);
        Assert.Equal((1UL << 30) - 8, failure.Announced);
        Assert.Equal(ChannelFile.DefaultMaxFrame, failure.Limit);
        Assert.Contains("32 MiB", failure.Message, StringComparison.Ordinal);
        Assert.Contains("ProcessOptions.MaxChannelFrame", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_past_the_announced_frame_are_refused_before_they_are_copied()
    {
        using var mapping = MemoryMapping.Anonymous(1UL << 30);
        var huge = new Span<byte>((void*)mapping.Address, 1 << 30);
        Header(0, 16).CopyTo(huge);
        using var channel = new ChannelFile();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        ChannelException? failure = null;
        try
        {
            channel.Write(huge);
        }
        catch (ChannelException e)
        {
            failure = e;
        }
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1 << 20, "the channel buffered bytes past its frame");
        Assert.Contains("more than one result frame", failure?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_limit_is_the_configured_one_in_both_directions()
    {
        using var channel = new ChannelFile(maxFrame: 100);
        Assert.Throws<ChannelFrameTooLargeException>(() => channel.Write(Header(0, 101)));
        channel.ClearResult();
        Assert.Equal(8, channel.Write(Header(0, 100)));
        Assert.Equal(100, channel.Write(new byte[100]));
        Assert.Equal(100, channel.Result!.Body.Length);
        Assert.Throws<ArgumentException>(() => channel.Deliver(new byte[101], firstInVm: true));
        channel.Deliver(new byte[100], firstInVm: true);
        Assert.True(channel.HasInput);
    }
}
