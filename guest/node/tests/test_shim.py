#!/usr/bin/env python3
"""Host tests of the Node.js shim (guest/node/snapfn_shim.js, protocol in guest/python/README.md).

Runs the shim on Debian's node from the node runtime's root (`./snapfn runtimes --build node`), never the host's:
run-node.sh chroots into a copy of the root's tree in a private mount namespace (Debian's node loads some of its
built-in modules from /usr/share/nodejs, so the root must be /), so nothing is installed on the host. Each test writes a function folder to a temporary directory, starts the shim on it with one
end of a socketpair as fd 3 (the Python shim's test harness, guest/python/tests), and plays the VMM's side.
Usage: test_shim.py [unittest arguments]. SNAPFN_NODE_ROOT names the root's tree; else it is looked up under
$SNAPFN_HOME (default ~/.local/share/snapfn). Standard library only.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.dirname(HERE)
GUEST = os.path.dirname(NODE_DIR)
SHIM = os.path.join(NODE_DIR, "snapfn_shim.js")
FIRST_IN_VM = 1

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(GUEST, "python", "tests"))
from test_shim import ShimCase  # noqa: E402  (one harness for every language's shim)


def find_root():
    """The node runtime's root tree (requested: exactly nodejs), or None."""
    configured = os.environ.get("SNAPFN_NODE_ROOT")
    if configured:
        return configured
    home = os.environ.get("SNAPFN_HOME") or os.path.expanduser("~/.local/share/snapfn")
    for manifest in sorted(glob.glob(os.path.join(home, "roots", "*", "manifest.json"))):
        try:
            with open(manifest) as f:
                if json.load(f).get("requested") == ["nodejs"]:
                    return os.path.join(os.path.dirname(manifest), "root")
        except (OSError, ValueError):
            continue
    return None


ROOT = find_root()


RUN_NODE = os.path.join(HERE, "run-node.sh")


def node_command():
    """The root's node in a chroot of the root (run-node.sh), the shim on the folder the harness appends."""
    return [RUN_NODE, ROOT] if ROOT else None


@unittest.skipIf(ROOT is None, "the node runtime's root is not built: run `./snapfn runtimes --build node` first")
@unittest.skipIf(os.geteuid() != 0, "run-node.sh needs root (a mount namespace and chroot into the node root)")
class NodeShimTest(ShimCase):
    MAIN = "index.js"
    COMMAND = node_command()

    def test_it_is_debians_node_18(self):
        out = subprocess.run([RUN_NODE, ROOT, "--", "-p", "process.version"], capture_output=True, text=True, check=True)
        self.assertTrue(out.stdout.startswith("v18."), out.stdout)

    def test_hello_answers_frames_and_keeps_state(self):
        shim = self.start(self.function("""
            let count = 0;
            exports.init = () => { count = 100; };
            exports.handle = (request) => Buffer.from(`${++count} ${request}`);
            """))
        self.assertEqual(shim.call(b"a"), (0, b"101 a"))
        self.assertEqual(shim.call(b""), (0, b"102 "))
        code, _, stderr = shim.finish()
        self.assertEqual(code, 0, stderr)

    def test_async_init_and_a_promise_from_handle(self):
        source = """
            let ready = false;
            exports.init = async () => { await new Promise((r) => setTimeout(r, 5)); ready = true; };
            exports.handle = async (request) => {
              await new Promise((r) => setImmediate(r));
              return new Uint8Array([ready ? 1 : 0, request.length]);
            };
            """
        self.assertEqual(self.run_once(source, b"xyz"), (0, bytes([1, 3])))

    def test_uint8array_arraybuffer_and_views(self):
        source = """
            exports.handle = (request) => {
              const kind = request.toString();
              if (kind === 'ab') return new Uint8Array([1, 2, 3]).buffer;
              if (kind === 'view') return new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2);
              return new Uint16Array([0x0201]);
            };
            """
        shim = self.start(self.function(source))
        self.assertEqual(shim.call(b"ab"), (0, b"\x01\x02\x03"))
        self.assertEqual(shim.call(b"view"), (0, b"\x08\x07"))
        self.assertEqual(shim.call(b"u16"), (0, b"\x01\x02"))
        shim.finish()

    def test_large_request_and_response(self):
        source = "exports.handle = (request) => Buffer.concat([request, request]);"
        body = os.urandom(5 << 20)
        self.assertEqual(self.run_once(source, body), (0, body + body))

    def test_request_split_into_small_writes(self):
        shim = self.start(self.function("exports.handle = (r) => r;"))
        frame = (3).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"abc"
        for i in range(len(frame)):
            shim.sock.sendall(frame[i:i + 1])
        self.assertEqual(shim.recv(), (0, b"abc"))
        shim.finish()

    def test_output_stays_off_fd3(self):
        shim = self.start(self.function("""
            console.log('loaded');
            exports.handle = (r) => { console.log('handling'); console.error('err'); return r; };
            """))
        self.assertEqual(shim.call(b"x"), (0, b"x"))
        code, stdout, stderr = shim.finish()
        self.assertEqual(code, 0, stderr)
        self.assertEqual(stdout, "loaded\nhandling\n")
        self.assertEqual(stderr, "err\n")

    def test_first_in_vm_reseeds_math_random(self):
        source = "exports.handle = () => Buffer.from(String(Math.random()));"
        first = self.run_once(source, flags=FIRST_IN_VM)
        second = self.run_once(source, flags=FIRST_IN_VM)
        self.assertEqual(first[0], 0)
        self.assertNotEqual(first, second)
        value = float(first[1])
        self.assertTrue(0 <= value < 1, value)

    def test_function_modules_require_from_the_folder(self):
        source = "const helper = require('./helper'); exports.handle = () => Buffer.from(helper.name);"
        shim = self.start(self.function(source, {"helper.js": "exports.name = 'helper';"}))
        self.assertEqual(shim.call(b""), (0, b"helper"))
        shim.finish()

    def test_handle_throwing_gives_status_1_names_the_line_and_the_vm_stays_usable(self):
        shim = self.start(self.function("""
            exports.handle = (request) => {
              if (request.length) throw new TypeError('bad input');
              return Buffer.from('ok');
            };
            """))
        status, body = shim.call(b"x")
        lines = body.decode().splitlines()
        self.assertEqual(status, 1)
        self.assertEqual(lines[0], "handle() raised TypeError: bad input (index.js line 2)")
        self.assertTrue(lines[1].strip().startswith("at "), lines)
        self.assertNotIn("snapfn_shim", body.decode())
        self.assertEqual(shim.call(b""), (0, b"ok"))
        shim.finish()

    def test_a_rejected_promise_and_a_thrown_string(self):
        shim = self.start(self.function("""
            exports.handle = async (request) => {
              if (request.length) throw 'plain';
              throw new RangeError('async');
            };
            """))
        self.assertEqual(shim.call(b"x"), (1, b"handle() raised string thrown: plain"))
        status, body = shim.call(b"")
        self.assertEqual(status, 1)
        self.assertEqual(body.decode().splitlines()[0], "handle() raised RangeError: async (index.js line 3)")
        shim.finish()

    def test_results_that_are_not_bytes(self):
        shim = self.start(self.function("exports.handle = (r) => ({s: 'text', u: undefined, n: null, o: {a: 1}})[r.toString()];"))
        self.assertEqual(shim.call(b"s"), (1, b"handle() returned string, not a Buffer: encode it (e.g. Buffer.from(text))"))
        self.assertEqual(shim.call(b"u")[1].decode(), "handle() returned undefined, not a Buffer: is a return statement "
                                                       "missing? (return Buffer.alloc(0) for an empty response)")
        self.assertEqual(shim.call(b"n")[1].decode()[:29], "handle() returned null, not a")
        self.assertEqual(shim.call(b"o"), (1, b"handle() returned Object, not a Buffer: return a Buffer, a Uint8Array "
                                              b"or an ArrayBuffer"))
        shim.finish()

    def test_syntax_error_gives_status_2_naming_the_line(self):
        self.expect_init_failure("exports.handle = (r) => r;\nlet = = 3;\n",
                                 "init failed: SyntaxError: Unexpected token '=' (index.js line 2)")

    def test_init_throwing_and_rejecting_give_status_2(self):
        text = self.expect_init_failure("""
            exports.init = () => { load(); };
            function load() { throw new Error('no model'); }
            exports.handle = (r) => r;
            """, "init failed: Error: no model (index.js line 2)")
        self.assertIn("at load", text)
        self.expect_init_failure("exports.init = async () => { throw new Error('late'); };\nexports.handle = (r) => r;",
                                 "init failed: Error: late (index.js line 1)")

    def test_missing_or_wrong_exports_give_status_2(self):
        self.expect_init_failure("exports.nothing = 1;", "init failed: index.js exports no handle(request) function")
        self.expect_init_failure("exports.handle = 3;",
                                 "init failed: index.js exports no handle(request) function (handle is a number)")
        self.expect_init_failure("exports.init = 'x'; exports.handle = (r) => r;",
                                 "init failed: exports.init is a string, not a function")

    def test_handle_set_by_init_is_used(self):
        source = "exports.init = () => { exports.handle = () => Buffer.from('late'); };"
        self.assertEqual(self.run_once(source), (0, b"late"))

    def test_missing_index_js(self):
        folder = tempfile.mkdtemp(dir=self.tmp)
        shim = self.start(folder)
        status, body = shim.recv()
        self.assertEqual((status, body.decode()), (2, "init failed: /function holds no index.js"))
        self.assertEqual(shim.finish()[0], 1)

    def test_eof_exits_0_even_with_a_timer_left_running(self):
        shim = self.start(self.function("setInterval(() => {}, 1000); exports.handle = (r) => r;"))
        self.assertEqual(shim.call(b"a"), (0, b"a"))
        self.assertEqual(shim.finish()[0], 0)

    def test_eof_inside_a_frame_exits_1(self):
        shim = self.start(self.function("exports.handle = (r) => r;"))
        shim.sock.sendall((10).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"abc")
        code, _, stderr = shim.finish()
        self.assertEqual(code, 1)
        self.assertIn("fd 3 ended in the middle of a request frame", stderr)

    def test_node_hello_world_and_node_json(self):
        shim = self.start(os.path.join(GUEST, "functions", "node-hello-world"))
        self.assertEqual(shim.call(b'{"name": "Ada"}'), (0, b"Hello, Ada!"))
        shim.finish()
        shim = self.start(os.path.join(GUEST, "functions", "node-json"))
        status, body = shim.call(b'{"a": [1, 2, {"b": "c"}], "d": 1.5}')
        self.assertEqual(status, 0, body)
        self.assertEqual(json.loads(body), {"a": [1, 2, {"b": "c"}], "d": 1.5})
        shim.finish()

    def test_template(self):
        shim = self.start(os.path.join(NODE_DIR, "template"))
        self.assertEqual(shim.call(b'{"name": "Ada"}'), (0, b"Hello, Ada!"))
        self.assertEqual(shim.call(b""), (0, b"Hello, world!"))
        shim.finish()


if __name__ == "__main__":
    unittest.main()
