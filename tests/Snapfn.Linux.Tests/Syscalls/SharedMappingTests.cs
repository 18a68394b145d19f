using System.Text;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>Issue 24: MAP_SHARED mappings of /tmp files write through (by write-back at the points
/// Memory/SharedFileMappings names), without KVM. guest/linux-tests/mapshared.c checks the same on Linux.</summary>
public sealed class SharedMappingTests : IDisposable
{
    private const ulong Read = 0, Write = 1, Close = 3, Mmap = 9, Munmap = 11, Pread = 17, Pwrite = 18, Mremap = 25, Msync = 26,
        Madvise = 28, Fsync = 74, Ftruncate = 77, Openat = 257;
    private const ulong PROT_RW = 3, PROT_READ = 1, MAP_SHARED = 1, MAP_PRIVATE = 2, O_RDWR = 2, O_CREAT = 0x40, O_APPEND = 0x400,
        MS_ASYNC = 1, MS_SYNC = 4, MADV_DONTNEED = 4, MREMAP_MAYMOVE = 1;
    private const ulong AtFdcwd = unchecked((ulong)-100);
    private const int Page = 4096;

    private readonly SyscallHarness _h = new();

    public void Dispose() => _h.Dispose();

    private ulong Buffer => _h.Scratch + 0x40000;

    /// <summary>/tmp/NAME made with <paramref name="pages"/> pages of <paramref name="fill"/>, open read-write.</summary>
    private int File(string name, int pages = 2, byte fill = (byte)'a', ulong extraFlags = 0)
    {
        var fd = (int)_h.Call(Openat, AtFdcwd, _h.Text(_h.Scratch + 0x100, "/tmp/" + name), O_RDWR | O_CREAT | extraFlags, 0x1a4);
        Assert.True(fd >= 0, $"open: {fd}");
        _h.Process.User.Writable(Buffer, (ulong)(pages * Page)).Fill(fill);
        Assert.Equal(pages * Page, _h.Call(Pwrite, (ulong)fd, Buffer, (ulong)(pages * Page), 0));
        return fd;
    }

    private ulong Map(int fd, int pages = 2, ulong flags = MAP_SHARED, ulong offset = 0, ulong prot = PROT_RW)
    {
        var at = _h.Call(Mmap, 0, (ulong)(pages * Page), prot, flags, (ulong)fd, offset);
        Assert.True(at > 0, $"mmap: {at}");
        return (ulong)at;
    }

    private void Store(ulong address, string text) => _h.Process.User.Write(address, Encoding.ASCII.GetBytes(text));

    private string Load(ulong address, int length) => Encoding.ASCII.GetString(_h.Process.User.Readable(address, (ulong)length));

    private string FileBytes(int fd, long offset, int length)
    {
        Assert.Equal(length, _h.Call(Pread, (ulong)fd, Buffer, (ulong)length, (ulong)offset));
        return Load(Buffer, length);
    }

    private string HostBytes(string name, long offset, int length)
    {
        var bytes = System.IO.File.ReadAllBytes(Path.Combine(_h.Process.TmpDirectory, name));
        return Encoding.ASCII.GetString(bytes, (int)offset, length);
    }

    [Fact]
    public void A_store_reaches_a_read_of_the_file_and_a_write_to_the_file_reaches_the_mapping()
    {
        var fd = File("f");
        var map = Map(fd);
        Store(map + 10, "STORE");
        Assert.Equal("aSTOREa", FileBytes(fd, 9, 7));
        Assert.Equal(5, _h.Call(Pwrite, (ulong)fd, _h.Text(Buffer, "WRITE"), 5, (ulong)Page + 1));
        Assert.Equal("aWRITEa", Load(map + (ulong)Page, 7));
        // write(2) at the file offset too, and read(2).
        Assert.Equal(3, _h.Call(Write, (ulong)fd, _h.Text(Buffer, "xyz"), 3));
        Assert.Equal("xyz", Load(map, 3));
        Store(map + 3, "!");
        Assert.Equal(1, _h.Call(Read, (ulong)fd, Buffer, 1));
        Assert.Equal("!", Load(Buffer, 1));
    }

    [Fact]
    public void Msync_and_munmap_put_the_stores_in_the_file_on_the_host_and_close_does_not_end_the_mapping()
    {
        var fd = File("g");
        var map = Map(fd);
        Assert.Equal(0, _h.Call(Close, (ulong)fd));
        Store(map + 100, "synced");
        Assert.Equal(0, _h.Call(Msync, map, (ulong)(2 * Page), MS_SYNC));
        Assert.Equal("synced", HostBytes("g", 100, 6));
        Store(map + (ulong)Page, "unmapped");
        Assert.Equal(0, _h.Call(Munmap, map, (ulong)(2 * Page)));
        Assert.Equal("unmapped", HostBytes("g", Page, 8));
        Assert.Null(_h.Process.Mappings.Shared is { Count: > 0 } ? "left" : null);
    }

    [Fact]
    public void Msync_refuses_what_Linux_refuses()
    {
        var map = Map(File("h"));
        Assert.Equal(-Errno.EINVAL, _h.Call(Msync, map + 1, Page, MS_SYNC));
        Assert.Equal(-Errno.EINVAL, _h.Call(Msync, map, Page, MS_SYNC | MS_ASYNC));
        Assert.Equal(-Errno.EINVAL, _h.Call(Msync, map, Page, 0x10));
        Assert.Equal(0, _h.Call(Msync, map, Page, MS_ASYNC));
        Assert.Equal(0, _h.Call(Munmap, map, (ulong)(2 * Page)));
        Assert.Equal(-Errno.ENOMEM, _h.Call(Msync, map, Page, MS_SYNC));
    }

    [Fact]
    public void Two_mappings_of_one_file_merge_their_stores_byte_by_byte()
    {
        var fd = File("two");
        var a = Map(fd);
        var b = Map(fd);
        Store(a + 0, "A");
        Store(b + 1, "B");
        Assert.Equal(0, _h.Call(Msync, a, Page, MS_SYNC));
        Assert.Equal("ABa", FileBytes(fd, 0, 3));
        Assert.Equal("ABa", Load(a, 3));
        Assert.Equal("ABa", Load(b, 3));
    }

    [Fact]
    public void A_private_mapping_sees_the_shared_stores_so_far_and_keeps_its_own()
    {
        var fd = File("p");
        var shared = Map(fd);
        Store(shared, "S");
        var copy = Map(fd, flags: MAP_PRIVATE);
        Assert.Equal("S", Load(copy, 1));
        Store(copy + 1, "P");
        Assert.Equal(0, _h.Call(Munmap, copy, (ulong)(2 * Page)));
        Assert.Equal("Sa", FileBytes(fd, 0, 2));
    }

    [Fact]
    public void Truncation_zeroes_the_pages_past_the_end_and_they_are_never_written_back()
    {
        var fd = File("t");
        var map = Map(fd);
        Assert.Equal(0, _h.Call(Ftruncate, (ulong)fd, Page));
        Assert.Equal(0, _h.Process.User.Readable(map + (ulong)Page, 1)[0]);
        Store(map + (ulong)Page, "past");
        Assert.Equal(0, _h.Call(Fsync, (ulong)fd));
        Assert.Equal(Page, new FileInfo(Path.Combine(_h.Process.TmpDirectory, "t")).Length);
        Store(map, "in");
        Assert.Equal(0, _h.Call(Fsync, (ulong)fd));
        Assert.Equal("in", HostBytes("t", 0, 2));
    }

    [Fact]
    public void An_O_APPEND_descriptor_maps_in_place_and_dontneed_and_mremap_keep_the_stores()
    {
        var fd = File("app", extraFlags: O_APPEND);
        var map = Map(fd);
        Store(map + 5, "here");
        Assert.Equal(0, _h.Call(Madvise, map, (ulong)(2 * Page), MADV_DONTNEED));
        Assert.Equal("here", Load(map + 5, 4));
        Assert.Equal("here", HostBytes("app", 5, 4));
        Assert.Equal(2 * Page, new FileInfo(Path.Combine(_h.Process.TmpDirectory, "app")).Length);

        var moved = _h.Call(Mremap, map, (ulong)(2 * Page), (ulong)(4 * Page), MREMAP_MAYMOVE);
        Assert.True(moved > 0, $"mremap: {moved}");
        Assert.Equal("here", Load((ulong)moved + 5, 4));
        Store((ulong)moved + 9, "too");
        Assert.Equal(0, _h.Call(Msync, (ulong)moved, (ulong)(4 * Page), MS_SYNC));
        Assert.Equal("heretoo", HostBytes("app", 5, 7));
    }

    [Fact]
    public void Shared_mappings_stop_at_their_limit_and_a_snapshot_keeps_them()
    {
        using var h = new SyscallHarness(sharedFileMappingLimit: 2 * Page);
        var fd = (int)h.Call(Openat, AtFdcwd, h.Text(h.Scratch + 0x100, "/tmp/l"), O_RDWR | O_CREAT, 0x1a4);
        Assert.Equal(0, h.Call(Ftruncate, (ulong)fd, 4 * Page));
        var map = h.Call(Mmap, 0, 2 * Page, PROT_RW, MAP_SHARED, (ulong)fd, 0);
        Assert.True(map > 0);
        Assert.Equal(-Errno.ENOMEM, h.Call(Mmap, 0, Page, PROT_RW, MAP_SHARED, (ulong)fd, 0));
        Assert.True(h.Call(Mmap, 0, Page, PROT_READ, MAP_PRIVATE, (ulong)fd, 0) > 0); // private: no limit of this kind
        Assert.Single(h.Process.Capture().Mappings, m => m.Shared && m.Path == "/tmp/l");
        Assert.Equal(0, h.Call(Munmap, (ulong)map, 2 * Page));
        Assert.True(h.Call(Mmap, 0, Page, PROT_RW, MAP_SHARED, (ulong)fd, 0) > 0, "the limit's room came back with munmap");
    }

    /// <summary>test_mmap's large read-only mappings: a PROT_READ shared mapping has no shadow to write back from, so it
    /// is not held to the limit, and it still follows the file; made writable, it counts (ENOMEM past the limit) and
    /// writes back.</summary>
    [Fact]
    public void A_read_only_shared_mapping_is_not_held_to_the_limit_and_counts_once_made_writable()
    {
        const ulong Mprotect = 10;
        using var h = new SyscallHarness(sharedFileMappingLimit: 2 * Page);
        var fd = (int)h.Call(Openat, AtFdcwd, h.Text(h.Scratch + 0x100, "/tmp/big"), O_RDWR | O_CREAT, 0x1a4);
        Assert.Equal(4, h.Call(Pwrite, (ulong)fd, h.Text(h.Scratch + 0x200, "tail"), 4, 7 * Page));
        var map = (ulong)h.Call(Mmap, 0, 8 * Page, PROT_READ, MAP_SHARED, (ulong)fd, 0);
        Assert.True((long)map > 0, $"mmap: {(long)map}");
        Assert.Equal("tail", Encoding.ASCII.GetString(h.Process.User.Readable(map + 7 * Page, 4)));
        Assert.Equal(3, h.Call(Pwrite, (ulong)fd, h.Text(h.Scratch + 0x200, "new"), 3, 0));
        Assert.Equal("new", Encoding.ASCII.GetString(h.Process.User.Readable(map, 3))); // it follows the file
        Assert.Equal(-Errno.ENOMEM, h.Call(Mmap, 0, 8 * Page, PROT_RW, MAP_SHARED, (ulong)fd, 0));
        Assert.Equal(-Errno.ENOMEM, h.Call(Mprotect, map, 8 * Page, PROT_RW));

        var small = (ulong)h.Call(Mmap, 0, Page, PROT_READ, MAP_SHARED, (ulong)fd, Page);
        Assert.Equal(0, h.Call(Mprotect, small, Page, PROT_RW));
        h.Process.User.Write(small + 5, "stored"u8);
        Assert.Equal(0, h.Call(Msync, small, Page, MS_SYNC));
        Assert.Equal(6, h.Call(Pread, (ulong)fd, h.Scratch + 0x300, 6, Page + 5));
        Assert.Equal("stored", Encoding.ASCII.GetString(h.Process.User.Readable(h.Scratch + 0x300, 6)));
        Assert.Equal(-Errno.ENOMEM, h.Call(Mmap, 0, 2 * Page, PROT_RW, MAP_SHARED, (ulong)fd, 0)); // the page made writable counts
    }
}
