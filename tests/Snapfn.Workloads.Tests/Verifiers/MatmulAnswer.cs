using System.Text.Json;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>
/// WORKLOADS.md's matmul answer, which py-matmul keeps (it only draws A, B and the sampled positions another way):
/// n, the seed, the trace of C = A·B and 16 sampled entries of C, each within 1e-9, absolute or relative.
/// </summary>
public static class MatmulAnswer
{
    /// <summary>Checks the C matmul's answer: WORKLOADS.md draws A, then B, from one SpecRng stream of the seed
    /// (each entry uniform in [-1, 1)), and the samples' positions are the draws after B's, i then j.</summary>
    public static double AssertMatchesC(JsonElement root, int n, ulong seed)
    {
        var rng = new SpecRng(seed);
        var a = new double[n * n];
        var b = new double[n * n];
        for (var i = 0; i < a.Length; i++)
            a[i] = rng.NextDouble() * 2 - 1;
        for (var i = 0; i < b.Length; i++)
            b[i] = rng.NextDouble() * 2 - 1;
        return AssertMatches(root, n, seed, a, b, _ => ((int)(rng.Next() % (ulong)n), (int)(rng.Next() % (ulong)n)));
    }

    /// <summary>Checks the answer against a and b (row-major n x n); <paramref name="sample"/> gives the
    /// position of sample s, called for s = 0, 1, ... in turn. Returns the trace.</summary>
    public static double AssertMatches(JsonElement root, int n, ulong seed, double[] a, double[] b, Func<int, (int I, int J)> sample)
    {
        // Only the trace and the sampled entries: O(n^2), not the n^3 product.
        double trace = 0;
        for (var i = 0; i < n; i++)
            trace += Dot(a, b, n, i, i);

        Assert.Equal(n, root.GetProperty("n").GetInt32());
        Assert.Equal(seed, root.GetProperty("seed").GetUInt64());
        AssertClose(trace, root.GetProperty("trace").GetDouble(), "trace");
        var samples = root.GetProperty("samples").EnumerateArray().ToList();
        Assert.Equal(16, samples.Count);
        for (var s = 0; s < samples.Count; s++)
        {
            var (i, j) = sample(s);
            Assert.Equal(i, samples[s][0].GetInt32());
            Assert.Equal(j, samples[s][1].GetInt32());
            AssertClose(Dot(a, b, n, i, j), samples[s][2].GetDouble(), $"C[{i}][{j}]");
        }
        return trace;
    }

    private static double Dot(double[] a, double[] b, int n, int i, int j)
    {
        double sum = 0;
        for (var k = 0; k < n; k++)
            sum += a[(long)i * n + k] * b[(long)k * n + j];
        return sum;
    }

    private static void AssertClose(double expected, double actual, string what)
    {
        var error = Math.Abs(expected - actual);
        Assert.True(error <= 1e-9 || error <= 1e-9 * Math.Abs(expected), $"{what}: {actual:E15}, expected {expected:E15}");
    }
}
