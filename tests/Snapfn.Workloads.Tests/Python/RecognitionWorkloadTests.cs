using System.Collections.Concurrent;
using System.Text.Json;
using Snapfn.Platform;
using Snapfn.Workloads.Tests.Verifiers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Snapfn.Workloads.Tests.Python;

/// <summary>
/// py-recognition (torchvision's ResNet-50 filled with WORKLOADS.md's synthetic weights), booted on inputs A and B.
/// Asked with <c>{"return_input":true}</c>, it also returns the 224x224 picture it fed the network; the checks:
/// that picture is torchvision's preprocessing of the JPEG (recomputed with ImageSharp, within a tolerance for two
/// decoders and two resamplers); the logits are those of <see cref="ResNet50"/> at full width fed that picture; and
/// the answer depends on the picture only.
/// </summary>
public sealed class RecognitionWorkloadTests(ITestOutputHelper log)
{
    private const string Function = "py-recognition";
    private const int Side = 224;
    private const int ResizeShorterSide = 256;
    private const string Weights = "synthetic: WORKLOADS.md's recognition rule, rng.seed(50); the classes mean nothing";

    /// <summary>Relative to the largest |logit|. torch sums in float32 (OpenBLAS, oneDNN) where the reference sums
    /// each conv in double; on inputs A and B the worst top-five logit is 3.5e-7 off.</summary>
    private const double RelativeTolerance = 1e-5;

    /// <summary>libjpeg-turbo and Pillow's resize against ImageSharp's decoder and triangle resampler. Measured on
    /// inputs A and B: a mean difference of 0.47 and 0.34 levels, PSNR 47.8 and 50.9 dB (a few samples at sharp
    /// edges differ by up to 16 levels, which is why no bound is put on the largest).</summary>
    private const double MaxMeanPixelError = 1.0;
    private const double MinPsnr = 40;

    // A boot, torch's import and init() take seconds: each request is made once and shared by the tests.
    private static readonly ConcurrentDictionary<(InputSet, bool), Lazy<byte[]>> _runs = new();

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Top_five_match_a_csharp_resnet50_fed_the_function_s_own_input(InputSet set)
    {
        Guests.RequireKvm();
        var jpeg = Guests.Input(Function, set);
        var (root, top5, input) = Parse(Run(set, returnInput: true));
        var header = JpegFile.Header(jpeg);
        Assert.Equal(Weights, root.GetProperty("weights").GetString());
        Assert.Equal([header.Width, header.Height], root.GetProperty("image").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(5, top5.Count);
        TopFive.AssertWellFormed(top5);
        Assert.NotNull(input);

        var logits = new ResNet50(1).Logits(input, Side, Side);
        // torch's softmax is float32: its rounding on top of the logits' tolerance.
        var (tolerance, worst) = TopFive.AssertMatches(top5, logits, RelativeTolerance, probabilityRounding: 1e-5);
        log.WriteLine($"{Function} {set}: top class {top5[0].Class} (p {top5[0].Probability:F4}), largest |logit| {tolerance / RelativeTolerance:F3}, " +
            $"worst logit error {worst:E2} (tolerance {tolerance:E2})");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void The_network_s_input_is_torchvision_s_resize_256_and_center_crop_224(InputSet set)
    {
        Guests.RequireKvm();
        var jpeg = Guests.Input(Function, set);
        var (_, _, input) = Parse(Run(set, returnInput: true));
        Assert.NotNull(input);

        using var picture = Image.Load<Rgb24>(jpeg);
        var (width, height) = ResizedSize(picture.Width, picture.Height);
        var (left, top) = CropOrigin(width, height);
        log.WriteLine($"{Function} {set}: {picture.Width}x{picture.Height} resized to {width}x{height}, cropped at ({left}, {top})");
        picture.Mutate(x => x.Resize(width, height, KnownResamplers.Triangle));
        var pixels = ImageCompare.Rgb(picture);
        var (mean, psnr) = Difference(Crop(pixels, width, left, top), input);
        // The same picture a pixel to the side is much further off: the comparison pins the crop's position.
        var (shiftedMean, shiftedPsnr) = Difference(Crop(pixels, width, left + 1, top), input);
        log.WriteLine($"  against ImageSharp's: mean difference {mean:F3} levels, PSNR {psnr:F2} dB; a pixel to the right: {shiftedMean:F3}, {shiftedPsnr:F2} dB");
        Assert.True(mean <= MaxMeanPixelError, $"mean difference {mean:F3} levels, expected at most {MaxMeanPixelError}");
        Assert.True(psnr >= MinPsnr, $"PSNR {psnr:F2} dB, expected at least {MinPsnr} dB");
        Assert.True(shiftedMean > 4 * mean, $"the crop a pixel to the right is as close ({shiftedMean:F3} levels) as the crop itself ({mean:F3})");
    }

    [Fact]
    public void The_answer_depends_on_the_picture_alone()
    {
        Guests.RequireKvm();
        var plain = Parse(Run(InputSet.A, returnInput: false));
        var asked = Parse(Run(InputSet.A, returnInput: true));
        var other = Parse(Run(InputSet.B, returnInput: true));

        Assert.Null(plain.Input);
        Assert.Equal(asked.Root.GetProperty("image").GetRawText(), plain.Root.GetProperty("image").GetRawText());
        // Another VM, without the option: the same weights, the same single-threaded sums, so the same bits.
        Assert.Equal(asked.Top5, plain.Top5);
        Assert.NotEqual(asked.Top5.Select(t => t.Logit), other.Top5.Select(t => t.Logit));
    }

    [Fact]
    public void An_unknown_option_is_refused_with_the_one_there_is()
    {
        Guests.RequireKvm();
        byte[] request = [.. "{\"return_rgb\":true}\n"u8, .. Guests.Input(Function, InputSet.A)];
        var e = Assert.Throws<InvalidOperationException>(() => Guests.RunScript(Function, request));
        Assert.Contains("handle() raised ValueError: unknown option(s) ['return_rgb']: the only option is return_input", e.Message, StringComparison.Ordinal);
    }

    private static byte[] Run(InputSet set, bool returnInput) =>
        _runs.GetOrAdd((set, returnInput), key => new Lazy<byte[]>(() =>
        {
            var jpeg = Guests.Input(Function, key.Item1);
            var request = key.Item2 ? [.. "{\"return_input\":true}\n"u8, .. jpeg] : jpeg;
            return Guests.RunScript(Function, request);
        })).Value;

    private static (JsonElement Root, List<(int Class, double Logit, double Probability)> Top5, byte[]? Input) Parse(byte[] output)
    {
        using var document = JsonDocument.Parse(output);
        var root = document.RootElement.Clone();
        var top5 = TopFive.Parse(root);
        byte[]? input = null;
        if (root.TryGetProperty("input_rgb", out var rgb))
        {
            input = Convert.FromBase64String(rgb.GetString()!);
            Assert.Equal(Side * Side * 3, input.Length);
        }
        return (root, top5, input);
    }

    /// <summary>torchvision's Resize(256): the shorter side to 256, the longer one scaled and truncated.</summary>
    private static (int Width, int Height) ResizedSize(int width, int height) => width <= height
        ? (ResizeShorterSide, ResizeShorterSide * height / width)
        : (ResizeShorterSide * width / height, ResizeShorterSide);

    /// <summary>torchvision's CenterCrop(224): Python's round, which rounds halves to even as Math.Round does.</summary>
    private static (int Left, int Top) CropOrigin(int width, int height) =>
        ((int)Math.Round((width - Side) / 2.0), (int)Math.Round((height - Side) / 2.0));

    private static byte[] Crop(byte[] pixels, int width, int left, int top)
    {
        var crop = new byte[Side * Side * 3];
        for (var y = 0; y < Side; y++)
            pixels.AsSpan((((top + y) * width) + left) * 3, Side * 3).CopyTo(crop.AsSpan(y * Side * 3));
        return crop;
    }

    private static (double Mean, double Psnr) Difference(byte[] expected, byte[] actual)
    {
        long sum = 0;
        for (var i = 0; i < expected.Length; i++)
            sum += Math.Abs(expected[i] - actual[i]);
        return ((double)sum / expected.Length, ImageCompare.Psnr(expected, actual));
    }
}
