using Snapfn.Linux.Memory;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Memory;

public sealed class AddressSpaceTests
{
    private const ulong MiB = 1UL << 20;
    private readonly AddressSpace _space = new(256 * MiB);

    [Fact]
    public void New_mappings_go_top_down_below_the_stack_and_never_below_the_program_base()
    {
        var first = _space.FindFree(MiB)!.Value;
        Assert.Equal(_space.MmapTop - MiB, first);
        _space.Map(new Mapping(first, first + MiB, Protection.Read, MappingKind.Anonymous));
        Assert.Equal(first - 2 * MiB, _space.FindFree(2 * MiB));
        Assert.Null(_space.FindFree(_space.MemorySize));
        Assert.True(_space.FindFree(200 * MiB) >= ProcessGuest.ProgramBase);
    }

    [Fact]
    public void A_free_hint_is_taken_and_a_taken_one_is_not()
    {
        var hint = 64 * MiB;
        Assert.Equal(hint, _space.FindFree(MiB, hint));
        _space.Map(new Mapping(hint, hint + MiB, Protection.Read, MappingKind.Anonymous));
        Assert.NotEqual(hint, _space.FindFree(MiB, hint));
    }

    [Fact]
    public void Removing_the_middle_of_a_mapping_splits_it_and_keeps_file_offsets()
    {
        _space.Map(new Mapping(16 * MiB, 20 * MiB, Protection.Read, MappingKind.File, "/f", 0x1000));
        _space.Remove(17 * MiB, MiB);
        Assert.Equal(2, _space.Mappings.Count);
        Assert.Equal(new Mapping(16 * MiB, 17 * MiB, Protection.Read, MappingKind.File, "/f", 0x1000), _space.Mappings[0]);
        Assert.Equal(new Mapping(18 * MiB, 20 * MiB, Protection.Read, MappingKind.File, "/f", 0x1000 + 2 * MiB), _space.Mappings[1]);
        Assert.True(_space.IsFree(17 * MiB, MiB));
        Assert.False(_space.IsMapped(16 * MiB, 2 * MiB, Protection.None));
    }

    [Fact]
    public void Pointer_checks_need_every_byte_mapped_with_the_access()
    {
        _space.Map(new Mapping(16 * MiB, 17 * MiB, Protection.Read | Protection.Write, MappingKind.Anonymous));
        _space.Map(new Mapping(17 * MiB, 18 * MiB, Protection.Read, MappingKind.Anonymous));
        Assert.True(_space.IsMapped(16 * MiB, 2 * MiB, Protection.Read));
        Assert.False(_space.IsMapped(16 * MiB, 2 * MiB, Protection.Write));
        Assert.False(_space.IsMapped(16 * MiB, 2 * MiB + 1, Protection.Read));
        Assert.False(_space.IsMapped(0x1000, 8, Protection.None));
        Assert.False(_space.IsMapped(ulong.MaxValue - 4, 8, Protection.None));
        Assert.True(_space.IsMapped(0, 0, Protection.Write));
    }

    [Fact]
    public void Mprotect_changes_part_of_a_mapping_and_refuses_holes()
    {
        _space.Map(new Mapping(16 * MiB, 20 * MiB, Protection.Read | Protection.Write, MappingKind.Anonymous));
        Assert.True(_space.Protect(17 * MiB, MiB, Protection.Read));
        Assert.False(_space.IsMapped(17 * MiB, 1, Protection.Write));
        Assert.True(_space.IsMapped(18 * MiB, 1, Protection.Write));
        Assert.False(_space.Protect(19 * MiB, 2 * MiB, Protection.Read));
    }

    [Fact]
    public void Brk_grows_into_free_space_only()
    {
        _space.SetBrkStart(8 * MiB + 10);
        Assert.Equal(8 * MiB + 0x1000, _space.BrkStart);
        Assert.True(_space.TryMoveBrk(_space.BrkStart + 3 * MiB, out _, out _));
        Assert.True(_space.IsMapped(_space.BrkStart, 3 * MiB, Protection.Write));
        _space.Map(new Mapping(12 * MiB, 13 * MiB, Protection.Read, MappingKind.Anonymous));
        Assert.False(_space.TryMoveBrk(_space.BrkStart + 5 * MiB, out _, out _));
        Assert.True(_space.TryMoveBrk(_space.BrkStart + MiB, out _, out _));
        Assert.False(_space.IsMapped(_space.BrkStart + MiB, 1, Protection.None));
        Assert.False(_space.TryMoveBrk(_space.BrkStart - 1, out _, out _));
    }

    /// <summary>Issue 18: brk(0xfffffffffffff001) rounded its end to 0 and the caller discarded [0, old end).</summary>
    [Theory]
    [InlineData(0xfffffffffffff001UL)]
    [InlineData(ulong.MaxValue)]
    [InlineData(0xfffffffffffff000UL)]
    public void A_break_near_2_64_is_refused_and_changes_nothing(ulong newEnd)
    {
        _space.SetBrkStart(32 * MiB);
        Assert.True(_space.TryMoveBrk(_space.BrkStart + MiB, out _, out _));
        var before = _space.Mappings.ToList();
        Assert.False(_space.TryMoveBrk(newEnd, out var oldMapped, out var newMapped));
        Assert.Equal(oldMapped, newMapped);
        Assert.Equal(_space.BrkStart + MiB, _space.BrkEnd);
        Assert.Equal(before, _space.Mappings);
    }

    [Fact]
    public void Wrapping_ranges_are_never_free_mapped_or_protectable()
    {
        _space.Map(new Mapping(16 * MiB, 17 * MiB, Protection.Read | Protection.Write, MappingKind.Anonymous));
        Assert.False(_space.IsFree(16 * MiB, ulong.MaxValue));
        Assert.False(_space.IsFree(ulong.MaxValue - 4095, 8192));
        Assert.False(_space.InProgramRange(16 * MiB, ulong.MaxValue - 16 * MiB + 2));
        Assert.False(_space.IsMapped(16 * MiB, ulong.MaxValue, Protection.None));
        Assert.False(_space.Protect(16 * MiB, ulong.MaxValue - 16 * MiB + 1, Protection.Read));
        Assert.Throws<ArgumentOutOfRangeException>(() => _space.Remove(16 * MiB, ulong.MaxValue));
        Assert.Single(_space.Mappings);
    }
}
