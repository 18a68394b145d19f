using System.Text.Json;
using Snapfn.Platform;
using Snapfn.Workloads.Tests.Verifiers;

namespace Snapfn.Workloads.Tests.Python;

/// <summary>
/// The Python suite's library functions (py-image: Pillow, py-matmul: NumPy, py-pagerank: python-igraph, py-video:
/// PyAV), booted on the C suite's inputs A and B and checked against computations made here from the same input
/// by the rules in each function's README.md: ImageSharp for the pictures, plain loops for the numbers.
/// </summary>
public sealed class LibraryWorkloadTests(ITestOutputHelper log)
{
    /// <summary>py-pagerank's edges per new node.</summary>
    private const int BarabasiM = 10;

    /// <summary>WORKLOADS.md's pagerank tolerance. PRPACK (igraph's solver) is asked for an L1 error of 1e-10 but lands
    /// within ~3e-14 relative of the converged ranks on inputs A and B.</summary>
    private const double RankTolerance = 1e-9;

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Py_image_output_is_the_input_turned_a_quarter_clockwise(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-image", set);
        var output = Guests.RunScript("py-image", input);

        var psnr = JpegWorkloads.QuarterTurnPsnr(input, output);
        // README.md: quality 85, which libjpeg turns into the Annex K tables scaled by 200 - 2 * 85 percent.
        var tables = JpegFile.QuantisationTables(output);
        Assert.Equal(LibjpegTable(_annexKLuminance, 85), tables[0]);
        Assert.Equal(LibjpegTable(_annexKChrominance, 85), tables[1]);
        log.WriteLine($"py-image {set}: {input.Length} B in, {output.Length} B out, PSNR {psnr:F2} dB");
        // A JPEG round trip at quality 85 stays well above WORKLOADS.md's bar.
        Assert.True(psnr > ImageCompare.MinJpegPsnr, $"PSNR {psnr:F2} dB against the rotated input, expected above {ImageCompare.MinJpegPsnr} dB");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Py_matmul_trace_and_samples_match_a_recomputation(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.MatmulInput("py-matmul", set);
        using var parameters = JsonDocument.Parse(input);
        var n = parameters.RootElement.GetProperty("n").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        using var output = JsonDocument.Parse(Guests.RunScript("py-matmul", input));

        // README.md: counter k of a stream is mix64(seed * 0x9e3779b97f4a7c15 + k); A takes counters 0 .. n²-1,
        // B the next n², the 16 samples' (i, j) the next 32.
        var offset = unchecked(seed * SpecRng.Golden);
        ulong Counter(long k) => SpecRng.Mix64(unchecked(offset + (ulong)k));
        var cells = (long)n * n;
        var a = new double[cells];
        var b = new double[cells];
        for (var k = 0L; k < cells; k++)
        {
            a[k] = (Counter(k) >> 11) * (2.0 / 9007199254740992.0) - 1;
            b[k] = (Counter(cells + k) >> 11) * (2.0 / 9007199254740992.0) - 1;
        }
        var trace = MatmulAnswer.AssertMatches(output.RootElement, n, seed, a, b,
            s => ((int)(Counter(2 * cells + 2 * s) % (ulong)n), (int)(Counter(2 * cells + 2 * s + 1) % (ulong)n)));
        log.WriteLine($"py-matmul {set}: n={n}, trace {trace:E15}");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Py_pagerank_top_ten_match_a_power_iteration_on_the_same_graph(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.PagerankInput("py-pagerank", set);
        using var parameters = JsonDocument.Parse(input);
        var n = parameters.RootElement.GetProperty("n").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        using var output = JsonDocument.Parse(Guests.RunScript("py-pagerank", input));

        // README.md: WORKLOADS.md's pagerank graph with m = 10 in place of 3.
        var graph = PageRank.BarabasiAlbert(n, BarabasiM, seed);
        // Run far past igraph's tolerance: the remaining error is below delta * d / (1 - d), ~6e-13 in L1 here,
        // far inside RankTolerance.
        var (_, rank, converged) = PageRank.PowerIteration(graph, 1000, 1e-13);
        Assert.True(converged, "the power iteration did not converge in 1000 iterations");
        var root = output.RootElement;
        Assert.Equal(n, root.GetProperty("n").GetInt32());
        Assert.Equal(BarabasiM, root.GetProperty("m").GetInt32());
        Assert.Equal(seed, root.GetProperty("seed").GetUInt64());
        Assert.Equal(graph.Edges, root.GetProperty("edges").GetInt32());
        Assert.Equal(BarabasiM * (BarabasiM + 1) / 2 + BarabasiM * (n - BarabasiM - 1), graph.Edges);

        // igraph (PRPACK) solves to its own tolerance: agree within RankTolerance, and be a top ten up to it.
        var top = root.GetProperty("top").EnumerateArray().Select(t => (Node: t[0].GetInt32(), Rank: t[1].GetDouble())).ToList();
        Assert.Equal(10, top.Count);
        Assert.Equal(10, top.Select(t => t.Node).Distinct().Count());
        var worst = 0.0;
        for (var k = 0; k < top.Count; k++)
        {
            var (node, value) = top[k];
            var error = Math.Abs(value - rank[node]) / rank[node];
            Assert.True(error <= RankTolerance, $"rank of {node}: {value:E12}, expected {rank[node]:E12}");
            Assert.True(k == 0 || top[k - 1].Rank >= value, $"the top ten are not in decreasing order at place {k}");
            worst = Math.Max(worst, error);
        }
        var floor = top[^1].Rank * (1 - RankTolerance);
        var reported = top.Select(t => t.Node).ToHashSet();
        var missing = Enumerable.Range(0, n).Where(v => !reported.Contains(v) && rank[v] > floor).ToList();
        Assert.True(missing.Count == 0, $"nodes ranked above the reported tenth are missing: {string.Join(", ", missing.Take(5))}");
        log.WriteLine($"py-pagerank {set}: {graph.Edges} edges, top node {top[0].Node}, worst relative difference {worst:E2}");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Py_video_output_is_every_frame_in_gray(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.VideoInput("py-video", set);
        var output = Guests.RunScript("py-video", input);

        var worst = JpegWorkloads.AssertEveryFrameGray(input, Guests.VideoFrames, output, (f, _, pixels) =>
        {
            // FFmpeg's MJPEG encoder has no gray format: the frames are YCbCr with Cb = Cr = 128, so R = G = B.
            for (var p = 0; p < pixels.Length; p += 3)
            {
                if (Math.Abs(pixels[p] - pixels[p + 1]) > 1 || Math.Abs(pixels[p + 1] - pixels[p + 2]) > 1)
                    Assert.Fail($"frame {f}: pixel {p / 3} is not gray: RGB ({pixels[p]}, {pixels[p + 1]}, {pixels[p + 2]})");
            }
        });
        log.WriteLine($"py-video {set}: {input.Length} B in, {output.Length} B out, worst frame PSNR {worst:F2} dB");
    }

    /// <summary>T.81 Annex K, table K.1 (luminance), in natural (row-major) order.</summary>
    private static readonly int[] _annexKLuminance =
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];

    /// <summary>T.81 Annex K, table K.2 (chrominance), in natural order.</summary>
    private static readonly int[] _annexKChrominance =
    [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ];

    /// <summary>libjpeg's jpeg_set_quality with force_baseline, in the zigzag order a DQT segment stores.</summary>
    private static int[] LibjpegTable(int[] natural, int quality)
    {
        var scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
        return [.. ZigzagToNatural().Select(i => Math.Clamp((natural[i] * scale + 50) / 100, 1, 255))];
    }

    /// <summary>T.81 figure A.6: the natural index of each zigzag position, walking the anti-diagonals.</summary>
    private static IEnumerable<int> ZigzagToNatural()
    {
        for (var s = 0; s < 15; s++)
        {
            var low = Math.Max(0, s - 7);
            var high = Math.Min(s, 7);
            for (var k = 0; k <= high - low; k++)
            {
                // Even diagonals run up and to the right (row falling), odd ones down and to the left.
                var row = s % 2 == 0 ? high - k : low + k;
                yield return row * 8 + s - row;
            }
        }
    }
}
