/* Run by vdso-glibc-run --shift (test_glibc.c): the vDSO's data page puts the clocks TEST_GLIBC_*_SHIFT_S
 * ahead of the kernel's, so each of glibc's time calls shows whether it went through build/vdso.so (shifted)
 * or to the kernel (not): the page's clocks must come from the vDSO, the others from the fallback. */
#define _GNU_SOURCE
#include "test_glibc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define TOLERANCE (50 * 1000000LL)

static int failures;

__attribute__((format(printf, 3, 4))) static void check(const char *name, bool cond, const char *fmt, ...)
{
    if (cond) {
        printf("ok glibc.%s\n", name);
        return;
    }
    failures++;
    printf("FAIL glibc.%s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static int64_t kernel_ns(clockid_t clock)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, clock, &ts);
    return ts.tv_sec * NS + ts.tv_nsec;
}

/* glibc's clock_gettime(clock) minus the kernel's clock_gettime(kernel_clock), bracketed. */
static void shifted(const char *name, clockid_t clock, clockid_t kernel_clock, int64_t shift_s)
{
    struct timespec ts;
    int64_t before = kernel_ns(kernel_clock);
    int r = clock_gettime(clock, &ts);
    int64_t after = kernel_ns(kernel_clock), v = ts.tv_sec * NS + ts.tv_nsec - shift_s * NS;
    check(name, r == 0 && v >= before - TOLERANCE && v <= after + TOLERANCE,
          "clock %d: %lld ns after removing the %lld s shift; kernel %lld..%lld", (int)clock, (long long)v,
          (long long)shift_s, (long long)before, (long long)after);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check("sysinfo-ehdr", getauxval(AT_SYSINFO_EHDR) == 0x100000, "AT_SYSINFO_EHDR 0x%lx",
          getauxval(AT_SYSINFO_EHDR));
    shifted("realtime-from-vdso", CLOCK_REALTIME, CLOCK_REALTIME, TEST_GLIBC_REALTIME_SHIFT_S);
    shifted("realtime-coarse-from-vdso", CLOCK_REALTIME_COARSE, CLOCK_REALTIME, TEST_GLIBC_REALTIME_SHIFT_S);
    shifted("monotonic-from-vdso", CLOCK_MONOTONIC, CLOCK_MONOTONIC, TEST_GLIBC_MONOTONIC_SHIFT_S);
    shifted("monotonic-coarse-from-vdso", CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC, TEST_GLIBC_MONOTONIC_SHIFT_S);
    shifted("monotonic-raw-from-vdso", CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC, TEST_GLIBC_MONOTONIC_SHIFT_S);
    shifted("boottime-from-vdso", CLOCK_BOOTTIME, CLOCK_MONOTONIC, TEST_GLIBC_MONOTONIC_SHIFT_S);
    shifted("tai-from-kernel", CLOCK_TAI, CLOCK_TAI, 0);

    struct timespec cpu;
    int r = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    check("process-cputime-from-kernel", r == 0 && cpu.tv_sec < 100, "returned %d, %lld s", r, (long long)cpu.tv_sec);

    int64_t s0 = kernel_ns(CLOCK_REALTIME) / NS;
    time_t t = time(NULL) - TEST_GLIBC_REALTIME_SHIFT_S;
    int64_t s1 = kernel_ns(CLOCK_REALTIME) / NS;
    check("time-from-vdso", t >= s0 - 1 && t <= s1 + 1, "time() - shift = %lld, kernel %lld..%lld", (long long)t,
          (long long)s0, (long long)s1);

    struct timeval tv;
    int64_t before = kernel_ns(CLOCK_REALTIME);
    r = gettimeofday(&tv, NULL);
    int64_t after = kernel_ns(CLOCK_REALTIME);
    int64_t v = (tv.tv_sec - TEST_GLIBC_REALTIME_SHIFT_S) * NS + tv.tv_usec * 1000;
    check("gettimeofday-from-vdso", r == 0 && v >= before - TOLERANCE && v <= after + TOLERANCE,
          "%lld ns after the shift; kernel %lld..%lld", (long long)v, (long long)before, (long long)after);

    struct timespec res;
    r = clock_getres(CLOCK_MONOTONIC, &res);
    check("clock-getres", r == 0 && res.tv_sec == 0 && res.tv_nsec > 0, "returned %d", r);
    return failures ? 1 : 0;
}
