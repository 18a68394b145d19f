/* Memory and string functions with the C standard's semantics.
 *
 * gcc recognises copy and fill loops and replaces them with calls to memcpy/memset/memmove, which inside
 * those very functions would recurse forever; NO_LIBCALL switches that off where a loop could look like one.
 * The bulk copies use `rep movsb`/`rep stosb`: with ERMS/FSRM (all recent x86) they are the fastest way to
 * move large blocks and are quick for short ones too. */
#include "snapfn.h"

#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

/* Unaligned 8-byte access without breaking strict aliasing. */
typedef uint64_t __attribute__((may_alias, aligned(1))) unaligned_u64;

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    /* A forward copy is safe unless dst starts inside [src, src+n); the unsigned difference tests both ends. */
    if ((uintptr_t)d - (uintptr_t)s >= n) {
        __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
        return dst;
    }
    /* Backward, 8 bytes at a time: a backward `rep movsb` (DF=1) gets no fast-string help. */
    while (n >= 8) {
        n -= 8;
        *(unaligned_u64 *)(d + n) = *(const unaligned_u64 *)(s + n);
    }
    while (n > 0) {
        n--;
        d[n] = s[n];
    }
    return dst;
}

NO_LIBCALL int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    while (n >= 8) {
        uint64_t x = *(const unaligned_u64 *)p, y = *(const unaligned_u64 *)q;
        if (x != y) {
            /* Byte-swapped, the first differing byte becomes the most significant one. */
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
            return x < y ? -1 : 1;
        }
        p += 8;
        q += 8;
        n -= 8;
    }
    for (; n > 0; p++, q++, n--)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

NO_LIBCALL size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

NO_LIBCALL int strcmp(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *p == *q) {
        p++;
        q++;
    }
    return (*p > *q) - (*p < *q);
}

NO_LIBCALL int strncmp(const char *a, const char *b, size_t n)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    for (; n > 0; p++, q++, n--)
        if (*p != *q || *p == 0)
            return (*p > *q) - (*p < *q);
    return 0;
}

NO_LIBCALL char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (*s == 0)
            return NULL;
    }
}

/* The plain quadratic search: inputs here are small, and the worst case needs a pathological needle. */
NO_LIBCALL char *strstr(const char *haystack, const char *needle)
{
    if (*needle == 0)
        return (char *)haystack;
    for (; (haystack = strchr(haystack, *needle)) != NULL; haystack++) {
        size_t i = 1;
        while (needle[i] && haystack[i] == needle[i])
            i++;
        if (needle[i] == 0)
            return (char *)haystack;
    }
    return NULL;
}

static bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Out-of-range values saturate to LONG_MAX/LONG_MIN; there is no errno to report them with. */
long strtol(const char *s, char **end, int base)
{
    const char *p = s;
    if (end)
        *end = (char *)s;
    if (base < 0 || base == 1 || base > 36)
        return 0;
    while (is_space(*p))
        p++;
    bool negative = false;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    /* "0x" counts as a prefix only when a hex digit follows; otherwise the number is the "0". */
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    const unsigned long limit = negative ? (unsigned long)__LONG_MAX__ + 1 : (unsigned long)__LONG_MAX__;
    unsigned long value = 0;
    bool overflow = false, any = false;
    for (int d; (d = digit_value(*p)) < base; p++) {
        any = true;
        if (value > (limit - (unsigned long)d) / (unsigned long)base)
            overflow = true;
        else
            value = value * (unsigned long)base + (unsigned long)d;
    }
    if (!any)
        return 0;
    if (end)
        *end = (char *)p;
    if (overflow)
        value = limit;
    return negative ? (long)(0 - value) : (long)value;
}
