using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Snapfn.Bench.Inputs;

/// <summary>
/// The still JPEGs: image's inputs (1024x768, ~105 KB) and recognition's (A 640x480, ~62 KB; B 800x600, ~83 KB),
/// each a <see cref="Scene"/> of its own seed encoded by ImageSharp as baseline 4:2:0 colour. The qualities were
/// chosen once so that the files land near the sizes of the paper's inputs (WORKLOADS.md's table); they are
/// constants, not searched at run time, so that an input costs one rendering and one encode. The same call gives
/// the same bytes; ImageSharp's SIMD paths could in principle round a coefficient differently on another kind of
/// CPU, which nothing depends on (every output is checked against the input it was computed from).
/// </summary>
public static class JpegInputs
{
    private const int ImageQuality = 80;
    private const int RecognitionQuality = 86;

    public static byte[] Image(InputSet set) =>
        set == InputSet.A ? Still(1024, 768, seed: 1, ImageQuality) : Still(1024, 768, seed: 2, ImageQuality);

    public static byte[] Recognition(InputSet set) =>
        set == InputSet.A ? Still(640, 480, seed: 3, RecognitionQuality) : Still(800, 600, seed: 4, RecognitionQuality);

    /// <summary>A town <see cref="Scene"/> of <paramref name="seed"/>, <paramref name="width"/> by
    /// <paramref name="height"/>, encoded at <paramref name="quality"/>.</summary>
    public static byte[] Still(int width, int height, ulong seed, int quality) =>
        Encode(Scene.Render(width, height, seed, detail: 1, town: true), width, height, quality);

    /// <summary>RGB8 pixels as a baseline JFIF JPEG, YCbCr 4:2:0, no metadata.</summary>
    internal static byte[] Encode(byte[] rgb, int width, int height, int quality)
    {
        using var image = SixLabors.ImageSharp.Image.LoadPixelData<Rgb24>(rgb, width, height);
        using var jpeg = new MemoryStream();
        image.SaveAsJpeg(jpeg, new JpegEncoder { Quality = quality, ColorType = JpegColorType.YCbCrRatio420 });
        return jpeg.ToArray();
    }
}
