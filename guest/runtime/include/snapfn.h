/* The Snapfn guest SDK: what a function implements and what the runtime gives it.
 *
 * A function is a freestanding static program. It implements two entry points:
 *   snapfn_init()   runs once after boot; whatever it builds (tables, models, big lists) lands in the
 *                   snapshot, so every invocation starts with it done.
 *   snapfn_handle() runs once per request: read `in_len` bytes at `in`, write at most `out_cap` bytes at
 *                   `out`, return how many were written. Call snapfn_abort() to fail the request.
 * There is no libc: the declarations below are all there is, implemented in guest/runtime/src. */
#ifndef SNAPFN_H
#define SNAPFN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void snapfn_init(void);
size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

/* Hypercalls. */
void snapfn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void snapfn_abort(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Gives whole pages inside [addr, addr+len) back to the VMM: they read as zero afterwards. */
void snapfn_discard(void *addr, size_t len);

/* Memory. Blocks of 64 KiB or more are page-aligned, and freeing them discards their pages. */
void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
/* Like malloc, but aborts the request with a message instead of returning NULL. */
void *xmalloc(size_t size);

/* Strings and memory (the C standard's semantics). */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);
long strtol(const char *s, char **end, int base);
double strtod(const char *s, char **end);

/* Formatting: %d %i %u %x %X %ld %lu %lx %lld %llu %llx %zu %zd %c %s %p %f %e %g %%, with flags '-', '0',
 * '+', ' ', width and precision (also '*'). */
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Maths (double precision, the C standard's semantics, accurate to a few ulp). */
double fabs(double x);
double floor(double x);
double ceil(double x);
double round(double x);
double sqrt(double x);
double exp(double x);
double log(double x);
double pow(double x, double y);
double sin(double x);
double cos(double x);
double tanh(double x);
double fmin(double a, double b);
double fmax(double a, double b);
float expf(float x);
float sqrtf(float x);

/* Whether AVX2 and FMA code may run here: CPUID says the CPU has AVX, FMA and AVX2, and (OSXSAVE, then XCR0)
 * that the AVX state is enabled. Functions with an AVX2 kernel ask this on every request and fall back to plain
 * SSE2 code otherwise: a CPU without AVX2 (SNAPFN_CPU=soft's, an older host) would fault on the first VEX
 * instruction, and a request is where a snapshot restored elsewhere first runs. */
static inline bool snapfn_cpu_has_avx2_fma(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    if (a < 7)
        return false;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    const uint32_t fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if ((c & (fma | osxsave | avx)) != (fma | osxsave | avx))
        return false;
    uint32_t xcr0, xcr0_high;
    __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(xcr0_high) : "c"(0));
    (void)xcr0_high;
    if ((xcr0 & 6) != 6) /* SSE and AVX state */
        return false;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    return (b & (1u << 5)) != 0;
}

/* A small deterministic PRNG (xorshift64*) for functions that need random data with a fixed seed. */
typedef struct { uint64_t state; } snapfn_rng;
static inline void snapfn_rng_seed(snapfn_rng *r, uint64_t seed) { r->state = seed ? seed : 0x9e3779b97f4a7c15ULL; }
static inline uint64_t snapfn_rng_next(snapfn_rng *r)
{
    uint64_t x = r->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return x * 0x2545f4914f6cdd1dULL;
}
/* Uniform in [0, 1). */
static inline double snapfn_rng_double(snapfn_rng *r) { return (double)(snapfn_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

/* An output built piece by piece in the output buffer: snapfn_appendf formats at the end, and aborts the
 * request (naming the function) when the buffer would overflow rather than return a truncated answer. */
typedef struct {
    char *buf;
    size_t cap, len;
    const char *function;
} snapfn_out;
static inline snapfn_out snapfn_out_begin(uint8_t *out, size_t out_cap, const char *function)
{
    snapfn_out o = {(char *)out, out_cap, 0, function};
    return o;
}
void snapfn_appendf(snapfn_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Finds "key": in a flat JSON object and returns its value: a string's contents (unescaped, at most cap-1
 * bytes, NUL-terminated) or a number's text. Returns false when the key is absent. Enough for inputs like
 * {"name": "Ada"} or {"seed": 3}; functions that take real JSON parse it themselves. */
bool snapfn_json_get(const uint8_t *json, size_t len, const char *key, char *value, size_t cap);

#endif
