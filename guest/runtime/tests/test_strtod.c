/* strtod against glibc's (correctly rounded): same bits, same end pointer. */
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void compare(const char *text)
{
    char *end_ours, *end_glibc;
    double ours = sf_strtod(text, &end_ours);
    double theirs = strtod(text, &end_glibc);
    uint64_t a, b;
    memcpy(&a, &ours, 8);
    memcpy(&b, &theirs, 8);
    bool same = a == b || (isnan(ours) && isnan(theirs) && signbit(ours) == signbit(theirs));
    CHECK(same && end_ours == end_glibc, "strtod(\"%.120s\"): ours %.17g (+%td), glibc %.17g (+%td)", text, ours,
          end_ours - text, theirs, end_glibc - text);
}

/* Decimal strings of exact halfway points between neighbouring doubles, and their near neighbours: the cases
 * where a conversion that is not exact rounds the wrong way. long double holds the midpoint exactly. */
static void halfway_cases(double d)
{
    if (!isfinite(d) || d == 0)
        return;
    double next = nextafter(d, INFINITY);
    /* past DBL_MAX the next step is 2^1024 (which rounds to infinity) */
    long double mid = ((long double)d + (isfinite(next) ? (long double)next : ldexpl(1.0L, 1024))) / 2;
    static char text[1200];
    snprintf(text, sizeof text, "%.780Le", mid);
    compare(text);
    /* Strip the exact representation's trailing zeros, then nudge the last digit each way. */
    char *e = strchr(text, 'e');
    char exponent[16];
    snprintf(exponent, sizeof exponent, "%s", e);
    char *last = e - 1;
    while (*last == '0')
        last--;
    last[1] = 0;
    size_t len = strlen(text);
    snprintf(text + len, sizeof text - len, "%s", exponent);
    compare(text);
    if (*last > '0' && *last <= '9') {
        (*last)--;
        compare(text);
        (*last)++;
    }
    /* one more non-zero digit far out: above the midpoint */
    last[1] = '0';
    last[2] = '0';
    last[3] = '1';
    last[4] = 0;
    len = strlen(text);
    snprintf(text + len, sizeof text - len, "%s", exponent);
    compare(text);
}

void test_strtod(void)
{
    const char *fixed[] = {
        "0", "-0", "+0", "0.0", "1", "-1", "1.5", ".5", "5.", "-.5e1", "1e", "1e+", "1e-", "1e5", "1E5", "1e+5",
        "  \t1.25xyz", "", " ", "-", "+", ".", "-.", "e5", "inf", "INF", "-Infinity", "infinit", "infinityx", "nan",
        "NaN", "-nan", "nan()", "nan(123abc)", "nan(12", "nanx", "0x", "0x.", "0xg", "0x1", "0x1p3", "0X1.8P-3",
        "0x.8p1", "0x1.fffffffffffffp1023", "0x1.fffffffffffff8p1023", "0x1p-1074", "0x1p-1075", "0x1.8p-1075",
        "0x1p-1076", "0x123456789abcdef0123p0", "0x1.0000000000000800000000001p0", "0x1.00000000000008p0",
        "0x1.00000000000018p0", "0x1p", "0x1p+", "1e400", "-1e400", "1e-400", "4.9406564584124654e-324",
        "2.4703282292062327e-324", "2.4703282292062328e-324", "2.47032822920623272e-324", "1.7976931348623157e308",
        "1.7976931348623158e308", "1.7976931348623159e308", "2.2250738585072011e-308", "2.2250738585072012e-308",
        "2.2250738585072014e-308", "0.1", "0.2", "0.3", "3.14159265358979323846264338327950288", "9007199254740993",
        "9007199254740992.5", "123456789012345678901234567890", "1e22", "1e23", "8.98846567431158e307",
        "0.000000000000000000000000000000000000000000001", "1234567890123456789e-30", "7.2057594037927933e16",
        "1e-310", "1e+1000000000000", "1e-99999999999", "000000000000000000000000000123.456000000000000000000e2",
        "100000000000000000000000000000000000000000000000000000000000000000000000000e-75",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        compare(fixed[i]);

    /* A 5000-digit number: only the first 800 digits count, the rest only as sticky. */
    static char longnum[6000];
    for (int variant = 0; variant < 3; variant++) {
        size_t n = 0;
        longnum[n++] = '0';
        longnum[n++] = '.';
        for (int i = 0; i < 5000; i++)
            longnum[n++] = (char)('0' + (variant == 2 ? (i < 17 ? 5 : 0) : (int)(test_random() % 10)));
        if (variant == 1)
            longnum[n - 1] = '1';
        snprintf(longnum + n, sizeof longnum - n, "e-%d", 300);
        compare(longnum);
    }

    char text[64];
    for (int i = 0; i < 30000; i++) {
        double d = test_random_double_bits();
        snprintf(text, sizeof text, "%.17g", d);
        compare(text);
        snprintf(text, sizeof text, "%.16e", d);
        compare(text);
        snprintf(text, sizeof text, "%.25e", d);
        compare(text);
        snprintf(text, sizeof text, "%a", d);
        compare(text);
    }
    for (int i = 0; i < 20000; i++) {
        /* random short decimals with random exponents, the common case */
        int digits = 1 + (int)(test_random() % 22);
        size_t n = 0;
        if (test_random() % 2)
            text[n++] = '-';
        for (int k = 0; k < digits; k++) {
            text[n++] = (char)('0' + test_random() % 10);
            if (k == 0 && test_random() % 2)
                text[n++] = '.';
        }
        snprintf(text + n, sizeof text - n, "e%d", (int)(test_random() % 700) - 350);
        compare(text);
    }
    for (int i = 0; i < 3000; i++)
        halfway_cases(test_random_double_bits());
    for (int i = 0; i < 300; i++) /* subnormals and their neighbourhood */
        halfway_cases((double)(test_random() % 5000) * DBL_TRUE_MIN);
    halfway_cases(DBL_MAX);
    halfway_cases(nextafter(DBL_MAX, 0));
    halfway_cases(DBL_MIN);
    halfway_cases(1.0);
}
