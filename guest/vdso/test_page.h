/* The host tests' stand-in for the VMM's side of the vDSO data page: a TSC multiplier calibrated against the
 * host's CLOCK_MONOTONIC, and the page filled the way the VMM fills it before a KVM_RUN. */
#ifndef SNAPFN_TEST_PAGE_H
#define SNAPFN_TEST_PAGE_H

#include "snapfn_vdso.h"

#include <time.h>

uint64_t test_rdtsc(void);
int64_t test_host_ns(clockid_t clock);

/* Measures tsc_mult over ~100 ms; call once before test_fill_page. */
uint64_t test_calibrate(void);

/* Host clocks at one TSC reading, each moved by the given shift (0 for the true time). */
void test_fill_page(volatile struct snapfn_vdso_data *page, uint64_t tsc_mult, int64_t monotonic_shift_ns,
                    int64_t realtime_shift_ns);

#endif
