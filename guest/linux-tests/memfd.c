/* memfd: memfd_create and file seals. Run as `/tests/memfd-static [QUOTA_MIB]`: with QUOTA_MIB (the VM's /tmp quota,
 * which a memfd counts against) it also checks that a memfd cannot grow past it and that closing one frees its space.
 *
 * Every check is a plain Linux program's expectation (kernel 6.1 and later) but the quota's; where 6.1 and later
 * kernels differ (a read-only MAP_SHARED mapping of a write-sealed memfd), nothing is checked. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TMPFS_MAGIC 0x01021994

static int memfd(const char *name, unsigned flags)
{
    return (int)syscall(SYS_memfd_create, name, flags);
}

static bool file_has(const char *path, const char *text)
{
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
        n += r;
    close(fd);
    buf[n] = 0;
    return strstr(buf, text) != NULL;
}

static void check_create(void)
{
    int fd = memfd("snapfn-test", MFD_CLOEXEC);
    if (!lt_check("memfd-create", fd >= 0, "returned %d (%s)", fd, lt_errname(errno)))
        return;
    lt_check("memfd-cloexec", fcntl(fd, F_GETFD) == FD_CLOEXEC, "F_GETFD %d", fcntl(fd, F_GETFD));
    char path[64], link[300];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    lt_check("memfd-proc-fd-link", strcmp(link, "/memfd:snapfn-test (deleted)") == 0, "readlink \"%s\"", link);
    struct stat st;
    lt_check("memfd-fstat", fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 && (st.st_mode & 0777) == 0777,
             "mode 0%o, size %lld", st.st_mode, (long long)st.st_size);

    lt_check("memfd-write", write(fd, "memfd_create", 12) == 12 && lseek(fd, 0, SEEK_CUR) == 12, "offset %lld",
             (long long)lseek(fd, 0, SEEK_CUR));
    char back[16] = {0};
    lt_check("memfd-pread", pread(fd, back, 12, 0) == 12 && memcmp(back, "memfd_create", 12) == 0, "read \"%s\"", back);

    const size_t size = 1 << 20;
    lt_sys_ok("memfd-ftruncate", ftruncate(fd, (off_t)size));
    lt_check("memfd-ftruncate-size", fstat(fd, &st) == 0 && st.st_size == (off_t)size, "size %lld", (long long)st.st_size);
    char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (lt_check("memfd-mmap-shared", map != MAP_FAILED, "mmap: %s", lt_errname(errno))) {
        lt_check("memfd-mmap-sees-file", memcmp(map, "memfd_create", 12) == 0 && map[size - 1] == 0, "mapping starts \"%.12s\"", map);
        memcpy(map + 4096, "stored", 6);
        memset(back, 0, sizeof back);
        lt_check("memfd-store-reaches-file", pread(fd, back, 6, 4096) == 6 && memcmp(back, "stored", 6) == 0, "pread \"%s\"", back);
        lt_check("memfd-pwrite-reaches-mapping", pwrite(fd, "written", 7, 8192) == 7 && memcmp(map + 8192, "written", 7) == 0,
                 "mapping \"%.7s\"", map + 8192);
        lt_check("memfd-in-proc-maps", file_has("/proc/self/maps", "/memfd:snapfn-test (deleted)"), "not in /proc/self/maps");
        munmap(map, size);
    }
    close(fd);

    fd = memfd("inheritable", 0);
    lt_check("memfd-without-cloexec", fd >= 0 && fcntl(fd, F_GETFD) == 0, "fd %d, F_GETFD %d", fd, fd >= 0 ? fcntl(fd, F_GETFD) : -1);
    close(fd);

    char name[260];
    memset(name, 'n', sizeof name);
    name[249] = 0;
    fd = memfd(name, 0);
    lt_check("memfd-name-249-bytes", fd >= 0, "returned %d (%s)", fd, lt_errname(errno));
    close(fd);
    name[249] = 'n';
    name[250] = 0;
    lt_sys_errno("memfd-name-250-bytes-einval", memfd(name, 0), EINVAL);
    lt_sys_errno("memfd-bad-flags-einval", memfd("x", 0x100), EINVAL);
    lt_sys_errno("memfd-efault", syscall(SYS_memfd_create, (void *)8, 0), EFAULT);
}

static void check_seals(void)
{
    int fd = memfd("unsealable", 0);
    lt_check("memfd-default-sealed", fcntl(fd, F_GET_SEALS) == F_SEAL_SEAL, "F_GET_SEALS %d", fcntl(fd, F_GET_SEALS));
    lt_sys_errno("memfd-default-add-seals-eperm", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), EPERM);
    close(fd);

    fd = memfd("sealable", MFD_ALLOW_SEALING);
    lt_check("memfd-allow-sealing", fcntl(fd, F_GET_SEALS) == 0, "F_GET_SEALS %d", fcntl(fd, F_GET_SEALS));
    lt_sys_errno("add-seals-unknown-einval", fcntl(fd, F_ADD_SEALS, 0x100), EINVAL);
    ftruncate(fd, 8192);
    lt_sys_ok("add-seal-shrink", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
    lt_sys_errno("seal-shrink-refuses-ftruncate", ftruncate(fd, 4096), EPERM);
    lt_sys_ok("seal-shrink-lets-it-grow", ftruncate(fd, 16384));
    lt_sys_ok("add-seal-grow", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    lt_sys_errno("seal-grow-refuses-ftruncate", ftruncate(fd, 32768), EPERM);
    lt_sys_errno("seal-grow-refuses-write-past-end", pwrite(fd, "abcd", 4, 20000), EPERM);
    lt_check("seal-grow-lets-write-inside", pwrite(fd, "abcd", 4, 16380) == 4, "pwrite: %s", lt_errname(errno));
    lseek(fd, 0, SEEK_END);
    lt_sys_errno("seal-grow-refuses-write-at-end", write(fd, "x", 1), EPERM);

    char *map = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    lt_check("sealed-memfd-mmap-shared", map != MAP_FAILED, "mmap: %s", lt_errname(errno));
    lt_sys_errno("add-seal-write-while-mapped-ebusy", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
    if (map != MAP_FAILED)
        munmap(map, 16384);
    lt_sys_ok("add-seal-write", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    lt_sys_errno("seal-write-refuses-pwrite", pwrite(fd, "abcd", 4, 0), EPERM);
    lt_check("seal-write-refuses-writable-mmap", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM,
             "errno %s", lt_errname(errno));
    map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    lt_check("seal-write-lets-private-mmap", map != MAP_FAILED, "mmap: %s", lt_errname(errno));
    if (map != MAP_FAILED)
        munmap(map, 4096);
    char back[4] = {0};
    lt_check("sealed-memfd-reads", pread(fd, back, 4, 16380) == 4 && memcmp(back, "abcd", 4) == 0, "read \"%.4s\"", back);
    lt_sys_ok("add-seal-seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    lt_sys_errno("seal-seal-refuses-more", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), EPERM);
    int all = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    lt_check("get-seals", fcntl(fd, F_GET_SEALS) == all, "F_GET_SEALS %d, want %d", fcntl(fd, F_GET_SEALS), all);
    close(fd);

    /* F_SEAL_FUTURE_WRITE: a mapping made before keeps writing; new writes and writable mappings are refused. */
    fd = memfd("future", MFD_ALLOW_SEALING);
    ftruncate(fd, 4096);
    map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    lt_sys_ok("add-seal-future-write-while-mapped", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    lt_sys_errno("seal-future-write-refuses-write", pwrite(fd, "x", 1, 0), EPERM);
    lt_check("seal-future-write-refuses-writable-mmap", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM,
             "errno %s", lt_errname(errno));
    if (map != MAP_FAILED) {
        memcpy(map, "old", 3);
        msync(map, 4096, MS_SYNC);
        memset(back, 0, sizeof back);
        lt_check("seal-future-write-keeps-old-mapping", pread(fd, back, 3, 0) == 3 && memcmp(back, "old", 3) == 0, "read \"%.3s\"", back);
        munmap(map, 4096);
    }
    close(fd);

    int pipefd[2];
    pipe(pipefd);
    lt_sys_errno("get-seals-pipe-einval", fcntl(pipefd[1], F_GET_SEALS), EINVAL);
    lt_sys_errno("add-seals-read-end-eperm", fcntl(pipefd[0], F_ADD_SEALS, F_SEAL_GROW), EPERM);
    close(pipefd[0]);
    close(pipefd[1]);

    struct statfs sfs;
    int tmp = open("/tmp/memfd-seals", O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (statfs("/tmp", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC && tmp >= 0)
        lt_check("tmpfs-file-has-seal-seal", fcntl(tmp, F_GET_SEALS) == F_SEAL_SEAL, "F_GET_SEALS %d", fcntl(tmp, F_GET_SEALS));
    close(tmp);
    unlink("/tmp/memfd-seals");
}

/* A memfd is /tmp data: it cannot hold more than the quota, and closing it gives the space back. */
static void check_quota(long quota_mib)
{
    static char chunk[1 << 20];
    memset(chunk, 0x5a, sizeof chunk);
    int fd = memfd("big", 0);
    long written = 0, r = 0;
    for (long i = 0; i < quota_mib + 4 && (r = write(fd, chunk, sizeof chunk)) > 0; i++)
        written += r;
    int err = errno;
    lt_check("memfd-bounded-by-tmp-quota", written <= quota_mib << 20 && written >= (quota_mib - 1) << 20 && r < 0 && err == ENOSPC,
             "wrote %ld bytes of a %ld MiB quota, then %ld (%s)", written, quota_mib, r, lt_errname(err));
    close(fd);
    fd = memfd("again", 0);
    r = write(fd, chunk, sizeof chunk);
    lt_check("memfd-close-frees-quota", r == (long)sizeof chunk, "write returned %ld (%s)", r, lt_errname(errno));
    close(fd);
}

int main(int argc, char **argv)
{
    lt_init();
    check_create();
    check_seals();
    if (argc > 1)
        check_quota(strtol(argv[1], NULL, 10));
    return lt_finish();
}
