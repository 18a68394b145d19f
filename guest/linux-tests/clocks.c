/* clocks: setting the time (refused: no CAP_SYS_TIME), the NTP query, the CPU-time clocks of threads and of the
 * process (clock_getcpuclockid, pthread_getcpuclockid, their gettime, getres and nanosleep), and nice values (getpriority, setpriority).
 * Run as `/tests/clocks-static` (no arguments).
 *
 * The program holds no capability (capget says so), so these are an unprivileged Linux process's expectations:
 * run as a user natively, it passes there too. Threads run on one vCPU in Snapfn and in parallel on Linux; the
 * CPU-time checks hold either way. */
#include "lt.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

/* Linux's encoding of CPU clock ids (glibc's MAKE_PROCESS_CPUCLOCK / MAKE_THREAD_CPUCLOCK). */
#define CPUCLOCK_PROF 0
#define CPUCLOCK_SCHED 2
#define PROCESS_CPUCLOCK(pid, which) ((clockid_t)((~(unsigned)(pid) << 3) | (which)))
#define THREAD_CPUCLOCK(tid, which) PROCESS_CPUCLOCK(tid, (which) | 4)

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts = {0, 0};
    if (clock_gettime(clock, &ts) != 0)
        return -1;
    return lt_ts_ns(&ts);
}

/* Burns CPU until `clock` has counted `ns` more (or 10 s of wall time have passed). */
static void spin_on(clockid_t clock, int64_t ns)
{
    int64_t start = clock_ns(clock), wall = clock_ns(CLOCK_MONOTONIC);
    while (clock_ns(clock) - start < ns && clock_ns(CLOCK_MONOTONIC) - wall < 10 * LT_NS_PER_SEC)
        ;
}

/* --- setting the time -------------------------------------------------------------------------------------------- */

static void check_set_time(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    lt_sys_errno("clock-settime-realtime-eperm", syscall(SYS_clock_settime, CLOCK_REALTIME, &now), EPERM);
    lt_sys_errno("clock-settime-glibc-eperm", clock_settime(CLOCK_REALTIME, &now), EPERM);
    lt_sys_errno("clock-settime-monotonic-einval", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &now), EINVAL);
    lt_sys_errno("clock-settime-process-cputime-einval", syscall(SYS_clock_settime, CLOCK_PROCESS_CPUTIME_ID, &now), EINVAL);
    lt_sys_errno("clock-settime-bad-clock-einval", syscall(SYS_clock_settime, 12345, &now), EINVAL);
    struct timespec bad = {now.tv_sec, 1000000000};
    lt_sys_errno("clock-settime-bad-nsec-einval", syscall(SYS_clock_settime, CLOCK_REALTIME, &bad), EINVAL);
    lt_sys_errno("clock-settime-efault", syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)8), EFAULT);
    lt_sys_errno("clock-settime-cpu-clock-eperm", syscall(SYS_clock_settime, PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED), &now),
                 EPERM);
    lt_sys_errno("clock-settime-missing-thread-einval",
                 syscall(SYS_clock_settime, THREAD_CPUCLOCK(54321, CPUCLOCK_SCHED), &now), EINVAL);

    struct timeval tv = {now.tv_sec, 0};
    lt_sys_errno("settimeofday-eperm", syscall(SYS_settimeofday, &tv, NULL), EPERM);
    lt_sys_errno("settimeofday-null-eperm", syscall(SYS_settimeofday, NULL, NULL), EPERM);
    struct timeval bad_tv = {now.tv_sec, 1000001};
    lt_sys_errno("settimeofday-bad-usec-einval", syscall(SYS_settimeofday, &bad_tv, NULL), EINVAL);
    lt_sys_errno("settimeofday-efault", syscall(SYS_settimeofday, (void *)8, NULL), EFAULT);

    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int64_t before = clock_ns(CLOCK_REALTIME) / LT_NS_PER_SEC;
    long r = syscall(SYS_adjtimex, &tx);
    int64_t after = clock_ns(CLOCK_REALTIME) / LT_NS_PER_SEC;
    lt_check("adjtimex-read", (r == TIME_OK || r == TIME_ERROR) && tx.tick > 0 && tx.time.tv_sec >= before &&
                                  tx.time.tv_sec <= after && tx.maxerror >= 0 && tx.precision > 0,
             "returned %ld (%s), tick %ld, time %ld (%lld..%lld), maxerror %ld, precision %ld", r, lt_errname(errno),
             tx.tick, (long)tx.time.tv_sec, (long long)before, (long long)after, tx.maxerror, tx.precision);
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_OFFSET_SS_READ;
    lt_sys_ok("adjtimex-offset-ss-read", syscall(SYS_adjtimex, &tx));
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_FREQUENCY;
    lt_sys_errno("adjtimex-set-frequency-eperm", syscall(SYS_adjtimex, &tx), EPERM);
    lt_sys_errno("adjtimex-efault", syscall(SYS_adjtimex, (void *)8), EFAULT);
    memset(&tx, 0, sizeof tx);
    lt_sys_ok("clock-adjtime-realtime-read", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
    lt_sys_errno("clock-adjtime-monotonic-eopnotsupp", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx), EOPNOTSUPP);
    lt_sys_errno("clock-adjtime-bad-clock-einval", syscall(SYS_clock_adjtime, 12345, &tx), EINVAL);
}

/* --- CPU-time clocks of this thread and of the process ------------------------------------------------------------- */

static void check_own_cpu_clocks(void)
{
    clockid_t mine = 0;
    int e = pthread_getcpuclockid(pthread_self(), &mine);
    long tid = syscall(SYS_gettid);
    lt_check("pthread-getcpuclockid", e == 0 && mine != CLOCK_THREAD_CPUTIME_ID && mine == THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED),
             "returned %d, clock %d (want %d)", e, (int)mine, (int)THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED));
    int64_t t0 = clock_ns(mine), s0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    spin_on(mine, 20 * LT_MS);
    int64_t t1 = clock_ns(mine), s1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    lt_check("thread-cpu-clock-counts", t0 >= 0 && t1 - t0 >= 20 * LT_MS && s1 - s0 >= 20 * LT_MS && s1 - s0 < 10 * LT_NS_PER_SEC,
             "own clock %lld -> %lld, CLOCK_THREAD_CPUTIME_ID %lld -> %lld", (long long)t0, (long long)t1, (long long)s0,
             (long long)s1);
    int64_t self_clock = lt_raw_clock_ns(THREAD_CPUCLOCK(0, CPUCLOCK_SCHED));
    lt_check("thread-cpu-clock-pid-0", self_clock >= t1, "tid 0 reads %lld, the thread's clock %lld before",
             (long long)self_clock, (long long)t1);

    typedef int (*gettime_fn)(clockid_t, struct timespec *);
    gettime_fn vdso = (__extension__(gettime_fn) lt_vdso_sym("__vdso_clock_gettime"));
    struct timespec ts = {0, 0};
    int vr = vdso ? vdso(mine, &ts) : -1;
    int64_t after = clock_ns(mine);
    lt_check("vdso-thread-cpu-clock-falls-back", vr == 0 && lt_ts_ns(&ts) >= t1 && lt_ts_ns(&ts) <= after,
             "returned %d, %lld (between %lld and %lld)", vr, (long long)lt_ts_ns(&ts), (long long)t1, (long long)after);

    clockid_t process = 0;
    e = clock_getcpuclockid(0, &process);
    lt_check("clock-getcpuclockid-self", e == 0 && process == PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED), "returned %d, clock %d", e,
             (int)process);
    int64_t p0 = clock_ns(process), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    spin_on(process, 10 * LT_MS);
    int64_t p1 = clock_ns(process), c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    lt_check("process-cpu-clock-counts", p0 >= 0 && p1 - p0 >= 10 * LT_MS && c1 - c0 >= 10 * LT_MS && c0 >= p0,
             "clock %lld -> %lld, CLOCK_PROCESS_CPUTIME_ID %lld -> %lld", (long long)p0, (long long)p1, (long long)c0,
             (long long)c1);
    clockid_t by_pid = 0;
    e = clock_getcpuclockid(getpid(), &by_pid);
    lt_check("clock-getcpuclockid-getpid", e == 0 && clock_ns(by_pid) >= p1, "returned %d, clock %d", e, (int)by_pid);
    e = clock_getcpuclockid(54321, &by_pid);
    lt_check("clock-getcpuclockid-missing-esrch", e == ESRCH, "returned %d (%s)", e, lt_errname(e));

    struct timespec ts2;
    lt_sys_errno("cpu-clock-missing-thread-einval", syscall(SYS_clock_gettime, THREAD_CPUCLOCK(54321, CPUCLOCK_SCHED), &ts2),
                 EINVAL);
    lt_sys_errno("cpu-clock-bad-which-einval", syscall(SYS_clock_gettime, THREAD_CPUCLOCK(0, 3), &ts2), EINVAL);
    lt_sys_errno("cpu-clock-missing-process-einval", syscall(SYS_clock_getres, PROCESS_CPUCLOCK(54321, CPUCLOCK_SCHED), &ts2),
                 EINVAL);
    memset(&ts2, 0xff, sizeof ts2);
    long r = syscall(SYS_clock_getres, mine, &ts2);
    lt_check("cpu-clock-getres-sched", r == 0 && ts2.tv_sec == 0 && ts2.tv_nsec == 1, "returned %ld, %lld.%09ld", r,
             (long long)ts2.tv_sec, ts2.tv_nsec);
    r = syscall(SYS_clock_getres, PROCESS_CPUCLOCK(0, CPUCLOCK_PROF), &ts2);
    lt_check("cpu-clock-getres-prof-tick", r == 0 && ts2.tv_sec == 0 && ts2.tv_nsec >= LT_MS && ts2.tv_nsec <= 10 * LT_MS,
             "returned %ld, %lld.%09ld", r, (long long)ts2.tv_sec, ts2.tv_nsec);

    struct timespec ms = {0, LT_MS};
    lt_sys_errno("clock-nanosleep-thread-cputime-eopnotsupp",
                 syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &ms, NULL), EOPNOTSUPP);
    e = clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ms, NULL);
    lt_check("clock-nanosleep-thread-cputime-glibc-einval", e == EINVAL, "returned %d (%s)", e, lt_errname(e));
    e = clock_nanosleep(mine, 0, &ms, NULL);
    lt_check("clock-nanosleep-own-thread-clock-einval", e == EINVAL, "returned %d (%s)", e, lt_errname(e));
    lt_sys_errno("clock-nanosleep-monotonic-coarse-eopnotsupp",
                 syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_COARSE, 0, &ms, NULL), EOPNOTSUPP);
    clockid_t fd_clock = (clockid_t)((~3u << 3) | 3); /* the clock of file descriptor 3 (a PTP device's, on Linux) */
    lt_sys_errno("clock-nanosleep-fd-clock-eopnotsupp", syscall(SYS_clock_nanosleep, fd_clock, 0, &ms, NULL), EOPNOTSUPP);
    lt_sys_errno("clock-gettime-fd-clock-einval", syscall(SYS_clock_gettime, fd_clock, &ts2), EINVAL);
    lt_sys_errno("clock-nanosleep-missing-thread-einval",
                 syscall(SYS_clock_nanosleep, THREAD_CPUCLOCK(54321, CPUCLOCK_SCHED), 0, &ms, NULL), EINVAL);
}

/* --- the CPU clock of another thread ------------------------------------------------------------------------------ */

static atomic_long worker_tid;
static atomic_int worker_stop;

static void *spinner(void *arg)
{
    (void)arg;
    atomic_store(&worker_tid, syscall(SYS_gettid));
    int64_t wall = clock_ns(CLOCK_MONOTONIC);
    while (!atomic_load(&worker_stop) && clock_ns(CLOCK_MONOTONIC) - wall < 20 * LT_NS_PER_SEC)
        ;
    return NULL;
}

static void check_other_thread_clock(void)
{
    pthread_t t;
    if (!lt_check("spinner-created", pthread_create(&t, NULL, spinner, NULL) == 0, "pthread_create failed"))
        return;
    while (atomic_load(&worker_tid) == 0)
        sched_yield();
    long tid = atomic_load(&worker_tid);
    clockid_t theirs = 0;
    int e = pthread_getcpuclockid(t, &theirs);
    lt_check("pthread-getcpuclockid-other", e == 0 && theirs == THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), "returned %d, clock %d", e,
             (int)theirs);

    int64_t w0 = clock_ns(theirs), m0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), p0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    struct timespec rel = {0, 30 * LT_MS};
    e = clock_nanosleep(theirs, 0, &rel, NULL);
    int64_t w1 = clock_ns(theirs), m1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    lt_check("clock-nanosleep-other-thread-relative", e == 0 && w0 >= 0 && w1 - w0 >= 30 * LT_MS,
             "returned %d (%s), its clock %lld -> %lld", e, lt_errname(e), (long long)w0, (long long)w1);
    /* The sleeping thread was not charged with the time the other one ran. */
    lt_check("thread-cpu-clock-is-per-thread", m1 - m0 < w1 - w0, "mine grew %lld ns while theirs grew %lld ns",
             (long long)(m1 - m0), (long long)(w1 - w0));
    struct timespec target = {(w1 + 20 * LT_MS) / LT_NS_PER_SEC, (w1 + 20 * LT_MS) % LT_NS_PER_SEC};
    e = clock_nanosleep(theirs, TIMER_ABSTIME, &target, NULL);
    int64_t w2 = clock_ns(theirs), p1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    lt_check("clock-nanosleep-other-thread-absolute", e == 0 && w2 >= lt_ts_ns(&target), "returned %d (%s), clock %lld, target %lld",
             e, lt_errname(e), (long long)w2, (long long)lt_ts_ns(&target));
    lt_check("process-cpu-clock-sums-threads", p1 - p0 >= w2 - w0, "process grew %lld ns, the spinner %lld ns",
             (long long)(p1 - p0), (long long)(w2 - w0));

    struct rusage self, thread;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_THREAD, &thread);
    int64_t self_us = (int64_t)(self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1000000 + self.ru_utime.tv_usec + self.ru_stime.tv_usec;
    int64_t thread_us = (int64_t)(thread.ru_utime.tv_sec + thread.ru_stime.tv_sec) * 1000000 + thread.ru_utime.tv_usec + thread.ru_stime.tv_usec;
    lt_check("getrusage-thread-is-the-callers", self_us - thread_us >= (w2 - w0) / 2000, "RUSAGE_SELF %lld us, RUSAGE_THREAD %lld us, the spinner used %lld us",
             (long long)self_us, (long long)thread_us, (long long)((w2 - w0) / 1000));

    atomic_store(&worker_stop, 1);
    pthread_join(t, NULL);
    struct timespec ts;
    lt_sys_errno("cpu-clock-of-exited-thread-einval", syscall(SYS_clock_gettime, theirs, &ts), EINVAL);
}

/* --- nice values ------------------------------------------------------------------------------------------------------ */

static atomic_int nice_step;
static atomic_long nice_tid;
static atomic_int nice_inherited = 99;

static void *nice_thread(void *arg)
{
    (void)arg;
    errno = 0;
    atomic_store(&nice_inherited, getpriority(PRIO_PROCESS, 0));
    setpriority(PRIO_PROCESS, 0, 10);
    atomic_store(&nice_tid, syscall(SYS_gettid));
    while (atomic_load(&nice_step) == 0)
        sched_yield();
    return NULL;
}

/* Left for last: a nice value cannot be lowered again. */
static void check_nice(void)
{
    long raw = syscall(SYS_getpriority, PRIO_PROCESS, 0);
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    lt_check("getpriority-starts-at-0", raw == 20 && nice == 0 && errno == 0, "raw %ld (20 - nice), glibc %d (%s)", raw, nice,
             lt_errname(errno));
    struct rlimit rl;
    lt_check("rlimit-nice-0", getrlimit(RLIMIT_NICE, &rl) == 0 && rl.rlim_cur == 0, "cur %llu", (unsigned long long)rl.rlim_cur);
    lt_sys_ok("setpriority-raise-nice", setpriority(PRIO_PROCESS, 0, 5));
    lt_check("getpriority-reads-it", getpriority(PRIO_PROCESS, getpid()) == 5, "nice %d", getpriority(PRIO_PROCESS, getpid()));
    lt_sys_errno("setpriority-lower-nice-eacces", setpriority(PRIO_PROCESS, 0, 2), EACCES);
    lt_check("setpriority-eacces-kept-it", getpriority(PRIO_PROCESS, 0) == 5, "nice %d", getpriority(PRIO_PROCESS, 0));
    lt_sys_ok("setpriority-same-nice", setpriority(PRIO_PROCESS, 0, 5));

    pthread_t t;
    if (lt_check("nice-thread-created", pthread_create(&t, NULL, nice_thread, NULL) == 0, "pthread_create failed")) {
        while (atomic_load(&nice_tid) == 0)
            sched_yield();
        long tid = atomic_load(&nice_tid);
        lt_check("nice-inherited-by-thread", atomic_load(&nice_inherited) == 5, "the new thread read %d",
                 atomic_load(&nice_inherited));
        lt_check("nice-per-thread", getpriority(PRIO_PROCESS, (id_t)tid) == 10 && getpriority(PRIO_PROCESS, 0) == 5,
                 "thread %d, main %d", getpriority(PRIO_PROCESS, (id_t)tid), getpriority(PRIO_PROCESS, 0));
        /* The process's group is the process in Snapfn; natively, run the program under setsid for the same. */
        lt_check("getpriority-pgrp-highest", getpriority(PRIO_PGRP, 0) == 5, "nice %d", getpriority(PRIO_PGRP, 0));
        lt_sys_errno("setpriority-other-thread-lower-eacces", setpriority(PRIO_PROCESS, (id_t)tid, 3), EACCES);
        lt_sys_ok("setpriority-other-thread", setpriority(PRIO_PROCESS, (id_t)tid, 12));
        lt_check("setpriority-other-thread-read", getpriority(PRIO_PROCESS, (id_t)tid) == 12, "nice %d",
                 getpriority(PRIO_PROCESS, (id_t)tid));
        atomic_store(&nice_step, 1);
        pthread_join(t, NULL);
    }

    lt_sys_errno("getpriority-missing-esrch", getpriority(PRIO_PROCESS, 54321), ESRCH);
    lt_sys_errno("getpriority-bad-which-einval", syscall(SYS_getpriority, 7, 0), EINVAL);
    lt_sys_errno("setpriority-missing-user-esrch", setpriority(PRIO_USER, 12345, 19), ESRCH);
    lt_sys_ok("setpriority-clamped", setpriority(PRIO_PROCESS, 0, 100));
    lt_check("setpriority-clamped-to-19", getpriority(PRIO_PROCESS, 0) == 19, "nice %d", getpriority(PRIO_PROCESS, 0));
}

int main(void)
{
    lt_init();
    check_set_time();
    check_own_cpu_clocks();
    check_other_thread_clock();
    check_nice();
    return lt_finish();
}
