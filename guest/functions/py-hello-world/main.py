"""py-hello-world: the built-in Python function. Greets {"name": ...}; an empty request greets the World.

Run by guest/python/snapfn_shim.py: init() once before the snapshot, handle() once per request.
"""


def init():
    # Imported before the snapshot point, so no request pays for loading json.
    global json
    import json


def handle(request: bytes) -> bytes:
    name = "World"
    if request.strip():
        fields = json.loads(request)
        if not isinstance(fields, dict):
            raise ValueError('the request must be a JSON object such as {"name": "Ada"}, or empty')
        name = fields.get("name", name)
    return f"Hello, {name}!".encode()
