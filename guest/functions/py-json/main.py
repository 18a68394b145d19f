"""py-json: the FunctionBench json workload. Every request parses a JSON document with json.loads and writes it
back compact with json.dumps (no whitespace, non-ASCII written raw).

Input: one JSON document in UTF-8. Output: the compact document in UTF-8 (README.md gives the exact form).
"""


def init():
    # The json package and its C accelerator (_json) load here, before the snapshot.
    global json
    import json


def handle(request: bytes) -> bytes:
    value = json.loads(request)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
