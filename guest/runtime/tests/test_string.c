/* memcpy and friends, strtol: against glibc. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static void test_copies(void)
{
    static unsigned char a[1 << 16], b[1 << 16], expect[1 << 16];
    for (int round = 0; round < 4000; round++) {
        for (size_t i = 0; i < sizeof a; i++)
            a[i] = (unsigned char)test_random();
        memcpy(b, a, sizeof a);
        size_t n = round < 2000 ? test_random() % 80 : test_random() % 20000;
        size_t src = test_random() % (sizeof a - n), dst = test_random() % (sizeof a - n);
        /* memmove within one buffer, overlapping in either direction */
        memcpy(expect, a, sizeof a);
        memmove(expect + dst, expect + src, n);
        void *r = sf_memmove(a + dst, a + src, n);
        CHECK(r == a + dst && memcmp(a, expect, sizeof a) == 0, "memmove(dst+%zu, src+%zu, %zu)", dst, src, n);
        /* memcpy between buffers */
        size_t off = test_random() % 64;
        r = sf_memcpy(b + off, a + src, n);
        CHECK(r == b + off && memcmp(b + off, a + src, n) == 0, "memcpy(%zu bytes)", n);
        /* memset, with c outside a byte's range too */
        int c = (int)(test_random() % 600) - 300;
        memcpy(expect, b, sizeof b);
        memset(expect + dst, c, n);
        r = sf_memset(b + dst, c, n);
        CHECK(r == b + dst && memcmp(b, expect, sizeof b) == 0, "memset(%d, %zu)", c, n);
        /* memcmp's sign, with the difference anywhere */
        memcpy(expect, a + src, n);
        if (n > 0 && round % 3)
            expect[test_random() % n] ^= (unsigned char)(1 + test_random() % 255);
        CHECK(sign(sf_memcmp(a + src, expect, n)) == sign(memcmp(a + src, expect, n)), "memcmp(%zu)", n);
    }
    /* A large copy and fill (the rep movsb/stosb paths). */
    size_t big = 64 << 20;
    unsigned char *x = malloc(big), *y = malloc(big);
    for (size_t i = 0; i < big; i += 4096)
        x[i] = (unsigned char)(i >> 12);
    sf_memcpy(y, x, big);
    CHECK(memcmp(x, y, big) == 0, "64 MiB memcpy");
    sf_memset(y, 0xab, big);
    CHECK(y[0] == 0xab && y[big - 1] == 0xab && y[big / 2] == 0xab, "64 MiB memset");
    free(x);
    free(y);
}

static void test_strings(void)
{
    const char *words[] = {"", "a", "ab", "abc", "abd", "abcd", "b", "\xff", "\x01", "hello world", "hello", "hellp"};
    size_t nw = sizeof words / sizeof *words;
    for (size_t i = 0; i < nw; i++) {
        CHECK(sf_strlen(words[i]) == strlen(words[i]), "strlen(\"%s\")", words[i]);
        for (size_t j = 0; j < nw; j++) {
            CHECK(sign(sf_strcmp(words[i], words[j])) == sign(strcmp(words[i], words[j])), "strcmp(\"%s\", \"%s\")",
                  words[i], words[j]);
            for (size_t n = 0; n < 6; n++)
                CHECK(sign(sf_strncmp(words[i], words[j], n)) == sign(strncmp(words[i], words[j], n)),
                      "strncmp(\"%s\", \"%s\", %zu)", words[i], words[j], n);
            CHECK(sf_strstr(words[i], words[j]) == strstr(words[i], words[j]), "strstr(\"%s\", \"%s\")", words[i],
                  words[j]);
        }
        for (int c = -1; c < 256; c += 1)
            CHECK(sf_strchr(words[i], c) == strchr(words[i], c), "strchr(\"%s\", %d)", words[i], c);
    }
    const char *hay = "aaabaaabaaaab needle in a haystack, needles";
    const char *needles[] = {"aaaab", "needle", "needles", "stack,", "x", "aab ", "s"};
    for (size_t i = 0; i < sizeof needles / sizeof *needles; i++)
        CHECK(sf_strstr(hay, needles[i]) == strstr(hay, needles[i]), "strstr(hay, \"%s\")", needles[i]);
}

static void test_strtol(void)
{
    const char *inputs[] = {"0", "1", "-1", "+42", "  \t\n-17xyz", "2147483647", "-2147483648",
                            "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                            "-9223372036854775809", "99999999999999999999999", "0x1f", "0X1F", "0x", "0xg", "-0x10",
                            "017", "08", "0", "z", "Zz", "  ", "", "+", "-", "1e5", "123abc", "0b101", "777777",
                            "0x7fffffffffffffff", "0x8000000000000000", "-0x8000000000000000", "ffff", "-", "00012"};
    int bases[] = {0, 2, 8, 10, 16, 36, 7};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        for (size_t b = 0; b < sizeof bases / sizeof *bases; b++) {
            char *end_ours, *end_glibc;
            long ours = sf_strtol(inputs[i], &end_ours, bases[b]);
            long theirs = strtol(inputs[i], &end_glibc, bases[b]);
            CHECK(ours == theirs && end_ours == end_glibc, "strtol(\"%s\", %d): ours %ld (+%td), glibc %ld (+%td)",
                  inputs[i], bases[b], ours, end_ours - inputs[i], theirs, end_glibc - inputs[i]);
        }
    }
    for (int i = 0; i < 20000; i++) {
        char text[40];
        long v = (long)test_random() >> (test_random() % 64);
        int base = (int)(test_random() % 3);
        snprintf(text, sizeof text, base == 0 ? "%ld" : base == 1 ? "%#lx" : "%lo", v);
        CHECK(sf_strtol(text, NULL, 0) == strtol(text, NULL, 0), "strtol(\"%s\", 0)", text);
    }
}

void test_string(void)
{
    test_copies();
    test_strings();
    test_strtol();
}
