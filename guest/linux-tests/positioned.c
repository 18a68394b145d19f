/* positioned: preadv, pwritev and their v2 forms, and fallocate, which CPython's test_posix found ENOSYS
 * (os.preadv, os.pwritev, os.posix_fallocate). Run as `/tests/positioned-static` (no arguments). */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif

static long sys_preadv2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    return syscall(SYS_preadv2, fd, iov, count, offset, 0, flags);
}

static long sys_pwritev2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    return syscall(SYS_pwritev2, fd, iov, count, offset, 0, flags);
}

static bool file_is(int fd, const char *text)
{
    char got[64] = {0};
    long n = pread(fd, got, sizeof got - 1, 0);
    return n == (long)strlen(text) && memcmp(got, text, n) == 0;
}

static void vector_checks(void)
{
    int fd = open("/tmp/positioned", O_RDWR | O_CREAT | O_TRUNC, 0600);
    char a[] = "abc", b[] = "defg";
    struct iovec out[2] = {{a, 3}, {b, 4}};
    long n = syscall(SYS_pwritev, fd, out, 2, 5, 0);
    lt_check("pwritev", n == 7 && lseek(fd, 0, SEEK_CUR) == 0, "returned %ld, offset %lld", n, (long long)lseek(fd, 0, SEEK_CUR));
    lt_check("pwritev-hole-before", file_is(fd, "\0\0\0\0\0abcdefg") || (pread(fd, a, 3, 5) == 3 && memcmp(a, "abc", 3) == 0),
             "wrong content");

    char x[4] = {0}, y[8] = {0};
    struct iovec in[2] = {{x, 2}, {y, 8}};
    n = syscall(SYS_preadv, fd, in, 2, 6, 0);
    lt_check("preadv", n == 6 && memcmp(x, "bc", 2) == 0 && memcmp(y, "defg", 4) == 0 && lseek(fd, 0, SEEK_CUR) == 0,
             "returned %ld", n);
    lt_sys_errno("preadv-negative-einval", syscall(SYS_preadv, fd, in, 2, (long)-5, 0), EINVAL);
    lt_check("preadv-past-end", syscall(SYS_preadv, fd, in, 2, 100, 0) == 0, "read past the end");

    /* v2: offset -1 is the file's own (it moves), RWF_APPEND writes at the end, unknown flags EOPNOTSUPP */
    lseek(fd, 5, SEEK_SET);
    n = sys_preadv2(fd, in, 1, -1, 0);
    lt_check("preadv2-current-offset", n == 2 && memcmp(x, "ab", 2) == 0 && lseek(fd, 0, SEEK_CUR) == 7, "returned %ld", n);
    char z[] = "Z";
    struct iovec tail = {z, 1};
    n = sys_pwritev2(fd, &tail, 1, 0, RWF_APPEND);
    struct stat st;
    fstat(fd, &st);
    lt_check("pwritev2-append", n == 1 && st.st_size == 13 && pread(fd, y, 1, 12) == 1 && y[0] == 'Z', "returned %ld, size %lld", n,
             (long long)st.st_size);
    lt_check("pwritev2-dsync", sys_pwritev2(fd, &tail, 1, 0, RWF_DSYNC) == 1 && pread(fd, y, 1, 0) == 1 && y[0] == 'Z', "not written");
    lt_sys_errno("preadv2-unknown-flag-eopnotsupp", sys_preadv2(fd, in, 1, 0, 0x100000), EOPNOTSUPP);
    lt_sys_errno("preadv-closed-ebadf", syscall(SYS_preadv, 999, in, 1, 0, 0), EBADF);
    int p[2];
    pipe(p);
    lt_sys_errno("pwritev-pipe-espipe", syscall(SYS_pwritev, p[1], out, 1, 0, 0), ESPIPE);
    close(p[0]);
    close(p[1]);
    int readonly = open("/tmp/positioned", O_RDONLY);
    lt_sys_errno("pwritev-read-only-ebadf", syscall(SYS_pwritev, readonly, out, 1, 0, 0), EBADF);
    close(readonly);
    close(fd);
    unlink("/tmp/positioned");
}

static void fallocate_checks(void)
{
    int fd = open("/tmp/positioned-alloc", O_RDWR | O_CREAT | O_TRUNC, 0600);
    struct stat st;
    lt_sys_ok("fallocate", syscall(SYS_fallocate, fd, 0, 0, 1 << 20));
    fstat(fd, &st);
    lt_check("fallocate-size-and-blocks", st.st_size == 1 << 20 && st.st_blocks * 512 >= 1 << 20, "size %lld, %lld blocks",
             (long long)st.st_size, (long long)st.st_blocks);
    lt_sys_ok("fallocate-keep-size", syscall(SYS_fallocate, fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20));
    fstat(fd, &st);
    lt_check("fallocate-keep-size-size", st.st_size == 1 << 20, "size %lld", (long long)st.st_size);
    pwrite(fd, "data", 4, 8192);
    lt_sys_ok("fallocate-punch-hole", syscall(SYS_fallocate, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
    char got[4] = {1, 1, 1, 1};
    fstat(fd, &st);
    lt_check("fallocate-hole-reads-zero", pread(fd, got, 4, 8192) == 4 && lt_all_bytes(got, 4, 0) && st.st_size == 1 << 20,
             "size %lld", (long long)st.st_size);
    lt_sys_errno("fallocate-punch-without-keep-size", syscall(SYS_fallocate, fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
    struct statfs fs;
    if (fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC) { /* the VM's /tmp; a host's ext4 takes these */
        lt_sys_errno("fallocate-collapse-tmpfs-eopnotsupp", syscall(SYS_fallocate, fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096), EOPNOTSUPP);
        /* past the /tmp quota: refused before the host allocates anything, and the file is as it was */
        struct stat before, after;
        fstat(fd, &before);
        lt_sys_errno("fallocate-past-quota-enospc", syscall(SYS_fallocate, fd, 0, 0, 1LL << 40), ENOSPC);
        fstat(fd, &after);
        lt_check("fallocate-past-quota-unchanged", after.st_size == before.st_size && after.st_blocks == before.st_blocks,
                 "size %lld -> %lld, blocks %lld -> %lld", (long long)before.st_size, (long long)after.st_size,
                 (long long)before.st_blocks, (long long)after.st_blocks);
    }
    lt_sys_errno("fallocate-zero-length-einval", syscall(SYS_fallocate, fd, 0, 0, 0), EINVAL);
    lt_sys_errno("fallocate-negative-offset-einval", syscall(SYS_fallocate, fd, 0, (long)-1, 10L), EINVAL);
    lt_sys_errno("fallocate-overflow-efbig", syscall(SYS_fallocate, fd, 0, 0x7fffffffffffff00LL, 0x1000), EFBIG);
    lt_sys_errno("fallocate-closed-ebadf", syscall(SYS_fallocate, 999, 0, 0, 10), EBADF);
    int readonly = open("/tmp/positioned-alloc", O_RDONLY);
    lt_sys_errno("fallocate-read-only-ebadf", syscall(SYS_fallocate, readonly, 0, 0, 10), EBADF);
    close(readonly);
    int p[2];
    pipe(p);
    lt_sys_errno("fallocate-pipe-espipe", syscall(SYS_fallocate, p[1], 0, 0, 10), ESPIPE);
    close(p[0]);
    close(p[1]);
    int rc = posix_fallocate(fd, 0, 3 << 20);
    fstat(fd, &st);
    lt_check("posix-fallocate", rc == 0 && st.st_size == 3 << 20, "returned %d, size %lld", rc, (long long)st.st_size);
    close(fd);
    unlink("/tmp/positioned-alloc");
}

int main(void)
{
    lt_init();
    vector_checks();
    fallocate_checks();
    return lt_finish();
}
