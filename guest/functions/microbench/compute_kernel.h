/* The compute kernel timed in the guest and natively (bench/native/compute.c) to compare their speed:
 * integer hashing and floating-point work over a small array, no memory traffic beyond L1. */
#ifndef COMPUTE_KERNEL_H
#define COMPUTE_KERNEL_H

#include <stdint.h>

static inline uint64_t compute_kernel(uint64_t iterations)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    double acc = 1.0;
    double values[64];
    for (int i = 0; i < 64; i++)
        values[i] = (double)(i + 1) * 0.5;
    for (uint64_t i = 0; i < iterations; i++) {
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= i;
        double v = values[h & 63];
        acc = acc * 0.999999 + v * 1e-6;
        values[i & 63] = v + acc * 1e-9;
    }
    return h ^ (uint64_t)(acc * 1e6);
}

#endif
