using NATS.Client.KeyValueStore;
using NATS.Net;
using Snapfn.Cluster.Artifacts;
using Snapfn.Platform;
using Snapfn.Snapshots;

namespace Snapfn.Cluster.Tests;

/// <summary>Content-addressed artifacts in a real three-node JetStream cluster: uploaded through one node, fetched
/// through another, with the local chunk cache and every check a fetch makes.</summary>
public sealed class ArtifactStoreTests(NatsClusterFixture fixture) : IDisposable
{
    private const int Chunk = ArtifactLimits.DefaultChunkSize;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-artifacts-");

    public void Dispose() => _dir.Delete(recursive: true);

    private ArtifactStore Store(NATS.Client.Core.INatsConnection connection, string cache, ArtifactLimits? limits = null) =>
        new(connection, new ChunkCache(Path.Combine(_dir.FullName, cache), 1L << 30), limits ?? new ArtifactLimits(), replicas: 3);

    /// <summary>A file of <paramref name="size"/> bytes, zero but for random bytes in each (offset, length).</summary>
    private string File(string name, long size, params (long Offset, int Length)[] data)
    {
        var path = Path.Combine(_dir.FullName, name);
        using var file = System.IO.File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        RandomAccess.SetLength(file, size);
        foreach (var (offset, length) in data)
        {
            var bytes = new byte[length];
            Random.Shared.NextBytes(bytes);
            RandomAccess.Write(file, bytes, offset);
        }
        return path;
    }

    private static void Scribble(string path, long offset)
    {
        using var file = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Write);
        var bytes = new byte[4096];
        Random.Shared.NextBytes(bytes);
        RandomAccess.Write(file, bytes, offset);
    }

    [Fact]
    public async Task A_file_with_zero_and_data_chunks_comes_back_whole_and_sparse_through_another_node()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = fixture.Connect(0);
        await using var second = fixture.Connect(1);
        // Chunk 0 data, 1 zero, 2 one page of data in the middle, 3 zero, 4 data, then a short last chunk of data.
        var size = 5L * Chunk + 1000;
        var source = File("memory.bin", size, (0, Chunk), (2L * Chunk + 8192, 4096), (4L * Chunk, Chunk), (5L * Chunk, 1000));
        System.IO.File.SetUnixFileMode(source, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var put = await Store(first, "a").PutAsync("memory", source, null, ct);
        var target = Path.Combine(_dir.FullName, "fetched.bin");
        var fetch = await Store(second, "b").FetchAsync(put.Id, target, ct);

        Assert.Equal(["", ""], new[] { put.Manifest.Chunks[1], put.Manifest.Chunks[3] });
        Assert.Equal(4, put.Manifest.Chunks.Count(c => c.Length > 0));
        Assert.Equal(4, fetch.ChunksFetched);
        Assert.Equal(3L * Chunk + 1000, fetch.BytesFetched); // chunk 2 travels whole, but is written sparse
        Assert.Equal(System.IO.File.ReadAllBytes(source), System.IO.File.ReadAllBytes(target));
        // Holes for the zero chunks and for the zero pages of chunk 2: what is allocated is about the data.
        var (apparent, allocated) = PageCache.Sizes(target);
        Assert.Equal(size, apparent);
        Assert.InRange(allocated, 2L * Chunk + 4096 + 1000, 2L * Chunk + 4 * 65536);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, System.IO.File.GetUnixFileMode(target));
    }

    [Fact]
    public async Task A_second_fetch_after_a_change_fetches_only_the_changed_chunks()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = fixture.Connect(0);
        await using var third = fixture.Connect(2);
        var source = File("state.bin", 6L * Chunk, (0, 6 * Chunk));
        var publisher = Store(first, "pub");
        var fetcher = Store(third, "node-c");
        var target = Path.Combine(_dir.FullName, "copy.bin");
        var before = await fetcher.FetchAsync((await publisher.PutAsync("memory", source, null, ct)).Id, target, ct);

        Scribble(source, 2L * Chunk + 4096);
        Scribble(source, 5L * Chunk);
        var republished = await publisher.PutAsync("memory", source, null, ct);
        var after = await fetcher.FetchAsync(republished.Id, target, ct);

        Assert.Equal(6, before.ChunksFetched);
        Assert.Equal(2, republished.ChunksUploaded);
        Assert.Equal(2, after.ChunksFetched);
        Assert.Equal(4, after.ChunksFromCache);
        Assert.Equal(System.IO.File.ReadAllBytes(source), System.IO.File.ReadAllBytes(target));
    }

    [Fact]
    public async Task A_manifest_missed_by_a_replica_is_read_from_the_streams_leader_and_an_absent_one_is_none()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = fixture.Connect(0);
        await using var second = fixture.Connect(2);
        var put = await Store(first, "a").PutAsync("memory", File("leader.bin", 2L * Chunk, (0, Chunk)), null, ct);
        var reader = Store(second, "b");

        var manifest = await reader.GetManifestAsync(put.Id, ct);

        Assert.Equal(put.Manifest.Sha256, manifest.Sha256);
        var absent = ArtifactId.Of("memory", new string('0', 64));
        var e = await Assert.ThrowsAsync<ArtifactException>(() => reader.GetManifestAsync(absent, ct));
        Assert.Contains($"artifact '{absent}' has no manifest in the cluster", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chunk_whose_content_is_not_its_name_is_refused_naming_the_artifact_and_chunk_and_is_not_cached()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = fixture.Connect(0);
        await using var second = fixture.Connect(1);
        var source = File("victim.bin", 3L * Chunk, (0, 3 * Chunk));
        var put = await Store(first, "a").PutAsync("memory", source, null, ct);
        var bad = put.Manifest.Chunks[1];
        // Other bytes under the same name: the object store's own digest is then right for them, only ours sees it.
        var objects = await first.CreateObjectStoreContext().GetObjectStoreAsync(ClusterNames.ChunksBucket, ct);
        var other = new byte[Chunk];
        Random.Shared.NextBytes(other);
        await objects.PutAsync(bad, other, ct);

        var fetcher = Store(second, "b");
        var target = Path.Combine(_dir.FullName, "never.bin");
        var e = await Assert.ThrowsAsync<ArtifactException>(() => fetcher.FetchAsync(put.Id, target, ct));

        Assert.Contains(put.Id, e.Message, StringComparison.Ordinal);
        Assert.Contains($"chunk 1 ({bad})", e.Message, StringComparison.Ordinal);
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
        Assert.False(fetcher.Cache.Contains(bad));
        Assert.True(fetcher.Cache.Contains(put.Manifest.Chunks[0])); // the good one before it was kept
        Assert.Equal(["victim.bin"], _dir.EnumerateFiles().Select(f => f.Name));
    }

    [Fact]
    public async Task A_chunk_longer_than_its_manifest_says_is_refused_at_the_buffers_end()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = fixture.Connect(0);
        await using var second = fixture.Connect(1);
        var source = File("long.bin", 3L * Chunk, (0, 3 * Chunk));
        var put = await Store(first, "a").PutAsync("memory", source, null, ct);
        var bad = put.Manifest.Chunks[1];
        var objects = await first.CreateObjectStoreContext().GetObjectStoreAsync(ClusterNames.ChunksBucket, ct);
        var longer = new byte[Chunk + 4096];
        Random.Shared.NextBytes(longer);
        await objects.PutAsync(bad, longer, ct);

        var fetcher = Store(second, "b");
        var e = await Assert.ThrowsAsync<ArtifactException>(() => fetcher.FetchAsync(put.Id, Path.Combine(_dir.FullName, "never.bin"), ct));

        Assert.Contains($"chunk 1 ({bad}) of artifact '{put.Id}' is longer than the {Chunk} bytes its manifest gives", e.Message, StringComparison.Ordinal);
        Assert.False(fetcher.Cache.Contains(bad));
        Assert.Equal(["long.bin"], _dir.EnumerateFiles().Select(f => f.Name));
    }

    [Fact]
    public async Task A_manifest_with_absurd_sizes_is_refused_before_anything_is_written()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = fixture.Connect(0);
        var store = Store(first, "a");
        await store.EnsureBucketsAsync(ct);
        var kv = await first.CreateKeyValueStoreContext().GetStoreAsync(ClusterNames.ManifestsBucket, ct);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray()));
        var id = ArtifactId.Of("memory", sha);
        // A petabyte in two chunks of 1 MiB: the size is over the limit before the chunk count is even looked at.
        var json = $$"""{"format":1,"size":1125899906842624,"sha256":"{{sha}}","mode":420,"chunk_size":1048576,"chunks":["",""]}""";
        await kv.PutAsync(id, System.Text.Encoding.UTF8.GetBytes(json), cancellationToken: ct);
        var target = Path.Combine(_dir.FullName, "huge.bin");

        var e = await Assert.ThrowsAsync<LimitExceededException>(() => store.FetchAsync(id, target, ct));

        Assert.Equal("artifact-size", e.Limit);
        Assert.Empty(_dir.EnumerateFiles());
    }

    [Fact]
    public async Task A_file_over_the_size_limit_is_not_published()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = fixture.Connect(0);
        var source = File("big.bin", 3L * Chunk, (0, 4096));

        var e = await Assert.ThrowsAsync<LimitExceededException>(() =>
            Store(first, "a", new ArtifactLimits { MaxFileBytes = 2L * Chunk }).PutAsync("memory", source, null, ct));

        Assert.Equal("artifact-size", e.Limit);
        Assert.Contains("MaxFileBytes", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"format":1,"size":3145728,"sha256":"SHA","mode":420,"chunk_size":1048576,"chunks":["",""]}""", "lists 2 chunks")]
    [InlineData("""{"format":1,"size":10,"sha256":"SHA","mode":420,"chunk_size":1073741824,"chunks":[""]}""", "chunk size")]
    [InlineData("""{"format":1,"size":-1,"sha256":"SHA","mode":420,"chunk_size":1048576,"chunks":[]}""", "negative size")]
    [InlineData("""{"format":1,"size":10,"sha256":"SHA","mode":420,"chunk_size":1048576,"chunks":["../../etc/passwd"]}""", "SHA-256")]
    [InlineData("""{"format":1,"size":10,"sha256":"SHA","mode":2048,"chunk_size":1048576,"chunks":[""]}""", "permission bits")]
    [InlineData("""{"format":1,"size":10,"sha256":"0000000000000000000000000000000000000000000000000000000000000000","mode":420,"chunk_size":1048576,"chunks":[""]}""", "digest its id names")]
    [InlineData("""{"format":2,"size":10,"sha256":"SHA","mode":420,"chunk_size":1048576,"chunks":[""]}""", "format 2")]
    [InlineData("""{"format":1,"size":10,"sha256":"SHA","mode":420,"chunk_size":1048576,"chunks":[""],"extra":1}""", "not valid")]
    [InlineData("""[1,2,3]""", "not valid")]
    public void A_malformed_manifest_is_refused_saying_what_is_wrong(string json, string expected)
    {
        var sha = new string('a', 64);
        var e = Assert.Throws<ArtifactException>(() =>
            ArtifactManifest.Parse(System.Text.Encoding.UTF8.GetBytes(json.Replace("SHA", sha, StringComparison.Ordinal)), ArtifactId.Of("state", sha), new ArtifactLimits()));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("state." + sha, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_longer_than_the_limit_is_refused_before_it_is_parsed()
    {
        var sha = new string('b', 64);
        var limits = new ArtifactLimits { MaxManifestBytes = 4096 };

        var e = Assert.Throws<LimitExceededException>(() => ArtifactManifest.Parse(new byte[4097], ArtifactId.Of("code", sha), limits));

        Assert.Equal("artifact-manifest", e.Limit);
    }
}
