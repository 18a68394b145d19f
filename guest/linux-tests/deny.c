/* deny: what the sandbox refuses — network, new processes, exec, unsupported calls, memory beyond the guest's
 * (threads are supported: threads.c). Run as `/tests/deny-static` (no arguments).
 *
 * Natively most of these succeed; a child that does get created exits at once, and the execve
 * check runs last and, if it succeeds, python prints the FAIL line and exits 1. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A raw fork-like call returned `pid`: reap a child that should not exist. */
static void reap(long pid)
{
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
}

static void check_network(void)
{
    long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    lt_sys_errno("socket-inet-eacces", fd, EACCES);
    if (fd >= 0)
        close((int)fd);
    fd = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
    lt_sys_errno("socket-inet-dgram-eacces", fd, EACCES);
    if (fd >= 0)
        close((int)fd);
    fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    lt_sys_errno("socket-unix-eacces", fd, EACCES);
    if (fd >= 0)
        close((int)fd);
    /* socketpair(AF_UNIX) works (linux-tests/sockets): it makes no socket anyone else can reach. */
}

static void check_processes(void)
{
    fflush(stdout); /* a child that is created must not repeat buffered output */
    errno = 0;
    pid_t pid = fork();
    int err = errno;
    reap(pid);
    if (pid == -1 && (err == EAGAIN || err == ENOSYS))
        lt_ok("fork-fails", "-1 with %s", lt_errname(err));
    else
        lt_fail("fork-fails", "fork returned %d (%s), want -1 with EAGAIN or ENOSYS", (int)pid, lt_errname(err));

    long r = syscall(SYS_fork);
    err = errno;
    reap(r);
    errno = err;
    lt_sys_fails("raw-fork-fails", r);

    r = syscall(SYS_clone, (long)SIGCHLD, 0L, NULL, NULL, 0L);
    err = errno;
    reap(r);
    errno = err;
    lt_sys_fails("raw-clone-fails", r);

    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    r = syscall(SYS_clone3, &args, sizeof args);
    err = errno;
    reap(r);
    errno = err;
    lt_sys_fails("raw-clone3-fails", r);
}

static void check_unsupported(void)
{
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    long r = syscall(SYS_io_uring_setup, 1, &params);
    lt_sys_errno("io-uring-setup-enosys", r, ENOSYS);
    if (r >= 0)
        close((int)r);
    lt_sys_errno("syscall-1000-enosys", syscall(1000, 0, 0, 0), ENOSYS);
    lt_sys_errno("syscall-negative-enosys", syscall(-1L, 0, 0, 0), ENOSYS);
}

static void check_memory(void)
{
    void *p = mmap(NULL, 64UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    lt_sys_errno("mmap-64g-enomem", (long)p, ENOMEM);
    if (p != MAP_FAILED)
        munmap(p, 64UL << 30);

    /* 256 MiB at a time until the guest's memory runs out: it must be ENOMEM, before 64 GiB. */
    enum { CHUNK_MB = 256, MAX_CHUNKS = 256 };
    static void *chunks[MAX_CHUNKS];
    int n = 0, err = 0;
    for (; n < MAX_CHUNKS; n++) {
        chunks[n] = mmap(NULL, (size_t)CHUNK_MB << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (chunks[n] == MAP_FAILED) {
            err = errno;
            break;
        }
    }
    if (n < MAX_CHUNKS && err == ENOMEM)
        lt_ok("mmap-until-exhausted-enomem", "ENOMEM after %d MiB", n * CHUNK_MB);
    else
        lt_fail("mmap-until-exhausted-enomem", "%d mappings of %d MiB, then %s", n, CHUNK_MB,
                n < MAX_CHUNKS ? lt_errname(err) : "no failure");
    for (int i = 0; i < n; i++)
        munmap(chunks[i], (size_t)CHUNK_MB << 20);

    /* A fixed address far above any guest memory (guest virtual = guest physical) cannot be mapped. */
    void *high = (void *)0x7e0000000000UL;
    p = mmap(high, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    lt_sys_fails("mmap-fixed-beyond-memory-fails", (long)p);
    if (p != MAP_FAILED)
        munmap(p, 1 << 20);
}

/* Last: if it succeeds natively, python takes over this process, says so, and exits 1. */
static void check_exec(void)
{
    char *args[] = {"/usr/bin/python3.11", "-c", "print('FAIL execve-python: execve succeeded'); raise SystemExit(1)",
                    NULL};
    fflush(stdout);
    lt_sys_fails("execve-python-fails", syscall(SYS_execve, args[0], args, environ));
    lt_sys_fails("execveat-python-fails", syscall(SYS_execveat, AT_FDCWD, args[0], args, environ, 0));
}

int main(void)
{
    lt_init();
    check_network();
    check_processes();
    check_unsupported();
    check_memory();
    check_exec();
    return lt_finish();
}
