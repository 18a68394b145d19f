namespace Snapfn.Vmm.Tests;

public sealed class PageTableBuilderTests
{
    private static readonly GuestLayout _layout = GuestLayout.For(2UL << 30, 0x300000);

    private static byte[] Build()
    {
        var low = new byte[GuestLayout.LargePageSize];
        PageTableBuilder.Build(low, _layout);
        return low;
    }

    [Fact]
    public void Guest_memory_above_2_MiB_is_mapped_user_writable()
    {
        var low = Build();
        foreach (var address in new ulong[] { GuestAbi.ElfBase, _layout.StackTop - 8, _layout.HeapStart, _layout.MemorySize - 1, 1UL << 30 })
            Assert.Equal(PageTableBuilder.Present | PageTableBuilder.Writable | PageTableBuilder.User, PageTableBuilder.Translate(low, address));
    }

    [Fact]
    public void Page_zero_and_the_stack_guard_are_absent()
    {
        var low = Build();
        Assert.Null(PageTableBuilder.Translate(low, 0));
        Assert.Null(PageTableBuilder.Translate(low, 0xfff));
        Assert.Null(PageTableBuilder.Translate(low, _layout.GuardStart));
        Assert.Null(PageTableBuilder.Translate(low, _layout.StackBottom - 1));
    }

    [Fact]
    public void Nothing_is_mapped_beyond_guest_memory()
    {
        var low = Build();
        Assert.Null(PageTableBuilder.Translate(low, _layout.MemorySize));
        Assert.Null(PageTableBuilder.Translate(low, 512UL << 30));
    }

    [Fact]
    public void The_VMM_structures_are_supervisor_only_and_the_mailbox_is_user()
    {
        var low = Build();
        Assert.Equal(PageTableBuilder.Present | PageTableBuilder.Writable, PageTableBuilder.Translate(low, GuestLayout.Pml4Address));
        Assert.Equal(PageTableBuilder.Present | PageTableBuilder.Writable, PageTableBuilder.Translate(low, GuestLayout.GdtAddress));
        Assert.Equal(PageTableBuilder.Present | PageTableBuilder.Writable, PageTableBuilder.Translate(low, GuestLayout.PageDirectoriesAddress));
        Assert.Equal(PageTableBuilder.Present | PageTableBuilder.Writable | PageTableBuilder.User, PageTableBuilder.Translate(low, GuestAbi.MailboxAddress));
        Assert.Null(PageTableBuilder.Translate(low, GuestAbi.MailboxAddress + GuestLayout.PageSize));
    }

    [Theory]
    [InlineData(100UL << 20)]
    [InlineData((2UL << 30) + 4096)]
    [InlineData(128UL << 30)]
    public void Layout_refuses_bad_memory_sizes(ulong size) =>
        Assert.Throws<ArgumentException>(() => GuestLayout.For(size, 0x300000));

    [Fact]
    public void Layout_keeps_regions_apart_and_inside_memory()
    {
        Assert.True(_layout.ImageEnd <= _layout.GuardStart);
        Assert.Equal(_layout.GuardStart + GuestLayout.LargePageSize, _layout.StackBottom);
        Assert.True(_layout.StackTop <= _layout.InputAddress);
        Assert.True(_layout.InputAddress + GuestLayout.IoBufferSize <= _layout.OutputAddress);
        Assert.True(_layout.OutputAddress + GuestLayout.IoBufferSize <= _layout.HeapStart);
        Assert.True(_layout.HeapStart < _layout.HeapEnd);
    }
}
