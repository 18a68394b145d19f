using System.Diagnostics;
using System.Globalization;

namespace Snapfn.Snapshots;

/// <summary>What `snapfn verify` found: the memory file's digest, how many bytes of data it read, and the ranges
/// of guest memory whose contents differ from what was written.</summary>
public sealed record MemoryVerification(string Function, string MemoryPath, string Digest, ulong BytesRead, double Milliseconds,
    IReadOnlyList<(ulong Start, ulong End)> Mismatches)
{
    public bool Ok => Mismatches.Count == 0;
}

/// <summary>
/// Checks a snapshot's whole memory file against the digest its state file keeps (<see cref="MemoryDigest"/>).
/// Restores do not run it (they read only the pages a guest touches, and a guest's own bytes are its own state:
/// docs/trust-model.md); it is for an operator who suspects the disk or a copy.
/// </summary>
public static class SnapshotVerifier
{
    public static MemoryVerification Verify(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var start = Stopwatch.GetTimestamp();
        var actual = MemoryDigest.OfFile(snapshot.MemoryPath, snapshot.State.MemorySize, out var bytesRead);
        return new MemoryVerification(snapshot.Folder.Function, snapshot.MemoryPath, actual.Summary, bytesRead,
            Stopwatch.GetElapsedTime(start).TotalMilliseconds, actual.Mismatches(snapshot.State.MemoryDigest));
    }

    /// <summary>Throws <see cref="SnapshotInvalidException"/> (take the snapshot again) naming the ranges that differ.</summary>
    public static MemoryVerification Check(Snapshot snapshot)
    {
        var result = Verify(snapshot);
        if (!result.Ok)
        {
            var ranges = string.Join(", ", result.Mismatches.Take(8).Select(r =>
                string.Create(CultureInfo.InvariantCulture, $"0x{r.Start:x}-0x{r.End:x}")));
            var more = result.Mismatches.Count > 8 ? $" and {result.Mismatches.Count - 8} more" : "";
            throw new SnapshotInvalidException(
                $"snapshot memory file {result.MemoryPath} of '{result.Function}' does not match the digest written with it: " +
                $"guest memory {ranges}{more} changed since the snapshot was taken", snapshot.Folder.Remedy);
        }
        return result;
    }
}
