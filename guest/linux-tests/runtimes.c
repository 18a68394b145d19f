/* runtimes: the calls Debian's node (V8, libuv) and python3 (threads, asyncio) were traced making at start and
 * per request that the layer used to refuse (docs/node-syscalls.md): capget/capset, statx, the protection-key calls,
 * clone3's argument checks, mprotect's protection bits, madvise(MADV_DONTFORK), rt_sigaction's unknown flag bits, /proc/self/stat and statm as libuv reads them, and robust mutexes whose owner
 * thread exits (the robust futex list walked at exit). Run as `/tests/runtimes-static` (no arguments).
 *
 * Every check is a plain Linux program's expectation: the answers Snapfn gives where Linux may differ (no
 * capabilities, no protection keys) are each one that Linux gives on some machine, and the checks accept both. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* --- capget / capset ------------------------------------------------------------------------------------------ */

static void check_capabilities(void)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0xa5, sizeof data);
    if (lt_sys_ok("capget-v3", syscall(SYS_capget, &header, data))) {
        bool subset = (data[0].effective & ~data[0].permitted) == 0 && (data[1].effective & ~data[1].permitted) == 0;
        lt_check("capget-effective-within-permitted", subset, "effective %x:%x permitted %x:%x", data[0].effective,
                 data[1].effective, data[0].permitted, data[1].permitted);
        /* Setting the sets it has is always allowed (what a program that drops nothing does). */
        header = (struct __user_cap_header_struct){_LINUX_CAPABILITY_VERSION_3, 0};
        lt_sys_ok("capset-same-sets", syscall(SYS_capset, &header, data));
    }

    header = (struct __user_cap_header_struct){0x1234, 0};
    lt_sys_ok("capget-version-probe-null-data", syscall(SYS_capget, &header, NULL));
    lt_check("capget-version-probe-answer", header.version == _LINUX_CAPABILITY_VERSION_3, "version 0x%x", header.version);
    header = (struct __user_cap_header_struct){0x1234, 0};
    lt_sys_errno("capget-unknown-version", syscall(SYS_capget, &header, data), EINVAL);

    header = (struct __user_cap_header_struct){_LINUX_CAPABILITY_VERSION_3, -1};
    lt_sys_errno("capget-negative-pid", syscall(SYS_capget, &header, data), EINVAL);
    header = (struct __user_cap_header_struct){_LINUX_CAPABILITY_VERSION_3, getpid()};
    lt_sys_ok("capget-own-pid", syscall(SYS_capget, &header, data));
    header = (struct __user_cap_header_struct){_LINUX_CAPABILITY_VERSION_3, 0x3ffffff0};
    lt_sys_errno("capget-no-such-pid", syscall(SYS_capget, &header, data), ESRCH);
    header = (struct __user_cap_header_struct){_LINUX_CAPABILITY_VERSION_3, 0x3ffffff0};
    lt_sys_errno("capset-other-pid", syscall(SYS_capset, &header, data), EPERM);
    header = (struct __user_cap_header_struct){_LINUX_CAPABILITY_VERSION_3, 0};
    lt_sys_errno("capget-data-null-page", syscall(SYS_capget, &header, (void *)8), EFAULT);
}

/* --- statx ---------------------------------------------------------------------------------------------------- */

static void check_statx(void)
{
    int fd = open("/tmp/runtimes-statx", O_CREAT | O_RDWR | O_TRUNC, 0640);
    if (!lt_sys_ok("statx-setup", fd))
        return;
    lt_check("statx-setup-write", write(fd, "statx!", 6) == 6, "short write");
    struct stat st;
    struct statx stx;
    fstat(fd, &st);
    memset(&stx, 0xee, sizeof stx);
    if (lt_sys_ok("statx-path", syscall(SYS_statx, AT_FDCWD, "/tmp/runtimes-statx", AT_STATX_SYNC_AS_STAT, STATX_ALL, &stx))) {
        lt_check("statx-basic-mask", (stx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, "mask 0x%x", stx.stx_mask);
        lt_check("statx-matches-fstat", stx.stx_size == 6 && stx.stx_ino == st.st_ino && stx.stx_mode == (st.st_mode & 0xffff) &&
                 stx.stx_nlink == st.st_nlink && stx.stx_mtime.tv_sec == st.st_mtim.tv_sec &&
                 stx.stx_mtime.tv_nsec == (uint32_t)st.st_mtim.tv_nsec &&
                 makedev(stx.stx_dev_major, stx.stx_dev_minor) == st.st_dev,
                 "size %llu ino %llu mode 0%o", (unsigned long long)stx.stx_size, (unsigned long long)stx.stx_ino, stx.stx_mode);
    }
    memset(&stx, 0, sizeof stx);
    if (lt_sys_ok("statx-empty-path", syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx)))
        lt_check("statx-empty-path-is-the-fd", stx.stx_ino == st.st_ino, "ino %llu", (unsigned long long)stx.stx_ino);
    struct stat cwd;
    memset(&stx, 0, sizeof stx);
    if (lt_sys_ok("statx-cwd-empty-path", syscall(SYS_statx, AT_FDCWD, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx)) &&
        lt_sys_ok("statx-cwd-stat", stat(".", &cwd)))
        lt_check("statx-cwd-is-the-working-directory", stx.stx_ino == cwd.st_ino, "ino %llu", (unsigned long long)stx.stx_ino);
    memset(&stx, 0, sizeof stx);
    if (lt_sys_ok("statx-dir-nofollow", syscall(SYS_statx, AT_FDCWD, "/tmp", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx)))
        lt_check("statx-dir-type", S_ISDIR(stx.stx_mode), "mode 0%o", stx.stx_mode);
    lt_sys_errno("statx-both-sync-flags", syscall(SYS_statx, AT_FDCWD, "/tmp", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, 0, &stx), EINVAL);
    lt_sys_errno("statx-unknown-flag", syscall(SYS_statx, AT_FDCWD, "/tmp", 0x1, 0, &stx), EINVAL);
    lt_sys_errno("statx-reserved-mask", syscall(SYS_statx, AT_FDCWD, "/tmp", 0, 0x80000000u, &stx), EINVAL);
    lt_sys_errno("statx-missing", syscall(SYS_statx, AT_FDCWD, "/tmp/runtimes-missing", 0, STATX_ALL, &stx), ENOENT);
    lt_sys_errno("statx-buffer-null-page", syscall(SYS_statx, AT_FDCWD, "/tmp", 0, STATX_ALL, (void *)8), EFAULT);
    close(fd);
    unlink("/tmp/runtimes-statx");
}

/* --- protection keys and mprotect ----------------------------------------------------------------------------- */

static void check_protection(void)
{
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!lt_check("protection-setup", page != MAP_FAILED, "mmap failed"))
        return;
    long key = syscall(SYS_pkey_alloc, 0, 1 /* PKEY_DISABLE_ACCESS, as V8 asks */);
    if (key >= 0) {
        lt_ok("pkey-alloc", "key %ld (this CPU has protection keys)", key);
        syscall(SYS_pkey_free, key);
    } else {
        lt_check("pkey-alloc", errno == EINVAL || errno == ENOSPC, "%s (Linux without protection keys: EINVAL or ENOSPC)",
                 lt_errname(errno));
    }
    lt_sys_errno("pkey-alloc-bad-flags", syscall(SYS_pkey_alloc, 1, 0), EINVAL);
    lt_sys_errno("pkey-free-unallocated", syscall(SYS_pkey_free, 15), EINVAL);
    lt_sys_errno("pkey-mprotect-unallocated", syscall(SYS_pkey_mprotect, page, 4096, PROT_READ, 15), EINVAL);
    lt_sys_ok("pkey-mprotect-minus-one", syscall(SYS_pkey_mprotect, page, 4096, PROT_READ, -1));
    /* The page is read-only now: a read() into it must fail rather than write. */
    int fds[2];
    if (lt_sys_ok("protection-pipe", pipe(fds))) {
        lt_check("protection-pipe-write", write(fds[1], "x", 1) == 1, "short write");
        lt_sys_errno("pkey-mprotect-took-effect", read(fds[0], page, 1), EFAULT);
        close(fds[0]);
        close(fds[1]);
    }
    lt_sys_errno("mprotect-unknown-bit", syscall(SYS_mprotect, page, 4096, PROT_READ | 0x10), EINVAL);
    lt_sys_errno("mprotect-growsdown-and-up", syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP), EINVAL);
    lt_sys_ok("mprotect-sem", syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_WRITE | 0x8 /* PROT_SEM */));
    lt_sys_ok("mprotect-empty-unknown-bit", syscall(SYS_mprotect, page, 0, 0x10));
    lt_sys_ok("madvise-dontfork", madvise(page, 4096, MADV_DONTFORK));
    lt_sys_ok("madvise-dofork", madvise(page, 4096, MADV_DOFORK));
    munmap(page, 4096);
}

/* --- rt_sigaction's flag bits --------------------------------------------------------------------------------- */

struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

static void ignore_signal(int signal)
{
    (void)signal;
}

static void check_sigaction_flags(void)
{
    /* Node's SIGINT handler: glibc sign-extends an int's SA_RESETHAND (0x80000000) into the upper half. Linux keeps
     * only the flag bits it knows, so a program can probe for one (SA_UNSUPPORTED, 0x400) by reading it back. */
    struct kernel_sigaction action = {ignore_signal, 0xffffffff80000000ul | SA_RESTART | 0x400, NULL, 0};
    struct kernel_sigaction old;
    if (lt_sys_ok("sigaction-unknown-flags", syscall(SYS_rt_sigaction, SIGUSR2, &action, NULL, 8)) &&
        lt_sys_ok("sigaction-read-back", syscall(SYS_rt_sigaction, SIGUSR2, NULL, &old, 8)))
        lt_check("sigaction-unknown-flags-dropped", old.flags == (0x80000000ul | SA_RESTART), "flags 0x%lx", old.flags);
    signal(SIGUSR2, SIG_DFL);
}

/* --- /proc/self/stat and statm -------------------------------------------------------------------------------- */

/* The field after the n-th space following the ')' that ends the command name: libuv's way to the resident size
 * (uv_resident_set_memory, Node's process.memoryUsage()), which reads field 24 with n = 22. */
static long stat_field_after_name(const char *line, int n)
{
    const char *s = strrchr(line, ')');
    for (int i = 0; s != NULL && i < n; i++)
        s = strchr(s + 1, ' ');
    return s == NULL ? -1 : strtol(s, NULL, 10);
}

static void check_proc_stat(void)
{
    char line[1024];
    int fd = open("/proc/self/stat", O_RDONLY);
    if (!lt_sys_ok("proc-stat-open", fd))
        return;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    if (!lt_check("proc-stat-read", n > 0, "read returned %zd", n))
        return;
    line[n] = '\0';
    lt_check("proc-stat-pid", strtol(line, NULL, 10) == getpid(), "%.40s", line);
    lt_check("proc-stat-name", strchr(line, '(') != NULL && strrchr(line, ')') != NULL, "%.40s", line);
    long rss = stat_field_after_name(line, 22);
    lt_check("proc-stat-rss-pages", rss > 0 && rss < (1L << 40) / 4096, "rss %ld", rss);
    lt_check("proc-stat-threads", stat_field_after_name(line, 18) >= 1, "threads %ld", stat_field_after_name(line, 18));
    lt_check("proc-stat-vsize", stat_field_after_name(line, 21) >= rss * 4096, "vsize %ld rss %ld", stat_field_after_name(line, 21), rss);
    int fields = 0;
    for (const char *s = strrchr(line, ')'); s != NULL; s = strchr(s + 1, ' '))
        fields++;
    lt_check("proc-stat-fields", fields >= 50, "%d fields after the name", fields + 1);

    fd = open("/proc/self/statm", O_RDONLY);
    if (!lt_sys_ok("proc-statm-open", fd))
        return;
    n = read(fd, line, sizeof line - 1);
    close(fd);
    line[n > 0 ? n : 0] = '\0';
    unsigned long size = 0, resident = 0, shared = 0, text = 0, lib = 0, data = 0, dt = 0;
    lt_check("proc-statm", sscanf(line, "%lu %lu %lu %lu %lu %lu %lu", &size, &resident, &shared, &text, &lib, &data, &dt) == 7 &&
             resident > 0 && resident <= size && data <= size, "%s", line);
}

/* --- clone3's checks ------------------------------------------------------------------------------------------ */

static void check_clone3_arguments(void)
{
    /* pthread_create (glibc 2.34 and later) calls clone3 first; its checks of the struct are Linux's. Each call here
     * fails before anything is created, so no child ever runs. */
    static char stack[4096];
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    args.stack = (uintptr_t)stack;
    args.stack_size = sizeof stack;
    lt_sys_errno("clone3-size-below-64", syscall(SYS_clone3, &args, 63), EINVAL);
    lt_sys_errno("clone3-size-above-a-page", syscall(SYS_clone3, &args, 4097), E2BIG);
    struct { struct clone_args args; uint64_t unknown; } bigger;
    memset(&bigger, 0, sizeof bigger);
    bigger.args = args;
    bigger.unknown = 1;
    lt_sys_errno("clone3-unknown-field-set", syscall(SYS_clone3, &bigger, sizeof bigger), E2BIG);
    args.stack_size = 0;
    lt_sys_errno("clone3-stack-without-size", syscall(SYS_clone3, &args, sizeof args), EINVAL);
    args.stack_size = sizeof stack;
    args.exit_signal = SIGCHLD;
    lt_sys_errno("clone3-thread-with-exit-signal", syscall(SYS_clone3, &args, sizeof args), EINVAL);
    args.exit_signal = 0;
    args.flags |= CLONE_DETACHED;
    lt_sys_errno("clone3-detached", syscall(SYS_clone3, &args, sizeof args), EINVAL);
    lt_sys_errno("clone3-args-null-page", syscall(SYS_clone3, (void *)8, sizeof args), EFAULT);
}

/* --- robust mutexes ------------------------------------------------------------------------------------------- */

static pthread_mutex_t robust;
static pthread_barrier_t locked;

static void *lock_and_exit(void *arg)
{
    pthread_mutex_lock(&robust);
    if (arg != NULL)
        pthread_barrier_wait(&locked);
    /* Give the main thread time to block in the lock: then the exit's walk must wake it (either way it gets
     * EOWNERDEAD; the wake-up is what a wrong walk would lose, and the main thread would wait forever). */
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    return NULL; /* exits holding the mutex */
}

static void check_robust_mutex(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attr);
    pthread_barrier_init(&locked, NULL, 2);

    pthread_t thread;
    if (!lt_check("robust-create", pthread_create(&thread, NULL, lock_and_exit, (void *)1) == 0, "pthread_create failed"))
        return;
    pthread_barrier_wait(&locked);
    int r = pthread_mutex_lock(&robust); /* blocks until the owner exits */
    lt_check("robust-contended-owner-died", r == EOWNERDEAD, "pthread_mutex_lock returned %s", lt_errname(r));
    if (r == EOWNERDEAD) {
        lt_check("robust-consistent", pthread_mutex_consistent(&robust) == 0, "pthread_mutex_consistent failed");
        pthread_mutex_unlock(&robust);
    }
    pthread_join(thread, NULL);

    /* The owner has exited before anyone asks: the word already says FUTEX_OWNER_DIED. */
    pthread_create(&thread, NULL, lock_and_exit, NULL);
    pthread_join(thread, NULL);
    r = pthread_mutex_lock(&robust);
    lt_check("robust-uncontended-owner-died", r == EOWNERDEAD, "pthread_mutex_lock returned %s", lt_errname(r));
    /* Not made consistent: unlocking makes it unusable for good, as POSIX says. */
    pthread_mutex_unlock(&robust);
    r = pthread_mutex_lock(&robust);
    lt_check("robust-not-recoverable", r == ENOTRECOVERABLE, "pthread_mutex_lock returned %s", lt_errname(r));

    struct robust_list_head *head;
    size_t length;
    if (lt_sys_ok("robust-get-list", syscall(SYS_get_robust_list, 0, &head, &length)))
        lt_check("robust-list-registered", head != NULL && length == sizeof *head, "head %p length %zu", (void *)head, length);
    pthread_barrier_destroy(&locked);
}

int main(void)
{
    lt_init();
    check_capabilities();
    check_statx();
    check_protection();
    check_sigaction_flags();
    check_proc_stat();
    check_clone3_arguments();
    check_robust_mutex();
    return lt_finish();
}
