using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Snapfn.Workloads.Tests.Python;
using Snapfn.Workloads.Tests.Verifiers;

namespace Snapfn.Workloads.Tests;

/// <summary>
/// The drift experiment's input ladders (<see cref="DriftLadder"/>): each the six sizes and seeds that WORKLOADS.md's
/// "Drift ladders" table states and the recorded size again with other content, every rung a valid input of its
/// size; the smallest and largest rungs of json, py-json, image and matmul booted and their outputs checked as
/// inputs A's and B's are.
/// </summary>
public sealed partial class DriftLadderTests(ITestOutputHelper log)
{
    /// <summary>WORKLOADS.md: a document ends less than 1 KB past its size.</summary>
    private const int DocumentSlack = 1024;

    /// <summary>WORKLOADS.md: a picture within 3% of its nominal size, the other-content picture and clip within 3%
    /// of the recorded rung's length.</summary>
    private const double PictureTolerance = 0.03;

    public static TheoryData<string> Ladders { get; } =
        ["json", "compression", "aes", "html", "matmul", "pagerank", "image", "recognition", "video"];

    private static readonly Lazy<Dictionary<string, Documented>> _documented = new(ReadDocumentedLadders);

    [Fact]
    public void Only_the_functions_whose_input_size_matters_have_a_ladder()
    {
        foreach (var function in Ladders.Select(row => row.Data))
        {
            Assert.True(DriftLadder.Has(function), function);
            Assert.True(DriftLadder.Has(WorkloadInputs.PythonPrefix + function), function);
        }
        foreach (var function in new[] { "read-list", "mmap", "hello-world", "touch", "py-read-list", "py-mmap", "echo" })
        {
            Assert.False(DriftLadder.Has(function), function);
            var e = Assert.Throws<ArgumentException>(() => DriftLadder.For(Guests.Catalog, function));
            Assert.Contains("no input ladder", e.Message);
        }
        Assert.Equal(Ladders.Count * 2, DriftLadder.Functions.Count);
    }

    [Theory]
    [MemberData(nameof(Ladders))]
    public void A_ladder_is_six_growing_sizes_then_the_recorded_size_with_other_content(string function)
    {
        var ladder = DriftLadder.For(Guests.Catalog, function);
        Assert.Equal(DriftLadder.Sizes + 1, ladder.Count);
        var sizes = ladder.Take(DriftLadder.Sizes).Select(r => r.Size).ToList();
        Assert.All(sizes.Zip(sizes.Skip(1)), pair => Assert.True(pair.First < pair.Second, $"{function}: {pair.First} then {pair.Second}"));
        Assert.Equal([DriftLadder.Recorded], ladder.Select((r, i) => (r, i)).Where(x => x.r.IsRecorded).Select(x => x.i));
        Assert.Equal([DriftLadder.Sizes], ladder.Select((r, i) => (r, i)).Where(x => x.r.OtherContent).Select(x => x.i));
        Assert.Equal(ladder[DriftLadder.Recorded].Size, ladder[^1].Size);
        Assert.Single(ladder.Select(r => r.Unit).Distinct());
        Assert.Equal(ladder.Count, ladder.Select(r => r.Label).Distinct().Count());
        Assert.All(ladder, r => Assert.StartsWith(function + " ", r.Label, StringComparison.Ordinal));
        // The ladder WORKLOADS.md states, in its unit.
        var documented = _documented.Value[function];
        Assert.Equal(documented.Unit, ladder[0].Unit);
        Assert.Equal(documented.Sizes, sizes);
    }

    [Theory]
    [MemberData(nameof(Ladders))]
    public void Every_rung_is_a_valid_input_of_its_stated_size(string function)
    {
        var ladder = DriftLadder.For(Guests.Catalog, function);
        var measured = ladder.Select(r => Measure(function, r.Bytes)).ToList();
        for (var i = 0; i < ladder.Count; i++)
        {
            var (size, actual) = (ladder[i].Size, measured[i]);
            switch (ladder[i].Unit)
            {
                case "bytes" when IsPicture(function):
                    Assert.InRange(actual, size * (1 - PictureTolerance), size * (1 + PictureTolerance));
                    break;
                case "bytes" when function != "aes":
                    Assert.InRange(actual, size, size + DocumentSlack - 1);
                    break;
                default:
                    Assert.Equal(size, actual);
                    break;
            }
        }
        var grown = measured.Take(DriftLadder.Sizes).ToList();
        Assert.All(grown.Zip(grown.Skip(1)), pair => Assert.True(pair.First < pair.Second, $"{function}: {pair.First} then {pair.Second}"));
        log.WriteLine($"{function}: {string.Join(", ", ladder.Zip(measured, (r, m) => $"{r.Label} = {m}"))}");
    }

    [Theory]
    [MemberData(nameof(Ladders))]
    public void The_other_content_rung_has_the_recorded_size_and_other_bytes(string function)
    {
        var ladder = DriftLadder.For(Guests.Catalog, function);
        var recorded = ladder[DriftLadder.Recorded].Bytes;
        var other = ladder[^1].Bytes;
        Assert.False(recorded.AsSpan().SequenceEqual(other), $"{function}: the other-content rung has the recorded rung's bytes");
        var (a, b) = (Measure(function, recorded), Measure(function, other));
        if (IsPicture(function) || function == "video")
            Assert.InRange((double)other.Length / recorded.Length, 1 - PictureTolerance, 1 + PictureTolerance);
        if (function is "json" or "compression")
            Assert.InRange(Math.Abs(a - b), 0, DocumentSlack - 1);
        else if (!IsPicture(function))
            Assert.Equal(a, b);
    }

    /// <summary>The first rung and the other-content rung are what the generators make from WORKLOADS.md's sizes and
    /// seeds (and pictures), called here afresh: a generator that is not deterministic, or a ladder that does not use
    /// the seeds it documents, fails.</summary>
    [Theory]
    [MemberData(nameof(Ladders))]
    public void Rungs_are_the_generators_bytes_for_the_documented_size_and_seed(string function)
    {
        var ladder = DriftLadder.For(Guests.Catalog, function);
        var documented = _documented.Value[function];
        Assert.Equal(Generate(function, 0, documented.Seed), ladder[0].Bytes);
        Assert.Equal(Generate(function, DriftLadder.Recorded, documented.OtherSeed), ladder[^1].Bytes);
    }

    [Fact]
    public void Pictures_are_four_by_three_from_input_As_size_up()
    {
        var pictures = _documented.Value["image"].Pictures;
        Assert.Equal(DriftLadder.Sizes, pictures.Count);
        Assert.Equal((1024, 768), (pictures[0].Width, pictures[0].Height));
        Assert.All(pictures, p => Assert.Equal(p.Width * 3, p.Height * 4));
        Assert.All(pictures.Zip(pictures.Skip(1)), pair => Assert.True(pair.First.Width < pair.Second.Width));
        var ladder = DriftLadder.For(Guests.Catalog, "image");
        for (var i = 0; i < ladder.Count; i++)
        {
            var header = JpegFile.Header(ladder[i].Bytes);
            var picture = pictures[ladder[i].OtherContent ? DriftLadder.Recorded : i];
            Assert.Equal((picture.Width, picture.Height), (header.Width, header.Height));
        }
    }

    [Theory]
    [MemberData(nameof(Ladders))]
    public void A_python_function_takes_the_ladder_of_its_C_function(string function)
    {
        var c = DriftLadder.For(Guests.Catalog, function);
        var python = DriftLadder.For(Guests.Catalog, WorkloadInputs.PythonPrefix + function);
        Assert.Equal(c.Select(r => (r.Size, r.Unit, r.IsRecorded, r.OtherContent)), python.Select(r => (r.Size, r.Unit, r.IsRecorded, r.OtherContent)));
        Assert.All(python, r => Assert.StartsWith(WorkloadInputs.PythonPrefix + function + " ", r.Label, StringComparison.Ordinal));
        for (var i = 0; i < c.Count; i++)
            Assert.Equal(c[i].Bytes, python[i].Bytes);
    }

    [Fact]
    public void Rungs_are_fresh_arrays_that_callers_may_change()
    {
        var rung = DriftLadder.For(Guests.Catalog, "aes")[0];
        var bytes = rung.Bytes;
        bytes[0] ^= 0xFF;
        Assert.NotEqual(bytes, rung.Bytes);
        Assert.Equal(rung.Bytes, DriftLadder.For(Guests.Catalog, "aes")[0].Bytes);
    }

    /// <summary>The recorded rungs pinned, as inputs A and B are: a change that moves a ladder changes what the drift
    /// experiment's recordings were made with.</summary>
    [Theory]
    [InlineData("html", 2, """{"rows":300,"cols":100,"seed":3}""")]
    [InlineData("html", 6, """{"rows":300,"cols":100,"seed":4}""")]
    [InlineData("matmul", 2, """{"n":870,"seed":3}""")]
    [InlineData("matmul", 6, """{"n":870,"seed":4}""")]
    [InlineData("pagerank", 2, """{"n":76000,"seed":2}""")]
    [InlineData("pagerank", 5, """{"n":400000,"seed":2}""")]
    public void Parameter_rungs_are_pinned(string function, int rung, string parameters) =>
        Assert.Equal(parameters, Encoding.UTF8.GetString(DriftLadder.For(Guests.Catalog, function)[rung].Bytes));

    [Theory]
    [InlineData("json", 600230, "d381c6049d9b3b274431b7ca3ff311753552a996bf2d044d0bf7a571b4ab1481")]
    [InlineData("compression", 300261, "9e7fd7207bf6b6fa24e9d437054a75475e73de5a39b70cb6710283804eec2238")]
    [InlineData("aes", 15000, "aad7982d46a3abf2a27efea788530855590dcfc5844fe4adc9e2fb2ea9aebe91")]
    public void Recorded_documents_are_pinned(string function, int length, string sha256)
    {
        var input = DriftLadder.For(Guests.Catalog, function)[DriftLadder.Recorded].Bytes;
        Assert.Equal(length, input.Length);
        Assert.Equal(sha256, Convert.ToHexStringLower(SHA256.HashData(input)));
    }

    [Theory]
    [InlineData("json", 0)]
    [InlineData("json", DriftLadder.Sizes - 1)]
    public void Json_smallest_and_largest_rungs_come_out_compacted(string function, int rung)
    {
        Guests.RequireKvm();
        var input = DriftLadder.For(Guests.Catalog, function)[rung].Bytes;
        var output = Guests.Run(function, input);
        using var expected = JsonDocument.Parse(input);
        using var actual = JsonDocument.Parse(output);
        WorkloadJson.Rules.AssertSameValue(expected.RootElement, actual.RootElement);
        Assert.Equal(WorkloadJson.Rules.Compact(expected.RootElement), Encoding.UTF8.GetString(output));
        log.WriteLine($"{function} rung {rung}: {input.Length} B in, {output.Length} B out");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(DriftLadder.Sizes - 1)]
    public void Py_json_smallest_and_largest_rungs_come_out_as_python_dumps_them(int rung)
    {
        Guests.RequireKvm();
        var input = DriftLadder.For(Guests.Catalog, "py-json")[rung].Bytes;
        var output = Guests.RunScript("py-json", input);
        using var expected = JsonDocument.Parse(input);
        using var actual = JsonDocument.Parse(output);
        PythonJson.Rules.AssertSameValue(expected.RootElement, actual.RootElement);
        Assert.Equal(PythonJson.Rules.Compact(expected.RootElement), Encoding.UTF8.GetString(output));
        log.WriteLine($"py-json rung {rung}: {input.Length} B in, {output.Length} B out");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(DriftLadder.Sizes - 1)]
    public void Image_smallest_and_largest_rungs_come_out_turned_a_quarter_clockwise(int rung)
    {
        Guests.RequireKvm();
        var input = DriftLadder.For(Guests.Catalog, "image")[rung].Bytes;
        var output = Guests.Run("image", input);
        var psnr = JpegWorkloads.QuarterTurnPsnr(input, output);
        log.WriteLine($"image rung {rung}: {input.Length} B in, {output.Length} B out, PSNR {psnr:F2} dB");
        Assert.True(psnr > ImageCompare.MinJpegPsnr, $"PSNR {psnr:F2} dB against the rotated input, expected above {ImageCompare.MinJpegPsnr} dB");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(DriftLadder.Sizes - 1)]
    public void Matmul_smallest_and_largest_rungs_match_a_recomputation(int rung)
    {
        Guests.RequireKvm();
        var input = DriftLadder.For(Guests.Catalog, "matmul")[rung].Bytes;
        using var parameters = JsonDocument.Parse(input);
        var n = parameters.RootElement.GetProperty("n").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        using var output = JsonDocument.Parse(Guests.Run("matmul", input));
        var trace = MatmulAnswer.AssertMatchesC(output.RootElement, n, seed);
        log.WriteLine($"matmul rung {rung}: n={n}, trace {trace:E15}");
    }

    private static bool IsPicture(string function) => function is "image" or "recognition";

    /// <summary>Checks that <paramref name="input"/> is a valid input of <paramref name="function"/> (the ranges
    /// WORKLOADS.md and the py- READMEs give) and returns its size in the ladder's unit.</summary>
    private static double Measure(string function, byte[] input)
    {
        switch (function)
        {
            case "json" or "compression":
                JsonDocument.Parse(input).Dispose();
                return input.Length;
            case "aes":
                Assert.True(input.All(b => b is >= 0x20 and < 0x7F or (byte)'\n'), "plain ASCII text");
                return input.Length;
            case "html":
                {
                    using var parameters = JsonDocument.Parse(input);
                    var rows = parameters.RootElement.GetProperty("rows").GetInt32();
                    Assert.Equal(100, parameters.RootElement.GetProperty("cols").GetInt32());
                    Assert.InRange(rows * 100, 0, 4_000_000);
                    Assert.InRange(parameters.RootElement.GetProperty("seed").GetUInt64(), 0UL, 2097151UL);
                    return rows;
                }
            case "matmul" or "pagerank":
                {
                    using var parameters = JsonDocument.Parse(input);
                    var n = parameters.RootElement.GetProperty("n").GetInt32();
                    // py-pagerank needs n > m = 10; matmul takes 1..8000.
                    Assert.InRange(n, function == "matmul" ? 1 : 11, function == "matmul" ? 8000 : 5_000_000);
                    Assert.InRange(parameters.RootElement.GetProperty("seed").GetUInt64(), 0UL, (1UL << 31) - 1);
                    return n;
                }
            case "image" or "recognition":
                {
                    AssertColourJpeg(input);
                    return input.Length;
                }
            case "video":
                {
                    var frames = JpegFile.Frames(input);
                    Assert.All(frames, frame => Assert.Equal((MotionJpegInputs.Width, MotionJpegInputs.Height), (JpegFile.Header(frame).Width, JpegFile.Header(frame).Height)));
                    // Decode the first and the last: the stream holds whole pictures to the end.
                    AssertColourJpeg(frames[0]);
                    AssertColourJpeg(frames[^1]);
                    return frames.Count;
                }
            default:
                throw new ArgumentException($"no measure for {function}", nameof(function));
        }
    }

    /// <summary>A baseline colour 4:2:0 JPEG that ImageSharp decodes to the size its header states.</summary>
    private static void AssertColourJpeg(byte[] jpeg)
    {
        var header = JpegFile.Header(jpeg);
        Assert.Equal(0xC0, header.Sof);
        Assert.Equal([(2, 2), (1, 1), (1, 1)], header.Components.Select(c => (c.H, c.V)));
        using var image = Image.Load<Rgb24>(jpeg);
        Assert.Equal((header.Width, header.Height), (image.Width, image.Height));
    }

    /// <summary>Rung <paramref name="rung"/>'s input drawn from <paramref name="seed"/>, by the generator and the
    /// parameters WORKLOADS.md names.</summary>
    private static byte[] Generate(string function, int rung, ulong seed)
    {
        var documented = _documented.Value[function];
        var size = (int)documented.Sizes[rung];
        return function switch
        {
            "json" or "compression" => JsonDocumentInputs.Json(size, seed),
            "aes" => TextInputs.Ascii(size, seed),
            "html" => ParameterInputs.Html(size, 100, seed),
            "matmul" => ParameterInputs.Matmul(size, seed),
            "pagerank" => ParameterInputs.Pagerank(size, seed),
            "image" or "recognition" => Picture(_documented.Value["image"].Pictures[rung], seed),
            "video" => MotionJpegInputs.Clip(size, seed),
            _ => throw new ArgumentException($"no generator for {function}", nameof(function)),
        };

        static byte[] Picture((int Width, int Height, int Quality) p, ulong seed) => JpegInputs.Still(p.Width, p.Height, seed, p.Quality);
    }

    private sealed record Documented(string Unit, List<double> Sizes, ulong Seed, ulong OtherSeed, List<(int Width, int Height, int Quality)> Pictures);

    /// <summary>WORKLOADS.md's "Drift ladders" section: its table's rows and the pictures' sizes and qualities.</summary>
    private static Dictionary<string, Documented> ReadDocumentedLadders()
    {
        var text = File.ReadAllText(Path.Combine(Guests.Directory, "..", "functions", "WORKLOADS.md"));
        var section = text[text.IndexOf("## Drift ladders", StringComparison.Ordinal)..];
        var pictures = PictureSpec().Matches(section).Select(m => (Int(m.Groups[1].Value), Int(m.Groups[2].Value), Int(m.Groups[3].Value))).ToList();
        var ladders = new Dictionary<string, Documented>();
        foreach (var line in section.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Skip(1))
        {
            var cells = line.Split('|').Select(c => c.Trim()).ToArray();
            if (cells[1].StartsWith("---", StringComparison.Ordinal))
                continue;
            var sizes = cells[3].Split(',').Select(s => (double)Int(s)).ToList();
            ladders[cells[1]] = new Documented(cells[2], sizes, (ulong)Int(cells[4]), (ulong)Int(cells[5]), pictures);
        }
        return ladders;

        static int Int(string digits) => int.Parse(digits.Replace(" ", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"(\d+)×(\d+) q(\d+)")]
    private static partial Regex PictureSpec();
}
