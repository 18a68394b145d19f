using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Snapfn.Platform;

namespace Snapfn.Workloads.Tests;

/// <summary>
/// The functions whose input is a few parameters (read-list, mmap, html, matmul, pagerank), booted on their
/// inputs and checked by replaying WORKLOADS.md's algorithms here. read-list's and mmap's inputs A and B are the
/// same (InputTests checks that), so they run once.
/// </summary>
public sealed partial class ParameterWorkloadTests(ITestOutputHelper log)
{
    [Fact]
    public void Read_list_checksum_is_the_fnv_fold_of_the_replayed_values()
    {
        Guests.RequireKvm();
        using var output = JsonDocument.Parse(Guests.Run("read-list", Guests.Input("read-list", InputSet.A)));
        const int Nodes = 536870912 / 32;
        var rng = new SpecRng(1);
        var h = 0xcbf29ce484222325UL;
        for (var i = 0; i < Nodes; i++)
            h = unchecked((h ^ rng.Next()) * 0x100000001b3);
        var root = output.RootElement;
        Assert.Equal(Nodes, root.GetProperty("nodes").GetInt32());
        Assert.Equal(536870912, root.GetProperty("bytes").GetInt32());
        Assert.Equal(Hex(h), root.GetProperty("checksum").GetString());
        Assert.Equal("0ee7353de516d842", Hex(h)); // the value WORKLOADS.md documents
    }

    [Fact]
    public void Mmap_checksum_is_the_sum_over_every_page()
    {
        Guests.RequireKvm();
        var input = Guests.Input("mmap", InputSet.A);
        using var parameters = JsonDocument.Parse(input);
        var mib = parameters.RootElement.GetProperty("size_mib").GetInt32();
        using var output = JsonDocument.Parse(Guests.Run("mmap", input));
        var pages = (ulong)mib * 256;
        var sum = 0UL;
        for (var p = 0UL; p < pages; p++)
            sum = unchecked(sum + (((p + 1) * 0x9e3779b97f4a7c15) ^ p));
        var root = output.RootElement;
        Assert.Equal(mib, root.GetProperty("size_mib").GetInt32());
        Assert.Equal(pages, root.GetProperty("pages").GetUInt64());
        Assert.Equal(Hex(sum), root.GetProperty("checksum").GetString());
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Html_table_parses_back_to_the_generated_cells(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("html", set);
        using var parameters = JsonDocument.Parse(input);
        var rows = parameters.RootElement.GetProperty("rows").GetInt32();
        var cols = parameters.RootElement.GetProperty("cols").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        var html = Encoding.UTF8.GetString(Guests.Run("html", input));

        // Parsed back: the title and every row's cells, unescaped.
        var title = Regex.Match(html, "<title>(.*)</title>").Groups[1].Value;
        Assert.Equal(HtmlTable.Title(rows, cols, seed), WebUtility.HtmlDecode(title));
        var parsed = RowPattern().Matches(html).Select(row => CellPattern().Matches(row.Groups[1].Value).Select(c => WebUtility.HtmlDecode(c.Groups[1].Value)).ToList()).ToList();
        Assert.Equal(rows, parsed.Count);
        for (var r = 0; r < rows; r++)
        {
            Assert.Equal(cols, parsed[r].Count);
            for (var c = 0; c < cols; c++)
                Assert.True(HtmlTable.Cell(seed, r, c) == parsed[r][c], $"cell ({r}, {c}): '{parsed[r][c]}'");
        }
        // And byte for byte, the layout WORKLOADS.md gives.
        Assert.Equal(HtmlTable.Render(rows, cols, seed), html);
    }

    [Fact]
    public void Html_cells_match_the_documented_example()
    {
        Assert.Equal("A2RJUA", HtmlTable.Cell(1, 0, 0));
        Assert.Equal("3Cb88Gm", HtmlTable.Cell(1, 0, 1));
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Matmul_trace_and_samples_match_a_recomputation(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("matmul", set);
        using var parameters = JsonDocument.Parse(input);
        var n = parameters.RootElement.GetProperty("n").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        using var output = JsonDocument.Parse(Guests.Run("matmul", input));

        var rng = new SpecRng(seed);
        var a = new double[n * n];
        var b = new double[n * n];
        for (var i = 0; i < a.Length; i++)
            a[i] = rng.NextDouble() * 2 - 1;
        for (var i = 0; i < b.Length; i++)
            b[i] = rng.NextDouble() * 2 - 1;
        // Only the trace and the sampled entries: O(n^2), not the n^3 product.
        double trace = 0;
        for (var i = 0; i < n; i++)
            trace += Dot(a, b, n, i, i);

        var root = output.RootElement;
        Assert.Equal(n, root.GetProperty("n").GetInt32());
        Assert.Equal(seed, root.GetProperty("seed").GetUInt64());
        AssertClose(trace, root.GetProperty("trace").GetDouble(), "trace");
        var samples = root.GetProperty("samples").EnumerateArray().ToList();
        Assert.Equal(16, samples.Count);
        foreach (var sample in samples)
        {
            var i = (int)(rng.Next() % (ulong)n);
            var j = (int)(rng.Next() % (ulong)n);
            Assert.Equal(i, sample[0].GetInt32());
            Assert.Equal(j, sample[1].GetInt32());
            AssertClose(Dot(a, b, n, i, j), sample[2].GetDouble(), $"C[{i}][{j}]");
        }
        log.WriteLine($"matmul {set}: n={n}, trace {trace:E15}");
    }

    [Theory]
    [InlineData(InputSet.A)]
    [InlineData(InputSet.B)]
    public void Pagerank_top_ten_match_a_power_iteration_on_the_same_graph(InputSet set)
    {
        Guests.RequireKvm();
        var input = Guests.Input("pagerank", set);
        using var parameters = JsonDocument.Parse(input);
        var n = parameters.RootElement.GetProperty("n").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        using var output = JsonDocument.Parse(Guests.Run("pagerank", input));

        var (edges, iterations, rank) = PageRank.Compute(n, seed);
        var top = Enumerable.Range(0, n).OrderByDescending(v => rank[v]).ThenBy(v => v).Take(10).ToList();
        var root = output.RootElement;
        Assert.Equal(n, root.GetProperty("n").GetInt32());
        Assert.Equal(edges, root.GetProperty("edges").GetInt64());
        Assert.Equal(iterations, root.GetProperty("iterations").GetInt32());
        var reported = root.GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(top, reported.Select(t => t[0].GetInt32()));
        foreach (var t in reported)
        {
            var node = t[0].GetInt32();
            var value = t[1].GetDouble();
            Assert.True(Math.Abs(value - rank[node]) <= 1e-9 * rank[node], $"rank of {node}: {value:E12}, expected {rank[node]:E12}");
        }
        log.WriteLine($"pagerank {set}: {edges} edges, {iterations} iterations, top node {top[0]}");
    }

    private static double Dot(double[] a, double[] b, int n, int i, int j)
    {
        double sum = 0;
        for (var k = 0; k < n; k++)
            sum += a[i * n + k] * b[k * n + j];
        return sum;
    }

    /// <summary>WORKLOADS.md's matmul tolerance: within 1e-9, absolute or relative.</summary>
    private static void AssertClose(double expected, double actual, string what)
    {
        var error = Math.Abs(expected - actual);
        Assert.True(error <= 1e-9 || error <= 1e-9 * Math.Abs(expected), $"{what}: {actual:E15}, expected {expected:E15}");
    }

    private static string Hex(ulong value) => value.ToString("x16", CultureInfo.InvariantCulture);

    [GeneratedRegex("<tr>(.*?)\n</tr>", RegexOptions.Singleline)]
    private static partial Regex RowPattern();

    [GeneratedRegex("<td>(.*?)</td>")]
    private static partial Regex CellPattern();
}
