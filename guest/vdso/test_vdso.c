/* Host test of the vDSO (make test-vdso), run twice:
 * - "src": vdso.c compiled into this program with SNAPFN_VDSO_HOST_TEST, its data page replaced by
 *   snapfn_vdso_test_data below;
 * - "image": build/vdso.so itself (argv[1]) copied byte for byte to 0x100000 in this process, with a data page
 *   mapped at 0x110000, its entry points found through its own symbol table as glibc finds them.
 * Each reads the host's TSC and a page filled the way the VMM fills it (host clocks at one TSC reading,
 * multiplier calibrated against CLOCK_MONOTONIC); the answers are compared with the host kernel's. */
#define _GNU_SOURCE
#include "snapfn_vdso.h"
#include "test_page.h"
#include "vdso_sym.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

volatile struct snapfn_vdso_data snapfn_vdso_test_data;

#define MS 1000000LL
#define NS_PER_SEC 1000000000LL

static int checks, failures;

/* The implementation under test: its entry points and its data page. */
struct impl {
    const char *name;
    int (*clock_gettime)(int, struct snapfn_timespec *);
    int (*gettimeofday)(struct snapfn_timeval *, struct snapfn_timezone *);
    int64_t (*time)(int64_t *);
    int (*clock_getres)(int, struct snapfn_timespec *);
    int (*getcpu)(unsigned *, unsigned *, void *);
    volatile struct snapfn_vdso_data *page;
};

static const struct impl *cur;

__attribute__((format(printf, 3, 4))) static bool check(const char *name, bool cond, const char *fmt, ...)
{
    checks++;
    if (cond) {
        printf("ok %s.%s\n", cur->name, name);
        return true;
    }
    failures++;
    printf("FAIL %s.%s: ", cur->name, name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    return false;
}

static uint64_t calibrated_mult;

static void calibrate(void)
{
    uint64_t t0 = test_rdtsc();
    int64_t n0 = test_host_ns(CLOCK_MONOTONIC);
    calibrated_mult = test_calibrate();
    printf("# TSC: %.3f MHz (tsc_mult %llu)\n",
           1e3 * (double)(test_rdtsc() - t0) / (double)(test_host_ns(CLOCK_MONOTONIC) - n0),
           (unsigned long long)calibrated_mult);
}

static void fill_page(void)
{
    test_fill_page(cur->page, calibrated_mult, 0, 0);
}

static int64_t ts_ns(const struct snapfn_timespec *ts)
{
    return ts->tv_sec * NS_PER_SEC + ts->tv_nsec;
}

/* The vDSO's clock against the host's: the host clock is read on both sides and the vDSO's answer must lie in
 * that window widened by 1 ms. */
static void agree(const char *name, int vdso_clock, clockid_t host_clock)
{
    struct snapfn_timespec ts = {-1, -1};
    int64_t before = test_host_ns(host_clock);
    int r = cur->clock_gettime(vdso_clock, &ts);
    int64_t after = test_host_ns(host_clock);
    int64_t v = ts_ns(&ts);
    check(name, r == 0 && ts.tv_nsec >= 0 && ts.tv_nsec < NS_PER_SEC && v >= before - MS && v <= after + MS,
          "clock %d: returned %d, %lld.%09lld; host %lld..%lld ns (off by %lld ns)", vdso_clock, r,
          (long long)ts.tv_sec, (long long)ts.tv_nsec, (long long)before, (long long)after,
          (long long)(v < before ? v - before : v - after));
}

static void test_clocks(void)
{
    fill_page();
    agree("realtime", 0, CLOCK_REALTIME);
    agree("monotonic", 1, CLOCK_MONOTONIC);
    agree("monotonic-raw-is-monotonic", 4, CLOCK_MONOTONIC);
    agree("realtime-coarse-is-realtime", 5, CLOCK_REALTIME);
    agree("monotonic-coarse-is-monotonic", 6, CLOCK_MONOTONIC);
    agree("boottime-is-monotonic", 7, CLOCK_MONOTONIC);

    /* Still right 200 ms after the page was written (the VMM refreshes it far more often). */
    struct timespec pause = {0, 200 * MS};
    nanosleep(&pause, NULL);
    agree("monotonic-after-200ms", 1, CLOCK_MONOTONIC);
    agree("realtime-after-200ms", 0, CLOCK_REALTIME);
}

static void test_never_backwards(void)
{
    fill_page();
    struct snapfn_timespec ts;
    int64_t prev = INT64_MIN, worst = 0;
    long bad = 0;
    for (long i = 0; i < 1000000; i++) {
        cur->clock_gettime(1, &ts);
        int64_t v = ts_ns(&ts);
        if (v < prev) {
            bad++;
            if (prev - v > worst)
                worst = prev - v;
        }
        prev = v;
    }
    check("monotonic-never-backwards-1e6", bad == 0, "%ld of 10^6 readings went back (worst %lld ns)", bad,
          (long long)worst);

    prev = INT64_MIN;
    bad = 0;
    for (long i = 0; i < 100000; i++) {
        cur->clock_gettime(0, &ts);
        int64_t v = ts_ns(&ts);
        bad += v < prev;
        prev = v;
    }
    check("realtime-never-backwards-1e5", bad == 0, "%ld of 10^5 readings went back", bad);

    /* The VMM refreshing the page between two calls must not take time back either: the new base is at a later
     * TSC and a later time. */
    cur->clock_gettime(1, &ts);
    int64_t before_refresh = ts_ns(&ts);
    fill_page();
    cur->clock_gettime(1, &ts);
    check("monotonic-across-refresh", ts_ns(&ts) >= before_refresh, "%lld then %lld", (long long)before_refresh,
          (long long)ts_ns(&ts));
}

/* valid != 1: every call must be the real system call, so nonsense in the other fields must not show. */
static void test_fallback(void)
{
    static const uint64_t not_valid[] = {0, 2, UINT64_MAX};
    for (size_t i = 0; i < sizeof not_valid / sizeof not_valid[0]; i++) {
        cur->page->valid = not_valid[i];
        cur->page->tsc_base = 12345;
        cur->page->monotonic_base_ns = -7 * NS_PER_SEC;
        cur->page->realtime_base_ns = 3;
        cur->page->tsc_mult = 1;
        char name[64];
        snprintf(name, sizeof name, "fallback-valid-%llu-monotonic", (unsigned long long)not_valid[i]);
        agree(name, 1, CLOCK_MONOTONIC);
        snprintf(name, sizeof name, "fallback-valid-%llu-realtime", (unsigned long long)not_valid[i]);
        agree(name, 0, CLOCK_REALTIME);
    }

    cur->page->valid = 0;
    struct snapfn_timeval tv = {0, 0};
    struct snapfn_timezone tz = {77, 77};
    int64_t before = test_host_ns(CLOCK_REALTIME) / 1000;
    int r = cur->gettimeofday(&tv, &tz);
    int64_t after = test_host_ns(CLOCK_REALTIME) / 1000, v = tv.tv_sec * 1000000 + tv.tv_usec;
    check("fallback-gettimeofday", r == 0 && v >= before - 1000 && v <= after + 1000,
          "returned %d, %lld us; host %lld..%lld", r, (long long)v, (long long)before, (long long)after);
    int64_t t = 0, host_t0 = time(NULL), rt = cur->time(&t), host_t1 = time(NULL);
    check("fallback-time", rt == t && rt >= host_t0 && rt <= host_t1, "returned %lld, stored %lld, host %lld..%lld",
          (long long)rt, (long long)t, (long long)host_t0, (long long)host_t1);
}

/* Clocks the page does not serve, and bad arguments, go to the kernel with the same arguments. */
static void test_other_clocks(void)
{
    fill_page();
    struct snapfn_timespec ts;
    int64_t before = test_host_ns(CLOCK_PROCESS_CPUTIME_ID);
    int r = cur->clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    int64_t after = test_host_ns(CLOCK_PROCESS_CPUTIME_ID);
    check("process-cputime-is-syscall", r == 0 && ts_ns(&ts) >= before && ts_ns(&ts) <= after,
          "returned %d, %lld; host %lld..%lld", r, (long long)ts_ns(&ts), (long long)before, (long long)after);
    agree("tai-is-syscall", CLOCK_TAI, CLOCK_TAI);
    r = cur->clock_gettime(99, &ts);
    check("invalid-clock-einval", r == -EINVAL, "returned %d, want %d", r, -EINVAL);
    r = cur->clock_gettime(-1, &ts); /* a CPU-time clock id of pid 0's thread: not ours to interpret */
    struct timespec hts;
    int hr = (int)clock_gettime(-1, &hts);
    check("negative-clock-is-syscall", (r == 0) == (hr == 0), "vdso returned %d, host %d", r, hr);
    r = cur->clock_gettime(1, NULL);
    check("null-timespec-efault", r == -EFAULT, "returned %d, want %d", r, -EFAULT);

    struct snapfn_timespec res = {-1, -1};
    struct timespec host_res;
    r = cur->clock_getres(1, &res);
    clock_getres(CLOCK_MONOTONIC, &host_res);
    check("clock-getres-is-syscall", r == 0 && res.tv_sec == host_res.tv_sec && res.tv_nsec == host_res.tv_nsec,
          "returned %d, %lld.%09lld", r, (long long)res.tv_sec, (long long)res.tv_nsec);
    r = cur->clock_getres(99, &res);
    check("clock-getres-invalid-einval", r == -EINVAL, "returned %d", r);
}

static void test_arithmetic(void)
{
    /* TSC behind tsc_base: zero elapsed, every time. */
    cur->page->valid = 1;
    cur->page->tsc_base = test_rdtsc() + ((uint64_t)1 << 50);
    cur->page->monotonic_base_ns = 5 * NS_PER_SEC + 123;
    cur->page->realtime_base_ns = -1;
    cur->page->tsc_mult = calibrated_mult;
    struct snapfn_timespec a, b;
    cur->clock_gettime(1, &a);
    cur->clock_gettime(1, &b);
    check("tsc-below-base-clamps", a.tv_sec == 5 && a.tv_nsec == 123 && b.tv_sec == 5 && b.tv_nsec == 123,
          "%lld.%09lld then %lld.%09lld, want 5.000000123", (long long)a.tv_sec, (long long)a.tv_nsec,
          (long long)b.tv_sec, (long long)b.tv_nsec);
    cur->clock_gettime(0, &a);
    check("negative-time-normalised", a.tv_sec == -1 && a.tv_nsec == NS_PER_SEC - 1, "%lld.%09lld, want -1.999999999",
          (long long)a.tv_sec, (long long)a.tv_nsec);

    /* A product beyond 64 bits: 2^33 ticks at 1.5 ns a tick (mult 1.5 * 2^32) is 12884901888 ns. */
    uint64_t tsc = test_rdtsc();
    cur->page->tsc_base = tsc - ((uint64_t)1 << 33);
    cur->page->tsc_mult = (uint64_t)3 << 31;
    cur->page->monotonic_base_ns = 1000 * NS_PER_SEC;
    cur->clock_gettime(1, &a);
    uint64_t tsc_after = test_rdtsc();
    int64_t lo = 1000 * NS_PER_SEC + 12884901888LL;
    int64_t hi = lo + (int64_t)((tsc_after - tsc) * 3 / 2) + 1;
    check("128-bit-product", ts_ns(&a) >= lo && ts_ns(&a) <= hi, "%lld, want %lld..%lld", (long long)ts_ns(&a),
          (long long)lo, (long long)hi);
}

static void test_gettimeofday_time_getcpu(void)
{
    fill_page();
    struct snapfn_timeval tv = {-1, -1};
    struct snapfn_timezone tz = {55, 66};
    int64_t before = test_host_ns(CLOCK_REALTIME) / 1000;
    int r = cur->gettimeofday(&tv, &tz);
    int64_t after = test_host_ns(CLOCK_REALTIME) / 1000, v = tv.tv_sec * 1000000 + tv.tv_usec;
    check("gettimeofday", r == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 && v >= before - 1000 && v <= after + 1000,
          "returned %d, %lld.%06lld; host %lld..%lld us", r, (long long)tv.tv_sec, (long long)tv.tv_usec,
          (long long)before, (long long)after);
    check("gettimeofday-tz-zeroed", tz.tz_minuteswest == 0 && tz.tz_dsttime == 0, "tz = {%d, %d}", tz.tz_minuteswest,
          tz.tz_dsttime);
    check("gettimeofday-null-null", cur->gettimeofday(NULL, NULL) == 0, "nonzero return");

    int64_t t = -1, host_t0 = time(NULL), rt = cur->time(&t), host_t1 = time(NULL);
    check("time", rt == t && rt >= host_t0 - 1 && rt <= host_t1 + 1, "returned %lld, stored %lld, host %lld..%lld",
          (long long)rt, (long long)t, (long long)host_t0, (long long)host_t1);
    struct snapfn_timespec ts;
    cur->clock_gettime(0, &ts);
    int64_t s0 = ts.tv_sec;
    rt = cur->time(NULL);
    cur->clock_gettime(0, &ts);
    check("time-matches-realtime", rt >= s0 && rt <= ts.tv_sec, "time %lld, realtime seconds %lld..%lld", (long long)rt,
          (long long)s0, (long long)ts.tv_sec);

    unsigned cpu = 77, node = 77;
    r = cur->getcpu(&cpu, &node, NULL);
    check("getcpu", r == 0 && cpu == 0 && node == 0, "returned %d, cpu %u, node %u", r, cpu, node);
    check("getcpu-null", cur->getcpu(NULL, NULL, NULL) == 0, "nonzero return");
}

static void report_speed(void)
{
    fill_page();
    struct snapfn_timespec ts;
    const long n = 1000000;
    int64_t t0 = test_host_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++)
        cur->clock_gettime(1, &ts);
    int64_t t1 = test_host_ns(CLOCK_MONOTONIC);
    printf("# vdso clock_gettime: %.1f ns a call\n", (double)(t1 - t0) / (double)n);
}

static void run_all(const struct impl *impl)
{
    cur = impl;
    test_clocks();
    test_never_backwards();
    test_fallback();
    test_other_clocks();
    test_arithmetic();
    test_gettimeofday_time_getcpu();
    report_speed();
}

static const struct impl src_impl = {
    "src", __vdso_clock_gettime, __vdso_gettimeofday, __vdso_time, __vdso_clock_getres, __vdso_getcpu,
    &snapfn_vdso_test_data,
};

/* build/vdso.so as the VMM places it: the file's bytes at SNAPFN_VDSO_BASE (read+execute, like the guest's
 * mapping), a data page at SNAPFN_VDSO_DATA_ADDR. Fills *impl from the image's own symbol table. */
static bool load_image(const char *path, struct impl *impl)
{
    impl->name = "image";
    cur = impl;
    void *at = mmap((void *)SNAPFN_VDSO_BASE, SNAPFN_VDSO_MAX_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *page = mmap((void *)SNAPFN_VDSO_DATA_ADDR, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (!check("map-at-0x100000", at == (void *)SNAPFN_VDSO_BASE && page == (void *)SNAPFN_VDSO_DATA_ADDR,
               "cannot map 0x100000..0x111000 in the test process (%s)", strerror(errno)))
        return false;
    FILE *f = fopen(path, "rb");
    if (!check("read-image", f != NULL, "cannot open %s: %s", path, strerror(errno)))
        return false;
    size_t n = fread(at, 1, SNAPFN_VDSO_MAX_SIZE, f);
    fclose(f);
    if (!check("mprotect-image", mprotect(at, SNAPFN_VDSO_MAX_SIZE, PROT_READ | PROT_EXEC) == 0, "%s",
               strerror(errno)))
        return false;
    impl->page = page;

    static const char *const names[] = {"clock_gettime", "gettimeofday", "time", "clock_getres", "getcpu"};
    void *fns[5];
    bool all = n > 0;
    for (int i = 0; i < 5; i++) {
        char vdso_name[64];
        snprintf(vdso_name, sizeof vdso_name, "__vdso_%s", names[i]);
        fns[i] = snapfn_vdso_sym(SNAPFN_VDSO_BASE, vdso_name, SNAPFN_VDSO_VERSION);
        void *plain = snapfn_vdso_sym(SNAPFN_VDSO_BASE, names[i], SNAPFN_VDSO_VERSION);
        char check_name[64];
        snprintf(check_name, sizeof check_name, "symbol-%s", names[i]);
        all &= check(check_name, fns[i] != NULL && plain == fns[i], "%s@%s at %p, %s at %p", vdso_name,
                     SNAPFN_VDSO_VERSION, fns[i], names[i], plain);
    }
    if (!all)
        return false;
    /* Object to function pointers: what dlsym users do; POSIX guarantees it, ISO C does not. */
    __extension__ impl->clock_gettime = (int (*)(int, struct snapfn_timespec *))fns[0];
    __extension__ impl->gettimeofday = (int (*)(struct snapfn_timeval *, struct snapfn_timezone *))fns[1];
    __extension__ impl->time = (int64_t(*)(int64_t *))fns[2];
    __extension__ impl->clock_getres = (int (*)(int, struct snapfn_timespec *))fns[3];
    __extension__ impl->getcpu = (int (*)(unsigned *, unsigned *, void *))fns[4];
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test-vdso build/vdso.so\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    cur = &src_impl;
    calibrate();
    run_all(&src_impl);
    static struct impl image_impl;
    if (load_image(argv[1], &image_impl))
        run_all(&image_impl);
    printf("test-vdso: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
