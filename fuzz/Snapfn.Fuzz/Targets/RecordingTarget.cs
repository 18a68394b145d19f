using System.Buffers.Binary;
using System.Security.Cryptography;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Fuzz.Targets;

/// <summary>
/// A REAP working-set or FaaSnap loading-set file (<see cref="RecordingFile"/>), header, index and page data as
/// on disk. The harness writes the header's checksum over whatever the input's header and index are, so that
/// mutations reach the checks behind it; the kind it expects is the one the input names (reap, else faasnap).
/// Allowed: <see cref="SnapshotInvalidException"/>.
/// </summary>
public sealed class RecordingTarget : FuzzTarget
{
    private const string Path = "/fuzz/recording";
    private const ulong MemorySize = 128UL << 20;
    private static readonly Guid _snapshot = new("6c3f0b1e-0000-4000-8000-000000000002");

    public override string Name => "recording";

    public override string Description => "RecordingFile.Parse (header, region index, data ranges), checksum rewritten by the harness";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var file = input.ToArray();
        FixChecksum(file);
        var kind = file.Length > 13 && file[13] == (byte)'r' ? "reap" : "faasnap";
        RecordingFile recording;
        try
        {
            recording = RecordingFile.Parse((buffer, offset) => Read(file, buffer, offset), file.Length, Path, kind, _snapshot, MemorySize,
                SnapshotRemedy.Record("fuzz", kind));
        }
        catch (SnapshotInvalidException e)
        {
            if (!e.Message.Contains(Path, StringComparison.Ordinal))
                throw new InvariantViolatedException($"a refusal that does not name the file: {e.Message}", e);
            return;
        }
        // What a restore then relies on: every region's pages lie inside guest memory and inside the file.
        foreach (var r in recording.Regions)
        {
            if (r.GuestOffset + r.Length > MemorySize || r.FileOffset + r.Length > (ulong)file.Length || r.FileOffset < recording.DataOffset)
                throw new InvariantViolatedException($"accepted a region outside guest memory or the file: {r}");
        }
        foreach (var range in recording.DataRanges)
        {
            if (range.Offset + range.Length > MemorySize)
                throw new InvariantViolatedException($"accepted a data range outside guest memory: {range}");
        }
    }

    private static int Read(byte[] file, Span<byte> buffer, long offset)
    {
        if (offset >= file.Length)
            return 0;
        var n = (int)Math.Min(buffer.Length, file.Length - offset);
        file.AsSpan((int)offset, n).CopyTo(buffer);
        return n;
    }

    /// <summary>Writes the SHA-256 the parser expects (over header and index, the field itself zeroed) where it can.</summary>
    private static void FixChecksum(byte[] file)
    {
        if (file.Length < RecordingFile.HeaderSize)
            return;
        var dataOffset = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(56));
        if (dataOffset < RecordingFile.HeaderSize || dataOffset > (ulong)file.Length)
            return;
        var metadata = file.AsSpan(0, (int)dataOffset).ToArray();
        metadata.AsSpan(96, 32).Clear();
        SHA256.HashData(metadata, file.AsSpan(96, 32));
    }

    public override IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        var provenance = RecordingProvenance.Of("{\"name\":\"A\"}"u8, "fuzz seed");
        var regions = new (ulong, ulong, uint)[] { (0x200000, 0x1000, 0), (0x400000, 0x2000, 1) };
        yield return ("reap", File("reap", RecordingFile.LayOut(regions, regions.Length, 0, alignLargePages: false), [], provenance));
        var ranges = new GuestRange[] { new(0x200000, 0x1000), new(0x400000, 0x3000) };
        yield return ("faasnap", File("faasnap", RecordingFile.LayOut(regions, regions.Length, ranges.Length, alignLargePages: false), ranges, provenance));
        yield return ("faasnap-empty", File("faasnap", [], [], provenance));
    }

    private static byte[] File(string kind, IReadOnlyList<RecordedRegion> regions, IReadOnlyList<GuestRange> ranges, RecordingProvenance provenance)
    {
        var recording = new RecordingFile(kind, _snapshot, regions, ranges, provenance);
        var bytes = new byte[recording.FileLength];
        recording.SerializeMetadata().CopyTo(bytes, 0);
        return bytes;
    }
}
