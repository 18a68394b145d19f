#!/usr/bin/env bash
# Traces the system calls Debian's node and python3 make as Snapfn functions: natively, with strace -f, each chrooted
# into its runtime's root as the VM shows files and pinned to one CPU (sandbox-trace.sh), serving a few requests
# over a socketpair as fd 3 (drive.py); then lists every call with its flag arguments, counted (summarize.py) — the
# list behind docs/node-syscalls.md. Functions: guest/functions/node-hello-world and node-json, trace/node-busy (fs,
# crypto, zlib, timers), trace/py-threads (a ThreadPoolExecutor and asyncio).
# Needs root, strace, and both runtime roots (./snapfn runtimes --build node, and python's).
# Usage: linux-tests/trace/trace-runtimes.sh OUTDIR
#   STRACE_OPTIONS='-e inject=clone3,statx:error=ENOSYS' ... shows whether the programs carry on when calls fail.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
guest="$(cd "$here/../.." && pwd)"
[[ $# -eq 1 ]] || { sed -n '2,9p' "${BASH_SOURCE[0]}" >&2; exit 2; }
out="$(mkdir -p "$1" && cd "$1" && pwd)"
home="${SNAPFN_HOME:-$HOME/.local/share/snapfn}"
root_of() { # the runtime root whose manifest requested exactly the package $1
    local manifest
    for manifest in "$home"/roots/*/manifest.json; do
        if python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])).get("requested") != [sys.argv[2]])' "$manifest" "$1"; then
            echo "$(dirname "$manifest")/root"
            return
        fi
    done
    echo "trace-runtimes: no root for $1 under $home/roots: build it with ./snapfn runtimes --build $2" >&2
    exit 2
}
node_root="$(root_of nodejs node)"
python_root="$(root_of python3 python)"
node=(/usr/bin/node --v8-pool-size=1 /snapfn/node/snapfn_shim.js /function)
python=(/usr/bin/python3 /snapfn/python/snapfn_shim.py /function)
python3 -c 'import json; d = json.dumps({"items": [{"id": i, "v": [i, "x" * 20, True, None]} for i in range(2000)]}); print(json.dumps([d, d]))' \
    > "$out/node-json.requests"

run() { # NAME REQUESTS ROOT FOLDER PROGRAM...
    echo "== $1" >&2
    python3 "$here/drive.py" "$2" "$here/sandbox-trace.sh" "$3" "$4" "$out/$1.trace" "${@:5}"
}
run node-hello-world '["", "{\"name\": \"Ada\"}"]' "$node_root" "$guest/functions/node-hello-world" "${node[@]}"
run node-json "@$out/node-json.requests" "$node_root" "$guest/functions/node-json" "${node[@]}"
run node-busy '["", "abc"]' "$node_root" "$here/node-busy" "${node[@]}"
run py-threads '["", "abcdefghijklmnopqrstuvwxyz", "x"]' "$python_root" "$here/py-threads" "${python[@]}"
python3 "$here/summarize.py" "$out"/node-*.trace > "$out/node.calls"
python3 "$here/summarize.py" "$out"/py-*.trace > "$out/python.calls"
echo "the calls, with their flag arguments: $out/node.calls and $out/python.calls" >&2
