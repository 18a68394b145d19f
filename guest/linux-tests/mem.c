/* mem: the address space (mmap, munmap, mprotect, mremap, brk, madvise) from inside the guest.
 * Run as `/tests/mem-static` (no arguments); maps its own file, argv[0]. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL

static void *map_anon(size_t len)
{
    return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* Raw brk, before anything in this program prints (stdio's buffer comes from malloc, which may move the
 * break): results are kept and reported after the break is back where malloc left it. */
struct brk_results {
    long start, grown, shrunk, restored, huge, below;
    bool wrote, regrown_zero;
};

static void run_brk(struct brk_results *r)
{
    r->start = syscall(SYS_brk, 0);
    r->grown = syscall(SYS_brk, r->start + 64 * PAGE);
    r->wrote = false;
    r->regrown_zero = false;
    if (r->grown == r->start + (long)(64 * PAGE)) {
        memset((void *)r->start, 0x5a, 64 * PAGE);
        r->wrote = lt_all_bytes((void *)r->start, 64 * PAGE, 0x5a);
    }
    r->shrunk = syscall(SYS_brk, r->start + PAGE);
    /* Growing again must give fresh zero pages where the shrink dropped them. */
    long regrown = syscall(SYS_brk, r->start + 4 * PAGE);
    if (regrown == r->start + (long)(4 * PAGE))
        r->regrown_zero = lt_all_bytes((void *)(r->start + PAGE), 3 * PAGE, 0);
    r->huge = syscall(SYS_brk, r->start + (64L << 30));
    r->below = syscall(SYS_brk, 4096);
    r->restored = syscall(SYS_brk, r->start);
}

static void report_brk(const struct brk_results *r)
{
    lt_check("brk-query", r->start > 0, "brk(0) = 0x%lx", r->start);
    lt_check("brk-grow", r->grown == r->start + (long)(64 * PAGE), "brk(+256 KiB) = 0x%lx from 0x%lx", r->grown,
             r->start);
    lt_check("brk-write", r->wrote, "the grown break is not writable and readable");
    lt_check("brk-shrink", r->shrunk == r->start + (long)PAGE, "brk(+4 KiB) = 0x%lx", r->shrunk);
    lt_check("brk-regrow-zero", r->regrown_zero, "pages dropped by a shrink came back non-zero");
    lt_check("brk-huge-fails", r->huge != r->start + (64L << 30), "brk(+64 GiB) succeeded");
    lt_check("brk-below-start-refused", r->below != 4096, "brk(4096) moved the break to 4096");
    lt_check("brk-restore", r->restored == r->start, "brk back to the start returned 0x%lx", r->restored);
}

static void check_anon(void)
{
    size_t len = 256 * PAGE;
    unsigned char *p = map_anon(len);
    if (!lt_check("mmap-anon", p != MAP_FAILED && ((uintptr_t)p % PAGE) == 0, "mmap failed with %s",
                  lt_errname(errno)))
        return;
    lt_check("mmap-anon-zeroed", lt_all_bytes(p, len, 0), "fresh anonymous memory is not zero");
    memset(p, 0xaa, len);
    lt_sys_errno("mmap-zero-length-einval", (long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);

    /* MAP_FIXED over the middle replaces those pages only. */
    void *q = mmap(p + 8 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    lt_check("mmap-fixed-over", q == p + 8 * PAGE, "MAP_FIXED returned %p, want %p", q, (void *)(p + 8 * PAGE));
    lt_check("mmap-fixed-over-zero", lt_all_bytes(p + 8 * PAGE, 4 * PAGE, 0), "the replaced pages are not zero");
    lt_check("mmap-fixed-keeps-neighbours", lt_all_bytes(p, 8 * PAGE, 0xaa) && lt_all_bytes(p + 12 * PAGE, 4 * PAGE, 0xaa),
             "pages around the MAP_FIXED mapping changed");

    /* munmap makes the page go: MAP_FIXED_NOREPLACE can take its place (it refuses a mapped one). */
    lt_sys_ok("munmap-page", munmap(p + 20 * PAGE, PAGE));
    q = mmap(p + 20 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    lt_check("munmap-then-noreplace", q == p + 20 * PAGE,
             "MAP_FIXED_NOREPLACE on the unmapped page returned %p (%s)", q,
             q == MAP_FAILED ? lt_errname(errno) : "a different address");
    if (q == p + 20 * PAGE)
        lt_check("munmap-then-noreplace-zero", lt_all_bytes(q, PAGE, 0), "the page came back with its old contents");
    q = mmap(p + 21 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    lt_sys_errno("noreplace-on-mapped-eexist", (long)q, EEXIST);
    lt_check("noreplace-keeps-contents", lt_all_bytes(p + 21 * PAGE, PAGE, 0xaa), "a refused MAP_FIXED_NOREPLACE changed "
             "the mapped page");
    lt_sys_errno("munmap-unaligned-einval", munmap(p + 1, PAGE), EINVAL);
    lt_sys_ok("munmap", munmap(p + 30 * PAGE, PAGE));
    lt_sys_ok("munmap-unmapped-is-ok", munmap(p + 30 * PAGE, PAGE)); /* Linux: not an error */

    /* mprotect */
    lt_sys_ok("mprotect-read", mprotect(p, PAGE, PROT_READ));
    lt_check("mprotect-read-readable", p[0] == 0xaa, "contents changed");
    lt_sys_ok("mprotect-none", mprotect(p + PAGE, PAGE, PROT_NONE));
    lt_sys_ok("mprotect-read-write", mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE));
    p[0] = 1;
    p[PAGE] = 2;
    lt_check("mprotect-write-after", p[0] == 1 && p[PAGE] == 2 && p[PAGE + 1] == 0xaa, "contents wrong");
    lt_sys_errno("mprotect-unaligned-einval", mprotect(p + 1, PAGE, PROT_READ), EINVAL);

    /* madvise(MADV_DONTNEED) on private anonymous memory: the pages read zero afterwards. */
    lt_sys_ok("madvise-dontneed", madvise(p + 40 * PAGE, 8 * PAGE, MADV_DONTNEED));
    lt_check("madvise-dontneed-zero", lt_all_bytes(p + 40 * PAGE, 8 * PAGE, 0), "the pages kept their contents");
    lt_check("madvise-dontneed-neighbours",
             lt_all_bytes(p + 39 * PAGE, PAGE, 0xaa) && lt_all_bytes(p + 48 * PAGE, PAGE, 0xaa),
             "neighbouring pages changed");
    p[40 * PAGE] = 7;
    lt_check("madvise-dontneed-writable", p[40 * PAGE] == 7, "the page is not writable afterwards");
    lt_sys_ok("madvise-willneed", madvise(p, 16 * PAGE, MADV_WILLNEED));
    munmap(p, len);

    /* Shared anonymous memory (no fork, so it behaves as private here, but programs ask for it). */
    unsigned char *s = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    lt_check("mmap-shared-anon", s != MAP_FAILED && lt_all_bytes(s, 4 * PAGE, 0), "mmap failed (%s) or not zero",
             lt_errname(errno));
    if (s != MAP_FAILED) {
        s[0] = 3;
        munmap(s, 4 * PAGE);
    }
}

static void check_mremap(void)
{
    unsigned char *p = map_anon(4 * PAGE);
    if (p == MAP_FAILED) {
        lt_fail("mremap-setup", "mmap failed with %s", lt_errname(errno));
        return;
    }
    for (size_t i = 0; i < 4 * PAGE; i++)
        p[i] = (unsigned char)(i * 7 + 3);
    unsigned char *q = mremap(p, 4 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    if (!lt_check("mremap-grow-maymove", q != MAP_FAILED, "mremap failed with %s", lt_errname(errno)))
        return;
    bool same = true;
    for (size_t i = 0; i < 4 * PAGE; i++)
        same &= q[i] == (unsigned char)(i * 7 + 3);
    lt_check("mremap-keeps-contents", same, "the contents changed in the move");
    lt_check("mremap-grown-part-zero", lt_all_bytes(q + 4 * PAGE, 60 * PAGE, 0), "the new part is not zero");
    memset(q + 4 * PAGE, 0x11, 60 * PAGE);
    lt_check("mremap-grown-part-writable", lt_all_bytes(q + 63 * PAGE, PAGE, 0x11), "the new part is not writable");
    if (q != p) {
        void *r = mmap(p, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        lt_check("mremap-moved-old-range-free", r == (void *)p, "the old range is still mapped (%s)",
                 r == MAP_FAILED ? lt_errname(errno) : "other address");
        if (r != MAP_FAILED)
            munmap(r, 4 * PAGE);
    } else {
        lt_ok("mremap-moved-old-range-free", "grown in place");
    }
    unsigned char *s = mremap(q, 64 * PAGE, 8 * PAGE, 0);
    lt_check("mremap-shrink-in-place", s == q && s[0] == 3 && s[7 * PAGE] == 0x11, "shrink returned %p, was %p",
             (void *)s, (void *)q);
    munmap(s, 8 * PAGE);

    /* Without MREMAP_MAYMOVE a mapping cannot grow into the one after it (both ours: the last of three pages
     * unmapped and mapped again on its own). */
    unsigned char *a = map_anon(3 * PAGE);
    void *next = MAP_FAILED;
    if (a != MAP_FAILED && munmap(a + 2 * PAGE, PAGE) == 0)
        next = mmap(a + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (next == a + 2 * PAGE)
        lt_sys_errno("mremap-grow-blocked-enomem", (long)mremap(a, 2 * PAGE, 4 * PAGE, 0), ENOMEM);
    else
        lt_fail("mremap-grow-blocked-enomem", "could not set up two adjacent mappings (%s)", lt_errname(errno));
    if (a != MAP_FAILED)
        munmap(a, next == a + 2 * PAGE ? 3 * PAGE : 2 * PAGE);
}

static void check_file_mmap(const char *self)
{
    int fd = open(self, O_RDONLY);
    struct stat st;
    if (!lt_check("file-open", fd >= 0 && fstat(fd, &st) == 0 && st.st_size >= (off_t)(3 * PAGE), "open or fstat of %s "
                  "failed, or it is under 12 KiB", self))
        return;
    size_t size = (size_t)st.st_size;
    static unsigned char want[2 * PAGE];
    long n = pread(fd, want, 2 * PAGE, PAGE);
    unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
    if (lt_check("file-mmap-offset", m != MAP_FAILED, "mmap of %s at offset 4096 failed with %s", self,
                 lt_errname(errno))) {
        lt_check("file-mmap-matches-read", n == (long)(2 * PAGE) && memcmp(m, want, 2 * PAGE) == 0,
                 "mapped bytes differ from pread's");
        munmap(m, 2 * PAGE);
    }
    m = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    lt_check("file-mmap-elf-header", m != MAP_FAILED && memcmp(m, "\177ELF", 4) == 0, "no ELF header at offset 0");
    if (m != MAP_FAILED)
        munmap(m, PAGE);

    /* The page that holds EOF: file bytes, then zeros. */
    size_t last = (size - 1) & ~(PAGE - 1), tail = size - last;
    m = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, (off_t)last);
    n = pread(fd, want, tail, (off_t)last);
    if (lt_check("file-mmap-eof-page", m != MAP_FAILED, "mmap of the last page failed with %s", lt_errname(errno))) {
        lt_check("file-mmap-eof-page-contents", n == (long)tail && memcmp(m, want, tail) == 0 &&
                                                    lt_all_bytes(m + tail, PAGE - tail, 0),
                 "file bytes wrong or the %zu bytes after EOF are not zero", PAGE - tail);
        munmap(m, PAGE);
    }

    /* A private writable mapping of a read-only file: writes stay in memory (copy on write). */
    m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (lt_check("file-mmap-private-write", m != MAP_FAILED, "failed with %s", lt_errname(errno))) {
        m[0] = 'X';
        m[PAGE] ^= 0xff;
        unsigned char head[4];
        n = pread(fd, head, 4, 0);
        lt_check("file-mmap-private-cow", m[0] == 'X' && n == 4 && memcmp(head, "\177ELF", 4) == 0,
                 "the file changed or the write did not stick");
        lt_sys_ok("file-mmap-dontneed", madvise(m, 2 * PAGE, MADV_DONTNEED));
        lt_check("file-mmap-dontneed-rereads-file", memcmp(m, "\177ELF", 4) == 0,
                 "after MADV_DONTNEED a private file page did not come back from the file");
        munmap(m, 2 * PAGE);
    }
    lt_sys_errno("file-mmap-unaligned-offset-einval", (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL);
    lt_sys_errno("file-mmap-shared-write-readonly-fd-eacces",
                 (long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
    lt_sys_errno("mmap-bad-fd-ebadf", (long)mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 9999, 0), EBADF);
    close(fd);
}

static void check_limits_and_malloc(void)
{
    void *huge = mmap(NULL, 64UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    lt_sys_errno("mmap-64g-enomem", (long)huge, ENOMEM);
    if (huge != MAP_FAILED)
        munmap(huge, 64UL << 30);

    /* Each size: allocate, write every page, check, free; big ones come from mmap, small from brk. */
    static const size_t sizes[] = {1, 7, 16, 24, 100, 1000, 4096, 10000, 65536, 131072, 200000, 1 << 20, 10 << 20,
                                   50 << 20, 100 << 20};
    bool all_ok = true;
    char detail[96] = "";
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *p = malloc(n);
        if (!p) {
            all_ok = false;
            snprintf(detail, sizeof detail, "malloc(%zu) returned NULL", n);
            break;
        }
        unsigned char v = (unsigned char)(i + 1);
        for (size_t off = 0; off < n; off += PAGE)
            p[off] = v;
        p[n - 1] = v;
        for (size_t off = 0; off < n; off += PAGE)
            all_ok &= p[off] == v;
        all_ok &= p[n - 1] == v;
        free(p);
        if (!all_ok) {
            snprintf(detail, sizeof detail, "malloc(%zu) memory did not hold its contents", n);
            break;
        }
    }
    lt_check("malloc-sizes-up-to-100mb", all_ok, "%s", detail);

    /* Many small blocks alive at once, each with its own pattern. */
    enum { COUNT = 20000 };
    static unsigned char *blocks[COUNT];
    unsigned seed = 12345;
    bool small_ok = true;
    for (int i = 0; i < COUNT; i++) {
        seed = seed * 1103515245 + 12345;
        size_t n = 2 + (seed >> 16) % 600;
        blocks[i] = malloc(n);
        if (!blocks[i]) {
            small_ok = false;
            break;
        }
        memset(blocks[i], i & 0xff, n);
        blocks[i][0] = (unsigned char)(n & 0xff);
        blocks[i][n - 1] = (unsigned char)(i & 0xff);
    }
    seed = 12345;
    for (int i = 0; small_ok && i < COUNT; i++) {
        seed = seed * 1103515245 + 12345;
        size_t n = 2 + (seed >> 16) % 600;
        small_ok &= blocks[i][0] == (unsigned char)(n & 0xff) && blocks[i][n - 1] == (unsigned char)(i & 0xff);
    }
    for (int i = 0; i < COUNT; i += 2)
        free(blocks[i]);
    for (int i = 1; i < COUNT; i += 2)
        free(blocks[i]);
    lt_check("malloc-many-small", small_ok, "a block lost its contents or malloc failed");

    unsigned char *c = calloc(5 << 20, 1);
    lt_check("calloc-zero", c && lt_all_bytes(c, 5 << 20, 0), "calloc(5 MiB) failed or is not zero");
    free(c);

    unsigned char *r = malloc(1 << 20);
    bool realloc_ok = r != NULL;
    if (r) {
        for (size_t i = 0; i < (1 << 20); i += 997)
            r[i] = (unsigned char)i;
        unsigned char *g = realloc(r, 20 << 20); /* glibc moves big blocks with mremap */
        realloc_ok = g != NULL;
        for (size_t i = 0; realloc_ok && i < (1 << 20); i += 997)
            realloc_ok = g[i] == (unsigned char)i;
        if (g) {
            g[(20 << 20) - 1] = 1;
            free(g);
        } else {
            free(r);
        }
    }
    lt_check("realloc-grow-keeps-contents", realloc_ok, "realloc from 1 MiB to 20 MiB failed or lost contents");
}

int main(int argc, char **argv)
{
    (void)argc;
    struct brk_results brk;
    run_brk(&brk);
    lt_init();
    report_brk(&brk);
    check_anon();
    check_mremap();
    check_file_mmap(argv[0]);
    check_limits_and_malloc();
    return lt_finish();
}
