namespace Snapfn.Snapshots.Recording;

/// <summary>
/// A run of guest pages kept in a recording file: where it goes in guest memory, where its bytes are in the
/// file, and its place in the recorded order (REAP: rank of its first fault; FaaSnap: the mincore scan, the
/// "layer", that first saw it).
/// </summary>
public readonly record struct RecordedRegion(ulong GuestOffset, ulong Length, ulong FileOffset, uint Order);

/// <summary>A range of guest memory (offset and length, page-aligned).</summary>
public readonly record struct GuestRange(ulong Offset, ulong Length)
{
    public ulong End => Offset + Length;
}
