"""py-compression: the FunctionBench compression workload, made deterministic. Every request gzips its input
with Python's gzip module (zlib's deflate) at compression level 9.

Input: any bytes. Output: one gzip member (RFC 1952); README.md gives its header.
"""


def init():
    global gzip
    import gzip


def handle(request: bytes) -> bytes:
    # mtime=0 and no file name: the same input always gives the same bytes.
    return gzip.compress(request, compresslevel=9, mtime=0)
