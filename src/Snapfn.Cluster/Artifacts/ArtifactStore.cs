using System.Buffers;
using System.Security.Cryptography;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using NATS.Net;
using Snapfn.Interop;

namespace Snapfn.Cluster.Artifacts;

/// <summary>What <see cref="ArtifactStore.PutAsync"/> did.</summary>
public sealed record ArtifactPut(string Id, ArtifactManifest Manifest, long ChunksUploaded, long BytesUploaded);

/// <summary>What <see cref="ArtifactStore.FetchAsync"/> did: chunks and bytes that came over the network, and chunks
/// taken from the local cache instead.</summary>
public sealed record ArtifactFetch(ArtifactManifest Manifest, long ChunksFetched, long BytesFetched, long ChunksFromCache);

/// <summary>
/// Files in the cluster, content-addressed: a file is cut into chunks of <see cref="ArtifactLimits.ChunkSize"/>,
/// each stored once in the object store (<see cref="ClusterNames.ChunksBucket"/>) under the SHA-256 of its content
/// and uploaded only when absent; chunks of zeros (most of a sparse snapshot memory file) are stored nowhere. Its
/// manifest goes into <see cref="ClusterNames.ManifestsBucket"/> under its <see cref="ArtifactId"/>, after its chunks,
/// so a manifest never names a chunk that is not there yet. A fetch checks every chunk against its name, takes what
/// the local <see cref="ChunkCache"/> has, writes the file under a temporary name with zero pages left as holes,
/// checks the whole file's digest, flushes and renames it into place.
/// </summary>
public sealed class ArtifactStore
{
    private const int Page = 4096;
    private static readonly byte[] _zeros = new byte[ArtifactLimits.MaxChunkSize];
    private readonly INatsConnection _connection;
    private readonly ArtifactLimits _limits;
    private readonly int _replicas;
    private readonly LeaderReads _leader;
    private INatsObjStore? _chunks;
    private INatsKVStore? _manifests;

    public ArtifactStore(INatsConnection connection, ChunkCache cache, ArtifactLimits limits, int replicas)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        _connection = connection;
        Cache = cache;
        _limits = limits;
        _replicas = replicas;
        _leader = new LeaderReads(connection);
    }

    /// <summary>A chunk already in the cluster is relied on by a publish only if it was uploaded less than this long
    /// ago; an older one is uploaded again (so that the chunk collector, which deletes only chunks older than its grace,
    /// cannot delete it under the publish: <see cref="ChunkCollector"/>).</summary>
    public static readonly TimeSpan ReuseAge = TimeSpan.FromMinutes(10);

    public ChunkCache Cache { get; }

    /// <summary>The clock the chunks' upload times are compared with (a seam for tests).</summary>
    internal TimeProvider Time { get; init; } = TimeProvider.System;

    public ArtifactLimits Limits => _limits;

    /// <summary>Uploads <paramref name="path"/> as an artifact of <paramref name="role"/>: its chunks the cluster lacks,
    /// then its manifest (carrying <paramref name="cpu"/> when given).</summary>
    public async Task<ArtifactPut> PutAsync(string role, string path, CpuFeatures? cpu, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (chunks, manifests) = await StoresAsync(ct).ConfigureAwait(false);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var size = RandomAccess.GetLength(file);
        if (size > _limits.MaxFileBytes)
            throw _limits.FileTooLarge(path, size);
        var chunkSize = _limits.ChunkSize;
        var buffer = new byte[chunkSize];
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long uploaded = 0, uploadedBytes = 0;
        // Chunks are hashed in order (the whole file's digest needs it) and uploaded in parallel, at most
        // ChunksInFlight at once, each from its own copy.
        using var gate = new SemaphoreSlim(_limits.ChunksInFlight);
        var uploads = new List<Task>();
        async Task UploadAsync(string name, byte[] copy, int length)
        {
            try
            {
                if (await UploadedAsync(chunks, name, ct).ConfigureAwait(false) is { } at && Time.GetUtcNow() - at < ReuseAge)
                    return;
                using var stream = new MemoryStream(copy, 0, length, writable: false);
                await chunks.PutAsync(name, stream, leaveOpen: true, ct).ConfigureAwait(false);
                Interlocked.Increment(ref uploaded);
                Interlocked.Add(ref uploadedBytes, length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(copy);
                gate.Release();
            }
        }
        for (long offset = 0; offset < size; offset += chunkSize)
        {
            var length = (int)Math.Min(chunkSize, size - offset);
            var content = buffer.AsMemory(0, length);
            if (RandomAccess.Read(file, content.Span, offset) != length)
                throw new IOException($"{path} changed while it was uploaded (shorter than {size} bytes): publish it again");
            whole.AppendData(content.Span);
            if (content.Span.IndexOfAnyExcept((byte)0) < 0)
            {
                names.Add(ArtifactManifest.ZeroChunk);
                continue;
            }
            var name = Convert.ToHexStringLower(SHA256.HashData(content.Span));
            names.Add(name);
            if (!seen.Add(name))
                continue;
            await gate.WaitAsync(ct).ConfigureAwait(false);
            var copy = ArrayPool<byte>.Shared.Rent(length);
            content.Span.CopyTo(copy);
            uploads.Add(UploadAsync(name, copy, length));
        }
        await Task.WhenAll(uploads).ConfigureAwait(false);
        var sha = Convert.ToHexStringLower(whole.GetHashAndReset());
        var mode = (int)File.GetUnixFileMode(file) & 0x1FF;
        var manifest = new ArtifactManifest { Size = size, Sha256 = sha, Mode = mode, ChunkSize = chunkSize, Chunks = names, Cpu = cpu };
        var id = ArtifactId.Of(role, sha);
        var json = manifest.ToJson();
        if (json.Length > _limits.MaxManifestBytes)
            throw _limits.ManifestTooLarge($"the manifest of {path}", json.Length);
        await manifests.PutAsync(id, json, cancellationToken: ct).ConfigureAwait(false);
        return new ArtifactPut(id, manifest, uploaded, uploadedBytes);
    }

    /// <summary>The manifest stored under <paramref name="id"/>, checked (<see cref="ArtifactManifest.Parse"/>).</summary>
    public async Task<ArtifactManifest> GetManifestAsync(string id, CancellationToken ct)
    {
        if (!ArtifactId.IsValid(id))
            throw new ArtifactException($"'{id}' is not an artifact id (a function record names it): publish the function again");
        _ = await StoresAsync(ct).ConfigureAwait(false);
        // From the bucket's leader: a manifest another node has just written is there (LeaderReads).
        var json = (await _leader.GetKeyAsync(ClusterNames.ManifestsBucket, id, ct).ConfigureAwait(false))?.Value;
        if (json is null)
            throw new ArtifactException($"artifact '{id}' has no manifest in the cluster (bucket {ClusterNames.ManifestsBucket}): publish the function again from a node that holds it");
        return ArtifactManifest.Parse(json, id, _limits);
    }

    /// <summary>Writes artifact <paramref name="id"/> to <paramref name="destination"/> (replaced atomically; its
    /// folder must exist). Nothing is left at the destination or in the cache when a chunk or the file is wrong.
    /// <paramref name="check"/> sees the manifest before anything is written (a caller's own bound).</summary>
    public async Task<ArtifactFetch> FetchAsync(string id, string destination, CancellationToken ct, Action<ArtifactManifest>? check = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var manifest = await GetManifestAsync(id, ct).ConfigureAwait(false);
        check?.Invoke(manifest);
        var (chunks, _) = await StoresAsync(ct).ConfigureAwait(false);
        var temporary = $"{destination}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        long fetched = 0, fetchedBytes = 0, cached = 0;
        var prefetched = await PrefetchAsync(chunks, id, manifest, ct).ConfigureAwait(false);
        fetched = prefetched.Count;
        fetchedBytes = prefetched.Values.Sum();
        try
        {
            using (var file = File.OpenHandle(temporary, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                // The file's length first: every page not written below stays a hole.
                RandomAccess.SetLength(file, manifest.Size);
                var buffer = new byte[manifest.ChunkSize];
                using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                for (var i = 0; i < manifest.Chunks.Count; i++)
                {
                    var name = manifest.Chunks[i];
                    var length = manifest.LengthOf(i);
                    if (name.Length == 0)
                    {
                        whole.AppendData(_zeros, 0, length);
                        continue;
                    }
                    var content = buffer.AsMemory(0, length);
                    if (Cache.TryRead(name, content.Span))
                    {
                        cached += prefetched.ContainsKey(name) ? 0 : 1;
                    }
                    else
                    {
                        // Not prefetched (the cache cannot hold it) or evicted since by another fetch's trim.
                        await GetChunkAsync(chunks, id, i, name, content, ct).ConfigureAwait(false);
                        Cache.Put(name, content.Span);
                        fetched++;
                        fetchedBytes += length;
                    }
                    whole.AppendData(content.Span);
                    WriteNonZeroPages(file, content.Span, (long)i * manifest.ChunkSize);
                }
                var sha = Convert.ToHexStringLower(whole.GetHashAndReset());
                if (!string.Equals(sha, manifest.Sha256, StringComparison.Ordinal))
                    throw new ArtifactException($"artifact '{id}' assembled from its chunks hashes to {sha}, not {manifest.Sha256}: publish the function again from a node that holds it");
                DurableFile.Flush(file, temporary);
            }
            File.SetUnixFileMode(temporary, (UnixFileMode)(manifest.Mode & 0x1FF));
            File.Move(temporary, destination, overwrite: true);
            DurableFile.FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        Cache.Trim();
        return new ArtifactFetch(manifest, fetched, fetchedBytes, cached);
    }

    /// <summary>Fetches the distinct chunks of <paramref name="manifest"/> the cache lacks into the cache, at most
    /// <see cref="ArtifactLimits.ChunksInFlight"/> at once, each checked against its name before it is kept; returns
    /// them with their lengths. The file is then assembled in order from the cache.</summary>
    private async Task<Dictionary<string, long>> PrefetchAsync(INatsObjStore chunks, string id, ArtifactManifest manifest, CancellationToken ct)
    {
        var missing = new Dictionary<string, int>(StringComparer.Ordinal); // name -> its first index
        for (var i = 0; i < manifest.Chunks.Count; i++)
        {
            var name = manifest.Chunks[i];
            if (name.Length > 0 && !missing.ContainsKey(name) && !Cache.Contains(name))
                missing[name] = i;
        }
        var done = new Dictionary<string, long>(StringComparer.Ordinal);
        if (missing.Count == 0 || !Cache.CanHold(manifest.ChunkSize))
            return done;
        var queue = new Queue<KeyValuePair<string, int>>(missing);
        var failed = false;
        async Task Worker()
        {
            var buffer = new byte[manifest.ChunkSize];
            while (true)
            {
                KeyValuePair<string, int> next;
                lock (queue)
                {
                    if (failed || !queue.TryDequeue(out next))
                        return;
                }
                var length = manifest.LengthOf(next.Value);
                try
                {
                    await GetChunkAsync(chunks, id, next.Value, next.Key, buffer.AsMemory(0, length), ct).ConfigureAwait(false);
                }
                catch
                {
                    lock (queue)
                        failed = true;
                    throw;
                }
                Cache.Put(next.Key, buffer.AsSpan(0, length));
                lock (done)
                    done[next.Key] = length;
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Math.Min(_limits.ChunksInFlight, missing.Count)).Select(_ => Worker())).ConfigureAwait(false);
        return done;
    }

    /// <summary>Creates the chunk and manifest buckets with this node's replica count where they do not exist.</summary>
    public async Task EnsureBucketsAsync(CancellationToken ct) => _ = await StoresAsync(ct).ConfigureAwait(false);

    private async Task<(INatsObjStore Chunks, INatsKVStore Manifests)> StoresAsync(CancellationToken ct)
    {
        if (_chunks is { } c && _manifests is { } m)
            return (c, m);
        var objects = _connection.CreateObjectStoreContext();
        var chunks = await BucketSetup.RetryAsync(async () =>
        {
            try
            {
                return await objects.GetObjectStoreAsync(ClusterNames.ChunksBucket, ct).ConfigureAwait(false);
            }
            catch (NATS.Client.JetStream.NatsJSApiException e) when (e.Error.Code == 404)
            {
                return await objects.CreateObjectStoreAsync(
                    new NatsObjConfig(ClusterNames.ChunksBucket) { NumberOfReplicas = _replicas, Description = "Snapfn: content-addressed chunks of code, snapshots and recordings" },
                    ct).ConfigureAwait(false);
            }
        }, ct).ConfigureAwait(false);
        var kv = _connection.CreateKeyValueStoreContext();
        var manifests = await BucketSetup.RetryAsync(() => kv.CreateOrUpdateStoreAsync(
            new NatsKVConfig(ClusterNames.ManifestsBucket) { NumberOfReplicas = _replicas, History = 1, MaxValueSize = _limits.MaxManifestBytes, Description = "Snapfn: artifact manifests" },
            ct).AsTask(), ct).ConfigureAwait(false);
        _chunks = chunks;
        _manifests = manifests;
        return (chunks, manifests);
    }

    /// <summary>When the chunk was uploaded, or null when the cluster does not have it.</summary>
    private static async Task<DateTimeOffset?> UploadedAsync(INatsObjStore chunks, string name, CancellationToken ct)
    {
        try
        {
            return (await chunks.GetInfoAsync(name, cancellationToken: ct).ConfigureAwait(false)).MTime;
        }
        catch (NatsObjNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Reads chunk <paramref name="index"/> (named <paramref name="name"/>) into <paramref name="content"/>,
    /// which is exactly as long as the chunk must be, and checks it against its name.</summary>
    private static async Task GetChunkAsync(INatsObjStore chunks, string id, int index, string name, Memory<byte> content, CancellationToken ct)
    {
        string What() => $"chunk {index} ({name}) of artifact '{id}'";
        var sink = new BoundedStream(content);
        try
        {
            await chunks.GetAsync(name, sink, leaveOpen: true, ct).ConfigureAwait(false);
        }
        catch (NatsObjNotFoundException e)
        {
            throw new ArtifactException($"{What()} is missing from the cluster's object store ({ClusterNames.ChunksBucket}): publish the function again from a node that holds it", e);
        }
        catch (ArtifactException e) when (sink.Overflowed)
        {
            throw new ArtifactException($"{What()} is longer than the {content.Length} bytes its manifest gives: refused; publish the function again from a node that holds it", e);
        }
        catch (NatsObjException e)
        {
            throw new ArtifactException($"{What()} could not be read from the cluster's object store: {e.Message}", e);
        }
        if (sink.Written != content.Length)
            throw new ArtifactException($"{What()} is {sink.Written} bytes, not the {content.Length} its manifest gives: refused; publish the function again from a node that holds it");
        if (!ChunkCache.Matches(name, content.Span))
            throw new ArtifactException($"{What()} is corrupt: its content does not hash to its name; refused and not cached. Publish the function again from a node that holds it");
    }

    /// <summary>Writes the runs of non-zero 4 KiB pages of <paramref name="content"/> at <paramref name="offset"/>:
    /// zero pages inside a chunk stay holes too, as the snapshot writer leaves them.</summary>
    private static void WriteNonZeroPages(Microsoft.Win32.SafeHandles.SafeFileHandle file, ReadOnlySpan<byte> content, long offset)
    {
        var runStart = -1;
        for (var at = 0; ; at += Page)
        {
            var nonZero = at < content.Length && content.Slice(at, Math.Min(Page, content.Length - at)).IndexOfAnyExcept((byte)0) >= 0;
            if (nonZero && runStart < 0)
                runStart = at;
            if (!nonZero && runStart >= 0)
            {
                RandomAccess.Write(file, content[runStart..Math.Min(at, content.Length)], offset + runStart);
                runStart = -1;
            }
            if (at >= content.Length)
                return;
        }
    }

    /// <summary>A write-only stream into a buffer of fixed length: a chunk longer than its manifest says stops at
    /// the buffer's end instead of growing anything.</summary>
    private sealed class BoundedStream(Memory<byte> buffer) : Stream
    {
        public int Written { get; private set; }

        /// <summary>A write went past the buffer's end (and was refused with an <see cref="ArtifactException"/>, which
        /// the caller words with the chunk's name).</summary>
        public bool Overflowed { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written;

        public override long Position { get => Written; set => throw new NotSupportedException(); }

        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> data)
        {
            if (data.Length > buffer.Length - Written)
            {
                Overflowed = true;
                throw new ArtifactException("more bytes than the chunk may have");
            }
            data.CopyTo(buffer.Span[Written..]);
            Written += data.Length;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            Write(data.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }
    }
}
