using Snapfn.Interop;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

public sealed class StateFileTests
{
    private static SnapshotState Sample() => new()
    {
        Id = Guid.NewGuid(), Function = "hello-world", ElfSha256 = new string('a', 64), MemorySize = 512UL << 20,
        ImageEnd = 0x240000, MemoryFileName = SnapshotFolder.MemoryFileNameOf(Guid.NewGuid()), VmmPagesSha256 = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
        MemoryDigest = new MemoryDigest(MemoryDigest.ChunkSizeFor(512UL << 20),
            Enumerable.Range(0, 256).Select(i => (UInt128)i << 70 | (UInt128)i).ToArray()),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000),
        Vcpu = new VcpuState(new Kvm.kvm_regs { rip = 0x200123, rsp = 0xdff000, rflags = 0x3002 },
            new Kvm.kvm_sregs { cr0 = 0x80050033, cr3 = 0x1000, efer = 0xd00 }, Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray(),
            new Kvm.kvm_xcrs { nr_xcrs = 1 }, [new MsrValue(0x277, 0x0007040600070406)]),
    };

    private static SnapshotState Parse(byte[] bytes) => StateFile.Deserialize(bytes, "state.bin", SnapshotRemedy.TakeSnapshot("hello-world"));

    [Fact]
    public void Round_trips_every_field()
    {
        var state = Sample();
        var back = Parse(StateFile.Serialize(state));
        Assert.Equal(state.Id, back.Id);
        Assert.Equal(state.Function, back.Function);
        Assert.Equal(state.ElfSha256, back.ElfSha256);
        Assert.Equal(state.MemorySize, back.MemorySize);
        Assert.Equal(state.ImageEnd, back.ImageEnd);
        Assert.Equal(state.MemoryFileName, back.MemoryFileName);
        Assert.Equal(state.CreatedAt, back.CreatedAt);
        Assert.Equal(state.Vcpu.Regs, back.Vcpu.Regs);
        Assert.Equal(state.Vcpu.Sregs.cr0, back.Vcpu.Sregs.cr0);
        Assert.Equal(state.Vcpu.Sregs.efer, back.Vcpu.Sregs.efer);
        Assert.Equal(state.Vcpu.Xsave, back.Vcpu.Xsave);
        Assert.Equal(state.Vcpu.Msrs, back.Vcpu.Msrs);
        Assert.Equal(state.VmmPagesSha256, back.VmmPagesSha256);
        Assert.Equal(state.MemoryDigest.ChunkSize, back.MemoryDigest.ChunkSize);
        Assert.Equal(state.MemoryDigest.Chunks, back.MemoryDigest.Chunks);
    }

    [Fact]
    public void A_state_file_of_the_previous_format_is_refused_with_taking_the_snapshot_again_as_the_remedy()
    {
        // A version-2 file as the previous Snapfn wrote it: its own checksum is right, it has no digests.
        var bytes = StateFile.Serialize(Sample());
        BitConverter.GetBytes(StateFile.FormatVersion - 1).CopyTo(bytes, 8);
        var body = bytes[..^32];
        System.Security.Cryptography.SHA256.HashData(body).CopyTo(bytes, body.Length);
        var e = Assert.Throws<SnapshotInvalidException>(() => Parse(bytes));
        Assert.Contains("older Snapfn", e.Message);
        Assert.Equal(SnapshotRemedy.TakeSnapshot("hello-world"), e.Remedy);
    }

    [Fact]
    public void Any_flipped_byte_is_refused_with_the_command_to_retake()
    {
        var bytes = StateFile.Serialize(Sample());
        foreach (var position in new[] { 20, bytes.Length / 2, bytes.Length - 40, bytes.Length - 1 })
        {
            var copy = (byte[])bytes.Clone();
            copy[position] ^= 0x01;
            var e = Assert.Throws<SnapshotInvalidException>(() => Parse(copy));
            Assert.Equal(SnapshotRemedy.TakeSnapshot("hello-world"), e.Remedy);
        }
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("../../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("memory-0123456789abcdef0123456789abcdef.bin/../../x")]
    [InlineData("sub/memory-0123456789abcdef0123456789abcdef.bin")]
    [InlineData("memory-x.bin")]
    [InlineData("state.bin")]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("memory-0123456789abcdef0123456789abcdef.bin\n")]
    [InlineData("memory-0123456789ABCDEF0123456789ABCDEF.bin")]
    public void A_memory_file_name_that_is_not_a_plain_name_of_the_pattern_is_refused_in_one_line(string name)
    {
        name = name.Replace("\\n", "\n", StringComparison.Ordinal);
        var e = Assert.Throws<SnapshotInvalidException>(() => Parse(StateFile.Serialize(Sample() with { MemoryFileName = name })));
        Assert.Contains("not a plain memory file name (memory-<32 hex digits>.bin)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(SnapshotRemedy.TakeSnapshot("hello-world"), e.Remedy);
        Assert.Throws<ArgumentException>(() => new SnapshotFolder("/tmp/f", "hello-world").MemoryFile(name));
    }

    [Fact]
    public void The_names_the_writer_gives_memory_files_are_the_pattern_s()
    {
        var name = SnapshotFolder.MemoryFileNameOf(Guid.NewGuid());
        Assert.True(SnapshotFolder.IsMemoryFileName(name));
        Assert.Equal(name, Parse(StateFile.Serialize(Sample() with { MemoryFileName = name })).MemoryFileName);
        Assert.Equal(Path.Combine("/tmp/f", name), new SnapshotFolder("/tmp/f", "hello-world").MemoryFile(name));
    }

    [Fact]
    public void A_truncated_file_is_refused()
    {
        var bytes = StateFile.Serialize(Sample());
        foreach (var length in new[] { 0, 10, bytes.Length / 2, bytes.Length - 1 })
            Assert.Throws<SnapshotInvalidException>(() => Parse(bytes[..length]));
    }

    [Fact]
    public void Another_format_version_is_refused_by_name()
    {
        var bytes = StateFile.Serialize(Sample());
        bytes[8] = 1;
        Assert.Contains("format version 1", Assert.Throws<SnapshotInvalidException>(() => Parse(bytes)).Message);
    }
}
