using System.Globalization;
using System.Text;
using System.Text.Json;
using Snapfn.Platform;
using Snapfn.Workloads.Tests.Verifiers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Snapfn.Workloads.Tests;

/// <summary>
/// recognition, checked against <see cref="ResNet50"/> run here at reduced width (WORKLOADS.md: each reported logit
/// within 1e-3 of the largest |logit|, the top five the checker's but for near-ties). The guest gets the input's
/// pixels as decoded by ImageSharp, in a PPM, so that JPEG decoders cannot differ; the JPEG itself is run at full
/// width to show that the guest reads it.
/// </summary>
public sealed class RecognitionTests(ITestOutputHelper log)
{
    private const double RelativeTolerance = 1e-3;

    [Theory]
    [InlineData(InputSet.A, 8)]
    [InlineData(InputSet.B, 16)]
    public void Top_five_match_a_csharp_resnet50_of_reduced_width(InputSet set, int divisor)
    {
        Guests.RequireKvm();
        using var picture = Image.Load<Rgb24>(Guests.Input("recognition", set));
        var rgb = ImageCompare.Rgb(picture);
        var request = Encoding.ASCII.GetBytes($"{{\"width_divisor\":{divisor}}}\n")
            .Concat(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"P6\n{picture.Width} {picture.Height}\n255\n")))
            .Concat(rgb).ToArray();
        using var output = JsonDocument.Parse(Guests.Run("recognition", request));
        var logits = new ResNet50(divisor).Logits(rgb, picture.Width, picture.Height);

        var root = output.RootElement;
        Assert.Equal("synthetic", root.GetProperty("weights").GetString());
        Assert.Equal(divisor, root.GetProperty("width_divisor").GetInt32());
        Assert.Equal([picture.Width, picture.Height], root.GetProperty("image").EnumerateArray().Select(v => v.GetInt32()));
        var top5 = TopFive.Parse(root);
        Assert.Equal(5, top5.Count);
        Assert.Equal(5, top5.Select(t => t.Class).Distinct().Count());

        // The guest prints probabilities with %.6e: that rounding on top of the logits' tolerance.
        var (tolerance, worst) = TopFive.AssertMatches(top5, logits, RelativeTolerance, probabilityRounding: 1e-6);
        for (var i = 1; i < 5; i++)
            Assert.True(top5[i - 1].Logit >= top5[i].Logit, "top5 is sorted, largest logit first");
        log.WriteLine($"recognition {set} D={divisor}: top class {top5[0].Class}, largest |logit| {tolerance / RelativeTolerance:F3}, worst logit error {worst:E2} (tolerance {tolerance:E2})");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void The_jpeg_input_runs_at_full_width(InputSet set)
    {
        Guests.RequireKvm();
        var jpeg = Guests.Input("recognition", set);
        var header = JpegFile.Header(jpeg);
        // The emulated CPU runs the network at an eighth of the width (a 64th of the work): the JPEG is read the same.
        var divisor = Guests.OnSoftCpu ? 8 : 1;
        var input = divisor == 1 ? jpeg : [.. Encoding.ASCII.GetBytes($"{{\"width_divisor\":{divisor}}}\n"), .. jpeg];
        using var output = JsonDocument.Parse(Guests.Run("recognition", input));

        var root = output.RootElement;
        Assert.Equal("synthetic", root.GetProperty("weights").GetString());
        Assert.Equal(divisor, root.GetProperty("width_divisor").GetInt32());
        Assert.Equal([header.Width, header.Height], root.GetProperty("image").EnumerateArray().Select(v => v.GetInt32()));
        var top5 = TopFive.Parse(root);
        TopFive.AssertWellFormed(top5);
        Assert.All(top5, t => Assert.True(t.Probability > 0 && double.IsFinite(t.Logit)));
    }
}
