/* fdsnap: a function whose snapshot point (its first read of fd 3) finds pipes, eventfds, an epoll instance and
 * socket pairs open, as Node's libuv and Python's asyncio leave them (docs/threads.md); each copy restored from
 * the snapshot must find them as they were. Before the read it makes:
 *   - a non-blocking pipe with "*" buffered, its read end dup'd (the dup without FD_CLOEXEC) and the original
 *     read end closed, so that only the epoll registration and the dup keep it;
 *   - a pipe whose write end is closed with "end" buffered;
 *   - an eventfd holding 1 and an EFD_SEMAPHORE one holding 2;
 *   - an epoll instance watching the pipe's read end (level, data 1), the eventfd (EPOLLET, data 2) and a stream
 *     socket pair's end (EPOLLONESHOT, data 3), with one epoll_wait done, which reports all three;
 *   - that stream pair with one byte queued, and a datagram pair with the messages "a" and "bc" queued;
 *   - a MAP_SHARED mapping of /tmp/fdsnap-shared with "pre" stored and not yet synced.
 * Its first request is answered with a status-0 frame "fdsnap: N failed" after the checks below (one `ok`/`FAIL`
 * line each on stdout); later requests with "fdsnap: again". Natively: printf '\0\0\0\0\0\0\0\0' | ./fdsnap 3<&0
 * (the answer's write to fd 3 then fails, and the lines on stdout say what was checked). */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHANNEL 3

static int failures;

static void check(const char *name, bool cond, const char *detail)
{
    if (!lt_check(name, cond, "%s", detail))
        failures++;
}

static uint64_t ready_mask(int ep)
{
    struct epoll_event events[8];
    int n = epoll_wait(ep, events, 8, 0);
    uint64_t mask = 0;
    for (int i = 0; i < n; i++)
        mask |= 1ULL << events[i].data.u64;
    return n < 0 ? ~0ULL : mask;
}

static void answer(const char *text)
{
    uint32_t header[2] = {0, (uint32_t)strlen(text)};
    char frame[128];
    memcpy(frame, header, 8);
    memcpy(frame + 8, text, header[1]);
    if (write(CHANNEL, frame, 8 + header[1]) < 0)
        printf("fdsnap: the answer could not be written to fd 3 (%s)\n", lt_errname(errno));
}

static bool request(void)
{
    uint32_t header[2];
    if (read(CHANNEL, header, sizeof header) != (ssize_t)sizeof header)
        return false;
    char body[256];
    for (uint32_t left = header[0]; left > 0;) {
        ssize_t n = read(CHANNEL, body, left < sizeof body ? left : sizeof body);
        if (n <= 0)
            return false;
        left -= (uint32_t)n;
    }
    return true;
}

int main(void)
{
    lt_init();
    int p[2], q[2], s[2], d[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) || pipe2(q, 0) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s) ||
        socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, d))
        return 1;
    int efd = eventfd(1, EFD_NONBLOCK), sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK), ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event level = {.events = EPOLLIN, .data.u64 = 1}, edge = {.events = EPOLLIN | EPOLLET, .data.u64 = 2},
                       once = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 3};
    if (efd < 0 || sem < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &level) || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &edge) ||
        epoll_ctl(ep, EPOLL_CTL_ADD, s[0], &once))
        return 1;
    int dup_read = dup(p[0]);
    if (write(p[1], "*", 1) != 1 || write(q[1], "end", 3) != 3 || close(q[1]) || close(p[0]) || dup_read < 0 ||
        send(s[1], "", 1, 0) != 1 || send(d[1], "a", 1, 0) != 1 || send(d[1], "bc", 2, 0) != 2)
        return 1;
    int shared_fd = open("/tmp/fdsnap-shared", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (shared_fd < 0 || ftruncate(shared_fd, 8192))
        return 1;
    char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, shared_fd, 0);
    if (shared == MAP_FAILED)
        return 1;
    memcpy(shared + 4096, "pre", 3);
    check("epoll-before", ready_mask(ep) == 0xe, "the pipe, the eventfd and the socket are reported before the snapshot");

    if (!request()) /* the snapshot point */
        return 1;

    char buf[16] = {0};
    uint64_t value = 0;
    check("epoll-level", ready_mask(ep) == 0x2, "only the level-triggered pipe: the edge and the one-shot were reported");
    check("pipe-dup", read(dup_read, buf, sizeof buf) == 1 && buf[0] == '*', "the byte is read through the dup");
    check("pipe-empty", read(dup_read, buf, sizeof buf) == -1 && errno == EAGAIN, "then EAGAIN: non-blocking");
    check("pipe-flags", (fcntl(p[1], F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_WRONLY) &&
          fcntl(p[1], F_GETFD) == FD_CLOEXEC && fcntl(dup_read, F_GETFD) == 0, "O_NONBLOCK, FD_CLOEXEC on the original only");
    check("epoll-drained", ready_mask(ep) == 0, "nothing ready once the pipe is empty");
    check("pipe-closed-writer", read(q[0], buf, sizeof buf) == 3 && memcmp(buf, "end", 3) == 0 && read(q[0], buf, sizeof buf) == 0,
          "the bytes, then end of file");
    check("eventfd", read(efd, &value, 8) == 8 && value == 1 && read(efd, &value, 8) == -1 && errno == EAGAIN, "1, then EAGAIN");
    check("eventfd-semaphore", read(sem, &value, 8) == 8 && value == 1 && read(sem, &value, 8) == 8 && value == 1 &&
          read(sem, &value, 8) == -1, "1, 1, then EAGAIN");
    value = 5;
    check("epoll-edge", write(efd, &value, 8) == 8 && ready_mask(ep) == 0x4 && ready_mask(ep) == 0, "a new edge, reported once");
    check("socket-stream", recv(s[0], buf, sizeof buf, 0) == 1 && buf[0] == 0 && send(s[0], "x", 1, 0) == 1 &&
          recv(s[1], buf, sizeof buf, 0) == 1 && buf[0] == 'x', "the queued byte, and both ways after");
    check("socket-dgram", recv(d[0], buf, sizeof buf, 0) == 1 && buf[0] == 'a' && recv(d[0], buf, sizeof buf, 0) == 2 &&
          memcmp(buf, "bc", 2) == 0 && recv(d[0], buf, sizeof buf, 0) == -1, "two messages, boundaries kept");

    check("shared-mapping", memcmp(shared + 4096, "pre", 3) == 0 && pread(shared_fd, buf, 3, 4096) == 3 && memcmp(buf, "pre", 3) == 0,
          "the store made before the snapshot, in the mapping and the file");
    memcpy(shared + 100, "post", 4);
    check("shared-write-back", pread(shared_fd, buf, 4, 100) == 4 && memcmp(buf, "post", 4) == 0 && pwrite(shared_fd, "pw", 2, 200) == 2 &&
          memcmp(shared + 200, "pw", 2) == 0, "a store reaches the file, a write reaches the mapping");

    char text[64];
    snprintf(text, sizeof text, "fdsnap: %d failed", failures);
    answer(text);
    while (request())
        answer("fdsnap: again");
    return lt_finish();
}
