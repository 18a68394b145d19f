namespace Snapfn.Workloads.Tests;

/// <summary>
/// WORKLOADS.md's pagerank: the Barabási–Albert graph built in its exact order, then the power iteration.
/// py-pagerank's README.md keeps both with m = 10 in place of 3 and its own stopping point.
/// </summary>
public static class PageRank
{
    /// <summary>Undirected edges in the order they were made.</summary>
    public sealed record Graph(int Nodes, List<int> From, List<int> To)
    {
        public int Edges => From.Count;
    }

    /// <summary>WORKLOADS.md's pagerank (m = 3): the edge count, the iterations the power iteration ran (at most
    /// 200, stopping once the L1 change is below 1e-10) and the ranks.</summary>
    public static (long Edges, int Iterations, double[] Rank) Compute(int n, ulong seed)
    {
        var graph = BarabasiAlbert(n, 3, seed);
        var (iterations, rank, _) = PowerIteration(graph, 200, 1e-10);
        return (graph.Edges, iterations, rank);
    }

    /// <summary>The complete graph on nodes 0..m, then each further node v joined to m distinct nodes, drawn as
    /// uniformly chosen edge ends with xorshift64* seeded with <paramref name="seed"/>.</summary>
    public static Graph BarabasiAlbert(int n, int m, ulong seed)
    {
        var from = new List<int>();
        var to = new List<int>();
        var ends = new List<int>();
        for (var u = 0; u <= m; u++)
        {
            for (var v = u + 1; v <= m; v++)
            {
                from.Add(u);
                to.Add(v);
                ends.Add(u);
                ends.Add(v);
            }
        }
        var rng = new SpecRng(seed);
        Span<int> chosen = stackalloc int[m];
        for (var v = m + 1; v < n; v++)
        {
            var count = 0;
            var pool = (ulong)ends.Count;
            while (count < m)
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
        return new Graph(n, from, to);
    }

    /// <summary>PageRank of the undirected graph (each edge both ways), d = 0.85, from 1/n everywhere, until the L1
    /// change of an iteration is below <paramref name="tolerance"/> or <paramref name="maxIterations"/> have run.</summary>
    public static (int Iterations, double[] Rank, bool Converged) PowerIteration(Graph graph, int maxIterations, double tolerance)
    {
        var n = graph.Nodes;
        var (from, to) = (graph.From, graph.To);
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
        var share = new double[n];
        var updated = new double[n];
        for (var iteration = 1; iteration <= maxIterations; iteration++)
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
            if (delta < tolerance)
                return (iteration, rank, true);
        }
        return (maxIterations, rank, false);
    }
}
