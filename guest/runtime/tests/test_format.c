/* snprintf against glibc's: identical text and return value, for every conversion and flag combination. */
#include "test.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char ours[16384], theirs[16384];

#define COMPARE(fmt, ...)                                                                                             \
    do {                                                                                                              \
        int n_ours = sf_snprintf(ours, sizeof ours, fmt, __VA_ARGS__);                                                \
        int n_theirs = snprintf(theirs, sizeof theirs, fmt, __VA_ARGS__);                                             \
        CHECK(n_ours == n_theirs && strcmp(ours, theirs) == 0, "format \"%s\": ours \"%.200s\" (%d), glibc \"%.200s\" (%d)", \
              fmt, ours, n_ours, theirs, n_theirs);                                                                   \
    } while (0)

static const char *double_formats[] = {
    "%f", "%.0f", "%.1f", "%.2f", "%.3f", "%.10f", "%.17f", "%.30f", "%e", "%.0e", "%.1e", "%.3e", "%.16e", "%.20e",
    "%g", "%.0g", "%.1g", "%.2g", "%.3g", "%.10g", "%.15g", "%.17g", "%.25g", "%#g", "%#.3g", "%#.0f", "%#.0e",
    "%#.0g", "%+f", "% e", "%015.4f", "%-15.4e|", "%+020.10g", "%10.3G", "%E", "%F", "%-+12.5g|", "% 012.3e",
    "%lf", "%5.1f", "%.300f", "%.350e", "%#.10g", "%#20.12G",
};

/* glibc bug: "%#.3g" of 999.5 prints "1.e+03"; with '#' the C standard keeps the trailing zeros, "1.00e+03". True
 * when ours is glibc's text with only zeros added between the point and the exponent. */
static bool glibc_alt_g_bug(const char *fmt, const char *mine, const char *glibc)
{
    if (!strchr(fmt, '#') || (!strchr(fmt, 'g') && !strchr(fmt, 'G')))
        return false;
    const char *point = strchr(glibc, '.');
    if (!point || (point[1] != 'e' && point[1] != 'E'))
        return false;
    size_t head = (size_t)(point - glibc) + 1;
    if (strncmp(mine, glibc, head) != 0)
        return false;
    const char *p = mine + head;
    while (*p == '0')
        p++;
    return p > mine + head && strcmp(p, point + 1) == 0;
}

static void compare_double(double v)
{
    for (size_t i = 0; i < sizeof double_formats / sizeof *double_formats; i++) {
        const char *fmt = double_formats[i];
        int n_ours = sf_snprintf(ours, sizeof ours, fmt, v);
        int n_theirs = snprintf(theirs, sizeof theirs, fmt, v);
        bool same = n_ours == n_theirs && strcmp(ours, theirs) == 0;
        CHECK(same || glibc_alt_g_bug(fmt, ours, theirs), "format \"%s\" of %.17g: ours \"%.200s\" (%d), glibc \"%.200s\" (%d)",
              fmt, v, ours, n_ours, theirs, n_theirs);
    }
}

static void test_doubles(void)
{
    const double special[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, 3.5, -2.5, 0.125, 0.375, 0.1, 0.2, 0.3, 1e-5,
                              9.5, 99.5, 999.5, 0.95, 0.995, 9.9999995, 999.9999, 1e15, 1e16, 1e17, 1e21, 1e22, 1e23,
                              1e300, -1e300, DBL_MAX, -DBL_MAX, DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN, 5e-324,
                              123456789.123, 0.000123456, 0.0001, 0.00001, 1e-4, 9.9999e-5, 123456.5, 1234567.5,
                              M_PI, M_E, 1.0 / 3.0, 2.0 / 3.0, 100.0, 1e6, 999999.5, 0.00009999995, 4.35, 0.045,
                              1.005, 2.675, 1e-300, 2.2250738585072014e-308, 4503599627370496.5, 9007199254740993.0};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        compare_double(special[i]);
    double inf = INFINITY, nan_value = NAN;
    const char *special_formats[] = {"%f", "%e", "%g", "%F", "%E", "%G", "%10f", "%-10e|", "%010g", "%+f", "% f"};
    for (size_t i = 0; i < sizeof special_formats / sizeof *special_formats; i++) {
        COMPARE(special_formats[i], inf);
        COMPARE(special_formats[i], -inf);
        COMPARE(special_formats[i], nan_value);
        COMPARE(special_formats[i], -nan_value);
    }
    /* Precisions past every stored digit: the rest are zeros. */
    COMPARE("%.1100f", DBL_TRUE_MIN);
    COMPARE("%.1100e", DBL_TRUE_MIN);
    COMPARE("%.800e", DBL_MAX);
    COMPARE("%.2000f", 0.1);
    COMPARE("%.2000g", 1e-320);
    COMPARE("%#.2000g", 1e-320);
    COMPARE("%.1500f", 1e300);
    /* '*' width and precision, negative ones included */
    COMPARE("%*.*f|", 12, 3, 3.14159);
    COMPARE("%*.*f|", -12, 3, 3.14159);
    COMPARE("%.*e|", -3, 3.14159);
    COMPARE("%*g|", -9, 0.5);
    COMPARE("%Lf", (long double)1.25);
    for (int i = 0; i < 4000; i++)
        compare_double(test_random_double_bits());
    for (int i = 0; i < 4000; i++) {
        /* ordinary magnitudes, and exact ties at some digit: the cases rounding must get right */
        double v = (double)(int64_t)(test_random() % 2000000 - 1000000) / (double)(1 << (test_random() % 12));
        compare_double(v);
        compare_double(v * pow(10, (double)(test_random() % 40) - 20));
    }
}

static void test_integers(void)
{
    const char *int_formats[] = {"%d", "%5d", "%-5d|", "%05d", "%+d", "% d", "%.3d", "%.0d", "%8.3d", "%-+8.3d|",
                                 "%i", "%+05i", "%x", "%#x", "%X", "%#X", "%08x", "%#010x", "%#.5x", "%o", "%#o",
                                 "%#.0o", "%#5o", "%u", "%.0u", "%08.3u", "%- 6d|", "%hhd", "%hd", "%hhu", "%hx"};
    const int ints[] = {0, 1, -1, 7, 42, -42, 255, 256, 65535, 65536, 123456789, INT_MAX, INT_MIN, 1000, -1000};
    for (size_t f = 0; f < sizeof int_formats / sizeof *int_formats; f++)
        for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
            COMPARE(int_formats[f], ints[i]);
    const char *long_formats[] = {"%ld", "%lu", "%lx", "%lld", "%llu", "%llx", "%#llo", "%+lld", "%20lld|",
                                  "%-20llx|", "%zu", "%zd", "%zx", "%jd", "%td", "%.25lld"};
    const long long longs[] = {0, 1, -1, LLONG_MAX, LLONG_MIN, (long long)0x123456789abcdefLL, -1234567890123LL,
                               4294967296LL};
    for (size_t f = 0; f < sizeof long_formats / sizeof *long_formats; f++)
        for (size_t i = 0; i < sizeof longs / sizeof *longs; i++)
            COMPARE(long_formats[f], longs[i]);
    for (int i = 0; i < 20000; i++) {
        long long v = (long long)test_random() >> (test_random() % 64);
        COMPARE("%lld", v);
        COMPARE("%llx", v);
        COMPARE("%+.12lld", v);
        COMPARE("%d", (int)v);
        COMPARE("%-#15o|", (unsigned)v);
    }
}

static void test_others(void)
{
    const char *strings[] = {"", "a", "hello", "hello, world"};
    const char *string_formats[] = {"%s", "%10s", "%-10s|", "%.3s", "%10.3s", "%-10.0s|", "%.20s", "<%s>"};
    for (size_t f = 0; f < sizeof string_formats / sizeof *string_formats; f++)
        for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
            COMPARE(string_formats[f], strings[i]);
    const char *volatile null_string = NULL;
    COMPARE("%s", null_string);
    COMPARE("%10s|", null_string);
    COMPARE("%c", 'x');
    COMPARE("%5c|", 'x');
    COMPARE("%-5c|", 'x');
    COMPARE("%c%c%c", 'a', 0x100 + 'b', 'c');
    COMPARE("%%%d%%", 5);
    COMPARE("100%% %s", "sure");
    void *volatile null_pointer = NULL;
    COMPARE("%p", null_pointer);
    COMPARE("%p", (void *)ours);
    COMPARE("%20p|", (void *)ours);
    COMPARE("%-20p|", (void *)0x1234);
    COMPARE("%s=%d, %s=%.2f, %c, %x", "a", 1, "b", 2.5, 'z', 255u);
    COMPARE("plain text%s", "");

    /* Truncation: the return value is the full length, the text cut at size-1 and terminated. */
    const char *fmt = "%s|%08.3f|%-6d|%e";
    for (size_t size = 0; size < 48; size++) {
        memset(ours, 'X', sizeof ours);
        memset(theirs, 'X', sizeof theirs);
        int a = sf_snprintf(ours, size, fmt, "truncate me", -3.14159, 42, 6.02e23);
        int b = snprintf(theirs, size, fmt, "truncate me", -3.14159, 42, 6.02e23);
        CHECK(a == b && memcmp(ours, theirs, 64) == 0, "snprintf(buf, %zu, \"%s\"): ours %d \"%.48s\", glibc %d", size,
              fmt, a, ours, b);
    }
    CHECK(sf_snprintf(NULL, 0, "%d%s", 12345, "abc") == 8, "snprintf(NULL, 0, ...) counts");
}

void test_format(void)
{
    test_integers();
    test_others();
    test_doubles();
}
