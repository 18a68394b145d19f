/* The hosted test of the guest runtime: runs every part and exits non-zero on any mismatch. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long test_checks, test_failures;
size_t discard_calls;
bool discard_misaligned;
jmp_buf abort_jump;
bool abort_expected;
char abort_message[1024];

/* Like the VMM: the whole pages inside the range read as zero afterwards. */
void snapfn_discard(void *addr, size_t len)
{
    uintptr_t start = ((uintptr_t)addr + 4095) & ~(uintptr_t)4095;
    uintptr_t end = ((uintptr_t)addr + len) & ~(uintptr_t)4095;
    discard_calls++;
    if (start != (uintptr_t)addr || end != (uintptr_t)addr + len)
        discard_misaligned = true;
    if (end > start)
        memset((void *)start, 0, end - start);
}

_Noreturn void snapfn_abort(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(abort_message, sizeof abort_message, fmt, ap);
    va_end(ap);
    if (abort_expected) {
        abort_expected = false;
        longjmp(abort_jump, 1);
    }
    printf("FAIL: unexpected snapfn_abort: %s\n", abort_message);
    exit(1);
}

uint64_t test_random(void)
{
    static uint64_t state = 0x243f6a8885a308d3ULL;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dULL;
}

double test_random_double_bits(void)
{
    for (;;) {
        uint64_t u = test_random();
        double d;
        memcpy(&d, &u, sizeof d);
        if ((u >> 52 & 0x7ff) != 0x7ff)
            return d;
    }
}

static void run(const char *name, void (*test)(void))
{
    long before_checks = test_checks, before_failures = test_failures;
    clock_t start = clock();
    test();
    printf("%-8s %8ld checks, %ld failed (%.2f s)\n", name, test_checks - before_checks,
           test_failures - before_failures, (double)(clock() - start) / CLOCKS_PER_SEC);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    run("string", test_string);
    run("strtod", test_strtod);
    run("format", test_format);
    run("math", test_math);
    run("json", test_json);
    run("alloc", test_alloc);
    printf("runtime: %ld passed, %ld failed\n", test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}
