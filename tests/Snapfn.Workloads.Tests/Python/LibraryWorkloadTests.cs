using System.Text.Json;
using Snapfn.Platform;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Snapfn.Workloads.Tests.Python;

/// <summary>
/// The Python suite's library functions (py-image: Pillow, py-matmul: NumPy, py-pagerank: python-igraph, py-video:
/// PyAV), booted on the C suite's inputs A and B and checked against computations made here from the same input
/// by the rules in each function's README.md: ImageSharp for the pictures, plain loops for the numbers.
/// </summary>
public sealed class LibraryWorkloadTests(ITestOutputHelper log)
{
    /// <summary>A JPEG round trip at the qualities these functions use stays well above this (WORKLOADS.md's bar).</summary>
    private const double MinPsnr = 30;

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
        var output = Guests.RunPython("py-image", input);

        var inputHeader = JpegFile.Header(input);
        var header = JpegFile.Header(output);
        Assert.Equal(0xC0, header.Sof);
        Assert.True(header.Jfif, "a JFIF APP0 segment");
        Assert.Equal((inputHeader.Height, inputHeader.Width), (header.Width, header.Height));
        Assert.Equal([(2, 2), (1, 1), (1, 1)], header.Components.Select(c => (c.H, c.V)));
        // README.md: quality 85, which libjpeg turns into the Annex K tables scaled by 200 - 2 * 85 percent.
        var tables = QuantisationTables(output);
        Assert.Equal(LibjpegTable(AnnexKLuminance, 85), tables[0]);
        Assert.Equal(LibjpegTable(AnnexKChrominance, 85), tables[1]);

        using var expected = Image.Load<Rgb24>(input);
        expected.Mutate(x => x.Rotate(RotateMode.Rotate90));
        using var actual = Image.Load<Rgb24>(output);
        var psnr = JpegFile.Psnr(JpegFile.Rgb(expected), JpegFile.Rgb(actual));
        log.WriteLine($"py-image {set}: {input.Length} B in, {output.Length} B out, PSNR {psnr:F2} dB");
        Assert.True(psnr > MinPsnr, $"PSNR {psnr:F2} dB against the rotated input, expected above {MinPsnr} dB");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Py_matmul_trace_and_samples_match_a_recomputation(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-matmul", set);
        using var parameters = JsonDocument.Parse(input);
        var n = parameters.RootElement.GetProperty("n").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        using var output = JsonDocument.Parse(Guests.RunPython("py-matmul", input));

        // README.md: counter k of a stream is mix64(seed * 0x9e3779b97f4a7c15 + k); A takes counters 0 .. n²-1,
        // B the next n², the 16 samples' (i, j) the next 32.
        var offset = unchecked(seed * 0x9e3779b97f4a7c15);
        ulong Counter(long k) => SpecRng.Mix64(unchecked(offset + (ulong)k));
        var cells = (long)n * n;
        var a = new double[cells];
        var b = new double[cells];
        for (var k = 0L; k < cells; k++)
        {
            a[k] = (Counter(k) >> 11) * (2.0 / 9007199254740992.0) - 1;
            b[k] = (Counter(cells + k) >> 11) * (2.0 / 9007199254740992.0) - 1;
        }
        double trace = 0;
        for (var i = 0; i < n; i++)
            trace += Dot(a, b, n, i, i);

        var root = output.RootElement;
        Assert.Equal(n, root.GetProperty("n").GetInt32());
        Assert.Equal(seed, root.GetProperty("seed").GetUInt64());
        AssertClose(trace, root.GetProperty("trace").GetDouble(), "trace");
        var samples = root.GetProperty("samples").EnumerateArray().ToList();
        Assert.Equal(16, samples.Count);
        for (var s = 0; s < samples.Count; s++)
        {
            var i = (int)(Counter(2 * cells + 2 * s) % (ulong)n);
            var j = (int)(Counter(2 * cells + 2 * s + 1) % (ulong)n);
            Assert.Equal(i, samples[s][0].GetInt32());
            Assert.Equal(j, samples[s][1].GetInt32());
            AssertClose(Dot(a, b, n, i, j), samples[s][2].GetDouble(), $"C[{i}][{j}]");
        }
        log.WriteLine($"py-matmul {set}: n={n}, trace {trace:E15}");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Py_pagerank_top_ten_match_a_power_iteration_on_the_same_graph(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-pagerank", set);
        using var parameters = JsonDocument.Parse(input);
        var n = parameters.RootElement.GetProperty("n").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        using var output = JsonDocument.Parse(Guests.RunPython("py-pagerank", input));

        var (from, to) = BarabasiAlbert(n, seed);
        var rank = PowerIteration(n, from, to);
        var root = output.RootElement;
        Assert.Equal(n, root.GetProperty("n").GetInt32());
        Assert.Equal(BarabasiM, root.GetProperty("m").GetInt32());
        Assert.Equal(seed, root.GetProperty("seed").GetUInt64());
        Assert.Equal(from.Count, root.GetProperty("edges").GetInt32());
        Assert.Equal(BarabasiM * (BarabasiM + 1) / 2 + BarabasiM * (n - BarabasiM - 1), from.Count);

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
        log.WriteLine($"py-pagerank {set}: {from.Count} edges, top node {top[0].Node}, worst relative difference {worst:E2}");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Py_video_output_is_every_frame_in_gray(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("py-video", set);
        var output = Guests.RunPython("py-video", input);

        var inFrames = JpegFile.Frames(input);
        var outFrames = JpegFile.Frames(output);
        Assert.Equal(30, inFrames.Count);
        Assert.Equal(inFrames.Count, outFrames.Count);
        var worst = double.PositiveInfinity;
        for (var f = 0; f < inFrames.Count; f++)
        {
            var inHeader = JpegFile.Header(inFrames[f]);
            var header = JpegFile.Header(outFrames[f]);
            Assert.Equal((inHeader.Width, inHeader.Height), (header.Width, header.Height));

            using var expected = Image.Load<Rgb24>(inFrames[f]);
            expected.Mutate(x => x.Grayscale(GrayscaleMode.Bt601));
            using var actual = Image.Load<Rgb24>(outFrames[f]);
            var pixels = JpegFile.Rgb(actual);
            // FFmpeg's MJPEG encoder has no gray format: the frames are YCbCr with Cb = Cr = 128, so R = G = B.
            for (var p = 0; p < pixels.Length; p += 3)
            {
                if (Math.Abs(pixels[p] - pixels[p + 1]) > 1 || Math.Abs(pixels[p + 1] - pixels[p + 2]) > 1)
                    Assert.Fail($"frame {f}: pixel {p / 3} is not gray: RGB ({pixels[p]}, {pixels[p + 1]}, {pixels[p + 2]})");
            }
            var psnr = JpegFile.Psnr(JpegFile.Rgb(expected), pixels);
            Assert.True(psnr > MinPsnr, $"frame {f}: PSNR {psnr:F2} dB against the input's BT.601 luma, expected above {MinPsnr} dB");
            worst = Math.Min(worst, psnr);
        }
        log.WriteLine($"py-video {set}: {input.Length} B in, {output.Length} B out, worst frame PSNR {worst:F2} dB");
    }

    /// <summary>py-pagerank's README.md: WORKLOADS.md's pagerank graph with m = 10 in place of 3.</summary>
    private static (List<int> From, List<int> To) BarabasiAlbert(int n, ulong seed)
    {
        var from = new List<int>();
        var to = new List<int>();
        var ends = new List<int>();
        for (var u = 0; u <= BarabasiM; u++)
        {
            for (var v = u + 1; v <= BarabasiM; v++)
            {
                from.Add(u);
                to.Add(v);
                ends.Add(u);
                ends.Add(v);
            }
        }
        var rng = new SpecRng(seed);
        Span<int> chosen = stackalloc int[BarabasiM];
        for (var v = BarabasiM + 1; v < n; v++)
        {
            var count = 0;
            var pool = (ulong)ends.Count;
            while (count < BarabasiM)
            {
                var t = ends[(int)(rng.Next() % pool)];
                if (!chosen[..count].Contains(t))
                    chosen[count++] = t;
            }
            foreach (var t in chosen)
            {
                from.Add(v);
                to.Add(t);
                ends.Add(t);
                ends.Add(v);
            }
        }
        return (from, to);
    }

    /// <summary>PageRank of the undirected graph (each edge both ways), d = 0.85, run far past igraph's tolerance.</summary>
    private static double[] PowerIteration(int n, List<int> from, List<int> to)
    {
        var degree = new int[n];
        for (var e = 0; e < from.Count; e++)
        {
            degree[from[e]]++;
            degree[to[e]]++;
        }
        var start = new int[n + 1];
        for (var v = 0; v < n; v++)
            start[v + 1] = start[v] + degree[v];
        var next = start[..n];
        var neighbours = new int[start[n]];
        for (var e = 0; e < from.Count; e++)
        {
            neighbours[next[from[e]]++] = to[e];
            neighbours[next[to[e]]++] = from[e];
        }

        const double D = 0.85;
        var rank = new double[n];
        Array.Fill(rank, 1.0 / n);
        var share = new double[n];
        var updated = new double[n];
        for (var iteration = 0; iteration < 1000; iteration++)
        {
            double dangling = 0;
            for (var u = 0; u < n; u++)
            {
                if (degree[u] == 0)
                    dangling += rank[u];
                else
                    share[u] = rank[u] / degree[u];
            }
            var baseRank = (1 - D) / n + D * dangling / n;
            double delta = 0;
            for (var v = 0; v < n; v++)
            {
                double sum = 0;
                for (var k = start[v]; k < start[v + 1]; k++)
                    sum += share[neighbours[k]];
                updated[v] = baseRank + D * sum;
                delta += Math.Abs(updated[v] - rank[v]);
            }
            (rank, updated) = (updated, rank);
            // The remaining error is below delta * d / (1 - d): ~6e-13 in L1 here, far inside RankTolerance.
            if (delta < 1e-13)
                return rank;
        }
        throw new InvalidOperationException("the power iteration did not converge in 1000 iterations");
    }

    private static double Dot(double[] a, double[] b, int n, int i, int j)
    {
        double sum = 0;
        for (var k = 0; k < n; k++)
            sum += a[(long)i * n + k] * b[(long)k * n + j];
        return sum;
    }

    /// <summary>WORKLOADS.md's matmul tolerance: within 1e-9, absolute or relative.</summary>
    private static void AssertClose(double expected, double actual, string what)
    {
        var error = Math.Abs(expected - actual);
        Assert.True(error <= 1e-9 || error <= 1e-9 * Math.Abs(expected), $"{what}: {actual:E15}, expected {expected:E15}");
    }

    /// <summary>T.81 Annex K, table K.1 (luminance), in natural (row-major) order.</summary>
    private static readonly int[] AnnexKLuminance =
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];

    /// <summary>T.81 Annex K, table K.2 (chrominance), in natural order.</summary>
    private static readonly int[] AnnexKChrominance =
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

    /// <summary>The 8-bit quantisation tables of a JPEG's DQT segments, by table id, as stored (zigzag order).</summary>
    private static Dictionary<int, int[]> QuantisationTables(byte[] jpeg)
    {
        var tables = new Dictionary<int, int[]>();
        for (var pos = 2; pos + 4 <= jpeg.Length && jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xDA;)
        {
            var marker = jpeg[pos + 1];
            var length = (jpeg[pos + 2] << 8) | jpeg[pos + 3];
            if (marker == 0xDB)
            {
                for (var t = pos + 4; t < pos + 2 + length; t += 65)
                {
                    Assert.Equal(0, jpeg[t] >> 4); // 8-bit precision, as baseline requires
                    tables[jpeg[t] & 15] = [.. jpeg.AsSpan(t + 1, 64).ToArray().Select(q => (int)q)];
                }
            }
            pos += 2 + length;
        }
        return tables;
    }
}
