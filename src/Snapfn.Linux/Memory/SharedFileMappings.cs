using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Vmm;

namespace Snapfn.Linux.Memory;

/// <summary>
/// MAP_SHARED mappings of /tmp files, kept coherent with the file by write-back rather than by sharing pages.
/// Why not share pages: guest memory is one host mapping registered with KVM, replaced wholesale by each restore
/// mode (a private mapping of the memory file, userfaultfd, a loading set), and a /tmp file the program can
/// truncate would leave mapped pages that make the VMM itself take SIGBUS (see <see cref="OpenFile.MapByCopy"/>).
/// So a shared mapping is a copy of the file's bytes in guest memory plus a shadow of what the file held when the
/// two last agreed; the bytes the program stored since are the ones that differ from the shadow.
/// <para>What holds (one thread): a store through the mapping reaches the file at msync, at munmap (and a MAP_FIXED
/// or mremap over it), before any read, write, truncate or fsync of the file through a descriptor, and before
/// another mapping of it is made; a change through a descriptor (write, pwrite, writev, ftruncate) reaches every
/// shared mapping of the file at once. Two shared mappings of one file see each other's stores at those same
/// points (each writes back only the bytes it changed, byte by byte, so neither overwrites the other). What does
/// not: a store is not in the file while nothing syncs it (another process could tell; none exists here); pages
/// past the end of the file read as zero and are never written back (Linux raises SIGBUS there); a store made by
/// another thread while a sync copies the mapping may be lost. A read-only mapping (no PROT_WRITE) has no shadow: it
/// has nothing to write back, so it only follows the file, costs the host nothing beyond the guest's own memory and
/// does not count against <see cref="Limit"/>; an mprotect that makes it writable gives it one then
/// (<see cref="MakeWritable"/>). A snapshot writes every mapping's stores back
/// (<see cref="SyncAll"/>), so that its /tmp and its memory agree, and a restore registers each mapping again over
/// the restored file (<see cref="Add"/>): the write-back goes on in every copy.</para>
/// </summary>
public sealed class SharedFileMappings : IMappedFiles
{
    private const int Page = (int)AddressSpace.PageSize;

    private readonly GuestMemory _memory;
    private readonly List<Region> _regions = [];
    private readonly Dictionary<(ulong Dev, ulong Ino), SharedFile> _files = [];

    internal SharedFileMappings(GuestMemory memory, long limit)
    {
        _memory = memory;
        Limit = limit;
    }

    /// <summary>Bytes of writable shared mappings the program may hold (each costs as much again on the host, its shadow).</summary>
    public long Limit { get; }

    /// <summary>Bytes mapped shared and writable now (those with a shadow).</summary>
    public long Bytes { get; private set; }

    public int Count => _regions.Count;

    /// <summary>The path of a file mapped shared (for messages), or null when there is none.</summary>
    public string? AnyPath => _regions.Count > 0 ? _regions[0].Path : null;

    /// <summary>Registers [start, start+length), which already holds the file's bytes at <paramref name="offset"/>
    /// (read in by copy): 0, or ENOMEM past <see cref="Limit"/> for a <paramref name="writable"/> one.</summary>
    internal int Add(ulong start, ulong length, SafeFd fd, ulong offset, string path, bool writable)
    {
        if (writable && length > (ulong)(Limit - Bytes))
            return -Errno.ENOMEM;
        var key = KeyOf(fd);
        if (key is null)
            return -Errno.EBADF;
        if (!_files.TryGetValue(key.Value, out var file))
        {
            // A descriptor of its own, opened afresh read-write: a dup would share O_APPEND, under which Linux's pwrite
            // appends. The program's descriptor was checked writable for a writable mapping; a read-only mapping of a
            // read-only descriptor falls back to a dup (it has nothing to write back).
            var own = Libc.open($"/proc/self/fd/{fd.DangerousGetHandle()}", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            if (own < 0)
                own = Libc.dup(fd);
            if (own < 0)
                return -Errno.EMFILE;
            file = new SharedFile(new SafeFd(own));
            _files[key.Value] = file;
        }
        file.Regions++;
        var region = new Region(start, length, (long)offset, key.Value, file, path, writable ? _memory.Span(start, length).ToArray() : null);
        var i = 0;
        while (i < _regions.Count && _regions[i].Start < start)
            i++;
        _regions.Insert(i, region);
        Bytes += region.Cost;
        return 0;
    }

    /// <summary>mprotect with PROT_WRITE over [start, start+length): each read-only shared mapping there gets its shadow
    /// (first the file's bytes again: a store made while it was read-only would have faulted on Linux), so that its
    /// stores are written back from now on. 0, or ENOMEM past <see cref="Limit"/> (nothing changed then).</summary>
    internal int MakeWritable(ulong start, ulong length)
    {
        var end = start + length;
        var readOnly = _regions.Where(r => r.Start < end && r.End > start && r.Shadow is null).ToList();
        if (readOnly.Count == 0)
            return 0;
        if (readOnly.Aggregate(0L, (sum, r) => sum + (long)r.Length) > Limit - Bytes)
            return -Errno.ENOMEM;
        foreach (var key in readOnly.Select(r => r.Key).Distinct().ToList())
            Refresh(key);
        foreach (var r in readOnly)
        {
            var i = _regions.IndexOf(r);
            _regions[i] = r with { Shadow = _memory.Span(r.Start, r.Length).ToArray() };
            Bytes += (long)r.Length;
        }
        return 0;
    }

    /// <summary>Every mapping's stores into its file, and every mapping from its file (a snapshot's /tmp then holds what
    /// its memory does).</summary>
    internal void SyncAll()
    {
        foreach (var key in _files.Keys.ToList())
            SyncFile(key);
    }

    /// <summary>Each mapping's guest path (the one it was made by) and the identity of its file on the host.</summary>
    internal IEnumerable<(string Path, (ulong Dev, ulong Ino) File)> Files() => _regions.Select(r => (r.Path, r.Key));

    /// <summary>The identity of <paramref name="fd"/>'s file on the host (device, inode), as <see cref="Files"/> gives it.</summary>
    internal static (ulong Dev, ulong Ino)? IdentityOf(SafeFd fd) => KeyOf(fd);

    /// <summary>The host file behind the shared mapping at <paramref name="address"/>, or null.</summary>
    internal SafeFd? FileAt(ulong address) => _regions.FirstOrDefault(r => address >= r.Start && address < r.End)?.File.Fd;

    /// <summary>msync and MADV_DONTNEED: the stores in [start, start+length) reach their files, and every shared mapping of
    /// those files sees the result.</summary>
    public void Sync(ulong start, ulong length)
    {
        var end = start + length;
        foreach (var key in _regions.Where(r => r.Start < end && r.End > start).Select(r => r.Key).Distinct().ToList())
            SyncFile(key);
    }

    /// <summary>munmap (and whatever maps over a range): the range's stores reach the file, then it is shared no more.</summary>
    public void Remove(ulong start, ulong length)
    {
        var end = start + length;
        if (!_regions.Any(r => r.Start < end && r.End > start))
            return;
        Sync(start, length);
        for (var i = 0; i < _regions.Count; i++)
        {
            var r = _regions[i];
            if (r.Start >= end || r.End <= start)
                continue;
            _regions.RemoveAt(i);
            Bytes -= r.Cost;
            r.File.Regions--;
            var inserted = 0;
            if (r.Start < start)
                inserted += Keep(i + inserted, r, r.Start, start);
            if (r.End > end)
                inserted += Keep(i + inserted, r, end, r.End);
            if (r.File.Regions == 0)
            {
                r.File.Fd.Dispose();
                _files.Remove(r.Key);
            }
            i += inserted - 1;
        }
    }

    /// <summary>What is left of <paramref name="r"/> in [from, to), as its own region.</summary>
    private int Keep(int index, Region r, ulong from, ulong to)
    {
        var part = new Region(from, to - from, r.FileOffset + (long)(from - r.Start), r.Key, r.File, r.Path,
            r.Shadow?.AsSpan((int)(from - r.Start), (int)(to - from)).ToArray());
        r.File.Regions++;
        _regions.Insert(index, part);
        Bytes += part.Cost;
        return 1;
    }

    /// <inheritdoc/>
    public void BeforeAccess(SafeFd fd)
    {
        if (_regions.Count > 0 && KeyOf(fd) is { } key && _files.ContainsKey(key))
            SyncFile(key);
    }

    /// <inheritdoc/>
    public void AfterChange(SafeFd fd)
    {
        if (_regions.Count > 0 && KeyOf(fd) is { } key && _files.ContainsKey(key))
            Refresh(key);
    }

    /// <summary>Every mapping's stores into the file, then every mapping from the file.</summary>
    private void SyncFile((ulong, ulong) key)
    {
        foreach (var region in _regions.Where(r => r.Key == key))
            WriteBack(region);
        Refresh(key);
    }

    /// <summary>The bytes of each page the program changed (guest differs from shadow) are merged into the file's page,
    /// within the file's size; pages past its end are left alone.</summary>
    private void WriteBack(Region region)
    {
        if (region.Shadow is null)
            return;
        var size = SizeOf(region.File.Fd);
        Span<byte> filePage = stackalloc byte[Page];
        for (var at = 0; at < (int)region.Length; at += Page)
        {
            var fileOffset = region.FileOffset + at;
            if (fileOffset >= size)
                break;
            var guest = _memory.Span(region.Start + (ulong)at, (ulong)Page);
            var shadow = region.Shadow.AsSpan(at, Page);
            if (guest.SequenceEqual(shadow))
                continue;
            var valid = (int)Math.Min(Page, size - fileOffset);
            var read = Libc.pread(region.File.Fd, filePage[..valid], fileOffset);
            if (read < valid)
                filePage[(int)Math.Max(0, read)..valid].Clear();
            for (var i = 0; i < valid; i++)
            {
                if (guest[i] != shadow[i])
                    filePage[i] = guest[i];
            }
            _ = Libc.pwrite(region.File.Fd, filePage[..valid], fileOffset);
            guest.CopyTo(shadow);
        }
    }

    /// <summary>Each mapping of the file gets the file's bytes (zero past its end), in guest memory and its shadow.</summary>
    private void Refresh((ulong, ulong) key)
    {
        foreach (var region in _regions.Where(r => r.Key == key))
        {
            var size = SizeOf(region.File.Fd);
            var guest = _memory.Span(region.Start, region.Length);
            var valid = (int)Math.Clamp(size - region.FileOffset, 0, (long)region.Length);
            var done = 0;
            while (done < valid)
            {
                var n = Libc.pread(region.File.Fd, guest[done..valid], region.FileOffset + done);
                if (n <= 0)
                    break;
                done += (int)n;
            }
            guest[done..].Clear();
            if (region.Shadow is not null)
                guest.CopyTo(region.Shadow);
        }
    }

    private static unsafe (ulong Dev, ulong Ino)? KeyOf(SafeFd fd)
    {
        Kernel.stat st;
        return Libc.fstat(fd, (Libc.stat_buf*)&st) < 0 ? null : (st.st_dev, st.st_ino);
    }

    private static unsafe long SizeOf(SafeFd fd)
    {
        Kernel.stat st;
        return Libc.fstat(fd, (Libc.stat_buf*)&st) < 0 ? 0 : st.st_size;
    }

    private sealed class SharedFile(SafeFd fd)
    {
        /// <summary>A descriptor of its own: the program may close its descriptors and keep the mapping, as on Linux.</summary>
        public SafeFd Fd { get; } = fd;

        public int Regions { get; set; }
    }

    /// <summary>A shared mapping; <paramref name="Shadow"/> is null for a read-only one.</summary>
    private sealed record Region(ulong Start, ulong Length, long FileOffset, (ulong Dev, ulong Ino) Key, SharedFile File, string Path, byte[]? Shadow)
    {
        public ulong End => Start + Length;

        /// <summary>What it counts against <see cref="Limit"/>: its length when it has a shadow.</summary>
        public long Cost => Shadow is null ? 0 : (long)Length;
    }
}
