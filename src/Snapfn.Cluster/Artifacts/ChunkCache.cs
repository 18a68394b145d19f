using System.Security.Cryptography;

namespace Snapfn.Cluster.Artifacts;

/// <summary>
/// Chunks this node has fetched, under $SNAPFN_HOME/cluster/chunks/ab/abcd… (named by their SHA-256): a second fetch
/// of a retaken snapshot takes from here the chunks it already has and asks the cluster only for the others. A chunk
/// is checked against its name each time it is read, and dropped when it does not match, so a torn or damaged file
/// costs a fetch, never a wrong byte; that is also why files here are not flushed (the cluster has every chunk). The
/// cache is bounded (<see cref="ArtifactLimits.MaxCacheBytes"/>): least recently used chunks go first.
/// </summary>
public sealed class ChunkCache
{
    private readonly long _maxBytes;

    public ChunkCache(string root, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = root;
        _maxBytes = maxBytes;
    }

    public string Root { get; }

    /// <summary>Reads chunk <paramref name="sha256"/> into <paramref name="buffer"/> (exactly its length); false
    /// when the cache lacks it or holds something else under its name (then dropped).</summary>
    public bool TryRead(string sha256, Span<byte> buffer)
    {
        var path = PathOf(sha256);
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            if (RandomAccess.GetLength(file) != buffer.Length || RandomAccess.Read(file, buffer, 0) != buffer.Length)
            {
                file.Dispose();
                Drop(path);
                return false;
            }
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
        if (!Matches(sha256, buffer))
        {
            Drop(path);
            return false;
        }
        // Recently used: the bound's eviction goes by modification time.
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
        return true;
    }

    /// <summary>Whether a chunk of <paramref name="length"/> bytes may be kept (a cache bounded below it keeps none).</summary>
    public bool CanHold(long length) => length <= _maxBytes;

    /// <summary>Keeps a chunk whose content was checked against its name.</summary>
    public void Put(string sha256, ReadOnlySpan<byte> content)
    {
        if (!CanHold(content.Length))
            return;
        var path = PathOf(sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        using (var file = File.OpenHandle(temporary, FileMode.CreateNew, FileAccess.Write))
            RandomAccess.Write(file, content, 0);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Whether the cache holds a file under <paramref name="sha256"/>'s name (for tests).</summary>
    public bool Contains(string sha256) => File.Exists(PathOf(sha256));

    /// <summary>Deletes the least recently used chunks until the cache is within its bound.</summary>
    public void Trim()
    {
        if (!Directory.Exists(Root))
            return;
        var files = new DirectoryInfo(Root).EnumerateFiles("*", SearchOption.AllDirectories).ToList();
        var total = files.Sum(f => f.Length);
        foreach (var file in files.OrderBy(f => f.LastWriteTimeUtc))
        {
            if (total <= _maxBytes)
                break;
            total -= file.Length;
            Drop(file.FullName);
        }
    }

    public static bool Matches(string sha256, ReadOnlySpan<byte> content)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(content, digest);
        return string.Equals(Convert.ToHexStringLower(digest), sha256, StringComparison.Ordinal);
    }

    private string PathOf(string sha256)
    {
        // Names come from manifests checked by ArtifactManifest.Parse; this is the last guard against a path.
        if (!ArtifactManifest.IsSha256(sha256))
            throw new ArgumentException($"'{sha256}' is not a chunk name", nameof(sha256));
        return Path.Combine(Root, sha256[..2], sha256);
    }

    private static void Drop(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Another fetch dropped or replaced it.
        }
    }
}
