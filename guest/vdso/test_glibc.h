/* Shared by the host glibc test's loader (test_glibc.c) and its probe (test_glibc_probe.c): with --shift the
 * loader's data page runs the clocks this far ahead of the host's, so that the probe can tell an answer from
 * the vDSO (shifted) from one of the kernel (not). */
#ifndef SNAPFN_TEST_GLIBC_H
#define SNAPFN_TEST_GLIBC_H

#define TEST_GLIBC_REALTIME_SHIFT_S 1000000LL /* about 11.6 days */
#define TEST_GLIBC_MONOTONIC_SHIFT_S 100000LL

#endif
