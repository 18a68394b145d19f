/* The VMM's side of the vDSO data page, for the host tests (test_page.h). */
#define _GNU_SOURCE
#include "test_page.h"

__extension__ typedef unsigned __int128 u128;

uint64_t test_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

int64_t test_host_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A TSC reading and the host clock at (nearly) the same instant: the narrowest window of a few tries. */
static void paired_sample(clockid_t clock, uint64_t *tsc, int64_t *ns)
{
    uint64_t best_window = UINT64_MAX;
    for (int i = 0; i < 16; i++) {
        uint64_t t0 = test_rdtsc();
        int64_t n = test_host_ns(clock);
        uint64_t t1 = test_rdtsc();
        if (t1 - t0 < best_window) {
            best_window = t1 - t0;
            *tsc = t0 + (t1 - t0) / 2;
            *ns = n;
        }
    }
}

uint64_t test_calibrate(void)
{
    uint64_t tsc0, tsc1;
    int64_t ns0, ns1;
    paired_sample(CLOCK_MONOTONIC, &tsc0, &ns0);
    struct timespec pause = {0, 100000000};
    nanosleep(&pause, NULL);
    paired_sample(CLOCK_MONOTONIC, &tsc1, &ns1);
    return (uint64_t)(((u128)(ns1 - ns0) << 32) / (tsc1 - tsc0));
}

void test_fill_page(volatile struct snapfn_vdso_data *page, uint64_t tsc_mult, int64_t monotonic_shift_ns,
                    int64_t realtime_shift_ns)
{
    uint64_t tsc, tsc_r;
    int64_t mono, real;
    paired_sample(CLOCK_MONOTONIC, &tsc, &mono);
    /* Realtime at the same TSC: its own reading, moved back by the ticks between the two samples. */
    paired_sample(CLOCK_REALTIME, &tsc_r, &real);
    real -= (int64_t)(((u128)(tsc_r - tsc) * tsc_mult) >> 32);
    page->valid = 0;
    page->tsc_base = tsc;
    page->monotonic_base_ns = mono + monotonic_shift_ns;
    page->realtime_base_ns = real + realtime_shift_ns;
    page->tsc_mult = tsc_mult;
    page->valid = 1;
}
