using System.Buffers.Binary;
using System.IO.Hashing;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>
/// What a snapshot's memory file held when it was written, kept in the state file for `snapfn verify`: guest
/// memory in chunks of <see cref="ChunkSize"/>, each an XXH128 over its non-zero pages with their offsets. Zero
/// pages count for nothing, so a sparse file is hashed by its data alone (the holes are never read) and a zero
/// page written out reads the same as a hole. XXH128 is not a MAC: this finds corruption (a disk, a copy, a stray
/// write), not a forger, who could rewrite the state file too (docs/trust-model.md).
/// </summary>
public sealed class MemoryDigest
{
    /// <summary>At most this many chunks, so the state file stays small for any guest size.</summary>
    public const int MaxChunks = 1024;

    private const ulong Page = GuestLayout.PageSize;

    public MemoryDigest(ulong chunkSize, IReadOnlyList<UInt128> chunks)
    {
        ChunkSize = chunkSize;
        Chunks = chunks;
    }

    public ulong ChunkSize { get; }

    public IReadOnlyList<UInt128> Chunks { get; }

    /// <summary>One XXH128 over the chunks' digests, to print.</summary>
    public string Summary
    {
        get
        {
            var hash = new XxHash128();
            Span<byte> bytes = stackalloc byte[16];
            foreach (var chunk in Chunks)
            {
                BinaryPrimitives.WriteUInt128LittleEndian(bytes, chunk);
                hash.Append(bytes);
            }
            return "xxh128:" + Convert.ToHexStringLower(hash.GetCurrentHash());
        }
    }

    /// <summary>2 MiB, or more for guests larger than <see cref="MaxChunks"/> × 2 MiB.</summary>
    public static ulong ChunkSizeFor(ulong memorySize) =>
        Math.Max(GuestLayout.LargePageSize, GuestLayout.AlignUp((memorySize + MaxChunks - 1) / MaxChunks, GuestLayout.LargePageSize));

    /// <summary>The chunks whose digests differ from <paramref name="expected"/>'s, as guest-memory ranges.</summary>
    public IReadOnlyList<(ulong Start, ulong End)> Mismatches(MemoryDigest expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (expected.ChunkSize != ChunkSize || expected.Chunks.Count != Chunks.Count)
            throw new ArgumentException("the digests are of different chunkings", nameof(expected));
        var ranges = new List<(ulong, ulong)>();
        for (var i = 0; i < Chunks.Count; i++)
        {
            if (Chunks[i] != expected.Chunks[i])
                ranges.Add(((ulong)i * ChunkSize, (ulong)(i + 1) * ChunkSize));
        }
        return ranges;
    }

    /// <summary>Computes the digest of a memory file of <paramref name="memorySize"/> bytes, reading only its data
    /// ranges (SEEK_DATA/SEEK_HOLE); <paramref name="bytesRead"/> is how much it read.</summary>
    public static MemoryDigest OfFile(string path, ulong memorySize, out ulong bytesRead)
    {
        var builder = new Builder(memorySize);
        const int block = 1 << 20;
        var buffer = new byte[block];
        bytesRead = 0;
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        foreach (var data in SparseMap.DataRanges(path))
        {
            var end = Math.Min(data.End, memorySize);
            for (var offset = data.Offset; offset < end;)
            {
                var want = (int)Math.Min(block, end - offset);
                var read = RandomAccess.Read(file, buffer.AsSpan(0, want), (long)offset);
                if (read <= 0)
                    throw new IOException($"reading {path} at {offset} returned {read}: the file is shorter than its data ranges");
                bytesRead += (ulong)read;
                for (var page = 0; page + (int)Page <= read; page += (int)Page)
                    builder.Add(offset + (ulong)page, buffer.AsSpan(page, (int)Page));
                offset += (ulong)read;
            }
        }
        return builder.Build();
    }

    /// <summary>Takes the pages of a memory file in offset order; zero pages may be given or left out.</summary>
    public sealed class Builder(ulong memorySize)
    {
        private readonly ulong _chunkSize = ChunkSizeFor(memorySize);
        private readonly UInt128[] _chunks = new UInt128[(memorySize + ChunkSizeFor(memorySize) - 1) / ChunkSizeFor(memorySize)];
        private readonly XxHash128 _hash = new();
        private long _chunk = -1;
        private ulong _last;
        private bool _any;

        public void Add(ulong offset, ReadOnlySpan<byte> page)
        {
            if (_any && offset < _last || offset / _chunkSize >= (ulong)_chunks.Length)
                throw new ArgumentException($"page at 0x{offset:x} is out of order or outside the memory", nameof(offset));
            _any = true;
            _last = offset + Page;
            if (page.IndexOfAnyExcept((byte)0) < 0)
                return;
            var chunk = (long)(offset / _chunkSize);
            if (chunk != _chunk)
            {
                Flush();
                _chunk = chunk;
            }
            Span<byte> at = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(at, offset);
            _hash.Append(at);
            _hash.Append(page);
        }

        public MemoryDigest Build()
        {
            Flush();
            return new MemoryDigest(_chunkSize, _chunks);
        }

        private void Flush()
        {
            if (_chunk >= 0)
                _chunks[_chunk] = _hash.GetCurrentHashAsUInt128();
            _hash.Reset();
            _chunk = -1;
        }
    }
}
