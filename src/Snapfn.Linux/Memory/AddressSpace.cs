using Snapfn.Vmm;

namespace Snapfn.Linux.Memory;

/// <summary>
/// The program's address space inside guest memory (guest-virtual = guest-physical): which ranges are mapped and
/// how, where <c>brk</c> is, and where a new mapping may go. It only keeps the books; the system calls change
/// guest memory to match (zero pages for anonymous mappings, host file mappings for files). Everything below
/// <see cref="ProcessGuest.ProgramBase"/> belongs to the VMM but the vDSO.
/// </summary>
public sealed class AddressSpace
{
    public const ulong PageSize = GuestLayout.PageSize;
    public const ulong StackSize = 8UL << 20;

    /// <summary>
    /// RLIMIT_STACK's soft limit as the program reads it, which glibc's pthread_create (and libuv's threads) take as a
    /// new thread's stack size: 2 MiB instead of Linux's 8 MiB. A thread's stack is a mapping, and this address space
    /// is the guest's memory, with no overcommit: at 8 MiB a 512 MiB VM held 61 threads, a 128 MiB one about 12.
    /// The main thread's stack is <see cref="StackSize"/> whatever this says; a program that needs more for a
    /// thread asks (pthread_attr_setstacksize, threading.stack_size).
    /// </summary>
    public const ulong ThreadStackLimit = 2UL << 20;

    private readonly List<Mapping> _mappings = [];
    private Mapping? _lastHit;

    public AddressSpace(ulong memorySize)
    {
        if (memorySize % GuestLayout.LargePageSize != 0 || memorySize < 64UL << 20)
            throw new ArgumentException($"a Linux program needs at least 64 MiB of guest memory in 2 MiB steps, not {memorySize} bytes", nameof(memorySize));
        MemorySize = memorySize;
        StackTop = memorySize;
        StackBottom = memorySize - StackSize;
        // A gap of 1 MiB between the stack and the highest mapping, as a guard.
        MmapTop = StackBottom - (1UL << 20);
    }

    public ulong MemorySize { get; }

    public ulong StackTop { get; }

    public ulong StackBottom { get; }

    /// <summary>New mappings go top-down from here.</summary>
    public ulong MmapTop { get; }

    /// <summary>Where the heap starts (after the program's last segment) and where it ends now.</summary>
    public ulong BrkStart { get; private set; }

    public ulong BrkEnd { get; private set; }

    public IReadOnlyList<Mapping> Mappings => _mappings;

    /// <summary>Rounds up to a page; throws where that would wrap past 2^64 (a value the caller should have checked:
    /// guest-chosen lengths go through <see cref="GuestRange.TryCreatePages"/>, which refuses them instead).</summary>
    public static ulong PageAlignUp(ulong value) =>
        GuestRange.TryPageAlignUp(value, out var aligned) ? aligned
            : throw new ArgumentOutOfRangeException(nameof(value), $"0x{value:x} cannot be rounded up to a page below 2^64");

    public static bool IsPageAligned(ulong value) => GuestRange.IsPageAligned(value);

    /// <summary>Places the heap right after <paramref name="programEnd"/>.</summary>
    public void SetBrkStart(ulong programEnd)
    {
        BrkStart = BrkEnd = PageAlignUp(programEnd);
    }

    /// <summary>Takes a snapshot's books over (its memory is already in place).</summary>
    internal void Load(ulong brkStart, ulong brkEnd, IEnumerable<Mapping> mappings)
    {
        BrkStart = brkStart;
        BrkEnd = brkEnd;
        _mappings.Clear();
        foreach (var mapping in mappings)
            Map(mapping);
    }

    /// <summary>Moves the heap's end; returns false where the new end would overlap a mapping or leave memory (an end
    /// near 2^64 whose page rounding would wrap included: that is a request for too much, never for less).</summary>
    public bool TryMoveBrk(ulong newEnd, out ulong oldMappedEnd, out ulong newMappedEnd)
    {
        oldMappedEnd = PageAlignUp(BrkEnd);
        if (newEnd < BrkStart || !GuestRange.TryPageAlignUp(newEnd, out newMappedEnd) || newMappedEnd > MmapTop)
        {
            newMappedEnd = oldMappedEnd;
            return false;
        }
        if (newMappedEnd > oldMappedEnd && !IsFree(oldMappedEnd, newMappedEnd - oldMappedEnd))
            return false;
        Remove(BrkStart, Math.Max(oldMappedEnd, BrkStart) - BrkStart);
        if (newMappedEnd > BrkStart)
            Insert(new Mapping(BrkStart, newMappedEnd, Protection.Read | Protection.Write, MappingKind.Heap));
        BrkEnd = newEnd;
        return true;
    }

    /// <summary>Is [start, start+length) inside the program's part of memory? False for a pair that wraps.</summary>
    public bool InProgramRange(ulong start, ulong length) =>
        GuestRange.TryCreate(start, length, out var range) && InProgramRange(range);

    public bool InProgramRange(GuestRange range) => range.IsWithin(ProcessGuest.ProgramBase, MemorySize);

    /// <summary>True when no mapping overlaps [start, start+length); false for a pair that wraps.</summary>
    public bool IsFree(ulong start, ulong length) => GuestRange.TryCreate(start, length, out var range) && IsFree(range);

    public bool IsFree(GuestRange range)
    {
        foreach (var m in _mappings)
        {
            if (m.Start >= range.End)
                break;
            if (m.End > range.Start)
                return false;
        }
        return true;
    }

    /// <summary>A free, page-aligned range of <paramref name="length"/> bytes: at <paramref name="hint"/> when that is
    /// free, else the highest gap below <see cref="MmapTop"/> and above the heap. Null when memory is full.</summary>
    public ulong? FindFree(ulong length, ulong hint = 0)
    {
        if (length == 0 || length > MemorySize)
            return null;
        if (hint != 0 && IsPageAligned(hint) && GuestRange.TryCreate(hint, length, out var hinted) &&
            hinted.IsWithin(ProcessGuest.ProgramBase, MmapTop) && IsFree(hinted))
            return hint;
        var floor = Math.Max(PageAlignUp(BrkEnd), ProcessGuest.ProgramBase);
        var ceiling = MmapTop;
        for (var i = _mappings.Count - 1; i >= -1; i--)
        {
            var gapStart = i >= 0 ? _mappings[i].End : floor;
            if (gapStart < floor)
                gapStart = floor;
            if (ceiling >= gapStart && ceiling - gapStart >= length)
                return ceiling - length;
            if (i >= 0)
                ceiling = Math.Min(ceiling, _mappings[i].Start);
            if (ceiling <= floor)
                return null;
        }
        return null;
    }

    /// <summary>Records a mapping, replacing whatever [start, end) held (MAP_FIXED semantics).</summary>
    public void Map(Mapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (mapping.End < mapping.Start)
            throw new ArgumentException($"mapping 0x{mapping.Start:x}-0x{mapping.End:x} ends before it starts", nameof(mapping));
        Remove(mapping.Start, mapping.Length);
        Insert(mapping);
    }

    /// <summary>Forgets [start, start+length), splitting mappings that straddle its ends; the caller has checked the
    /// pair (a wrapping one throws).</summary>
    public void Remove(ulong start, ulong length) => Remove(GuestRange.Of(start, length));

    public void Remove(GuestRange range)
    {
        if (range.IsEmpty)
            return;
        var (start, end) = (range.Start, range.End);
        _lastHit = null;
        for (var i = 0; i < _mappings.Count; i++)
        {
            var m = _mappings[i];
            if (m.End <= start)
                continue;
            if (m.Start >= end)
                break;
            _mappings.RemoveAt(i);
            var inserted = 0;
            if (m.Start < start)
                _mappings.Insert(i + inserted++, m with { End = start });
            if (m.End > end)
                _mappings.Insert(i + inserted++, m with { Start = end, FileOffset = m.FileOffset + (end - m.Start) });
            i += inserted - 1;
        }
    }

    /// <summary>Sets the protection of the mapped parts of [start, start+length); false if part of it is unmapped.</summary>
    public bool Protect(ulong start, ulong length, Protection protection) =>
        GuestRange.TryCreate(start, length, out var range) && Protect(range, protection);

    public bool Protect(GuestRange range, Protection protection)
    {
        if (!IsMapped(range, Protection.None))
            return false;
        var (start, end) = (range.Start, range.End);
        var affected = _mappings.Where(m => m.End > start && m.Start < end).ToList();
        foreach (var m in affected)
        {
            var s = Math.Max(m.Start, start);
            var e = Math.Min(m.End, end);
            Remove(s, e - s);
            Insert(m with { Start = s, End = e, Protection = protection, FileOffset = m.FileOffset + (s - m.Start) });
        }
        return true;
    }

    /// <summary>The mapping that holds <paramref name="address"/>, or null.</summary>
    public Mapping? Find(ulong address)
    {
        if (_lastHit is { } hit && address >= hit.Start && address < hit.End)
            return hit;
        int lo = 0, hi = _mappings.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var m = _mappings[mid];
            if (address < m.Start)
                hi = mid - 1;
            else if (address >= m.End)
                lo = mid + 1;
            else
                return _lastHit = m;
        }
        return null;
    }

    /// <summary>True when every byte of [start, start+length) is mapped with at least <paramref name="needed"/>.</summary>
    public bool IsMapped(ulong start, ulong length, Protection needed) =>
        length == 0 || GuestRange.TryCreate(start, length, out var range) && IsMapped(range, needed);

    public bool IsMapped(GuestRange range, Protection needed)
    {
        if (range.IsEmpty)
            return true;
        if (!range.IsWithin(0, MemorySize))
            return false;
        var end = range.End;
        var at = range.Start;
        while (at < end)
        {
            var m = Find(at);
            if (m is null || (m.Protection & needed) != needed)
                return false;
            at = m.End;
        }
        return true;
    }

    private void Insert(Mapping mapping)
    {
        var i = 0;
        while (i < _mappings.Count && _mappings[i].Start < mapping.Start)
            i++;
        _mappings.Insert(i, mapping);
        _lastHit = null;
    }
}
