using System.IO.Compression;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>
/// RFC 1952 checks for compression and py-compression, whose output must be one gzip member of their input. The
/// header flags each function sets differ (zlib's XFL and OS bytes in Python), so the callers check those.
/// </summary>
public static class GzipMember
{
    /// <summary>ID1 ID2 CM (deflate) and MTIME 0; smaller than the input; a trailer with the input's CRC-32 and
    /// length; and .NET's inflater turns it back into the input.</summary>
    public static void AssertIsOneMemberOf(byte[] member, byte[] input)
    {
        Assert.Equal([0x1f, 0x8b, 0x08], member[..3]);
        Assert.Equal(0u, BitConverter.ToUInt32(member, 4)); // MTIME
        Assert.True(member.Length < input.Length, $"{member.Length} bytes of gzip for {input.Length} bytes of input");
        Assert.Equal(Crc32(input), BitConverter.ToUInt32(member, member.Length - 8));
        Assert.Equal((uint)input.Length, BitConverter.ToUInt32(member, member.Length - 4));

        using var gzip = new GZipStream(new MemoryStream(member), CompressionMode.Decompress);
        using var inflated = new MemoryStream();
        gzip.CopyTo(inflated);
        Assert.Equal(input, inflated.ToArray());
    }

    /// <summary>CRC-32 of RFC 1952 (reflected, polynomial 0xEDB88320), computed here rather than trusted.</summary>
    public static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
