"""py-matmul: NumPy (OpenBLAS, one thread) multiplies two n x n float64 matrices generated from a seed.

Run by guest/python/snapfn_shim.py: init() once before the snapshot, handle() once per request. The generation
rule (README.md) is counter based, so NumPy computes it with array operations and a checker can recompute any
one entry.
"""

GOLDEN = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1
SAMPLES = 16
# Counters made at a time: the temporaries stay small enough for malloc to reuse them, where whole-matrix
# temporaries (above glibc's 32 MiB mmap threshold once n > 2048) would be new mappings, every page of each
# faulted in anew.
CHUNK = 1 << 18


def init():
    global json, np
    import json

    import numpy as np

    # Pulls OpenBLAS's dgemm kernels in before the snapshot point.
    probe = _uniform(0, 0, 2 * 64 * 64).reshape(2, 64, 64)
    probe[0] @ probe[1]


def _counters(seed, start, out, scratch):
    """Fills the uint64 array out with mix64(seed * GOLDEN + k), k = start .. start + len(out) - 1 (SplitMix64's
    finaliser; uint64 array arithmetic wraps modulo 2^64). scratch is a uint64 array as long as out."""
    out[:] = np.arange(start, start + len(out), dtype=np.uint64)
    out += np.uint64((seed * GOLDEN) & MASK)
    for shift, multiplier in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)):
        np.right_shift(out, np.uint64(shift), out=scratch)
        out ^= scratch
        if multiplier is not None:
            out *= np.uint64(multiplier)
    return out


def _uniform(seed, start, count):
    """u(k) for k = start .. start + count - 1: the top 53 bits of the counter as a fraction of 2^53, times 2,
    minus 1, a double in [-1, 1) (every step exact)."""
    values = np.empty(count, dtype=np.float64)
    z = np.empty(min(count, CHUNK), dtype=np.uint64)
    scratch = np.empty_like(z)
    for first in range(0, count, CHUNK):
        size = min(CHUNK, count - first)
        part = _counters(seed, start + first, z[:size], scratch[:size])
        part >>= np.uint64(11)
        np.multiply(part, 2.0 / 9007199254740992.0, out=values[first : first + size])
    values -= 1.0
    return values


def handle(request: bytes) -> bytes:
    fields = json.loads(request)
    if not isinstance(fields, dict) or any(type(fields.get(key)) is not int for key in ("n", "seed")):
        raise ValueError('the request must be a JSON object such as {"n":2000,"seed":1}')
    n, seed = fields["n"], fields["seed"]
    if not 1 <= n <= 8000 or not 0 <= seed < 2**31:
        raise ValueError(f"n must be in 1..8000 and seed in 0..2^31-1 (got n={n}, seed={seed})")

    cells = n * n
    a = _uniform(seed, 0, cells).reshape(n, n)
    b = _uniform(seed, cells, cells).reshape(n, n)
    c = a @ b
    # Sample positions continue the same counter after B: an even and an odd counter give i and j.
    picks = _counters(seed, 2 * cells, *np.empty((2, 2 * SAMPLES), np.uint64)) % np.uint64(n)
    samples = [[int(picks[2 * s]), int(picks[2 * s + 1])] for s in range(SAMPLES)]
    return json.dumps(
        {
            "n": n,
            "seed": seed,
            "trace": float(np.trace(c)),
            "samples": [[i, j, float(c[i, j])] for i, j in samples],
        },
        separators=(",", ":"),
    ).encode()
