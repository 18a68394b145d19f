"""py-pagerank: python-igraph's PageRank (damping 0.85) of a Barabási–Albert graph, m = 10, built from a seed.

Run by guest/python/snapfn_shim.py: init() once before the snapshot, handle() once per request. The graph is
built here by the rule README.md spells out (the C pagerank's, with m = 10) rather than by Graph.Barabasi,
whose generator only igraph can replay; igraph gets the edge list.
"""

M = 10
DAMPING = 0.85
TOP = 10
MASK = (1 << 64) - 1


def init():
    global heapq, json, igraph
    import heapq
    import json

    import igraph

    # PRPACK's solver and igraph's graph constructors, touched once before the snapshot point.
    igraph.Graph(n=4, edges=[(0, 1), (1, 2), (2, 3), (3, 0)]).pagerank(damping=DAMPING)


def barabasi_albert(n, seed):
    """Edges (u, v) in order: the complete graph on nodes 0..M, then M per new node v to distinct targets drawn
    from the list of every edge's ends (so in proportion to degree) with xorshift64*."""
    edges = [(u, v) for u in range(M + 1) for v in range(u + 1, M + 1)]
    ends = [node for edge in edges for node in edge]
    state = seed if seed != 0 else 0x9E3779B97F4A7C15
    for v in range(M + 1, n):
        size = len(ends)
        chosen = []
        while len(chosen) < M:
            # snapfn_rng's next(), inline: this loop is most of the request's Python time.
            state ^= state >> 12
            state ^= (state << 25) & MASK
            state ^= state >> 27
            target = ends[((state * 0x2545F4914F6CDD1D) & MASK) % size]
            if target not in chosen:
                chosen.append(target)
        for target in chosen:
            edges.append((v, target))
            ends.append(target)
            ends.append(v)
    return edges


def handle(request: bytes) -> bytes:
    fields = json.loads(request)
    if not isinstance(fields, dict) or any(type(fields.get(key)) is not int for key in ("n", "seed")):
        raise ValueError('the request must be a JSON object such as {"n":90000,"seed":1}')
    n, seed = fields["n"], fields["seed"]
    if not M + 1 <= n <= 5_000_000 or not 0 <= seed < 2**31:
        raise ValueError(f"n must be in {M + 1}..5000000 and seed in 0..2^31-1 (got n={n}, seed={seed})")

    edges = barabasi_albert(n, seed)
    graph = igraph.Graph(n=n, edges=edges, directed=False)
    rank = graph.pagerank(damping=DAMPING)
    top = heapq.nsmallest(TOP, range(n), key=lambda v: (-rank[v], v))
    return json.dumps(
        {"n": n, "m": M, "seed": seed, "edges": len(edges), "top": [[v, rank[v]] for v in top]},
        separators=(",", ":"),
    ).encode()
