/* Double-precision maths with the C standard's special cases, accurate to about 1 ulp.
 *
 * The polynomials are Taylor series taken far enough that the truncation is far below an ulp on the reduced
 * range; the constants (splits of ln 2 and pi/2, the bits of 2/pi) come from tests/gen_constants.py.
 * sin/cos reduce every argument exactly with the bits of 2/pi (Payne-Hanek), so huge arguments are right too.
 * pow uses the x87 unit's 64-bit significand for y*log2(x): an error e there is a relative error e*ln2 in the
 * result, so pow needs about 11 bits more than a double holds, and fyl2x/f2xm1 provide exactly that. */
#include "snapfn.h"

static uint64_t bits_of(double x)
{
    union { double d; uint64_t u; } v = {.d = x};
    return v.u;
}

static double from_bits(uint64_t u)
{
    union { uint64_t u; double d; } v = {.u = u};
    return v.d;
}

/* 2^k for -1022 <= k <= 1023 */
static double pow2i(int k)
{
    return from_bits((uint64_t)(k + 1023) << 52);
}

#define INFINITY_BITS 0x7ff0000000000000ULL
#define ABS_MASK 0x7fffffffffffffffULL

static bool is_nan(double x)
{
    return (bits_of(x) & ABS_MASK) > INFINITY_BITS;
}

double fabs(double x)
{
    return from_bits(bits_of(x) & ABS_MASK);
}

double sqrt(double x)
{
    /* The instruction, not __builtin_sqrt: with errno semantics gcc would call sqrt() for negatives. */
    __asm__("sqrtsd %1, %0" : "=x"(x) : "x"(x));
    return x;
}

float sqrtf(float x)
{
    __asm__("sqrtss %1, %0" : "=x"(x) : "x"(x));
    return x;
}

/* Rounds toward zero by clearing the fraction bits; |x| >= 2^52, NaN and infinity are already integers. */
static double trunc_bits(double x)
{
    uint64_t u = bits_of(x);
    int e = (int)(u >> 52 & 0x7ff) - 1023;
    if (e >= 52)
        return x;
    if (e < 0)
        return from_bits(u & ~ABS_MASK); /* |x| < 1: a signed zero */
    return from_bits(u & ~((1ULL << (52 - e)) - 1));
}

double floor(double x)
{
    double t = trunc_bits(x);
    return t > x ? t - 1.0 : t;
}

double ceil(double x)
{
    double t = trunc_bits(x);
    return t < x ? t + 1.0 : t;
}

/* Half-way cases away from zero. */
double round(double x)
{
    double t = trunc_bits(x);
    double diff = x - t; /* exact: x and t share their exponent or t is 0 */
    if (diff >= 0.5)
        return t + 1.0;
    if (diff <= -0.5)
        return t - 1.0;
    return t;
}

double fmin(double a, double b)
{
    if (is_nan(a))
        return b;
    if (is_nan(b))
        return a;
    if (a == b) /* prefer -0 over +0 */
        return from_bits(bits_of(a) | bits_of(b));
    return a < b ? a : b;
}

double fmax(double a, double b)
{
    if (is_nan(a))
        return b;
    if (is_nan(b))
        return a;
    if (a == b)
        return from_bits(bits_of(a) & bits_of(b));
    return a > b ? a : b;
}

/* ---- exp and log ---- */

static const double ln2_hi = 6.93147180369123816490e-01; /* 0x3fe62e42fee00000: 32 bits, so k*ln2_hi is exact */
static const double ln2_lo = 1.90821492927058770002e-10; /* 0x3dea39ef35793c76 */
static const double inv_ln2 = 1.44269504088896338700e+00;

/* e^r - 1 for |r| <= 0.35, as a Taylor series to r^13 (r^14/14! < 2^-60 there). */
static double expm1_kernel(double r)
{
    double p = 1.0 / 6227020800.0;
    p = 1.0 / 479001600.0 + r * p;
    p = 1.0 / 39916800.0 + r * p;
    p = 1.0 / 3628800.0 + r * p;
    p = 1.0 / 362880.0 + r * p;
    p = 1.0 / 40320.0 + r * p;
    p = 1.0 / 5040.0 + r * p;
    p = 1.0 / 720.0 + r * p;
    p = 1.0 / 120.0 + r * p;
    p = 1.0 / 24.0 + r * p;
    p = 1.0 / 6.0 + r * p;
    p = 0.5 + r * p;
    return r + r * r * p;
}

double exp(double x)
{
    if (is_nan(x))
        return x + x;
    /* Past these the result is certainly inf or 0; closer in, the scaling below overflows or underflows right. */
    if (x > 710.0)
        return from_bits(INFINITY_BITS);
    if (x < -746.0)
        return 0.0;
    if (fabs(x) < 0x1p-54)
        return 1.0 + x;
    /* x = k*ln2 + r, |r| <= ln2/2; x - k*ln2_hi is exact. */
    double kd = x * inv_ln2;
    int k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5);
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double e = 1.0 + expm1_kernel(r);
    if (k > 1023)
        return e * 2.0 * pow2i(1023);
    if (k < -1021)
        return e * pow2i(k + 64) * 0x1p-64; /* subnormal: one rounding, in the last multiply */
    return e * pow2i(k);
}

float expf(float x)
{
    return (float)exp((double)x);
}

double log(double x)
{
    uint64_t u = bits_of(x);
    if (is_nan(x))
        return x + x;
    if ((u & ABS_MASK) == 0)
        return -from_bits(INFINITY_BITS);
    if (u >> 63)
        return from_bits(0x7ff8000000000000ULL); /* log of a negative number */
    if (u == INFINITY_BITS)
        return x;
    int k = 0;
    if (u < (1ULL << 52)) { /* subnormal: scale into the normal range */
        x *= 0x1p54;
        u = bits_of(x);
        k = -54;
    }
    /* x = 2^k * m, m in [sqrt(1/2), sqrt(2)) */
    k += (int)(u >> 52) - 1023;
    uint64_t mant = u & ((1ULL << 52) - 1);
    double m = from_bits(mant | 0x3ff0000000000000ULL);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        k++;
    }
    /* log(1+f) = 2 atanh(s), s = f/(2+f); written as f - (f^2/2 - s*(f^2/2 + R)) with
     * R = 2s^2/3 + 2s^4/5 + ..., so that the large f^2/2 term is carried exactly through. */
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double R = 2.0 / 21.0;
    R = 2.0 / 19.0 + z * R;
    R = 2.0 / 17.0 + z * R;
    R = 2.0 / 15.0 + z * R;
    R = 2.0 / 13.0 + z * R;
    R = 2.0 / 11.0 + z * R;
    R = 2.0 / 9.0 + z * R;
    R = 2.0 / 7.0 + z * R;
    R = 2.0 / 5.0 + z * R;
    R = 2.0 / 3.0 + z * R;
    R *= z;
    double hfsq = 0.5 * f * f;
    return k * ln2_hi + (f - (hfsq - (s * (hfsq + R) + k * ln2_lo)));
}

/* e^t - 1 for |t| <= 1.1 in extended precision: Taylor on t/4 (to h^18/18!, far below 2^-64 there), then
 * e^(2h) - 1 = E (E + 2) twice. */
static long double expm1_extended(long double t)
{
    long double h = t / 4, q = 1.0L;
    for (int n = 18; n >= 2; n--)
        q = 1.0L + h * q / n;
    long double e = h * q;
    e = e * (e + 2.0L);
    return e * (e + 2.0L);
}

double tanh(double x)
{
    if (is_nan(x))
        return x + x;
    double a = fabs(x);
    double t;
    if (a > 22.0) {
        t = 1.0; /* 1 - tanh(22) < 2^-62 */
    } else if (a >= 0.55) {
        t = 1.0 - 2.0 / (exp(2.0 * a) + 1.0); /* no cancellation: the result is above 0.5 */
    } else if (a < 0x1p-28) {
        return x;
    } else {
        /* tanh(a) = E/(E+2), E = e^(2a) - 1; in double the rounding errors of E, E+2 and the quotient add up
         * to ~3 ulps, so this is done in the x87's 64-bit precision and rounded once. */
        long double e = expm1_extended(2.0L * a);
        t = (double)(e / (e + 2.0L));
    }
    return x < 0 ? -t : t;
}

/* ---- pow ---- */

/* y * log2(x), x > 0, in extended precision. */
static long double x87_ylog2x(long double y, long double x)
{
    long double r;
    __asm__("fyl2x" : "=t"(r) : "0"(x), "u"(y) : "st(1)");
    return r;
}

/* 2^t in extended precision. */
static long double x87_exp2(long double t)
{
    long double n, e, r;
    __asm__("frndint" : "=t"(n) : "0"(t));
    long double f = t - n; /* |f| <= 1/2, the range of f2xm1 */
    __asm__("f2xm1" : "=t"(e) : "0"(f));
    e += 1.0L;
    __asm__("fscale" : "=t"(r) : "0"(e), "u"(n));
    return r;
}

/* 0 when y is not an integer, 1 when it is an odd one, 2 when an even one. */
static int integer_kind(double y)
{
    if (trunc_bits(y) != y)
        return 0;
    if (fabs(y) >= 0x1p53)
        return 2;
    return ((int64_t)y & 1) ? 1 : 2;
}

double pow(double x, double y)
{
    if (y == 0.0 || x == 1.0)
        return 1.0;
    if (is_nan(x) || is_nan(y))
        return x + y;
    double ax = fabs(x), ay = fabs(y);
    bool y_negative = y < 0;
    if (ay == from_bits(INFINITY_BITS)) {
        if (ax == 1.0)
            return 1.0;
        return (ax < 1.0) == y_negative ? from_bits(INFINITY_BITS) : 0.0;
    }
    int kind = integer_kind(y);
    bool x_negative = bits_of(x) >> 63;
    double sign = x_negative && kind == 1 ? -1.0 : 1.0;
    if (ax == 0.0 || ax == from_bits(INFINITY_BITS)) {
        /* 0^y and inf^y: 0 or inf, signed when x is negative and y an odd integer */
        bool infinite = (ax == 0.0) == y_negative;
        return sign * (infinite ? from_bits(INFINITY_BITS) : 0.0);
    }
    if (x_negative && kind == 0)
        return from_bits(0x7ff8000000000000ULL); /* a negative number to a non-integer power */
    if (y == 1.0)
        return x;
    long double t = x87_ylog2x(y, ax);
    if (t > 1100.0L)
        return sign * from_bits(INFINITY_BITS);
    if (t < -1100.0L)
        return sign * 0.0;
    return sign * (double)x87_exp2(t);
}

/* ---- sin and cos ---- */

/* 2/pi, 1280 bits after the binary point (enough for the largest double's exponent plus 190 bits). */
static const uint64_t two_over_pi[20] = {
    0xa2f9836e4e441529ULL, 0xfc2757d1f534ddc0ULL, 0xdb6295993c439041ULL, 0xfe5163abdebbc561ULL,
    0xb7246e3a424dd2e0ULL, 0x06492eea09d1921cULL, 0xfe1deb1cb129a73eULL, 0xe88235f52ebb4484ULL,
    0xe99c7026b45f7e41ULL, 0x3991d639835339f4ULL, 0x9c845f8bbdf9283bULL, 0x1ff897ffde05980fULL,
    0xef2f118b5a0a6d1fULL, 0x6d367ecf27cb09b7ULL, 0x4f463f669e5fea2dULL, 0x7527bac7ebe5f17bULL,
    0x3d0739f78a5292eaULL, 0x6bfb5fb11f8d5d08ULL, 0x56033046fc7b6babULL, 0xf0cfbc209af4361dULL,
};
static const double pio2_hi = 1.57079632679489655800e+00; /* 0x3ff921fb54442d18 */
static const double pio2_lo = 6.12323399573676603587e-17; /* 0x3c91a62633145c07 */
static const double pio4 = 7.85398163397448278999e-01;

/* Bits pos .. pos+63 of 2/pi (bit 1 is the first after the point), most significant first; bits at pos < 1 are 0. */
static uint64_t two_over_pi_bits(int pos)
{
    if (pos < 1) {
        int zeros = 1 - pos;
        return zeros >= 64 ? 0 : two_over_pi_bits(1) >> zeros;
    }
    int word = (pos - 1) / 64, shift = (pos - 1) % 64;
    uint64_t hi = two_over_pi[word];
    uint64_t lo = word + 1 < 20 ? two_over_pi[word + 1] : 0;
    return shift ? hi << shift | lo >> (64 - shift) : hi;
}

/* Exact product a*b = p + e (Dekker), without FMA. */
static void two_prod(double a, double b, double *p, double *e)
{
    const double split = 134217729.0; /* 2^27 + 1 */
    double ca = split * a, cb = split * b;
    double ah = ca - (ca - a), al = a - ah;
    double bh = cb - (cb - b), bl = b - bh;
    *p = a * b;
    *e = ((ah * bh - *p) + ah * bl + al * bh) + al * bl;
}

/* For finite a >= pi/4: a = n*pi/2 + (r_hi + r_lo), |r| <= pi/4; returns n mod 4.
 * a = m * 2^e with m a 53-bit integer. Of a*2/pi, bits of 2/pi before b_(e-1) only add multiples of 4, so a
 * 192-bit window from there, times m, gives the quadrant and a fraction good to about 2^-137 absolute. */
static int reduce(double a, double *r_hi, double *r_lo)
{
    uint64_t u = bits_of(a);
    int e = (int)(u >> 52) - 1075;
    uint64_t m = (u & ((1ULL << 52) - 1)) | (1ULL << 52);
    uint64_t w0 = two_over_pi_bits(e - 1), w1 = two_over_pi_bits(e + 63), w2 = two_over_pi_bits(e + 127);
    /* P = m * (w0:w1:w2), 256 bits as p3:p2:p1:p0; the binary point of a*2/pi sits 190 bits up. */
    unsigned __int128 t2 = (unsigned __int128)m * w2;
    unsigned __int128 t1 = (unsigned __int128)m * w1 + (uint64_t)(t2 >> 64);
    unsigned __int128 t0 = (unsigned __int128)m * w0 + (uint64_t)(t1 >> 64);
    uint64_t p2 = (uint64_t)t0, p1 = (uint64_t)t1, p0 = (uint64_t)t2;
    int n = (int)(p2 >> 62);
    /* The fraction's top 128 bits: 62 from p2, 64 from p1, 2 from p0. */
    unsigned __int128 frac = ((unsigned __int128)(p2 & ((1ULL << 62) - 1)) << 66) | ((unsigned __int128)p1 << 2) | (p0 >> 62);
    bool negative = false;
    if (frac >> 127) { /* fraction >= 1/2: round to the next quadrant and go negative */
        n++;
        frac = -frac;
        negative = true;
    }
    if (frac == 0) {
        *r_hi = *r_lo = 0.0;
        return n & 3;
    }
    int lz = frac >> 64 ? __builtin_clzll((uint64_t)(frac >> 64)) : 64 + __builtin_clzll((uint64_t)frac);
    frac <<= lz;
    /* f = frac * 2^-(128+lz): top 53 bits exactly, the next 64 rounded. */
    double f_hi = (double)(uint64_t)(frac >> 75) * pow2i(75 - 128 - lz);
    double f_lo = (double)(uint64_t)(frac >> 11) * pow2i(11 - 128 - lz);
    /* r = f * pi/2 as a double-double */
    double p, err;
    two_prod(f_hi, pio2_hi, &p, &err);
    double lo = err + (f_hi * pio2_lo + f_lo * pio2_hi);
    double hi = p + lo;
    lo = lo - (hi - p);
    *r_hi = negative ? -hi : hi;
    *r_lo = negative ? -lo : lo;
    return n & 3;
}

/* sin(x + y) for |x| <= pi/4, |y| tiny: Taylor to x^19 (x^21/21! < 2^-60 relative there). */
static double sin_kernel(double x, double y)
{
    double z = x * x;
    double p = -1.0 / 121645100408832000.0;
    p = 1.0 / 355687428096000.0 + z * p;
    p = -1.0 / 1307674368000.0 + z * p;
    p = 1.0 / 6227020800.0 + z * p;
    p = -1.0 / 39916800.0 + z * p;
    p = 1.0 / 362880.0 + z * p;
    p = -1.0 / 5040.0 + z * p;
    p = 1.0 / 120.0 + z * p;
    /* sin(x+y) ~ sin x + y cos x ~ x - x^3/6 + x^5 p + y (1 - x^2/2) */
    return x + (z * x * (-1.0 / 6.0 + z * p) + y * (1.0 - 0.5 * z));
}

/* cos(x + y) for |x| <= pi/4, |y| tiny: Taylor to x^20. */
static double cos_kernel(double x, double y)
{
    double z = x * x;
    double q = 1.0 / 2432902008176640000.0;
    q = -1.0 / 6402373705728000.0 + z * q;
    q = 1.0 / 20922789888000.0 + z * q;
    q = -1.0 / 87178291200.0 + z * q;
    q = 1.0 / 479001600.0 + z * q;
    q = -1.0 / 3628800.0 + z * q;
    q = 1.0 / 40320.0 + z * q;
    q = -1.0 / 720.0 + z * q;
    q = 1.0 / 24.0 + z * q;
    /* 1 - z/2 loses the bits of z/2 below 1's ulp: w carries them back in. */
    double hz = 0.5 * z;
    double w = 1.0 - hz;
    return w + (((1.0 - w) - hz) + (z * z * q - x * y));
}

double sin(double x)
{
    double a = fabs(x);
    if (a <= pio4)
        return a < 0x1p-27 ? x : sin_kernel(x, 0.0);
    if (!(a < from_bits(INFINITY_BITS)))
        return x - x; /* NaN for infinities, the NaN itself for NaN */
    double r, rl;
    int n = reduce(a, &r, &rl);
    double s;
    switch (n) {
    case 0: s = sin_kernel(r, rl); break;
    case 1: s = cos_kernel(r, rl); break;
    case 2: s = -sin_kernel(r, rl); break;
    default: s = -cos_kernel(r, rl); break;
    }
    return x < 0 ? -s : s;
}

double cos(double x)
{
    double a = fabs(x);
    if (a <= pio4)
        return a < 0x1p-27 ? 1.0 : cos_kernel(a, 0.0);
    if (!(a < from_bits(INFINITY_BITS)))
        return x - x;
    double r, rl;
    int n = reduce(a, &r, &rl);
    switch (n) {
    case 0: return cos_kernel(r, rl);
    case 1: return -sin_kernel(r, rl);
    case 2: return -cos_kernel(r, rl);
    default: return sin_kernel(r, rl);
    }
}
