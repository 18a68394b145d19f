using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Recording;

/// <summary>
/// The on-disk form shared by REAP's working-set file and FaaSnap's loading-set file:
/// a 4 KiB header (magic, version, kind, the snapshot it belongs to, counts, a SHA-256 over header and index),
/// the region index, then the page data, 4 KiB-aligned so that it can be read with O_DIRECT and mapped.
/// A FaaSnap file also carries the snapshot's non-zero ranges, so that a restore maps them without scanning.
/// </summary>
public sealed class RecordingFile
{
    /// <summary>2: the header says which input and options the recording was made with.</summary>
    public const uint FormatVersion = 2;
    private const int ProvenanceOffset = 128;
    private const int MaxOptionsLength = 255;
    public const int HeaderSize = 4096;
    private const int RegionEntrySize = 32;
    private const int RangeEntrySize = 16;
    private static readonly byte[] _magic = "SNAPFNRC"u8.ToArray();

    public RecordingFile(string kind, Guid snapshotId, IReadOnlyList<RecordedRegion> regions, IReadOnlyList<GuestRange> dataRanges,
        RecordingProvenance provenance)
    {
        ArgumentNullException.ThrowIfNull(provenance);
        if (provenance.InputSha256.Length != 64 || provenance.Options.Length > MaxOptionsLength)
            throw new ArgumentException("a recording's provenance is a SHA-256 in hex and at most 255 characters of options", nameof(provenance));
        Kind = kind;
        SnapshotId = snapshotId;
        Regions = regions;
        DataRanges = dataRanges;
        Provenance = provenance;
    }

    /// <summary>The input and the recorder options the recording was made with.</summary>
    public RecordingProvenance Provenance { get; }

    /// <summary>"reap" or "faasnap".</summary>
    public string Kind { get; }

    public Guid SnapshotId { get; }

    public IReadOnlyList<RecordedRegion> Regions { get; }

    /// <summary>The snapshot memory file's non-zero ranges (FaaSnap); empty for REAP.</summary>
    public IReadOnlyList<GuestRange> DataRanges { get; }

    public ulong DataOffset => AlignUp((ulong)(HeaderSize + Regions.Count * RegionEntrySize + DataRanges.Count * RangeEntrySize));

    public ulong DataBytes => Regions.Aggregate(0UL, (sum, r) => sum + r.Length);

    public ulong FileLength => Regions.Count == 0 ? DataOffset : Regions.Max(r => r.FileOffset + r.Length);

    public ulong Pages => DataBytes / GuestLayout.PageSize;

    /// <summary>
    /// Regions laid out from <see cref="DataOffset"/> in the given order, back to back, except that (with
    /// <paramref name="alignLargePages"/>, for files that are mapped) a region holding a whole 2 MiB-aligned
    /// block of guest memory starts at a file offset congruent to its guest
    /// offset modulo 2 MiB. The page cache here keeps files in 2 MiB folios, which a mapping can map (and KVM
    /// can shadow) with one huge page only where file offset and address agree modulo 2 MiB; the padding is a
    /// hole, never written or read.
    /// </summary>
    public static IReadOnlyList<RecordedRegion> LayOut(IEnumerable<(ulong GuestOffset, ulong Length, uint Order)> regions, int indexEntries,
        int rangeEntries, bool alignLargePages)
    {
        ArgumentNullException.ThrowIfNull(regions);
        var offset = AlignUp((ulong)(HeaderSize + indexEntries * RegionEntrySize + rangeEntries * RangeEntrySize));
        var result = new List<RecordedRegion>();
        foreach (var (guest, length, order) in regions)
        {
            if (alignLargePages && HoldsLargePage(guest, length))
                offset = Congruent(offset, guest);
            result.Add(new RecordedRegion(guest, length, offset, order));
            offset += length;
        }
        return result;
    }

    private static bool HoldsLargePage(ulong guest, ulong length) =>
        GuestLayout.AlignUp(guest, GuestLayout.LargePageSize) + GuestLayout.LargePageSize <= guest + length;

    /// <summary>The first offset at or after <paramref name="offset"/> with the same remainder as <paramref name="guest"/> modulo 2 MiB.</summary>
    private static ulong Congruent(ulong offset, ulong guest)
    {
        const ulong large = GuestLayout.LargePageSize;
        var aligned = offset & ~(large - 1);
        var candidate = aligned + (guest & (large - 1));
        return candidate >= offset ? candidate : candidate + large;
    }

    /// <summary>Header and index, padded to <see cref="DataOffset"/>; the page data follows.</summary>
    public byte[] SerializeMetadata()
    {
        var bytes = new byte[DataOffset];
        var span = bytes.AsSpan();
        _magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], FormatVersion);
        var kind = System.Text.Encoding.ASCII.GetBytes(Kind);
        span[12] = (byte)kind.Length;
        kind.CopyTo(span[13..29]);
        SnapshotId.TryWriteBytes(span[32..48]);
        BinaryPrimitives.WriteInt32LittleEndian(span[48..], Regions.Count);
        BinaryPrimitives.WriteInt32LittleEndian(span[52..], DataRanges.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(span[56..], DataOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(span[64..], FileLength);
        Convert.FromHexString(Provenance.InputSha256).CopyTo(span[ProvenanceOffset..]);
        var options = System.Text.Encoding.ASCII.GetBytes(Provenance.Options);
        span[ProvenanceOffset + 32] = (byte)options.Length;
        options.CopyTo(span[(ProvenanceOffset + 33)..]);
        var index = span[HeaderSize..];
        foreach (var r in Regions)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(index, r.GuestOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(index[8..], r.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(index[16..], r.FileOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(index[24..], r.Order);
            index = index[RegionEntrySize..];
        }
        foreach (var range in DataRanges)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(index, range.Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(index[8..], range.Length);
            index = index[RangeEntrySize..];
        }
        SHA256.HashData(Checksummed(bytes), span[96..128]);
        return bytes;
    }

    /// <summary>Recordings read in this process, by path, with the version of the file they were read from: a restore
    /// reads the header and index once, not inside every timed invocation. A file replaced, rewritten or
    /// truncated since is read and checked again.</summary>
    private static readonly ConcurrentDictionary<string, (FileVersion Version, string Kind, RecordingFile File)> _read = new(StringComparer.Ordinal);

    /// <summary>Reads and checks a recording's metadata: its kind, its snapshot, its checksum, and that the file
    /// has exactly the length the header says. Recording the <paramref name="kind"/> again fixes a bad file.</summary>
    public static RecordingFile Open(string path, string kind, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (FileVersion.Of(path) is not { } version)
            throw new SnapshotInvalidException($"function '{snapshot.Folder.Function}' has no {kind} recording ({path})",
                SnapshotRemedy.Record(snapshot.Folder.Function, kind));
        if (_read.TryGetValue(path, out var known) && known.Version == version && known.Kind == kind && known.File.SnapshotId == snapshot.State.Id)
            return known.File;
        var recording = Read(path, kind, snapshot);
        _read[path] = (version, kind, recording);
        return recording;
    }

    /// <summary>Opens the recording at <paramref name="path"/> once and reads its metadata from that descriptor, so that
    /// everything a restore does with the file afterwards (mapping it, reading its pages) uses the very file whose
    /// index it checked, even if a new recording is renamed over the path meanwhile (<see cref="RecordingSwap"/>).
    /// The caller owns <see cref="PinnedRecording.File"/>'s descriptor.</summary>
    public static PinnedRecording Pin(string path, string kind, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return Pin(path, kind, snapshot.State.Id, snapshot.State.MemorySize, SnapshotRemedy.Record(snapshot.Folder.Function, kind));
    }

    /// <summary><see cref="Pin(string, string, Snapshot)"/> for a snapshot known by its id and memory size.</summary>
    internal static unsafe PinnedRecording Pin(string path, string kind, Guid snapshotId, ulong memorySize, SnapshotRemedy remedy)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(remedy);
        var fd = Interop.Libc.open(path, Interop.Libc.O_RDONLY | Interop.Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Interop.Libc.ENOENT)
                throw new SnapshotInvalidException($"function '{remedy.Function}' has no {kind} recording ({path})", remedy);
            Interop.SyscallException.Throw($"open({path})", errno);
        }
        var handle = new Interop.SafeFd(fd);
        try
        {
            Interop.Libc.stat_buf buf;
            Interop.SyscallException.Check(Interop.Libc.fstat(handle, &buf), $"fstat({path})");
            var version = new FileVersion(buf.st_dev, buf.st_ino, buf.st_size, buf.st_mtime_sec, buf.st_mtime_nsec);
            if (!(_read.TryGetValue(path, out var known) && known.Version == version && known.Kind == kind && known.File.SnapshotId == snapshotId))
            {
                var parsed = Parse((buffer, offset) => (int)Interop.Libc.pread(handle, buffer, offset), buf.st_size, path, kind,
                    snapshotId, memorySize, remedy);
                known = (version, kind, parsed);
                _read[path] = known;
            }
            return new PinnedRecording(known.File, version, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The kind a recording file's header names (reap, faasnap), to open it with; null where the file is
    /// not a recording.</summary>
    public static string? KindOf(string path)
    {
        var header = new byte[HeaderSize];
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read))
        {
            if (RandomAccess.Read(file, header, 0) != HeaderSize || !header.AsSpan(0, 8).SequenceEqual(_magic))
                return null;
        }
        return System.Text.Encoding.ASCII.GetString(header, 13, Math.Min((int)header[12], 16));
    }

    private static RecordingFile Read(string path, string kind, Snapshot snapshot)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        return Parse((buffer, offset) => RandomAccess.Read(file, buffer, offset), RandomAccess.GetLength(file), path, kind,
            snapshot.State.Id, snapshot.State.MemorySize, SnapshotRemedy.Record(snapshot.Folder.Function, kind));
    }

    /// <summary>Reads <paramref name="length"/> bytes' worth of file at an offset; returns how many it read.</summary>
    internal delegate int ReadAt(Span<byte> buffer, long offset);

    /// <summary>Parses and checks a recording of a snapshot (<paramref name="snapshotId"/>, <paramref name="memorySize"/>)
    /// from a file of <paramref name="length"/> bytes; throws <see cref="SnapshotInvalidException"/> for anything else.</summary>
    internal static RecordingFile Parse(ReadAt read, long length, string path, string kind, Guid snapshotId, ulong memorySize, SnapshotRemedy remedy)
    {
        string Bad(string what) => $"{kind} recording '{path}' {what}";
        var header = new byte[HeaderSize];
        if (length < HeaderSize || read(header, 0) != HeaderSize)
            throw new SnapshotInvalidException(Bad($"is truncated ({length} bytes)"), remedy);
        if (!header.AsSpan(0, 8).SequenceEqual(_magic))
            throw new SnapshotInvalidException(Bad("is not a Snapfn recording (bad magic)"), remedy);
        var version = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        if (version != FormatVersion)
            throw new SnapshotInvalidException(Bad($"has format version {version}; this Snapfn reads version {FormatVersion}"), remedy);
        var kindLength = Math.Min((int)header[12], 16);
        var fileKind = System.Text.Encoding.ASCII.GetString(header, 13, kindLength);
        if (fileKind != kind)
            throw new SnapshotInvalidException(Bad($"is a {fileKind} recording"), remedy);
        var regionCount = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(48));
        var rangeCount = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(52));
        var dataOffset = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(56));
        var fileLength = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(64));
        if (regionCount < 0 || rangeCount < 0 || (long)regionCount * RegionEntrySize + (long)rangeCount * RangeEntrySize > 1L << 30
            || dataOffset != AlignUp((ulong)(HeaderSize + (long)regionCount * RegionEntrySize + (long)rangeCount * RangeEntrySize)))
            throw new SnapshotInvalidException(Bad("has a corrupt header"), remedy);
        if ((ulong)length != fileLength)
            throw new SnapshotInvalidException(Bad($"is {length} bytes, but its header says {fileLength} (truncated or corrupt)"), remedy);
        // Checked before the index is read into memory: a small file must not make us allocate up to 1 GiB.
        if (dataOffset > fileLength)
            throw new SnapshotInvalidException(Bad($"has an index of {dataOffset} bytes in a file of {fileLength}"), remedy);
        var metadata = new byte[dataOffset];
        if (read(metadata, 0) != metadata.Length)
            throw new SnapshotInvalidException(Bad("is truncated"), remedy);
        if (!SHA256.HashData(Checksummed(metadata)).AsSpan().SequenceEqual(metadata.AsSpan(96, 32)))
            throw new SnapshotInvalidException(Bad("is corrupt (checksum mismatch)"), remedy);
        if (new Guid(metadata.AsSpan(32, 16)) != snapshotId)
            throw new SnapshotInvalidException(Bad("was made from an older snapshot"), remedy);

        var regions = new RecordedRegion[regionCount];
        var index = metadata.AsSpan(HeaderSize);
        for (var i = 0; i < regionCount; i++, index = index[RegionEntrySize..])
        {
            regions[i] = new RecordedRegion(BinaryPrimitives.ReadUInt64LittleEndian(index), BinaryPrimitives.ReadUInt64LittleEndian(index[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(index[16..]), BinaryPrimitives.ReadUInt32LittleEndian(index[24..]));
            var r = regions[i];
            if (!PageAligned(r.GuestOffset) || !PageAligned(r.Length) || !PageAligned(r.FileOffset) || r.Length == 0
                || r.GuestOffset > memorySize || r.Length > memorySize - r.GuestOffset
                || r.FileOffset < dataOffset || r.FileOffset > fileLength || r.Length > fileLength - r.FileOffset)
                throw new SnapshotInvalidException(Bad($"has an impossible region {i}"), remedy);
        }
        var ranges = new GuestRange[rangeCount];
        for (var i = 0; i < rangeCount; i++, index = index[RangeEntrySize..])
        {
            ranges[i] = new GuestRange(BinaryPrimitives.ReadUInt64LittleEndian(index), BinaryPrimitives.ReadUInt64LittleEndian(index[8..]));
            if (!PageAligned(ranges[i].Offset) || !PageAligned(ranges[i].Length) || ranges[i].Offset > memorySize || ranges[i].Length > memorySize - ranges[i].Offset)
                throw new SnapshotInvalidException(Bad($"has an impossible data range {i}"), remedy);
        }
        var optionsLength = metadata[ProvenanceOffset + 32];
        var provenance = new RecordingProvenance(Convert.ToHexStringLower(metadata.AsSpan(ProvenanceOffset, 32)),
            System.Text.Encoding.ASCII.GetString(metadata, ProvenanceOffset + 33, optionsLength));
        return new RecordingFile(kind, snapshotId, regions, ranges, provenance);
    }

    /// <summary>Checks the recording as <see cref="Open"/> does, and that it was made <paramref name="madeWith"/>
    /// (an input and recorder options): a recording of another input or other options must be made again.</summary>
    public static void Check(string path, string kind, Snapshot snapshot, RecordingProvenance? madeWith)
    {
        var recording = Open(path, kind, snapshot);
        if (madeWith is not null && recording.Provenance != madeWith)
            throw new SnapshotInvalidException(
                $"the {kind} recording of '{snapshot.Folder.Function}' was made with another input or other options",
                SnapshotRemedy.Record(snapshot.Folder.Function, kind));
    }

    /// <summary>Everything but the checksum field itself.</summary>
    private static byte[] Checksummed(byte[] metadata)
    {
        var copy = (byte[])metadata.Clone();
        copy.AsSpan(96, 32).Clear();
        return copy;
    }

    private static bool PageAligned(ulong value) => value % GuestLayout.PageSize == 0;

    public static ulong AlignUp(ulong value) => GuestLayout.AlignUp(value, GuestLayout.PageSize);
}

/// <summary>What a recording was made with: the SHA-256 of its input and its recorder's options as text, so that
/// a recording made with another input or other settings is never taken for this one.</summary>
public sealed record RecordingProvenance(string InputSha256, string Options)
{
    public static RecordingProvenance Of(ReadOnlySpan<byte> input, string options) =>
        new(Convert.ToHexStringLower(SHA256.HashData(input)), options);
}

/// <summary>A recording's metadata with an open descriptor of the very file it was read from, and that file's
/// version (which tells one recording at a path from the next). Disposing closes the descriptor.</summary>
public sealed class PinnedRecording(RecordingFile recording, FileVersion version, Interop.SafeFd file) : IDisposable
{
    public RecordingFile Recording { get; } = recording;

    public FileVersion Version { get; } = version;

    public Interop.SafeFd File { get; } = file;

    public void Dispose() => File.Dispose();
}
