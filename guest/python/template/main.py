"""A Snapfn function in Python.

init() runs once, before the snapshot is taken: do the expensive set-up there (imports, tables, models), and
every invocation starts with it done. handle() runs once per request: it gets the request body as bytes and
returns the response body as bytes (a str is refused: encode it). An exception fails that request only.
print() goes to the function's log, never into the response. Python 3.11 and its standard library are there.

Register: `snapfn deploy .` (there is nothing to build). Then `snapfn snapshot NAME` and
`snapfn invoke NAME --input-text '{"name":"Ada"}'`.
"""

greeting = ""


def init():
    # Everything done here is in the snapshot: import heavy modules here or at the top of the file.
    global greeting, json
    import json
    greeting = "Hello"


def handle(request: bytes) -> bytes:
    name = "world"
    if request.strip():
        name = json.loads(request).get("name", name)
    return f"{greeting}, {name}!".encode()
