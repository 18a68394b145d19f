/* sendfile, copy_file_range, splice and tee: copies between descriptors that the data does not pass through the
 * program for (guest/linux-tests/README.md). Python's shutil.copyfile uses sendfile for every copy on Linux. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIG (3 << 20) /* more than one call's chunk in Snapfn (1 MiB), so the loops below run several times */

static unsigned char pattern(long i) { return (unsigned char)(i * 7 + i / 4093); }

static int make_source(const char *path, long size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unsigned char *data = malloc(size);
    for (long i = 0; i < size; i++)
        data[i] = pattern(i);
    long done = 0;
    while (done < size) {
        long n = write(fd, data + done, size - done);
        if (n <= 0)
            break;
        done += n;
    }
    free(data);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Whether the file at fd holds pattern(from + i) for i in [0, size), read with pread. */
static bool holds_pattern(int fd, long at, long from, long size)
{
    unsigned char *data = malloc(size);
    bool same = pread(fd, data, size, at) == size;
    for (long i = 0; same && i < size; i++)
        same = data[i] == pattern(from + i);
    free(data);
    return same;
}

static long sys_sendfile(int out, int in, off_t *offset, size_t count) { return syscall(SYS_sendfile, out, in, offset, count); }

static long sys_copy_file_range(int in, off_t *off_in, int out, off_t *off_out, size_t len, unsigned flags)
{
    return syscall(SYS_copy_file_range, in, off_in, out, off_out, len, flags);
}

static void sendfile_checks(void)
{
    int src = make_source("/tmp/copies-src", BIG);
    int dst = open("/tmp/copies-dst", O_RDWR | O_CREAT | O_TRUNC, 0600);

    /* Without an offset: from src's own offset, which moves; every call copies something until the end. */
    long total = 0, calls = 0, n;
    while ((n = sys_sendfile(dst, src, NULL, BIG)) > 0 && calls < 100) {
        total += n;
        calls++;
    }
    lt_check("sendfile copies the whole file, then 0 at its end", n == 0 && total == BIG, "last %ld, total %ld of %d in %ld calls", n, total, BIG, calls);
    lt_check("sendfile moves the input's offset", lseek(src, 0, SEEK_CUR) == BIG, "at %ld", (long)lseek(src, 0, SEEK_CUR));
    lt_check("sendfile moves the output's offset", lseek(dst, 0, SEEK_CUR) == BIG, "at %ld", (long)lseek(dst, 0, SEEK_CUR));
    lt_check("sendfile's copy is the file", holds_pattern(dst, 0, 0, BIG), "contents differ");

    /* With an offset: read there, write it back, leave src's offset alone. */
    lseek(src, 5, SEEK_SET);
    off_t offset = 100;
    n = sys_sendfile(dst, src, &offset, 1000);
    lt_check("sendfile at an offset copies what was asked", n == 1000, "%ld (%s)", n, n < 0 ? lt_errname(errno) : "");
    lt_check("sendfile writes the offset back", offset == 1100, "%ld", (long)offset);
    lt_check("sendfile at an offset leaves the input's offset", lseek(src, 0, SEEK_CUR) == 5, "at %ld", (long)lseek(src, 0, SEEK_CUR));
    lt_check("sendfile at an offset copies from there", holds_pattern(dst, BIG, 100, 1000), "contents differ");
    offset = BIG;
    lt_check("sendfile at the end is 0", sys_sendfile(dst, src, &offset, 10) == 0, "not 0");
    lt_check("sendfile of 0 bytes is 0", sys_sendfile(dst, src, NULL, 0) == 0, "not 0");

    /* Into a pipe, whose reader sees the bytes. */
    int pipefd[2];
    pipe(pipefd);
    offset = 4000;
    n = sys_sendfile(pipefd[1], src, &offset, 3000);
    unsigned char got[3000];
    long r = read(pipefd[0], got, sizeof got);
    bool same = r == 3000;
    for (int i = 0; same && i < 3000; i++)
        same = got[i] == pattern(4000 + i);
    lt_check("sendfile into a pipe", n == 3000 && same, "sent %ld, read %ld", n, r);

    /* Refusals. */
    off_t negative = -1;
    lt_sys_errno("sendfile from a pipe is EINVAL", sys_sendfile(dst, pipefd[0], NULL, 10), EINVAL);
    lt_sys_errno("sendfile with a negative offset is EINVAL", sys_sendfile(dst, src, &negative, 10), EINVAL);
    lt_sys_errno("sendfile with an unreadable offset is EFAULT", sys_sendfile(dst, src, (off_t *)8, 10), EFAULT);
    int appending = open("/tmp/copies-dst", O_WRONLY | O_APPEND);
    lt_sys_errno("sendfile to an O_APPEND file is EINVAL", sys_sendfile(appending, src, NULL, 10), EINVAL);
    int write_only = open("/tmp/copies-src", O_WRONLY);
    lt_sys_errno("sendfile from a write-only descriptor is EBADF", sys_sendfile(dst, write_only, NULL, 10), EBADF);
    int read_only = open("/tmp/copies-dst", O_RDONLY);
    lt_sys_errno("sendfile to a read-only descriptor is EBADF", sys_sendfile(read_only, src, NULL, 10), EBADF);
    lt_sys_errno("sendfile from a closed descriptor is EBADF", sys_sendfile(dst, 999, NULL, 10), EBADF);
    close(appending);
    close(write_only);
    close(read_only);
    close(pipefd[0]);
    close(pipefd[1]);
    close(src);
    close(dst);
}

static void copy_file_range_checks(void)
{
    int src = make_source("/tmp/copies-src", BIG);
    int dst = open("/tmp/copies-dst", O_RDWR | O_CREAT | O_TRUNC, 0600);

    long total = 0, calls = 0, n;
    while ((n = sys_copy_file_range(src, NULL, dst, NULL, BIG, 0)) > 0 && calls < 100) {
        total += n;
        calls++;
    }
    lt_check("copy_file_range copies the whole file, then 0 at its end", n == 0 && total == BIG, "last %ld (%s), total %ld in %ld calls", n,
             n < 0 ? lt_errname(errno) : "", total, calls);
    lt_check("copy_file_range moves both offsets", lseek(src, 0, SEEK_CUR) == BIG && lseek(dst, 0, SEEK_CUR) == BIG, "at %ld and %ld",
             (long)lseek(src, 0, SEEK_CUR), (long)lseek(dst, 0, SEEK_CUR));
    lt_check("copy_file_range's copy is the file", holds_pattern(dst, 0, 0, BIG), "contents differ");

    off_t in = 10, out = 20;
    lseek(src, 0, SEEK_SET);
    lseek(dst, 0, SEEK_SET);
    n = sys_copy_file_range(src, &in, dst, &out, 500, 0);
    lt_check("copy_file_range at offsets", n == 500 && in == 510 && out == 520 && holds_pattern(dst, 20, 10, 500), "%ld, offsets %ld %ld", n,
             (long)in, (long)out);
    lt_check("copy_file_range at offsets leaves both files' offsets", lseek(src, 0, SEEK_CUR) == 0 && lseek(dst, 0, SEEK_CUR) == 0, "moved");

    /* Within one file: apart is a copy, overlapping is EINVAL. */
    in = 0;
    out = BIG;
    n = sys_copy_file_range(src, &in, src, &out, 4096, 0);
    lt_check("copy_file_range within a file, ranges apart", n == 4096 && holds_pattern(src, BIG, 0, 4096), "%ld", n);
    in = 0;
    out = 100;
    lt_sys_errno("copy_file_range within a file, ranges overlapping, is EINVAL", sys_copy_file_range(src, &in, src, &out, 4096, 0), EINVAL);

    int pipefd[2];
    pipe(pipefd);
    lt_sys_errno("copy_file_range with flags is EINVAL", sys_copy_file_range(src, NULL, dst, NULL, 10, 1), EINVAL);
    lt_sys_errno("copy_file_range from a pipe is EINVAL", sys_copy_file_range(pipefd[0], NULL, dst, NULL, 10, 0), EINVAL);
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    lt_sys_errno("copy_file_range from a directory is EISDIR", sys_copy_file_range(dir, NULL, dst, NULL, 10, 0), EISDIR);
    int appending = open("/tmp/copies-dst", O_WRONLY | O_APPEND);
    lt_sys_errno("copy_file_range to an O_APPEND file is EBADF", sys_copy_file_range(src, NULL, appending, NULL, 10, 0), EBADF);
    off_t negative = -5;
    /* Linux 6.18 answers EOVERFLOW (its range checks treat the offset as unsigned), older kernels EINVAL. */
    lt_sys_errno2("copy_file_range with a negative offset is EOVERFLOW", sys_copy_file_range(src, &negative, dst, NULL, 10, 0), EOVERFLOW, EINVAL);
    lt_sys_errno("copy_file_range with an unreadable offset is EFAULT", sys_copy_file_range(src, NULL, dst, (off_t *)8, 10, 0), EFAULT);
    close(appending);
    close(dir);
    close(pipefd[0]);
    close(pipefd[1]);
    close(src);
    close(dst);
    unlink("/tmp/copies-src");
    unlink("/tmp/copies-dst");
}

static long sys_splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags)
{
    return syscall(SYS_splice, in, off_in, out, off_out, len, flags);
}

static long sys_tee(int in, int out, size_t len, unsigned flags) { return syscall(SYS_tee, in, out, len, flags); }

static bool reads_back(int fd, const char *text)
{
    char got[64] = {0};
    long n = read(fd, got, sizeof got - 1);
    return n == (long)strlen(text) && memcmp(got, text, n) == 0;
}

static void *write_later(void *arg)
{
    usleep(20000); /* the splice below is then (most likely) waiting; it is correct either way */
    return (void *)(long)write(*(int *)arg, "late", 4);
}

static void splice_checks(void)
{
    int src = make_source("/tmp/copies-src", BIG);
    int dst = open("/tmp/copies-dst", O_RDWR | O_CREAT | O_TRUNC, 0600);
    int p[2], q[2];
    pipe(p);
    pipe(q);

    /* file -> pipe at an offset (the file's own offset stays), then pipe -> file at an offset */
    loff_t in_off = 5000, out_off = 100;
    long n = sys_splice(src, &in_off, p[1], NULL, 30000, 0);
    lt_check("splice-file-to-pipe", n == 30000 && in_off == 35000 && lseek(src, 0, SEEK_CUR) == 0, "returned %ld, offset %lld", n,
             (long long)in_off);
    n = sys_splice(p[0], NULL, dst, &out_off, 1 << 20, 0);
    lt_check("splice-pipe-to-file", n == 30000 && out_off == 30100 && holds_pattern(dst, 100, 5000, 30000), "returned %ld, offset %lld", n,
             (long long)out_off);
    lt_check("splice-took-from-pipe", write(p[1], "x", 1) == 1 && reads_back(p[0], "x"), "the pipe kept data");

    /* without offsets: the file's own offset moves */
    n = sys_splice(src, NULL, p[1], NULL, 10, 0);
    lt_check("splice-file-offset-moves", n == 10 && lseek(src, 0, SEEK_CUR) == 10, "returned %ld", n);
    lseek(dst, 0, SEEK_SET);
    n = sys_splice(p[0], NULL, dst, NULL, 4, 0);
    lt_check("splice-to-file-offset-moves", n == 4 && lseek(dst, 0, SEEK_CUR) == 4 && holds_pattern(dst, 0, 0, 4), "returned %ld", n);
    char rest[8];
    lt_check("splice-rest-stays-in-pipe", read(p[0], rest, sizeof rest) == 6 && rest[0] == (char)pattern(4), "the pipe lost bytes");

    /* pipe -> pipe, and tee, which copies without taking */
    write(p[1], "hello", 5);
    n = sys_tee(p[0], q[1], 100, 0);
    lt_check("tee-copies", n == 5 && reads_back(q[0], "hello"), "returned %ld", n);
    n = sys_splice(p[0], NULL, q[1], NULL, 100, 0);
    lt_check("splice-pipe-to-pipe", n == 5 && reads_back(q[0], "hello"), "returned %ld (tee took the bytes?)", n);

    /* an empty pipe: EAGAIN with SPLICE_F_NONBLOCK or O_NONBLOCK; a wait for a writer's bytes; 0 once no writer is left */
    lt_sys_errno("splice-empty-nonblock-eagain", sys_splice(p[0], NULL, dst, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
    lt_sys_errno("tee-empty-nonblock-eagain", sys_tee(p[0], q[1], 10, SPLICE_F_NONBLOCK), EAGAIN);
    pthread_t writer;
    pthread_create(&writer, NULL, write_later, &p[1]);
    n = sys_splice(p[0], NULL, q[1], NULL, 100, 0);
    void *wrote;
    pthread_join(writer, &wrote);
    lt_check("splice-waits-for-a-writer", n == 4 && (long)wrote == 4 && reads_back(q[0], "late"), "returned %ld", n);

    /* what Linux refuses */
    lt_sys_errno("splice-no-pipe-einval", sys_splice(src, NULL, dst, NULL, 10, 0), EINVAL);
    lt_sys_errno("splice-pipe-offset-espipe", sys_splice(p[0], &in_off, dst, NULL, 10, 0), ESPIPE);
    lt_sys_errno("splice-to-pipe-offset-espipe", sys_splice(src, NULL, p[1], &out_off, 10, 0), ESPIPE);
    lt_sys_errno("splice-same-pipe-einval", sys_splice(p[0], NULL, p[1], NULL, 10, 0), EINVAL);
    lt_sys_errno("splice-bad-flags-einval", sys_splice(src, NULL, p[1], NULL, 10, 0x100), EINVAL);
    lt_sys_errno("splice-closed-ebadf", sys_splice(999, NULL, p[1], NULL, 10, 0), EBADF);
    lt_sys_errno("splice-write-end-as-input-ebadf", sys_splice(p[1], NULL, dst, NULL, 10, 0), EBADF);
    int appending = open("/tmp/copies-dst", O_WRONLY | O_APPEND);
    write(p[1], "a", 1);
    lt_sys_errno("splice-append-einval", sys_splice(p[0], NULL, appending, NULL, 10, 0), EINVAL);
    lt_sys_errno("tee-not-pipes-einval", sys_tee(p[0], dst, 10, 0), EINVAL);
    lt_sys_errno("tee-same-pipe-einval", sys_tee(p[0], p[1], 10, 0), EINVAL);
    lt_check("splice-zero", sys_splice(p[0], NULL, dst, NULL, 0, 0) == 0, "a zero length moved something");
    close(p[1]);
    lt_check("splice-eof", sys_splice(p[0], NULL, dst, NULL, 10, 0) == 1 && sys_splice(p[0], NULL, dst, NULL, 10, 0) == 0,
             "no end of file once the writer is gone");
    close(appending);
    close(p[0]);
    close(q[0]);
    close(q[1]);
    close(src);
    close(dst);
    unlink("/tmp/copies-src");
    unlink("/tmp/copies-dst");
}

int main(void)
{
    lt_init();
    sendfile_checks();
    copy_file_range_checks();
    splice_checks();
    return lt_finish();
}
