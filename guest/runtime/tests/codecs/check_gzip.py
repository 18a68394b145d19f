#!/usr/bin/env python3
"""The zlib side of the deflate tests.

make-ref REFDIR    writes inputs (NAME.orig) and zlib's compressed forms of them (NAME.VARIANT.gz, raw
                   NAME.VARIANT.deflate) for test_deflate to inflate.
verify OUTDIR      decompresses every NAME.LEVEL.gz that test_deflate wrote with Python's gzip module and with
                   the gzip program, compares with NAME.raw, and prints the compression ratios beside zlib's.
"""
import gzip
import os
import random
import shutil
import subprocess
import sys
import zlib

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        if os.environ.get("VERBOSE"):
            print("  ok: " + what)
    else:
        failed += 1
        print("  FAIL: " + what)


def make_ref(refdir):
    os.makedirs(refdir, exist_ok=True)
    rnd = random.Random(1951)
    words = "the of and snapshot guest memory page fault function request latency kernel a to in is".split()
    text = " ".join(rnd.choice(words) for _ in range(40000)).encode()
    inputs = {
        "empty": b"",
        "one": b"z",
        "text": text,
        "random": bytes(rnd.getrandbits(8) for _ in range(70000)),
        "zeros": bytes(300000),
        "mixed": text[:50000] + bytes(rnd.getrandbits(8) for _ in range(50000)) + text[:50000],
    }
    for name, data in inputs.items():
        with open(os.path.join(refdir, name + ".orig"), "wb") as f:
            f.write(data)
        variants = {f"l{level}": (level, zlib.Z_DEFAULT_STRATEGY) for level in (0, 1, 6, 9)}
        variants.update({"fixed": (6, zlib.Z_FIXED), "huffman": (6, zlib.Z_HUFFMAN_ONLY), "rle": (6, zlib.Z_RLE),
                         "filtered": (6, zlib.Z_FILTERED)})
        for vname, (level, strategy) in variants.items():
            c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
            raw = c.compress(data) + c.flush()
            with open(os.path.join(refdir, f"{name}.{vname}.deflate"), "wb") as f:
                f.write(raw)
            # Full flushes in the middle leave empty stored blocks and byte-aligned joins.
            if vname == "l6" and len(data) > 10:
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                half = len(data) // 2
                raw = c.compress(data[:half]) + c.flush(zlib.Z_FULL_FLUSH) + c.compress(data[half:]) + c.flush()
                with open(os.path.join(refdir, f"{name}.flushed.deflate"), "wb") as f:
                    f.write(raw)
        # gzip with a file name and a comment-free header, as the gzip module writes it.
        with open(os.path.join(refdir, f"{name}.gzmod.gz"), "wb") as f:
            with gzip.GzipFile(filename="named.txt", mode="wb", fileobj=f, mtime=1) as g:
                g.write(data)


def verify(outdir):
    manifest = [line.split() for line in open(os.path.join(outdir, "manifest.txt"))]
    have_gzip = shutil.which("gzip") is not None
    sizes = {}
    for name, level, n, gz_len in manifest:
        raw = open(os.path.join(outdir, name + ".raw"), "rb").read()
        path = os.path.join(outdir, f"{name}.{level}.gz")
        blob = open(path, "rb").read()
        check(len(raw) == int(n) and len(blob) == int(gz_len), f"{path}: sizes as the manifest says")
        try:
            ok = gzip.decompress(blob) == raw
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            ok = False
            print(f"    python gzip: {e}")
        check(ok, f"python gzip.decompress({name}.{level}.gz) == original")
        # zlib's own raw inflater on the deflate data alone (header and trailer stripped).
        try:
            ok = zlib.decompressobj(-15).decompress(blob[10:-8]) == raw
        except Exception as e:  # noqa: BLE001
            ok = False
            print(f"    zlib: {e}")
        check(ok, f"zlib raw inflate of {name}.{level}")
        if have_gzip:
            r = subprocess.run(["gzip", "-dc", path], capture_output=True)
            check(r.returncode == 0 and r.stdout == raw,
                  f"gzip -dc {name}.{level}.gz (exit {r.returncode}, {r.stderr.decode().strip()})")
        sizes[(name, int(level))] = (int(n), int(gz_len))
    if not have_gzip:
        print("  note: no gzip program on PATH; checked with Python's gzip/zlib only")

    print("  compression (bytes; ours vs Python zlib at the same level, gzip-wrapped):")
    print(f"    {'input':28} {'size':>9} {'L1':>9} {'zlib1':>9} {'L6':>9} {'zlib6':>9} {'L9':>9} {'zlib9':>9}  ratio6")
    for name in sorted({k[0] for k in sizes}):
        n = sizes[(name, 1)][0]
        raw = open(os.path.join(outdir, name + ".raw"), "rb").read()
        row = [f"    {name:28} {n:9d}"]
        for level in (1, 6, 9):
            ours = sizes[(name, level)][1]
            theirs = len(gzip.compress(raw, compresslevel=level, mtime=0))
            row.append(f"{ours:9d} {theirs:9d}")
            # Sensible ratio: on compressible inputs within 10% (+64 bytes) of zlib at the same level.
            if n >= 1000 and level in (6, 9):
                check(ours <= theirs * 1.10 + 64, f"{name} level {level}: {ours} bytes vs zlib {theirs}")
        ratio = n / sizes[(name, 6)][1] if sizes[(name, 6)][1] else 0
        print(" ".join(row) + f"  {ratio:6.2f}x")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("make-ref", "verify"):
        print(__doc__)
        return 2
    if sys.argv[1] == "make-ref":
        make_ref(sys.argv[2])
        return 0
    verify(sys.argv[2])
    print(f"check_gzip: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
