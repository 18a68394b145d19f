namespace Snapfn.Workloads.Tests;

/// <summary>WORKLOADS.md's pagerank: the Barabási–Albert graph built in its exact order, then the power iteration.</summary>
public static class PageRank
{
    public static (long Edges, int Iterations, double[] Rank) Compute(int n, ulong seed)
    {
        var from = new List<int> { 0, 0, 0, 1, 1, 2 };
        var to = new List<int> { 1, 2, 3, 2, 3, 3 };
        var ends = new List<int> { 0, 1, 0, 2, 0, 3, 1, 2, 1, 3, 2, 3 };
        var rng = new SpecRng(seed);
        Span<int> chosen = stackalloc int[3];
        for (var v = 4; v < n; v++)
        {
            var count = 0;
            var pool = (ulong)ends.Count;
            while (count < 3)
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

        // Neighbours in edge order, as compressed rows.
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
        var iterations = 0;
        for (var iteration = 0; iteration < 200; iteration++)
        {
            double dangling = 0;
            for (var u = 0; u < n; u++)
            {
                if (degree[u] == 0)
                    dangling += rank[u];
            }
            var baseRank = (1 - D) / n + D * dangling / n;
            var updated = new double[n];
            double delta = 0;
            for (var v = 0; v < n; v++)
            {
                double sum = 0;
                for (var k = start[v]; k < start[v + 1]; k++)
                    sum += rank[neighbours[k]] / degree[neighbours[k]];
                updated[v] = baseRank + D * sum;
                delta += Math.Abs(updated[v] - rank[v]);
            }
            rank = updated;
            iterations++;
            if (delta < 1e-10)
                break;
        }
        return (from.Count, iterations, rank);
    }
}
