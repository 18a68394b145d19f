"""py-mmap: the paper's "map a big buffer and touch it" workload in Python. Nothing is built in init() beyond
imports: every page a request writes is new anonymous memory from Python's mmap module, unmapped again before
the response.

Input: {"size_mib":N}. Output: {"size_mib":N,"pages":P,"checksum":"<16 hex digits>"} (README.md gives the formulas).
"""

PAGE = 4096
MAX_MIB = 1536
GOLDEN = 0x9E3779B97F4A7C15
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1


def init():
    global json, mmap
    import json
    import mmap


def page_byte(p: int) -> int:
    # The top byte of (p + 1) * GOLDEN, made odd so that no written byte is 0 like an untouched page's.
    return (((p + 1) * GOLDEN & MASK64) >> 56) | 1


def handle(request: bytes) -> bytes:
    fields = json.loads(request) if request.strip() else None
    mib = fields.get("size_mib") if isinstance(fields, dict) else None
    if type(mib) is not int or not 1 <= mib <= MAX_MIB:
        raise ValueError(f'expected input {{"size_mib":N}} with N an integer in 1..{MAX_MIB}, got {request[:80]!r}')
    size = mib << 20
    pages = size // PAGE
    buffer = mmap.mmap(-1, size)  # anonymous: MAP_SHARED | MAP_ANONYMOUS, read and write
    try:
        # One byte per page, at a different offset in each page, so every page is written (and faulted in).
        for p in range(pages):
            buffer[p * PAGE + p % PAGE] = page_byte(p)
        h = FNV_OFFSET
        for p in range(pages):
            h = (h ^ buffer[p * PAGE + p % PAGE]) * FNV_PRIME & MASK64
    finally:
        buffer.close()
    return f'{{"size_mib":{mib},"pages":{pages},"checksum":"{h:016x}"}}'.encode()
