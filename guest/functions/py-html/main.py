"""py-html: the FunctionBench chameleon workload. init() compiles a Chameleon page template (into Python code
held in memory); every request makes a table of rows x cols cells from the input's seed and renders it to HTML.

Input: {"rows":R,"cols":C,"seed":S}. Output: the HTML page in UTF-8 (README.md gives the cells and the layout).
"""

TEMPLATE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>${title}</title>
</head>
<body>
<table>
<tr tal:repeat="row rows">
<td tal:repeat="cell row">${cell}</td>
</tr>
</table>
</body>
</html>
"""

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 &<>\"'"  # 68 characters
# Byte b becomes ALPHABET[b % 68]: one bytes.translate per cell instead of a Python loop per character.
CHARACTERS = bytes(ord(ALPHABET[b % len(ALPHABET)]) for b in range(256))
MASK64 = (1 << 64) - 1
MAX_ROWS, MAX_COLS, MAX_CELLS, MAX_SEED = 100_000, 10_000, 4_000_000, (1 << 21) - 1

template = None


def init():
    global json, template
    import json

    from chameleon import PageTemplate

    template = PageTemplate(TEMPLATE)  # parses and compiles here


def mix64(z: int) -> int:
    """The SplitMix64 finaliser (WORKLOADS.md's mix64)."""
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & MASK64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & MASK64
    return z ^ (z >> 31)


def cell(seed: int, index: int) -> str:
    v = mix64((seed * 1000003 + index) & MASK64)
    # 1 to 8 characters, character k from byte k of v (least significant first).
    return v.to_bytes(8, "little").translate(CHARACTERS)[: 1 + (v >> 61)].decode("ascii")


def parameter(fields: dict, name: str, top: int) -> int:
    value = fields.get(name)
    if type(value) is not int or not 0 <= value <= top:
        raise ValueError(f'"{name}" must be an integer in 0..{top}, got {value!r}')
    return value


def handle(request: bytes) -> bytes:
    fields = json.loads(request) if request.strip() else None
    if not isinstance(fields, dict):
        raise ValueError('expected input {"rows":R,"cols":C,"seed":S}')
    rows = parameter(fields, "rows", MAX_ROWS)
    cols = parameter(fields, "cols", MAX_COLS)
    seed = parameter(fields, "seed", MAX_SEED)
    if rows * cols > MAX_CELLS:
        raise ValueError(f"rows * cols must be at most {MAX_CELLS}, got {rows * cols}")
    table = [[cell(seed, r * cols + c) for c in range(cols)] for r in range(rows)]
    title = f"Snapfn table: {rows} rows & {cols} columns, seed {seed}"
    return template.render(title=title, rows=table).encode()
