namespace Snapfn.Workloads.Tests;

/// <summary>One component of a frame header: its id and sampling factors.</summary>
public readonly record struct JpegComponent(int Id, int H, int V);

/// <summary>What a JPEG's frame header says: the SOF marker (0xC0 baseline), size and components.</summary>
public sealed record JpegHeader(int Sof, int Width, int Height, IReadOnlyList<JpegComponent> Components, bool Jfif);

/// <summary>Reads JPEG structure by walking its markers (T.81 Annex B); the pixels are <see cref="Verifiers.ImageCompare"/>'s.</summary>
public static class JpegFile
{
    /// <summary>Splits a Motion JPEG stream into its frames; each must begin right where the previous one ended.</summary>
    public static List<byte[]> Frames(byte[] stream)
    {
        var frames = new List<byte[]>();
        for (var start = 0; start < stream.Length;)
        {
            var end = Walk(stream, start, out _);
            frames.Add(stream[start..end]);
            start = end;
        }
        return frames;
    }

    public static JpegHeader Header(byte[] jpeg)
    {
        var end = Walk(jpeg, 0, out var header);
        Assert.Equal(jpeg.Length, end);
        return header ?? throw new InvalidDataException("no frame header (SOFn)");
    }

    /// <summary>The 8-bit quantisation tables of a JPEG's DQT segments before its first scan, by table id, as stored
    /// (zigzag order).</summary>
    public static Dictionary<int, int[]> QuantisationTables(byte[] jpeg)
    {
        var tables = new Dictionary<int, int[]>();
        for (var pos = 2; pos + 4 <= jpeg.Length && jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xDA;)
        {
            var marker = jpeg[pos + 1];
            var length = (jpeg[pos + 2] << 8) | jpeg[pos + 3];
            if (marker == 0xDB)
            {
                for (var t = pos + 4; t < pos + 2 + length; t += 65)
                {
                    Assert.Equal(0, jpeg[t] >> 4); // 8-bit precision, as baseline requires
                    tables[jpeg[t] & 15] = [.. jpeg.AsSpan(t + 1, 64).ToArray().Select(q => (int)q)];
                }
            }
            pos += 2 + length;
        }
        return tables;
    }

    /// <summary>From the SOI at <paramref name="start"/> to just past its EOI.</summary>
    private static int Walk(byte[] data, int start, out JpegHeader? header)
    {
        header = null;
        var jfif = false;
        if (data.Length < start + 4 || data[start] != 0xFF || data[start + 1] != 0xD8)
            throw new InvalidDataException($"no SOI at byte {start}");
        var pos = start + 2;
        while (true)
        {
            if (data[pos] != 0xFF)
                throw new InvalidDataException($"expected a marker at byte {pos}");
            while (data[pos] == 0xFF)
                pos++;
            var marker = data[pos++];
            if (marker == 0xD9)
                return pos;
            if (marker is >= 0xD0 and <= 0xD7 or 0x01)
                continue;
            var length = (data[pos] << 8) | data[pos + 1];
            var segment = data.AsSpan(pos + 2, length - 2);
            if (marker == 0xE0 && segment.StartsWith("JFIF\0"u8))
                jfif = true;
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                var components = new List<JpegComponent>();
                for (var c = 0; c < segment[5]; c++)
                    components.Add(new JpegComponent(segment[6 + 3 * c], segment[7 + 3 * c] >> 4, segment[7 + 3 * c] & 15));
                header = new JpegHeader(marker, (segment[3] << 8) | segment[4], (segment[1] << 8) | segment[2], components, jfif);
            }
            pos += length;
            if (marker != 0xDA)
                continue;
            // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or a restart marker, or a real marker ends it.
            while (!(data[pos] == 0xFF && data[pos + 1] != 0x00 && data[pos + 1] is < 0xD0 or > 0xD7))
                pos++;
        }
    }
}
