/* misc: identity, time, signals-as-state, TLS and futex calls, from inside the guest.
 * Run as `/tests/misc-static` (no arguments). One CPU; the handlers installed here are never sent a signal (guest/linux-tests/signals.c sends them). */
#include "lt.h"

#include <asm/prctl.h>
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

typedef int (*vdso_clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*vdso_gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*vdso_time_fn)(time_t *);
typedef int (*vdso_clock_getres_fn)(clockid_t, struct timespec *);
typedef int (*vdso_getcpu_fn)(unsigned *, unsigned *, void *);

static vdso_clock_gettime_fn vdso_clock_gettime;

/* Object to function pointer, as with dlsym: POSIX guarantees it. */
#define VDSO_FN(type, name) (__extension__(type) lt_vdso_sym(name))

static int64_t vdso_ns(clockid_t clock)
{
    struct timespec ts = {0, 0};
    if (!vdso_clock_gettime || vdso_clock_gettime(clock, &ts) != 0)
        return -1;
    return lt_ts_ns(&ts);
}

static void check_uname_random(void)
{
    struct utsname u;
    memset(&u, 0, sizeof u);
    long r = syscall(SYS_uname, &u);
    lt_check("uname", r == 0 && strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0 &&
                          u.release[0] >= '0' && u.release[0] <= '9',
             "returned %ld: sysname \"%s\", machine \"%s\", release \"%s\"", r, u.sysname, u.machine, u.release);

    unsigned char a[16], b[16];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    long na = syscall(SYS_getrandom, a, sizeof a, 0), nb = syscall(SYS_getrandom, b, sizeof b, 0);
    lt_check("getrandom-twice-differs", na == 16 && nb == 16 && memcmp(a, b, 16) != 0,
             "returned %ld and %ld, bytes %s", na, nb, memcmp(a, b, 16) ? "differ" : "equal");
    na = syscall(SYS_getrandom, a, sizeof a, GRND_NONBLOCK);
    lt_check("getrandom-nonblock", na == 16, "returned %ld (%s)", na, lt_errname(errno));
    lt_sys_errno("getrandom-bad-flags-einval", syscall(SYS_getrandom, a, sizeof a, 0x100), EINVAL);
}

/* The vDSO's clock and the VMM's may disagree by this much (calibration, refresh); a preemption between two
 * readings must not count, so every comparison is against readings taken on both sides. */
#define CLOCK_TOLERANCE (50 * LT_MS)

static bool between(int64_t v, int64_t before, int64_t after)
{
    return v >= before - CLOCK_TOLERANCE && v <= after + CLOCK_TOLERANCE;
}

/* A vDSO clock against the raw system call on the same clock: close together, and both moving forward by
 * about the same amount over ~5 ms. */
static void check_clock_pair(const char *name, clockid_t clock)
{
    char check[64];
    int64_t r0 = lt_raw_clock_ns(clock), v0 = vdso_ns(clock), r0b = lt_raw_clock_ns(clock);
    int64_t spin_until = v0 + 5 * LT_MS, v1 = v0;
    for (long i = 0; i < 2000000000L && v1 < spin_until && v1 >= 0; i++)
        v1 = vdso_ns(clock);
    int64_t r1 = lt_raw_clock_ns(clock), v2 = vdso_ns(clock);

    snprintf(check, sizeof check, "clock-%s-vdso-vs-syscall", name);
    lt_check(check, r0 > 0 && v0 > 0 && between(v0, r0, r0b), "vDSO %lld ns, syscall %lld..%lld ns", (long long)v0,
             (long long)r0, (long long)r0b);
    snprintf(check, sizeof check, "clock-%s-vdso-moves", name);
    lt_check(check, v1 >= spin_until && v2 >= v1, "vDSO went %lld -> %lld -> %lld", (long long)v0, (long long)v1,
             (long long)v2);
    snprintf(check, sizeof check, "clock-%s-syscall-moves", name);
    lt_check(check, r1 - r0b >= 4 * LT_MS && r1 - r0 < 5000 * LT_MS,
             "the syscall clock moved %lld us while the vDSO's moved %lld us", (long long)((r1 - r0b) / 1000),
             (long long)((v1 - v0) / 1000));
}

static void check_time(void)
{
    vdso_clock_gettime = VDSO_FN(vdso_clock_gettime_fn, "__vdso_clock_gettime");
    if (!lt_check("vdso-clock-gettime-found", vdso_clock_gettime != NULL, "no __vdso_clock_gettime in the vDSO"))
        return;
    check_clock_pair("monotonic", CLOCK_MONOTONIC);
    check_clock_pair("realtime", CLOCK_REALTIME);
    check_clock_pair("boottime", CLOCK_BOOTTIME);
    check_clock_pair("monotonic-raw", CLOCK_MONOTONIC_RAW);
    int64_t m0 = vdso_ns(CLOCK_MONOTONIC), c = vdso_ns(CLOCK_MONOTONIC_COARSE), m1 = vdso_ns(CLOCK_MONOTONIC);
    lt_check("clock-monotonic-coarse", c > 0 && between(c, m0, m1), "coarse %lld, fine %lld..%lld", (long long)c,
             (long long)m0, (long long)m1);
    m0 = vdso_ns(CLOCK_REALTIME), c = vdso_ns(CLOCK_REALTIME_COARSE), m1 = vdso_ns(CLOCK_REALTIME);
    lt_check("clock-realtime-coarse", c > 0 && between(c, m0, m1), "coarse %lld, fine %lld..%lld", (long long)c,
             (long long)m0, (long long)m1);

    struct timespec ts;
    int r = vdso_clock_gettime(12345, &ts);
    lt_check("vdso-bad-clock-einval", r == -EINVAL, "__vdso_clock_gettime(12345) returned %d, want -EINVAL", r);
    r = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    lt_check("clock-process-cputime", r == 0 && ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < LT_NS_PER_SEC,
             "returned %d (%s)", r, lt_errname(errno));

    /* glibc's clock_gettime goes through the vDSO when it found one; it must agree as well. */
    int64_t raw0 = lt_raw_clock_ns(CLOCK_MONOTONIC);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t g = lt_ts_ns(&ts), raw1 = lt_raw_clock_ns(CLOCK_MONOTONIC);
    lt_check("clock-glibc-vs-syscall", between(g, raw0, raw1), "glibc %lld, syscall %lld..%lld", (long long)g,
             (long long)raw0, (long long)raw1);

    vdso_clock_getres_fn getres = VDSO_FN(vdso_clock_getres_fn, "__vdso_clock_getres");
    ts.tv_sec = -1;
    r = getres ? getres(CLOCK_MONOTONIC, &ts) : -1;
    lt_check("clock-getres", r == 0 && ts.tv_sec == 0 && ts.tv_nsec > 0 && ts.tv_nsec <= LT_MS,
             "__vdso_clock_getres(CLOCK_MONOTONIC) = %d, %lld.%09ld", r, (long long)ts.tv_sec, ts.tv_nsec);

    /* time(): glibc (through the vDSO), the vDSO's own entry, the raw syscall, against CLOCK_REALTIME read on
     * both sides; a second of slack for the vDSO's and the VMM's clocks straddling a second boundary. */
    int64_t s0 = lt_raw_clock_ns(CLOCK_REALTIME) / LT_NS_PER_SEC;
    time_t t_glibc = time(NULL);
    vdso_time_fn vtime = VDSO_FN(vdso_time_fn, "__vdso_time");
    time_t t_vdso = vtime ? vtime(NULL) : -1;
    time_t stored = 0;
    long t_raw = syscall(SYS_time, &stored);
    int64_t s1 = lt_raw_clock_ns(CLOCK_REALTIME) / LT_NS_PER_SEC;
    lt_check("time-vs-realtime", t_glibc >= s0 - 1 && t_glibc <= s1 + 1 && t_vdso >= s0 - 1 && t_vdso <= s1 + 1 &&
                                     t_raw >= s0 - 1 && t_raw <= s1 + 1 && stored == t_raw,
             "CLOCK_REALTIME %lld..%lld s, time() %lld, __vdso_time %lld, syscall %ld (stored %lld)", (long long)s0,
             (long long)s1, (long long)t_glibc, (long long)t_vdso, t_raw, (long long)stored);

    struct timeval tv;
    int64_t real0 = lt_raw_clock_ns(CLOCK_REALTIME);
    r = gettimeofday(&tv, NULL);
    int64_t real1 = lt_raw_clock_ns(CLOCK_REALTIME);
    int64_t tv_ns = (int64_t)tv.tv_sec * LT_NS_PER_SEC + tv.tv_usec * 1000;
    lt_check("gettimeofday", r == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 && between(tv_ns, real0, real1),
             "returned %d, %lld.%06ld against CLOCK_REALTIME %lld..%lld ns", r, (long long)tv.tv_sec, (long)tv.tv_usec,
             (long long)real0, (long long)real1);
    struct timezone tz = {99, 99};
    real0 = lt_raw_clock_ns(CLOCK_REALTIME);
    long rr = syscall(SYS_gettimeofday, &tv, &tz);
    real1 = lt_raw_clock_ns(CLOCK_REALTIME);
    tv_ns = (int64_t)tv.tv_sec * LT_NS_PER_SEC + tv.tv_usec * 1000;
    lt_check("gettimeofday-syscall", rr == 0 && between(tv_ns, real0, real1),
             "returned %ld (%s), %lld.%06ld against CLOCK_REALTIME %lld..%lld ns", rr, lt_errname(errno),
             (long long)tv.tv_sec, (long)tv.tv_usec, (long long)real0, (long long)real1);
}

static void check_sleeps(void)
{
    struct timespec ten_ms = {0, 10 * LT_MS};
    int64_t v0 = vdso_ns(CLOCK_MONOTONIC), r0 = lt_raw_clock_ns(CLOCK_MONOTONIC);
    long r = syscall(SYS_nanosleep, &ten_ms, NULL);
    int64_t v1 = vdso_ns(CLOCK_MONOTONIC), r1 = lt_raw_clock_ns(CLOCK_MONOTONIC);
    lt_check("nanosleep-10ms", r == 0 && v1 - v0 >= 10 * LT_MS && r1 - r0 >= 10 * LT_MS && r1 - r0 < 2000 * LT_MS,
             "returned %ld; %lld us by the vDSO, %lld us by the syscall clock", r, (long long)((v1 - v0) / 1000),
             (long long)((r1 - r0) / 1000));

    /* What glibc's nanosleep and Python's time.sleep use: clock_nanosleep, relative and absolute. */
    r0 = lt_raw_clock_ns(CLOCK_MONOTONIC);
    r = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ten_ms, NULL);
    r1 = lt_raw_clock_ns(CLOCK_MONOTONIC);
    lt_check("clock-nanosleep-relative", r == 0 && r1 - r0 >= 10 * LT_MS && r1 - r0 < 2000 * LT_MS,
             "returned %ld (%s), slept %lld us", r, lt_errname(errno), (long long)((r1 - r0) / 1000));
    struct timespec target;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &target);
    target.tv_nsec += 10 * LT_MS;
    if (target.tv_nsec >= LT_NS_PER_SEC) {
        target.tv_nsec -= LT_NS_PER_SEC;
        target.tv_sec++;
    }
    r = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL);
    r1 = lt_raw_clock_ns(CLOCK_MONOTONIC);
    lt_check("clock-nanosleep-absolute", r == 0 && r1 >= lt_ts_ns(&target) && r1 - lt_ts_ns(&target) < 2000 * LT_MS,
             "returned %ld (%s), woke %lld us after the target", r, lt_errname(errno),
             (long long)((r1 - lt_ts_ns(&target)) / 1000));
    struct timespec bad = {0, LT_NS_PER_SEC};
    lt_sys_errno("nanosleep-bad-nsec-einval", syscall(SYS_nanosleep, &bad, NULL), EINVAL);
}

static void check_system(void)
{
    struct sysinfo si;
    memset(&si, 0, sizeof si);
    long r = syscall(SYS_sysinfo, &si);
    lt_check("sysinfo", r == 0 && si.totalram > 0 && si.mem_unit >= 1 && si.freeram <= si.totalram,
             "returned %ld: totalram %lu, freeram %lu, mem_unit %u", r, si.totalram, si.freeram, si.mem_unit);

    struct rlimit rl = {0, 0}, rl2 = {0, 0};
    r = getrlimit(RLIMIT_STACK, &rl);
    lt_check("getrlimit-stack",
             r == 0 && rl.rlim_cur > 0 && (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= rl.rlim_cur),
             "returned %ld: cur %llu, max %llu", r, (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    r = syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl2);
    lt_check("prlimit64-stack", r == 0 && rl2.rlim_cur == rl.rlim_cur && rl2.rlim_max == rl.rlim_max,
             "returned %ld (%s): cur %llu", r, lt_errname(errno), (unsigned long long)rl2.rlim_cur);
    r = syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl2);
    lt_check("prlimit64-nofile", r == 0 && rl2.rlim_cur >= 3, "returned %ld: cur %llu", r,
             (unsigned long long)rl2.rlim_cur);

    cpu_set_t set;
    CPU_ZERO(&set);
    r = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
    lt_check("sched-getaffinity-one-cpu", r > 0 && r % 8 == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set),
             "returned %ld (the kernel returns the mask size in bytes), %d CPUs", r, CPU_COUNT(&set));
    vdso_getcpu_fn getcpu = VDSO_FN(vdso_getcpu_fn, "__vdso_getcpu");
    unsigned cpu = 99, node = 99;
    int gr = getcpu ? getcpu(&cpu, &node, NULL) : -1;
    lt_check("vdso-getcpu", gr == 0 && cpu == 0 && node == 0, "returned %d, cpu %u, node %u", gr, cpu, node);
    lt_sys_ok("sched-yield", syscall(SYS_sched_yield));
    lt_sys_errno("sched-getaffinity-bad-pid-esrch", syscall(SYS_sched_getaffinity, -1, sizeof set, &set), ESRCH);
    CPU_ZERO(&set);
    lt_sys_errno("sched-setaffinity-empty-einval", syscall(SYS_sched_setaffinity, 0, sizeof set, &set), EINVAL);
    CPU_SET(0, &set);
    lt_sys_ok("sched-setaffinity-cpu0", syscall(SYS_sched_setaffinity, 0, sizeof set, &set));
    lt_sys_errno("sched-setaffinity-bad-pid-esrch", syscall(SYS_sched_setaffinity, 99999, sizeof set, &set), ESRCH);
    r = syscall(SYS_sched_getscheduler, 0);
    lt_check("sched-getscheduler-other", r == SCHED_OTHER, "returned %ld", r);
    lt_sys_errno("sched-getscheduler-negative-einval", syscall(SYS_sched_getscheduler, -1), EINVAL);
    struct sched_param param = {.sched_priority = 7};
    r = syscall(SYS_sched_getparam, 0, &param);
    lt_check("sched-getparam", r == 0 && param.sched_priority == 0, "returned %ld, priority %d", r, param.sched_priority);
    long rr_min = syscall(SYS_sched_get_priority_min, SCHED_RR), rr_max = syscall(SYS_sched_get_priority_max, SCHED_RR);
    long other_max = syscall(SYS_sched_get_priority_max, SCHED_OTHER);
    lt_check("sched-priority-range", rr_min == 1 && rr_max == 99 && other_max == 0, "RR %ld..%ld, OTHER max %ld", rr_min, rr_max,
             other_max);
    lt_sys_errno("sched-priority-bad-policy-einval", syscall(SYS_sched_get_priority_max, 42), EINVAL);
    param.sched_priority = 0;
    lt_sys_ok("sched-setscheduler-other", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &param));
    lt_sys_ok("sched-setparam-zero", syscall(SYS_sched_setparam, 0, &param));
    lt_sys_errno("sched-setscheduler-negative-pid-einval", syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &param), EINVAL);
    lt_sys_errno("sched-setscheduler-bad-policy-einval", syscall(SYS_sched_setscheduler, 0, 42, &param), EINVAL);
    lt_sys_errno("sched-setscheduler-other-priority-einval", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &(struct sched_param){5}), EINVAL);
    lt_sys_errno("sched-setparam-priority-einval", syscall(SYS_sched_setparam, 0, &(struct sched_param){5}), EINVAL);
    struct timespec slice = {-1, -1};
    r = syscall(SYS_sched_rr_get_interval, 0, &slice);
    lt_check("sched-rr-get-interval", r == 0 && slice.tv_sec == 0 && slice.tv_nsec > 0, "returned %ld, %lld.%09ld", r,
             (long long)slice.tv_sec, slice.tv_nsec);

    long pid = syscall(SYS_getpid), tid = syscall(SYS_gettid), ppid = syscall(SYS_getppid);
    lt_check("getpid", pid > 0 && pid == getpid(), "getpid %ld", pid);
    lt_check("gettid-is-pid", tid == pid, "gettid %ld, getpid %ld (one thread)", tid, pid);
    lt_check("getppid", ppid >= 0 && ppid != pid, "getppid %ld", ppid);
    long uid = syscall(SYS_getuid), euid = syscall(SYS_geteuid), gid = syscall(SYS_getgid), egid = syscall(SYS_getegid);
    lt_check("uids", uid >= 0 && uid == euid && gid >= 0 && gid == egid, "uid %ld euid %ld gid %ld egid %ld", uid, euid,
             gid, egid);
    /* A fixed identity, as setuid's: the ids it has succeed, others EPERM. Supplementary groups are root's to set. */
    lt_sys_ok("setresuid-same", syscall(SYS_setresuid, -1, 0, -1));
    lt_sys_ok("setresgid-same", syscall(SYS_setresgid, 0, -1, 0));
    lt_sys_errno("setresuid-other-eperm", syscall(SYS_setresuid, 1000, 1000, 1000), EPERM);
    lt_sys_errno("setresgid-other-eperm", syscall(SYS_setresgid, -1, 13, -1), EPERM);
    gid_t groups[3] = {30, 10, 20}, got[8] = {0};
    lt_sys_ok("setgroups", syscall(SYS_setgroups, 3, groups));
    long count = syscall(SYS_getgroups, 0, NULL);
    lt_check("getgroups-count", count == 3, "returned %ld", count);
    lt_sys_errno("getgroups-too-small-einval", syscall(SYS_getgroups, 2, got), EINVAL);
    count = syscall(SYS_getgroups, 8, got);
    lt_check("getgroups-sorted", count == 3 && got[0] == 10 && got[1] == 20 && got[2] == 30, "returned %ld: %u %u %u", count, got[0],
             got[1], got[2]);
    lt_sys_errno("setgroups-too-many-einval", syscall(SYS_setgroups, 65537, groups), EINVAL);
    lt_sys_ok("setgroups-none", syscall(SYS_setgroups, 0, NULL));
    lt_check("getgroups-none", syscall(SYS_getgroups, 0, NULL) == 0, "groups left after setgroups(0)");

    static int clear_tid_word;
    r = syscall(SYS_set_tid_address, &clear_tid_word);
    lt_check("set-tid-address", r == tid, "returned %ld, want the tid %ld", r, tid);

    char name[32] = "";
    r = prctl(PR_SET_NAME, "snapfn-misc", 0, 0, 0);
    long r2 = prctl(PR_GET_NAME, name, 0, 0, 0);
    lt_check("prctl-name", r == 0 && r2 == 0 && strcmp(name, "snapfn-misc") == 0, "set %ld, get %ld, name \"%s\"", r,
             r2, name);
}

/* The kernel's struct sigaction for rt_sigaction (glibc's own differs in layout and size). */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

#define KSA_RESTORER 0x04000000UL

static void never_called(int sig)
{
    (void)sig;
    abort();
}

static void never_restored(void)
{
    abort();
}

static void check_signals(void)
{
    struct kernel_sigaction act = {never_called, SA_RESTART | SA_SIGINFO | KSA_RESTORER, never_restored,
                                   1ULL << (SIGUSR2 - 1)};
    struct kernel_sigaction old, back;
    memset(&old, 0xff, sizeof old);
    long r = syscall(SYS_rt_sigaction, SIGUSR1, &act, &old, 8);
    lt_check("rt-sigaction-set", r == 0 && old.handler == SIG_DFL, "returned %ld (%s), old handler %p", r,
             lt_errname(errno), (void *)(uintptr_t)old.handler);
    memset(&back, 0, sizeof back);
    r = syscall(SYS_rt_sigaction, SIGUSR1, NULL, &back, 8);
    lt_check("rt-sigaction-read-back", r == 0 && back.handler == act.handler && back.flags == act.flags &&
                                           back.restorer == act.restorer && back.mask == act.mask,
             "handler %s, flags 0x%lx/0x%lx, restorer %s, mask 0x%llx/0x%llx",
             back.handler == act.handler ? "same" : "differs", back.flags, act.flags,
             back.restorer == act.restorer ? "same" : "differs", (unsigned long long)back.mask,
             (unsigned long long)act.mask);
    /* SIGKILL and SIGSTOP can never be blocked by a handler's mask: the kernel drops them. */
    act.mask = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)) | (1ULL << (SIGTERM - 1));
    syscall(SYS_rt_sigaction, SIGUSR1, &act, NULL, 8);
    syscall(SYS_rt_sigaction, SIGUSR1, NULL, &back, 8);
    lt_check("rt-sigaction-mask-drops-kill-stop", back.mask == 1ULL << (SIGTERM - 1), "mask read back 0x%llx",
             (unsigned long long)back.mask);
    struct kernel_sigaction dfl = {SIG_DFL, 0, NULL, 0};
    syscall(SYS_rt_sigaction, SIGUSR1, &dfl, NULL, 8);
    lt_sys_errno("rt-sigaction-sigkill-einval", syscall(SYS_rt_sigaction, SIGKILL, &act, NULL, 8), EINVAL);
    lt_sys_errno("rt-sigaction-signal-0-einval", syscall(SYS_rt_sigaction, 0, &act, NULL, 8), EINVAL);
    lt_sys_errno("rt-sigaction-signal-65-einval", syscall(SYS_rt_sigaction, 65, &act, NULL, 8), EINVAL);
    lt_sys_errno("rt-sigaction-sigsetsize-einval", syscall(SYS_rt_sigaction, SIGUSR1, &act, NULL, 16), EINVAL);

    /* glibc's sigaction: the same state through its wrapper (it adds SA_RESTORER). */
    struct sigaction sa, sa_back;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = never_called;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    lt_check("sigaction-glibc", sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGTERM, NULL, &sa_back) == 0 &&
                                    sa_back.sa_handler == never_called && sigismember(&sa_back.sa_mask, SIGINT) == 1,
             "glibc sigaction round trip failed");
    signal(SIGTERM, SIG_DFL);

    uint64_t block = 1ULL << (SIGUSR2 - 1), old_mask = ~0ULL, cur = 0;
    r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, &old_mask, 8);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &cur, 8);
    lt_check("sigprocmask-block", r == 0 && (cur & block) && !(old_mask & block), "returned %ld, mask 0x%llx", r,
             (unsigned long long)cur);
    syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &block, NULL, 8);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &cur, 8);
    lt_check("sigprocmask-unblock", !(cur & block), "mask 0x%llx", (unsigned long long)cur);
    uint64_t kill_stop = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &kill_stop, NULL, 8);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &cur, 8);
    lt_check("sigprocmask-cannot-block-kill-stop", !(cur & kill_stop), "mask 0x%llx", (unsigned long long)cur);
    lt_sys_errno("sigprocmask-bad-how-einval", syscall(SYS_rt_sigprocmask, 7, &block, NULL, 8), EINVAL);
    lt_sys_errno("sigprocmask-sigsetsize-einval", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, NULL, 4), EINVAL);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old_mask, NULL, 8);
    sigset_t ss;
    lt_check("sigprocmask-glibc", sigprocmask(SIG_SETMASK, NULL, &ss) == 0 && sigismember(&ss, SIGUSR2) == 0,
             "glibc sigprocmask failed or SIGUSR2 still blocked");
}

static _Thread_local int tls_probe = 1;

static void check_tls_futex(void)
{
    uintptr_t fs = 0, tp;
    long r = syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
    /* x86-64 TLS: %fs:0 holds the thread pointer itself, and static TLS lies just below it. */
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    lt_check("arch-prctl-get-fs", r == 0 && fs == tp && fs != 0, "returned %ld, fs base 0x%lx, %%fs:0 = 0x%lx", r,
             (unsigned long)fs, (unsigned long)tp);
    uintptr_t var = (uintptr_t)&tls_probe;
    lt_check("tls-below-thread-pointer", var < fs && fs - var < (1 << 20), "&tls 0x%lx, fs 0x%lx", (unsigned long)var,
             (unsigned long)fs);
    tls_probe++;
    lt_check("tls-variable", tls_probe == 2, "value %d", tls_probe);
    lt_sys_errno("arch-prctl-bad-code-einval", syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL);

    static int word = 1;
    r = syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    lt_check("futex-wake-private", r == 0, "returned %ld (%s), want 0 woken", r, lt_errname(errno));
    r = syscall(SYS_futex, &word, FUTEX_WAKE, 1, NULL, NULL, 0);
    lt_check("futex-wake-shared", r == 0, "returned %ld (%s), want 0 woken", r, lt_errname(errno));
    lt_sys_errno("futex-wait-wrong-value-eagain", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0),
                 EAGAIN);
    lt_sys_errno("futex-wait-wrong-value-shared-eagain", syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL, NULL, 0),
                 EAGAIN);
}

int main(void)
{
    lt_init();
    check_uname_random();
    check_time();
    check_sleeps();
    check_system();
    check_signals();
    check_tls_futex();
    return lt_finish();
}
