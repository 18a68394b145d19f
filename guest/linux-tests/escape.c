/* escape HOSTPATH: nothing may show the content of a host file outside the guest's root.
 *
 * HOSTPATH is the absolute host path of a file the harness created outside the root; its first line is
 * SNAPFN-SECRET. The harness also mounts /planted with symlinks abs -> HOSTPATH and
 * rel -> ../../../../../../..HOSTPATH. Every attempt passes if the call fails (the errno is printed) or if the
 * bytes it reads do not start with SNAPFN-SECRET. Natively, on the host, most attempts read the secret: that
 * they FAIL there is the proof that they would notice. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SECRET "SNAPFN-SECRET"

static const char *host_path;

static const char *join(const char *a, const char *b)
{
    static char bufs[8][8192];
    static int next;
    char *buf = bufs[next++ % 8];
    snprintf(buf, sizeof bufs[0], "%s%s", a, b);
    return buf;
}

/* The verdict on an fd an attempt produced (or -1 with errno): the secret must not be readable through it. */
static void judge(const char *check, const char *what, long fd)
{
    int err = errno;
    if (fd < 0) {
        lt_ok(check, "failed closed: %s (%s)", lt_errname(err), what);
        return;
    }
    char buf[64];
    long n = read((int)fd, buf, sizeof buf);
    int read_err = errno;
    close((int)fd);
    if (n >= (long)strlen(SECRET) && memcmp(buf, SECRET, strlen(SECRET)) == 0)
        lt_fail(check, "read the secret through %s", what);
    else if (n < 0)
        lt_ok(check, "opened, but read failed with %s (%s)", lt_errname(read_err), what);
    else
        lt_ok(check, "opened a different file (%ld bytes, not the secret) (%s)", n, what);
}

static void try_open(const char *check, const char *path)
{
    judge(check, path, open(path, O_RDONLY));
}

static long raw_openat2(int dirfd, const char *path, unsigned long long resolve)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY;
    how.resolve = resolve;
    return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static void paths(void)
{
    const char *rel = host_path + 1; /* without the leading slash */
    try_open("open-hostpath", host_path);
    try_open("open-root-dotdot", join("/../../../../..", host_path));
    try_open("open-tmp-dotdot", join("/tmp/../../", host_path));
    try_open("open-tmp-deep-dotdot", join("/tmp/../../../../../../../../../..", host_path));
    try_open("open-proc-self-root", join("/proc/self/root", host_path));
    try_open("open-proc-1-root", join("/proc/1/root", host_path));
    try_open("open-proc-thread-self-root", join("/proc/thread-self/root", host_path));
    try_open("open-proc-self-cwd-dotdot", join("/proc/self/cwd/../../../../..", host_path));
    try_open("open-proc-dotdot", join("/proc/../../../..", host_path));
    try_open("open-dev-dotdot", join("/dev/../../../..", host_path));
    try_open("open-tests-dotdot", join("/tests/../../../../../../..", host_path));
    try_open("open-usr-dotdot", join("/usr/lib/../../../../../..", host_path));
    try_open("open-planted-dotdot", join("/planted/../../../../../..", host_path));
    try_open("open-dot-slashes", join("/./././/./////.", host_path));
    try_open("open-etc-shadow", "/etc/shadow");

    /* A long path of "./" that still fits PATH_MAX: a resolver that truncates or splits it may go wrong. */
    static char longpath[4096];
    size_t tail = strlen(host_path);
    size_t reps = (sizeof longpath - tail - 8) / 3;
    char *p = longpath;
    *p++ = '/';
    for (size_t i = 0; i < reps; i++) {
        memcpy(p, "../", 3);
        p += 3;
    }
    snprintf(p, sizeof longpath - (size_t)(p - longpath), "%s", rel);
    char what[64];
    snprintf(what, sizeof what, "/ + %zu x ../ + HOSTPATH, %zu bytes", reps, strlen(longpath));
    judge("open-long-dotdot-path", what, open(longpath, O_RDONLY));

    int tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
    judge("openat-tmp-dotdot", "openat(/tmp, ../../../../..HOSTPATH)",
          tmp < 0 ? -1 : openat(tmp, join("../../../../../../..", host_path), O_RDONLY));
    judge("openat-tmp-absolute", "openat(/tmp, HOSTPATH)", tmp < 0 ? -1 : openat(tmp, host_path, O_RDONLY));
    if (tmp >= 0)
        close(tmp);

    /* chdir up from /tmp as far as it goes, then a relative open. */
    long r = chdir("/tmp");
    for (int i = 0; i < 10; i++)
        r |= chdir("..");
    char cwd[4096] = "";
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, "(getcwd failed: %s)", lt_errname(errno));
    lt_check("chdir-dotdot-stops-at-root", r == 0 && strcmp(cwd, "/") == 0, "after chdir(\"..\") x10 the cwd is %s",
             cwd);
    judge("open-relative-after-chdir-dotdot", "open(HOSTPATH without /) with cwd /", open(rel, O_RDONLY));
    if (chdir("/") != 0)
        lt_fail("chdir-root", "chdir(\"/\") failed with %s", lt_errname(errno));
}

static void links(void)
{
    static const char l1[] = "/tmp/snapfn-escape-l1", l2[] = "/tmp/snapfn-escape-l2", l3[] = "/tmp/snapfn-escape-l3",
                      ldir[] = "/tmp/snapfn-escape-ldir", hl[] = "/tmp/snapfn-escape-hl",
                      hl2[] = "/tmp/snapfn-escape-hl2", hl3[] = "/tmp/snapfn-escape-hl3";
    const char *const all[] = {l1, l2, l3, ldir, hl, hl2, hl3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        unlink(all[i]);

    long r = symlink(join("/..///../", host_path), l1);
    judge("symlink-absolute-dotdot", r == 0 ? "symlink /..///..HOSTPATH" : "symlink refused",
          r == 0 ? open(l1, O_RDONLY) : -1);
    r = symlink(join("../../../../../../..", host_path), l2);
    judge("symlink-relative-dotdot", r == 0 ? "symlink ../../../../../../..HOSTPATH" : "symlink refused",
          r == 0 ? open(l2, O_RDONLY) : -1);
    r = symlink(join("/proc/self/root", host_path), l3);
    judge("symlink-proc-self-root", r == 0 ? "symlink /proc/self/rootHOSTPATH" : "symlink refused",
          r == 0 ? open(l3, O_RDONLY) : -1);
    r = symlink("/", ldir);
    judge("symlink-dir-then-dotdot", r == 0 ? "/tmp/ldir -> /, then ldir/../../..HOSTPATH" : "symlink refused",
          r == 0 ? open(join(join(ldir, "/../../../.."), host_path), O_RDONLY) : -1);

    r = link(host_path, hl);
    judge("link-hostpath", r == 0 ? "link(HOSTPATH, /tmp/hl)" : "link refused", r == 0 ? open(hl, O_RDONLY) : -1);
    r = link(join("/tmp/../../../../..", host_path), hl2);
    judge("link-dotdot-hostpath", r == 0 ? "link(/tmp/../../..HOSTPATH)" : "link refused",
          r == 0 ? open(hl2, O_RDONLY) : -1);
    r = linkat(AT_FDCWD, "/planted/abs", AT_FDCWD, hl3, AT_SYMLINK_FOLLOW);
    judge("linkat-follow-planted", r == 0 ? "linkat(/planted/abs, AT_SYMLINK_FOLLOW)" : "linkat refused",
          r == 0 ? open(hl3, O_RDONLY) : -1);

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        unlink(all[i]);
}

static void planted(void)
{
    try_open("open-planted-abs", "/planted/abs");
    try_open("open-planted-rel", "/planted/rel");
    int d = open("/planted", O_RDONLY | O_DIRECTORY);
    judge("openat-planted-abs", "openat(/planted, abs)", d < 0 ? -1 : openat(d, "abs", O_RDONLY));
    judge("openat-planted-rel", "openat(/planted, rel)", d < 0 ? -1 : openat(d, "rel", O_RDONLY));
    if (d >= 0)
        close(d);
    /* A planted symlink as a directory component on the way. */
    try_open("open-planted-abs-component", "/planted/abs/../../../../../etc/passwd");
    try_open("open-planted-rel-dot", "/planted/./rel");
}

static void openat2_tricks(void)
{
    int tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
    int root = open("/", O_RDONLY | O_DIRECTORY);
    long r = raw_openat2(AT_FDCWD, host_path, 0);
    if (r < 0 && errno == ENOSYS) {
        lt_ok("openat2", "failed closed: ENOSYS (openat2 is not served; the other tricks are moot)");
    } else {
        judge("openat2-plain", "openat2(AT_FDCWD, HOSTPATH)", r);
        judge("openat2-beneath-dotdot", "openat2(/tmp, ../../..HOSTPATH, RESOLVE_BENEATH)",
              raw_openat2(tmp, join("../../../../..", host_path), RESOLVE_BENEATH));
        judge("openat2-beneath-absolute", "openat2(/tmp, HOSTPATH, RESOLVE_BENEATH)",
              raw_openat2(tmp, host_path, RESOLVE_BENEATH));
        judge("openat2-in-root-root", "openat2(/, HOSTPATH, RESOLVE_IN_ROOT)",
              raw_openat2(root, host_path, RESOLVE_IN_ROOT));
        judge("openat2-in-root-dotdot", "openat2(/tmp, ../../..HOSTPATH, RESOLVE_IN_ROOT)",
              raw_openat2(tmp, join("../../../../..", host_path), RESOLVE_IN_ROOT));
        judge("openat2-no-magiclinks", "openat2(/proc/self/rootHOSTPATH, RESOLVE_NO_MAGICLINKS)",
              raw_openat2(AT_FDCWD, join("/proc/self/root", host_path), RESOLVE_NO_MAGICLINKS));
        judge("openat2-planted-in-root", "openat2(/, planted/abs, RESOLVE_IN_ROOT)",
              raw_openat2(root, "planted/abs", RESOLVE_IN_ROOT));
        judge("openat2-planted-no-xdev", "openat2(/, planted/rel, RESOLVE_NO_XDEV)",
              raw_openat2(root, "planted/rel", RESOLVE_NO_XDEV));
    }
    if (tmp >= 0)
        close(tmp);
    if (root >= 0)
        close(root);
}

/* Calls added for CPython's tests that change a file by its name: each must fail here (the harness also checks
 * the secret's bytes afterwards, so a call that reached it would be caught even if it returned -1). */
static void changes_by_name(void)
{
    const char *const targets[] = {host_path, join("/tmp/../../../..", host_path), "/planted/abs", "/planted/rel"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char check[64];
        snprintf(check, sizeof check, "truncate-%zu", i);
        long r = syscall(SYS_truncate, targets[i], 0L);
        lt_check(check, r != 0, "truncate(%s) succeeded", targets[i]);
        snprintf(check, sizeof check, "chmod-%zu", i);
        r = syscall(SYS_chmod, targets[i], 0777);
        lt_check(check, r != 0, "chmod(%s) succeeded", targets[i]);
        snprintf(check, sizeof check, "chown-%zu", i);
        r = syscall(SYS_chown, targets[i], 0, 0);
        lt_check(check, r != 0, "chown(%s) succeeded", targets[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] != '/') {
        fprintf(stderr, "usage: %s HOSTPATH (the absolute host path of the secret file)\n", argv[0]);
        return 2;
    }
    lt_init();
    host_path = argv[1];
    paths();
    links();
    planted();
    openat2_tricks();
    changes_by_name();
    return lt_finish();
}
