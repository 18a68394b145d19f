/* The native side of the guest-vs-native compute comparison: the same kernel, timed in-process. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../../guest/functions/microbench/compute_kernel.h"

int main(int argc, char **argv)
{
    unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000ULL;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    unsigned long long result = compute_kernel(n);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    printf("{\"n\":%llu,\"result\":%llu,\"ms\":%.3f}\n", n, result, ms);
    return 0;
}
