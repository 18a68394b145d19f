#!/usr/bin/env bash
# Runs one guest test on the host in an approximation of the VM's environment, to check the checks themselves
# (not the VMM): a new mount and PID namespace, chrooted into a tmpfs root holding the host's /usr and /etc
# read-only, build/linux-tests read-only at /tests, a private /tmp, bind mounts of /dev/{null,zero,urandom,
# random}, a procfs, and /planted with the symlinks escape expects; pinned to one CPU, cwd /, env SNAPFN_TEST=1.
# What it cannot imitate: sockets, fork, exec and threads still work, and the vDSO is the host kernel's, so
# deny and hello's AT_SYSINFO_EHDR check FAIL here as they should not in the VM.
# Needs root (unshare -m, chroot). Usage, from guest/:
#     linux-tests/run-in-sandbox.sh fs-static
#     linux-tests/run-in-sandbox.sh hello-dynamic a b
#     linux-tests/run-in-sandbox.sh escape-static        # the secret's host path is added as the argument
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tests="$(cd "$here/../build/linux-tests" && pwd)"
[[ $# -ge 1 ]] || { sed -n '2,11p' "${BASH_SOURCE[0]}" >&2; exit 2; }
program="$1"
shift
[[ -x "$tests/$program" ]] || { echo "run-in-sandbox: no $tests/$program (make -C guest first)" >&2; exit 2; }

secret_dir="$(mktemp -d)"
root="$(mktemp -d)"
trap 'rm -rf "$secret_dir"; rmdir "$root"' EXIT
secret="$secret_dir/secret.txt"
printf 'SNAPFN-SECRET\nif you can read this, a path left the root\n' > "$secret"
if [[ "$program" == escape-* && $# -eq 0 ]]; then
    set -- "$secret"
fi

unshare --mount --pid --fork --propagation private bash -s "$tests" "$secret" "$root" "/tests/$program" "$@" <<'SANDBOX'
set -euo pipefail
tests="$1" secret="$2" root="$3"
shift 3
mount -t tmpfs -o size=16m tmpfs "$root"
mkdir -p "$root"/{usr,etc,tmp,tests,dev,proc,planted}
for link in lib lib64 bin sbin; do [[ -e "/usr/$link" ]] && ln -s "usr/$link" "$root/$link"; done
for dir in usr etc; do mount --bind "/$dir" "$root/$dir"; mount -o remount,bind,ro "$root/$dir"; done
mount --bind "$tests" "$root/tests"
mount -o remount,bind,ro "$root/tests"
mount -t tmpfs -o size=512m tmpfs "$root/tmp"
for dev in null zero urandom random; do touch "$root/dev/$dev"; mount --bind "/dev/$dev" "$root/dev/$dev"; done
ln -s "$secret" "$root/planted/abs"
ln -s "../../../../../../..$secret" "$root/planted/rel"
mount -t proc proc "$root/proc"
mount -o remount,bind,ro "$root"
cpu="$(taskset -cp $$ | sed 's/.*: *//; s/[,-].*//')"
exec taskset -c "$cpu" env -i SNAPFN_TEST=1 PATH=/usr/bin /usr/sbin/chroot "$root" "$@"
SANDBOX
