/* sockets: socketpair(AF_UNIX) with SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET from inside the guest: the
 * connection both ways, send/recv/sendmsg/recvmsg and their flags, message boundaries, shutdown, a closed peer,
 * the socket options and names programs ask for, and poll/epoll readiness. Python's asyncio makes its self-pipe
 * from a stream socketpair; Node's libuv makes its child-process channels from them.
 * Run as `/tests/sockets-static` (no arguments). One thread: nothing here waits for something only another thread
 * could do. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static char big[512 * 1024];
static volatile int sigpipes;

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static int pair(int type, int sv[2])
{
    sv[0] = sv[1] = -1;
    return (int)syscall(SYS_socketpair, AF_UNIX, type, 0, sv);
}

static void check_create(void)
{
    int sv[2];
    long r = pair(SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, sv);
    lt_check("socketpair-stream", r == 0 && sv[0] >= 0 && sv[1] > sv[0], "returned %ld (%s), fds %d %d", r,
             lt_errname(errno), sv[0], sv[1]);
    lt_check("socketpair-cloexec", fcntl(sv[0], F_GETFD) == FD_CLOEXEC && fcntl(sv[1], F_GETFD) == FD_CLOEXEC,
             "F_GETFD %d %d", fcntl(sv[0], F_GETFD), fcntl(sv[1], F_GETFD));
    int fl = fcntl(sv[1], F_GETFL);
    lt_check("socketpair-flags", (fl & O_ACCMODE) == O_RDWR && (fl & O_NONBLOCK), "F_GETFL 0x%x", fl);
    struct stat s0, s1;
    lt_check("socketpair-fstat-sock", fstat(sv[0], &s0) == 0 && fstat(sv[1], &s1) == 0 && S_ISSOCK(s0.st_mode) &&
                                          S_ISSOCK(s1.st_mode) && s0.st_ino != s1.st_ino,
             "modes 0%o 0%o, inodes %lu %lu", s0.st_mode, s1.st_mode, (unsigned long)s0.st_ino, (unsigned long)s1.st_ino);
    int value = -1;
    socklen_t len = sizeof value;
    lt_check("getsockopt-so-type", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &value, &len) == 0 && value == SOCK_STREAM &&
                                       len == sizeof value,
             "SO_TYPE %d, len %u", value, len);
    len = sizeof value;
    lt_check("getsockopt-so-domain", getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &value, &len) == 0 && value == AF_UNIX,
             "SO_DOMAIN %d", value);
    len = sizeof value;
    lt_check("getsockopt-so-error", getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &value, &len) == 0 && value == 0,
             "SO_ERROR %d", value);
    len = sizeof value;
    lt_check("getsockopt-so-sndbuf", getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &value, &len) == 0 && value > 0,
             "SO_SNDBUF %d", value);
    value = 65536;
    lt_sys_ok("setsockopt-so-sndbuf", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &value, sizeof value));
    lt_sys_errno("getsockopt-unknown-level-eopnotsupp",
                 getsockopt(sv[0], 12345, 1, &value, &(socklen_t){sizeof value}), EOPNOTSUPP);
    struct sockaddr_un name;
    len = sizeof name;
    memset(&name, 0x55, sizeof name);
    lt_check("getsockname-unnamed", getsockname(sv[0], (struct sockaddr *)&name, &len) == 0 && len == sizeof(sa_family_t) &&
                                        name.sun_family == AF_UNIX,
             "len %u, family %d", len, name.sun_family);
    len = sizeof name;
    lt_check("getpeername-unnamed", getpeername(sv[1], (struct sockaddr *)&name, &len) == 0 && len == sizeof(sa_family_t),
             "len %u", len);
    lt_sys_errno("getsockname-not-socket-enotsock", getsockname(0, (struct sockaddr *)&name, &len), ENOTSOCK);
    lt_sys_errno("recv-not-socket-enotsock", recv(open("/dev/null", O_RDONLY), big, 1, 0), ENOTSOCK);
    lt_sys_errno("socketpair-inet-eafnosupport", syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
    lt_sys_errno("socketpair-bad-type-einval", syscall(SYS_socketpair, AF_UNIX, 77, 0, sv), EINVAL);
    lt_sys_errno("socketpair-bad-protocol", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 5, sv), EPROTONOSUPPORT);
    lt_sys_errno("socketpair-bad-pointer-efault", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (void *)8), EFAULT);
    close(sv[0]);
    close(sv[1]);
}

static void check_stream(void)
{
    int sv[2];
    pair(SOCK_STREAM, sv);
    char buf[64];
    lt_check("stream-both-ways", write(sv[0], "ping", 4) == 4 && read(sv[1], buf, sizeof buf) == 4 &&
                                     memcmp(buf, "ping", 4) == 0 && send(sv[1], "pong!", 5, 0) == 5 &&
                                     recv(sv[0], buf, sizeof buf, 0) == 5 && memcmp(buf, "pong!", 5) == 0,
             "round trip failed");
    lt_sys_errno("stream-recv-dontwait-eagain", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    /* Stream sockets have no boundaries: two sends read as one. */
    send(sv[0], "abc", 3, 0);
    send(sv[0], "defg", 4, 0);
    long n = recv(sv[1], buf, 2, MSG_PEEK);
    long m = recv(sv[1], buf, sizeof buf, 0);
    lt_check("stream-peek-then-all", n == 2 && m == 7 && memcmp(buf, "abcdefg", 7) == 0, "peek %ld, then %ld", n, m);
    send(sv[0], "hello", 5, 0);
    int avail = -1;
    lt_check("stream-fionread", ioctl(sv[1], FIONREAD, &avail) == 0 && avail == 5, "FIONREAD %d", avail);
    n = recv(sv[1], buf, 2, MSG_WAITALL);
    lt_check("stream-waitall-available", n == 2 && memcmp(buf, "he", 2) == 0, "returned %ld", n);
    recv(sv[1], buf, sizeof buf, 0);

    /* sendmsg gathers, recvmsg scatters. */
    struct iovec out[2] = {{"one", 3}, {"two", 3}};
    struct msghdr msg = {.msg_iov = out, .msg_iovlen = 2};
    n = sendmsg(sv[0], &msg, 0);
    char a[2], b[10];
    struct iovec in[2] = {{a, 2}, {b, 10}};
    struct msghdr rmsg = {.msg_iov = in, .msg_iovlen = 2, .msg_flags = -1};
    m = recvmsg(sv[1], &rmsg, 0);
    lt_check("stream-sendmsg-recvmsg", n == 6 && m == 6 && memcmp(a, "on", 2) == 0 && memcmp(b, "etwo", 4) == 0 &&
                                           rmsg.msg_flags == 0,
             "sent %ld, received %ld, flags 0x%x", n, m, rmsg.msg_flags);
    struct sockaddr_un to = {.sun_family = AF_UNIX, .sun_path = "/tmp/nowhere"};
    lt_sys_errno("stream-sendto-address-eisconn", sendto(sv[0], "x", 1, 0, (struct sockaddr *)&to, sizeof to), EISCONN);
    lt_sys_errno("stream-send-efault", send(sv[0], (void *)8, 1, 0), EFAULT);

    /* Fill one direction: a non-blocking send takes what fits, then EAGAIN; the other direction is untouched. */
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    long total = 0;
    for (int i = 0; i < 64; i++) {
        long w = send(sv[0], big, sizeof big, 0);
        if (w < 0)
            break;
        total += w;
    }
    int err = errno;
    lt_check("stream-fills-then-eagain", total > 64 * 1024 && total <= 4 * 1024 * 1024 && err == EAGAIN,
             "%ld bytes, then %s", total, lt_errname(err));
    struct pollfd p[2] = {{sv[0], POLLIN | POLLOUT, 0}, {sv[1], POLLIN | POLLOUT, 0}};
    long r = poll(p, 2, 0);
    lt_check("stream-poll-full", r == 1 && p[0].revents == 0 && p[1].revents == (POLLIN | POLLOUT),
             "returned %ld, revents 0x%x 0x%x", r, p[0].revents, p[1].revents);
    long drained = 0;
    for (;;) {
        long got = recv(sv[1], big, sizeof big, MSG_DONTWAIT);
        if (got <= 0)
            break;
        drained += got;
    }
    lt_check("stream-drained", drained == total, "drained %ld of %ld", drained, total);
    r = poll(p, 2, 0);
    lt_check("stream-poll-empty", r == 2 && p[0].revents == POLLOUT && p[1].revents == POLLOUT, "returned %ld, revents 0x%x 0x%x",
             r, p[0].revents, p[1].revents);

    /* shutdown(SHUT_WR): the peer reads end of file and sees POLLRDHUP; our own writes are EPIPE. */
    send(sv[0], "last", 4, 0);
    lt_sys_ok("stream-shutdown-wr", shutdown(sv[0], SHUT_WR));
    struct pollfd q = {sv[1], POLLIN | POLLRDHUP, 0};
    r = poll(&q, 1, 0);
    lt_check("stream-poll-rdhup", r == 1 && q.revents == (POLLIN | POLLRDHUP), "returned %ld, revents 0x%x", r, q.revents);
    lt_check("stream-read-then-eof", read(sv[1], buf, sizeof buf) == 4 && read(sv[1], buf, sizeof buf) == 0,
             "no end of file after shutdown");
    signal(SIGPIPE, SIG_IGN);
    lt_sys_errno("stream-send-after-shutdown-epipe", send(sv[0], "x", 1, 0), EPIPE);
    lt_check("stream-other-way-still-open", send(sv[1], "back", 4, 0) == 4 && recv(sv[0], buf, sizeof buf, 0) == 4,
             "the other direction closed too");
    lt_sys_errno("stream-shutdown-bad-how", shutdown(sv[0], 7), EINVAL);
    lt_sys_errno("shutdown-not-socket-enotsock", shutdown(0, SHUT_RD), ENOTSOCK);
    close(sv[0]);
    close(sv[1]);

    /* A closed peer: what was sent stays readable, then end of file and POLLHUP; a send is EPIPE and SIGPIPE,
     * except with MSG_NOSIGNAL. */
    pair(SOCK_STREAM, sv);
    send(sv[0], "bye", 3, 0);
    close(sv[0]);
    q = (struct pollfd){sv[1], POLLIN | POLLOUT | POLLRDHUP, 0};
    r = poll(&q, 1, 0);
    lt_check("stream-poll-peer-closed", r == 1 && q.revents == (POLLIN | POLLOUT | POLLHUP | POLLRDHUP),
             "returned %ld, revents 0x%x", r, q.revents);
    lt_check("stream-peer-closed-read-then-eof", read(sv[1], buf, sizeof buf) == 3 && read(sv[1], buf, sizeof buf) == 0,
             "no end of file after the peer closed");
    signal(SIGPIPE, on_sigpipe);
    sigpipes = 0;
    long s = send(sv[1], "x", 1, 0);
    err = errno;
    lt_check("stream-send-peer-closed-sigpipe", s == -1 && err == EPIPE && sigpipes == 1, "returned %ld (%s), %d SIGPIPE", s,
             lt_errname(err), sigpipes);
    s = send(sv[1], "x", 1, MSG_NOSIGNAL);
    err = errno;
    lt_check("stream-send-nosignal", s == -1 && err == EPIPE && sigpipes == 1, "returned %ld (%s), %d SIGPIPE", s,
             lt_errname(err), sigpipes);
    signal(SIGPIPE, SIG_IGN);
    close(sv[1]);
}

static void check_datagrams(int type, const char *name)
{
    char check[96];
    int sv[2];
    pair(type | SOCK_NONBLOCK, sv);
    char buf[64];
    send(sv[0], "abc", 3, 0);
    send(sv[0], "defgh", 5, 0);
    send(sv[0], "", 0, 0);
    long n = recv(sv[1], buf, sizeof buf, 0);
    long m = recv(sv[1], buf + 3, sizeof buf, 0);
    long z = recv(sv[1], buf, sizeof buf, 0);
    snprintf(check, sizeof check, "%s-boundaries", name);
    lt_check(check, n == 3 && m == 5 && z == 0 && memcmp(buf, "abcdefgh", 8) == 0, "received %ld, %ld, %ld", n, m, z);
    snprintf(check, sizeof check, "%s-empty-eagain", name);
    lt_sys_errno(check, recv(sv[1], buf, sizeof buf, 0), EAGAIN);

    /* A short buffer truncates the message and drops the rest; MSG_TRUNC returns its real length. */
    send(sv[1], "0123456789", 10, 0);
    send(sv[1], "0123456789", 10, 0);
    send(sv[1], "xy", 2, 0);
    n = recv(sv[0], buf, 4, 0);
    m = recv(sv[0], buf + 4, 4, MSG_TRUNC);
    char small[1];
    struct iovec iov = {small, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    z = recvmsg(sv[0], &msg, 0);
    snprintf(check, sizeof check, "%s-truncated", name);
    lt_check(check, n == 4 && m == 10 && z == 1 && (msg.msg_flags & MSG_TRUNC) && memcmp(buf, "01230123", 8) == 0 &&
                        small[0] == 'x',
             "received %ld, %ld (MSG_TRUNC), %ld with flags 0x%x", n, m, z, msg.msg_flags);
    send(sv[0], "peek", 4, 0);
    n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
    m = recv(sv[1], buf, sizeof buf, 0);
    snprintf(check, sizeof check, "%s-peek", name);
    lt_check(check, n == 4 && m == 4, "peek %ld, then %ld", n, m);

    /* sendmsg sends its iovecs as one message. */
    struct iovec out[2] = {{"one", 3}, {"two", 3}};
    struct msghdr smsg = {.msg_iov = out, .msg_iovlen = 2};
    sendmsg(sv[0], &smsg, 0);
    n = recv(sv[1], buf, sizeof buf, 0);
    snprintf(check, sizeof check, "%s-sendmsg-one-message", name);
    lt_check(check, n == 6 && memcmp(buf, "onetwo", 6) == 0, "received %ld", n);
    snprintf(check, sizeof check, "%s-oob-eopnotsupp", name);
    lt_sys_errno(check, send(sv[0], "x", 1, MSG_OOB), EOPNOTSUPP);
    snprintf(check, sizeof check, "%s-too-big-emsgsize", name);
    lt_sys_errno(check, send(sv[0], big, sizeof big, 0), EMSGSIZE);

    /* Datagrams queue until the receive queue is full: then EAGAIN and no POLLOUT. */
    long sent = 0;
    while (sent < 100000 && send(sv[0], "q", 1, 0) == 1)
        sent++;
    int err = errno;
    struct pollfd p[2] = {{sv[0], POLLIN | POLLOUT, 0}, {sv[1], POLLIN | POLLOUT, 0}};
    long r = poll(p, 2, 0);
    snprintf(check, sizeof check, "%s-queue-full", name);
    lt_check(check, sent >= 10 && sent < 100000 && err == EAGAIN && r == 1 && p[0].revents == 0 && p[1].revents == (POLLIN | POLLOUT),
             "%ld sent then %s; poll %ld, revents 0x%x 0x%x", sent, lt_errname(err), r, p[0].revents, p[1].revents);
    long received = 0;
    while (recv(sv[1], buf, sizeof buf, 0) == 1)
        received++;
    snprintf(check, sizeof check, "%s-queue-drained", name);
    lt_check(check, received == sent && poll(p, 2, 0) == 2 && p[0].revents == POLLOUT, "received %ld of %ld", received, sent);

    int value = -1;
    socklen_t len = sizeof value;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &value, &len);
    snprintf(check, sizeof check, "%s-so-type", name);
    lt_check(check, value == type, "SO_TYPE %d", value);
    close(sv[0]);
    close(sv[1]);
}

static void check_closed_peers(void)
{
    int sv[2];
    char buf[16];
    /* A datagram pair whose peer closed: what was queued stays readable; then a SEQPACKET reader sees end of file,
     * a DGRAM one waits (EAGAIN); a DGRAM sender gets ECONNREFUSED, a SEQPACKET one EPIPE. */
    pair(SOCK_SEQPACKET | SOCK_NONBLOCK, sv);
    send(sv[0], "m", 1, 0);
    close(sv[0]);
    long a = recv(sv[1], buf, sizeof buf, 0), b = recv(sv[1], buf, sizeof buf, 0);
    lt_check("seqpacket-peer-closed-eof", a == 1 && b == 0, "received %ld then %ld", a, b);
    lt_sys_errno("seqpacket-send-peer-closed-epipe", send(sv[1], "x", 1, 0), EPIPE);
    close(sv[1]);

    pair(SOCK_DGRAM | SOCK_NONBLOCK, sv);
    send(sv[0], "m", 1, 0);
    close(sv[0]);
    a = recv(sv[1], buf, sizeof buf, 0);
    lt_check("dgram-peer-closed-queued", a == 1, "received %ld", a);
    lt_sys_errno("dgram-peer-closed-eagain", recv(sv[1], buf, sizeof buf, 0), EAGAIN);
    lt_sys_errno("dgram-send-peer-closed-econnrefused", send(sv[1], "x", 1, 0), ECONNREFUSED);
    close(sv[1]);
}

static void check_epoll(void)
{
    int sv[2];
    pair(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, sv);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {EPOLLIN | EPOLLET, {.u64 = 7}}, out[2];
    lt_sys_ok("epoll-ctl-socket", epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev));
    lt_check("epoll-socket-idle", epoll_wait(ep, out, 2, 0) == 0, "ready before anything was sent");
    send(sv[0], "wake", 4, 0);
    int r = epoll_wait(ep, out, 2, 0);
    lt_check("epoll-socket-readable", r == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 7, "returned %d, events 0x%x", r,
             out[0].events);
    lt_check("epoll-socket-edge-once", epoll_wait(ep, out, 2, 0) == 0, "edge reported twice");
    close(sv[0]);
    r = epoll_wait(ep, out, 2, 0);
    lt_check("epoll-socket-peer-closed", r == 1 && (out[0].events & EPOLLHUP), "returned %d, events 0x%x", r, out[0].events);
    close(sv[1]);
    close(ep);
}

int main(void)
{
    lt_init();
    check_create();
    check_stream();
    check_datagrams(SOCK_DGRAM, "dgram");
    check_datagrams(SOCK_SEQPACKET, "seqpacket");
    check_closed_peers();
    check_epoll();
    return lt_finish();
}
