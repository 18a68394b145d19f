"""py-read-list: the paper's "read a big list" workload in Python. init() builds a list of 13 421 772 distinct
int objects (about 512 MiB with the list's own array of pointers), so that it lands in the snapshot; every
request walks all of it in Python, which makes the whole list the request's working set.

Output: {"elements":N,"bytes":B,"checksum":"<16 hex digits>"} (README.md gives the formulas).
"""

import sys

COUNT = 13_421_772  # 40 bytes an element (an 8-byte pointer and a 32-byte int): 512 MiB
# Element i is TOP | (i * GOLDEN mod 2^59): multiplying by an odd constant is a bijection modulo 2^59, so the
# values are distinct, and TOP keeps them above the interpreter's cache of small ints and makes every one a
# 60-bit, two-digit int of 32 bytes.
GOLDEN = 0x9E3779B97F4A7C15
LOW = (1 << 59) - 1
TOP = 1 << 59
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1

values = []
approximate_bytes = 0


def init():
    global values, approximate_bytes
    values = [TOP | (i * GOLDEN) & LOW for i in range(COUNT)]
    # The list's array of pointers (with its over-allocation) and the int objects themselves.
    approximate_bytes = sys.getsizeof(values) + COUNT * sys.getsizeof(values[0])


def handle(request: bytes) -> bytes:
    # FNV-1a over the values in list order: a missing, repeated or reordered element changes it.
    h = FNV_OFFSET
    for v in values:
        h = (h ^ v) * FNV_PRIME & MASK64
    return f'{{"elements":{len(values)},"bytes":{approximate_bytes},"checksum":"{h:016x}"}}'.encode()
