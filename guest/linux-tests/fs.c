/* fs: files, directories, descriptors and the synthesised devices, from inside the guest.
 * Environment: / is a read-only Debian tree, /tmp is private and writable, this program is /tests/fs-*, the
 * cwd is /. Run as `/tests/fs-static` (no arguments). */
#include "lt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

static const char *self;
static char tmp_a[64], tmp_b[64], tmp_dir[64], tmp_in_dir[96];

static void check_self_file(void)
{
    int fd = open(self, O_RDONLY | O_CLOEXEC);
    if (!lt_sys_ok("open-self", fd))
        return;
    char buf[8] = {0};
    long n = read(fd, buf, 4);
    lt_check("read-self", n == 4 && memcmp(buf, "\177ELF", 4) == 0, "read returned %ld", n);
    lt_check("lseek-cur-after-read", lseek(fd, 0, SEEK_CUR) == 4, "offset is not 4");

    struct stat st;
    long r = syscall(SYS_fstat, fd, &st);
    lt_check("fstat-self", r == 0 && S_ISREG(st.st_mode) && st.st_size > 4096, "fstat = %ld, mode 0%o, size %lld", r,
             st.st_mode, (long long)st.st_size);
    off_t end = lseek(fd, 0, SEEK_END);
    lt_check("lseek-end", end == st.st_size, "SEEK_END gave %lld, st_size %lld", (long long)end, (long long)st.st_size);
    lt_check("lseek-set", lseek(fd, 1, SEEK_SET) == 1, "SEEK_SET 1 did not return 1");
    n = read(fd, buf, 3);
    lt_check("read-after-lseek", n == 3 && memcmp(buf, "ELF", 3) == 0, "read returned %ld", n);
    lt_sys_errno("lseek-negative-einval", lseek(fd, -10, SEEK_SET), EINVAL);
    n = read(fd, buf, 0);
    lt_check("read-zero-bytes", n == 0, "read of 0 bytes returned %ld", n);

    memset(buf, 0, sizeof buf);
    n = syscall(SYS_pread64, fd, buf, 4, 0);
    lt_check("pread", n == 4 && memcmp(buf, "\177ELF", 4) == 0, "pread returned %ld", n);
    lt_check("pread-keeps-offset", lseek(fd, 0, SEEK_CUR) == 4, "pread moved the offset to %lld",
             (long long)lseek(fd, 0, SEEK_CUR));
    n = syscall(SYS_pread64, fd, buf, 8, st.st_size - 2);
    lt_check("pread-short-at-eof", n == 2, "pread of 8 bytes 2 before EOF returned %ld", n);
    n = syscall(SYS_pread64, fd, buf, 8, st.st_size + 100);
    lt_check("pread-past-eof", n == 0, "pread past EOF returned %ld", n);

    /* newfstatat (what glibc's stat, lstat and fstat use), on the path, on the fd with AT_EMPTY_PATH. */
    struct stat st2, st3;
    r = syscall(SYS_newfstatat, AT_FDCWD, self, &st2, 0);
    lt_check("newfstatat-path", r == 0 && st2.st_size == st.st_size && st2.st_ino == st.st_ino &&
                                    st2.st_dev == st.st_dev && st2.st_mode == st.st_mode,
             "r %ld, size %lld/%lld, ino %llu/%llu", r, (long long)st2.st_size, (long long)st.st_size,
             (unsigned long long)st2.st_ino, (unsigned long long)st.st_ino);
    r = syscall(SYS_newfstatat, fd, "", &st3, AT_EMPTY_PATH);
    lt_check("newfstatat-empty-path", r == 0 && st3.st_size == st.st_size && st3.st_ino == st.st_ino, "r %ld (%s)", r,
             lt_errname(errno));
    r = syscall(SYS_newfstatat, AT_FDCWD, "/usr", &st2, 0);
    lt_check("newfstatat-dir", r == 0 && S_ISDIR(st2.st_mode), "r %ld, mode 0%o", r, st2.st_mode);
    lt_sys_errno("newfstatat-enoent", syscall(SYS_newfstatat, AT_FDCWD, "/usr/no-such-file-here", &st2, 0), ENOENT);
    lt_sys_errno("newfstatat-enotdir", syscall(SYS_newfstatat, AT_FDCWD, LIBC "/x", &st2, 0), ENOTDIR);
    r = syscall(SYS_newfstatat, AT_FDCWD, "/proc/self/exe", &st2, 0);
    lt_check("stat-proc-self-exe-follows", r == 0 && S_ISREG(st2.st_mode) && st2.st_size == st.st_size,
             "r %ld (%s), mode 0%o, size %lld", r, lt_errname(errno), st2.st_mode, (long long)st2.st_size);
    r = syscall(SYS_newfstatat, AT_FDCWD, "/proc/self/exe", &st2, AT_SYMLINK_NOFOLLOW);
    lt_check("lstat-proc-self-exe-symlink", r == 0 && S_ISLNK(st2.st_mode), "r %ld (%s), mode 0%o", r,
             lt_errname(errno), st2.st_mode);
    close(fd);
}

static void check_readlink_cwd(void)
{
    char buf[4096];
    long n = syscall(SYS_readlink, "/proc/self/exe", buf, sizeof buf);
    lt_check("readlink-proc-self-exe", n == (long)strlen(self) && memcmp(buf, self, (size_t)n) == 0,
             "returned %ld: %.*s, want %s", n, n > 0 ? (int)n : 0, buf, self);
    n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf, sizeof buf);
    lt_check("readlinkat-proc-self-exe", n == (long)strlen(self) && memcmp(buf, self, (size_t)n) == 0,
             "returned %ld", n);
    n = syscall(SYS_readlink, "/proc/self/exe", buf, 4);
    lt_check("readlink-truncates", n == 4 && memcmp(buf, self, 4) == 0, "readlink with 4 bytes returned %ld", n);
    lt_sys_errno("readlink-not-symlink", syscall(SYS_readlink, "/usr", buf, sizeof buf), EINVAL);

    long r = syscall(SYS_getcwd, buf, sizeof buf);
    lt_check("getcwd-root", r == 2 && strcmp(buf, "/") == 0, "getcwd returned %ld (the kernel returns the length "
             "with the NUL), \"%s\"", r, r > 0 ? buf : "");
    lt_sys_errno("getcwd-erange", syscall(SYS_getcwd, buf, 1), ERANGE);

    lt_sys_ok("chdir-usr", chdir("/usr"));
    r = syscall(SYS_getcwd, buf, sizeof buf);
    lt_check("getcwd-usr", r == 5 && strcmp(buf, "/usr") == 0, "getcwd returned %ld, \"%s\"", r, r > 0 ? buf : "");
    int fd = open("lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
    lt_sys_ok("open-relative-to-cwd", fd);
    if (fd >= 0)
        close(fd);
    lt_sys_ok("chdir-dotdot", chdir(".."));
    r = syscall(SYS_getcwd, buf, sizeof buf);
    lt_check("getcwd-after-dotdot", r == 2 && strcmp(buf, "/") == 0, "\"%s\"", r > 0 ? buf : "");
    lt_sys_ok("chdir-dotdot-at-root", chdir(".."));
    r = syscall(SYS_getcwd, buf, sizeof buf);
    lt_check("getcwd-dotdot-stays-at-root", r == 2 && strcmp(buf, "/") == 0, "\"%s\"", r > 0 ? buf : "");
    lt_sys_errno("chdir-enoent", chdir("/no-such-dir"), ENOENT);
    lt_sys_errno("chdir-enotdir", chdir(LIBC), ENOTDIR);

    int dfd = open("/usr/lib", O_RDONLY | O_DIRECTORY);
    if (lt_sys_ok("open-directory", dfd)) {
        lt_sys_ok("fchdir", fchdir(dfd));
        r = syscall(SYS_getcwd, buf, sizeof buf);
        lt_check("getcwd-after-fchdir", r > 0 && strcmp(buf, "/usr/lib") == 0, "\"%s\"", r > 0 ? buf : "");
        close(dfd);
    }
    lt_sys_ok("chdir-back-to-root", chdir("/"));
}

static void check_openat_getdents(void)
{
    int dfd = open("/usr", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!lt_sys_ok("open-usr-dir", dfd))
        return;
    int fd = openat(dfd, "lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
    char magic[4] = {0};
    lt_check("openat-relative", fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0,
             "openat(/usr, lib/x86_64-linux-gnu/libc.so.6) = %d (%s)", fd, fd < 0 ? lt_errname(errno) : "read failed");
    if (fd >= 0)
        close(fd);
    fd = openat(dfd, "/usr/lib", O_RDONLY | O_DIRECTORY);
    lt_sys_ok("openat-absolute-ignores-dirfd", fd);
    if (fd >= 0)
        close(fd);
    lt_sys_errno("openat-enotdir", openat(dfd, "lib/x86_64-linux-gnu/libc.so.6/x", O_RDONLY), ENOTDIR);
    lt_sys_errno("open-directory-flag-on-file", open(LIBC, O_RDONLY | O_DIRECTORY), ENOTDIR);
    char c;
    lt_sys_errno("read-directory-eisdir", read(dfd, &c, 1), EISDIR);
    close(dfd);

    dfd = open("/usr/lib", O_RDONLY | O_DIRECTORY);
    if (!lt_sys_ok("open-usr-lib", dfd))
        return;
    /* The kernel's linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, name. */
    static char buf[32768] __attribute__((aligned(8)));
    int entries[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        bool dot = false, dotdot = false, triplet = false, python = false, reclen_ok = true;
        int count = 0;
        long n;
        while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                unsigned short reclen;
                unsigned char type = (unsigned char)buf[off + 18];
                memcpy(&reclen, buf + off + 16, 2);
                const char *name = buf + off + 19;
                if (reclen < 20 || reclen % 8 != 0 || off + reclen > n) {
                    reclen_ok = false;
                    break;
                }
                count++;
                dot |= strcmp(name, ".") == 0;
                dotdot |= strcmp(name, "..") == 0;
                triplet |= strcmp(name, "x86_64-linux-gnu") == 0 && type == DT_DIR;
                python |= strcmp(name, "python3.11") == 0 && type == DT_DIR;
                off += reclen;
            }
            if (!reclen_ok)
                break;
        }
        entries[pass] = count;
        if (pass == 0) {
            lt_check("getdents64-ends-with-0", n == 0, "last getdents64 returned %ld (%s)", n, lt_errname(errno));
            lt_check("getdents64-reclen", reclen_ok, "a record length is not a multiple of 8 or runs past the end");
            lt_check("getdents64-dot-entries", dot && dotdot, ". %s, .. %s", dot ? "found" : "missing",
                     dotdot ? "found" : "missing");
            lt_check("getdents64-known-entries", triplet && python,
                     "x86_64-linux-gnu (DT_DIR) %s, python3.11 (DT_DIR) %s among %d entries",
                     triplet ? "found" : "missing", python ? "found" : "missing", count);
        }
        lseek(dfd, 0, SEEK_SET); /* rewinddir */
    }
    lt_check("getdents64-rewind", entries[1] == entries[0] && entries[0] > 2, "%d entries, then %d after rewinding",
             entries[0], entries[1]);
    lt_sys_errno("getdents64-buffer-too-small", syscall(SYS_getdents64, dfd, buf, 8), EINVAL);
    int file = open(LIBC, O_RDONLY);
    lt_sys_errno("getdents64-on-file", syscall(SYS_getdents64, file, buf, sizeof buf), ENOTDIR);
    close(file);
    close(dfd);
}

/* Writes outside /tmp: the tree is read-only. An unexpected success is undone, in case this runs natively. */
static void check_read_only(void)
{
    lt_sys_ok("access-usr-read", access("/usr", R_OK));
    lt_sys_errno2("access-usr-write", access("/usr", W_OK), EROFS, EACCES);
    lt_sys_ok("access-self-exec", access(self, X_OK));
    lt_sys_errno("access-enoent", access("/usr/no-such-file-here", F_OK), ENOENT);
    /* Linux finds the parent before it asks for write access: under a missing parent ENOENT, under a file ENOTDIR. */
    lt_sys_errno("unlink-under-missing-parent-enoent", unlink("/usr/no-such-dir-here/x"), ENOENT);
    lt_sys_errno("mkdir-under-missing-parent-enoent", mkdir("/usr/no-such-dir-here/x", 0700), ENOENT);
    char under_file[PATH_MAX];
    snprintf(under_file, sizeof under_file, "%s/x", self);
    lt_sys_errno("unlink-under-a-file-enotdir", unlink(under_file), ENOTDIR);
    lt_sys_errno("unlink-existing-root-file-erofs", unlink(self), EROFS);

    int fd = open(LIBC, O_WRONLY);
    lt_sys_errno("open-wronly-existing-erofs", fd, EROFS);
    if (fd >= 0)
        close(fd);
    fd = open(self, O_RDWR);
    /* Linux answers ETXTBSY before EROFS for a running program on a read-only bind mount. */
    lt_sys_errno2("open-rdwr-tests-erofs", fd, EROFS, ETXTBSY);
    if (fd >= 0)
        close(fd);
    fd = open("/usr/snapfn-fs-test-new", O_WRONLY | O_CREAT, 0644);
    lt_sys_errno("open-create-usr-erofs", fd, EROFS);
    if (fd >= 0) {
        close(fd);
        unlink("/usr/snapfn-fs-test-new");
    }
    fd = open("/snapfn-fs-test-new", O_WRONLY | O_CREAT | O_EXCL, 0644);
    lt_sys_errno("open-create-root-erofs", fd, EROFS);
    if (fd >= 0) {
        close(fd);
        unlink("/snapfn-fs-test-new");
    }
    long r = mkdir("/usr/snapfn-fs-test-dir", 0755);
    lt_sys_errno("mkdir-usr-erofs", r, EROFS);
    if (r == 0)
        rmdir("/usr/snapfn-fs-test-dir");
}

static bool file_is(const char *path, const char *want)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    long n = read(fd, buf, sizeof buf);
    close(fd);
    return n == (long)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static void check_tmp(void)
{
    unlink(tmp_a);
    unlink(tmp_b);
    unlink(tmp_in_dir);
    rmdir(tmp_dir);

    int fd = open(tmp_a, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (!lt_sys_ok("tmp-create", fd))
        return;
    long n = write(fd, "hello world", 11);
    lt_check("tmp-write", n == 11, "write returned %ld", n);
    char buf[128];
    lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, sizeof buf);
    lt_check("tmp-read-back", n == 11 && memcmp(buf, "hello world", 11) == 0, "read returned %ld", n);
    struct stat st;
    lt_check("tmp-fstat-size", fstat(fd, &st) == 0 && st.st_size == 11 && S_ISREG(st.st_mode) &&
                                   (st.st_mode & 0777) == 0600,
             "size %lld, mode 0%o", (long long)st.st_size, st.st_mode);
    lt_sys_errno("tmp-create-excl-eexist", open(tmp_a, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);

    n = syscall(SYS_pwrite64, fd, "HELLO", 5, 0);
    lt_check("tmp-pwrite", n == 5 && file_is(tmp_a, "HELLO world"), "pwrite returned %ld", n);
    lt_sys_ok("tmp-ftruncate-shrink", ftruncate(fd, 4));
    lt_check("tmp-truncated", file_is(tmp_a, "HELL"), "the file is not \"HELL\" after ftruncate(4)");
    lt_sys_ok("tmp-ftruncate-grow", ftruncate(fd, 100));
    n = pread(fd, buf, sizeof buf, 0);
    bool zeros = n == 100;
    for (long i = 4; zeros && i < 100; i++)
        zeros = buf[i] == 0;
    lt_check("tmp-ftruncate-grow-zeros", zeros && memcmp(buf, "HELL", 4) == 0, "pread returned %ld, tail not zero", n);
    lt_sys_ok("tmp-ftruncate-back", ftruncate(fd, 4));
    close(fd);

    /* truncate by name (os.truncate), raw, so that glibc cannot answer for the layer. */
    lt_sys_ok("tmp-truncate-path", syscall(SYS_truncate, tmp_a, 2L));
    lt_check("tmp-truncate-path-shrinks", file_is(tmp_a, "HE"), "the file is not \"HE\" after truncate(2)");
    lt_sys_ok("tmp-truncate-path-back", syscall(SYS_truncate, tmp_a, 4L));
    lt_check("tmp-truncate-path-grows-zeros", stat(tmp_a, &st) == 0 && st.st_size == 4, "size %lld", (long long)st.st_size);
    int rewrite = open(tmp_a, O_WRONLY);
    if (rewrite >= 0) {
        n = write(rewrite, "HELL", 4);
        close(rewrite);
    }
    lt_sys_errno("tmp-truncate-negative-einval", syscall(SYS_truncate, tmp_a, -1L), EINVAL);
    lt_sys_errno("tmp-truncate-enoent", syscall(SYS_truncate, "/tmp/snapfn-fs-no-such-file", 0L), ENOENT);
    lt_sys_errno("tmp-truncate-dir-eisdir", syscall(SYS_truncate, "/tmp", 0L), EISDIR);
    lt_sys_errno("root-truncate-erofs", syscall(SYS_truncate, self, 0L), EROFS);
    lt_sys_errno("tmp-truncate-efault", syscall(SYS_truncate, (char *)8, 0L), EFAULT);

    fd = open(tmp_a, O_WRONLY | O_APPEND);
    if (lt_sys_ok("tmp-open-append", fd)) {
        lseek(fd, 0, SEEK_SET);
        n = write(fd, "XY", 2);
        lt_check("tmp-append-writes-at-end", n == 2 && file_is(tmp_a, "HELLXY"), "write returned %ld", n);
        close(fd);
    }
    fd = open(tmp_a, O_WRONLY | O_TRUNC);
    lt_check("tmp-open-trunc", fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "fd %d, size %lld", fd,
             (long long)st.st_size);
    if (fd >= 0) {
        n = write(fd, "renamed", 7);
        close(fd);
    }

    lt_sys_ok("tmp-rename", rename(tmp_a, tmp_b));
    lt_sys_errno("tmp-rename-old-gone", open(tmp_a, O_RDONLY), ENOENT);
    lt_check("tmp-rename-new-there", file_is(tmp_b, "renamed"), "%s does not hold the renamed file", tmp_b);
    lt_sys_ok("tmp-unlink", unlink(tmp_b));
    lt_sys_errno("tmp-unlink-gone", open(tmp_b, O_RDONLY), ENOENT);
    lt_sys_errno("tmp-unlink-enoent", unlink(tmp_b), ENOENT);

    lt_sys_ok("tmp-mkdir", mkdir(tmp_dir, 0700));
    lt_check("tmp-mkdir-is-dir", stat(tmp_dir, &st) == 0 && S_ISDIR(st.st_mode), "not a directory");
    lt_sys_errno("tmp-mkdir-eexist", mkdir(tmp_dir, 0700), EEXIST);
    fd = open(tmp_in_dir, O_WRONLY | O_CREAT, 0600);
    lt_sys_ok("tmp-create-in-dir", fd);
    if (fd >= 0)
        close(fd);
    lt_sys_errno2("tmp-rmdir-not-empty", rmdir(tmp_dir), ENOTEMPTY, EEXIST);
    lt_sys_errno("tmp-unlink-dir-eisdir", unlink(tmp_dir), EISDIR);
    lt_sys_ok("tmp-unlink-in-dir", unlink(tmp_in_dir));
    lt_sys_ok("tmp-rmdir", rmdir(tmp_dir));
    lt_sys_errno("tmp-rmdir-gone", stat(tmp_dir, &st), ENOENT);
}

static void check_descriptors(void)
{
    int fd = open(self, O_RDONLY);
    if (!lt_sys_ok("fd-open", fd))
        return;
    int d = dup(fd);
    lt_check("dup", d >= 0 && d != fd, "dup returned %d", d);
    lseek(fd, 100, SEEK_SET);
    lt_check("dup-shares-offset", lseek(d, 0, SEEK_CUR) == 100, "the offset is not shared");
    lt_check("dup-no-cloexec", fcntl(d, F_GETFD) == 0, "F_GETFD = %d", fcntl(d, F_GETFD));
    lt_check("dup2", dup2(fd, 100) == 100, "dup2(fd, 100) did not return 100");
    lt_check("dup2-same-fd", dup2(fd, fd) == fd, "dup2(fd, fd) did not return fd");
    lt_sys_errno("dup2-bad-oldfd", dup2(9999, 101), EBADF);
    lt_check("dup3-cloexec", dup3(fd, 101, O_CLOEXEC) == 101 && fcntl(101, F_GETFD) == FD_CLOEXEC,
             "F_GETFD on the copy = %d", fcntl(101, F_GETFD));
    lt_sys_errno("dup3-same-fd-einval", dup3(fd, fd, 0), EINVAL);
    int c = fcntl(fd, F_DUPFD_CLOEXEC, 200);
    lt_check("fcntl-dupfd-cloexec", c >= 200 && fcntl(c, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC returned %d", c);
    int c2 = fcntl(fd, F_DUPFD, 200);
    lt_check("fcntl-dupfd-lowest-free", c2 > c, "F_DUPFD 200 returned %d (200 taken by %d)", c2, c);
    lt_check("fcntl-setfd", fcntl(d, F_SETFD, FD_CLOEXEC) == 0 && fcntl(d, F_GETFD) == FD_CLOEXEC, "F_SETFD failed");
    int fl = fcntl(fd, F_GETFL);
    lt_check("fcntl-getfl", fl >= 0 && (fl & O_ACCMODE) == O_RDONLY, "F_GETFL = 0x%x", fl);
    lt_check("fcntl-setfl", fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK),
             "O_NONBLOCK not set");
    lt_check("fcntl-setfl-shared-by-dup", (fcntl(d, F_GETFL) & O_NONBLOCK) != 0, "a dup does not share the flags");
    lt_sys_errno("fcntl-bad-fd", fcntl(9999, F_GETFD), EBADF);

    lt_sys_ok("close-dup", close(d));
    lt_sys_errno("read-closed-ebadf", read(d, &fl, 1), EBADF);
    lt_sys_errno("close-again-ebadf", close(d), EBADF);
    lt_sys_errno("close-9999-ebadf", syscall(SYS_close, 9999), EBADF);
    lt_sys_errno("close-negative-ebadf", syscall(SYS_close, -1), EBADF);
    lt_sys_errno("write-readonly-fd-ebadf", write(fd, "x", 1), EBADF);
    close(100);
    close(101);
    close(c);
    close(c2);
    close(fd);
    int again = open(self, O_RDONLY);
    lt_check("fd-lowest-reused", again == fd, "open after closing returned %d, want the lowest free %d", again, fd);
    if (again >= 0)
        close(again);

    /* close_range (CPython's os.closerange, subprocess): closes or marks close-on-exec a range, gaps and all. */
    int ranged = open(self, O_RDONLY);
    dup2(ranged, 300);
    dup2(ranged, 302);
    dup2(ranged, 310);
    close(ranged);
    lt_sys_ok("close-range-cloexec", syscall(SYS_close_range, 300, 305, 4 /* CLOSE_RANGE_CLOEXEC */));
    lt_check("close-range-cloexec-marks", fcntl(300, F_GETFD) == FD_CLOEXEC && fcntl(302, F_GETFD) == FD_CLOEXEC &&
                                              fcntl(310, F_GETFD) == 0,
             "F_GETFD %d %d %d", fcntl(300, F_GETFD), fcntl(302, F_GETFD), fcntl(310, F_GETFD));
    lt_sys_ok("close-range", syscall(SYS_close_range, 300, 305, 0));
    lt_check("close-range-closes", fcntl(300, F_GETFD) == -1 && fcntl(302, F_GETFD) == -1 && fcntl(310, F_GETFD) == 0,
             "fds 300 and 302 open, or 310 closed");
    lt_sys_ok("close-range-to-the-end", syscall(SYS_close_range, 306, ~0U, 0));
    lt_check("close-range-to-the-end-closes", fcntl(310, F_GETFD) == -1, "fd 310 still open");
    lt_sys_errno("close-range-first-after-last-einval", syscall(SYS_close_range, 5, 4, 0), EINVAL);
    lt_sys_errno("close-range-bad-flag-einval", syscall(SYS_close_range, 300, 305, 1), EINVAL);
}

static void check_devices(void)
{
    char buf[4096];
    int fd = open("/dev/null", O_RDWR);
    if (lt_sys_ok("dev-null-open", fd)) {
        long n = read(fd, buf, sizeof buf);
        lt_check("dev-null-read-eof", n == 0, "read returned %ld", n);
        n = write(fd, "discard me", 10);
        lt_check("dev-null-write", n == 10, "write returned %ld", n);
        close(fd);
    }
    fd = open("/dev/zero", O_RDONLY);
    if (lt_sys_ok("dev-zero-open", fd)) {
        memset(buf, 0xaa, sizeof buf);
        long n = read(fd, buf, sizeof buf);
        bool zero = n == (long)sizeof buf;
        for (size_t i = 0; zero && i < sizeof buf; i++)
            zero = buf[i] == 0;
        lt_check("dev-zero-reads-zeros", zero, "read returned %ld or non-zero bytes", n);
        close(fd);
    }
    const char *random_devices[] = {"/dev/urandom", "/dev/random"};
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s-32-bytes", random_devices[i] + 5);
        fd = open(random_devices[i], O_RDONLY);
        if (fd < 0) {
            lt_fail(name, "open(%s) failed with %s", random_devices[i], lt_errname(errno));
            continue;
        }
        unsigned char r[32];
        memset(r, 0, sizeof r);
        long n = read(fd, r, sizeof r);
        bool varied = false;
        for (size_t j = 1; j < sizeof r; j++)
            varied |= r[j] != r[0];
        lt_check(name, n == 32 && varied, "read returned %ld, bytes all equal: %s", n, varied ? "no" : "yes");
        close(fd);
    }
    struct stat st;
    lt_check("dev-null-is-chardev", stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "mode 0%o", st.st_mode);

    char termios_buf[64]; /* the kernel's struct termios is 36 bytes */
    long r = syscall(SYS_ioctl, 1, TCGETS, termios_buf);
    if (r == 0)
        lt_ok("ioctl-tcgets-stdout", "stdout is a terminal");
    else
        lt_check("ioctl-tcgets-stdout", errno == ENOTTY, "returned %ld with %s, want 0 or ENOTTY", r,
                 lt_errname(errno));
}

int main(int argc, char **argv)
{
    (void)argc;
    lt_init();
    self = argv[0];
    int pid = getpid();
    snprintf(tmp_a, sizeof tmp_a, "/tmp/snapfn-fs-%d-a", pid);
    snprintf(tmp_b, sizeof tmp_b, "/tmp/snapfn-fs-%d-b", pid);
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/snapfn-fs-%d-dir", pid);
    snprintf(tmp_in_dir, sizeof tmp_in_dir, "%s/file", tmp_dir);

    check_self_file();
    check_readlink_cwd();
    check_openat_getdents();
    check_read_only();
    check_tmp();
    check_descriptors();
    check_devices();
    return lt_finish();
}
