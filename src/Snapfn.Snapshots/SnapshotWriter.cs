using Microsoft.Win32.SafeHandles;
using Snapfn.Interop;
using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>What a snapshot cost to take and how big it is on disk.</summary>
public sealed record SnapshotInfo(string Folder, string StatePath, string MemoryPath, ulong ApparentBytes, long AllocatedBytes, ulong DataPages);

/// <summary>
/// Writes a snapshot of a VM stopped at READY. Crash safety: the memory file gets a fresh name (never
/// overwritten), is flushed, then the state file that names it is written to a temporary name, flushed and
/// renamed over the old one. Until that rename the previous snapshot is untouched and usable; after it, the
/// new one is complete. Memory files no state file names any more are retired last: deleted at once, or when the
/// last invocation restoring from one (<see cref="Snapshot.OpenLeased"/>) is done with it.
/// </summary>
public static class SnapshotWriter
{
    private const ulong Page = GuestLayout.PageSize;

    public static SnapshotInfo Write(MicroVm vm, IGuestProgram program, SnapshotFolder folder)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder.Path);
        var vcpu = vm.CaptureState();
        var process = program.CaptureProcess(vm);
        var id = Guid.NewGuid();
        var memoryName = SnapshotFolder.MemoryFileNameOf(id);
        var memoryPath = folder.MemoryFile(memoryName);
        // A Linux program's file mappings must be whole in the snapshot: a page nothing touched yet is the file's
        // until the guest reads it, and after a restore only the memory file is there to read.
        var fileBacked = process?.Mappings.Where(m => m.Kind == Linux.Memory.MappingKind.File).Select(m => (m.Start, m.End)).ToArray() ?? [];
        var digest = new MemoryDigest.Builder(vm.Layout.MemorySize);
        var dataPages = WriteMemory(vm.Memory, memoryPath + ".tmp", fileBacked, digest);
        File.Move(memoryPath + ".tmp", memoryPath);

        var state = new SnapshotState
        {
            Id = id, Function = folder.Function, ElfSha256 = program.Sha256, MemorySize = vm.Layout.MemorySize,
            ImageEnd = vm.Layout.ImageEnd, MemoryFileName = memoryName, VmmPagesSha256 = vm.OwnedPages.Digest,
            MemoryDigest = digest.Build(), CreatedAt = DateTimeOffset.UtcNow, Vcpu = vcpu,
            Process = process,
        };
        Commit(folder, state);
        var (apparent, allocated) = PageCache.Sizes(memoryPath);
        return new SnapshotInfo(folder.Path, folder.StatePath, memoryPath, (ulong)apparent, allocated, dataPages);
    }

    /// <summary>Writes the non-zero pages of guest memory at their offsets; zero pages stay holes. Pages nothing
    /// touched are not mapped (pagemap), so they are skipped without being read, but for those of
    /// <paramref name="alwaysRead"/> (a program's file mappings, whose untouched pages hold the file). Every page
    /// written goes into <paramref name="digest"/>.</summary>
    private static ulong WriteMemory(GuestMemory memory, string path, (ulong Start, ulong End)[] alwaysRead, MemoryDigest.Builder digest)
    {
        ulong dataPages = 0;
        using (var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, (long)memory.Size);
            const ulong chunk = 64UL << 20;
            var resident = new byte[chunk / Page];
            for (ulong start = 0; start < memory.Size; start += chunk)
            {
                var length = Math.Min(chunk, memory.Size - start);
                memory.MappedPages(start, length, resident);
                foreach (var (from, to) in alwaysRead)
                {
                    for (var at = Math.Max(from, start); at < Math.Min(to, start + length); at += Page)
                        resident[(at - start) / Page] = 1;
                }
                ulong runStart = 0, runPages = 0;
                for (ulong page = 0; page < length / Page; page++)
                {
                    var offset = start + page * Page;
                    var nonZero = (resident[page] & 1) != 0 && memory.Span(offset, Page).IndexOfAnyExcept((byte)0) >= 0;
                    if (nonZero)
                    {
                        if (runPages == 0)
                            runStart = offset;
                        runPages++;
                        dataPages++;
                        digest.Add(offset, memory.Span(offset, Page));
                    }
                    if (runPages > 0 && (!nonZero || page == length / Page - 1))
                    {
                        WriteRun(file, memory, runStart, runPages * Page);
                        runPages = 0;
                    }
                }
            }
            DurableFile.Flush(file, path);
        }
        return dataPages;
    }

    private static void WriteRun(SafeFileHandle file, GuestMemory memory, ulong offset, ulong length)
    {
        for (ulong done = 0; done < length;)
        {
            var part = Math.Min(length - done, 1UL << 30);
            RandomAccess.Write(file, memory.Span(offset + done, part), (long)(offset + done));
            done += part;
        }
    }

    /// <summary>Makes <paramref name="state"/> the folder's snapshot: its memory file is already written and
    /// flushed in the folder; the state file replaces the old one durably, then every other memory file is retired
    /// (those of earlier snapshots and of interrupted ones). Public for a snapshot taken elsewhere and adopted here
    /// (a cluster node's, fetched: the platform's <c>FunctionService.AdoptSnapshot</c>).</summary>
    public static void Commit(SnapshotFolder folder, SnapshotState state)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(state);
        _ = folder.MemoryFile(state.MemoryFileName);
        DurableFile.Replace(folder.StatePath, StateFile.Serialize(state));
        foreach (var path in Directory.EnumerateFiles(folder.Path, "memory-*.bin*"))
        {
            if (Path.GetFileName(path) != state.MemoryFileName)
                Snapshot.MemoryFiles.Retire(path);
        }
    }
}
