/* signals: signals a program sends itself and its timers' signals, delivered to handlers, from inside the guest.
 * Run as `/tests/signals-static` (no arguments). One thread: every wait here ends by a timer's signal or a timeout. */
#include "lt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count, last_signal, last_code, last_pid;
static volatile uintptr_t last_value;
static volatile uintptr_t handler_sp;
static volatile uint64_t mask_in_handler;
static volatile int altstack_flags_in_handler, altstack_change_errno;

static void on_info(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    count++;
    last_signal = sig;
    last_code = info->si_code;
    last_pid = info->si_pid;
    last_value = (uintptr_t)info->si_value.sival_ptr;
    uint64_t m = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8);
    mask_in_handler = m;
    __asm__ volatile("xorpd %%xmm8, %%xmm8" ::: "xmm8"); /* the interrupted code's xmm8 must come back anyway */
}

static void on_stack(int sig)
{
    (void)sig;
    int local;
    handler_sp = (uintptr_t)&local;
    stack_t now;
    syscall(SYS_sigaltstack, NULL, &now);
    altstack_flags_in_handler = now.ss_flags;
    stack_t other = {.ss_sp = now.ss_sp, .ss_size = now.ss_size, .ss_flags = 0};
    altstack_change_errno = syscall(SYS_sigaltstack, &other, NULL) == -1 ? errno : 0;
}

static void on_plain(int sig)
{
    count++;
    last_signal = sig;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags, int also_block)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    if (also_block)
        sigaddset(&sa.sa_mask, also_block);
    sigaction(sig, &sa, NULL);
}

static void check_self_signals(void)
{
    install(SIGUSR1, on_info, 0, SIGUSR2);
    count = 0;
    long r = syscall(SYS_kill, getpid(), SIGUSR1);
    lt_check("kill-self-runs-handler", r == 0 && count == 1 && last_signal == SIGUSR1 && last_code == SI_USER &&
                                           last_pid == getpid(),
             "returned %ld, handler ran %d times (signal %d, code %d, pid %d)", r, (int)count, (int)last_signal,
             (int)last_code, (int)last_pid);
    uint64_t bits = (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGUSR2 - 1));
    lt_check("handler-mask", (mask_in_handler & bits) == bits, "mask in the handler 0x%llx", (unsigned long long)mask_in_handler);
    uint64_t after = ~0ULL;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &after, 8);
    lt_check("mask-restored-after-handler", (after & bits) == 0, "mask after 0x%llx", (unsigned long long)after);

    count = 0;
    r = raise(SIGUSR1);
    lt_check("raise-runs-handler", r == 0 && count == 1 && last_code == SI_TKILL, "returned %ld, ran %d times, code %d", r,
             (int)count, (int)last_code);
    count = 0;
    r = syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    lt_check("tgkill-runs-handler", r == 0 && count == 1, "returned %ld, ran %d times", r, (int)count);

    /* Registers the interrupted code keeps in SSE registers across its system call survive a handler that uses them. */
    install(SIGUSR2, on_info, 0, 0);
    uint64_t kept_bits = 0;
    __asm__ volatile("movq %[v], %%xmm8\n\t"
                     "mov $62, %%eax\n\t" /* SYS_kill */
                     "syscall\n\t"
                     "movq %%xmm8, %[out]"
                     : [out] "=r"(kept_bits)
                     : [v] "r"(0x400921fb54442d18ULL), "D"((long)getpid()), "S"((long)SIGUSR2)
                     : "rax", "rcx", "r11", "xmm8", "memory");
    double kept;
    memcpy(&kept, &kept_bits, sizeof kept);
    lt_check("fpu-registers-survive-handler", kept > 3.14159 && kept < 3.1416, "xmm8 came back as %f", kept);

    count = 0;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    kill(getpid(), SIGUSR1);
    sigset_t pending;
    sigemptyset(&pending);
    long pr = syscall(SYS_rt_sigpending, &pending, 8);
    int while_blocked = count;
    sigprocmask(SIG_SETMASK, &old, NULL);
    lt_check("blocked-signal-pends-then-runs", pr == 0 && sigismember(&pending, SIGUSR1) == 1 && while_blocked == 0 &&
                                                   count == 1,
             "pending %d, ran %d times while blocked, %d after", sigismember(&pending, SIGUSR1), while_blocked, (int)count);

    signal(SIGUSR1, SIG_IGN);
    lt_check("ignored-signal", kill(getpid(), SIGUSR1) == 0, "kill failed");
    lt_sys_errno("kill-bad-signal-einval", syscall(SYS_kill, getpid(), 65), EINVAL);

    install(SIGUSR1, on_info, SA_RESETHAND, 0);
    kill(getpid(), SIGUSR1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    lt_check("sa-resethand", now.sa_handler == SIG_DFL, "the handler is still installed");
}

static void check_altstack(void)
{
    static char alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0}, old;
    lt_sys_ok("sigaltstack-set", syscall(SYS_sigaltstack, &ss, &old));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stack;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    lt_check("sa-onstack-runs-on-alternate-stack", handler_sp > (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt,
             "handler's stack at %p, alternate stack %p..%p", (void *)handler_sp, (void *)alt, (void *)(alt + sizeof alt));
    lt_check("sigaltstack-onstack-in-handler", altstack_flags_in_handler == SS_ONSTACK && altstack_change_errno == EPERM,
             "flags %d, change gave %s", altstack_flags_in_handler, lt_errname(altstack_change_errno));
    stack_t small = {.ss_sp = alt, .ss_size = 100, .ss_flags = 0};
    lt_sys_errno("sigaltstack-too-small-enomem", syscall(SYS_sigaltstack, &small, NULL), ENOMEM);
    stack_t off = {.ss_flags = SS_DISABLE};
    syscall(SYS_sigaltstack, &off, NULL);
    signal(SIGUSR2, SIG_DFL);
}

static void check_timers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_plain;
    sigaction(SIGALRM, &sa, NULL);

    count = 0;
    struct itimerval it = {{0, 0}, {0, 20000}}, cur;
    lt_sys_ok("setitimer", syscall(SYS_setitimer, ITIMER_REAL, &it, NULL));
    long g = syscall(SYS_getitimer, ITIMER_REAL, &cur);
    lt_check("getitimer", g == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 20000,
             "returned %ld, %ld.%06ld left", g, (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec);
    long p = syscall(SYS_pause);
    int err = errno;
    lt_check("setitimer-sigalrm-ends-pause", p == -1 && err == EINTR && count == 1 && last_signal == SIGALRM,
             "pause returned %ld (%s), handler ran %d times", p, lt_errname(err), (int)count);

    count = 0;
    struct itimerval periodic = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &periodic, NULL);
    for (int i = 0; i < 100 && count < 3; i++) {
        struct timespec t = {1, 0};
        nanosleep(&t, NULL);
    }
    struct itimerval stop = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &stop, NULL);
    lt_check("setitimer-periodic", count >= 3, "SIGALRM ran %d times", (int)count);

    count = 0;
    struct timespec ten_s = {10, 0}, rem = {0, 0};
    it.it_value.tv_usec = 20000;
    setitimer(ITIMER_REAL, &it, NULL);
    long n = syscall(SYS_nanosleep, &ten_s, &rem);
    err = errno;
    lt_check("nanosleep-interrupted", n == -1 && err == EINTR && count == 1 && rem.tv_sec >= 8 && rem.tv_sec <= 10,
             "returned %ld (%s), handler ran %d times, %ld s left", n, lt_errname(err), (int)count, (long)rem.tv_sec);

    alarm(5);
    unsigned left = alarm(0);
    lt_check("alarm-returns-left", left == 5, "alarm(0) returned %u", left);

    /* A blocking read of an empty pipe the program itself holds the write end of: only the timer's signal ends it. */
    int fds[2];
    if (pipe(fds) == 0) {
        count = 0;
        setitimer(ITIMER_REAL, &it, NULL);
        char c;
        long r = read(fds[0], &c, 1);
        err = errno;
        lt_check("blocked-pipe-read-eintr", r == -1 && err == EINTR && count == 1, "read returned %ld (%s), handler ran %d",
                 r, lt_errname(err), (int)count);
        close(fds[0]);
        close(fds[1]);
    }

    install(SIGUSR2, on_info, 0, 0);
    timer_t timer;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    ev.sigev_value.sival_ptr = (void *)(uintptr_t)77;
    long tc = syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &timer);
    lt_check("timer-create", tc == 0, "returned %ld (%s)", tc, lt_errname(errno));
    struct itimerspec spec = {{0, 0}, {0, 15 * LT_MS}}, got;
    count = 0;
    syscall(SYS_timer_settime, timer, 0, &spec, NULL);
    long tg = syscall(SYS_timer_gettime, timer, &got);
    lt_check("timer-gettime", tg == 0 && got.it_value.tv_sec == 0 && got.it_value.tv_nsec > 0 &&
                                  got.it_value.tv_nsec <= 15 * LT_MS,
             "returned %ld, %ld ns left", tg, got.it_value.tv_nsec);
    sigset_t empty;
    sigemptyset(&empty);
    long s = sigsuspend(&empty);
    err = errno;
    lt_check("timer-signal-ends-sigsuspend", s == -1 && err == EINTR && count == 1 && last_signal == SIGUSR2 &&
                                                 last_code == SI_TIMER && last_value == 77,
             "sigsuspend %ld (%s), ran %d, signal %d, code %d, value %lu", s, lt_errname(err), (int)count,
             (int)last_signal, (int)last_code, (unsigned long)last_value);
    lt_check("timer-getoverrun", syscall(SYS_timer_getoverrun, timer) == 0, "overrun %ld", syscall(SYS_timer_getoverrun, timer));
    lt_sys_ok("timer-delete", syscall(SYS_timer_delete, timer));
    lt_sys_errno("timer-delete-again-einval", syscall(SYS_timer_delete, timer), EINVAL);
}

static void check_sigtimedwait(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    struct timespec t = {0, 20 * LT_MS};
    int64_t t0 = lt_raw_clock_ns(CLOCK_MONOTONIC);
    long r = syscall(SYS_rt_sigtimedwait, &set, NULL, &t, 8);
    int err = errno;
    int64_t waited = lt_raw_clock_ns(CLOCK_MONOTONIC) - t0;
    lt_check("sigtimedwait-timeout", r == -1 && err == EAGAIN && waited >= 20 * LT_MS, "returned %ld (%s) after %lld us", r,
             lt_errname(err), (long long)(waited / 1000));
    kill(getpid(), SIGUSR1);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    r = syscall(SYS_rt_sigtimedwait, &set, &info, &t, 8);
    lt_check("sigtimedwait-takes-pending", r == SIGUSR1 && info.si_signo == SIGUSR1 && info.si_code == SI_USER,
             "returned %ld, signo %d, code %d", r, info.si_signo, info.si_code);
    sigset_t pending;
    sigpending(&pending);
    lt_check("sigtimedwait-consumed", sigismember(&pending, SIGUSR1) == 0, "still pending");
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static void check_times(void)
{
    struct timespec t = {0, 50 * LT_MS};
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    nanosleep(&t, NULL);
    getrusage(RUSAGE_SELF, &after);
    long us = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000000L + (after.ru_utime.tv_usec - before.ru_utime.tv_usec);
    lt_check("getrusage-sleep-is-not-cpu-time", us >= 0 && us < 40000, "user time grew %ld us over a 50 ms sleep", us);
    lt_check("getrusage-maxrss", after.ru_maxrss > 0, "ru_maxrss %ld", after.ru_maxrss);
    struct rusage children;
    lt_check("getrusage-children", getrusage(RUSAGE_CHILDREN, &children) == 0 && children.ru_utime.tv_sec == 0, "failed");
    lt_sys_errno("getrusage-bad-who-einval", syscall(SYS_getrusage, 5, &after), EINVAL);
    struct tms tm;
    long ticks = syscall(SYS_times, &tm);
    lt_check("times", ticks != -1 && tm.tms_utime >= 0 && tm.tms_cutime == 0, "returned %ld, utime %ld", ticks,
             (long)tm.tms_utime);
}

int main(void)
{
    lt_init();
    check_self_signals();
    check_altstack();
    check_timers();
    check_sigtimedwait();
    check_times();
    return lt_finish();
}
