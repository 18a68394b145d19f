/* The maths against glibc's libm (correctly rounded or within 1 ulp for these): errors measured in ulps over
 * random arguments across the whole range, and the C standard's special cases checked exactly. */
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Distance in representable doubles (0 when equal, NaNs equal to NaNs). */
static double ulp_distance(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : INFINITY;
    if (a == b)
        return signbit(a) == signbit(b) ? 0 : INFINITY; /* a signed zero must be the right one */
    int64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    /* map the sign-magnitude bit patterns onto a monotonic integer line; subtract as integers (exactly) */
    x = x < 0 ? INT64_MIN - x : x;
    y = y < 0 ? INT64_MIN - y : y;
    if ((x < 0) != (y < 0))
        return INFINITY; /* opposite signs: far apart anyway */
    return fabs((double)(x - y));
}

struct unary {
    const char *name;
    double (*ours)(double);
    double (*theirs)(double);
    double max_ulps;
};

static double random_in(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(test_random() >> 11) / 9007199254740992.0);
}

/* Random arguments: uniform in [lo, hi], and (every other one) log-uniform: a random sign, exponent and
 * mantissa inside it, so that every binade of a wide range gets its share. */
static double argument(double lo, double hi, int i)
{
    if (i % 2 == 0) {
        int elo, ehi;
        double m = fmax(fabs(lo), fabs(hi));
        frexp(m, &ehi);
        elo = (lo <= 0 && hi >= 0) ? -1074 : ilogb(fmin(fabs(lo), fabs(hi)));
        for (int tries = 0; tries < 100; tries++) {
            double d = ldexp(random_in(1, 2), elo + (int)(test_random() % (uint64_t)(ehi - elo + 1)));
            if (test_random() % 2)
                d = -d;
            if (d >= lo && d <= hi)
                return d;
        }
    }
    return random_in(lo, hi);
}

static void check_unary(const struct unary *f, double lo, double hi, int count)
{
    double worst = 0, worst_x = 0;
    for (int i = 0; i < count; i++) {
        double x = argument(lo, hi, i);
        double e = ulp_distance(f->ours(x), f->theirs(x));
        if (e > worst) {
            worst = e;
            worst_x = x;
        }
    }
    CHECK(worst <= f->max_ulps, "%s on [%g, %g]: %.0f ulps at x = %.17g (ours %.17g, glibc %.17g)", f->name, lo, hi,
          worst, worst_x, f->ours(worst_x), f->theirs(worst_x));
    printf("  %-5s [%-11g, %-11g] max error %.0f ulp\n", f->name, lo, hi, worst);
}

static void check_specials(const struct unary *f)
{
    const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5,
                               DBL_MIN, -DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN, DBL_MAX, -DBL_MAX, 0x1p52, 0x1p52 + 1,
                               -0x1p52 - 1, 0x1p53, 4503599627370495.5, -4503599627370495.5, 0.49999999999999994,
                               709.782712893384, 709.7827128933841, -745.1332191019411, -745.1332191019412, -746.0,
                               710.0, -708.4, -708.3, M_PI, M_PI_2, M_PI_4, 1e22, 1e300, 0x1p1023, 22.0, 0.55, 0.35};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
        double x = specials[i];
        double e = ulp_distance(f->ours(x), f->theirs(x));
        CHECK(e <= f->max_ulps, "%s(%.17g): ours %.17g, glibc %.17g", f->name, x, f->ours(x), f->theirs(x));
    }
}

static double pow_worst;

static void check_pow(double x, double y)
{
    double a = sf_pow(x, y), b = pow(x, y);
    double e = ulp_distance(a, b);
    if (e > pow_worst)
        pow_worst = e;
    CHECK(e <= 1, "pow(%.17g, %.17g): ours %.17g, glibc %.17g (%.0f ulps)", x, y, a, b, e);
}

static void test_pow(void)
{
    const double specials[] = {0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1.5, -1.5, 10.0, INFINITY,
                               -INFINITY, NAN, DBL_MAX, DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN, 1e308, 0x1p53, -0x1p53,
                               0x1p53 + 2, 1.0000000000000002, 0.9999999999999999, 1e-300, 1023.0, 1024.0, -1074.0,
                               -1075.0, 0.25, 1.0 / 3.0};
    size_t n = sizeof specials / sizeof *specials;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            check_pow(specials[i], specials[j]);
    for (int i = 0; i < 200000; i++) {
        double x, y;
        switch (i % 5) {
        case 0: /* ordinary */
            x = random_in(0, 10);
            y = random_in(-30, 30);
            break;
        case 1: /* results across the whole range, near overflow and into subnormals */
            x = ldexp(random_in(1, 2), (int)(test_random() % 2000) - 1000);
            y = random_in(-1, 1) * 1074.0 / fmax(fabs(log2(x)), 1e-9);
            break;
        case 2: /* x near 1, y huge */
            x = 1.0 + random_in(-1e-6, 1e-6);
            y = random_in(-7e8, 7e8);
            break;
        case 3: /* negative x, integer y */
            x = -random_in(0, 4);
            y = (double)((int)(test_random() % 200) - 100);
            break;
        default: /* exact small powers */
            x = (double)(test_random() % 100);
            y = (double)(test_random() % 10);
            break;
        }
        check_pow(x, y);
    }
    printf("  pow   max error %.0f ulp\n", pow_worst);
}

static void test_exact(void)
{
    /* Functions that must be exact everywhere. */
    for (int i = 0; i < 200000; i++) {
        double x = i % 2 ? test_random_double_bits() : random_in(-1e6, 1e6);
        if (i % 7 == 0)
            x = (double)(int64_t)(test_random() % 2000) / 4.0 - 250.0; /* halves and quarters */
        CHECK(ulp_distance(sf_fabs(x), fabs(x)) == 0, "fabs(%.17g)", x);
        CHECK(ulp_distance(sf_floor(x), floor(x)) == 0, "floor(%.17g): ours %.17g", x, sf_floor(x));
        CHECK(ulp_distance(sf_ceil(x), ceil(x)) == 0, "ceil(%.17g): ours %.17g", x, sf_ceil(x));
        CHECK(ulp_distance(sf_round(x), round(x)) == 0, "round(%.17g): ours %.17g", x, sf_round(x));
        double ax = fabs(x);
        CHECK(ulp_distance(sf_sqrt(ax), sqrt(ax)) == 0, "sqrt(%.17g)", ax);
        float f = (float)x;
        float sf = sf_sqrtf(fabsf(f)), gf = sqrtf(fabsf(f));
        CHECK(memcmp(&sf, &gf, sizeof sf) == 0, "sqrtf(%.9g)", (double)fabsf(f));
        double y = i % 3 ? test_random_double_bits() : x;
        CHECK(ulp_distance(sf_fmin(x, y), fmin(x, y)) == 0, "fmin(%g, %g)", x, y);
        CHECK(ulp_distance(sf_fmax(x, y), fmax(x, y)) == 0, "fmax(%g, %g)", x, y);
    }
    const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 0.5, -0.5, 0.49999999999999994, 1.5, -2.5,
                               0x1p52, 0x1p52 + 1, 4503599627370495.5, DBL_TRUE_MIN, -DBL_TRUE_MIN, -1.0};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
        double x = specials[i];
        CHECK(ulp_distance(sf_floor(x), floor(x)) == 0, "floor(%.17g)", x);
        CHECK(ulp_distance(sf_ceil(x), ceil(x)) == 0, "ceil(%.17g)", x);
        CHECK(ulp_distance(sf_round(x), round(x)) == 0, "round(%.17g)", x);
        CHECK(ulp_distance(sf_sqrt(x), sqrt(x)) == 0, "sqrt(%.17g)", x);
        CHECK(ulp_distance(sf_fmin(x, NAN), x) == 0 && ulp_distance(sf_fmax(NAN, x), x) == 0, "fmin/fmax NaN");
    }
    CHECK(signbit(sf_fmin(0.0, -0.0)) && !signbit(sf_fmax(-0.0, 0.0)), "fmin/fmax of signed zeros");
}

static void test_expf(void)
{
    float worst = 0;
    for (int i = 0; i < 200000; i++) {
        float x = (float)random_in(-104, 89);
        float a = sf_expf(x), b = expf(x);
        int32_t ia, ib;
        memcpy(&ia, &a, 4);
        memcpy(&ib, &b, 4);
        float e = (float)abs(ia - ib);
        if (e > worst)
            worst = e;
        CHECK(e <= 1, "expf(%.9g): ours %.9g, glibc %.9g", (double)x, (double)a, (double)b);
    }
    const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, 89.0f, 88.72283f, 88.7229f, -103.97f, -104.0f, -200.0f};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
        float a = sf_expf(specials[i]), b = expf(specials[i]);
        CHECK(memcmp(&a, &b, 4) == 0, "expf(%g): ours %g, glibc %g", (double)specials[i], (double)a, (double)b);
    }
    CHECK(isnan(sf_expf(NAN)), "expf(nan)");
    printf("  expf  max error %.0f ulp\n", (double)worst);
}

void test_math(void)
{
    const struct unary functions[] = {
        {"exp", sf_exp, exp, 1},
        {"log", sf_log, log, 1},
        {"sin", sf_sin, sin, 1},
        {"cos", sf_cos, cos, 1},
        {"tanh", sf_tanh, tanh, 2},
    };
    const struct unary *exp_f = &functions[0], *log_f = &functions[1], *sin_f = &functions[2], *cos_f = &functions[3],
                       *tanh_f = &functions[4];
    for (size_t i = 0; i < sizeof functions / sizeof *functions; i++)
        check_specials(&functions[i]);
    check_unary(exp_f, -1, 1, 200000);
    check_unary(exp_f, -746, 710, 200000);
    check_unary(exp_f, -1e-10, 1e-10, 20000);
    check_unary(log_f, 0.5, 2, 200000);
    check_unary(log_f, 0.999, 1.001, 100000);
    check_unary(log_f, 0, DBL_MAX, 200000);
    check_unary(sin_f, -M_PI, M_PI, 200000);
    check_unary(cos_f, -M_PI, M_PI, 200000);
    check_unary(sin_f, -1e6, 1e6, 200000);
    check_unary(cos_f, -1e6, 1e6, 200000);
    check_unary(sin_f, -DBL_MAX, DBL_MAX, 200000);
    check_unary(cos_f, -DBL_MAX, DBL_MAX, 200000);
    check_unary(tanh_f, -1, 1, 200000);
    check_unary(tanh_f, -30, 30, 200000);
    check_unary(tanh_f, -1e-5, 1e-5, 20000);
    /* Arguments near multiples of pi/2, where the reduction cancels most bits. */
    double worst_near = 0;
    for (int k = 1; k < 200000; k++) {
        double x = k * M_PI_2;
        for (int d = -2; d <= 2; d++) {
            double y = x;
            for (int s = 0; s < abs(d); s++)
                y = nextafter(y, d < 0 ? -INFINITY : INFINITY);
            worst_near = fmax(worst_near, ulp_distance(sf_sin(y), sin(y)));
            worst_near = fmax(worst_near, ulp_distance(sf_cos(y), cos(y)));
        }
    }
    CHECK(worst_near <= 1, "sin/cos near multiples of pi/2: %.0f ulps", worst_near);
    printf("  sin/cos near k*pi/2: max error %.0f ulp\n", worst_near);
    /* The hardest case known for double reduction: 6381956970095103 * 2^797 lies within 2^-61 of a multiple of pi/2. */
    double hard = ldexp(6381956970095103.0, 797);
    CHECK(ulp_distance(sf_sin(hard), sin(hard)) <= 1 && ulp_distance(sf_cos(hard), cos(hard)) <= 1,
          "sin/cos(6381956970095103 * 2^797): ours %.17g %.17g, glibc %.17g %.17g", sf_sin(hard), sf_cos(hard),
          sin(hard), cos(hard));
    test_pow();
    test_expf();
    test_exact();
}
