using Snapfn.Platform;
using Snapfn.Workloads.Tests.Verifiers;

namespace Snapfn.Workloads.Tests;

/// <summary>
/// image and video, booted on inputs A and B, their JPEG outputs decoded by ImageSharp and compared with
/// ImageSharp's own rotation or grayscale of the decoded input (WORKLOADS.md: PSNR above 30 dB).
/// </summary>
public sealed class ImageWorkloadTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Image_output_is_the_input_turned_a_quarter_clockwise(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("image", set);
        var output = Guests.Run("image", input);

        var psnr = JpegWorkloads.QuarterTurnPsnr(input, output);
        log.WriteLine($"image {set}: {input.Length} B in, {output.Length} B out, PSNR {psnr:F2} dB");
        Assert.True(psnr > ImageCompare.MinJpegPsnr, $"PSNR {psnr:F2} dB against the rotated input, expected above {ImageCompare.MinJpegPsnr} dB");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Video_output_is_every_frame_in_gray(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.VideoInput("video", set);
        var output = Guests.Run("video", input);

        var worst = JpegWorkloads.AssertEveryFrameGray(input, Guests.VideoFrames, output, (_, header, _) =>
        {
            // A baseline frame with one component: gray as the JPEG stores it.
            Assert.Equal(0xC0, header.Sof);
            Assert.Single(header.Components);
        });
        log.WriteLine($"video {set}: {input.Length} B in, {output.Length} B out, worst frame PSNR {worst:F2} dB");
    }
}
