# Runs one CPython regression-test module for scripts/yardstick, the same way on the host and in the VM:
#
#   python3 -c "$(cat yardstick-driver.py)" MODULE OUT_OF_SCOPE_TEXT
#
# (passed with -c because the VM sees only its root and /tmp, not this repository). OUT_OF_SCOPE_TEXT is the content
# of docs/yardstick-out-of-scope.txt: tests that need what Snapfn does not have, one test id a line with its reason.
#
# Snapfn has no fork, no exec and no socket(2) (only socketpair). CPython's test support has flags for platforms that
# lack them (WASI, Emscripten): the tests marked as needing fork or a subprocess skip when they are false, and so do
# the tests marked as needing a bindable AF_UNIX socket. The few tests that need them without such a mark are named
# in the out-of-scope list and skipped here with its reason. Both sides skip the same tests, so a module's verdicts
# compare like with like.
import importlib
import os
import sys
import unittest

import test.support as support
from test.support import socket_helper

module_name, out_of_scope_text = sys.argv[1], sys.argv[2]

support.has_fork_support = False
support.has_subprocess_support = False
# skip_unless_bind_unix_socket probes once and keeps the error; a probe here would fail at socket() (which its
# decorator does not catch) instead of at bind().
socket_helper._bind_nix_socket_error = OSError("Snapfn has no socket(2), only socketpair")


def out_of_scope(text, module):
    """The (test id, reason) pairs of the list that belong to this module; the id is relative to the module."""
    for line in text.splitlines():
        test_id, _, reason = line.partition("#")
        test_id = test_id.strip()
        if test_id.startswith(module + "."):
            yield test_id[len(module) + 1:], reason.strip() or "out of Snapfn's scope"


def skip(module, test_id, reason):
    """Replaces the class or method test_id names with a skipped one; fails loudly if it is not there, so that a
    list entry cannot silently stop meaning anything."""
    *owner_path, name = test_id.split(".")
    owner = module
    for part in owner_path:
        owner = getattr(owner, part)
    target = getattr(owner, name)  # AttributeError: the list names a test this module does not have
    setattr(owner, name, unittest.skip("out of scope: " + reason)(target))


if os.getcwd() == "/":
    os.chdir("/tmp")  # in the VM the program starts in /; its only writable place is its private /tmp
module = importlib.import_module(module_name)
for test_id, reason in out_of_scope(out_of_scope_text, module_name):
    skip(module, test_id, reason)
sys.argv[1:] = ["-q", module_name]
unittest.main(module=None)
