"""Snapfn's Python shim: serves a function folder's main.py over the invocation channel on fd 3.

Run as `python3 /snapfn/python/snapfn_shim.py /function`. It imports main, runs main.init() if there is one,
then answers request frames with main.handle(request). Its first read of fd 3 is the snapshot point: the VMM
stops the VM there, so everything before it is done once, and every restored copy starts just after it.
README.md beside this file holds the frame formats and the error texts.

Only os and sys at start (the interpreter has loaded both already); traceback is imported when an error needs
formatting, never on the path of a request that succeeds.
"""
import os
import sys

CHANNEL = 3
FIRST_IN_VM = 1
STATUS_OK = 0
STATUS_HANDLER_FAILED = 1
STATUS_INIT_FAILED = 2
TRACEBACK_LINES = 5
MAX_FRAME_BODY = 0xFFFFFFFF


class ChannelClosed(Exception):
    """fd 3 ended in the middle of a frame, or the host stopped reading: there is nobody left to answer."""


def read_exact(n):
    """Reads exactly n bytes from fd 3; b"" if it is at end of file before the first byte."""
    # The first call of a process is the snapshot point, so nothing may run between it and the caller's check.
    chunk = os.read(CHANNEL, n)
    if len(chunk) == n or not chunk:
        return chunk
    chunks = [chunk]
    got = len(chunk)
    while got < n:
        chunk = os.read(CHANNEL, n - got)
        if not chunk:
            raise ChannelClosed(f"fd 3 ended in the middle of a request frame ({got} of {n} bytes)")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_frame(status, body):
    """Writes one response frame, header and body in one os.write when the channel takes it all."""
    frame = b"".join((status.to_bytes(4, "little"), len(body).to_bytes(4, "little"), body))
    try:
        written = os.write(CHANNEL, frame)
        if written < len(frame):
            view = memoryview(frame)
            while written < len(frame):
                written += os.write(CHANNEL, view[written:])
    except OSError as e:
        raise ChannelClosed(f"writing a response to fd 3 failed: {e}") from e


def write_error(status, text):
    write_frame(status, text.encode("utf-8", "backslashreplace"))


def flush_std():
    # Output still buffered at the snapshot point would be in every restored copy and printed again by each; after
    # a request, the host may stop the VM as soon as it has the response, so logs go out before it.
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # the user's code closed or replaced the stream: its output is its own affair
            pass


def describe(e):
    """"Type: message" for an exception, robust to a __str__ that fails."""
    name = type(e).__qualname__
    try:
        message = e.msg if isinstance(e, SyntaxError) and e.msg else str(e)
    except Exception:
        message = "(the exception's message could not be formatted)"
    return f"{name}: {message}" if message else name


def user_location(e, folder):
    """' (main.py line N)': the innermost place in the function's own files that the error points at, or ''."""
    prefix = os.path.join(folder, "")
    if isinstance(e, SyntaxError) and e.filename and e.lineno and e.filename.startswith(prefix):
        return f" ({e.filename[len(prefix):]} line {e.lineno})"
    found = ""
    tb = e.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(prefix):
            found = f" ({filename[len(prefix):]} line {tb.tb_lineno})"
        tb = tb.tb_next
    return found


def traceback_tail(e):
    """The last TRACEBACK_LINES lines of e's traceback, without the shim's own frames."""
    try:
        import traceback

        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        lines = "".join(traceback.format_exception(type(e), e, tb)).splitlines()
        return "\n".join(lines[-TRACEBACK_LINES:])
    except Exception:  # MemoryError, RecursionError, a broken __str__: the headline alone must still go out
        return ""


def error_text(headline, e, folder):
    tail = traceback_tail(e)
    headline += describe(e) + user_location(e, folder)
    return f"{headline}\n{tail}" if tail else headline


def load(folder):
    """Imports main and runs init(); returns handle, or None after sending the status-2 frame."""
    if not os.path.isfile(os.path.join(folder, "main.py")):
        write_error(STATUS_INIT_FAILED, f"init failed: {folder} holds no main.py")
        return None
    # The shim's folder is sys.path[0]; the user's folder replaces it, so `import main` (and the function's own
    # modules) resolve there first and never to the shim's files.
    shim_folder = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [folder] + [p for p in sys.path if os.path.abspath(p or ".") != shim_folder]
    # /function is read-only: do not try (and fail) to write __pycache__ there on every boot.
    sys.dont_write_bytecode = True
    try:
        import main

        init = getattr(main, "init", None)
        if init is not None:
            if not callable(init):
                write_error(STATUS_INIT_FAILED,
                            f"init failed: main.init is a {type(init).__qualname__}, not a function")
                return None
            init()
    except BaseException as e:  # SystemExit and KeyboardInterrupt included: the host still needs its frame
        write_error(STATUS_INIT_FAILED, error_text("init failed: ", e, folder))
        return None
    # Looked up after init(), which may define handle itself.
    handle = getattr(main, "handle", None)
    if not callable(handle):
        text = "init failed: main.py defines no handle(request) function"
        if handle is not None:
            text += f" (handle is a {type(handle).__qualname__})"
        write_error(STATUS_INIT_FAILED, text)
        return None
    return handle


def reseed_random():
    # Every copy restored from one snapshot starts with the snapshot's generator states, so without this they would
    # all draw the same "random" numbers. A module imported after the snapshot point seeds itself in its own VM,
    # so only one that is already loaded needs it; the shim imports neither itself.
    # - `random`: seeded from the kernel.
    # - OpenSSL's generators (ssl, and libraries on the same libcrypto such as Debian's cryptography): RAND_add
    #   reseeds the primary one from the kernel, and each thread's generator reseeds from it at its next draw.
    #   Python's os.urandom and secrets read the kernel at every call and need nothing.
    module = sys.modules.get("random")
    if module is not None:
        module.seed(os.urandom(32))
    if "_ssl" in sys.modules or any(name == "cryptography" or name.startswith("cryptography.") for name in sys.modules):
        import _ssl
        _ssl.RAND_add(os.urandom(32), 32.0)


def result_error(result):
    """The status-1 text for a handle() result that is not bytes-like."""
    if isinstance(result, str):
        return "handle() returned str, not bytes: encode it (e.g. .encode())"
    if result is None:
        return "handle() returned NoneType, not bytes: is a return statement missing? (return b\"\" for an empty response)"
    name = type(result).__qualname__
    module = type(result).__module__
    if module not in ("builtins", "main"):
        name = f"{module}.{name}"
    return f"handle() returned {name}, not bytes: return bytes, bytearray or memoryview"


def serve(handle, folder):
    reseed_pending = False
    while True:
        header = read_exact(8)
        if not header:
            return
        length = int.from_bytes(header[0:4], "little")
        flags = int.from_bytes(header[4:8], "little")
        request = read_exact(length) if length else b""
        if length and len(request) < length:
            raise ChannelClosed(f"fd 3 ended in the middle of a request frame (0 of {length} body bytes)")
        if flags & FIRST_IN_VM:
            reseed_pending = True
        if reseed_pending:
            try:
                reseed_random()
                reseed_pending = False
            except Exception as e:  # kept pending: no request in this VM may run on the snapshot's shared state
                flush_std()
                write_error(STATUS_HANDLER_FAILED, f"re-seeding random and OpenSSL from the kernel failed: {describe(e)}")
                continue
        try:
            result = handle(request)
            if isinstance(result, (bytes, bytearray)):
                status, body = STATUS_OK, result
            elif isinstance(result, memoryview):
                status, body = STATUS_OK, result.tobytes()
            else:
                status, body = STATUS_HANDLER_FAILED, result_error(result).encode()
            if len(body) > MAX_FRAME_BODY:
                status, body = STATUS_HANDLER_FAILED, (
                    f"handle() returned {len(body)} bytes, more than a frame can carry (4 GiB - 1)").encode()
        except BaseException as e:  # SystemExit included: a handler's failure must never end the VM
            status, body = STATUS_HANDLER_FAILED, error_text("handle() raised ", e, folder).encode(
                "utf-8", "backslashreplace")
        # Do not keep this request or its response alive (5 MB each, say) while waiting for the next one.
        request = result = None
        flush_std()
        write_frame(status, body)
        body = None


def main():
    if len(sys.argv) != 2:
        print("usage: python3 snapfn_shim.py FUNCTION_FOLDER (the folder that holds main.py)", file=sys.stderr)
        return 2
    folder = os.path.abspath(sys.argv[1])
    try:
        handle = load(folder)
        flush_std()
        if handle is None:
            return 1
        serve(handle, folder)
        return 0
    except ChannelClosed as e:
        flush_std()
        print(f"snapfn shim: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
