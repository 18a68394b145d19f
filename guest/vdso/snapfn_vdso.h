/* The contract between Snapfn's vDSO (vdso.c) and the VMM that loads it into a Linux guest.
 *
 * The VMM copies build/vdso.so byte for byte to SNAPFN_VDSO_BASE and points AT_SYSINFO_EHDR at it: the file
 * is its own loaded image (every PT_LOAD has p_vaddr - p_offset == SNAPFN_VDSO_BASE, no relocations, no
 * writable segment; the build checks this). The data page at SNAPFN_VDSO_DATA_ADDR is read-only to the guest;
 * the VMM rewrites it only while the (single) vCPU is stopped, so the vDSO needs no sequence lock. */
#ifndef SNAPFN_VDSO_H
#define SNAPFN_VDSO_H

#include <stddef.h>
#include <stdint.h>

#define SNAPFN_VDSO_BASE 0x100000UL
#define SNAPFN_VDSO_MAX_SIZE 0x10000UL /* the image must end at or before the data page */
#define SNAPFN_VDSO_DATA_ADDR 0x110000UL
#define SNAPFN_VDSO_VERSION "LINUX_2.6"
#define SNAPFN_VDSO_SONAME "linux-vdso.so.1"

struct snapfn_vdso_data {
    uint64_t valid;             /* 1 when the fields below can be used; otherwise fall back to the real syscall */
    uint64_t tsc_base;          /* the guest's TSC (rdtsc) when the VMM last wrote this page */
    int64_t monotonic_base_ns;  /* CLOCK_MONOTONIC at tsc_base, in ns */
    int64_t realtime_base_ns;   /* CLOCK_REALTIME at tsc_base, in ns */
    uint64_t tsc_mult;          /* ns since tsc_base = ((tsc - tsc_base) * tsc_mult) >> 32, 128-bit product */
};

/* The C# side declares the same layout; a mismatch here is silent corruption there. */
_Static_assert(sizeof(struct snapfn_vdso_data) == 40, "snapfn_vdso_data is 40 bytes");
_Static_assert(offsetof(struct snapfn_vdso_data, valid) == 0, "valid at 0");
_Static_assert(offsetof(struct snapfn_vdso_data, tsc_base) == 8, "tsc_base at 8");
_Static_assert(offsetof(struct snapfn_vdso_data, monotonic_base_ns) == 16, "monotonic_base_ns at 16");
_Static_assert(offsetof(struct snapfn_vdso_data, realtime_base_ns) == 24, "realtime_base_ns at 24");
_Static_assert(offsetof(struct snapfn_vdso_data, tsc_mult) == 32, "tsc_mult at 32");

/* The kernel's x86-64 types at the vDSO's interface, under our own names so that the vDSO needs no libc
 * headers and a hosted test can include this file next to <time.h>. */
struct snapfn_timespec {
    int64_t tv_sec;
    int64_t tv_nsec;
};

struct snapfn_timeval {
    int64_t tv_sec;
    int64_t tv_usec;
};

struct snapfn_timezone {
    int tz_minuteswest;
    int tz_dsttime;
};

/* The entry points, with Linux's names and return convention: 0 or a value on success, -errno on failure. */
int __vdso_clock_gettime(int clock, struct snapfn_timespec *ts);
int __vdso_gettimeofday(struct snapfn_timeval *tv, struct snapfn_timezone *tz);
int64_t __vdso_time(int64_t *t);
int __vdso_clock_getres(int clock, struct snapfn_timespec *res);
int __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused);

#endif
