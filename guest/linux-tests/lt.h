/* Shared helpers of the Linux system-call layer's guest tests (guest/linux-tests/README.md).
 *
 * Each program prints one line per check, `ok CHECK` (sometimes with `: detail`) or `FAIL CHECK: detail`, and
 * exits 0 iff every check passed (lt_finish). Checks about the kernel ABI call syscall(2) directly, so that
 * a glibc wrapper cannot hide what the system-call layer answered; lt_sys_* read errno at once for that. */
#ifndef LT_H
#define LT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "static", "dynamic" or "pie": how this copy was linked (the Makefile passes it). */
#ifndef LT_VARIANT
#define LT_VARIANT "unknown"
#endif

#define LT_NS_PER_SEC 1000000000LL
#define LT_MS 1000000LL

/* Line-buffered stdout, so that the lines before a crash or a hang reach the VMM's console. */
void lt_init(void);

/* Exit status for main: 0 iff no check failed. */
int lt_finish(void);

__attribute__((format(printf, 2, 3))) void lt_ok(const char *check, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void lt_fail(const char *check, const char *fmt, ...);

/* Prints ok or FAIL (with the formatted detail) and returns cond. */
__attribute__((format(printf, 3, 4))) bool lt_check(const char *check, bool cond, const char *fmt, ...);

/* For the return value of syscall(2) or a libc call that returns -1 and sets errno: */
bool lt_sys_ok(const char *check, long ret);                 /* ret != -1 */
bool lt_sys_errno(const char *check, long ret, int err);     /* ret == -1 with errno err */
bool lt_sys_errno2(const char *check, long ret, int err1, int err2);
bool lt_sys_fails(const char *check, long ret);              /* ret == -1, any errno (printed) */

/* True when each of the n bytes at p is v. */
bool lt_all_bytes(const void *p, size_t n, unsigned char v);

/* A read or write that runs past the end of its mapping after `valid` bytes: Linux copies what it can and returns
 * the short count, or EFAULT if that is nothing; either is ok, more is a FAIL. Reads errno at once. */
void lt_efault_or_short(const char *check, long ret, long valid);

/* "ENOENT" for ENOENT; "E<n>" for a number glibc has no name for. */
const char *lt_errname(int err);

/* A function the vDSO at AT_SYSINFO_EHDR exports under version LINUX_2.6, found the way glibc finds it
 * (DT_HASH symbol table, version definitions), or NULL. */
void *lt_vdso_sym(const char *name);

int64_t lt_ts_ns(const struct timespec *ts);

/* CLOCK_* through the raw system call, not the vDSO. */
int64_t lt_raw_clock_ns(clockid_t clock);

#endif
