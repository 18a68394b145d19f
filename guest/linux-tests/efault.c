/* efault: system calls given bad pointers must fail with EFAULT, and the program must keep running.
 * Run as `/tests/efault-static` (no arguments).
 *
 * "Bad" is: NULL; 0x1000 (the VMM's page tables live there); a hole unmapped in the middle of a mapping; a
 * PROT_NONE page; kernel, non-canonical and beyond-guest-memory addresses; and, for buffers the kernel writes
 * into, read-only memory too (an anonymous PROT_READ page, the program's ELF header page, the vDSO's image
 * and its data page). A VMM that writes through one of these corrupts the guest or itself; one that reads
 * through one leaks what is there into a file. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096UL

struct ptr {
    const char *name;
    void *p;
};

static int fd_file, fd_tmp, fd_zero, fd_urandom, fd_dir;
static const char *self;

static void efault(const char *call, const char *ptr_name, long ret)
{
    char check[96];
    snprintf(check, sizeof check, "%s-%s", call, ptr_name);
    lt_sys_errno(check, ret, EFAULT);
}

/* Buffers the kernel writes into. */
static void output_checks(const struct ptr *b)
{
    void *p = b->p;
    efault("read-file-into", b->name, syscall(SYS_read, fd_file, p, 16));
    efault("pread-file-into", b->name, syscall(SYS_pread64, fd_file, p, 16, 0));
    efault("read-dev-zero-into", b->name, syscall(SYS_read, fd_zero, p, 16));
    efault("read-dev-urandom-into", b->name, syscall(SYS_read, fd_urandom, p, 16));
    struct iovec iov = {p, 16};
    efault("readv-into", b->name, syscall(SYS_readv, fd_file, &iov, 1));
    efault("getdents64-into", b->name, syscall(SYS_getdents64, fd_dir, p, 4096));
    efault("readlink-into", b->name, syscall(SYS_readlink, "/proc/self/exe", p, 64));
    efault("uname-into", b->name, syscall(SYS_uname, p));
    efault("fstat-into", b->name, syscall(SYS_newfstatat, fd_file, "", p, AT_EMPTY_PATH)); /* glibc's fstat */
    efault("newfstatat-into", b->name, syscall(SYS_newfstatat, AT_FDCWD, "/", p, 0));
    efault("getcwd-into", b->name, syscall(SYS_getcwd, p, 256));
    efault("clock-gettime-into", b->name, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p));
    efault("getrandom-into", b->name, syscall(SYS_getrandom, p, 16, 0));
    efault("sysinfo-into", b->name, syscall(SYS_sysinfo, p));
}

/* Buffers and strings the kernel reads. */
static void input_checks(const struct ptr *b)
{
    void *p = b->p;
    efault("write-from", b->name, syscall(SYS_write, fd_tmp, p, 16));
    efault("pwrite-from", b->name, syscall(SYS_pwrite64, fd_tmp, p, 16, 0));
    struct iovec iov = {p, 16};
    efault("writev-buffer", b->name, syscall(SYS_writev, fd_tmp, &iov, 1));
    efault("writev-iovec-array", b->name, syscall(SYS_writev, fd_tmp, p, 1));
    efault("readv-iovec-array", b->name, syscall(SYS_readv, fd_file, p, 1));
    efault("open-path", b->name, syscall(SYS_openat, AT_FDCWD, p, O_RDONLY));
    struct stat st;
    efault("newfstatat-path", b->name, syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0));
    efault("access-path", b->name, syscall(SYS_access, p, F_OK));
}

int main(int argc, char **argv)
{
    (void)argc;
    lt_init();
    self = argv[0];
    char tmp_path[64];
    snprintf(tmp_path, sizeof tmp_path, "/tmp/snapfn-efault-%d", getpid());
    fd_file = open(self, O_RDONLY);
    fd_tmp = open(tmp_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    fd_zero = open("/dev/zero", O_RDONLY);
    fd_urandom = open("/dev/urandom", O_RDONLY);
    fd_dir = open("/usr", O_RDONLY | O_DIRECTORY);
    if (fd_file < 0 || fd_tmp < 0 || fd_zero < 0 || fd_urandom < 0 || fd_dir < 0) {
        lt_fail("setup", "open of %s, %s, /dev/zero, /dev/urandom or /usr failed", self, tmp_path);
        return lt_finish();
    }

    /* [0: rw, 0x11][1: hole][2: rw, 0x77]; [rw][PROT_NONE]; a PROT_READ page; a PROT_NONE page. */
    unsigned char *three = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (three == MAP_FAILED || two == MAP_FAILED || ro == MAP_FAILED || none == MAP_FAILED ||
        munmap(three + PAGE, PAGE) != 0 || mprotect(two + PAGE, PAGE, PROT_NONE) != 0) {
        lt_fail("setup", "mmap, munmap or mprotect failed with %s", lt_errname(errno));
        return lt_finish();
    }
    memset(three, 0x11, PAGE);
    memset(three + 2 * PAGE, 0x77, PAGE);
    unsigned char *hole = three + PAGE;

    uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    /* Snapfn's data page is at 0x110000; Linux's vvar pages sit just below its vDSO. */
    uintptr_t vdso_data = vdso == 0x100000 ? 0x110000 : vdso - PAGE;
    uintptr_t own_header = (uintptr_t)getauxval(AT_PHDR) & ~(PAGE - 1);

    const struct ptr always_bad[] = {
        {"null", NULL},
        {"page-tables-0x1000", (void *)0x1000},
        {"unmapped-hole", hole},
        {"prot-none", none},
        {"kernel-address", (void *)0xffff880000000000UL},
        {"non-canonical", (void *)0x0000800000000000UL},
        {"beyond-memory-64g", (void *)0x1000000000UL},
    };
    const struct ptr read_only[] = {
        {"prot-read", ro},
        {"own-elf-header", (void *)own_header},
        {"vdso-image", (void *)vdso},
        {"vdso-data", (void *)vdso_data},
    };
    for (size_t i = 0; i < sizeof always_bad / sizeof always_bad[0]; i++)
        output_checks(&always_bad[i]);
    for (size_t i = 0; i < sizeof read_only / sizeof read_only[0]; i++)
        if (read_only[i].p)
            output_checks(&read_only[i]);
    lt_check("prot-read-unchanged", lt_all_bytes(ro, PAGE, 0), "the PROT_READ page was written");
    for (size_t i = 0; i < sizeof always_bad / sizeof always_bad[0]; i++)
        input_checks(&always_bad[i]);

    /* Ranges that start in a mapping and run past its end. */
    const long huge = 1L << 62;
    efault("read-length-2^62", "from-mapping", syscall(SYS_read, fd_file, three, huge));
    efault("pread-length-2^62", "from-mapping", syscall(SYS_pread64, fd_file, three, huge, 0));
    efault("write-length-2^62", "from-mapping", syscall(SYS_write, fd_tmp, three, huge));
    efault("read-dev-zero-length-2^62", "from-mapping", syscall(SYS_read, fd_zero, three, huge));
    unsigned char *edge = three + PAGE - 100;
    lt_efault_or_short("read-file-past-mapping-end", syscall(SYS_read, fd_file, edge, 8192), 100);
    lt_efault_or_short("pread-file-past-mapping-end", syscall(SYS_pread64, fd_file, edge, 8192, 0), 100);
    lt_efault_or_short("read-dev-zero-past-mapping-end", syscall(SYS_read, fd_zero, edge, 8192), 100);
    lt_efault_or_short("read-into-prot-none-neighbour", syscall(SYS_read, fd_zero, two + PAGE - 100, 8192), 100);
    lt_check("page-after-hole-untouched", lt_all_bytes(three + 2 * PAGE, PAGE, 0x77),
             "the page after the hole was written through a read into the hole");
    lt_check("bytes-before-range-untouched", lt_all_bytes(three, PAGE - 100, 0x11), "bytes before the buffer changed");

    /* Nothing may have reached the file from a bad buffer so far. */
    struct stat st;
    lt_check("nothing-written-from-bad-buffers", fstat(fd_tmp, &st) == 0 && st.st_size == 0,
             "the scratch file holds %lld bytes", (long long)st.st_size);

    memset(three, 'w', PAGE);
    lt_efault_or_short("write-past-mapping-end", syscall(SYS_write, fd_tmp, edge, 8192), 100);
    struct iovec mixed[2] = {{three, 16}, {hole, 16}};
    lt_efault_or_short("writev-good-then-bad-buffer", syscall(SYS_writev, fd_tmp, mixed, 2), 16);
    /* An iovec array whose second entry lies in the hole. */
    struct iovec *tail_iov = (struct iovec *)(three + PAGE - sizeof(struct iovec));
    tail_iov->iov_base = three;
    tail_iov->iov_len = 16;
    efault("writev-iovec-array", "runs-into-hole", syscall(SYS_writev, fd_tmp, tail_iov, 2));
    if (fstat(fd_tmp, &st) == 0 && st.st_size > 0) {
        static unsigned char back[8192 + 16];
        long n = pread(fd_tmp, back, sizeof back, 0);
        lt_check("partial-writes-wrote-only-good-bytes", n == st.st_size && lt_all_bytes(back, (size_t)n, 'w'),
                 "the file holds %ld bytes, not all from the good buffer", n);
    } else {
        lt_ok("partial-writes-wrote-only-good-bytes", "nothing written");
    }

    /* Paths that run to the end of a mapping without a terminator; and one whose NUL is the last byte. */
    memset(three + PAGE - 100, 'a', 100);
    struct stat pst;
    efault("open-path", "unterminated-before-hole", syscall(SYS_openat, AT_FDCWD, three + PAGE - 100, O_RDONLY));
    efault("newfstatat-path", "unterminated-before-hole",
           syscall(SYS_newfstatat, AT_FDCWD, three + PAGE - 100, &pst, 0));
    memset(two + PAGE - 100, 'a', 100);
    efault("open-path", "unterminated-before-prot-none", syscall(SYS_openat, AT_FDCWD, two + PAGE - 100, O_RDONLY));
    efault("newfstatat-path", "unterminated-before-prot-none",
           syscall(SYS_newfstatat, AT_FDCWD, two + PAGE - 100, &pst, 0));
    three[PAGE - 1] = '\0';
    three[PAGE - 100] = '/';
    lt_sys_errno("path-ending-at-mapping-end-is-read", syscall(SYS_openat, AT_FDCWD, three + PAGE - 100, O_RDONLY),
                 ENOENT);

    close(fd_tmp);
    unlink(tmp_path);
    lt_ok("still-running", "after every bad pointer");
    return lt_finish();
}
