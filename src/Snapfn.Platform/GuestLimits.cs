using Snapfn.Linux.Files;

namespace Snapfn.Platform;

/// <summary>
/// What one Linux program's VM (a Python function's) may make the host hold: its private /tmp, past which the
/// program gets ENOSPC, and the largest frame on its function channel, past which the request fails as the
/// function's failure before the host buffers the frame. Every VM a <see cref="FunctionService"/> boots or restores
/// gets them (<see cref="Linux.ProcessOptions.TmpQuota"/>, <see cref="Linux.ProcessOptions.MaxChannelFrame"/>); a
/// `snapfn serve` option raises each (docs/limits.md). A C function has neither: no /tmp, and the C runtime's fixed
/// 32 MiB buffers.
/// </summary>
public sealed record GuestLimits
{
    /// <summary>Bytes (allocated blocks) and entries one VM's /tmp may hold.</summary>
    public TmpQuota Tmp { get; init; } = TmpQuota.Default;

    /// <summary>The largest body of a request or result frame on the function channel, in bytes.</summary>
    public int MaxChannelFrameBytes { get; init; } = ChannelFile.DefaultMaxFrame;

    /// <summary>The largest channel frame that may be configured: 1 GiB, a result the daemon still holds whole.</summary>
    public const int MaxChannelFrameCeiling = 1 << 30;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Tmp);
        if (MaxChannelFrameBytes is < 1 or > MaxChannelFrameCeiling)
            throw new ArgumentOutOfRangeException(nameof(MaxChannelFrameBytes), MaxChannelFrameBytes,
                $"the channel frame limit must be between 1 byte and {MaxChannelFrameCeiling >> 20} MiB");
    }
}
