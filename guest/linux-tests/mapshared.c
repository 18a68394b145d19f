/* mapshared: MAP_SHARED mappings of /tmp files from inside the guest. Snapfn keeps them coherent by write-back
 * (src/Snapfn.Linux/Memory/SharedFileMappings.cs) rather than by sharing pages, so every check here is at a point
 * where Linux and Snapfn must agree: a read, write, truncate or fsync of the file through a descriptor, msync,
 * munmap, another mapping. Run as `/tests/mapshared-static` (no arguments). */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096

static char page[2 * PAGE];

static int make(const char *path, int extra)
{
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | extra, 0644);
    memset(page, 'a', sizeof page);
    if (fd < 0 || pwrite(fd, page, sizeof page, 0) != (ssize_t)sizeof page)
        lt_fail("make", "%s: %s", path, lt_errname(errno));
    return fd;
}

static bool bytes_at(int fd, off_t offset, const char *want)
{
    char got[64] = {0};
    size_t n = strlen(want);
    return pread(fd, got, n, offset) == (ssize_t)n && memcmp(got, want, n) == 0;
}

static void check_write_through(void)
{
    int fd = make("/tmp/mapshared-a", 0);
    char *map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    lt_check("mmap-shared", map != MAP_FAILED, "%s", lt_errname(errno));
    if (map == MAP_FAILED)
        return;
    memcpy(map + 10, "STORE", 5);
    lt_check("store-seen-by-pread", bytes_at(fd, 9, "aSTOREa"), "pread does not see the store");
    pwrite(fd, "WRITE", 5, PAGE + 1);
    lt_check("pwrite-seen-by-mapping", memcmp(map + PAGE, "aWRITEa", 7) == 0, "the mapping does not see pwrite");
    lseek(fd, 0, SEEK_SET);
    write(fd, "xyz", 3);
    lt_check("write-seen-by-mapping", memcmp(map, "xyz", 3) == 0, "the mapping does not see write");
    map[3] = '!';
    char c = 0;
    lt_check("store-seen-by-read", read(fd, &c, 1) == 1 && c == '!', "read gave '%c'", c);

    map[100] = 'M';
    lt_sys_ok("msync-sync", msync(map, 2 * PAGE, MS_SYNC));
    lt_sys_ok("msync-async", msync(map, PAGE, MS_ASYNC));
    lt_sys_errno("msync-unaligned-einval", msync(map + 1, PAGE, MS_SYNC), EINVAL);
    lt_sys_errno("msync-both-einval", msync(map, PAGE, MS_SYNC | MS_ASYNC), EINVAL);
    close(fd);
    memcpy(map + PAGE + 100, "after-close", 11);
    lt_sys_ok("munmap", munmap(map, 2 * PAGE));
    lt_sys_errno("msync-unmapped-enomem", msync(map, PAGE, MS_SYNC), ENOMEM);
    fd = open("/tmp/mapshared-a", O_RDONLY);
    lt_check("munmap-keeps-stores", bytes_at(fd, 100, "M") && bytes_at(fd, PAGE + 100, "after-close"),
             "the file lost stores made before munmap");
    close(fd);
}

static void check_two_mappings(void)
{
    int fd = make("/tmp/mapshared-b", 0);
    char *a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *b = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    a[0] = 'A';
    b[1] = 'B';
    msync(a, PAGE, MS_SYNC);
    lt_check("two-mappings-merge", bytes_at(fd, 0, "ABa") && memcmp(a, "ABa", 3) == 0 && memcmp(b, "ABa", 3) == 0,
             "a %.3s b %.3s", a, b);
    char *priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    lt_check("private-sees-shared", priv[0] == 'A', "private copy has '%c'", priv[0]);
    priv[2] = 'P';
    munmap(priv, PAGE);
    lt_check("private-not-written-back", bytes_at(fd, 2, "a"), "a private store reached the file");
    munmap(a, PAGE);
    munmap(b, PAGE);
    close(fd);
}

static void check_truncate_append_dontneed(void)
{
    int fd = make("/tmp/mapshared-c", O_APPEND);
    char *map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(map + 5, "here", 4);
    lt_sys_ok("madvise-dontneed", madvise(map, 2 * PAGE, MADV_DONTNEED));
    lt_check("dontneed-keeps-stores", memcmp(map + 5, "here", 4) == 0 && bytes_at(fd, 5, "here"), "the store was lost");
    struct stat st;
    fstat(fd, &st);
    lt_check("append-descriptor-in-place", st.st_size == 2 * PAGE, "the file is %ld bytes", (long)st.st_size);
    char *moved = mremap(map, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
    lt_check("mremap-keeps-stores", moved != MAP_FAILED && memcmp(moved + 5, "here", 4) == 0, "%s", lt_errname(errno));
    memcpy(moved + 9, "too", 3);
    msync(moved, 2 * PAGE, MS_SYNC);
    lt_check("mremap-still-shared", bytes_at(fd, 5, "heretoo"), "a store after mremap did not reach the file");
    lt_sys_ok("ftruncate-shrink", ftruncate(fd, PAGE));
    memcpy(moved, "in", 2);
    lt_sys_ok("fsync", fsync(fd));
    lt_check("store-before-fsync", bytes_at(fd, 0, "in"), "fsync did not see the store");
    fstat(fd, &st);
    lt_check("truncated-stays", st.st_size == PAGE, "the file is %ld bytes", (long)st.st_size);
    munmap(moved, 4 * PAGE);
    close(fd);
}

/* test_mmap's LargeMmapTests: a read-only shared mapping of a large sparse file (128 MiB, above the 64 MiB Snapfn
 * allows writable shared mappings) reads the file and follows its writes; a read-only one made writable writes back. */
static void check_large_read_only(void)
{
    const size_t size = 128UL << 20;
    int fd = make("/tmp/mapshared-d", 0);
    pwrite(fd, "tail", 4, (off_t)size - 4);
    char *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (!lt_check("large-read-only-shared-mmap", map != MAP_FAILED, "mmap of 128 MiB: %s", lt_errname(errno))) {
        close(fd);
        return;
    }
    lt_check("large-read-only-reads-file", memcmp(map + size - 4, "tail", 4) == 0 && map[0] == 'a' && map[size / 2] == 0, "ends \"%.4s\"", map + size - 4);
    pwrite(fd, "head", 4, 0);
    lt_check("large-read-only-follows-writes", memcmp(map, "head", 4) == 0, "starts \"%.4s\"", map);
    munmap(map, size);

    map = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    lt_sys_ok("read-only-shared-mprotect-writable", mprotect(map, PAGE, PROT_READ | PROT_WRITE));
    memcpy(map + 8, "made-writable", 13);
    msync(map, PAGE, MS_SYNC);
    lt_check("made-writable-writes-back", bytes_at(fd, 8, "made-writable"), "the file does not have the store");
    munmap(map, PAGE);
    close(fd);
}

int main(void)
{
    lt_init();
    check_write_through();
    check_two_mappings();
    check_truncate_append_dontneed();
    check_large_read_only();
    unlink("/tmp/mapshared-d");
    unlink("/tmp/mapshared-a");
    unlink("/tmp/mapshared-b");
    unlink("/tmp/mapshared-c");
    return lt_finish();
}
