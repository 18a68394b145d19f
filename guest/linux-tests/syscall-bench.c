/* syscall-bench N: the cost of a trapped system call and of the vDSO's clock_gettime.
 * Prints `syscall_ns_per_call X` (N raw getppid calls) and `vdso_clock_gettime_ns_per_call Y` (N calls of
 * glibc's clock_gettime(CLOCK_MONOTONIC), which goes through the vDSO when there is one), both timed with
 * CLOCK_MONOTONIC. */
#include "lt.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

/* The bare instruction, without glibc's syscall() and its errno handling. */
static inline long raw_getppid(void)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
    return ret;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return lt_ts_ns(&ts);
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long n = argc == 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc != 2 || *end != '\0' || n <= 0) {
        fprintf(stderr, "usage: %s N (a positive number of calls)\n", argv[0]);
        return 2;
    }
    lt_init();

    long sink = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        sink += raw_getppid();
    int64_t t1 = now_ns();
    printf("syscall_ns_per_call %.1f\n", (double)(t1 - t0) / (double)n);

    struct timespec ts;
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sink += ts.tv_nsec & 1;
    }
    t1 = now_ns();
    printf("vdso_clock_gettime_ns_per_call %.1f\n", (double)(t1 - t0) / (double)n);
    return sink == -1 ? 1 : 0; /* keeps the loops */
}
