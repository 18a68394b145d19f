/* Fixed-size big integers: just the operations strtod and printf need, each a plain schoolbook loop. */
#include "bignum.h"
#include "snapfn.h"

static void normalize(big *a)
{
    while (a->n > 0 && a->limb[a->n - 1] == 0)
        a->n--;
}

static void grow(big *a, uint32_t n)
{
    if (n > BIG_LIMBS)
        snapfn_abort("runtime bug: big integer needs %u limbs, more than %d", n, BIG_LIMBS);
    while (a->n < n)
        a->limb[a->n++] = 0;
}

void big_set_u64(big *a, uint64_t v)
{
    a->limb[0] = (uint32_t)v;
    a->limb[1] = (uint32_t)(v >> 32);
    a->n = 2;
    normalize(a);
}

bool big_is_zero(const big *a)
{
    return a->n == 0;
}

void big_mul_add_small(big *a, uint32_t m, uint32_t add)
{
    uint64_t carry = add;
    for (uint32_t i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->limb[i] * m + carry;
        a->limb[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        grow(a, a->n + 1);
        a->limb[a->n - 1] = (uint32_t)carry;
    }
}

void big_mul_pow10(big *a, unsigned e)
{
    static const uint32_t pow10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
    for (; e >= 9; e -= 9)
        big_mul_add_small(a, pow10[9], 0);
    if (e)
        big_mul_add_small(a, pow10[e], 0);
}

void big_shl(big *a, unsigned bits)
{
    if (a->n == 0)
        return;
    uint32_t words = bits / 32, shift = bits % 32;
    uint32_t old = a->n;
    grow(a, old + words + 1);
    for (uint32_t i = old + words + 1; i-- > 0;) {
        uint64_t hi = i >= words && i - words < old ? a->limb[i - words] : 0;
        uint64_t lo = i >= words + 1 && i - words - 1 < old ? a->limb[i - words - 1] : 0;
        a->limb[i] = shift ? (uint32_t)((hi << shift) | (lo >> (32 - shift))) : (uint32_t)hi;
    }
    normalize(a);
}

void big_shr1(big *a)
{
    for (uint32_t i = 0; i < a->n; i++) {
        uint32_t next = i + 1 < a->n ? a->limb[i + 1] : 0;
        a->limb[i] = (a->limb[i] >> 1) | (next << 31);
    }
    normalize(a);
}

int big_cmp(const big *a, const big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (uint32_t i = a->n; i-- > 0;)
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    return 0;
}

void big_sub(big *a, const big *b)
{
    uint64_t borrow = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->limb[i] - (i < b->n ? b->limb[i] : 0) - borrow;
        a->limb[i] = (uint32_t)t;
        borrow = (t >> 32) & 1;
    }
    normalize(a);
}

uint32_t big_div_small(big *a, uint32_t d)
{
    uint64_t rem = 0;
    for (uint32_t i = a->n; i-- > 0;) {
        uint64_t t = (rem << 32) | a->limb[i];
        a->limb[i] = (uint32_t)(t / d);
        rem = t % d;
    }
    normalize(a);
    return (uint32_t)rem;
}

unsigned big_bitlen(const big *a)
{
    if (a->n == 0)
        return 0;
    return (a->n - 1) * 32 + (32 - (unsigned)__builtin_clz(a->limb[a->n - 1]));
}

uint64_t big_shr_u64(const big *a, unsigned bits)
{
    uint32_t word = bits / 32, shift = bits % 32;
    uint64_t lo = word < a->n ? a->limb[word] : 0;
    uint64_t mid = word + 1 < a->n ? a->limb[word + 1] : 0;
    uint64_t hi = word + 2 < a->n ? a->limb[word + 2] : 0;
    uint64_t v = (lo | mid << 32) >> shift;
    if (shift)
        v |= hi << (64 - shift);
    return v;
}

void big_truncate(big *a, unsigned bits)
{
    uint32_t words = bits / 32, shift = bits % 32;
    if (words >= a->n)
        return;
    a->limb[words] &= shift ? (uint32_t)((1ULL << shift) - 1) : 0;
    a->n = words + 1;
    normalize(a);
}

bool big_low_bits_nonzero(const big *a, unsigned bits)
{
    uint32_t words = bits / 32, shift = bits % 32;
    for (uint32_t i = 0; i < words && i < a->n; i++)
        if (a->limb[i])
            return true;
    return shift && words < a->n && (a->limb[words] & ((1u << shift) - 1)) != 0;
}
