/* Hosted tests of the JPEG codec (jpeg_*.c) and the image helpers (image_ops.c).
 *
 * usage: test_jpeg [JPEG_FILE...]
 *   The files named (photos from other encoders) are decoded too and compared with libjpeg's decoding.
 * Built with -DHAVE_LIBJPEG (the Makefile does when jpeglib.h is there), libjpeg is the independent reference
 * both ways: it decodes what we encode, and encodes what we decode. Without it only our own round trips
 * are checked. */
#include "test_util.h"
#include "snapfn_jpeg.h"
#include "jpeg_internal.h"

#ifdef HAVE_LIBJPEG
#include "ref_libjpeg.h"
#endif

/* ---- Test pictures. ---- */

/* Photo-like RGB: smooth colour fields, a few hard-edged discs, fine texture and a little noise. */
static uint8_t *make_image(int w, int h, uint64_t seed)
{
    rng r = {seed};
    uint8_t *p = malloc((size_t)w * h * 3);
    struct {
        double cx, cy, rad;
        uint8_t c[3];
    } discs[5];
    for (int i = 0; i < 5; i++) {
        discs[i].cx = rng_below(&r, (uint32_t)w);
        discs[i].cy = rng_below(&r, (uint32_t)h);
        discs[i].rad = 3 + rng_below(&r, (uint32_t)(w < h ? w : h) / 4 + 1);
        for (int k = 0; k < 3; k++)
            discs[i].c[k] = (uint8_t)rng_next(&r);
    }
    double phase = (double)(seed % 100) * 0.1;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double fx = x / 640.0, fy = y / 480.0; /* fixed scale: small images are smooth crops */
            double v[3] = {128 + 90 * sin(6.0 * fx + 2.0 * fy + phase), 128 + 80 * cos(4.0 * fy - 3.0 * fx),
                           110 + 70 * sin(9.0 * fx * fy + phase)};
            double tex = 8 * sin(x * 0.7) * sin(y * 0.9);
            for (int i = 0; i < 5; i++) {
                double dx = x - discs[i].cx, dy = y - discs[i].cy;
                if (dx * dx + dy * dy < discs[i].rad * discs[i].rad)
                    for (int k = 0; k < 3; k++)
                        v[k] = discs[i].c[k];
            }
            for (int k = 0; k < 3; k++) {
                double s = v[k] + tex + (double)((int)rng_below(&r, 5) - 2);
                p[((size_t)y * w + x) * 3 + k] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
            }
        }
    }
    return p;
}

static uint8_t *to_gray(const uint8_t *rgb, int w, int h)
{
    uint8_t *g = malloc((size_t)w * h);
    snapfn_image_rgb_to_gray(rgb, (size_t)w * h, g);
    return g;
}

static uint8_t *own_encode(const uint8_t *px, int w, int h, int ch, int quality, snapfn_jpeg_subsampling sub,
                           int restart, size_t *len)
{
    snapfn_jpeg_encode_options o = {.quality = quality, .subsampling = sub, .restart_interval = (uint16_t)restart};
    size_t cap = snapfn_jpeg_encode_bound((uint32_t)w, (uint32_t)h, (uint32_t)ch);
    uint8_t *out = malloc(cap);
    const char *err = snapfn_jpeg_encode(px, (uint32_t)w, (uint32_t)h, (uint32_t)ch, &o, out, cap, len);
    if (err != NULL) {
        check(0, "encode %dx%d ch%d q%d: %s", w, h, ch, quality, err);
        free(out);
        return NULL;
    }
    return out;
}

static const char *sub_name(snapfn_jpeg_subsampling s)
{
    return s == SNAPFN_JPEG_420 ? "4:2:0" : s == SNAPFN_JPEG_422 ? "4:2:2" : "4:4:4";
}

/* ---- Tables and transforms. ---- */

static void test_tables(void)
{
    /* Zig-zag: diagonals of constant row+column, odd ones walked down-left, even ones up-right. */
    uint8_t zz[64];
    int k = 0;
    for (int s = 0; s < 15; s++) {
        for (int i = 0; i < 8; i++) {
            int row = (s % 2) ? i : s - i, col = s - row;
            if (row >= 0 && row < 8 && col >= 0 && col < 8)
                zz[k++] = (uint8_t)(row * 8 + col);
        }
    }
    check(k == 64 && memcmp(zz, snapfn_jpeg_zigzag, 64) == 0, "zig-zag table matches T.81 figure A.6's walk");

    const snapfn_jpeg_huffman_spec *specs[4] = {&snapfn_jpeg_std_dc_luma, &snapfn_jpeg_std_dc_chroma,
                                                &snapfn_jpeg_std_ac_luma, &snapfn_jpeg_std_ac_chroma};
    for (int t = 0; t < 4; t++) {
        const snapfn_jpeg_huffman_spec *s = specs[t];
        unsigned sum = 0, kraft_ok = 1, code = 0;
        for (int len = 1; len <= 16; len++) {
            sum += s->bits[len - 1];
            code = (code + s->bits[len - 1]);
            if (code > (1u << len))
                kraft_ok = 0;
            code <<= 1;
        }
        int seen[256] = {0}, dup = 0, bad = 0;
        for (unsigned i = 0; i < s->count; i++) {
            int v = s->values[i];
            dup |= seen[v]++;
            if (t < 2 ? v > 11 : !(v == 0x00 || v == 0xF0 || ((v & 15) >= 1 && (v & 15) <= 10)))
                bad = 1;
        }
        check(sum == s->count && kraft_ok && !dup && !bad && s->count == (t < 2 ? 12u : 162u),
              "Annex K Huffman table %d: %u codes that fit, every symbol once", t, s->count);
    }
}

static void naive_fdct(const double in[64], double out[64])
{
    for (int v = 0; v < 8; v++)
        for (int u = 0; u < 8; u++) {
            double s = 0;
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                    s += in[y * 8 + x] * cos((2 * x + 1) * u * M_PI / 16) * cos((2 * y + 1) * v * M_PI / 16);
            double cu = u ? 1 : 1 / sqrt(2), cv = v ? 1 : 1 / sqrt(2);
            out[v * 8 + u] = 0.25 * cu * cv * s;
        }
}

static void test_dct(void)
{
    rng r = {5};
    double worst_f = 0;
    int worst_i = 0;
    for (int iter = 0; iter < 200; iter++) {
        double in[64], ref[64];
        float blk[64];
        for (int i = 0; i < 64; i++) {
            in[i] = (double)((int)rng_below(&r, 256) - 128);
            blk[i] = (float)in[i];
        }
        naive_fdct(in, ref);
        snapfn_jpeg_fdct(blk);
        for (int i = 0; i < 64; i++)
            worst_f = fmax(worst_f, fabs(ref[i] - blk[i]));
        /* The inverse of the exact transform must give the integer samples back exactly. */
        float coef[64];
        for (int i = 0; i < 64; i++)
            coef[i] = (float)ref[i];
        uint8_t px[64];
        snapfn_jpeg_idct(coef, px, 8);
        for (int i = 0; i < 64; i++)
            worst_i = fmax(worst_i, abs((int)px[i] - (int)(in[i] + 128)));
    }
    check(worst_f < 1e-3, "forward DCT within %.2g of the T.81 A.3.3 formula", worst_f);
    check(worst_i == 0, "inverse DCT returns the samples exactly (worst %d)", worst_i);
}

/* ---- Segments of a JPEG file, to compare tables with libjpeg's. ---- */

typedef struct {
    uint8_t dqt[4][64];
    int have_dqt[4];
    uint8_t dht[8][17 + 256];
    size_t dht_len[8];
} tables;

static void read_tables(const uint8_t *p, size_t n, tables *t)
{
    memset(t, 0, sizeof *t);
    size_t i = 2;
    while (i + 4 <= n && p[i] == 0xFF) {
        int m = p[i + 1];
        size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
        const uint8_t *b = p + i + 4;
        size_t bl = len - 2;
        if (m == 0xDA)
            break;
        if (m == 0xDB) {
            for (size_t j = 0; j + 65 <= bl; j += 65) {
                t->dqt[b[j] & 3][0] = 0;
                memcpy(t->dqt[b[j] & 3], b + j + 1, 64);
                t->have_dqt[b[j] & 3] = 1;
            }
        }
        if (m == 0xC4) {
            for (size_t j = 0; j + 17 <= bl;) {
                size_t cnt = 0;
                for (int q = 1; q <= 16; q++)
                    cnt += b[j + q];
                int slot = (b[j] >> 4) * 4 + (b[j] & 3);
                memcpy(t->dht[slot], b + j + 1, 16 + cnt);
                t->dht_len[slot] = 16 + cnt;
                j += 17 + cnt;
            }
        }
        i += 2 + len;
    }
}

/* ---- Our encoder, checked by libjpeg's decoder (and ours). ---- */

static void test_encoder_roundtrip(void)
{
    static const int sizes[][2] = {{640, 480}, {1, 1}, {7, 5}, {17, 33}, {641, 479}, {1000, 3}, {3, 1000}, {16, 16}};
    static const int qualities[] = {50, 75, 90, 100};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int w = sizes[si][0], h = sizes[si][1];
        uint8_t *rgb = make_image(w, h, 100 + si);
        uint8_t *gray = to_gray(rgb, w, h);
        for (int mode = 0; mode < 4; mode++) { /* 4:2:0, 4:2:2, 4:4:4, gray */
            int ch = mode == 3 ? 1 : 3;
            snapfn_jpeg_subsampling sub = mode == 3 ? SNAPFN_JPEG_420 : (snapfn_jpeg_subsampling)mode;
            const uint8_t *src = ch == 1 ? gray : rgb;
            for (size_t qi = 0; qi < 4; qi++) {
                int q = qualities[qi];
                int restart = (qi == 1) ? 1 : (qi == 2) ? 7 : 0;
                if (w * h > 100000 && qi != 1 && qi != 2)
                    continue; /* the big frames at two qualities are enough */
                size_t len = 0;
                uint8_t *jpg = own_encode(src, w, h, ch, q, sub, restart, &len);
                if (jpg == NULL)
                    continue;
                char what[128];
                snprintf(what, sizeof what, "%dx%d %s q%d restart %d", w, h, ch == 1 ? "gray" : sub_name(sub), q,
                         restart);
                snapfn_image img;
                size_t used = 0;
                snapfn_jpeg_decode_options opt = {.channels = 0};
                const char *err = snapfn_jpeg_decode(jpg, len, &opt, &img, &used);
                check(err == NULL && img.width == (uint32_t)w && img.height == (uint32_t)h &&
                          img.channels == (uint32_t)ch && used == len,
                      "%s: our decoder reads our file (%s)", what, err ? err : "ok");
                size_t n = (size_t)w * h * ch;
                if (err == NULL) {
                    double p = psnr(img.pixels, src, n);
                    double need = q >= 90 ? 30 : q >= 75 ? 27 : 24;
                    /* Against the source only where the picture is big enough to be smooth at 8x8 scale; small
                     * ones are checked against libjpeg's decoding below. */
                    if (w * h >= 4096)
                        check(p > need, "%s: ours->ours PSNR %.2f dB > %.0f", what, p, need);
                    if (w == 640 && h == 480)
                        printf("  %s: %zu bytes, PSNR %.2f dB (our decoder)\n", what, len, p);
                }
#ifdef HAVE_LIBJPEG
                int lw = 0, lh = 0;
                uint8_t *ref = lj_decode(jpg, len, ch, &lw, &lh);
                check(ref != NULL && lw == w && lh == h, "%s: libjpeg decodes our file", what);
                if (ref != NULL && err == NULL) {
                    double p = psnr(ref, src, n);
                    double need = q >= 90 ? 30 : q >= 75 ? 27 : 24;
                    if (w * h >= 4096)
                        check(p > need, "%s: ours->libjpeg PSNR %.2f dB > %.0f", what, p, need);
                    double agree = psnr(ref, img.pixels, n);
                    int md = max_abs_diff(ref, img.pixels, n);
                    /* libjpeg replicates instead of filtering chroma 2 samples wide or less (w <= 4). */
                    if (w > 4 || ch == 1 || sub == SNAPFN_JPEG_444)
                        check(agree > 50 && md <= 6,
                              "%s: our and libjpeg's decodings agree (PSNR %.2f dB, max diff %d)", what, agree, md);
                    if (w == 640 && h == 480)
                        printf("  %s: libjpeg decodes it at PSNR %.2f dB; the two decoders differ by %.2f dB PSNR, "
                               "max %d\n",
                               what, p, agree, md);
                }
                free(ref);
#endif
                snapfn_image_free(&img);
                free(jpg);
            }
        }
        free(rgb);
        free(gray);
    }
}

#ifdef HAVE_LIBJPEG
static void test_tables_match_libjpeg(void)
{
    uint8_t *rgb = make_image(16, 16, 1);
    for (int q = 10; q <= 100; q += 15) {
        lj_options o = {.quality = q, .h0 = 2, .v0 = 2};
        size_t llen = 0, olen = 0;
        uint8_t *lj = lj_encode(rgb, 16, 16, 3, &o, &llen);
        uint8_t *own = own_encode(rgb, 16, 16, 3, q, SNAPFN_JPEG_420, 0, &olen);
        tables a, b;
        read_tables(lj, llen, &a);
        read_tables(own, olen, &b);
        check(a.have_dqt[0] && a.have_dqt[1] && b.have_dqt[0] && b.have_dqt[1] && memcmp(a.dqt, b.dqt, sizeof a.dqt) == 0,
              "quality %d: our quantization tables are byte-identical to libjpeg's", q);
        if (q == 10) {
            int same = 1;
            for (int s = 0; s < 8; s++)
                same &= a.dht_len[s] == b.dht_len[s] && memcmp(a.dht[s], b.dht[s], a.dht_len[s]) == 0;
            check(same, "our four Annex K Huffman tables are byte-identical to libjpeg's standard ones");
        }
        free(lj);
        free(own);
    }
    free(rgb);
}

/* ---- libjpeg's encoder, checked by our decoder. ---- */

static void decode_compare(const uint8_t *jpg, size_t len, const uint8_t *src, int w, int h, int ch,
                           const char *what, double need_agree, int need_maxdiff)
{
    int lw, lh;
    uint8_t *ref = lj_decode(jpg, len, ch == 1 ? 1 : 3, &lw, &lh);
    snapfn_image img;
    size_t used;
    const char *err = snapfn_jpeg_decode(jpg, len, NULL, &img, &used);
    check(err == NULL && ref != NULL && img.width == (uint32_t)w && img.height == (uint32_t)h &&
              img.channels == (uint32_t)ch && used == len,
          "%s: decoded (%s)", what, err ? err : "ok");
    if (err == NULL && ref != NULL) {
        size_t n = (size_t)w * h * ch;
        double agree = psnr(ref, img.pixels, n);
        int md = max_abs_diff(ref, img.pixels, n);
        check(agree > need_agree && md <= need_maxdiff,
              "%s: ours vs libjpeg's decoding PSNR %.2f dB (> %.0f), max diff %d (<= %d)", what, agree, need_agree,
              md, need_maxdiff);
        if (src != NULL) {
            double p = psnr(src, img.pixels, n);
            check(p > 27, "%s: ours vs the source PSNR %.2f dB", what, p);
        }
    }
    if (err == NULL && ch == 3) {
        /* Gray output straight from Y equals libjpeg's own YCbCr -> gray (also Y) up to IDCT rounding. */
        snapfn_jpeg_decode_options opt = {.channels = 1};
        snapfn_image g;
        const char *gerr = snapfn_jpeg_decode(jpg, len, &opt, &g, NULL);
        int gw, gh;
        uint8_t *lg = lj_decode(jpg, len, 1, &gw, &gh);
        check(gerr == NULL && lg != NULL && g.channels == 1, "%s: gray output (%s)", what, gerr ? gerr : "ok");
        if (gerr == NULL && lg != NULL) {
            int md = max_abs_diff(lg, g.pixels, (size_t)w * h);
            check(md <= 3, "%s: gray output vs libjpeg's gray max diff %d", what, md);
        }
        free(lg);
        snapfn_image_free(&g);
    }
    free(ref);
    snapfn_image_free(&img);
}

static void test_libjpeg_files(void)
{
    static const int sizes[][2] = {{640, 480}, {1, 1}, {17, 33}, {641, 479}, {33, 17}, {250, 2}};
    static const struct {
        const char *name;
        int h0, v0;
        double agree;
        int maxdiff;
    } samplings[] = {
        /* The decoders differ only in IDCT rounding and upsampling details: seen at 53 dB and more, max 3. */
        {"4:4:4", 1, 1, 50, 6}, {"4:2:2", 2, 1, 50, 6}, {"4:2:0", 2, 2, 50, 6},
        {"4:1:1", 4, 1, 45, 8}, {"4:4:0", 1, 2, 45, 8},
    };
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int w = sizes[si][0], h = sizes[si][1];
        uint8_t *rgb = make_image(w, h, 200 + si);
        uint8_t *gray = to_gray(rgb, w, h);
        for (size_t k = 0; k < sizeof samplings / sizeof samplings[0]; k++) {
            for (int variant = 0; variant < 4; variant++) {
                if (w * h > 100000 && variant > 1)
                    continue;
                lj_options o = {.quality = variant == 2 ? 30 : 85,
                                .h0 = samplings[k].h0,
                                .v0 = samplings[k].v0,
                                .restart_interval = variant == 1 ? 3 : 0,
                                .optimize = variant >= 1,
                                .separate_scans = variant == 3};
                size_t len = 0;
                uint8_t *jpg = lj_encode(rgb, w, h, 3, &o, &len);
                char what[160];
                snprintf(what, sizeof what, "libjpeg %dx%d %s q%d%s%s%s", w, h, samplings[k].name, o.quality,
                         o.restart_interval ? " restart 3" : "", o.optimize ? " optimized-huffman" : "",
                         o.separate_scans ? " one-scan-per-component" : "");
                if (jpg == NULL) {
                    check(0, "%s: libjpeg encodes", what);
                    continue;
                }
                decode_compare(jpg, len, (w * h >= 4096 && o.quality > 50) ? rgb : NULL, w, h, 3, what,
                               samplings[k].agree, samplings[k].maxdiff);
                free(jpg);
            }
        }
        for (int variant = 0; variant < 3; variant++) {
            lj_options o = {.quality = 80, .restart_interval = variant == 1 ? 2 : 0, .optimize = variant == 1,
                            .gray_sampling = variant == 2 ? 2 : 0};
            size_t len = 0;
            uint8_t *jpg = lj_encode(gray, w, h, 1, &o, &len);
            char what[128];
            snprintf(what, sizeof what, "libjpeg %dx%d gray%s", w, h,
                     variant == 1 ? " restart 2 optimized" : variant == 2 ? " with 2x2 sampling in SOF" : "");
            decode_compare(jpg, len, w * h >= 4096 ? gray : NULL, w, h, 1, what, 50, 6);
            free(jpg);
        }
        free(rgb);
        free(gray);
    }

    /* RGB planes (Adobe transform 0): decoded without colour conversion, and to gray via computed luma. */
    {
        uint8_t *src = make_image(80, 56, 8);
        lj_options ro = {.quality = 90, .h0 = 1, .v0 = 1, .rgb_planes = 1};
        size_t rlen = 0;
        uint8_t *rj = lj_encode(src, 80, 56, 3, &ro, &rlen);
        decode_compare(rj, rlen, src, 80, 56, 3, "libjpeg RGB-plane (Adobe transform 0) 80x56", 50, 6);
        /* An Adobe marker that shows up only after the first scan must not flip the decision made there. */
        ro.separate_scans = 1;
        ro.rgb_planes = 0;
        free(rj);
        rj = lj_encode(src, 80, 56, 3, &ro, &rlen);
        size_t second = 0;
        int sos_seen = 0;
        for (size_t i = 2; i + 1 < rlen; i++)
            if (rj[i] == 0xFF && rj[i + 1] == 0xDA && ++sos_seen == 2) {
                second = i;
                break;
            }
        static const uint8_t adobe[] = {0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0};
        uint8_t *late = malloc(rlen + sizeof adobe);
        memcpy(late, rj, second);
        memcpy(late + second, adobe, sizeof adobe);
        memcpy(late + second + sizeof adobe, rj + second, rlen - second);
        snapfn_jpeg_decode_options go = {.channels = 1};
        snapfn_image gi;
        const char *gerr = snapfn_jpeg_decode(late, rlen + sizeof adobe, &go, &gi, NULL);
        check(second != 0 && gerr == NULL && gi.channels == 1, "Adobe marker after the first scan, gray output: %s",
              gerr ? gerr : "ok");
        snapfn_image_free(&gi);
        free(late);
        free(rj);
        free(src);
    }

    /* SOF1 (extended sequential) with 8-bit samples is the same coding: patch the marker. */
    uint8_t *rgb = make_image(64, 48, 7);
    lj_options o = {.quality = 80, .h0 = 2, .v0 = 2};
    size_t len = 0;
    uint8_t *jpg = lj_encode(rgb, 64, 48, 3, &o, &len);
    for (size_t i = 2; i + 1 < len; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            jpg[i + 1] = 0xC1;
            break;
        }
    snapfn_image img;
    const char *err = snapfn_jpeg_decode(jpg, len, NULL, &img, NULL);
    check(err == NULL && img.width == 64, "SOF1 8-bit file decodes: %s", err ? err : "ok");
    snapfn_image_free(&img);
    free(jpg);
    free(rgb);
}

static void expect_unsupported(const uint8_t *jpg, size_t len, const char *prefix, const char *what)
{
    snapfn_image img;
    const char *err = snapfn_jpeg_decode(jpg, len, NULL, &img, NULL);
    check(starts_with(err, prefix) && img.pixels == NULL, "%s is refused: %s", what, err ? err : "(accepted)");
}

static uint8_t *patch_sof(const uint8_t *jpg, size_t len, int new_marker, int precision, int zero_height)
{
    uint8_t *p = malloc(len);
    memcpy(p, jpg, len);
    for (size_t i = 2; i + 8 < len; i++)
        if (p[i] == 0xFF && (p[i + 1] == 0xC0 || p[i + 1] == 0xC1)) {
            if (new_marker)
                p[i + 1] = (uint8_t)new_marker;
            if (precision)
                p[i + 4] = (uint8_t)precision;
            if (zero_height)
                p[i + 5] = p[i + 6] = 0;
            break;
        }
    return p;
}

static void test_unsupported(void)
{
    uint8_t *rgb = make_image(48, 32, 9);
    size_t len;
    lj_options o = {.quality = 75, .h0 = 2, .v0 = 2, .progressive = 1};
    uint8_t *jpg = lj_encode(rgb, 48, 32, 3, &o, &len);
    expect_unsupported(jpg, len, "unsupported: progressive", "progressive JPEG");
    free(jpg);
    o.progressive = 0;
    o.arithmetic = 1;
    jpg = lj_encode(rgb, 48, 32, 3, &o, &len);
    if (jpg != NULL)
        expect_unsupported(jpg, len, "unsupported: arithmetic", "arithmetic-coded JPEG");
    free(jpg);
    o.arithmetic = 0;
    uint8_t *cmyk = malloc(48 * 32 * 4);
    for (int i = 0; i < 48 * 32 * 4; i++)
        cmyk[i] = (uint8_t)(i * 7);
    jpg = lj_encode(cmyk, 48, 32, 4, &o, &len);
    expect_unsupported(jpg, len, "unsupported: 4-component", "CMYK JPEG");
    free(jpg);
    free(cmyk);

    jpg = lj_encode(rgb, 48, 32, 3, &o, &len);
    uint8_t *p = patch_sof(jpg, len, 0, 12, 0);
    expect_unsupported(p, len, "unsupported: 12-bit", "12-bit JPEG");
    free(p);
    p = patch_sof(jpg, len, 0xC3, 0, 0);
    expect_unsupported(p, len, "unsupported: lossless", "lossless JPEG (SOF3)");
    free(p);
    p = patch_sof(jpg, len, 0xC5, 0, 0);
    expect_unsupported(p, len, "unsupported: hierarchical", "hierarchical JPEG (SOF5)");
    free(p);
    p = patch_sof(jpg, len, 0xC9, 0, 0);
    expect_unsupported(p, len, "unsupported: arithmetic", "SOF9 JPEG");
    free(p);
    p = patch_sof(jpg, len, 0, 0, 1);
    expect_unsupported(p, len, "unsupported: JPEG height given later", "height 0 (DNL) JPEG");
    free(p);
    free(jpg);
    free(rgb);
}
#endif /* HAVE_LIBJPEG */

/* ---- Photos from other encoders found on the machine. ---- */

static void test_files(int argc, char **argv)
{
    int found = 0;
    for (int i = 1; i < argc; i++) {
        size_t len = 0;
        uint8_t *data = read_file(argv[i], &len);
        if (data == NULL)
            continue;
        found++;
        snapfn_jpeg_info info;
        const char *ierr = snapfn_jpeg_read_info(data, len, &info);
        int progressive = 0;
        for (size_t k = 2; k + 1 < len; k++)
            if (data[k] == 0xFF && data[k + 1] == 0xC2) {
                progressive = 1;
                break;
            } else if (data[k] == 0xFF && (data[k + 1] == 0xC0 || data[k + 1] == 0xC1)) {
                break;
            }
        snapfn_image img;
        const char *err = snapfn_jpeg_decode(data, len, NULL, &img, NULL);
        if (progressive) {
            check(starts_with(err, "unsupported: progressive"), "%s (progressive): %s", argv[i], err ? err : "accepted");
            free(data);
            continue;
        }
        check(ierr == NULL && err == NULL && img.width == info.width && img.height == info.height,
              "%s: %ux%u decodes (%s)", argv[i], info.width, info.height, err ? err : "ok");
#ifdef HAVE_LIBJPEG
        if (err == NULL) {
            int w, h;
            uint8_t *ref = lj_decode(data, len, (int)img.channels, &w, &h);
            size_t n = (size_t)w * h * img.channels;
            double agree = ref ? psnr(ref, img.pixels, n) : 0;
            int md = ref ? max_abs_diff(ref, img.pixels, n) : 999;
            check(ref != NULL && agree > 50 && md <= 6, "%s: ours vs libjpeg PSNR %.2f dB, max diff %d", argv[i], agree, md);
            printf("  %s: %ux%u, ours vs libjpeg %.2f dB PSNR (max diff %d)\n", argv[i], img.width, img.height,
                   agree, md);
            free(ref);
        }
#endif
        snapfn_image_free(&img);
        free(data);
    }
    printf("  %d JPEG files from other encoders found and checked\n", found);
}

/* ---- Damage. ---- */

static int known_error(const char *err)
{
    return starts_with(err, "truncated") || starts_with(err, "corrupt") || starts_with(err, "unsupported") ||
           starts_with(err, "too large") || starts_with(err, "out of memory");
}

static void fuzz(const uint8_t *jpg, size_t len, int iterations, uint64_t seed, const char *what)
{
    rng r = {seed};
    uint8_t *mut = malloc(len + 64);
    int unknown = 0, accepted = 0;
    for (int iter = 0; iter < iterations; iter++) {
        memcpy(mut, jpg, len);
        size_t n = len;
        int kind = (int)rng_below(&r, 4);
        int changes = 1 + (int)rng_below(&r, 6);
        for (int k = 0; k < changes; k++) {
            size_t at = rng_below(&r, (uint32_t)n);
            if (kind == 0)
                mut[at] ^= (uint8_t)(1u << rng_below(&r, 8));
            else if (kind == 1)
                mut[at] = (uint8_t)rng_next(&r);
            else if (kind == 2)
                mut[at] = rng_below(&r, 2) ? 0xFF : 0x00;
            else
                n = at + 1; /* cut */
        }
        /* Headers get most of the damage in half the runs: that is where lengths and counts live. */
        if (n > 3 && rng_below(&r, 2)) {
            size_t at = 2 + rng_below(&r, (uint32_t)(n < 700 ? n - 2 : 698));
            mut[at] = (uint8_t)rng_next(&r);
        }
        snapfn_image img;
        size_t used;
        const char *err = snapfn_jpeg_decode(mut, n, NULL, &img, &used);
        if (err == NULL) {
            accepted++;
            if (used > n || img.pixels == NULL)
                unknown++;
            snapfn_image_free(&img);
        } else if (!known_error(err)) {
            unknown++;
            printf("    unexpected message: %s\n", err);
        }
    }
    free(mut);
    check(unknown == 0, "%s: %d damaged copies, %d still decode, every refusal names its kind", what, iterations,
          accepted);
}

static void test_damage(void)
{
    uint8_t *rgb = make_image(64, 48, 3);
    size_t len;
    uint8_t *jpg = own_encode(rgb, 64, 48, 3, 80, SNAPFN_JPEG_420, 2, &len);
    /* Every cut: the image is incomplete, so it must be refused, and as truncated. */
    int wrong = 0, not_truncated = 0;
    for (size_t cut = 0; cut + 2 < len; cut++) {
        snapfn_image img;
        uint8_t *copy = malloc(cut + 1); /* exact-size copies: ASan sees any read past the end */
        memcpy(copy, jpg, cut);
        const char *err = snapfn_jpeg_decode(copy, cut, NULL, &img, NULL);
        if (err == NULL) {
            wrong++;
            snapfn_image_free(&img);
        } else if (cut > 2 && !starts_with(err, "truncated")) {
            not_truncated++;
            if (not_truncated < 4)
                printf("    cut at %zu of %zu: %s\n", cut, len, err);
        }
        free(copy);
    }
    check(wrong == 0, "every cut of a %zu-byte JPEG before its EOI is refused (%d accepted)", len, wrong);
    check(not_truncated == 0, "and each says \"truncated\" (%d did not)", not_truncated);
    /* Without just its EOI the image is complete: accepted. */
    snapfn_image img;
    const char *err = snapfn_jpeg_decode(jpg, len - 2, NULL, &img, NULL);
    check(err == NULL, "a JPEG missing only its EOI still decodes: %s", err ? err : "ok");
    snapfn_image_free(&img);

    err = snapfn_jpeg_decode((const uint8_t *)"GIF89a", 6, NULL, &img, NULL);
    check(starts_with(err, "corrupt: not a JPEG"), "non-JPEG: %s", err);
    err = snapfn_jpeg_decode(NULL, 0, NULL, &img, NULL);
    check(starts_with(err, "corrupt: not a JPEG"), "empty input: %s", err);

    fuzz(jpg, len, 4000, 1, "our 4:2:0 restart file");
    free(jpg);
    jpg = own_encode(rgb, 64, 48, 1, 60, SNAPFN_JPEG_444, 0, &len);
    uint8_t *g = to_gray(rgb, 64, 48);
    free(jpg);
    jpg = own_encode(g, 64, 48, 1, 60, SNAPFN_JPEG_444, 0, &len);
    fuzz(jpg, len, 2000, 2, "our gray file");
    free(jpg);
    free(g);
#ifdef HAVE_LIBJPEG
    lj_options o = {.quality = 70, .h0 = 2, .v0 = 1, .optimize = 1, .restart_interval = 1};
    jpg = lj_encode(rgb, 64, 48, 3, &o, &len);
    fuzz(jpg, len, 4000, 3, "libjpeg 4:2:2 optimized restart file");
    free(jpg);
    lj_options o2 = {.quality = 70, .h0 = 2, .v0 = 2, .separate_scans = 1};
    jpg = lj_encode(rgb, 64, 48, 3, &o2, &len);
    fuzz(jpg, len, 4000, 4, "libjpeg one-scan-per-component file");
    free(jpg);
#endif

    /* Limits: a frame header claiming 65535 x 65535 is refused before any allocation. */
    static const uint8_t huge[] = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x01, 0x11, 0x00};
    err = snapfn_jpeg_decode(huge, sizeof huge, NULL, &img, NULL);
    check(starts_with(err, "too large"), "65535x65535 frame: %s", err);
    snapfn_jpeg_decode_options small = {.max_pixels = 1000};
    jpg = own_encode(rgb, 64, 48, 3, 80, SNAPFN_JPEG_420, 0, &len);
    err = snapfn_jpeg_decode(jpg, len, &small, &img, NULL);
    check(starts_with(err, "too large"), "3072 pixels against a 1000-pixel limit: %s", err);
    free(jpg);
    free(rgb);
}

/* ---- Motion JPEG, options, helpers. ---- */

static void test_mjpeg(void)
{
    size_t total = 0, lens[3];
    uint8_t *frames[3];
    uint8_t *src[3];
    for (int i = 0; i < 3; i++) {
        src[i] = make_image(96, 64, 50 + i);
        frames[i] = own_encode(src[i], 96, 64, 3, 85, SNAPFN_JPEG_420, 0, &lens[i]);
        total += lens[i];
    }
    uint8_t *stream = malloc(total);
    size_t pos = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(stream + pos, frames[i], lens[i]);
        pos += lens[i];
    }
    pos = 0;
    for (int i = 0; i < 3; i++) {
        snapfn_image img;
        size_t used = 0;
        const char *err = snapfn_jpeg_decode(stream + pos, total - pos, NULL, &img, &used);
        check(err == NULL && used == lens[i], "MJPEG frame %d: decoded, %zu bytes consumed of %zu", i, used, lens[i]);
        snapfn_image alone;
        const char *err2 = snapfn_jpeg_decode(frames[i], lens[i], NULL, &alone, NULL);
        if (err == NULL && err2 == NULL)
            check(memcmp(img.pixels, alone.pixels, 96 * 64 * 3) == 0 && psnr(img.pixels, src[i], 96 * 64 * 3) > 25,
                  "MJPEG frame %d is the right picture (PSNR %.2f dB against its source)", i,
                  psnr(img.pixels, src[i], 96 * 64 * 3));
        snapfn_image_free(&alone);
        snapfn_image_free(&img);
        pos += used ? used : lens[i];
    }
    for (int i = 0; i < 3; i++) {
        free(frames[i]);
        free(src[i]);
    }
    free(stream);
}

static void test_options_and_info(void)
{
    uint8_t *rgb = make_image(100, 60, 77);
    size_t len;
    uint8_t *jpg = own_encode(rgb, 100, 60, 3, 90, SNAPFN_JPEG_420, 0, &len);
    snapfn_jpeg_info info;
    const char *err = snapfn_jpeg_read_info(jpg, len, &info);
    check(err == NULL && info.width == 100 && info.height == 60 && info.components == 3, "read_info: %ux%u, %u comps",
          info.width, info.height, info.components);

    snapfn_image rgb_img, gray_img;
    snapfn_jpeg_decode_options o1 = {.channels = 1};
    snapfn_jpeg_decode(jpg, len, NULL, &rgb_img, NULL);
    err = snapfn_jpeg_decode(jpg, len, &o1, &gray_img, NULL);
    check(err == NULL && gray_img.channels == 1, "gray output from a colour JPEG: %s", err ? err : "ok");
    if (err == NULL) {
        uint8_t *g = to_gray(rgb_img.pixels, 100, 60);
        int md = max_abs_diff(g, gray_img.pixels, 100 * 60);
        check(md <= 3, "its Y plane matches BT.601 luma of the RGB decoding within %d", md);
        free(g);
    }
    snapfn_image_free(&gray_img);
    snapfn_image_free(&rgb_img);
    snapfn_jpeg_decode_options o7 = {.channels = 2};
    err = snapfn_jpeg_decode(jpg, len, &o7, &rgb_img, NULL);
    check(starts_with(err, "bad argument"), "2 output channels refused: %s", err);
    free(jpg);

    uint8_t *g = to_gray(rgb, 100, 60);
    jpg = own_encode(g, 100, 60, 1, 90, SNAPFN_JPEG_420, 0, &len);
    snapfn_jpeg_decode_options o3 = {.channels = 3};
    err = snapfn_jpeg_decode(jpg, len, &o3, &rgb_img, NULL);
    check(err == NULL && rgb_img.channels == 3 && rgb_img.pixels[0] == rgb_img.pixels[1] &&
              rgb_img.pixels[1] == rgb_img.pixels[2],
          "gray JPEG to RGB output replicates: %s", err ? err : "ok");
    snapfn_image_free(&rgb_img);
    free(jpg);
    free(g);

    /* Encoder arguments and output space. */
    uint8_t out[4096];
    size_t n = 7;
    snapfn_jpeg_encode_options bad_q = {.quality = 101};
    check(starts_with(snapfn_jpeg_encode(rgb, 100, 60, 3, &bad_q, out, sizeof out, &n), "bad argument") && n == 0,
          "quality 101 refused");
    check(starts_with(snapfn_jpeg_encode(rgb, 0, 60, 3, NULL, out, sizeof out, &n), "bad argument"), "width 0 refused");
    check(starts_with(snapfn_jpeg_encode(rgb, 100, 60, 2, NULL, out, sizeof out, &n), "bad argument"),
          "2 channels refused");
    snapfn_jpeg_encode_options bad_sub = {.quality = 50, .subsampling = (snapfn_jpeg_subsampling)9};
    check(starts_with(snapfn_jpeg_encode(rgb, 100, 60, 3, &bad_sub, out, sizeof out, &n), "bad argument"),
          "unknown subsampling refused");
    check(starts_with(snapfn_jpeg_encode(rgb, 100, 60, 3, NULL, out, 100, &n), "too large"),
          "a 100-byte output buffer is too small");

    /* Worst case: noise at quality 100, no subsampling, restart every MCU. Within the bound; one byte less than
     * the size fails; the same call twice gives the same bytes. */
    rng r = {4};
    uint8_t *noise = malloc(64 * 64 * 3);
    for (int i = 0; i < 64 * 64 * 3; i++)
        noise[i] = (uint8_t)rng_next(&r);
    size_t bound = snapfn_jpeg_encode_bound(64, 64, 3);
    uint8_t *a = malloc(bound), *b = malloc(bound);
    snapfn_jpeg_encode_options worst = {.quality = 100, .subsampling = SNAPFN_JPEG_444, .restart_interval = 1};
    size_t la = 0, lb = 0;
    err = snapfn_jpeg_encode(noise, 64, 64, 3, &worst, a, bound, &la);
    check(err == NULL && la <= bound, "noise q100 4:4:4: %zu bytes within the bound %zu", la, bound);
    uint8_t *tight = malloc(la - 1);
    err = snapfn_jpeg_encode(noise, 64, 64, 3, &worst, tight, la - 1, &lb);
    check(starts_with(err, "too large") && lb == 0, "one byte short fails: %s", err);
    err = snapfn_jpeg_encode(noise, 64, 64, 3, &worst, b, bound, &lb);
    check(err == NULL && la == lb && memcmp(a, b, la) == 0, "encoding is deterministic");
    snapfn_image img;
    err = snapfn_jpeg_decode(a, la, NULL, &img, NULL);
    check(err == NULL && psnr(img.pixels, noise, 64 * 64 * 3) > 35, "noise q100 decodes close to the source");
    snapfn_image_free(&img);
    free(tight);
    free(a);
    free(b);
    free(noise);
    free(rgb);
}

static void test_helpers(void)
{
    /* Rotation: (x, y) -> (h-1-y, x); four turns are the identity. */
    int w = 37, h = 23;
    uint8_t *img = make_image(w, h, 31);
    uint8_t *r1 = malloc((size_t)w * h * 3), *r2 = malloc((size_t)w * h * 3);
    snapfn_image_rotate90_cw(img, (uint32_t)w, (uint32_t)h, 3, r1);
    int bad = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                bad += r1[((size_t)x * h + (h - 1 - y)) * 3 + c] != img[((size_t)y * w + x) * 3 + c];
    check(bad == 0, "rotate 90 cw moves (x, y) to (h-1-y, x)");
    check(r1[0] == img[((size_t)(h - 1) * w) * 3], "the old bottom-left pixel is the new top-left");
    snapfn_image_rotate90_cw(r1, (uint32_t)h, (uint32_t)w, 3, r2);
    snapfn_image_rotate90_cw(r2, (uint32_t)w, (uint32_t)h, 3, r1);
    snapfn_image_rotate90_cw(r1, (uint32_t)h, (uint32_t)w, 3, r2);
    check(memcmp(r2, img, (size_t)w * h * 3) == 0, "four quarter turns give the image back");
    uint8_t *g = to_gray(img, w, h), *g1 = malloc((size_t)w * h), *g4 = malloc((size_t)w * h);
    snapfn_image_rotate90_cw(g, (uint32_t)w, (uint32_t)h, 1, g1);
    snapfn_image_rotate90_cw(g1, (uint32_t)h, (uint32_t)w, 1, g4);
    snapfn_image_rotate90_cw(g4, (uint32_t)w, (uint32_t)h, 1, g1);
    snapfn_image_rotate90_cw(g1, (uint32_t)h, (uint32_t)w, 1, g4);
    check(memcmp(g4, g, (size_t)w * h) == 0, "and so for gray");

    /* Luma: exact rounding of the BT.601 weights, in place too. */
    bad = 0;
    for (int i = 0; i < w * h; i++) {
        const uint8_t *p = img + 3 * i;
        double y = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        if (fabs(g[i] - y) > 0.5 + 1e-3)
            bad++;
    }
    uint8_t extremes[12] = {255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255};
    snapfn_image_rgb_to_gray(extremes, 4, extremes);
    check(bad == 0, "gray = round(0.299 R + 0.587 G + 0.114 B) for every pixel");
    check(extremes[0] == 255 && extremes[1] == 0 && extremes[2] == 76 && extremes[3] == 29,
          "white 255, black 0, red 76, blue 29 (in place)");

    /* Bilinear: same size is a copy; constants stay; against a double-precision reference within 1. */
    uint8_t *same = malloc((size_t)w * h * 3);
    snapfn_image_resize_bilinear(img, (uint32_t)w, (uint32_t)h, 3, same, (uint32_t)w, (uint32_t)h);
    check(memcmp(same, img, (size_t)w * h * 3) == 0, "resize to the same size copies");
    static const int dims[][2] = {{224, 224}, {10, 7}, {1, 1}, {80, 3}};
    int worst = 0;
    for (int d = 0; d < 4; d++) {
        int dw = dims[d][0], dh = dims[d][1];
        uint8_t *out = malloc((size_t)dw * dh * 3);
        snapfn_image_resize_bilinear(img, (uint32_t)w, (uint32_t)h, 3, out, (uint32_t)dw, (uint32_t)dh);
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++) {
                double sx = (x + 0.5) * w / dw - 0.5, sy = (y + 0.5) * h / dh - 0.5;
                sx = sx < 0 ? 0 : sx > w - 1 ? w - 1 : sx;
                sy = sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy;
                int x0 = (int)sx, y0 = (int)sy, x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
                double fx = sx - x0, fy = sy - y0;
                for (int c = 0; c < 3; c++) {
                    double v = (1 - fy) * ((1 - fx) * img[(y0 * w + x0) * 3 + c] + fx * img[(y0 * w + x1) * 3 + c]) +
                               fy * ((1 - fx) * img[(y1 * w + x0) * 3 + c] + fx * img[(y1 * w + x1) * 3 + c]);
                    int diff = abs((int)lround(v) - out[((size_t)y * dw + x) * 3 + c]);
                    worst = diff > worst ? diff : worst;
                }
            }
        free(out);
    }
    check(worst <= 1, "resize matches a double-precision bilinear reference within %d", worst);
    uint8_t flat[5 * 4];
    memset(flat, 77, sizeof flat);
    uint8_t up[13 * 11];
    snapfn_image_resize_bilinear(flat, 5, 4, 1, up, 13, 11);
    int all77 = 1;
    for (size_t i = 0; i < sizeof up; i++)
        all77 &= up[i] == 77;
    check(all77, "a flat image stays flat when resized");
    free(same);
    free(g);
    free(g1);
    free(g4);
    free(r1);
    free(r2);
    free(img);
}

int main(int argc, char **argv)
{
    test_tables();
    test_dct();
    test_helpers();
    test_encoder_roundtrip();
    test_options_and_info();
    test_mjpeg();
    test_damage();
#ifdef HAVE_LIBJPEG
    test_tables_match_libjpeg();
    test_libjpeg_files();
    test_unsupported();
#else
    printf("  note: built without libjpeg (no jpeglib.h): no cross-checks with another codec\n");
#endif
    test_files(argc, argv);
    return finish("test_jpeg");
}
