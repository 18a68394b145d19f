using Snapfn.Platform;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Snapfn.Workloads.Tests;

/// <summary>
/// image and video, booted on inputs A and B, their JPEG outputs decoded by ImageSharp and compared with
/// ImageSharp's own rotation or grayscale of the decoded input (WORKLOADS.md: PSNR above 30 dB).
/// </summary>
public sealed class ImageWorkloadTests(ITestOutputHelper log)
{
    private const double MinPsnr = 30;

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Image_output_is_the_input_turned_a_quarter_clockwise(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("image", set);
        var output = Guests.Run("image", input);

        var inputHeader = JpegFile.Header(input);
        var header = JpegFile.Header(output);
        Assert.Equal(0xC0, header.Sof);
        Assert.True(header.Jfif, "a JFIF APP0 segment");
        Assert.Equal((inputHeader.Height, inputHeader.Width), (header.Width, header.Height));
        // Colour stays colour, in 4:2:0: Y sampled 2x2, Cb and Cr 1x1.
        Assert.Equal([(2, 2), (1, 1), (1, 1)], header.Components.Select(c => (c.H, c.V)));

        using var expected = Image.Load<Rgb24>(input);
        expected.Mutate(x => x.Rotate(RotateMode.Rotate90));
        using var actual = Image.Load<Rgb24>(output);
        var psnr = JpegFile.Psnr(JpegFile.Rgb(expected), JpegFile.Rgb(actual));
        log.WriteLine($"image {set}: {input.Length} B in, {output.Length} B out, PSNR {psnr:F2} dB");
        Assert.True(psnr > MinPsnr, $"PSNR {psnr:F2} dB against the rotated input, expected above {MinPsnr} dB");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Video_output_is_every_frame_in_gray(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("video", set);
        var output = Guests.Run("video", input);

        var inFrames = JpegFile.Frames(input);
        var outFrames = JpegFile.Frames(output);
        Assert.Equal(30, inFrames.Count);
        Assert.Equal(inFrames.Count, outFrames.Count);
        var worst = double.PositiveInfinity;
        for (var f = 0; f < inFrames.Count; f++)
        {
            var inHeader = JpegFile.Header(inFrames[f]);
            var header = JpegFile.Header(outFrames[f]);
            Assert.Equal(0xC0, header.Sof);
            Assert.Single(header.Components);
            Assert.Equal((inHeader.Width, inHeader.Height), (header.Width, header.Height));

            using var expected = Image.Load<Rgb24>(inFrames[f]);
            expected.Mutate(x => x.Grayscale(GrayscaleMode.Bt601));
            using var actual = Image.Load<Rgb24>(outFrames[f]);
            // Both are gray now (R = G = B), so the RGB comparison is the luma comparison.
            var psnr = JpegFile.Psnr(JpegFile.Rgb(expected), JpegFile.Rgb(actual));
            Assert.True(psnr > MinPsnr, $"frame {f}: PSNR {psnr:F2} dB against the input's BT.601 luma, expected above {MinPsnr} dB");
            worst = Math.Min(worst, psnr);
        }
        log.WriteLine($"video {set}: {input.Length} B in, {output.Length} B out, worst frame PSNR {worst:F2} dB");
    }
}
