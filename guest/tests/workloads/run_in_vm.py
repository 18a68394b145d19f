#!/usr/bin/env python3
"""Runs each workload function in a real micro-VM (`./snapfn run`) on its inputs A and B and checks that the
guest's output is byte for byte the host build's (run_tests.py checks the host build against references).
Prints init and execute times. Needs KVM and the built CLI; not part of `make test-workloads`.
Usage: run_in_vm.py [function ...]"""
import base64
import json
import os
import subprocess
import sys

import run_tests

ROOT = os.path.dirname(run_tests.GUEST)
ORDER = ["read-list", "mmap", "json", "aes", "html", "matmul", "pagerank", "compression", "image", "video",
         "recognition"]


def vm_run(name, path):
    r = subprocess.run([os.path.join(ROOT, "snapfn"), "run", name, "--input", path, "--json", "--timeout", "300"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("snapfn run %s exited %d: %s" % (name, r.returncode, (r.stdout + r.stderr)[-2000:]))
    d = json.loads(r.stdout)
    out = d["output"]
    data = base64.b64decode(out) if d.get("output_encoding") == "base64" else out.encode()
    return data, d


def main():
    names = sys.argv[1:] or [n for n in ORDER if os.path.exists(os.path.join(run_tests.FUNCTIONS, n, "main.c"))]
    failed = 0
    for name in names:
        folder = os.path.join(run_tests.FUNCTIONS, name, "inputs")
        for f in sorted(os.listdir(folder)):
            path = os.path.join(folder, f)
            try:
                got, d = vm_run(name, path)
                rc, want, err = run_tests.run(run_tests.build(name), open(path, "rb").read())
                same = rc == 0 and got == want
                print("%-12s %-8s init %8.1f ms  execute %8.1f ms  output %8d B  %s" % (
                    name, f, d["init_ms"], d["execute_ms"], len(got), "same as host" if same else "DIFFERS"),
                    flush=True)
                if not same:
                    failed += 1
                    print("  guest: %r\n  host:  %r" % (got[:300], want[:300]))
            except AssertionError as e:
                failed += 1
                print("%-12s %-8s FAIL %s" % (name, f, e), flush=True)
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
