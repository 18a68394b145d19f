using Snapfn.Interop;

namespace Snapfn.Snapshots.Recording;

/// <summary>
/// Replaces a live recording with a new one made beside it, atomically: the new file is written in full and
/// flushed under a staging name (<see cref="RecordingWriter"/> does both), then renamed over the live name and
/// the directory flushed. A restore that opened the old file keeps its descriptor and mappings, so it finishes on
/// the old inode (<see cref="RecordingFile.Pin"/>); a restore that opens the name afterwards gets the new one;
/// none ever sees a mix. A crash leaves either file whole, plus perhaps a staging file for <see cref="DeleteStale"/>.
/// </summary>
public static class RecordingSwap
{
    private const string Marker = ".staged-";

    /// <summary>A fresh staging name beside <paramref name="livePath"/> (same directory: the rename stays atomic).</summary>
    public static string StagingPath(string livePath)
    {
        ArgumentNullException.ThrowIfNull(livePath);
        return $"{livePath}{Marker}{Guid.NewGuid():N}";
    }

    /// <summary>Renames the flushed <paramref name="stagedPath"/> over <paramref name="livePath"/> and makes the rename durable.</summary>
    public static void Swap(string stagedPath, string livePath)
    {
        ArgumentNullException.ThrowIfNull(stagedPath);
        ArgumentNullException.ThrowIfNull(livePath);
        if (!string.Equals(Path.GetDirectoryName(Path.GetFullPath(stagedPath)), Path.GetDirectoryName(Path.GetFullPath(livePath)), StringComparison.Ordinal))
            throw new ArgumentException("a staged recording must be in its live recording's directory (rename is atomic only there)", nameof(stagedPath));
        File.Move(stagedPath, livePath, overwrite: true);
        DurableFile.FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(livePath))!);
    }

    /// <summary>Deletes a staged recording that will not be used (its function changed while it was made).</summary>
    public static void Discard(string stagedPath)
    {
        ArgumentNullException.ThrowIfNull(stagedPath);
        File.Delete(stagedPath);
    }

    /// <summary>Deletes staging files left beside <paramref name="livePath"/> by a process that stopped mid-recording.</summary>
    public static void DeleteStale(string livePath)
    {
        ArgumentNullException.ThrowIfNull(livePath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(livePath))!;
        if (!Directory.Exists(directory))
            return;
        foreach (var stale in Directory.EnumerateFiles(directory, Path.GetFileName(livePath) + Marker + "*"))
            File.Delete(stale);
    }
}
