#!/usr/bin/env bash
# sandbox-trace.sh ROOT FOLDER TRACE PROGRAM [ARGS...]: strace -f of PROGRAM (into TRACE) chrooted into ROOT's tree as
# the VM shows files: FOLDER read-only at /function, guest/node and guest/python read-only at /snapfn/node and
# /snapfn/python, a private /tmp, /dev/{null,zero,urandom,random}, a procfs; one CPU; the shims' environment.
# $STRACE_OPTIONS are added to strace's (e.g. -e inject=statx:error=ENOSYS). Open descriptors (fd 3) pass through.
# Needs root (unshare -m, chroot). Used by trace-runtimes.sh.
set -euo pipefail
guest="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ $# -ge 4 ]] || { sed -n '2,6p' "${BASH_SOURCE[0]}" >&2; exit 2; }
root="$(cd "$1" && pwd)" folder="$(cd "$2" && pwd)" trace="$(realpath "$3")"
shift 3
top="$(mktemp -d)"
trap 'rmdir "$top"' EXIT
unshare --mount --propagation private bash -s "$root" "$guest" "$folder" "$top" "$trace" "$@" <<'SANDBOX'
set -euo pipefail
root="$1" guest="$2" folder="$3" top="$4" trace="$5"
shift 5
mount -t tmpfs -o size=16m tmpfs "$top"
mkdir -p "$top"/{usr,etc,tmp,dev,proc,function,snapfn/node,snapfn/python}
for link in lib lib64 bin sbin; do [[ -e "$root/usr/$link" ]] && ln -s "usr/$link" "$top/$link"; done
mount --bind "$root/usr" "$top/usr"; mount -o remount,bind,ro "$top/usr"
if [[ -d "$root/etc" ]]; then mount --bind "$root/etc" "$top/etc"; mount -o remount,bind,ro "$top/etc"; fi
for shim in node python; do mount --bind "$guest/$shim" "$top/snapfn/$shim"; mount -o remount,bind,ro "$top/snapfn/$shim"; done
mount --bind "$folder" "$top/function"; mount -o remount,bind,ro "$top/function"
mount -t tmpfs -o size=256m tmpfs "$top/tmp"
for dev in null zero urandom random; do touch "$top/dev/$dev"; mount --bind "/dev/$dev" "$top/dev/$dev"; done
mount -t proc proc "$top/proc"
cd "$top"
# shellcheck disable=SC2086  # STRACE_OPTIONS is a list of options
exec taskset -c 0 strace -f -qq -v -s 64 ${STRACE_OPTIONS:-} -o "$trace" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp \
    LANG=C.UTF-8 TMPDIR=/tmp UV_THREADPOOL_SIZE=1 /usr/sbin/chroot "$top" "$@"
SANDBOX
