using System.Text;
using System.Text.Json;
using Snapfn.Platform;
using Snapfn.Workloads.Tests.Verifiers;

namespace Snapfn.Workloads.Tests;

/// <summary>
/// The functions whose input is a few parameters (read-list, mmap, html, matmul, pagerank), booted on their
/// inputs and checked by replaying WORKLOADS.md's algorithms here. read-list's and mmap's inputs A and B are the
/// same (InputTests checks that), so they run once.
/// </summary>
public sealed class ParameterWorkloadTests(ITestOutputHelper log)
{
    [Fact]
    public void Read_list_checksum_is_the_fnv_fold_of_the_replayed_values()
    {
        Guests.RequireKvm();
        Guests.SkipOnSoftCpu("read-list's init() builds its fixed 512 MiB list of 16 777 216 nodes (it did not finish within a minute there)");
        using var output = JsonDocument.Parse(Guests.Run("read-list", Guests.Input("read-list", InputSet.A)));
        const int Nodes = 536870912 / 32;
        var rng = new SpecRng(1);
        var h = WordChecksum.Start;
        for (var i = 0; i < Nodes; i++)
            h = WordChecksum.Fold(h, rng.Next());
        var root = output.RootElement;
        Assert.Equal(Nodes, root.GetProperty("nodes").GetInt32());
        Assert.Equal(536870912, root.GetProperty("bytes").GetInt32());
        Assert.Equal(WordChecksum.Hex(h), root.GetProperty("checksum").GetString());
        Assert.Equal("0ee7353de516d842", WordChecksum.Hex(h)); // the value WORKLOADS.md documents
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
            sum = unchecked(sum + (((p + 1) * SpecRng.Golden) ^ p));
        var root = output.RootElement;
        Assert.Equal(mib, root.GetProperty("size_mib").GetInt32());
        Assert.Equal(pages, root.GetProperty("pages").GetUInt64());
        Assert.Equal(WordChecksum.Hex(sum), root.GetProperty("checksum").GetString());
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
        HtmlTable.AssertPage(Encoding.UTF8.GetString(Guests.Run("html", input)), rows, cols, seed);
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
        var input = Guests.MatmulInput("matmul", set);
        using var parameters = JsonDocument.Parse(input);
        var n = parameters.RootElement.GetProperty("n").GetInt32();
        var seed = parameters.RootElement.GetProperty("seed").GetUInt64();
        using var output = JsonDocument.Parse(Guests.Run("matmul", input));
        var trace = MatmulAnswer.AssertMatchesC(output.RootElement, n, seed);
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
}
