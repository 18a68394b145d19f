/* Hosted tests of deflate.c, inflate.c and crc32.c.
 *
 * usage: test_deflate OUTDIR REFDIR|- [EXTRA_INPUT...]
 *   Writes every gzip file it makes to OUTDIR with its original (check_gzip.py verify then decompresses them
 *   with Python's gzip module and the gzip program), and inflates the zlib-made streams check_gzip.py
 *   make-ref left in REFDIR. */
#include "inputs.h"
#include "snapfn_deflate.h"

#include <dirent.h>

typedef struct {
    const char *name;
    uint8_t *data;
    size_t len;
} input;

static input inputs[64];
static int ninputs;

static void add_input(const char *name, uint8_t *data, size_t len)
{
    inputs[ninputs].name = name;
    inputs[ninputs].data = data;
    inputs[ninputs].len = len;
    ninputs++;
}

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static void test_crc32(void)
{
    check(snapfn_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32 check value of \"123456789\"");
    check(snapfn_crc32(0, "", 0) == 0, "crc32 of nothing is 0");
    /* Every table entry: a single byte b goes through entry b ^ 0xff. */
    int bad = 0;
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        if (snapfn_crc32(0, &byte, 1) != crc32_bitwise(&byte, 1))
            bad++;
    }
    check(bad == 0, "crc32 of each single byte matches the bitwise definition (%d wrong)", bad);
    uint8_t *r = make_random(100000, 7);
    check(snapfn_crc32(0, r, 100000) == crc32_bitwise(r, 100000), "crc32 of 100 kB random");
    uint32_t c = snapfn_crc32(0, r, 12345);
    c = snapfn_crc32(c, r + 12345, 100000 - 12345);
    check(c == crc32_bitwise(r, 100000), "crc32 continued over two pieces");
    free(r);
}

static const int levels[] = {0, 1, 2, 4, 6, 9};
#define NLEVELS (int)(sizeof levels / sizeof levels[0])

static void round_trip(const input *in, const char *outdir, FILE *manifest)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.raw", outdir, in->name);
    check(write_file(path, in->data, in->len), "write %s", path);
    size_t bound = snapfn_gzip_bound(in->len);
    uint8_t *gz = malloc(bound);
    uint8_t *back = malloc(in->len + 1);
    for (int li = 0; li < NLEVELS; li++) {
        int level = levels[li];
        size_t gz_len = 0;
        const char *err = snapfn_gzip(in->data, in->len, level, gz, bound, &gz_len);
        check(err == NULL, "gzip %s level %d: %s", in->name, level, err ? err : "ok");
        if (err != NULL)
            continue;
        check(gz_len <= bound, "gzip %s level %d: %zu bytes within the bound %zu", in->name, level, gz_len, bound);
        size_t back_len = 0;
        err = snapfn_gunzip(gz, gz_len, back, in->len + 1, &back_len);
        check(err == NULL && back_len == in->len && memcmp(back, in->data, in->len) == 0,
              "gunzip(gzip(%s, level %d)) gives the input back: %s", in->name, level, err ? err : "ok");
        snprintf(path, sizeof path, "%s/%s.%d.gz", outdir, in->name, level);
        check(write_file(path, gz, gz_len), "write %s", path);
        fprintf(manifest, "%s %d %zu %zu\n", in->name, level, in->len, gz_len);

        /* Raw deflate through snapfn_inflate, which also reports how much input the stream took. */
        size_t raw_len = 0, used = 0;
        err = snapfn_deflate(in->data, in->len, level, gz, bound, &raw_len);
        check(err == NULL, "deflate %s level %d", in->name, level);
        err = snapfn_inflate(gz, raw_len, back, in->len + 1, &back_len, &used);
        check(err == NULL && back_len == in->len && used == raw_len && memcmp(back, in->data, in->len) == 0,
              "inflate(deflate(%s, level %d)) round trip, %zu of %zu bytes used: %s", in->name, level, used,
              raw_len, err ? err : "ok");
    }

    /* An output buffer one byte short fails cleanly; an exact one gives the same bytes. */
    size_t full = 0, exact = 0;
    snapfn_gzip(in->data, in->len, 6, gz, bound, &full);
    uint8_t *tight = malloc(full);
    const char *err = snapfn_gzip(in->data, in->len, 6, tight, full - 1, &exact);
    check(starts_with(err, "too large") && exact == 0, "gzip %s into %zu of %zu bytes fails with \"too large\"",
          in->name, full - 1, full);
    err = snapfn_gzip(in->data, in->len, 6, tight, full, &exact);
    check(err == NULL && exact == full && memcmp(tight, gz, full) == 0, "gzip %s into exactly %zu bytes", in->name,
          full);
    if (in->len > 0) {
        size_t short_len = 0;
        err = snapfn_gunzip(tight, full, back, in->len - 1, &short_len);
        check(starts_with(err, "too large"), "gunzip %s into one byte less than its size fails with \"too large\"",
              in->name);
    }
    free(tight);
    free(gz);
    free(back);
}

/* Every stream check_gzip.py made with zlib (levels, strategies, raw and gzip) inflates to its original. */
static void test_reference_streams(const char *refdir)
{
    DIR *dir = opendir(refdir);
    check(dir != NULL, "open reference directory %s", refdir);
    if (dir == NULL)
        return;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        const char *name = e->d_name;
        size_t nl = strlen(name);
        int is_gz = nl > 3 && strcmp(name + nl - 3, ".gz") == 0;
        int is_raw = nl > 8 && strcmp(name + nl - 8, ".deflate") == 0;
        if (!is_gz && !is_raw)
            continue;
        char path[512], orig_path[512];
        snprintf(path, sizeof path, "%s/%s", refdir, name);
        /* name is ORIGINAL.VARIANT.gz / .deflate; the original is ORIGINAL.orig */
        snprintf(orig_path, sizeof orig_path, "%s/%s", refdir, name);
        char *dot = strchr(orig_path + strlen(refdir) + 1, '.');
        if (dot == NULL)
            continue;
        strcpy(dot, ".orig");
        size_t clen = 0, olen = 0;
        uint8_t *comp = read_file(path, &clen), *orig = read_file(orig_path, &olen);
        if (comp == NULL || orig == NULL) {
            check(0, "read %s and %s", path, orig_path);
            free(comp);
            free(orig);
            continue;
        }
        uint8_t *out = malloc(olen + 16);
        size_t out_len = 0, used = 0;
        const char *err = is_gz ? snapfn_gunzip(comp, clen, out, olen + 16, &out_len)
                                : snapfn_inflate(comp, clen, out, olen + 16, &out_len, &used);
        check(err == NULL && out_len == olen && memcmp(out, orig, olen) == 0 && (is_gz || used == clen),
              "inflate zlib-made %s: %s", name, err ? err : "ok");
        count++;
        free(out);
        free(comp);
        free(orig);
    }
    closedir(dir);
    check(count >= 20, "found %d zlib-made reference streams", count);
}

/* Damaged streams fail with a message and never touch memory outside the buffers (ASan watches). */
static void test_corrupt_streams(void)
{
    uint8_t *text = make_text(20000, 11);
    size_t bound = snapfn_gzip_bound(20000);
    uint8_t *gz = malloc(bound), *out = malloc(20000);
    size_t gz_len = 0, out_len = 0;
    snapfn_gzip(text, 20000, 6, gz, bound, &gz_len);

    const char *err = snapfn_gunzip(gz, 5, out, 20000, &out_len);
    check(starts_with(err, "truncated"), "gzip cut inside its header: %s", err);
    int all_fail = 1, all_prefixed = 1;
    for (size_t cut = 0; cut < gz_len; cut++) {
        err = snapfn_gunzip(gz, cut, out, 20000, &out_len);
        if (err == NULL)
            all_fail = 0;
        else if (!starts_with(err, "truncated") && !starts_with(err, "corrupt"))
            all_prefixed = 0;
    }
    check(all_fail, "every proper prefix of a %zu-byte gzip file is refused", gz_len);
    check(all_prefixed, "and each says \"truncated\" or \"corrupt\"");

    uint8_t saved = gz[gz_len - 6];
    gz[gz_len - 6] ^= 1; /* inside the CRC-32 */
    err = snapfn_gunzip(gz, gz_len, out, 20000, &out_len);
    check(starts_with(err, "corrupt: gzip CRC-32"), "a changed CRC-32 is caught: %s", err);
    gz[gz_len - 6] = saved;
    gz[0] = 0x1e;
    err = snapfn_gunzip(gz, gz_len, out, 20000, &out_len);
    check(starts_with(err, "corrupt: not gzip"), "bad magic: %s", err);
    gz[0] = 0x1f;

    /* Bit flips and byte changes anywhere: the CRC catches what inflate does not. */
    rng r = {99};
    int wrong_accepted = 0;
    uint8_t *mut = malloc(gz_len);
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(mut, gz, gz_len);
        int changes = 1 + (int)rng_below(&r, 4);
        for (int k = 0; k < changes; k++) {
            size_t at = 10 + rng_below(&r, (uint32_t)(gz_len - 10));
            if (rng_below(&r, 2))
                mut[at] ^= (uint8_t)(1u << rng_below(&r, 8));
            else
                mut[at] = (uint8_t)rng_next(&r);
        }
        err = snapfn_gunzip(mut, gz_len, out, 20000, &out_len);
        if (err == NULL && (out_len != 20000 || memcmp(out, text, 20000) != 0))
            wrong_accepted++;
    }
    check(wrong_accepted == 0, "3000 damaged gzip files: none accepted with wrong contents (%d)", wrong_accepted);

    /* Raw deflate garbage: must end in an error or some output, never a fault. */
    int errors = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 1 + rng_below(&r, 600);
        for (size_t i = 0; i < n; i++)
            mut[i] = (uint8_t)rng_next(&r);
        size_t used;
        if (snapfn_inflate(mut, n, out, 20000, &out_len, &used) != NULL)
            errors++;
    }
    check(errors > 2500, "random bytes as deflate: %d of 3000 refused, none crashed", errors);

    /* Hand-made streams that break specific rules. */
    static const uint8_t stored_bad_nlen[] = {0x01, 0x05, 0x00, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o'};
    size_t used;
    err = snapfn_inflate(stored_bad_nlen, sizeof stored_bad_nlen, out, 100, &out_len, &used);
    check(starts_with(err, "corrupt: deflate stored block length check"), "stored block with bad NLEN: %s", err);
    static const uint8_t type3[] = {0x07, 0x00};
    err = snapfn_inflate(type3, sizeof type3, out, 100, &out_len, &used);
    check(starts_with(err, "corrupt: deflate block type 3"), "block type 3: %s", err);
    /* Fixed block: literal 'a' then length 3 with distance 2 (before the start). Bits LSB first:
     * BFINAL 1, BTYPE 01, 'a' = 0x91 (8 bits, 00110000+0x61 = 10010001), 257 = 0000001 (7 bits), dist 1 (5 bits). */
    uint8_t far[8] = {0};
    {
        uint64_t acc = 0;
        int nb = 0;
#define PUT(v, n) (acc |= (uint64_t)(v) << nb, nb += (n))
#define PUTREV(code, n)                                                                                          \
    do {                                                                                                         \
        for (int i_ = (n)-1; i_ >= 0; i_--)                                                                      \
            PUT(((code) >> i_) & 1, 1);                                                                          \
    } while (0)
        PUT(1, 1);
        PUT(1, 2);
        PUTREV(0x30 + 'a', 8);
        PUTREV(1, 7); /* symbol 257: length 3 */
        PUTREV(1, 5); /* distance symbol 1: distance 2 */
        PUTREV(0, 7); /* end of block */
        for (int i = 0; i < 8; i++)
            far[i] = (uint8_t)(acc >> (8 * i));
#undef PUT
#undef PUTREV
    }
    err = snapfn_inflate(far, sizeof far, out, 100, &out_len, &used);
    check(starts_with(err, "corrupt: deflate distance"), "distance before the start: %s", err);

    free(mut);
    free(text);
    free(gz);
    free(out);
}

static void test_multi_member(void)
{
    uint8_t *a = make_text(3000, 1), *b = make_json(5000, 2);
    size_t cap = snapfn_gzip_bound(3000) + snapfn_gzip_bound(5000);
    uint8_t *gz = malloc(cap), *out = malloc(8000);
    size_t la = 0, lb = 0, out_len = 0;
    snapfn_gzip(a, 3000, 6, gz, cap, &la);
    snapfn_gzip(b, 5000, 1, gz + la, cap - la, &lb);
    const char *err = snapfn_gunzip(gz, la + lb, out, 8000, &out_len);
    check(err == NULL && out_len == 8000 && memcmp(out, a, 3000) == 0 && memcmp(out + 3000, b, 5000) == 0,
          "two concatenated gzip members decompress to both inputs: %s", err ? err : "ok");
    gz[la + lb] = 0x42;
    err = snapfn_gunzip(gz, la + lb + 1, out, 8000, &out_len);
    check(starts_with(err, "corrupt: trailing data"), "garbage after the last member: %s", err);
    free(a);
    free(b);
    free(gz);
    free(out);
}

static void test_arguments(void)
{
    uint8_t buf[64];
    size_t n = 1;
    check(starts_with(snapfn_gzip((const uint8_t *)"x", 1, 10, buf, sizeof buf, &n), "bad argument") && n == 0,
          "level 10 is refused");
    check(starts_with(snapfn_gzip((const uint8_t *)"x", 1, -1, buf, sizeof buf, &n), "bad argument"),
          "level -1 is refused");
    check(starts_with(snapfn_gzip((const uint8_t *)"x", 1, 6, NULL, 0, &n), "too large"), "no output buffer");
    check(snapfn_deflate(NULL, 0, 6, buf, sizeof buf, &n) == NULL && n == 2 && buf[0] == 0x03 && buf[1] == 0x00,
          "empty input deflates to the 2-byte fixed block 03 00");
    check(snapfn_gzip_bound(0) >= 20 && snapfn_gzip_bound(1000000) >= 1000000 + 18, "bounds cover the wrapper");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUTDIR REFDIR [EXTRA_INPUT...]\n", argv[0]);
        return 2;
    }
    const char *outdir = argv[1], *refdir = argv[2];

    test_crc32();
    test_arguments();

    add_input("empty", malloc(1), 0);
    add_input("one", (uint8_t *)strdup("x"), 1);
    add_input("two", (uint8_t *)strdup("xy"), 2);
    add_input("random", make_random(300000, 3), 300000);
    add_input("text", make_text(200000, 4), 200000);
    add_input("json148k", make_json(148 * 1024, 5), 148 * 1024);
    uint8_t *zeros = calloc(1, 1 << 20);
    add_input("zeros1m", zeros, 1 << 20);
    uint8_t *period = malloc(500000);
    for (size_t i = 0; i < 500000; i++)
        period[i] = (uint8_t)("abcdefg"[i % 7]);
    add_input("period7", period, 500000);
    /* Runs of every length around the 258 limit and 3 minimum, separated by a changing byte. */
    uint8_t *runs = malloc(200000);
    {
        size_t pos = 0;
        for (unsigned len = 1; pos < 200000; len = len % 600 + 1) {
            for (unsigned k = 0; k < len && pos < 200000; k++)
                runs[pos++] = 'r';
            if (pos < 200000)
                runs[pos++] = (uint8_t)len;
        }
    }
    add_input("runs", runs, 200000);
    /* Sizes at stored-block boundaries (random, so blocks go stored). */
    add_input("random65535", make_random(65535, 8), 65535);
    add_input("random65536", make_random(65536, 9), 65536);
    add_input("random131071", make_random(131071, 10), 131071);
    /* Half text, half noise, twice: blocks should switch between coded and stored. */
    uint8_t *mixed = malloc(400000);
    {
        uint8_t *t = make_text(100000, 12), *n = make_random(100000, 13);
        memcpy(mixed, t, 100000);
        memcpy(mixed + 100000, n, 100000);
        memcpy(mixed + 200000, t, 100000);
        memcpy(mixed + 300000, n, 100000);
        free(t);
        free(n);
    }
    add_input("mixed", mixed, 400000);
    /* Little-endian counters: structured binary. */
    uint8_t *ints = malloc(4 * 50000);
    for (uint32_t i = 0; i < 50000; i++) {
        uint32_t v = i * 3 + (i >> 4);
        memcpy(ints + 4 * i, &v, 4);
    }
    add_input("ints", ints, 4 * 50000);
    /* Files of the machine or repository given on the command line (the compression function's inputs, a
     * licence text): real text next to the generated kind. */
    for (int i = 3; i < argc && ninputs < 60; i++) {
        size_t len = 0;
        uint8_t *data = read_file(argv[i], &len);
        if (data == NULL)
            continue;
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        char *name = malloc(strlen(base) + 8);
        sprintf(name, "file%d-%s", i, base);
        add_input(name, data, len);
    }

    char manifest_path[512];
    snprintf(manifest_path, sizeof manifest_path, "%s/manifest.txt", outdir);
    FILE *manifest = fopen(manifest_path, "w");
    check(manifest != NULL, "create %s", manifest_path);
    if (manifest == NULL)
        return finish("test_deflate");
    for (int i = 0; i < ninputs; i++)
        round_trip(&inputs[i], outdir, manifest);
    fclose(manifest);

    /* Random data must hit the bound's worst case: everything stored. */
    for (int i = 0; i < ninputs; i++) {
        if (strncmp(inputs[i].name, "random", 6) != 0)
            continue;
        size_t bound = snapfn_gzip_bound(inputs[i].len), n = 0;
        uint8_t *gz = malloc(bound);
        snapfn_gzip(inputs[i].data, inputs[i].len, 9, gz, bound, &n);
        /* A stored block per 16384-symbol block (and per 65535 bytes), 5 bytes each, and the gzip wrapper. */
        size_t len = inputs[i].len, most = len + 5 * (len / 16384 + len / 65535 + 2) + 18;
        check(n <= most, "%s: incompressible data grows only by stored-block headers (%zu -> %zu, at most %zu)",
              inputs[i].name, len, n, most);
        free(gz);
    }

    if (strcmp(refdir, "-") != 0)
        test_reference_streams(refdir);
    else
        printf("  note: no zlib-made reference streams (no python3): inflate checked on our own streams only\n");
    test_corrupt_streams();
    test_multi_member();

    for (int i = 0; i < ninputs; i++)
        free(inputs[i].data);
    return finish("test_deflate");
}
