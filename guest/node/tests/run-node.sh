#!/usr/bin/env bash
# Runs Debian's node from the node runtime's root on the host, as the VM would see it, without installing anything:
# a new mount namespace, chrooted into a tmpfs holding the root's /usr (and /etc) read-only, guest/node read-only at
# /snapfn/node, the function's folder read-only at /function, a private /tmp, /dev/{null,zero,urandom,random} and
# a procfs. Debian's node needs its own paths (it loads some built-in modules from /usr/share/nodejs), so its root
# must be / for it. Open descriptors (the channel on fd 3) pass through.
# Needs root (unshare -m, chroot). Usage:
#     run-node.sh ROOT FOLDER              the shim on FOLDER: node /snapfn/node/snapfn_shim.js /function
#     run-node.sh ROOT -- ARGS...          node ARGS... (e.g. -p process.version)
#     run-node.sh ROOT FOLDER -- ARGS...   node ARGS... with FOLDER at /function
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -ge 2 ]] || { sed -n '2,11p' "${BASH_SOURCE[0]}" >&2; exit 2; }
root="$(cd "$1" && pwd)"
shift
[[ -x "$root/usr/bin/node" ]] || { echo "run-node: $root has no usr/bin/node (build it: ./snapfn runtimes --build node)" >&2; exit 2; }
folder=""
if [[ "$1" != "--" ]]; then
    folder="$(cd "$1" && pwd)"
    shift
fi
if [[ "${1:-}" == "--" ]]; then
    shift
    set -- /usr/bin/node "$@"
else
    set -- /usr/bin/node --v8-pool-size=1 /snapfn/node/snapfn_shim.js /function
fi
top="$(mktemp -d)"
trap 'rmdir "$top"' EXIT
unshare --mount --propagation private bash -s "$root" "$here" "$folder" "$top" "$@" <<'SANDBOX'
set -euo pipefail
root="$1" shim="$2" folder="$3" top="$4"
shift 4
mount -t tmpfs -o size=16m tmpfs "$top"
mkdir -p "$top"/{usr,etc,tmp,dev,proc,function,snapfn/node}
for link in lib lib64 bin sbin; do [[ -e "$root/usr/$link" ]] && ln -s "usr/$link" "$top/$link"; done
mount --bind "$root/usr" "$top/usr"
mount -o remount,bind,ro "$top/usr"
[[ -d "$root/etc" ]] && mount --bind "$root/etc" "$top/etc" && mount -o remount,bind,ro "$top/etc"
mount --bind "$shim" "$top/snapfn/node"
mount -o remount,bind,ro "$top/snapfn/node"
if [[ -n "$folder" ]]; then
    mount --bind "$folder" "$top/function"
    mount -o remount,bind,ro "$top/function"
fi
mount -t tmpfs -o size=256m tmpfs "$top/tmp"
for dev in null zero urandom random; do touch "$top/dev/$dev"; mount --bind "/dev/$dev" "$top/dev/$dev"; done
mount -t proc proc "$top/proc"
cd "$top"
exec env -i PATH=/usr/bin HOME=/tmp LANG=C.UTF-8 TMPDIR=/tmp UV_THREADPOOL_SIZE=1 /usr/sbin/chroot "$top" "$@"
SANDBOX
