#!/usr/bin/env python3
"""Host tests of the Python shim (guest/python/snapfn_shim.py, protocol in guest/python/README.md).

Each test writes a function folder to a temporary directory, starts the shim on it with the host's python3 and one
end of a socketpair as fd 3, and plays the VMM's side of the protocol on the other end.
Usage: test_shim.py [unittest arguments]. Standard library only.
"""
import os
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = os.path.dirname(HERE)
GUEST = os.path.dirname(PYTHON)
SHIM = os.path.join(PYTHON, "snapfn_shim.py")
FIRST_IN_VM = 1
TIMEOUT = 20
# Debian 12's python3.11 is the guest's interpreter; another python3's site may import modules (random) that
# Debian's does not, which the FIRST_IN_VM test notices. SNAPFN_SHIM_PYTHON overrides.
SHIM_PYTHON = os.environ.get("SNAPFN_SHIM_PYTHON") or (
    "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable)

sys.dont_write_bytecode = True  # leave no __pycache__ in the checkout
sys.path.insert(0, PYTHON)
import snapfn_shim  # noqa: E402  (for the partial-write test, which runs write_frame in this process)


def le32(n):
    return n.to_bytes(4, "little")


class Drain:
    """Reads a pipe to its end in a thread, so a function that prints a lot never blocks on a full pipe."""

    def __init__(self, pipe):
        self.data = bytearray()
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.thread.start()

    def _run(self, pipe):
        while chunk := os.read(pipe.fileno(), 65536):
            with self.changed:
                self.data.extend(chunk)
                self.changed.notify_all()
        pipe.close()

    def wait_for(self, text):
        with self.changed:
            return self.changed.wait_for(lambda: text in self.data, TIMEOUT)

    def text(self):
        self.thread.join(TIMEOUT)
        return self.data.decode()


class Shim:
    """One shim process on a function folder, with the host's end of its fd 3; command is the interpreter and the shim
    (the Python shim on SHIM_PYTHON by default; guest/node/tests runs the Node shim through this class)."""

    def __init__(self, folder, command=None):
        host, guest = socket.socketpair()
        host.settimeout(TIMEOUT)
        guest_fd = guest.fileno()

        def become_fd3():
            # Runs in the child after fork: close_fds keeps fd 3 because it is in pass_fds below.
            if guest_fd != 3:
                os.dup2(guest_fd, 3)
                os.close(guest_fd)

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        self.process = subprocess.Popen([*(command or [SHIM_PYTHON, SHIM]), folder], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                        pass_fds=(guest_fd, 3) if guest_fd != 3 else (3,), preexec_fn=become_fd3)
        guest.close()
        self.sock = host
        self.stdout = Drain(self.process.stdout)
        self.stderr = Drain(self.process.stderr)

    def send(self, body, flags=0):
        self.sock.sendall(le32(len(body)) + le32(flags) + body)

    def recv_exact(self, n):
        chunks, got = [], 0
        while got < n:
            chunk = self.sock.recv(min(n - got, 1 << 20))
            if not chunk:
                raise AssertionError(f"fd 3 closed after {got} of {n} bytes; stderr: {self.stderr.data.decode()}")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def recv(self):
        """(status, body) of the next response frame."""
        header = self.recv_exact(8)
        status = int.from_bytes(header[:4], "little")
        length = int.from_bytes(header[4:], "little")
        return status, self.recv_exact(length)

    def call(self, body, flags=0):
        self.send(body, flags)
        return self.recv()

    def assert_channel_closed(self):
        self.sock.settimeout(TIMEOUT)
        rest = self.sock.recv(1)
        if rest:
            raise AssertionError(f"unexpected bytes on fd 3 after the last frame: {rest!r}")

    def finish(self):
        """Closes the host's end and returns (exit status, stdout, stderr)."""
        self.sock.close()
        code = self.process.wait(TIMEOUT)
        return code, self.stdout.text(), self.stderr.text()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(TIMEOUT)
        self.sock.close()


HELLO = """
    def handle(request):
        return b"hello " + request
    """

RANDOM = """
    import random

    def init():
        random.seed(1)

    def handle(request):
        return repr([random.random() for _ in range(4)]).encode()
    """


class ShimCase(unittest.TestCase):
    """What every language's shim tests share: read-only function folders in a temporary directory, shims started on
    them and killed at the end. A subclass sets MAIN (the main file's name) and COMMAND (None: the Python shim)."""

    MAIN = "main.py"
    COMMAND = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="snapfn-shim-test-")
        self.shims = []

    def tearDown(self):
        for shim in self.shims:
            shim.kill()
        for root, dirs, _ in os.walk(self.tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        os.chmod(self.tmp, 0o755)
        subprocess.run(["rm", "-rf", self.tmp], check=True)

    def function(self, source, extra=None):
        """A read-only function folder (like /function in the VM): MAIN = source, plus extra {name: text}."""
        folder = tempfile.mkdtemp(dir=self.tmp)
        files = {self.MAIN: source, **(extra or {})}
        for name, text in files.items():
            with open(os.path.join(folder, name), "w") as f:
                f.write(textwrap.dedent(text).lstrip("\n"))
        os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
        return folder

    def start(self, folder):
        shim = Shim(folder, self.COMMAND)
        self.shims.append(shim)
        return shim

    def run_once(self, source, body=b"", flags=0):
        shim = self.start(self.function(source))
        status, out = shim.call(body, flags)
        code, _, stderr = shim.finish()
        self.assertEqual(code, 0, stderr)
        return status, out

    def expect_init_failure(self, source, first_line, extra=None):
        """Asserts a status-2 frame whose first line is first_line, then exit 1; returns the whole text."""
        shim = self.start(self.function(source, extra))
        status, body = shim.recv()  # sent before any request: the shim never reaches the snapshot point
        text = body.decode()
        self.assertEqual(status, 2, text)
        self.assertEqual(text.splitlines()[0], first_line)
        shim.assert_channel_closed()
        code, _, stderr = shim.finish()
        self.assertEqual(code, 1, stderr)
        return text


class ShimTest(ShimCase):
    # ------------------------------------------------------------ requests

    def test_hello_answers_a_frame(self):
        self.assertEqual(self.run_once(HELLO, b"world"), (0, b"hello world"))

    def test_two_requests_in_a_row_and_an_empty_body(self):
        shim = self.start(self.function(HELLO))
        self.assertEqual(shim.call(b"one"), (0, b"hello one"))
        self.assertEqual(shim.call(b"two", FIRST_IN_VM), (0, b"hello two"))
        self.assertEqual(shim.call(b""), (0, b"hello "))
        code, stdout, stderr = shim.finish()
        self.assertEqual((code, stdout, stderr), (0, "", ""))

    def test_state_survives_between_requests(self):
        source = """
            count = 0

            def handle(request):
                global count
                count += 1
                return str(count).encode()
            """
        shim = self.start(self.function(source))
        self.assertEqual([shim.call(b"")[1] for _ in range(3)], [b"1", b"2", b"3"])

    def test_request_split_into_small_writes(self):
        # The shim must loop on os.read until it has the whole header and body.
        shim = self.start(self.function(HELLO))
        frame = le32(10) + le32(0) + b"0123456789"
        for piece in (frame[:3], frame[3:6], frame[6:11], frame[11:]):
            shim.sock.sendall(piece)
            time.sleep(0.05)
        self.assertEqual(shim.recv(), (0, b"hello 0123456789"))

    def test_bytearray_and_memoryview_results(self):
        source = """
            import array

            def handle(request):
                if request == b"bytearray":
                    return bytearray(b"ba")
                if request == b"view":
                    return memoryview(b"xxview")[2:]
                return memoryview(array.array("H", [0x4241, 0x4443]))  # 2 items, 4 bytes
            """
        shim = self.start(self.function(source))
        self.assertEqual(shim.call(b"bytearray"), (0, b"ba"))
        self.assertEqual(shim.call(b"view"), (0, b"view"))
        self.assertEqual(shim.call(b"array"), (0, b"ABCD"))

    def test_large_request_and_response(self):
        source = """
            import hashlib

            def handle(request):
                return hashlib.sha256(request).digest() + request[::-1]
            """
        import hashlib

        body = os.urandom(5 * 1024 * 1024)
        shim = self.start(self.function(source))
        status, out = shim.call(body)
        self.assertEqual(status, 0)
        self.assertEqual(len(out), 32 + len(body))
        self.assertEqual(out[:32], hashlib.sha256(body).digest())
        self.assertEqual(out[32:], body[::-1])
        self.assertEqual(shim.call(b"small")[0], 0)

    def test_unknown_flag_bits_are_ignored(self):
        shim = self.start(self.function(RANDOM))
        plain = self.run_once(RANDOM)
        self.assertEqual(shim.call(b"", 0xFFFFFFFE), plain)

    def test_output_on_stdout_and_stderr_stays_off_fd3(self):
        source = """
            import os, sys

            print("from import")

            def init():
                print("from init")

            def handle(request):
                print("x" * 100000)
                print("to stderr", file=sys.stderr)
                os.write(1, b"raw stdout\\n")
                sys.stdout.write("unflushed")
                return b"clean"
            """
        shim = self.start(self.function(source))
        # Output of import and init is flushed before the snapshot point, or every restored copy would print it
        # again: it must be readable before any request is sent.
        self.assertTrue(shim.stdout.wait_for(b"from init\n"), "init's output not flushed before the first request")
        self.assertEqual(bytes(shim.stdout.data), b"from import\nfrom init\n")
        self.assertEqual(shim.call(b""), (0, b"clean"))
        self.assertEqual(shim.call(b""), (0, b"clean"))
        code, stdout, stderr = shim.finish()
        self.assertEqual(code, 0, stderr)
        # "unflushed" went out before each response, ahead of the next request's prints.
        # print() is buffered and os.write is not, so their order differs; "unflushed" went out before each
        # response, ahead of the next request's prints.
        requests = stdout[len("from import\nfrom init\n"):]
        self.assertEqual(requests.count("raw stdout\n"), 2)
        self.assertEqual(requests.replace("raw stdout\n", ""), ("x" * 100000 + "\n" + "unflushed") * 2)
        self.assertEqual(stderr, "to stderr\nto stderr\n")

    def test_function_modules_import_from_the_folder_and_no_bytecode_is_written(self):
        folder = self.function("""
            import helper

            def handle(request):
                return helper.NAME.encode()
            """, {"helper.py": 'NAME = "helper"\n'})
        shim = self.start(folder)
        self.assertEqual(shim.call(b""), (0, b"helper"))
        self.assertEqual(sorted(os.listdir(folder)), ["helper.py", "main.py"])

    def test_shim_folder_is_not_on_the_path(self):
        # guest/python/tests must not shadow a user's `tests` or `snapfn_shim` lookups.
        source = """
            import sys

            def handle(request):
                return repr([p for p in sys.path if "guest/python" in p]).encode()
            """
        self.assertEqual(self.run_once(source), (0, b"[]"))

    # ------------------------------------------------------------ FIRST_IN_VM

    def test_first_in_vm_reseeds_random(self):
        # Two processes with random.seed(1) in init stand for two copies restored from one snapshot.
        status_a, a = self.run_once(RANDOM)
        status_b, b = self.run_once(RANDOM)
        status_c, c = self.run_once(RANDOM, flags=FIRST_IN_VM)
        status_d, d = self.run_once(RANDOM, flags=FIRST_IN_VM)
        self.assertEqual((status_a, status_b, status_c, status_d), (0, 0, 0, 0))
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertNotEqual(c, d)

    def test_first_in_vm_does_not_import_random(self):
        source = """
            import sys

            def handle(request):
                return str("random" in sys.modules).encode()
            """
        self.assertEqual(self.run_once(source, flags=FIRST_IN_VM), (0, b"False"))

    # ------------------------------------------------------------ handler failures

    def test_handle_raising_gives_status_1_and_the_vm_stays_usable(self):
        source = """
            def fail(request):
                raise ValueError("bad request: " + request.decode())

            def handle(request):
                if request.startswith(b"fail"):
                    fail(request)
                if request == b"exit":
                    raise SystemExit(3)
                return b"ok"
            """
        shim = self.start(self.function(source))
        status, body = shim.call(b"fail now")
        text = body.decode()
        self.assertEqual(status, 1)
        lines = text.splitlines()
        self.assertEqual(lines[0], "handle() raised ValueError: bad request: fail now (main.py line 2)")
        self.assertEqual(len(lines), 1 + 5)
        self.assertEqual(lines[-1], "ValueError: bad request: fail now")
        self.assertIn('main.py", line 2, in fail', text)
        self.assertNotIn("snapfn_shim.py", text)
        self.assertEqual(shim.call(b"after"), (0, b"ok"))
        status, body = shim.call(b"exit")
        self.assertEqual((status, body.decode().splitlines()[0]), (1, "handle() raised SystemExit: 3 (main.py line 8)"))
        self.assertEqual(shim.call(b"after"), (0, b"ok"))
        self.assertEqual(shim.finish()[0], 0)

    def test_handle_returning_str(self):
        source = """
            def handle(request):
                return "text"
            """
        self.assertEqual(self.run_once(source), (1, b"handle() returned str, not bytes: encode it (e.g. .encode())"))

    def test_handle_returning_none(self):
        source = """
            def handle(request):
                request.upper()
            """
        status, body = self.run_once(source)
        self.assertEqual(status, 1)
        self.assertTrue(body.startswith(b"handle() returned NoneType, not bytes"), body)

    def test_handle_returning_another_type_names_it(self):
        source = """
            class Reply:
                pass

            def handle(request):
                return {"a": 1} if request else Reply()
            """
        shim = self.start(self.function(source))
        self.assertEqual(shim.call(b"x"),
                         (1, b"handle() returned dict, not bytes: return bytes, bytearray or memoryview"))
        self.assertEqual(shim.call(b""),
                         (1, b"handle() returned Reply, not bytes: return bytes, bytearray or memoryview"))

    # ------------------------------------------------------------ load and init failures

    def test_syntax_error_gives_status_2_naming_the_line(self):
        source = """
            def handle(request):
                return b"ok"
            def broken(:
                pass
            """
        text = self.expect_init_failure(source, "init failed: SyntaxError: invalid syntax (main.py line 3)")
        self.assertIn("def broken(:", text)
        self.assertLessEqual(len(text.splitlines()), 1 + 5)

    def test_syntax_error_in_a_function_module_names_that_file(self):
        self.expect_init_failure("import helper\n", "init failed: SyntaxError: invalid syntax (helper.py line 1)",
                                 {"helper.py": "x = = 1\n"})

    def test_import_error(self):
        self.expect_init_failure("import no_such_module_here\n",
                                 "init failed: ModuleNotFoundError: No module named 'no_such_module_here' (main.py line 1)")

    def test_init_raising_gives_status_2(self):
        source = """
            def init():
                load_model()

            def load_model():
                raise RuntimeError("model file missing")

            def handle(request):
                return b"ok"
            """
        text = self.expect_init_failure(source, "init failed: RuntimeError: model file missing (main.py line 5)")
        lines = text.splitlines()
        self.assertEqual(len(lines), 1 + 5)
        self.assertEqual(lines[-1], "RuntimeError: model file missing")
        self.assertNotIn("snapfn_shim.py", text)

    def test_init_calling_exit_gives_status_2(self):
        source = """
            import sys

            def init():
                sys.exit("no config")

            def handle(request):
                return b"ok"
            """
        self.expect_init_failure(source, "init failed: SystemExit: no config (main.py line 4)")

    def test_missing_handle_gives_status_2(self):
        self.assertEqual(self.expect_init_failure("def init():\n    pass\n",
                                                  "init failed: main.py defines no handle(request) function"),
                         "init failed: main.py defines no handle(request) function")

    def test_handle_that_is_not_callable_gives_status_2(self):
        self.expect_init_failure("handle = 42\n",
                                 "init failed: main.py defines no handle(request) function (handle is a int)")

    def test_missing_main_py_gives_status_2(self):
        folder = tempfile.mkdtemp(dir=self.tmp)
        shim = self.start(folder)
        self.assertEqual(shim.recv(), (2, f"init failed: {folder} holds no main.py".encode()))
        self.assertEqual(shim.finish()[0], 1)

    def test_handle_defined_by_init_is_used(self):
        source = """
            def init():
                global handle
                handle = lambda request: b"made by init"
            """
        self.assertEqual(self.run_once(source), (0, b"made by init"))

    # ------------------------------------------------------------ end of the channel

    def test_eof_on_fd3_exits_0(self):
        shim = self.start(self.function(HELLO))
        self.assertEqual(shim.finish(), (0, "", ""))

    def test_eof_after_requests_exits_0(self):
        shim = self.start(self.function(HELLO))
        shim.call(b"a")
        shim.sock.shutdown(socket.SHUT_WR)
        shim.assert_channel_closed()
        self.assertEqual(shim.finish(), (0, "", ""))

    def test_eof_inside_a_frame_exits_1(self):
        shim = self.start(self.function(HELLO))
        shim.sock.sendall(le32(100) + le32(0) + b"only part")
        shim.sock.shutdown(socket.SHUT_WR)
        code, _, stderr = shim.finish()
        self.assertEqual(code, 1)
        self.assertIn("fd 3 ended in the middle of a request frame (9 of 100 bytes)", stderr)

    # ------------------------------------------------------------ the examples

    def test_py_hello_world(self):
        shim = self.start(os.path.join(GUEST, "functions", "py-hello-world"))
        self.assertEqual(shim.call(b"", FIRST_IN_VM), (0, b"Hello, World!"))
        self.assertEqual(shim.call(b'{"name": "Ada"}'), (0, b"Hello, Ada!"))
        self.assertEqual(shim.call('{"name": "Zoë"}'.encode()), (0, "Hello, Zoë!".encode()))
        self.assertEqual(shim.call(b"{}"), (0, b"Hello, World!"))
        self.assertEqual(shim.finish(), (0, "", ""))

    def test_template(self):
        shim = self.start(os.path.join(PYTHON, "template"))
        self.assertEqual(shim.call(b'{"name": "Ada"}', FIRST_IN_VM)[0], 0)
        status, body = shim.call(b"")
        self.assertEqual(status, 0)
        self.assertIn(b"world", body)
        self.assertEqual(shim.finish()[0], 0)


class WriteFrameTest(unittest.TestCase):
    def test_partial_writes_are_continued(self):
        written = bytearray()
        calls = []

        def short_write(fd, data):
            self.assertEqual(fd, 3)
            calls.append(len(data))
            piece = bytes(data[:1000])
            written.extend(piece)
            return len(piece)

        body = bytes(range(256)) * 20
        with mock.patch("os.write", short_write):
            snapfn_shim.write_frame(1, body)
        self.assertEqual(bytes(written), le32(1) + le32(len(body)) + body)
        self.assertEqual(calls[0], 8 + len(body))  # header and body offered in one call
        self.assertEqual(len(calls), (8 + len(body) + 999) // 1000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
