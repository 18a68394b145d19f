using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

/// <summary>
/// A snapshot written without a VM, laid out as SnapshotWriter lays it out: a sparse memory file holding the given
/// pages and a state file naming it, made the folder's snapshot by SnapshotWriter's own commit (which retires the
/// earlier memory files). Enough for whatever runs before a restore (opening, leasing, verifying); nothing can be
/// restored from it. Also linked into the platform's tests.
/// </summary>
internal static class HandmadeSnapshot
{
    public const ulong MemorySize = 256UL << 20;

    /// <summary>Takes a "snapshot" of <paramref name="folder"/>'s function for a program whose code hashes to
    /// <paramref name="programSha256"/>, with <paramref name="pages"/> (page-aligned, in order) as its only data;
    /// returns the state it committed.</summary>
    public static SnapshotState Take(SnapshotFolder folder, string programSha256, IEnumerable<(ulong Offset, byte[] Page)> pages)
    {
        Directory.CreateDirectory(folder.Path);
        var id = Guid.NewGuid();
        var memoryName = SnapshotFolder.MemoryFileNameOf(id);
        var digest = new MemoryDigest.Builder(MemorySize);
        using (var file = File.OpenHandle(folder.File(memoryName), FileMode.CreateNew, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, (long)MemorySize);
            foreach (var (offset, page) in pages)
            {
                RandomAccess.Write(file, page, (long)offset);
                digest.Add(offset, page);
            }
        }
        var state = new SnapshotState
        {
            Id = id, Function = folder.Function, ElfSha256 = programSha256, MemorySize = MemorySize, ImageEnd = 0x240000,
            MemoryFileName = memoryName, VmmPagesSha256 = new byte[32], MemoryDigest = digest.Build(), CreatedAt = DateTimeOffset.UtcNow,
            Vcpu = new VcpuState(default, default, [], default, []),
        };
        SnapshotWriter.Commit(folder, state);
        return state;
    }

    /// <summary>One page whose first bytes are <paramref name="mark"/>'s, at 0x1000.</summary>
    public static (ulong Offset, byte[] Page)[] Marked(string mark)
    {
        var page = new byte[GuestLayout.PageSize];
        System.Text.Encoding.UTF8.GetBytes(mark, page);
        return [(0x1000, page)];
    }

    /// <summary>The mark of <see cref="Marked"/> as a memory file holds it.</summary>
    public static string MarkOf(string memoryPath)
    {
        using var file = File.OpenHandle(memoryPath);
        var bytes = new byte[64];
        RandomAccess.Read(file, bytes, 0x1000);
        return System.Text.Encoding.UTF8.GetString(bytes).TrimEnd('\0');
    }

    /// <summary>A program that makes no VM: what runs before a restore needs none.</summary>
    public sealed class NoProgram(string sha256) : IGuestProgram
    {
        public string Sha256 => sha256;

        public MicroVm Boot(MicroVmOptions options) => throw new NotSupportedException();

        public MicroVm Restore(SnapshotState state, VmShell shell, GuestMemory memory, MicroVmOptions options) => throw new NotSupportedException();

        public Linux.ProcessState? CaptureProcess(MicroVm vm) => null;
    }
}
