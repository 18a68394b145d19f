using Snapfn.Snapshots;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Bench.Experiments;

/// <summary>Copies of a snapshot's files for the experiments that need them elsewhere (N copies; remote storage).</summary>
public static class SnapshotFiles
{
    /// <summary>Copies every file of <paramref name="snapshot"/>'s folder into <paramref name="folder"/> (made if
    /// missing), sparse: the memory file's holes stay holes, and the copy is on disk when this returns, so that
    /// dropping it from the page cache really empties it.</summary>
    public static void CopyTo(Snapshot snapshot, string folder)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(snapshot.Folder.Path))
            CopySparse(file, Path.Combine(folder, Path.GetFileName(file)));
    }

    private static void CopySparse(string from, string to)
    {
        var temporary = to + ".partial";
        using (var source = File.OpenHandle(from, FileMode.Open, FileAccess.Read))
        using (var target = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
        {
            var length = RandomAccess.GetLength(source);
            RandomAccess.SetLength(target, length);
            var buffer = new byte[1 << 20];
            foreach (var range in SparseMap.DataRanges(from))
            {
                var end = Math.Min((long)(range.Offset + range.Length), length);
                for (var offset = (long)range.Offset; offset < end;)
                {
                    var read = RandomAccess.Read(source, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - offset)), offset);
                    if (read <= 0)
                        throw new IOException($"{from} ended at {offset} while copying it (it is {length} bytes)");
                    RandomAccess.Write(target, buffer.AsSpan(0, read), offset);
                    offset += read;
                }
            }
            RandomAccess.FlushToDisk(target);
        }
        File.Move(temporary, to, overwrite: true);
    }
}
