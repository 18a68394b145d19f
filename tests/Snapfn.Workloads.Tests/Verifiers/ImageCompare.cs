using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>Pictures as ImageSharp decodes them, and how close two of them are.</summary>
public static class ImageCompare
{
    /// <summary>WORKLOADS.md's bar for a JPEG a function writes against the same change made here.</summary>
    public const double MinJpegPsnr = 30;

    /// <summary>Decoded by ImageSharp, changed by <paramref name="change"/> if given, as interleaved RGB.</summary>
    public static byte[] Decode(byte[] jpeg, Action<IImageProcessingContext>? change = null)
    {
        using var image = Image.Load<Rgb24>(jpeg);
        if (change is not null)
            image.Mutate(change);
        return Rgb(image);
    }

    /// <summary>Interleaved 8-bit RGB samples.</summary>
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
}
