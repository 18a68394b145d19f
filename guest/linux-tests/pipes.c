/* pipes: pipe2, eventfd2, poll, ppoll, select, pselect6 and epoll from inside the guest.
 * Run as `/tests/pipes-static` (no arguments). One thread: nothing here waits for something only another thread
 * could do; the waits that end are timeouts (measured) and data the program wrote itself. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char big[128 * 1024];

static void check_pipe(void)
{
    int fds[2] = {-1, -1};
    long r = syscall(SYS_pipe2, fds, O_CLOEXEC | O_NONBLOCK);
    lt_check("pipe2", r == 0 && fds[0] >= 0 && fds[1] > fds[0], "returned %ld (%s), fds %d %d", r, lt_errname(errno), fds[0],
             fds[1]);
    lt_check("pipe2-cloexec", fcntl(fds[0], F_GETFD) == FD_CLOEXEC && fcntl(fds[1], F_GETFD) == FD_CLOEXEC,
             "F_GETFD %d %d", fcntl(fds[0], F_GETFD), fcntl(fds[1], F_GETFD));
    int fl0 = fcntl(fds[0], F_GETFL), fl1 = fcntl(fds[1], F_GETFL);
    lt_check("pipe2-flags", (fl0 & O_ACCMODE) == O_RDONLY && (fl1 & O_ACCMODE) == O_WRONLY && (fl0 & O_NONBLOCK) &&
                                (fl1 & O_NONBLOCK),
             "F_GETFL 0x%x 0x%x", fl0, fl1);
    struct stat s0, s1;
    lt_check("pipe-fstat-fifo", fstat(fds[0], &s0) == 0 && fstat(fds[1], &s1) == 0 && S_ISFIFO(s0.st_mode) &&
                                    s0.st_ino == s1.st_ino,
             "modes 0%o 0%o, inodes %lu %lu", s0.st_mode, s1.st_mode, (unsigned long)s0.st_ino, (unsigned long)s1.st_ino);
    char buf[16];
    lt_sys_errno("pipe-read-empty-nonblock-eagain", read(fds[0], buf, sizeof buf), EAGAIN);
    lt_check("pipe-write-read", write(fds[1], "abc", 3) == 3 && read(fds[0], buf, 2) == 2 && read(fds[0], buf + 2, 10) == 1 &&
                                    memcmp(buf, "abc", 3) == 0,
             "round trip failed");
    lt_sys_errno("pipe-lseek-espipe", lseek(fds[0], 0, SEEK_SET), ESPIPE);
    lt_sys_errno("pipe-pread-espipe", pread(fds[0], buf, 1, 0), ESPIPE);
    lt_sys_errno("pipe2-bad-flags-einval", syscall(SYS_pipe2, fds, 0x1000000), EINVAL);

    long size = fcntl(fds[1], F_GETPIPE_SZ);
    lt_check("pipe-size-64k", size == 65536, "F_GETPIPE_SZ %ld", size);
    /* Linux counts a pipe's room in pages and a write of at most PIPE_BUF is all or nothing: after 64 KiB less 100
     * bytes, a 4096-byte write is EAGAIN while single bytes fill the last 100. */
    long n = write(fds[1], big, 65536 - 100);
    long atomic = write(fds[1], big, 4096);
    int atomic_errno = errno;
    long ones = 0;
    while (ones < 200 && write(fds[1], big, 1) == 1)
        ones++;
    long more = write(fds[1], big, 5000);
    int more_errno = errno;
    lt_check("pipe-fill", n == 65536 - 100 && atomic == -1 && atomic_errno == EAGAIN && ones == 100 && more == -1 &&
                              more_errno == EAGAIN,
             "wrote %ld, then PIPE_BUF %ld (%s), then %ld single bytes, then %ld (%s) of 5000", n, atomic,
             lt_errname(atomic_errno), ones, more, lt_errname(more_errno));
    int avail = -1;
    int ir = ioctl(fds[0], FIONREAD, &avail);
    lt_check("pipe-fionread", ir == 0 && avail == 65536, "returned %d, FIONREAD %d", ir, avail);
    lt_sys_errno("pipe-setsize-smaller-than-content-ebusy", fcntl(fds[0], F_SETPIPE_SZ, 4096), EBUSY);
    while (read(fds[0], big, sizeof big) > 0)
        ;
    lt_check("pipe-setsize", fcntl(fds[0], F_SETPIPE_SZ, 5000) == 8192 && fcntl(fds[1], F_GETPIPE_SZ) == 8192,
             "F_SETPIPE_SZ(5000) then F_GETPIPE_SZ %d", fcntl(fds[1], F_GETPIPE_SZ));

    close(fds[1]);
    lt_check("pipe-eof-after-writer-closed", read(fds[0], buf, sizeof buf) == 0, "read did not return 0");
    close(fds[0]);

    lt_sys_ok("pipe", syscall(SYS_pipe, fds));
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    lt_sys_errno("pipe-write-no-reader-epipe", write(fds[1], "x", 1), EPIPE);
    close(fds[1]);
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static void check_sigpipe(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    close(fds[0]);
    signal(SIGPIPE, on_sigpipe);
    long r = write(fds[1], "x", 1);
    int err = errno;
    lt_check("pipe-write-no-reader-sigpipe-handled", r == -1 && err == EPIPE && sigpipes == 1,
             "returned %ld (%s), handler ran %d times", r, lt_errname(err), (int)sigpipes);
    signal(SIGPIPE, SIG_DFL);
    close(fds[1]);
}

static void check_eventfd(void)
{
    int fd = (int)syscall(SYS_eventfd2, 0, EFD_NONBLOCK | EFD_CLOEXEC);
    uint64_t v = 0;
    lt_check("eventfd2", fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "returned %d (%s)", fd, lt_errname(errno));
    lt_sys_errno("eventfd-read-zero-eagain", read(fd, &v, 8), EAGAIN);
    v = 3;
    write(fd, &v, 8);
    write(fd, &v, 8);
    v = 0;
    long got = read(fd, &v, 8);
    lt_check("eventfd-sum", got == 8 && v == 6, "read %ld: %llu", got, (unsigned long long)v);
    lt_sys_errno("eventfd-short-read-einval", read(fd, &v, 4), EINVAL);
    v = UINT64_MAX;
    lt_sys_errno("eventfd-write-max-einval", write(fd, &v, 8), EINVAL);
    v = UINT64_MAX - 1;
    lt_check("eventfd-write-max-minus-1", write(fd, &v, 8) == 8, "failed with %s", lt_errname(errno));
    v = 1;
    lt_sys_errno("eventfd-overflow-eagain", write(fd, &v, 8), EAGAIN);
    close(fd);

    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t a = 0, b = 0;
    long r1 = read(fd, &a, 8), r2 = read(fd, &b, 8);
    lt_check("eventfd-semaphore", r1 == 8 && r2 == 8 && a == 1 && b == 1, "reads %ld %ld, values %llu %llu", r1, r2,
             (unsigned long long)a, (unsigned long long)b);
    lt_sys_errno("eventfd-semaphore-empty-eagain", read(fd, &a, 8), EAGAIN);
    close(fd);
    lt_sys_errno("eventfd2-bad-flags-einval", syscall(SYS_eventfd2, 0, 0x100), EINVAL);
}

static int64_t now_ns(void)
{
    return lt_raw_clock_ns(CLOCK_MONOTONIC);
}

static void check_poll_select(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    struct pollfd p[4] = {{fds[0], POLLIN, 0}, {fds[1], POLLOUT, 0}, {999, POLLIN, 0}, {-1, POLLIN, 0}};
    long r = syscall(SYS_poll, p, 4, 0);
    lt_check("poll-readiness", r == 2 && p[0].revents == 0 && p[1].revents == POLLOUT && p[2].revents == POLLNVAL &&
                                   p[3].revents == 0,
             "returned %ld: revents 0x%x 0x%x 0x%x 0x%x", r, p[0].revents, p[1].revents, p[2].revents, p[3].revents);
    int64_t t0 = now_ns();
    r = syscall(SYS_poll, p, 1, 30);
    int64_t slept = now_ns() - t0;
    lt_check("poll-timeout-sleeps", r == 0 && slept >= 30 * LT_MS && slept < 2000 * LT_MS, "returned %ld after %lld us", r,
             (long long)(slept / 1000));
    struct timespec ts = {0, 20 * LT_MS};
    sigset_t mask;
    sigemptyset(&mask);
    t0 = now_ns();
    r = syscall(SYS_ppoll, p, 1, &ts, &mask, 8);
    slept = now_ns() - t0;
    lt_check("ppoll-timeout", r == 0 && slept >= 20 * LT_MS && ts.tv_sec == 0 && ts.tv_nsec == 0,
             "returned %ld after %lld us, left %ld ns", r, (long long)(slept / 1000), ts.tv_nsec);
    write(fds[1], "x", 1);
    r = syscall(SYS_poll, p, 1, -1);
    lt_check("poll-readable", r == 1 && p[0].revents == POLLIN, "returned %ld, revents 0x%x", r, p[0].revents);

    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(fds[0], &rd);
    FD_SET(fds[1], &wr);
    struct timeval tv = {1, 0};
    r = syscall(SYS_select, fds[1] + 1, &rd, &wr, NULL, &tv);
    lt_check("select-readiness", r == 2 && FD_ISSET(fds[0], &rd) && FD_ISSET(fds[1], &wr), "returned %ld", r);
    char c;
    read(fds[0], &c, 1);
    FD_ZERO(&rd);
    FD_SET(fds[0], &rd);
    tv.tv_sec = 0;
    tv.tv_usec = 20000;
    t0 = now_ns();
    r = syscall(SYS_select, fds[0] + 1, &rd, NULL, NULL, &tv);
    slept = now_ns() - t0;
    lt_check("select-timeout", r == 0 && !FD_ISSET(fds[0], &rd) && slept >= 20 * LT_MS && tv.tv_sec == 0 && tv.tv_usec == 0,
             "returned %ld after %lld us, left %ld us", r, (long long)(slept / 1000), (long)tv.tv_usec);
    FD_ZERO(&rd);
    FD_SET(200, &rd);
    lt_sys_errno("select-closed-fd-ebadf", syscall(SYS_select, 201, &rd, NULL, NULL, NULL), EBADF);
    struct {
        const sigset_t *ss;
        size_t len;
    } sig = {&mask, 8};
    FD_ZERO(&wr);
    FD_SET(fds[1], &wr);
    ts.tv_sec = 1;
    r = syscall(SYS_pselect6, fds[1] + 1, NULL, &wr, NULL, &ts, &sig);
    lt_check("pselect6", r == 1 && FD_ISSET(fds[1], &wr), "returned %ld (%s)", r, lt_errname(errno));

    close(fds[1]);
    p[0].revents = 0;
    r = syscall(SYS_poll, p, 1, 0);
    lt_check("poll-hup-after-writer-closed", r == 1 && (p[0].revents & POLLHUP), "returned %ld, revents 0x%x", r,
             p[0].revents);
    close(fds[0]);
}

static void check_epoll(void)
{
    int ep = (int)syscall(SYS_epoll_create1, EPOLL_CLOEXEC);
    lt_check("epoll-create1", ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC, "returned %d (%s)", ep, lt_errname(errno));
    lt_sys_errno("epoll-create1-bad-flags-einval", syscall(SYS_epoll_create1, 1), EINVAL);
    lt_sys_errno("epoll-create-zero-einval", syscall(SYS_epoll_create, 0), EINVAL);
    int fds[2];
    if (pipe(fds) != 0)
        return;
    struct epoll_event ev = {EPOLLIN, {.u64 = 0xfeed}}, out[4];
    lt_sys_ok("epoll-ctl-add", syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fds[0], &ev));
    lt_sys_errno("epoll-ctl-add-twice-eexist", syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fds[0], &ev), EEXIST);
    lt_sys_errno("epoll-ctl-del-unknown-enoent", syscall(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, fds[1], NULL), ENOENT);
    lt_sys_errno("epoll-ctl-not-epoll-einval", syscall(SYS_epoll_ctl, fds[1], EPOLL_CTL_ADD, fds[0], &ev), EINVAL);
    lt_sys_errno("epoll-ctl-self-einval", syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    int file = open("/tmp/epoll-file", O_CREAT | O_RDWR, 0600);
    lt_sys_errno("epoll-ctl-regular-file-eperm", syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, file, &ev), EPERM);
    close(file);
    unlink("/tmp/epoll-file");
    lt_check("epoll-wait-nothing", syscall(SYS_epoll_wait, ep, out, 4, 0) == 0, "something was ready");
    int64_t t0 = now_ns();
    long r = syscall(SYS_epoll_wait, ep, out, 4, 25);
    int64_t slept = now_ns() - t0;
    lt_check("epoll-wait-timeout", r == 0 && slept >= 25 * LT_MS, "returned %ld after %lld us", r, (long long)(slept / 1000));
    write(fds[1], "xy", 2);
    r = syscall(SYS_epoll_wait, ep, out, 4, -1);
    lt_check("epoll-wait-ready", r == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 0xfeed,
             "returned %ld, events 0x%x, data 0x%llx", r, r > 0 ? out[0].events : 0, r > 0 ? (unsigned long long)out[0].data.u64 : 0);
    lt_check("epoll-level-triggered", syscall(SYS_epoll_wait, ep, out, 4, 0) == 1, "not reported again");
    ev.events = EPOLLIN | EPOLLET;
    syscall(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, fds[0], &ev);
    r = syscall(SYS_epoll_wait, ep, out, 4, 0);
    long r2 = syscall(SYS_epoll_wait, ep, out, 4, 0);
    write(fds[1], "z", 1);
    long r3 = syscall(SYS_epoll_wait, ep, out, 4, 0);
    lt_check("epoll-edge-triggered", r == 1 && r2 == 0 && r3 == 1, "waits returned %ld, %ld, then after a write %ld", r, r2, r3);
    ev.events = EPOLLOUT | EPOLLONESHOT;
    ev.data.u64 = 2;
    syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fds[1], &ev);
    char drain[8];
    read(fds[0], drain, sizeof drain);
    r = syscall(SYS_epoll_wait, ep, out, 4, 0);
    r2 = syscall(SYS_epoll_wait, ep, out, 4, 0);
    syscall(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, fds[1], &ev);
    r3 = syscall(SYS_epoll_wait, ep, out, 4, 0);
    lt_check("epoll-oneshot", r == 1 && r2 == 0 && r3 == 1, "waits returned %ld, %ld, then after MOD %ld", r, r2, r3);
    lt_sys_errno("epoll-wait-maxevents-zero-einval", syscall(SYS_epoll_wait, ep, out, 0, 0), EINVAL);
    lt_sys_errno("epoll-wait-not-epoll-einval", syscall(SYS_epoll_wait, fds[0], out, 4, 0), EINVAL);
    sigset_t mask;
    sigemptyset(&mask);
    syscall(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, fds[1], &ev); /* one-shot: armed again for one more report */
    r = syscall(SYS_epoll_pwait, ep, out, 4, 0, &mask, 8);
    lt_check("epoll-pwait", r == 1 && out[0].data.u64 == 2, "returned %ld (%s)", r, lt_errname(errno));

    int efd = eventfd(0, EFD_NONBLOCK);
    ev.events = EPOLLIN;
    ev.data.u64 = 3;
    syscall(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, fds[1], NULL);
    syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, efd, &ev);
    uint64_t one = 1;
    write(efd, &one, 8);
    r = syscall(SYS_epoll_wait, ep, out, 4, 0);
    lt_check("epoll-eventfd", r == 1 && out[0].data.u64 == 3, "returned %ld", r);
    close(efd);
    close(fds[0]);
    close(fds[1]);
    close(ep);
}

static uint64_t fnv1a(uint64_t hash, const unsigned char *bytes, long n)
{
    for (long i = 0; i < n; i++)
        hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
    return hash;
}

struct drained {
    int fd;
    long total;
    uint64_t hash;
};

static void *drain(void *arg)
{
    struct drained *d = arg;
    unsigned char buf[4096];
    long n;
    while ((n = read(d->fd, buf, sizeof buf)) > 0) {
        d->hash = fnv1a(d->hash, buf, n);
        d->total += n;
    }
    return NULL;
}

/* A blocking write larger than the pipe returns once all of it is written, while a reader thread makes room, rather
 * than a short count; and what the reader gets is the data once, in order (Python's unbuffered writes rely on it). */
static void check_blocking_write(void)
{
    static unsigned char big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 31 + i / 977);
    int p[2];
    pipe(p);
    struct drained d = {p[0], 0, 0xcbf29ce484222325ULL};
    pthread_t reader;
    pthread_create(&reader, NULL, drain, &d);
    long n = write(p[1], big, sizeof big);
    close(p[1]);
    pthread_join(reader, NULL);
    lt_check("pipe-blocking-write-whole", n == (long)sizeof big && d.total == (long)sizeof big, "wrote %ld, the reader got %ld", n,
             d.total);
    lt_check("pipe-blocking-write-once-in-order", d.hash == fnv1a(0xcbf29ce484222325ULL, big, sizeof big), "the reader got other bytes");
    close(p[0]);
}

int main(void)
{
    lt_init();
    check_pipe();
    check_blocking_write();
    check_sigpipe();
    check_eventfd();
    check_poll_select();
    check_epoll();
    return lt_finish();
}
