#!/usr/bin/env python3
"""Host tests of the workload functions (guest/functions/*, see WORKLOADS.md).

Each function's main.c is compiled with plain gcc against a small shim (shim.c: snapfn_abort, snapfn_log,
snapfn_json_get; glibc for the rest) and driven by driver.c, and its output is checked against an independent
reference written here in Python (or, for AES and the ResNet, C test programs beside the function).
Usage: run_tests.py [name-substring ...]. Prints one line per test and "N passed, N failed" at the end."""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

import make_inputs

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST = os.path.dirname(os.path.dirname(HERE))
FUNCTIONS = os.path.join(GUEST, "functions")
INCLUDE = os.path.join(GUEST, "runtime", "include")
BUILD = os.path.join(GUEST, "build", "hosted")
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-I" + INCLUDE]
MASK = (1 << 64) - 1
ABORTED = 3  # the shim's exit code for snapfn_abort


class Skip(Exception):
    pass


# ---------------------------------------------------------------- building and running

def function_flags(name):
    path = os.path.join(FUNCTIONS, name, "cflags")
    return open(path).read().split() if os.path.exists(path) else []


# The runtime's codecs (snapfn_deflate.h, snapfn_jpeg.h) are plain C over malloc and memcpy, so their sources
# compile for the host too; the rest of the runtime (allocator, printf, hypercalls) is glibc's or the shim's.
CODEC_PATTERNS = ("deflate", "inflate", "crc32", "jpeg", "image")


def codec_sources(name):
    main = open(os.path.join(FUNCTIONS, name, "main.c")).read()
    if "snapfn_deflate.h" not in main and "snapfn_jpeg.h" not in main:
        return []
    src = os.path.join(GUEST, "runtime", "src")
    return sorted(os.path.join(src, f) for f in os.listdir(src)
                  if f.endswith(".c") and any(f.startswith(p) for p in CODEC_PATTERNS))


_built = {}


def build(name, main=None, extra=(), output=None, with_driver=True):
    """Compiles guest/functions/<name>/main.c (or `main`) for the host; returns the binary's path."""
    key = (name, main, tuple(extra), output)
    if key in _built:
        return _built[key]
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, output or name)
    sources = [main or os.path.join(FUNCTIONS, name, "main.c"), os.path.join(HERE, "shim.c")]
    if with_driver:
        sources.append(os.path.join(HERE, "driver.c"))
    sources += codec_sources(name)
    # snapfn_appendf is plain C over vsnprintf (glibc here) and snapfn_abort (the shim's).
    sources.append(os.path.join(GUEST, "runtime", "src", "out.c"))
    cmd = ["gcc"] + CFLAGS + function_flags(name) + list(extra) + ["-I" + os.path.join(GUEST, "runtime", "src"),
                                                                   "-I" + os.path.join(FUNCTIONS, name),
                                                                   "-o", out] + sources + ["-lm"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("build failed: %s\n%s" % (" ".join(cmd), result.stderr))
    _built[key] = out
    return out


def run(binary, data=b"", args=()):
    """Runs a driver binary on input bytes; returns (exit code, stdout bytes, stderr text)."""
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data if isinstance(data, bytes) else data.encode())
        path = f.name
    try:
        r = subprocess.run([binary, path] + list(args), capture_output=True, timeout=600)
    finally:
        os.unlink(path)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def invoke(name, data=b"", **kw):
    """Runs function `name` on `data`, expecting success; returns the output bytes."""
    rc, out, err = run(build(name, **kw), data)
    assert rc == 0, "%s exited %d: %s" % (name, rc, err.strip())
    return out


def expect_abort(name, data, words):
    rc, out, err = run(build(name), data)
    assert rc == ABORTED, "%s on %r: expected an abort, got exit %d, output %r" % (name, data[:60], rc, out[:80])
    for w in words:
        assert w in err, "abort message %r does not mention %r" % (err.strip(), w)


def read_input(name, filename):
    with open(os.path.join(FUNCTIONS, name, "inputs", filename), "rb") as f:
        return f.read()


def close(a, b, rel=1e-9, abs_=1e-12):
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


# ---------------------------------------------------------------- references

Rng = make_inputs.Rng  # snapfn_rng, written once for the input generator and the references


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


tests = []


def test(fn):
    tests.append(fn)
    return fn


# ---------------------------------------------------------------- read-list

@test
def read_list_checksum_small():
    nodes = (1 << 20) // 32
    out = json.loads(invoke("read-list", extra=["-DLIST_BYTES=1048576"], output="read-list-small"))
    rng, h = Rng(1), 0xCBF29CE484222325
    for _ in range(nodes):
        h = ((h ^ rng.next()) * 0x100000001B3) & MASK
    assert out == {"nodes": nodes, "bytes": nodes * 32, "checksum": "%016x" % h}, out


@test
def read_list_full_size():
    out = json.loads(invoke("read-list"))
    assert out["nodes"] == 16777216 and out["bytes"] == 512 << 20, out
    assert len(out["checksum"]) == 16


# ---------------------------------------------------------------- mmap

def mmap_checksum(mib):
    pages = (mib << 20) // 4096
    return pages, "%016x" % (sum((((p + 1) * 0x9E3779B97F4A7C15) & MASK) ^ p for p in range(pages)) & MASK)


@test
def mmap_checksums():
    for mib in (1, 3, 512):
        pages, checksum = mmap_checksum(mib)
        out = json.loads(invoke("mmap", '{"size_mib":%d}' % mib))
        assert out == {"size_mib": mib, "pages": pages, "checksum": checksum}, out


@test
def mmap_rejects_bad_input():
    expect_abort("mmap", b"", ["size_mib"])
    expect_abort("mmap", b'{"size_mib":0}', ["size_mib"])
    expect_abort("mmap", b'{"size_mib":"x"}', ["size_mib"])


# ---------------------------------------------------------------- json

class Raw:
    """A number kept as its source text, as the function keeps it."""

    def __init__(self, text):
        self.text = text


def compact_doc(text):
    """The function's output rule: compact, numbers verbatim, strings escaping only '"', '\\' and controls
    (json.dumps with ensure_ascii=False escapes exactly those), duplicate keys kept in order."""

    def conv(v):
        if isinstance(v, Raw):
            return v.text
        if isinstance(v, tuple):  # an object, as its (key, value) pairs
            return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + conv(x) for k, x in v[1]) + "}"
        if isinstance(v, list):
            return "[" + ",".join(conv(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    return conv(json.loads(text, object_pairs_hook=lambda items: ("object", items), parse_float=Raw,
                           parse_int=Raw))


@test
def json_inputs_round_trip():
    for f in ("a.json", "b.json"):
        text = read_input("json", f).decode()
        out = invoke("json", text.encode()).decode()
        assert out == compact_doc(text), "json %s: output differs from the reference" % f
    # With numbers already in canonical form, Python's own serialiser agrees too.
    doc = '{"a": [1, -2, 0.5, "\\u00e9\\ud83d\\ude00\\/"], "b": {"c": null, "d": true, "e": false}}'
    assert invoke("json", doc).decode() == json.dumps(json.loads(doc), ensure_ascii=False, separators=(",", ":"))


@test
def json_edge_cases():
    cases = {
        ' [ ] ': "[]",
        '{}': "{}",
        '"\\u0000\\u001f\\u007f\\b\\f\\n\\r\\t\\"\\\\\\/"': '"\\u0000\\u001f\x7f\\b\\f\\n\\r\\t\\"\\\\/"',
        '"\\uD834\\uDD1E \\u00e9 \\u20ac"': '"\U0001D11E é €"',
        '"raw é € 😀"': '"raw é € 😀"',
        '[-0, 0.0, 1e5, 1E-5, -12.5e+3, 123456789012345678901234567890]':
            '[-0,0.0,1e5,1E-5,-12.5e+3,123456789012345678901234567890]',
        '{"k": 1, "k": 2}': '{"k":1,"k":2}',
        '[[[[[[[[[[]]]]]]]]]]': "[[[[[[[[[[]]]]]]]]]]",
        '{"z": 1, "a": {"y": [true, false, null]}}': '{"z":1,"a":{"y":[true,false,null]}}',
    }
    for doc, want in cases.items():
        got = invoke("json", doc.encode()).decode()
        assert got == want, "json %r: got %r, want %r" % (doc, got, want)
    deep = "[" * 512 + "]" * 512
    assert invoke("json", deep.encode()).decode() == deep


@test
def json_rejects_invalid():
    bad = ['', ' ', '[1,]', '{"a" 1}', '{"a":1,}', '01', '1.', '-', '.5', '1e', '"abc', '"\\x"', '"\\ud800"',
           '"\\udc00"', '"\\ud800\\u0041"', '"a\nb"', 'tru', 'nul', '[1] 2', '{1:2}', "'a'", '"\\u12g4"',
           "[" * 513 + "]" * 513]
    for doc in bad:
        expect_abort("json", doc.encode(), ["json"])
    for raw in (b'"\xff"', b'"\xc0\x80"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'"\xe2\x82"'):
        expect_abort("json", raw, ["UTF-8"])


# ---------------------------------------------------------------- aes

KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
IV_HEX = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"


@test
def aes_published_vectors():
    binary = build("aes", main=os.path.join(FUNCTIONS, "aes", "test", "vectors.c"), output="aes-vectors",
                   with_driver=False)
    r = subprocess.run([binary], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@test
def aes_matches_openssl():
    if not shutil.which("openssl"):
        raise Skip("openssl not installed")
    inputs = [read_input("aes", "a.txt"), read_input("aes", "b.txt"), b"", b"x", bytes(range(256)) * 3 + b"tail"]
    for data in inputs:
        out = json.loads(invoke("aes", data))
        want = subprocess.run(["openssl", "enc", "-aes-256-ctr", "-K", KEY_HEX, "-iv", IV_HEX, "-nosalt"],
                              input=data, capture_output=True, check=True).stdout
        assert out == {"bytes": len(data), "roundtrip": True, "ciphertext": want.hex()}, "aes on %d bytes" % len(data)


# ---------------------------------------------------------------- html

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 &<>\"'"


def html_cell(seed, row, col):
    rng = Rng(mix64(((seed << 42) ^ (row << 21) ^ col) & MASK))
    n = 3 + rng.next() % 10
    return "".join(ALPHABET[rng.next() % len(ALPHABET)] for _ in range(n))


def escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


def html_document(rows, cols, seed):
    title = escape("Snapfn table: %d rows & %d columns, seed %d" % (rows, cols, seed))
    body = "".join("\n<tr>" + "".join("\n<td>%s</td>" % escape(html_cell(seed, r, c)) for c in range(cols)) +
                   "\n</tr>" for r in range(rows))
    return ('<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>%s</title>\n</head>\n<body>\n'
            "<table>%s\n</table>\n</body>\n</html>\n" % (title, body))


@test
def html_documents():
    for rows, cols, seed in ((3, 4, 1), (0, 5, 7), (2, 0, 7), (300, 100, 1), (400, 100, 2)):
        got = invoke("html", '{"rows":%d,"cols":%d,"seed":%d}' % (rows, cols, seed)).decode()
        want = html_document(rows, cols, seed)
        assert got == want, "html %dx%d seed %d differs from the reference" % (rows, cols, seed)
    doc = html_document(300, 100, 1)
    assert all(ch in doc for ch in ("&amp;", "&lt;", "&gt;", "&quot;", "&#39;"))


@test
def html_rejects_bad_input():
    expect_abort("html", b'{"rows":3,"seed":1}', ["cols"])
    expect_abort("html", b'{"rows":-1,"cols":3,"seed":1}', ["rows"])
    expect_abort("html", b"", ["rows"])


# ---------------------------------------------------------------- matmul

def matmul_reference(n, seed):
    rng = Rng(seed)
    a = [rng.double() * 2 - 1 for _ in range(n * n)]
    b = [rng.double() * 2 - 1 for _ in range(n * n)]
    entry = lambda i, j: sum(a[i * n + k] * b[k * n + j] for k in range(n))
    trace = sum(entry(i, i) for i in range(n))
    samples = []
    for _ in range(16):
        i = rng.next() % n
        j = rng.next() % n
        samples.append((i, j, entry(i, j)))
    return trace, samples


@test
def matmul_against_naive():
    for n, seed in ((1, 5), (7, 1), (50, 2), (131, 3), (300, 4)):
        out = json.loads(invoke("matmul", '{"n":%d,"seed":%d}' % (n, seed)))
        trace, samples = matmul_reference(n, seed)
        assert out["n"] == n and out["seed"] == seed
        assert close(out["trace"], trace, 1e-9, 1e-9), (n, out["trace"], trace)
        assert len(out["samples"]) == 16
        for (i, j, v), (ri, rj, rv) in zip(out["samples"], samples):
            assert (i, j) == (ri, rj) and close(v, rv, 1e-9, 1e-9), (n, i, j, v, rv)


@test
def matmul_rejects_bad_input():
    expect_abort("matmul", b'{"seed":1}', ["n"])
    expect_abort("matmul", b'{"n":0,"seed":1}', ["n"])


# ---------------------------------------------------------------- pagerank

def pagerank_reference(n, seed):
    m = 3
    edges, repeated = [], []
    for u in range(m + 1):
        for v in range(u + 1, m + 1):
            edges.append((u, v))
            repeated += [u, v]
    rng = Rng(seed)
    for v in range(m + 1, n):
        chosen = []
        while len(chosen) < m:
            t = repeated[rng.next() % len(repeated)]
            if t not in chosen:
                chosen.append(t)
        for t in chosen:
            edges.append((v, t))
            repeated += [t, v]
    adj = [[] for _ in range(n)]
    for u, v in edges:
        adj[u].append(v)
        adj[v].append(u)
    rank = [1.0 / n] * n
    it = 0
    while it < 200:
        it += 1
        share = [rank[u] / len(adj[u]) if adj[u] else 0.0 for u in range(n)]
        dangling = sum(rank[u] for u in range(n) if not adj[u])
        base = (1 - 0.85) / n + 0.85 * dangling / n
        new = [base + 0.85 * sum(share[u] for u in adj[v]) for v in range(n)]
        delta = sum(abs(new[v] - rank[v]) for v in range(n))
        rank = new
        if delta < 1e-10:
            break
    top = sorted(range(n), key=lambda v: (-rank[v], v))[:10]
    return len(edges), it, [(v, rank[v]) for v in top]


@test
def pagerank_against_reference():
    for n, seed in ((4, 1), (5, 9), (1000, 2), (20000, 1)):
        out = json.loads(invoke("pagerank", '{"n":%d,"seed":%d}' % (n, seed)))
        edges, iterations, top = pagerank_reference(n, seed)
        assert out["n"] == n and out["edges"] == edges and out["iterations"] == iterations, (out, edges, iterations)
        assert len(out["top"]) == min(10, n)
        for (v, r), (rv, rr) in zip(out["top"], top):
            assert v == rv and close(r, rr, 1e-9), (n, v, r, rv, rr)


@test
def pagerank_rejects_bad_input():
    expect_abort("pagerank", b'{"n":3,"seed":1}', ["n"])
    expect_abort("pagerank", b'{"n":100}', ["seed"])


# ---------------------------------------------------------------- compression

@test
def compression_round_trips():
    rng = Rng(7)
    noise = bytes(rng.next() & 255 for _ in range(70000))
    inputs = [read_input("compression", "a.txt"), read_input("compression", "b.json"), b"", b"a",
              b"ab" * 100000, noise, noise[:1000] * 50]
    for data in inputs:
        out = invoke("compression", data)
        assert out[:4] == b"\x1f\x8b\x08\x00" and out[4:8] == b"\0\0\0\0", out[:10]
        assert gzip.decompress(out) == data, "compression: %d bytes do not round-trip" % len(data)
    for f in ("a.txt", "b.json"):
        data = read_input("compression", f)
        assert len(invoke("compression", data)) < len(data) // 2, "compression of %s is weak" % f


# ---------------------------------------------------------------- image and video

def decode_jpeg(data, channels=0):
    """Decodes a JPEG or Motion-JPEG stream with the runtime's decoder (jpeg_dump.c): [(w, h, c, pixels)]."""
    binary = build("image", main=os.path.join(HERE, "jpeg_dump.c"), output="jpeg_dump", with_driver=False)
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
    try:
        r = subprocess.run([binary, f.name, str(channels)], capture_output=True)
    finally:
        os.unlink(f.name)
    assert r.returncode == 0, "decoding failed: %s" % r.stderr.decode()
    frames, pos, raw = [], 0, r.stdout
    while pos < len(raw):
        end = raw.index(b"\n", pos)
        w, h, c = map(int, raw[pos:end].split())
        frames.append((w, h, c, raw[end + 1:end + 1 + w * h * c]))
        pos = end + 1 + w * h * c
    return frames


def psnr(a, b):
    assert len(a) == len(b)
    se = sum((x - y) * (x - y) for x, y in zip(a, b))
    return 99.0 if se == 0 else 10 * __import__("math").log10(255 * 255 * len(a) / se)


def rotate_cw(w, h, c, px):
    """A quarter turn clockwise: the result is h wide and w high; its (x', y') is the source's (y', h-1-x')."""
    out = bytearray(len(px))
    for y2 in range(w):
        for x2 in range(h):
            src = ((h - 1 - x2) * w + y2) * c
            dst = (y2 * h + x2) * c
            out[dst:dst + c] = px[src:src + c]
    return bytes(out)


@test
def image_rotates_and_reencodes():
    # The first of video's gray frames exercises the one-channel path (entropy-coded data never holds ff d9).
    gray_jpeg = invoke("video", read_input("video", "a.mjpeg")).split(b"\xff\xd9")[0] + b"\xff\xd9"
    assert decode_jpeg(gray_jpeg)[0][2] == 1
    for data in (read_input("image", "a.jpg"), read_input("image", "b.jpg"), gray_jpeg):
        (w, h, c, px), = decode_jpeg(data)
        out = invoke("image", data)
        assert out[:2] == b"\xff\xd8" and out[-2:] == b"\xff\xd9"
        (w2, h2, c2, px2), = decode_jpeg(out)
        assert (w2, h2, c2) == (h, w, c), ((w, h, c), (w2, h2, c2))
        quality = psnr(rotate_cw(w, h, c, px), px2)
        assert quality > 30, "image: rotated output is only %.1f dB from the rotated input" % quality


@test
def image_rejects_bad_input():
    expect_abort("image", b"not a jpeg", ["JPEG"])
    expect_abort("image", read_input("image", "a.jpg")[:5000], ["JPEG"])


def luma(px):
    return bytes(int(0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2] + 0.5) for i in range(0, len(px), 3))


@test
def video_grays_every_frame():
    for f in ("a.mjpeg", "b.mjpeg"):
        data = read_input("video", f)
        frames_in = decode_jpeg(data, 3)
        out = invoke("video", data)
        frames_out = decode_jpeg(out)
        assert len(frames_in) == 30 and len(frames_out) == 30, (len(frames_in), len(frames_out))
        for k in (0, 29):
            w, h, _, px = frames_in[k]
            w2, h2, c2, px2 = frames_out[k]
            assert (w2, h2, c2) == (w, h, 1) == (640, 480, 1)
            quality = psnr(luma(px), px2)
            assert quality > 30, "video %s frame %d: %.1f dB from the input's luma" % (f, k, quality)


@test
def video_rejects_bad_input():
    expect_abort("video", b"", ["JPEG"])
    expect_abort("video", read_input("video", "a.mjpeg") + b"junk", ["frame 30"])


# ---------------------------------------------------------------- recognition

@test
def recognition_matches_direct_convolution():
    binary = build("recognition", main=os.path.join(FUNCTIONS, "recognition", "test", "reference.c"),
                   output="recognition-reference", with_driver=False)
    r = subprocess.run([binary], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def ppm(w, h):
    px = bytearray()
    for y in range(h):
        for x in range(w):
            px += bytes(((x * 3 + y) & 255, (x * y) & 255, (255 - x) & 255))
    return b"P6\n# test image\n%d %d\n255\n" % (w, h) + bytes(px)


@test
def recognition_output_format():
    out = json.loads(invoke("recognition", b'{"width_divisor":16}\n' + ppm(40, 30)))
    assert out["weights"] == "synthetic" and out["width_divisor"] == 16 and out["image"] == [40, 30], out
    top = out["top5"]
    assert len(top) == 5 and len({c for c, _, _ in top}) == 5
    assert all(0 <= c < 1000 for c, _, _ in top)
    assert all(top[k][1] >= top[k + 1][1] and top[k][2] >= top[k + 1][2] for k in range(4))
    assert 0 < sum(p for _, _, p in top) <= 1.0000001


@test
def recognition_jpeg_equals_its_pixels_as_ppm():
    """The JPEG path gives what the same pixels give as a PPM: the decoder is wired in, nothing more."""
    for f in ("a.jpg", "b.jpg"):
        data = read_input("recognition", f)
        (w, h, c, px), = decode_jpeg(data, 3)
        header = b'{"width_divisor":4}\n'
        from_jpeg = json.loads(invoke("recognition", header + data))
        from_ppm = json.loads(invoke("recognition", header + b"P6\n%d %d\n255\n" % (w, h) + px))
        assert from_jpeg == from_ppm and from_jpeg["image"] == [w, h], (from_jpeg, from_ppm)


@test
def recognition_rejects_bad_input():
    expect_abort("recognition", b"hello", ["JPEG"])
    expect_abort("recognition", b'{"width_divisor":3}\n' + ppm(4, 4), ["width_divisor"])
    expect_abort("recognition", b"P6\n4 4\n255\nshort", ["PPM"])


# ---------------------------------------------------------------- main

def main():
    selected = [t for t in tests if len(sys.argv) < 2 or any(s in t.__name__ for s in sys.argv[1:])]
    passed = failed = skipped = 0
    for t in selected:
        try:
            t()
            print("ok    %s" % t.__name__, flush=True)
            passed += 1
        except Skip as e:
            print("skip  %s (%s)" % (t.__name__, e), flush=True)
            skipped += 1
        except Exception as e:  # a failing check or a crash: report and go on
            print("FAIL  %s: %s" % (t.__name__, e), flush=True)
            if not isinstance(e, AssertionError):
                traceback.print_exc()
            failed += 1
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
