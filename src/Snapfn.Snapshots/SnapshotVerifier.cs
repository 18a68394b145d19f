using System.Diagnostics;
using System.Globalization;
using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Snapshots;

/// <summary>What `snapfn verify` found: the memory file's digest, how many bytes of data it read, the ranges of
/// guest memory whose contents differ from what was written, and the same for each recording beside it.</summary>
public sealed record MemoryVerification(string Function, string MemoryPath, string Digest, ulong BytesRead, double Milliseconds,
    IReadOnlyList<(ulong Start, ulong End)> Mismatches, IReadOnlyList<RecordingVerification> Recordings)
{
    public bool Ok => Mismatches.Count == 0 && Recordings.All(r => r.Mismatches.Count == 0);
}

/// <summary>A recording's page data compared with the memory file it was copied from.</summary>
public sealed record RecordingVerification(string Path, string Kind, ulong BytesCompared, IReadOnlyList<(ulong Start, ulong End)> Mismatches);

/// <summary>
/// Checks a snapshot's whole memory file against the digest its state file keeps (<see cref="MemoryDigest"/>),
/// then each recording's pages against the memory file they were copied from (their header and index carry their
/// own checksum; their pages do not). Restores do not run it (they read only the pages a guest touches, and a
/// guest's own bytes are its own state: docs/trust-model.md); it is for an operator who suspects the disk or a copy.
/// </summary>
public static class SnapshotVerifier
{
    public static MemoryVerification Verify(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var start = Stopwatch.GetTimestamp();
        var actual = MemoryDigest.OfFile(snapshot.MemoryPath, snapshot.State.MemorySize, out var bytesRead);
        var mismatches = actual.Mismatches(snapshot.State.MemoryDigest);
        // A recording is compared only with a memory file known good: else a difference could be either's.
        var recordings = mismatches.Count > 0 ? [] : Recordings(snapshot);
        return new MemoryVerification(snapshot.Folder.Function, snapshot.MemoryPath, actual.Summary, bytesRead,
            Stopwatch.GetElapsedTime(start).TotalMilliseconds, mismatches, recordings);
    }

    /// <summary>Throws <see cref="SnapshotInvalidException"/> naming the ranges that differ: take the snapshot again
    /// for the memory file, record again for a recording.</summary>
    public static MemoryVerification Check(Snapshot snapshot)
    {
        var result = Verify(snapshot);
        if (result.Mismatches.Count > 0)
        {
            throw new SnapshotInvalidException(
                $"snapshot memory file {result.MemoryPath} of '{result.Function}' does not match the digest written with it: " +
                $"guest memory {Ranges(result.Mismatches)} changed since the snapshot was taken", snapshot.Folder.Remedy);
        }
        if (result.Recordings.FirstOrDefault(r => r.Mismatches.Count > 0) is { } recording)
        {
            throw new SnapshotInvalidException(
                $"{recording.Kind} recording {recording.Path} of '{result.Function}' differs from the snapshot's memory in " +
                $"guest memory {Ranges(recording.Mismatches)}", SnapshotRemedy.Record(result.Function, recording.Kind));
        }
        return result;
    }

    private static RecordingVerification[] Recordings(Snapshot snapshot)
    {
        var files = RestoreModes.All.Select(m => m.Recorder?.FileName).OfType<string>().Distinct()
            .Select(snapshot.Folder.File).Where(File.Exists);
        var checks = new List<RecordingVerification>();
        foreach (var path in files)
        {
            var kind = RecordingFile.KindOf(path) ?? Path.GetFileNameWithoutExtension(path);
            // Checks the header, the index and that it was made from this snapshot; a bad one throws with its remedy.
            var recording = RecordingFile.Open(path, kind, snapshot);
            checks.Add(Compare(path, kind, recording, snapshot.MemoryPath));
        }
        return [.. checks];
    }

    private static RecordingVerification Compare(string path, string kind, RecordingFile recording, string memoryPath)
    {
        const int block = 1 << 20;
        var expected = new byte[block];
        var actual = new byte[block];
        var mismatches = new List<(ulong, ulong)>();
        ulong compared = 0;
        using var memory = File.OpenHandle(memoryPath, FileMode.Open, FileAccess.Read);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        foreach (var region in recording.Regions)
        {
            for (ulong done = 0; done < region.Length;)
            {
                var part = (int)Math.Min(block, region.Length - done);
                var a = RandomAccess.Read(memory, expected.AsSpan(0, part), (long)(region.GuestOffset + done));
                var b = RandomAccess.Read(file, actual.AsSpan(0, part), (long)(region.FileOffset + done));
                if (a != part || b != part || !expected.AsSpan(0, part).SequenceEqual(actual.AsSpan(0, part)))
                    mismatches.Add((region.GuestOffset + done, region.GuestOffset + done + (ulong)part));
                compared += (ulong)part;
                done += (ulong)part;
            }
        }
        return new RecordingVerification(path, kind, compared, mismatches);
    }

    private static string Ranges(IReadOnlyList<(ulong Start, ulong End)> ranges)
    {
        var shown = string.Join(", ", ranges.Take(8).Select(r => string.Create(CultureInfo.InvariantCulture, $"0x{r.Start:x}-0x{r.End:x}")));
        return ranges.Count > 8 ? $"{shown} and {ranges.Count - 8} more" : shown;
    }
}
