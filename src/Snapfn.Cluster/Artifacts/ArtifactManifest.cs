using System.Text.Json;

namespace Snapfn.Cluster.Artifacts;

/// <summary>
/// One file in the cluster, as the key-value store holds it under its artifact id: its size, its SHA-256, its
/// permission bits and the ordered list of its chunks, each named by the SHA-256 of its content ("" for a chunk of
/// zeros, which is stored nowhere and written back as a hole). A snapshot's state file also carries the CPU
/// features of the host that took it. Everything read from the store is checked by <see cref="Parse"/> before use.
/// </summary>
public sealed record ArtifactManifest
{
    public const int CurrentFormat = 1;

    /// <summary>The entry of a chunk of zeros in <see cref="Chunks"/>.</summary>
    public const string ZeroChunk = "";


    public int Format { get; init; } = CurrentFormat;

    public required long Size { get; init; }

    /// <summary>SHA-256 of the whole file, lower-case hex.</summary>
    public required string Sha256 { get; init; }

    /// <summary>The file's permission bits (octal 0644, 0755); set-id bits are never restored.</summary>
    public required int Mode { get; init; }

    public required int ChunkSize { get; init; }

    public required IReadOnlyList<string> Chunks { get; init; }

    /// <summary>For a snapshot's state file: the CPU features of the host it was taken on.</summary>
    public CpuFeatures? Cpu { get; init; }

    /// <summary>The length of chunk <paramref name="index"/> (the last one may be short).</summary>
    public int LengthOf(int index) => (int)Math.Min(ChunkSize, Size - (long)index * ChunkSize);

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ClusterJson.Options);

    /// <summary>Parses and checks a manifest read from the store under <paramref name="artifactId"/>: its length, its
    /// format, every size and count against <paramref name="limits"/>, every chunk name, and that its digest is the
    /// one the id names. Throws <see cref="ArtifactException"/> for a malformed one and
    /// <see cref="Platform.LimitExceededException"/> for one over a limit.</summary>
    public static ArtifactManifest Parse(ReadOnlySpan<byte> json, string artifactId, ArtifactLimits limits)
    {
        var manifest = ClusterJson.Read<ArtifactManifest>(json, $"the manifest of artifact '{artifactId}'", limits);
        manifest.Check(artifactId, limits);
        return manifest;
    }

    private void Check(string artifactId, ArtifactLimits limits)
    {
        ArtifactException Bad(string what) => new($"the manifest of artifact '{artifactId}' {what}");
        if (Format != CurrentFormat)
            throw Bad($"has format {Format}; this Snapfn reads format {CurrentFormat} (run the same Snapfn on every node)");
        if (Size < 0)
            throw Bad($"gives a negative size ({Size})");
        if (Size > limits.MaxFileBytes)
            throw limits.FileTooLarge($"artifact '{artifactId}'", Size);
        if (ChunkSize is < ArtifactLimits.MinChunkSize or > ArtifactLimits.MaxChunkSize || !int.IsPow2(ChunkSize))
            throw Bad($"gives a chunk size of {ChunkSize} (a power of two between {ArtifactLimits.MinChunkSize} and {ArtifactLimits.MaxChunkSize})");
        var expected = (Size + ChunkSize - 1) / ChunkSize;
        if (Chunks is null || Chunks.Count != expected || Chunks.Count > limits.MaxChunks(ChunkSize))
            throw Bad($"lists {Chunks?.Count ?? 0} chunks for {Size} bytes in chunks of {ChunkSize} (expected {expected})");
        foreach (var chunk in Chunks)
        {
            if (chunk is null || (chunk.Length != 0 && !IsSha256(chunk)))
                throw Bad("names a chunk by something other than a SHA-256 in lower-case hex");
        }
        if (!IsSha256(Sha256) || !string.Equals(ArtifactId.DigestOf(artifactId), Sha256, StringComparison.Ordinal))
            throw Bad("does not give the digest its id names");
        if (Mode is < 0 or > 0x1FF)
            throw Bad($"gives permission bits {Mode} outside 0-0777");
    }

    internal static bool IsSha256(string? text) =>
        text is { Length: 64 } && text.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
