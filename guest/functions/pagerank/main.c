/* pagerank: the paper's igraph PageRank workload — build a Barabási–Albert graph, rank its nodes, return the
 * top 10. Both steps depend on the request (n, seed), so both run in handle().
 *
 * Input: {"n":N,"seed":S} with N >= 4. Output:
 * {"n":N,"seed":S,"edges":E,"iterations":K,"top":[[node,rank],...10]} with ranks as %.12e.
 * WORKLOADS.md gives the graph construction and the iteration step by step for the checker. */
#include "snapfn.h"

#define M 3                 /* edges added with each new node */
#define DAMPING 0.85
#define TOLERANCE 1e-10     /* stop when the L1 change of the rank vector is below this */
#define MAX_ITERATIONS 200
#define TOP 10
#define MAX_N 5000000

struct graph {
    size_t n, edges;
    uint32_t *from, *to;  /* the undirected edges in the order they were added */
    uint32_t *offset;     /* CSR: neighbours of v are adj[offset[v] .. offset[v+1]) */
    uint32_t *adj;
};

/* Preferential attachment with the "repeated nodes" list: every edge puts both ends on the list, so a
 * uniform pick from it picks a node with probability proportional to its degree. */
static void build_graph(struct graph *g, size_t n, uint64_t seed)
{
    size_t edges = M * (M + 1) / 2 + (n - M - 1) * M;
    g->n = n;
    g->edges = edges;
    g->from = xmalloc(edges * sizeof *g->from);
    g->to = xmalloc(edges * sizeof *g->to);
    uint32_t *repeated = xmalloc(2 * edges * sizeof *repeated);
    size_t e = 0, r = 0;
    /* Seed graph: the complete graph on nodes 0..M. */
    for (uint32_t u = 0; u <= M; u++)
        for (uint32_t v = u + 1; v <= M; v++) {
            g->from[e] = u;
            g->to[e++] = v;
            repeated[r++] = u;
            repeated[r++] = v;
        }
    snapfn_rng rng;
    snapfn_rng_seed(&rng, seed);
    for (uint32_t v = M + 1; v < n; v++) {
        uint32_t chosen[M];
        int count = 0;
        while (count < M) {
            uint32_t t = repeated[snapfn_rng_next(&rng) % r];
            bool seen = false;
            for (int k = 0; k < count; k++)
                seen |= chosen[k] == t;
            if (!seen)
                chosen[count++] = t;
        }
        /* The list grows only after all M targets are drawn. */
        for (int k = 0; k < M; k++) {
            g->from[e] = v;
            g->to[e++] = chosen[k];
            repeated[r++] = chosen[k];
            repeated[r++] = v;
        }
    }
    free(repeated);

    /* CSR adjacency, each node's neighbours in edge order. */
    g->offset = xmalloc((n + 1) * sizeof *g->offset);
    g->adj = xmalloc(2 * edges * sizeof *g->adj);
    memset(g->offset, 0, (n + 1) * sizeof *g->offset);
    for (size_t i = 0; i < edges; i++) {
        g->offset[g->from[i] + 1]++;
        g->offset[g->to[i] + 1]++;
    }
    for (size_t v = 0; v < n; v++)
        g->offset[v + 1] += g->offset[v];
    uint32_t *fill = xmalloc(n * sizeof *fill);
    memcpy(fill, g->offset, n * sizeof *fill);
    for (size_t i = 0; i < edges; i++) {
        g->adj[fill[g->from[i]]++] = g->to[i];
        g->adj[fill[g->to[i]]++] = g->from[i];
    }
    free(fill);
}

/* Power iteration; returns the number of iterations run. Each undirected edge is a link both ways. */
static int pagerank(const struct graph *g, double *rank)
{
    size_t n = g->n;
    double *next = xmalloc(n * sizeof *next), *share = xmalloc(n * sizeof *share);
    for (size_t v = 0; v < n; v++)
        rank[v] = 1.0 / (double)n;
    int it = 0;
    while (it < MAX_ITERATIONS) {
        it++;
        double dangling = 0;
        for (size_t u = 0; u < n; u++) {
            uint32_t degree = g->offset[u + 1] - g->offset[u];
            if (degree)
                share[u] = rank[u] / degree;
            else
                dangling += rank[u];
        }
        /* A node without links spreads its rank over every node. */
        double base = (1 - DAMPING) / (double)n + DAMPING * dangling / (double)n;
        double delta = 0;
        for (size_t v = 0; v < n; v++) {
            double sum = 0;
            for (uint32_t k = g->offset[v]; k < g->offset[v + 1]; k++)
                sum += share[g->adj[k]];
            next[v] = base + DAMPING * sum;
            delta += fabs(next[v] - rank[v]);
        }
        memcpy(rank, next, n * sizeof *rank);
        if (delta < TOLERANCE)
            break;
    }
    free(share);
    free(next);
    return it;
}

/* Better = higher rank, then lower node id. */
static bool better(const double *rank, uint32_t a, uint32_t b)
{
    return rank[a] > rank[b] || (rank[a] == rank[b] && a < b);
}

static long get_int(const uint8_t *in, size_t in_len, const char *key, long lo, long hi)
{
    char text[32];
    char *end;
    if (!snapfn_json_get(in, in_len, key, text, sizeof text))
        snapfn_abort("pagerank: expected input {\"n\":N,\"seed\":S}; '%s' is missing", key);
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < lo || v > hi)
        snapfn_abort("pagerank: '%s' must be an integer in %ld..%ld, got '%s'", key, lo, hi, text);
    return v;
}

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    size_t n = (size_t)get_int(in, in_len, "n", M + 1, MAX_N);
    long seed = get_int(in, in_len, "seed", 0, 0x7fffffffL);
    struct graph g;
    build_graph(&g, n, (uint64_t)seed);
    double *rank = xmalloc(n * sizeof *rank);
    int iterations = pagerank(&g, rank);

    /* Top 10 by insertion into a short sorted list: n is large, 10 is small. */
    uint32_t top[TOP];
    size_t count = 0;
    for (uint32_t v = 0; v < n; v++) {
        if (count == TOP && !better(rank, v, top[TOP - 1]))
            continue;
        size_t k = count < TOP ? count++ : TOP - 1;
        while (k > 0 && better(rank, v, top[k - 1])) {
            top[k] = top[k - 1];
            k--;
        }
        top[k] = v;
    }

    snapfn_out o = snapfn_out_begin(out, out_cap, "pagerank");
    snapfn_appendf(&o, "{\"n\":%zu,\"seed\":%ld,\"edges\":%zu,\"iterations\":%d,\"top\":[", n, seed, g.edges, iterations);
    for (size_t k = 0; k < count; k++)
        snapfn_appendf(&o, "%s[%u,%.12e]", k ? "," : "", top[k], rank[top[k]]);
    snapfn_appendf(&o, "]}");
    free(rank);
    free(g.adj);
    free(g.offset);
    free(g.to);
    free(g.from);
    return o.len;
}
