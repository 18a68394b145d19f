using Snapfn.Interop;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Recording;

/// <summary>Writes a recording file: metadata, then each region's pages copied from the snapshot memory file,
/// to a temporary name, flushed, renamed; a crash leaves the previous recording in place.</summary>
public static class RecordingWriter
{
    public static RecordingFile Write(string path, string kind, Snapshot snapshot,
        IReadOnlyList<(ulong GuestOffset, ulong Length, uint Order)> regions, IReadOnlyList<GuestRange> dataRanges, bool alignLargePages,
        RecordingProvenance provenance)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(dataRanges);
        var laidOut = RecordingFile.LayOut(regions, regions.Count, dataRanges.Count, alignLargePages);
        var file = new RecordingFile(kind, snapshot.State.Id, laidOut, dataRanges, provenance);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            using (var output = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
            using (var memory = File.OpenHandle(snapshot.MemoryPath, FileMode.Open, FileAccess.Read))
            {
                RandomAccess.Write(output, file.SerializeMetadata(), 0);
                var buffer = new byte[1 << 20];
                foreach (var region in file.Regions)
                {
                    for (ulong done = 0; done < region.Length;)
                    {
                        var part = (int)Math.Min((ulong)buffer.Length, region.Length - done);
                        var read = RandomAccess.Read(memory, buffer.AsSpan(0, part), (long)(region.GuestOffset + done));
                        if (read != part)
                            throw new IOException($"snapshot memory file {snapshot.MemoryPath} ended early at 0x{region.GuestOffset + done:x}");
                        RandomAccess.Write(output, buffer.AsSpan(0, part), (long)(region.FileOffset + done));
                        done += (ulong)part;
                    }
                }
                RandomAccess.SetLength(output, (long)file.FileLength);
                DurableFile.Flush(output, temporary);
            }
            File.Move(temporary, path, overwrite: true);
            DurableFile.FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        return file;
    }
}
