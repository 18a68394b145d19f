using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Snapfn.Interop;

namespace Snapfn.Interop.Tests;

/// <summary>The calls take the descriptor's SafeHandle and the buffer as a span.</summary>
public sealed unsafe class SafeHandleCallTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("snapfn-interop-").FullName;

    [Fact]
    public void Pwrite_and_pread_take_spans()
    {
        using var fd = Open(Path.Combine(_directory, "data"), Libc.O_RDWR | Libc.O_CREAT | Libc.O_TRUNC);
        Assert.Equal(5, Libc.pwrite(fd, "hello"u8, 3));
        var buffer = new byte[8];
        Assert.Equal(8, Libc.pread(fd, buffer, 0));
        Assert.Equal("\0\0\0hello"u8.ToArray(), buffer);
        Assert.Equal(0, Libc.lseek(fd, 0, 0 /* SEEK_SET */));
        Assert.Equal(3, Libc.read(fd, buffer.AsSpan(0, 3)));
        Assert.Equal(2, Libc.write(fd, "ab"u8));
        Assert.Equal(2, Libc.pread(fd, buffer.AsSpan(0, 2), 3));
        Assert.Equal("ab"u8.ToArray(), buffer[..2]);
    }

    [Fact]
    public void A_disposed_handle_is_refused_before_its_number_can_reach_another_file()
    {
        var first = Open(Path.Combine(_directory, "first"), Libc.O_RDWR | Libc.O_CREAT);
        first.Dispose();
        // The kernel hands out the lowest free number: this one most likely reuses the first's.
        using var second = Open(Path.Combine(_directory, "second"), Libc.O_RDWR | Libc.O_CREAT);
        Assert.Throws<ObjectDisposedException>(() => Libc.pwrite(first, "lost"u8, 0));
        Assert.Equal(0, new FileInfo(Path.Combine(_directory, "second")).Length);
    }

    [Fact]
    public void A_SafeFileHandle_is_accepted_as_it_is()
    {
        var path = Path.Combine(_directory, "file");
        File.WriteAllBytes(path, "content"u8.ToArray());
        using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        Assert.Equal(0, Libc.fsync(file));
        var buffer = new byte[7];
        Assert.Equal(7, Libc.pread(file, buffer, 0));
        Assert.Equal("content"u8.ToArray(), buffer);
    }

    [Fact]
    public void Readlinkat_reads_a_link_by_its_name_or_by_an_O_PATH_descriptor_of_it()
    {
        File.CreateSymbolicLink(Path.Combine(_directory, "link"), "target/file");
        using var directory = Open(_directory, Libc.O_PATH | Libc.O_DIRECTORY);
        var buffer = new byte[64];
        var n = Libc.readlinkat(directory, "link\0"u8, buffer);
        Assert.Equal("target/file"u8.ToArray(), buffer[..(int)n]);

        using var link = Open(Path.Combine(_directory, "link"), Libc.O_PATH | Libc.O_NOFOLLOW);
        n = Libc.readlinkat(link, "\0"u8, buffer);
        Assert.Equal("target/file"u8.ToArray(), buffer[..(int)n]);

        Assert.Throws<ArgumentException>(() => Libc.readlinkat(directory, "link"u8, buffer));
    }

    [Fact]
    public void An_anonymous_mapping_needs_no_descriptor()
    {
        var address = Libc.mmap_anonymous(0, 4096, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE);
        Assert.NotEqual(Libc.MAP_FAILED, address);
        try
        {
            Assert.Equal(0, *(byte*)address);
            *(byte*)address = 42;
            Assert.Equal(42, *(byte*)address);
        }
        finally
        {
            Assert.Equal(0, Libc.munmap(address, 4096));
        }
    }

    private static SafeFd Open(string path, int flags)
    {
        var fd = Libc.open(path, flags | Libc.O_CLOEXEC, 0x180 /* 0600 */);
        Assert.True(fd >= 0, $"open({path}): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        return new SafeFd(fd);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
