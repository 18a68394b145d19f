/* Checks recognition's fast path (im2col + blocked AVX2 GEMM) against a plain direct convolution in double
 * precision written separately here: first the GEMM on awkward sizes, then whole forward passes of reduced
 * networks on a generated image. Built on the host with the test shim. */
#include "../main.c"

#include <math.h>
#include <stdio.h>

static int failures;

static void report(const char *name, bool ok, double err)
{
    printf("%s %s (max error %.3g)\n", ok ? "ok  " : "FAIL", name, err);
    failures += !ok;
}

static void test_gemm(size_t m, size_t n, size_t k)
{
    snapfn_rng r;
    snapfn_rng_seed(&r, m * 1000003 + n * 101 + k);
    float *a = alloc_floats(m * k), *b = alloc_floats(k * n), *c = alloc_floats(m * n);
    for (size_t i = 0; i < m * k; i++)
        a[i] = (float)(snapfn_rng_double(&r) * 2 - 1);
    for (size_t i = 0; i < k * n; i++)
        b[i] = (float)(snapfn_rng_double(&r) * 2 - 1);
    gemm(m, n, k, a, k, b, n, c, n);
    double err = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < k; p++)
                s += (double)a[i * k + p] * b[p * n + j];
            err = fmax(err, fabs(s - c[i * n + j]));
        }
    char name[64];
    snprintf(name, sizeof name, "gemm %zux%zux%zu", m, n, k);
    report(name, err < 1e-3, err);
    free(a);
    free(b);
    free(c);
}

/* ---- the reference network: direct loops, double accumulation, fresh buffers per layer */
struct dt {
    int c, h, w;
    double *v;
};

static struct dt ref_conv(const struct conv *cv, struct dt in, const struct dt *res, bool relu)
{
    struct dt out = {cv->cout, (in.h + 2 * cv->pad - cv->k) / cv->stride + 1, (in.w + 2 * cv->pad - cv->k) / cv->stride + 1,
                     NULL};
    out.v = malloc(sizeof(double) * (size_t)out.c * (size_t)out.h * (size_t)out.w);
    for (int o = 0; o < out.c; o++)
        for (int y = 0; y < out.h; y++)
            for (int x = 0; x < out.w; x++) {
                double s = cv->b[o];
                for (int i = 0; i < cv->cin; i++)
                    for (int dy = 0; dy < cv->k; dy++)
                        for (int dx = 0; dx < cv->k; dx++) {
                            int iy = y * cv->stride - cv->pad + dy, ix = x * cv->stride - cv->pad + dx;
                            if (iy >= 0 && iy < in.h && ix >= 0 && ix < in.w)
                                s += (double)cv->w[((o * cv->cin + i) * cv->k + dy) * cv->k + dx] *
                                     in.v[(i * in.h + iy) * in.w + ix];
                        }
                size_t at = ((size_t)o * (size_t)out.h + (size_t)y) * (size_t)out.w + (size_t)x;
                if (res)
                    s += res->v[at];
                out.v[at] = relu && s < 0 ? 0 : s;
            }
    return out;
}

static void ref_forward(const struct model *m, const struct tensor *image, double *logits)
{
    struct dt x = {3, image->h, image->w, malloc(sizeof(double) * 3 * INPUT_SIZE * INPUT_SIZE)};
    for (size_t i = 0; i < 3 * INPUT_SIZE * INPUT_SIZE; i++)
        x.v[i] = image->data[i];
    struct dt t = ref_conv(&m->conv1, x, NULL, true);
    free(x.v);
    struct dt p = {t.c, (t.h - 1) / 2 + 1, (t.w - 1) / 2 + 1, NULL};
    p.v = malloc(sizeof(double) * (size_t)p.c * (size_t)p.h * (size_t)p.w);
    for (int c = 0; c < p.c; c++)
        for (int y = 0; y < p.h; y++)
            for (int xx = 0; xx < p.w; xx++) {
                double best = -INFINITY;
                for (int iy = 2 * y - 1; iy <= 2 * y + 1; iy++)
                    for (int ix = 2 * xx - 1; ix <= 2 * xx + 1; ix++)
                        if (iy >= 0 && iy < t.h && ix >= 0 && ix < t.w)
                            best = fmax(best, t.v[(c * t.h + iy) * t.w + ix]);
                p.v[(c * p.h + y) * p.w + xx] = best;
            }
    free(t.v);
    x = p;
    for (int i = 0; i < m->block_count; i++) {
        const struct bottleneck *b = &m->blocks[i];
        struct dt sc = b->has_down ? ref_conv(&b->down, x, NULL, false) : x;
        struct dt a = ref_conv(&b->a, x, NULL, true);
        struct dt bb = ref_conv(&b->b, a, NULL, true);
        struct dt c = ref_conv(&b->c, bb, &sc, true);
        free(a.v);
        free(bb.v);
        if (b->has_down)
            free(sc.v);
        free(x.v);
        x = c;
    }
    for (int o = 0; o < CLASSES; o++) {
        double s = m->fc_b[o];
        for (int c = 0; c < x.c; c++) {
            double mean = 0;
            for (int k = 0; k < x.h * x.w; k++)
                mean += x.v[c * x.h * x.w + k];
            s += m->fc_w[o * x.c + c] * (mean / (x.h * x.w));
        }
        logits[o] = s;
    }
    free(x.v);
}

static void test_network(int divisor)
{
    const struct model *m = model_for(divisor);
    struct image img = {97, 61, malloc(97 * 61 * 3)};
    for (int i = 0; i < 97 * 61 * 3; i++)
        img.rgb[i] = (uint8_t)(i * 7 + (i / 291) * 13);
    struct tensor x = {0, 0, 0, alloc_floats(3 * INPUT_SIZE * INPUT_SIZE)};
    preprocess(&img, &x);
    float fast[CLASSES];
    double slow[CLASSES];
    forward(m, &x, fast);
    ref_forward(m, &x, slow);
    double err = 0, scale = 0;
    for (int c = 0; c < CLASSES; c++) {
        err = fmax(err, fabs(fast[c] - slow[c]));
        scale = fmax(scale, fabs(slow[c]));
    }
    char name[64];
    snprintf(name, sizeof name, "forward, width_divisor %d (max |logit| %.1f)", divisor, scale);
    report(name, err < 1e-4 * scale, err);
    free(x.data);
    free(img.rgb);
}

/* Bilinear half-pixel resize of a 2x2 checkerboard (black, white / white, black): the corners keep their
 * pixel, and the centre, equally far from all four, is their mean. */
static void test_resize(void)
{
    uint8_t px[12] = {0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0};
    struct image img = {2, 2, px};
    struct tensor t = {0, 0, 0, alloc_floats(3 * INPUT_SIZE * INPUT_SIZE)};
    preprocess(&img, &t);
    double black = (0 - 0.485) / 0.229, white = (1 - 0.485) / 0.229;
    double e = fabs(t.data[0] - black);
    e = fmax(e, fabs(t.data[INPUT_SIZE - 1] - white));
    e = fmax(e, fabs(t.data[(INPUT_SIZE - 1) * INPUT_SIZE] - white));
    e = fmax(e, fabs(t.data[INPUT_SIZE * INPUT_SIZE - 1] - black));
    /* Output pixel 111.5 does not exist; pixels 111 and 112 straddle the centre symmetrically. */
    double centre = (t.data[111 * INPUT_SIZE + 111] + t.data[112 * INPUT_SIZE + 112]) / 2;
    e = fmax(e, fabs(centre - (black + white) / 2) > 0.05 ? 1 : 0);
    report("resize of a 2x2 checkerboard", e < 1e-6, e);
    free(t.data);
}

int main(int argc, char **argv)
{
    (void)argv;
    pack_a_buf = alloc_floats(MC * KC + 64);
    pack_b_buf = alloc_floats((NC + NR) * KC + 64);
    size_t sizes[][3] = {{1, 1, 1}, {6, 16, 7}, {7, 17, 300}, {64, 3136, 147}, {13, 49, 513}, {100, 101, 257}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        test_gemm(sizes[i][0], sizes[i][1], sizes[i][2]);
    test_resize();
    test_network(16);
    test_network(8);
    if (argc > 1) /* the full network takes a minute with the reference loops */
        test_network(1);
    printf("%d failed\n", failures);
    return failures != 0;
}
