/* Snapfn's vDSO: the time calls that glibc makes through AT_SYSINFO_EHDR, answered from rdtsc and the data
 * page the VMM keeps (snapfn_vdso.h) instead of a trap to the VMM (~20 us each; python3 makes hundreds).
 * Anything the page cannot answer goes to the real system call with the same arguments, as Linux's does.
 *
 * Built -fPIC -nostdlib into a file that is its own image at SNAPFN_VDSO_BASE (vdso.ld). Only static helpers
 * and constant addresses, so the link needs no relocation, GOT or PLT. With SNAPFN_VDSO_HOST_TEST the same
 * code is linked into a host test program, the data page replaced by a test variable and without the plain
 * aliases (they would interpose on the test's own libc clock_gettime). */
#include "snapfn_vdso.h"

#ifdef SNAPFN_VDSO_HOST_TEST
extern volatile struct snapfn_vdso_data snapfn_vdso_test_data;
#define VDSO_DATA (&snapfn_vdso_test_data)
#define VDSO_EXPORT
#else
#define VDSO_DATA ((const volatile struct snapfn_vdso_data *)SNAPFN_VDSO_DATA_ADDR)
#define VDSO_EXPORT __attribute__((visibility("default")))
#endif

#define NS_PER_SEC 1000000000LL

/* Linux's x86-64 numbers; the VMM serves them when the page is not valid. */
#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_clock_getres 229

enum {
    CLK_REALTIME = 0,
    CLK_MONOTONIC = 1,
    CLK_MONOTONIC_RAW = 4,
    CLK_REALTIME_COARSE = 5,
    CLK_MONOTONIC_COARSE = 6,
    CLK_BOOTTIME = 7,
};

__extension__ typedef unsigned __int128 u128;

/* One copy of the page, each field read once. */
struct page_copy {
    uint64_t tsc_base;
    int64_t monotonic_base_ns;
    int64_t realtime_base_ns;
    uint64_t tsc_mult;
};

static inline long raw_syscall2(long nr, long a, long b)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

static inline int read_page(struct page_copy *p)
{
    const volatile struct snapfn_vdso_data *d = VDSO_DATA;
    if (d->valid != 1)
        return 0;
    p->tsc_base = d->tsc_base;
    p->monotonic_base_ns = d->monotonic_base_ns;
    p->realtime_base_ns = d->realtime_base_ns;
    p->tsc_mult = d->tsc_mult;
    return 1;
}

/* lfence keeps rdtsc from running ahead of earlier loads, so two calls in program order see ordered TSCs. */
static inline uint64_t read_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* A TSC below tsc_base (the VMM sampled it after the guest's last read, or a TSC offset moved) counts as
 * zero elapsed time: time must never go backwards. */
static inline int64_t ns_now(const struct page_copy *p, int64_t base_ns)
{
    uint64_t tsc = read_tsc();
    uint64_t delta = tsc > p->tsc_base ? tsc - p->tsc_base : 0;
    return base_ns + (int64_t)(((u128)delta * p->tsc_mult) >> 32);
}

/* Floor division, so that a negative time still gets 0 <= nsec < 1e9. */
static inline void split_ns(int64_t ns, int64_t *sec, int64_t *nsec)
{
    int64_t s = ns / NS_PER_SEC, r = ns % NS_PER_SEC;
    if (r < 0) {
        r += NS_PER_SEC;
        s -= 1;
    }
    *sec = s;
    *nsec = r;
}

VDSO_EXPORT int __vdso_clock_gettime(int clock, struct snapfn_timespec *ts)
{
    struct page_copy p;
    int64_t base;
    if (ts == 0 || !read_page(&p))
        return (int)raw_syscall2(NR_clock_gettime, clock, (long)ts);
    switch (clock) {
    case CLK_REALTIME:
    case CLK_REALTIME_COARSE:
        base = p.realtime_base_ns;
        break;
    case CLK_MONOTONIC:
    case CLK_MONOTONIC_RAW:
    case CLK_MONOTONIC_COARSE:
    case CLK_BOOTTIME: /* the guest never suspends */
        base = p.monotonic_base_ns;
        break;
    default:
        return (int)raw_syscall2(NR_clock_gettime, clock, (long)ts);
    }
    split_ns(ns_now(&p, base), &ts->tv_sec, &ts->tv_nsec);
    return 0;
}

VDSO_EXPORT int __vdso_gettimeofday(struct snapfn_timeval *tv, struct snapfn_timezone *tz)
{
    struct page_copy p;
    if (!read_page(&p))
        return (int)raw_syscall2(NR_gettimeofday, (long)tv, (long)tz);
    if (tv) {
        int64_t nsec;
        split_ns(ns_now(&p, p.realtime_base_ns), &tv->tv_sec, &nsec);
        tv->tv_usec = nsec / 1000;
    }
    if (tz) {
        /* The guest's kernel time zone is UTC, as Linux's sys_tz is unless someone calls settimeofday. */
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}

VDSO_EXPORT int64_t __vdso_time(int64_t *t)
{
    struct page_copy p;
    int64_t sec, nsec;
    if (!read_page(&p))
        return raw_syscall2(NR_time, (long)t, 0);
    split_ns(ns_now(&p, p.realtime_base_ns), &sec, &nsec);
    if (t)
        *t = sec;
    return sec;
}

VDSO_EXPORT int __vdso_clock_getres(int clock, struct snapfn_timespec *res)
{
    return (int)raw_syscall2(NR_clock_getres, clock, (long)res);
}

/* One vCPU: always CPU 0 on node 0. */
VDSO_EXPORT int __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
    (void)unused;
    if (cpu)
        *cpu = 0;
    if (node)
        *node = 0;
    return 0;
}

#ifndef SNAPFN_VDSO_HOST_TEST
/* Linux's vDSO exports the plain names too, weak, under the same version. */
#define VDSO_ALIAS(target) __attribute__((weak, alias(#target), visibility("default")))
int clock_gettime(int, struct snapfn_timespec *) VDSO_ALIAS(__vdso_clock_gettime);
int gettimeofday(struct snapfn_timeval *, struct snapfn_timezone *) VDSO_ALIAS(__vdso_gettimeofday);
int64_t time(int64_t *) VDSO_ALIAS(__vdso_time);
int clock_getres(int, struct snapfn_timespec *) VDSO_ALIAS(__vdso_clock_getres);
int getcpu(unsigned *, unsigned *, void *) VDSO_ALIAS(__vdso_getcpu);
#endif
