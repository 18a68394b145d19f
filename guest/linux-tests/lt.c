/* Shared helpers of the Linux system-call layer's guest tests (lt.h). */
#include "lt.h"
#include "snapfn_vdso.h"
#include "vdso_sym.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

void lt_init(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}

int lt_finish(void)
{
    fflush(stdout);
    return failures ? 1 : 0;
}

static void vline(const char *word, const char *check, const char *fmt, va_list ap)
{
    printf("%s %s", word, check);
    if (fmt && *fmt) {
        fputs(": ", stdout);
        vprintf(fmt, ap);
    }
    putchar('\n');
}

void lt_ok(const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("ok", check, fmt, ap);
    va_end(ap);
}

void lt_fail(const char *check, const char *fmt, ...)
{
    failures++;
    va_list ap;
    va_start(ap, fmt);
    vline("FAIL", check, fmt, ap);
    va_end(ap);
}

bool lt_check(const char *check, bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cond) {
        printf("ok %s\n", check);
    } else {
        failures++;
        vline("FAIL", check, fmt, ap);
    }
    va_end(ap);
    return cond;
}

const char *lt_errname(int err)
{
    static char unknown[16];
    const char *name = strerrorname_np(err);
    if (name)
        return name;
    snprintf(unknown, sizeof unknown, "E%d", err);
    return unknown;
}

bool lt_sys_ok(const char *check, long ret)
{
    int err = errno;
    if (ret != -1) {
        printf("ok %s\n", check);
        return true;
    }
    lt_fail(check, "failed with %s", lt_errname(err));
    return false;
}

bool lt_sys_errno2(const char *check, long ret, int err1, int err2)
{
    int err = errno;
    if (ret == -1 && (err == err1 || err == err2)) {
        printf("ok %s\n", check);
        return true;
    }
    if (ret != -1)
        lt_fail(check, "returned %ld, want -1 with %s", ret, lt_errname(err1));
    else
        lt_fail(check, "failed with %s, want %s", lt_errname(err), lt_errname(err1));
    return false;
}

bool lt_sys_fails(const char *check, long ret)
{
    int err = errno;
    if (ret == -1) {
        lt_ok(check, "-1 with %s", lt_errname(err));
        return true;
    }
    lt_fail(check, "returned %ld, want a failure", ret);
    return false;
}

bool lt_sys_errno(const char *check, long ret, int err)
{
    return lt_sys_errno2(check, ret, err, err);
}

bool lt_all_bytes(const void *p, size_t n, unsigned char v)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != v)
            return false;
    return true;
}

void lt_efault_or_short(const char *check, long ret, long valid)
{
    int err = errno;
    if (ret == -1 && err == EFAULT)
        lt_ok(check, "EFAULT");
    else if (ret >= 0 && ret <= valid)
        lt_ok(check, "short count %ld of at most %ld", ret, valid);
    else
        lt_fail(check, "returned %ld (%s), want EFAULT or at most %ld", ret, ret == -1 ? lt_errname(err) : "", valid);
}

int64_t lt_ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * LT_NS_PER_SEC + ts->tv_nsec;
}

int64_t lt_raw_clock_ns(clockid_t clock)
{
    struct timespec ts = {0, 0};
    if (syscall(SYS_clock_gettime, clock, &ts) != 0)
        return -1;
    return lt_ts_ns(&ts);
}

void *lt_vdso_sym(const char *name)
{
    return snapfn_vdso_sym((uintptr_t)getauxval(AT_SYSINFO_EHDR), name, SNAPFN_VDSO_VERSION);
}
