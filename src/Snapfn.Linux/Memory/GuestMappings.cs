using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Vmm;

namespace Snapfn.Linux.Memory;

/// <summary>
/// Changes guest memory and the address space's books together. Anonymous ranges become fresh zero pages; file
/// ranges map the host's page-cache pages copy-on-write into guest memory (MAP_PRIVATE|MAP_FIXED over the
/// guest's backing), so libraries are paged in lazily rather than copied. Pages past the end of the file are
/// zero pages, not file pages: a host access to those would be SIGBUS in the VMM.
/// </summary>
public sealed unsafe class GuestMappings
{
    private readonly GuestMemory _memory;

    public GuestMappings(GuestMemory memory, AddressSpace space)
    {
        _memory = memory;
        Space = space;
    }

    public AddressSpace Space { get; }

    private SharedFileMappings? _shared;

    /// <summary>The program's MAP_SHARED file mappings, made on the first (null until then).</summary>
    public SharedFileMappings? Shared => _shared;

    /// <summary>The shared mappings' books, made with <paramref name="limit"/> bytes the first time.</summary>
    internal SharedFileMappings SharedWithin(long limit) => _shared ??= new SharedFileMappings(_memory, limit);

    public void MapAnonymous(ulong start, ulong length, Protection protection, MappingKind kind = MappingKind.Anonymous)
    {
        var range = GuestRange.Of(start, length);
        if (range.IsEmpty)
            return;
        _shared?.Remove(start, length);
        _memory.Discard(start, length);
        Space.Map(new Mapping(start, range.End, protection, kind));
    }

    /// <summary>Maps [start, start+length) from <paramref name="fd"/> at <paramref name="offset"/> (page-aligned);
    /// with <paramref name="copy"/> the bytes are read into fresh zero pages instead (see OpenFile.MapByCopy), and
    /// with <paramref name="shared"/> (a copy, after <see cref="SharedWithin"/>) the program's stores there are written
    /// back to the file (<see cref="SharedFileMappings"/>). 0 or a negated errno.</summary>
    public int MapFile(ulong start, ulong length, Protection protection, SafeFd fd, ulong offset, string path, bool copy = false,
        bool shared = false)
    {
        if (shared && (!copy || _shared is null))
            throw new ArgumentException("a shared mapping is made by copy, once the shared mappings' books exist", nameof(shared));
        ArgumentNullException.ThrowIfNull(fd);
        var range = GuestRange.Of(start, length);
        // As Linux's file_mmap_ok: the file's last mapped byte must be a valid (signed) file offset.
        if (offset > long.MaxValue - length)
            return -Errno.EOVERFLOW;
        Kernel.stat st;
        if (Libc.fstat(fd, (Libc.stat_buf*)&st) < 0)
            return -Errno.EBADF;
        if ((st.st_mode & Kernel.S_IFMT) != Kernel.S_IFREG)
            return -Errno.ENODEV;
        var fileSize = (ulong)st.st_size;
        var filePart = offset >= fileSize ? 0 : Math.Min(length, AddressSpace.PageAlignUp(fileSize - offset));
        _shared?.Remove(start, length);
        if (copy)
        {
            // Stores through the file's shared mappings are in it before its bytes are read.
            _shared?.BeforeAccess(fd);
            _memory.Discard(start, length);
            var bytes = Math.Min(filePart, fileSize - Math.Min(offset, fileSize));
            for (ulong done = 0; done < bytes;)
            {
                var chunk = Math.Min(bytes - done, 1UL << 30);
                var n = Libc.pread(fd, _memory.Span(start + done, chunk), (long)(offset + done));
                if (n <= 0)
                    break;
                done += (ulong)n;
            }
        }
        else
        {
            if (filePart > 0)
                _memory.Mapping.MapFilePrivate(start, filePart, fd, offset);
            if (filePart < length)
                _memory.Discard(start + filePart, length - filePart);
        }
        Space.Map(new Mapping(start, range.End, protection, MappingKind.File, path, offset, shared));
        if (shared && _shared!.Add(start, length, fd, offset, path, (protection & Protection.Write) != 0) is var added and < 0)
        {
            Unmap(start, length);
            return added;
        }
        return 0;
    }

    public void Unmap(ulong start, ulong length)
    {
        var range = GuestRange.Of(start, length);
        if (range.IsEmpty)
            return;
        // A shared mapping's stores reach its file before its pages go, as munmap writes them back on Linux.
        _shared?.Remove(start, length);
        _memory.Discard(start, length);
        Space.Remove(range);
    }

    /// <summary>Gives [start, start+length) back (zero pages again) without changing the books: a heap that shrank, an
    /// anonymous range that was MADV_DONTNEED'd.</summary>
    public void Discard(ulong start, ulong length)
    {
        if (!GuestRange.Of(start, length).IsEmpty)
            _memory.Discard(start, length);
    }

    /// <summary>The VMM writes its own pages (the vDSO image) directly; never with a guest-supplied address.</summary>
    public void Write(ulong start, ReadOnlySpan<byte> bytes) => bytes.CopyTo(_memory.Span(start, (ulong)bytes.Length));

    /// <summary>Zeroes [start, start+length) in place (the tail of a segment's last file page that is bss).</summary>
    public void Zero(ulong start, ulong length) => _memory.Span(start, length).Clear();

    /// <summary>Moves the contents of a range elsewhere (mremap): copied, then the old range is discarded.</summary>
    public void Copy(ulong from, ulong to, ulong length)
    {
        for (ulong done = 0; done < length;)
        {
            var chunk = Math.Min(length - done, 1UL << 30);
            _memory.Span(from + done, chunk).CopyTo(_memory.Span(to + done, chunk));
            done += chunk;
        }
    }
}
