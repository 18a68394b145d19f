/* Shared helpers of the hosted codec tests: checks that count, a seeded PRNG, files, PSNR. */
#ifndef CODEC_TEST_UTIL_H
#define CODEC_TEST_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tests_passed, tests_failed;

/* Records one check; prints the failures (and, with VERBOSE set, the passes). */
static __attribute__((unused)) void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static __attribute__((unused)) void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (ok) {
        tests_passed++;
        if (getenv("VERBOSE")) {
            printf("  ok: ");
            vprintf(fmt, ap);
            printf("\n");
        }
    } else {
        tests_failed++;
        printf("  FAIL: ");
        vprintf(fmt, ap);
        printf("\n");
    }
    va_end(ap);
}

static __attribute__((unused)) int finish(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}

static __attribute__((unused)) int starts_with(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

typedef struct {
    uint64_t s;
} rng;

static __attribute__((unused)) uint64_t rng_next(rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static __attribute__((unused)) uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

static __attribute__((unused)) uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static __attribute__((unused)) int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Peak signal-to-noise ratio of two 8-bit buffers, in dB (99 when identical). */
static __attribute__((unused)) double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        se += d * d;
    }
    if (se == 0)
        return 99.0;
    return 10.0 * log10(255.0 * 255.0 * (double)n / se);
}

static __attribute__((unused)) int max_abs_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > m)
            m = d;
    }
    return m;
}

#endif
