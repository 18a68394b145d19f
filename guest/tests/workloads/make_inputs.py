#!/usr/bin/env python3
"""Writes the A and B inputs of the workload functions to guest/functions/<name>/inputs/.

Deterministic: the same files every run (its own xorshift64* generator, the one snapfn_rng uses, so that no
library's random module is involved). The JPEG inputs (image, video, recognition) are made by
make_jpeg_inputs (a host build of the runtime's encoder) and are not written here.
Run from anywhere: python3 guest/tests/workloads/make_inputs.py"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASK = (1 << 64) - 1


class Rng:
    """snapfn_rng: xorshift64* (snapfn.h); run_tests.py uses it too."""

    def __init__(self, seed):
        self.state = seed or 0x9E3779B97F4A7C15

    def next(self):
        x = self.state
        x ^= x >> 12
        x ^= (x << 25) & MASK
        x ^= x >> 27
        self.state = x
        return (x * 0x2545F4914F6CDD1D) & MASK

    def below(self, n):
        return self.next() % n

    def double(self):
        return (self.next() >> 11) * (1.0 / 9007199254740992.0)

    def pick(self, seq):
        return seq[self.below(len(seq))]


WORDS = ("the of and to in is was that for on with as by at from snapshot memory page fault guest kernel "
         "function request cold start warm cache disk working set loading region record restore virtual "
         "machine serverless latency throughput invocation sandbox firecracker userfaultfd mincore").split()


def text(rng, length):
    """Pseudo-English, sentences of words with punctuation, exactly `length` ASCII characters."""
    out = []
    size = 0
    while size < length:
        words = [rng.pick(WORDS) for _ in range(4 + rng.below(12))]
        words[0] = words[0].capitalize()
        sentence = " ".join(words) + rng.pick([". ", ". ", ", ", "! ", "? ", ".\n"])
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:length]


NAMES = ["Ada", "Grace", "Edsger", "Barbara", "Ken", "Dennis", "Zoë", "Jürgen", "François", "Łukasz",
         "Søren", "Ἀριστοτέλης", "李白", "山田太郎", "Ольга", "محمد"]
TAGS = ["alpha", "beta", "gamma", "snap", "fn", "vm", "a/b", "quote\"d", "back\\slash", "tab\tbed",
        "new\nline", "emoji 😀", "music 𝄞", "ctl\u0001x", "bell\u0007", "euro €"]


def jstring(rng, s):
    """Writes s as a JSON string, choosing among the legal spellings so the parser sees every kind."""
    out = ['"']
    for ch in s:
        cp = ord(ch)
        r = rng.below(8)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "/":
            out.append("\\/" if r < 4 else "/")
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif cp < 0x20:
            out.append("\\u%04x" % cp)
        elif cp >= 0x10000 and r < 5:
            v = cp - 0x10000
            out.append("\\u%04X\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
        elif cp >= 0x80 and r < 3:
            out.append("\\u%04x" % cp)
        elif cp < 0x80 and ch.isalpha() and rng.below(64) == 0:
            out.append("\\u%04X" % cp)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def jnumber(rng):
    r = rng.below(6)
    if r == 0:
        return str(rng.below(1000000) - 500000)
    if r == 1:
        return "%d.%03d" % (rng.below(1000), rng.below(1000))
    if r == 2:
        return "-%d.%de%d" % (1 + rng.below(9), rng.below(100), rng.below(30) - 15)
    if r == 3:
        return "%dE+%d" % (1 + rng.below(9), rng.below(10))
    if r == 4:
        return "0"
    return "%d.5" % rng.below(100)


def record(rng, i, indent):
    """One record of an API-like response, pretty-printed with `indent` so compacting has work to do."""
    pad = " " * indent
    inner = " " * (indent + 2)
    tags = ", ".join(jstring(rng, rng.pick(TAGS)) for _ in range(rng.below(5)))
    scores = ", ".join(jnumber(rng) for _ in range(rng.below(6)))
    fields = [
        '"id": %d' % i,
        '"name": %s' % jstring(rng, rng.pick(NAMES) + " " + rng.pick(NAMES)),
        '"email": %s' % jstring(rng, "user%d@example.org" % rng.below(100000)),
        '"active": %s' % rng.pick(["true", "false"]),
        '"manager": %s' % rng.pick(["null", str(rng.below(i + 1))]),
        '"tags": [%s]' % tags,
        '"scores": [%s]' % scores,
        '"address": {"street": %s, "zip": %s, "geo": {"lat": %s, "lon": %s}}'
        % (jstring(rng, "%d %s Street" % (rng.below(999), rng.pick(NAMES))), jstring(rng, "%05d" % rng.below(99999)),
           jnumber(rng), jnumber(rng)),
        '"note": %s' % jstring(rng, text(rng, 10 + rng.below(60))),
        '"nested": %s' % ("[[], {}, [[1, [2, [3, {\"deep\": [true, false, null]}]]]]]" if rng.below(4) == 0 else "{}"),
    ]
    return pad + "{\n" + ",\n".join(inner + f for f in fields) + "\n" + pad + "}"


def document(rng, target):
    records = []
    size = 0
    i = 0
    while size < target:
        r = record(rng, i, 4)
        records.append(r)
        size += len(r.encode()) + 2
        i += 1
    return '{\n  "kind": "snapfn.users",\n  "version": 2,\n  "items": [\n' + ",\n".join(records) + "\n  ]\n}\n"


def write(name, filename, data):
    folder = os.path.join(ROOT, "functions", name, "inputs")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, filename), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    json_a = document(Rng(11), 13000)
    json_b = document(Rng(12), 148000)
    json.loads(json_a), json.loads(json_b)  # both must be valid JSON
    write("json", "a.json", json_a)
    write("json", "b.json", json_b)
    write("aes", "a.txt", text(Rng(21), 20000))
    write("aes", "b.txt", text(Rng(22), 22000))
    write("compression", "a.txt", text(Rng(31), 13000))
    write("compression", "b.json", json_b)
    write("read-list", "a.json", "")
    write("read-list", "b.json", "")
    write("mmap", "a.json", '{"size_mib":512}')
    write("mmap", "b.json", '{"size_mib":512}')
    write("html", "a.json", '{"rows":300,"cols":100,"seed":1}')
    write("html", "b.json", '{"rows":400,"cols":100,"seed":2}')
    write("matmul", "a.json", '{"n":2000,"seed":1}')
    write("matmul", "b.json", '{"n":2200,"seed":2}')
    write("pagerank", "a.json", '{"n":90000,"seed":1}')
    write("pagerank", "b.json", '{"n":100000,"seed":1}')


if __name__ == "__main__":
    main()
