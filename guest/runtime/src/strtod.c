/* strtod, correctly rounded (round to nearest, ties to even), like glibc's.
 *
 * Decimal input is converted exactly: the digits become a big integer D and the value D * 10^E is divided out
 * to 64 significant bits plus a sticky bit, which then round once. Keeping 800 significant digits is enough:
 * a halfway point between two doubles has at most 767 significant decimal digits, so digits past the 800th
 * can only matter through the sticky bit. Short inputs take the exact double-arithmetic shortcut. */
#include "bignum.h"
#include "snapfn.h"

#define MAX_DIGITS 800
/* Exponents are clamped here: far past any double, far from overflowing the arithmetic. */
#define EXPONENT_CAP 1000000000L

static bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive prefix match; returns the length matched or 0. */
static size_t match_word(const char *s, const char *word)
{
    size_t i = 0;
    for (; word[i]; i++)
        if (lower(s[i]) != word[i])
            return 0;
    return i;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static double from_bits(uint64_t bits)
{
    union { uint64_t u; double d; } v = {.u = bits};
    return v.d;
}

/* Rounds q * 2^e2 (q != 0), with `sticky` telling that the true value is slightly above, to a double. */
static double round_to_double(uint64_t q, int e2, bool sticky)
{
    int lz = __builtin_clzll(q);
    q <<= lz;
    e2 -= lz;
    int exponent = e2 + 63; /* the value is in [2^exponent, 2^(exponent+1)) */
    if (exponent > 1023)
        return from_bits(0x7ff0000000000000ULL);
    /* Keep 53 bits, fewer for subnormals. */
    int shift = 11 + (exponent < -1022 ? -1022 - exponent : 0);
    if (shift > 64)
        return 0.0; /* below half the smallest subnormal */
    uint64_t mantissa = shift == 64 ? 0 : q >> shift;
    uint64_t rest = shift == 64 ? q : q & ((1ULL << shift) - 1);
    uint64_t half = 1ULL << (shift - 1);
    if (rest > half || (rest == half && (sticky || (mantissa & 1))))
        mantissa++; /* a carry into bit 53 moves the exponent up by itself below */
    if (exponent < -1022)
        return from_bits(mantissa);
    return from_bits(((uint64_t)(exponent + 1022) << 52) + mantissa);
}

/* Hex floats: 0x<hex digits>[.<hex digits>][p<exponent>]. p points after "0x"; the caller has checked that a
 * hex digit follows (possibly after the point). */
static double parse_hex(const char *p, const char **end)
{
    uint64_t q = 0;
    long e2 = 0;
    bool sticky = false;
    for (bool fraction = false;; p++) {
        if (*p == '.' && !fraction) {
            fraction = true;
            continue;
        }
        int d = hex_value(*p);
        if (d < 0)
            break;
        if (q >> 60 == 0) {
            q = q << 4 | (uint64_t)d;
            if (fraction)
                e2 -= 4;
        } else {
            sticky |= d != 0;
            if (!fraction)
                e2 += 4;
        }
    }
    if (lower(*p) == 'p') {
        const char *x = p + 1;
        bool negative = false;
        if (*x == '+' || *x == '-')
            negative = *x++ == '-';
        if (*x >= '0' && *x <= '9') {
            long e = 0;
            for (; *x >= '0' && *x <= '9'; x++)
                if (e < EXPONENT_CAP)
                    e = e * 10 + (*x - '0');
            e2 += negative ? -e : e;
            p = x;
        }
    }
    *end = p;
    if (q == 0)
        return 0.0;
    if (e2 > EXPONENT_CAP)
        e2 = EXPONENT_CAP;
    if (e2 < -EXPONENT_CAP)
        e2 = -EXPONENT_CAP;
    return round_to_double(q, (int)e2, sticky);
}

/* Exact conversion of D * 10^e10 (D from `digits`, n of them, the first non-zero). */
static double decimal_to_double(const char *digits, int n, int e10, bool sticky)
{
    /* The value is in [10^(e10+n-1), 10^(e10+n)): outside the double range, answer at once. */
    if (e10 + n - 1 > 309)
        return from_bits(0x7ff0000000000000ULL);
    if (e10 + n < -325)
        return 0.0;

    static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                           1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (n <= 15 && !sticky && e10 >= -22 && e10 <= 22) {
        /* Fewer than 2^53 and a power of ten that is exact: one correctly rounded operation. */
        uint64_t w = 0;
        for (int i = 0; i < n; i++)
            w = w * 10 + (uint64_t)(digits[i] - '0');
        return e10 >= 0 ? (double)w * exact_pow10[e10] : (double)w / exact_pow10[-e10];
    }

    big num, den;
    num.n = 0;
    for (int i = 0; i < n;) {
        uint32_t chunk = 0, scale = 1;
        for (int k = 0; k < 9 && i < n; k++, i++) {
            chunk = chunk * 10 + (uint32_t)(digits[i] - '0');
            scale *= 10;
        }
        big_mul_add_small(&num, scale, chunk);
    }
    if (e10 >= 0) {
        big_mul_pow10(&num, (unsigned)e10);
        unsigned bits = big_bitlen(&num);
        if (bits <= 64)
            return round_to_double(big_shr_u64(&num, 0), 0, sticky);
        return round_to_double(big_shr_u64(&num, bits - 64), (int)bits - 64,
                               sticky || big_low_bits_nonzero(&num, bits - 64));
    }
    big_set_u64(&den, 1);
    big_mul_pow10(&den, (unsigned)-e10);
    /* Scale so that the quotient num / den lands in [2^62, 2^64), then divide bit by bit. */
    int s = 63 + (int)big_bitlen(&den) - (int)big_bitlen(&num);
    if (s > 0)
        big_shl(&num, (unsigned)s);
    else if (s < 0)
        big_shl(&den, (unsigned)-s);
    big_shl(&den, 63);
    uint64_t q = 0;
    for (int bit = 63; bit >= 0; bit--) {
        if (big_cmp(&num, &den) >= 0) {
            big_sub(&num, &den);
            q |= 1ULL << bit;
        }
        big_shr1(&den);
    }
    return round_to_double(q, -s, sticky || !big_is_zero(&num));
}

double strtod(const char *s, char **end)
{
    const char *p = s;
    while (is_space(*p))
        p++;
    bool negative = false;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    double value;
    size_t len;
    if ((len = match_word(p, "infinity")) || (len = match_word(p, "inf"))) {
        p += len;
        value = from_bits(0x7ff0000000000000ULL);
    } else if ((len = match_word(p, "nan"))) {
        p += len;
        /* "nan(chars)": the parenthesised part is consumed only when it is closed. */
        if (*p == '(') {
            const char *q = p + 1;
            while ((*q >= '0' && *q <= '9') || (lower(*q) >= 'a' && lower(*q) <= 'z') || *q == '_')
                q++;
            if (*q == ')')
                p = q + 1;
        }
        value = from_bits(0x7ff8000000000000ULL);
    } else if (p[0] == '0' && lower(p[1]) == 'x' && (hex_value(p[2]) >= 0 || (p[2] == '.' && hex_value(p[3]) >= 0))) {
        value = parse_hex(p + 2, &p);
    } else {
        char digits[MAX_DIGITS];
        int n = 0;
        long e10 = 0;
        bool any = false, sticky = false, fraction = false;
        for (;; p++) {
            if (*p == '.' && !fraction) {
                fraction = true;
                continue;
            }
            if (*p < '0' || *p > '9')
                break;
            any = true;
            if (n == 0 && *p == '0') {
                if (fraction)
                    e10--; /* leading zeros after the point only move the exponent */
            } else if (n < MAX_DIGITS) {
                digits[n++] = *p;
                if (fraction)
                    e10--;
            } else {
                sticky |= *p != '0';
                if (!fraction)
                    e10++;
            }
        }
        if (!any) {
            if (end)
                *end = (char *)s;
            return 0.0;
        }
        if (lower(*p) == 'e') {
            const char *x = p + 1;
            bool eneg = false;
            if (*x == '+' || *x == '-')
                eneg = *x++ == '-';
            if (*x >= '0' && *x <= '9') {
                long e = 0;
                for (; *x >= '0' && *x <= '9'; x++)
                    if (e < EXPONENT_CAP)
                        e = e * 10 + (*x - '0');
                e10 += eneg ? -e : e;
                p = x;
            }
        }
        if (n == 0)
            value = 0.0;
        else if (e10 > EXPONENT_CAP)
            value = from_bits(0x7ff0000000000000ULL);
        else if (e10 < -EXPONENT_CAP)
            value = 0.0;
        else
            value = decimal_to_double(digits, n, (int)e10, sticky);
    }
    if (end)
        *end = (char *)p;
    return negative ? -value : value;
}
