using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Snapfn.Workloads.Tests;

/// <summary>One component of a frame header: its id and sampling factors.</summary>
public readonly record struct JpegComponent(int Id, int H, int V);

/// <summary>What a JPEG's frame header says: the SOF marker (0xC0 baseline), size and components.</summary>
public sealed record JpegHeader(int Sof, int Width, int Height, IReadOnlyList<JpegComponent> Components, bool Jfif);

/// <summary>Reads JPEG structure by walking its markers (T.81 Annex B), and measures pixel agreement.</summary>
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

    /// <summary>Decodes with ImageSharp into interleaved 8-bit samples: RGB for colour, one byte for gray.</summary>
    public static byte[] Rgb(Image<Rgb24> image)
    {
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    /// <summary>Peak signal-to-noise ratio of 8-bit samples, in dB.</summary>
    public static double Psnr(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double sum = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            double d = expected[i] - actual[i];
            sum += d * d;
        }
        var mse = sum / expected.Length;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
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
