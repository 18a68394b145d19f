using Snapfn.Linux.Files;

namespace Snapfn.Linux.Tests.Files;

/// <summary>Names are bytes: whatever a program names a file, the bytes come back as they were.</summary>
public sealed class CStringTests
{
    public static TheoryData<byte[]> Names => new()
    {
        "plain"u8.ToArray(),
        "é😀"u8.ToArray(),
        new byte[] { 0x66, 0xe9, 0x74, 0xe9 }, // Latin-1 "fété"
        new byte[] { 0xff, 0xfe, 0x80 },
        new byte[] { 0xed, 0xb2, 0x80 }, // an encoded surrogate, which UTF-8 forbids
        new byte[] { 0xf0, 0x90, 0x82, 0x80, 0xdc }, // U+10080 (D800 DC80 in UTF-16), then a stray byte
        new byte[] { 0xe2, 0x82 }, // a sequence cut short
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Bytes_come_back_as_they_were(byte[] name)
    {
        var text = CString.Decode(name);
        Assert.Equal(name, CString.Bytes(text));
        Assert.Equal([.. name, 0], CString.Of(text));
    }

    [Fact]
    public void Invalid_bytes_are_not_the_replacement_character()
    {
        Assert.NotEqual(CString.Decode("\uFFFD"u8), CString.Decode(new byte[] { 0xff }));
        Assert.NotEqual(CString.Decode(new byte[] { 0xfe }), CString.Decode(new byte[] { 0xff }));
    }
}
