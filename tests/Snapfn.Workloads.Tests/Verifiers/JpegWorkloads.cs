using SixLabors.ImageSharp.Processing;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>
/// WORKLOADS.md's image and video rules, which py-image and py-video keep: the output is the input changed, as
/// ImageSharp makes the same change to the decoded input, to within <see cref="ImageCompare.MinJpegPsnr"/>.
/// </summary>
public static class JpegWorkloads
{
    /// <summary>image's output: a baseline JFIF of the input's size turned, in colour 4:2:0 (Y sampled 2x2, Cb and
    /// Cr 1x1). Returns its PSNR against ImageSharp's quarter turn clockwise of the input, for the caller to log
    /// before it holds it to the bar.</summary>
    public static double QuarterTurnPsnr(byte[] input, byte[] output)
    {
        var inputHeader = JpegFile.Header(input);
        var header = JpegFile.Header(output);
        Assert.Equal(0xC0, header.Sof);
        Assert.True(header.Jfif, "a JFIF APP0 segment");
        Assert.Equal((inputHeader.Height, inputHeader.Width), (header.Width, header.Height));
        Assert.Equal([(2, 2), (1, 1), (1, 1)], header.Components.Select(c => (c.H, c.V)));
        return ImageCompare.Psnr(ImageCompare.Decode(input, x => x.Rotate(RotateMode.Rotate90)), ImageCompare.Decode(output));
    }

    /// <summary>
    /// video's output: the input's frames (<paramref name="frames"/> of them: 30, or fewer on the emulated CPU) in order, each its frame's size and above the PSNR bar against its
    /// BT.601 gray. <paramref name="checkFrame"/> gets each frame's index, header and decoded RGB for what the
    /// function's own encoder promises. Returns the worst frame's PSNR.
    /// </summary>
    public static double AssertEveryFrameGray(byte[] input, int frames, byte[] output, Action<int, JpegHeader, byte[]> checkFrame)
    {
        var inFrames = JpegFile.Frames(input);
        var outFrames = JpegFile.Frames(output);
        Assert.Equal(frames, inFrames.Count);
        Assert.Equal(inFrames.Count, outFrames.Count);
        var worst = double.PositiveInfinity;
        for (var f = 0; f < inFrames.Count; f++)
        {
            var inHeader = JpegFile.Header(inFrames[f]);
            var header = JpegFile.Header(outFrames[f]);
            Assert.Equal((inHeader.Width, inHeader.Height), (header.Width, header.Height));

            var expected = ImageCompare.Decode(inFrames[f], x => x.Grayscale(GrayscaleMode.Bt601));
            var actual = ImageCompare.Decode(outFrames[f]);
            checkFrame(f, header, actual);
            // Both are gray (R = G = B), so the RGB comparison is the luma comparison.
            var psnr = ImageCompare.Psnr(expected, actual);
            Assert.True(psnr > ImageCompare.MinJpegPsnr,
                $"frame {f}: PSNR {psnr:F2} dB against the input's BT.601 luma, expected above {ImageCompare.MinJpegPsnr} dB");
            worst = Math.Min(worst, psnr);
        }
        return worst;
    }
}
