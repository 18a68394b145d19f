using System.Globalization;
using System.Text;
using System.Text.Json;
using Snapfn.Platform;
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
        var rgb = JpegFile.Rgb(picture);
        var request = Encoding.ASCII.GetBytes($"{{\"width_divisor\":{divisor}}}\n")
            .Concat(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"P6\n{picture.Width} {picture.Height}\n255\n")))
            .Concat(rgb).ToArray();
        using var output = JsonDocument.Parse(Guests.Run("recognition", request));
        var logits = new ResNet50(divisor).Logits(rgb, picture.Width, picture.Height);

        var root = output.RootElement;
        Assert.Equal("synthetic", root.GetProperty("weights").GetString());
        Assert.Equal(divisor, root.GetProperty("width_divisor").GetInt32());
        Assert.Equal([picture.Width, picture.Height], root.GetProperty("image").EnumerateArray().Select(v => v.GetInt32()));
        var top5 = root.GetProperty("top5").EnumerateArray().Select(t => (Class: t[0].GetInt32(), Logit: t[1].GetDouble(), Probability: t[2].GetDouble())).ToList();
        Assert.Equal(5, top5.Count);
        Assert.Equal(5, top5.Select(t => t.Class).Distinct().Count());

        var tolerance = RelativeTolerance * logits.Max(l => Math.Abs(l));
        var max = logits.Max();
        var logSum = Math.Log(logits.Sum(l => Math.Exp(l - max)));
        var worst = 0.0;
        foreach (var (cls, logit, probability) in top5)
        {
            var error = Math.Abs(logit - logits[cls]);
            worst = Math.Max(worst, error);
            Assert.True(error <= tolerance, $"class {cls}: logit {logit:E7}, expected {logits[cls]:E7} within {tolerance:E2}");
            // Each logit is off by at most the tolerance, so log p by at most twice that (and %.6e's rounding).
            var expectedLogP = logits[cls] - max - logSum;
            Assert.True(Math.Abs(Math.Log(probability) - expectedLogP) <= 2 * tolerance + 1e-6, $"class {cls}: probability {probability:E6}, expected {Math.Exp(expectedLogP):E6}");
        }
        for (var i = 1; i < 5; i++)
            Assert.True(top5[i - 1].Logit >= top5[i].Logit, "top5 is sorted, largest logit first");
        // No class left out may beat the fifth by more than the two logits' tolerance (that would be a near-tie).
        var reported = top5.Select(t => t.Class).ToHashSet();
        var fifth = logits[top5[4].Class];
        for (var c = 0; c < logits.Length; c++)
            Assert.True(reported.Contains(c) || logits[c] <= fifth + 2 * tolerance, $"class {c} (logit {logits[c]:E7}) belongs in the top five");
        log.WriteLine($"recognition {set} D={divisor}: top class {top5[0].Class}, largest |logit| {tolerance / RelativeTolerance:F3}, worst logit error {worst:E2} (tolerance {tolerance:E2})");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void The_jpeg_input_runs_at_full_width(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("recognition", set);
        var header = JpegFile.Header(input);
        using var output = JsonDocument.Parse(Guests.Run("recognition", input));

        var root = output.RootElement;
        Assert.Equal("synthetic", root.GetProperty("weights").GetString());
        Assert.Equal(1, root.GetProperty("width_divisor").GetInt32());
        Assert.Equal([header.Width, header.Height], root.GetProperty("image").EnumerateArray().Select(v => v.GetInt32()));
        var top5 = root.GetProperty("top5").EnumerateArray().Select(t => (Class: t[0].GetInt32(), Logit: t[1].GetDouble(), Probability: t[2].GetDouble())).ToList();
        Assert.Equal(5, top5.Select(t => t.Class).Where(c => c is >= 0 and < 1000).Distinct().Count());
        for (var i = 1; i < 5; i++)
        {
            Assert.True(top5[i - 1].Logit >= top5[i].Logit);
            Assert.True(top5[i - 1].Probability >= top5[i].Probability);
        }
        Assert.InRange(top5.Sum(t => t.Probability), 0, 1 + 1e-5);
        Assert.All(top5, t => Assert.True(t.Probability > 0 && double.IsFinite(t.Logit)));
    }
}
