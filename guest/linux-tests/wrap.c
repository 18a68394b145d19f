/* wrap: system-call arguments that wrap past 2^64 or run off the end of guest memory must get the errno Linux
 * gives (or a short count), never a VMM error, and must change nothing: the program's own memory and the
 * VMM's pages below it (page tables, GDT, the system-call stub, the vDSO) stay intact, which the program shows
 * by checking its data and then making more system calls, the vDSO's clock included.
 * Run as `/tests/wrap-static` (no arguments). Natively most checks pass too (Linux's own answers). */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
/* A length whose page rounding wraps to 0 (munmap's case in issue 18), and one whose end wraps. */
#define WRAPS_WHEN_ROUNDED (UINT64_MAX - PAGE + 2)
#define LAST_PAGE (UINT64_MAX - PAGE + 1)

/* Raw brk runs before anything prints (stdio's buffer comes from malloc, which moves the break). */
struct brk_results {
    long start, wrapped, max, last_page, after;
};

static void run_brk(struct brk_results *r)
{
    r->start = syscall(SYS_brk, 0);
    r->wrapped = syscall(SYS_brk, 0xfffffffffffff001UL);
    r->max = syscall(SYS_brk, UINT64_MAX);
    r->last_page = syscall(SYS_brk, LAST_PAGE);
    r->after = syscall(SYS_brk, 0);
}

#define HEAP_DATA (64 * 1024)

int main(int argc, char **argv)
{
    (void)argc;
    /* Data on the heap (below the break: under malloc's mmap threshold) that a wrapped brk would discard. */
    unsigned char *heap = malloc(HEAP_DATA);
    if (heap == NULL)
        return 1;
    memset(heap, 0x3c, HEAP_DATA);
    struct brk_results b;
    run_brk(&b);

    lt_init();
    lt_check("brk-wrapping-end-refused", b.wrapped == b.start, "brk(0xfffffffffffff001) = 0x%lx, break was 0x%lx", b.wrapped, b.start);
    lt_check("brk-max-refused", b.max == b.start, "brk(2^64-1) = 0x%lx, break was 0x%lx", b.max, b.start);
    lt_check("brk-last-page-refused", b.last_page == b.start, "brk(2^64-4096) = 0x%lx", b.last_page);
    lt_check("brk-unchanged", b.after == b.start, "brk(0) = 0x%lx after, 0x%lx before", b.after, b.start);
    lt_check("heap-intact-after-brk", lt_all_bytes(heap, HEAP_DATA, 0x3c), "heap data below the break changed");

    unsigned char *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd_self = open(argv[0], O_RDONLY);
    int fd_zero = open("/dev/zero", O_RDONLY);
    int fd_null = open("/dev/null", O_WRONLY);
    /* /dev/null never reads the buffer; a file in /tmp does. */
    char tmp_path[64];
    snprintf(tmp_path, sizeof tmp_path, "/tmp/snapfn-wrap-%d", getpid());
    int fd_tmp = open(tmp_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (m == MAP_FAILED || fd_self < 0 || fd_zero < 0 || fd_null < 0 || fd_tmp < 0) {
        lt_fail("setup", "mmap or open failed with %s", lt_errname(errno));
        return lt_finish();
    }
    memset(m, 0x5a, 4 * PAGE);

    /* munmap: EINVAL for a length that rounds past 2^64 or an end that wraps (mm/mmap.c, do_vmi_munmap). */
    lt_sys_errno("munmap-length-rounds-past-2^64", syscall(SYS_munmap, m, WRAPS_WHEN_ROUNDED), EINVAL);
    lt_sys_errno("munmap-length-2^64-1", syscall(SYS_munmap, m, UINT64_MAX), EINVAL);
    lt_sys_errno("munmap-end-wraps", syscall(SYS_munmap, m, LAST_PAGE), EINVAL);
    lt_sys_errno("munmap-last-page", syscall(SYS_munmap, LAST_PAGE, PAGE), EINVAL);

    /* mprotect: ENOMEM when the rounded end wraps (mm/mprotect.c: end <= start). */
    lt_sys_errno("mprotect-length-rounds-past-2^64", syscall(SYS_mprotect, m, WRAPS_WHEN_ROUNDED, PROT_READ), ENOMEM);
    lt_sys_errno("mprotect-end-wraps", syscall(SYS_mprotect, m, LAST_PAGE, PROT_NONE), ENOMEM);
    lt_sys_errno("mprotect-last-page", syscall(SYS_mprotect, LAST_PAGE, PAGE, PROT_READ), ENOMEM);

    /* madvise: EINVAL when the rounded length or the end wraps (mm/madvise.c). */
    lt_sys_errno("madvise-length-rounds-past-2^64", syscall(SYS_madvise, m, WRAPS_WHEN_ROUNDED, MADV_DONTNEED), EINVAL);
    lt_sys_errno("madvise-end-wraps", syscall(SYS_madvise, m, LAST_PAGE, MADV_DONTNEED), EINVAL);
    lt_sys_errno("madvise-last-page", syscall(SYS_madvise, LAST_PAGE, 2 * PAGE, MADV_DONTNEED), EINVAL);

    /* mmap: ENOMEM for a length that rounds past 2^64 or a MAP_FIXED range past the top; EOVERFLOW for a file
     * offset whose last byte does not fit in an off_t. */
    lt_sys_errno("mmap-length-rounds-past-2^64",
                 syscall(SYS_mmap, 0, WRAPS_WHEN_ROUNDED, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    lt_sys_errno("mmap-length-2^64-1", syscall(SYS_mmap, 0, UINT64_MAX, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    lt_sys_errno("mmap-fixed-end-wraps",
                 syscall(SYS_mmap, LAST_PAGE, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), ENOMEM);
    lt_sys_errno("mmap-file-offset-past-off_t",
                 syscall(SYS_mmap, 0, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd_self, (long)(INT64_MAX - PAGE + 1)), EOVERFLOW);
    lt_sys_errno("mmap-file-offset-last-page",
                 syscall(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, fd_self, (long)LAST_PAGE), EOVERFLOW);

    /* mremap: a length that rounds past 2^64 is EINVAL. */
    lt_sys_errno("mremap-new-length-rounds-past-2^64", syscall(SYS_mremap, m, PAGE, WRAPS_WHEN_ROUNDED, MREMAP_MAYMOVE), EINVAL);
    lt_sys_errno("mremap-old-length-rounds-past-2^64", syscall(SYS_mremap, m, WRAPS_WHEN_ROUNDED, PAGE, 0), EINVAL);

    lt_check("mapping-intact", lt_all_bytes(m, 4 * PAGE, 0x5a), "the mapping changed after refused calls");

    /* Pointers near the end of guest memory (the top of the stack) and near 2^64, and counts near 2^64. */
    struct sysinfo si;
    unsigned char *top = NULL;
    if (syscall(SYS_sysinfo, &si) == 0)
        top = (unsigned char *)(uintptr_t)((uint64_t)si.totalram * si.mem_unit);
    unsigned char *near_top = top ? top - 16 : NULL;
    if (near_top) {
        lt_efault_or_short("read-past-end-of-memory", syscall(SYS_read, fd_zero, near_top, 4096), 16);
        lt_efault_or_short("read-count-2^64-1-at-end-of-memory", syscall(SYS_read, fd_zero, near_top, UINT64_MAX), 16);
        lt_efault_or_short("write-past-end-of-memory", syscall(SYS_write, fd_tmp, near_top, 4096), 16);
        struct iovec at_top = {near_top, 4096};
        lt_efault_or_short("readv-past-end-of-memory", syscall(SYS_readv, fd_zero, &at_top, 1), 16);
    } else {
        lt_fail("sysinfo", "no total memory size");
    }
    lt_sys_errno("read-at-last-page", syscall(SYS_read, fd_zero, LAST_PAGE, 2 * PAGE), EFAULT);
    lt_sys_errno("write-at-last-page", syscall(SYS_write, fd_tmp, LAST_PAGE, 2 * PAGE), EFAULT);
    lt_sys_errno("read-at-2^64-16", syscall(SYS_read, fd_zero, UINT64_MAX - 15, 4096), EFAULT);
    lt_efault_or_short("read-count-2^64-1", syscall(SYS_read, fd_zero, m, UINT64_MAX), 4 * PAGE);
    lt_efault_or_short("write-count-2^63", syscall(SYS_write, fd_tmp, m, 1UL << 63), 4 * PAGE);
    lt_efault_or_short("pread-count-2^64-1", syscall(SYS_pread64, fd_self, m, UINT64_MAX, 0), 4 * PAGE);
    lt_sys_errno("pread-offset-plus-count-past-off_t", syscall(SYS_pread64, fd_self, m, 16, INT64_MAX - 4), EINVAL);
    /* getdents64's count is an unsigned int that the kernel holds in an int: 2^64-1 is -1, no entry fits. */
    int fd_root = open("/", O_RDONLY | O_DIRECTORY);
    lt_sys_errno("getdents64-count-2^64-1", syscall(SYS_getdents64, fd_root, m, UINT64_MAX), EINVAL);
    lt_sys_errno("getdents64-at-last-page", syscall(SYS_getdents64, fd_root, LAST_PAGE, 2 * PAGE), EFAULT);

    /* readv/writev: the iovec array itself near 2^64, an iov_len above SSIZE_MAX, too many iovecs. */
    lt_sys_errno("readv-iovec-array-at-2^64-16", syscall(SYS_readv, fd_zero, UINT64_MAX - 15, 2), EFAULT);
    lt_sys_errno("writev-iovec-array-at-last-page", syscall(SYS_writev, fd_tmp, LAST_PAGE, 1024), EFAULT);
    struct iovec negative[2] = {{m, 16}, {m, 1UL << 63}};
    lt_sys_errno("readv-iov_len-above-ssize_max", syscall(SYS_readv, fd_zero, negative, 2), EINVAL);
    lt_sys_errno("writev-iov_len-above-ssize_max", syscall(SYS_writev, fd_tmp, negative, 2), EINVAL);
    lt_sys_errno("readv-1025-iovecs", syscall(SYS_readv, fd_zero, negative, 1025), EINVAL);
    lt_sys_errno("readv-iovcnt-2^64-1", syscall(SYS_readv, fd_zero, negative, UINT64_MAX), EINVAL);
    struct iovec huge[2] = {{m, (1UL << 62)}, {m, (1UL << 62)}};
    lt_efault_or_short("writev-lengths-summing-past-2^63", syscall(SYS_writev, fd_tmp, huge, 2), 4 * PAGE);
    lt_efault_or_short("readv-lengths-summing-past-2^63", syscall(SYS_readv, fd_zero, huge, 2), 4 * PAGE);

    /* poll: the pollfd array near 2^64. */
    lt_sys_errno("poll-array-at-2^64-8", syscall(SYS_poll, UINT64_MAX - 7, 2, 0), EFAULT);

    /* The program's memory and the VMM's pages are intact: the data is there and more calls work. */
    lt_check("heap-intact", lt_all_bytes(heap, HEAP_DATA, 0x3c), "heap data changed");
    lt_check("mapping-intact-at-end", lt_all_bytes(m, 4 * PAGE, 0x5a), "the mapping changed");
    unsigned char *more = malloc(4 << 20);
    lt_check("malloc-after", more != NULL, "malloc of 4 MiB failed");
    if (more) {
        memset(more, 0x11, 4 << 20);
        lt_check("malloc-after-usable", lt_all_bytes(more, 4 << 20, 0x11), "fresh heap memory misbehaves");
    }
    long brk_now = syscall(SYS_brk, 0);
    lt_check("brk-grows-after", syscall(SYS_brk, brk_now + 16 * PAGE) == brk_now + (long)(16 * PAGE), "brk cannot grow");
    lt_check("brk-shrinks-after", syscall(SYS_brk, brk_now) == brk_now, "brk cannot shrink back");
    struct timespec vdso_ts, raw_ts;
    lt_check("vdso-clock-after", clock_gettime(CLOCK_MONOTONIC, &vdso_ts) == 0 &&
                                 syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &raw_ts) == 0 &&
                                 llabs(lt_ts_ns(&vdso_ts) - lt_ts_ns(&raw_ts)) < 50 * LT_MS,
             "the vDSO's clock and the system call's disagree");
    unsigned char elf[4];
    lt_check("file-read-after", pread(fd_self, elf, 4, 0) == 4 && memcmp(elf, "\177ELF", 4) == 0, "cannot read own ELF header");
    close(fd_tmp);
    unlink(tmp_path);
    lt_ok("still-running", "after every wrapping argument");
    return lt_finish();
}
