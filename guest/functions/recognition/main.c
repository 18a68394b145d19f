/* recognition: the paper's image-recognition workload (ResNet-50 inference). init() builds the model, as
 * loading a framework and its weights would; a request decodes the image, resizes and normalises it, runs
 * the forward pass in float32 and returns the five best classes.
 *
 * No trained weights can be fetched here, so the weights are generated deterministically (He-style uniform
 * from snapfn_rng) and the output says "weights":"synthetic": the work and the memory are the real ones,
 * the labels mean nothing. The architecture is torchvision's ResNet-50 (stride on the 3x3 conv of each
 * bottleneck) with batch norm folded into each conv's weights and bias.
 *
 * Input: a JPEG or a binary PPM (P6, maxval 255), optionally preceded by one line of JSON
 * {"width_divisor":D}\n that divides every channel count by D (1, 2, 4, 8, 16 or 32; default 1) so that a test
 * can run a small network of the same shape. Output:
 * {"weights":"synthetic","width_divisor":D,"image":[W,H],"top5":[[class,logit,probability],...]}.
 * WORKLOADS.md gives the generation order and every formula for the checker. */
#include "snapfn.h"
#include "snapfn_jpeg.h"

#include <immintrin.h>

#define INPUT_SIZE 224
#define CLASSES 1000
#define WEIGHT_SEED 50
#define BIAS_BOUND 0.01
#define MAX_BLOCKS 16
#define TOP 5

/* ---------------------------------------------------------------- the model */

struct conv {
    int cin, cout, k, stride, pad;
    float *w; /* [cout][cin][k][k] */
    float *b; /* [cout] */
};

struct bottleneck {
    struct conv a, b, c, down; /* 1x1 reduce, 3x3, 1x1 expand; down only in a stage's first block */
    bool has_down;
};

struct model {
    int divisor;
    struct conv conv1;
    struct bottleneck blocks[MAX_BLOCKS];
    int block_count;
    int features;  /* channels into the classifier */
    float *fc_w;   /* [CLASSES][features] */
    float *fc_b;   /* [CLASSES] */
    size_t params;
    size_t im2col_floats; /* the largest im2col matrix of any layer */
};

static const int stage_blocks[4] = {3, 4, 6, 3};
static const int stage_width[4] = {64, 128, 256, 512};
static const int stage_stride[4] = {1, 2, 2, 2};

/* He-style uniform: bound = gain * sqrt(6 / fan_in); sqrt is the correctly rounded instruction
 * (-fno-math-errno), so that a checker in another language gets bit-identical weights. */
static void fill(snapfn_rng *rng, float *dst, size_t count, double bound)
{
    for (size_t i = 0; i < count; i++)
        dst[i] = (float)((snapfn_rng_double(rng) * 2 - 1) * bound);
}

/* `size` is the layer's input height and width, updated to its output's. */
static void make_conv(struct model *m, snapfn_rng *rng, struct conv *c, int cin, int cout, int k, int stride,
                      double gain, int *size)
{
    *c = (struct conv){cin, cout, k, stride, k / 2, NULL, NULL};
    *size = (*size + 2 * c->pad - k) / stride + 1;
    if (k != 1 || stride != 1) {
        size_t floats = (size_t)cin * (size_t)(k * k) * (size_t)(*size) * (size_t)(*size);
        m->im2col_floats = floats > m->im2col_floats ? floats : m->im2col_floats;
    }
    size_t count = (size_t)cout * (size_t)cin * (size_t)k * (size_t)k;
    c->w = xmalloc(count * sizeof(float));
    c->b = xmalloc((size_t)cout * sizeof(float));
    fill(rng, c->w, count, gain * __builtin_sqrt(6.0 / (double)(cin * k * k)));
    fill(rng, c->b, (size_t)cout, BIAS_BOUND);
    m->params += count + (size_t)cout;
}

/* Gain of the last conv of each residual branch: smaller than 1 so that the sum over 16 blocks keeps the
 * activations near unit scale (what batch norm would do in a trained net). */
#define BRANCH_GAIN 0.5

static struct model *build_model(int divisor)
{
    struct model *m = xmalloc(sizeof *m);
    memset(m, 0, sizeof *m);
    m->divisor = divisor;
    snapfn_rng rng;
    snapfn_rng_seed(&rng, WEIGHT_SEED);
    int size = INPUT_SIZE;
    make_conv(m, &rng, &m->conv1, 3, 64 / divisor, 7, 2, 1.0, &size);
    size = (size + 2 - 3) / 2 + 1; /* max pool */
    int channels = 64 / divisor;
    for (int s = 0; s < 4; s++) {
        int width = stage_width[s] / divisor, out = 4 * width;
        for (int i = 0; i < stage_blocks[s]; i++) {
            struct bottleneck *b = &m->blocks[m->block_count++];
            int stride = i == 0 ? stage_stride[s] : 1;
            int in_size = size;
            make_conv(m, &rng, &b->a, channels, width, 1, 1, 1.0, &size);
            make_conv(m, &rng, &b->b, width, width, 3, stride, 1.0, &size);
            make_conv(m, &rng, &b->c, width, out, 1, 1, BRANCH_GAIN, &size);
            b->has_down = i == 0;
            if (b->has_down)
                make_conv(m, &rng, &b->down, channels, out, 1, stride, 1.0, &in_size);
            channels = out;
        }
    }
    m->features = channels;
    size_t count = (size_t)CLASSES * (size_t)channels;
    m->fc_w = xmalloc(count * sizeof(float));
    m->fc_b = xmalloc(CLASSES * sizeof(float));
    fill(&rng, m->fc_w, count, __builtin_sqrt(6.0 / (double)channels));
    fill(&rng, m->fc_b, CLASSES, BIAS_BOUND);
    m->params += count + CLASSES;
    return m;
}

/* ---------------------------------------------------------------- float32 GEMM */

#define MR 6    /* rows of C per micro-tile */
#define NR 16   /* columns of C per micro-tile (two AVX registers) */
#define KC 256
#define MC 96
#define NC 512

static void pack_a(const float *a, size_t lda, size_t mc, size_t kc, float *dst)
{
    for (size_t i0 = 0; i0 < mc; i0 += MR)
        for (size_t k = 0; k < kc; k++)
            for (size_t i = 0; i < MR; i++)
                *dst++ = i0 + i < mc ? a[(i0 + i) * lda + k] : 0.0f;
}

static void pack_b(const float *b, size_t ldb, size_t kc, size_t nc, float *dst)
{
    for (size_t j0 = 0; j0 < nc; j0 += NR)
        for (size_t k = 0; k < kc; k++) {
            const float *row = b + k * ldb + j0;
            if (j0 + NR <= nc) {
                memcpy(dst, row, NR * sizeof(float));
            } else {
                for (size_t j = 0; j < NR; j++)
                    dst[j] = j0 + j < nc ? row[j] : 0.0f;
            }
            dst += NR;
        }
}

/* tile (MR x NR, row stride ldc) += strip_a * strip_b, with AVX2 and FMA. */
__attribute__((target("avx2,fma"))) static void kernel_avx2(size_t kc, const float *pa, const float *pb, float *c,
                                                            size_t ldc)
{
    __m256 acc[MR][2];
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
        for (int i = 0; i < MR; i++) {
            __m256 a = _mm256_broadcast_ss(pa + i);
            acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
        }
        pa += MR;
        pb += NR;
    }
    for (int i = 0; i < MR; i++) {
        float *row = c + (size_t)i * ldc;
        _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[i][0]));
        _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[i][1]));
    }
}

/* The same tile product for a CPU without AVX2 (the compiler vectorises the inner loop with SSE2); a multiply
 * then an add, so each entry may differ from the FMA kernel's in the last bits. */
static void kernel_sse2(size_t kc, const float *pa, const float *pb, float *c, size_t ldc)
{
    float acc[MR][NR] = {{0}};
    for (size_t k = 0; k < kc; k++) {
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++)
                acc[i][j] += pa[i] * pb[j];
        pa += MR;
        pb += NR;
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            c[(size_t)i * ldc + j] += acc[i][j];
}

/* The tile product this CPU runs: set at the start of every request (see snapfn_cpu_has_avx2_fma). */
static void (*kernel)(size_t kc, const float *pa, const float *pb, float *c, size_t ldc) = kernel_sse2;

static float *pack_a_buf, *pack_b_buf;

/* C (m x n) = A (m x k) * B (k x n), all row-major with their own leading dimensions. */
static void gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                 size_t ldc)
{
    float edge[MR * NR];
    for (size_t i = 0; i < m; i++)
        memset(c + i * ldc, 0, n * sizeof(float));
    for (size_t jc = 0; jc < n; jc += NC) {
        size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = k - pc < KC ? k - pc : KC;
            pack_b(b + pc * ldb + jc, ldb, kc, nc, pack_b_buf);
            for (size_t ic = 0; ic < m; ic += MC) {
                size_t mc = m - ic < MC ? m - ic : MC;
                pack_a(a + ic * lda + pc, lda, mc, kc, pack_a_buf);
                for (size_t jr = 0; jr < nc; jr += NR)
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        float *cij = c + (ic + ir) * ldc + jc + jr;
                        const float *sa = pack_a_buf + ir * kc, *sb = pack_b_buf + jr * kc;
                        if (ir + MR <= mc && jr + NR <= nc) {
                            kernel(kc, sa, sb, cij, ldc);
                            continue;
                        }
                        size_t rows = mc - ir < MR ? mc - ir : MR, cols = nc - jr < NR ? nc - jr : NR;
                        memset(edge, 0, sizeof edge);
                        kernel(kc, sa, sb, edge, NR);
                        for (size_t i = 0; i < rows; i++)
                            for (size_t j = 0; j < cols; j++)
                                cij[i * ldc + j] += edge[i * NR + j];
                    }
            }
        }
    }
}

/* ---------------------------------------------------------------- layers */

struct tensor {
    int c, h, w;
    float *data; /* [c][h][w] */
};

static float *scratch; /* im2col buffer, sized for the largest layer of the largest model built */
static size_t scratch_floats;

static float *alloc_floats(size_t count)
{
    return xmalloc(count * sizeof(float));
}

/* out = act(conv(in) + bias [+ residual]); out->data must hold cout * Ho * Wo floats. */
static void conv_forward(const struct conv *cv, const struct tensor *in, struct tensor *out, const float *residual,
                         bool relu)
{
    int ho = (in->h + 2 * cv->pad - cv->k) / cv->stride + 1, wo = (in->w + 2 * cv->pad - cv->k) / cv->stride + 1;
    size_t p = (size_t)ho * (size_t)wo, kdim = (size_t)cv->cin * (size_t)cv->k * (size_t)cv->k;
    out->c = cv->cout;
    out->h = ho;
    out->w = wo;
    const float *cols = in->data;
    if (cv->k != 1 || cv->stride != 1) {
        /* im2col: row (ci, kh, kw), column (oy, ox); zero outside the image. */
        if (kdim * p > scratch_floats)
            snapfn_abort("recognition: im2col buffer too small (%zu > %zu floats)", kdim * p, scratch_floats);
        float *dst = scratch;
        for (int ci = 0; ci < cv->cin; ci++)
            for (int kh = 0; kh < cv->k; kh++)
                for (int kw = 0; kw < cv->k; kw++)
                    for (int oy = 0; oy < ho; oy++) {
                        int iy = oy * cv->stride - cv->pad + kh;
                        const float *src = in->data + ((size_t)ci * (size_t)in->h + (size_t)iy) * (size_t)in->w;
                        for (int ox = 0; ox < wo; ox++) {
                            int ix = ox * cv->stride - cv->pad + kw;
                            *dst++ = iy >= 0 && iy < in->h && ix >= 0 && ix < in->w ? src[ix] : 0.0f;
                        }
                    }
        cols = scratch;
    }
    gemm((size_t)cv->cout, p, kdim, cv->w, kdim, cols, p, out->data, p);
    for (int o = 0; o < cv->cout; o++) {
        float *row = out->data + (size_t)o * p;
        const float *res = residual ? residual + (size_t)o * p : NULL;
        for (size_t i = 0; i < p; i++) {
            float v = row[i] + cv->b[o];
            if (res)
                v += res[i];
            row[i] = relu && v < 0 ? 0.0f : v;
        }
    }
}

/* 3x3, stride 2, padding 1 that never wins (as -infinity would). */
static void maxpool(const struct tensor *in, struct tensor *out)
{
    out->c = in->c;
    out->h = (in->h + 2 - 3) / 2 + 1;
    out->w = (in->w + 2 - 3) / 2 + 1;
    for (int c = 0; c < in->c; c++)
        for (int oy = 0; oy < out->h; oy++)
            for (int ox = 0; ox < out->w; ox++) {
                float best = -3.4e38f;
                for (int dy = 0; dy < 3; dy++)
                    for (int dx = 0; dx < 3; dx++) {
                        int iy = oy * 2 - 1 + dy, ix = ox * 2 - 1 + dx;
                        if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w)
                            continue;
                        float v = in->data[((size_t)c * (size_t)in->h + (size_t)iy) * (size_t)in->w + (size_t)ix];
                        best = v > best ? v : best;
                    }
                out->data[((size_t)c * (size_t)out->h + (size_t)oy) * (size_t)out->w + (size_t)ox] = best;
            }
}

/* The forward pass; `logits` receives CLASSES floats. Activations ping-pong between three buffers plus one
 * for the shortcut, each sized for the largest activation (64/D x 112 x 112 or 256/D x 56 x 56). */
static void forward(const struct model *m, const struct tensor *image, float *logits)
{
    size_t biggest = (size_t)(256 / m->divisor) * 56 * 56;
    size_t first = (size_t)(64 / m->divisor) * 112 * 112;
    if (first > biggest)
        biggest = first;
    float *buf[4];
    for (int i = 0; i < 4; i++)
        buf[i] = alloc_floats(biggest);
    struct tensor x = {0, 0, 0, buf[0]}, t1 = {0, 0, 0, buf[1]}, t2 = {0, 0, 0, buf[2]}, sc = {0, 0, 0, buf[3]};
    conv_forward(&m->conv1, image, &t1, NULL, true);
    maxpool(&t1, &x);
    for (int i = 0; i < m->block_count; i++) {
        const struct bottleneck *b = &m->blocks[i];
        const float *shortcut = x.data;
        if (b->has_down) {
            conv_forward(&b->down, &x, &sc, NULL, false);
            shortcut = sc.data;
        }
        conv_forward(&b->a, &x, &t1, NULL, true);
        conv_forward(&b->b, &t1, &t2, NULL, true);
        conv_forward(&b->c, &t2, &t1, shortcut, true);
        /* The block's output becomes x; x's old buffer is free for the next block. */
        struct tensor old = x;
        x = t1;
        t1 = old;
    }
    /* Global average pool, summed in double so that the checker's order does not matter. */
    size_t p = (size_t)x.h * (size_t)x.w;
    float *pooled = alloc_floats((size_t)x.c);
    for (int c = 0; c < x.c; c++) {
        double sum = 0;
        for (size_t i = 0; i < p; i++)
            sum += x.data[(size_t)c * p + i];
        pooled[c] = (float)(sum / (double)p);
    }
    for (int o = 0; o < CLASSES; o++) {
        double sum = 0;
        for (int c = 0; c < x.c; c++)
            sum += (double)m->fc_w[(size_t)o * (size_t)x.c + (size_t)c] * pooled[c];
        logits[o] = (float)(sum + m->fc_b[o]);
    }
    free(pooled);
    for (int i = 0; i < 4; i++)
        free(buf[i]);
}

/* ---------------------------------------------------------------- images */

struct image {
    int w, h;
    uint8_t *rgb; /* w * h * 3 */
};

static bool ppm_number(const uint8_t **p, const uint8_t *end, int *value)
{
    for (;;) {
        while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
            (*p)++;
        if (*p < end && **p == '#') {
            while (*p < end && **p != '\n')
                (*p)++;
            continue;
        }
        break;
    }
    long v = 0;
    const uint8_t *start = *p;
    while (*p < end && **p >= '0' && **p <= '9' && v < 100000)
        v = v * 10 + (*(*p)++ - '0');
    *value = (int)v;
    return *p > start;
}

static bool decode_ppm(const uint8_t *data, size_t len, struct image *img)
{
    const uint8_t *p = data + 2, *end = data + len;
    int maxval;
    if (!ppm_number(&p, end, &img->w) || !ppm_number(&p, end, &img->h) || !ppm_number(&p, end, &maxval))
        return false;
    if (maxval != 255 || img->w < 1 || img->h < 1 || p >= end)
        return false;
    p++; /* the single whitespace byte before the pixels */
    size_t bytes = (size_t)img->w * (size_t)img->h * 3;
    if ((size_t)(end - p) < bytes)
        return false;
    img->rgb = xmalloc(bytes);
    memcpy(img->rgb, p, bytes);
    return true;
}

static void decode_image(const uint8_t *data, size_t len, struct image *img)
{
    if (len >= 2 && data[0] == 'P' && data[1] == '6') {
        if (!decode_ppm(data, len, img))
            snapfn_abort("recognition: malformed PPM (expected binary P6 with maxval 255)");
        return;
    }
    if (len >= 2 && data[0] == 0xff && data[1] == 0xd8) {
        snapfn_jpeg_decode_options rgb = {3, 0};
        snapfn_image decoded;
        const char *err = snapfn_jpeg_decode(data, len, &rgb, &decoded, NULL);
        if (err)
            snapfn_abort("recognition: the JPEG could not be decoded: %s", err);
        img->w = (int)decoded.width;
        img->h = (int)decoded.height;
        img->rgb = decoded.pixels;
        return;
    }
    snapfn_abort("recognition: expected a JPEG or a binary PPM (P6) image, optionally after a line "
                 "{\"width_divisor\":D}");
}

static const double channel_mean[3] = {0.485, 0.456, 0.406};
static const double channel_std[3] = {0.229, 0.224, 0.225};

/* Bilinear resize to 224 x 224 with half-pixel centres (as PIL and torchvision do without antialiasing), then
 * the ImageNet normalisation, into a CHW float tensor. */
static void preprocess(const struct image *img, struct tensor *t)
{
    t->c = 3;
    t->h = t->w = INPUT_SIZE;
    int x0[INPUT_SIZE], x1[INPUT_SIZE];
    double fx[INPUT_SIZE];
    for (int x = 0; x < INPUT_SIZE; x++) {
        double sx = ((double)x + 0.5) * ((double)img->w / INPUT_SIZE) - 0.5;
        if (sx < 0)
            sx = 0;
        x0[x] = (int)sx;
        x1[x] = x0[x] + 1 < img->w ? x0[x] + 1 : img->w - 1;
        fx[x] = sx - x0[x];
    }
    for (int y = 0; y < INPUT_SIZE; y++) {
        double sy = ((double)y + 0.5) * ((double)img->h / INPUT_SIZE) - 0.5;
        if (sy < 0)
            sy = 0;
        int y0 = (int)sy, y1 = y0 + 1 < img->h ? y0 + 1 : img->h - 1;
        double fy = sy - y0;
        const uint8_t *r0 = img->rgb + (size_t)y0 * (size_t)img->w * 3, *r1 = img->rgb + (size_t)y1 * (size_t)img->w * 3;
        for (int x = 0; x < INPUT_SIZE; x++)
            for (int c = 0; c < 3; c++) {
                double p00 = r0[x0[x] * 3 + c], p01 = r0[x1[x] * 3 + c];
                double p10 = r1[x0[x] * 3 + c], p11 = r1[x1[x] * 3 + c];
                double top = p00 + fx[x] * (p01 - p00), bottom = p10 + fx[x] * (p11 - p10);
                double v = top + fy * (bottom - top);
                t->data[((size_t)c * INPUT_SIZE + (size_t)y) * INPUT_SIZE + (size_t)x] =
                    (float)((v / 255.0 - channel_mean[c]) / channel_std[c]);
            }
    }
}

/* ---------------------------------------------------------------- entry points */

static struct model *models[6]; /* by log2(divisor); [0] is built in init() */

static struct model *model_for(int divisor)
{
    int slot = __builtin_ctz((unsigned)divisor);
    if (!models[slot]) {
        models[slot] = build_model(divisor);
        if (models[slot]->im2col_floats > scratch_floats) {
            free(scratch);
            scratch_floats = models[slot]->im2col_floats;
            scratch = alloc_floats(scratch_floats);
        }
    }
    return models[slot];
}

void snapfn_init(void)
{
    pack_a_buf = alloc_floats(MC * KC + 64);
    pack_b_buf = alloc_floats((NC + NR) * KC + 64);
    struct model *m = model_for(1);
    snapfn_log("recognition: ResNet-50 with %zu synthetic parameters", m->params);
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    int divisor = 1;
    if (in_len && in[0] == '{') {
        const uint8_t *nl = in;
        while (nl < in + in_len && *nl != '\n')
            nl++;
        if (nl == in + in_len)
            snapfn_abort("recognition: a JSON header line must end with '\\n' before the image");
        char text[16];
        char *end;
        if (snapfn_json_get(in, (size_t)(nl - in), "width_divisor", text, sizeof text)) {
            long d = strtol(text, &end, 10);
            if (end == text || *end || d < 1 || d > 32 || (d & (d - 1)))
                snapfn_abort("recognition: width_divisor must be 1, 2, 4, 8, 16 or 32, got '%s'", text);
            divisor = (int)d;
        }
        in_len -= (size_t)(nl + 1 - in);
        in = nl + 1;
    }
    const struct model *m = model_for(divisor);
    kernel = snapfn_cpu_has_avx2_fma() ? kernel_avx2 : kernel_sse2;

    struct image img = {0, 0, NULL};
    decode_image(in, in_len, &img);
    struct tensor x = {0, 0, 0, alloc_floats(3 * INPUT_SIZE * INPUT_SIZE)};
    preprocess(&img, &x);
    free(img.rgb);
    float *logits = alloc_floats(CLASSES);
    forward(m, &x, logits);
    free(x.data);

    /* Softmax in double, shifted by the largest logit. */
    int top[TOP];
    for (int k = 0; k < TOP; k++) {
        int best = -1;
        for (int c = 0; c < CLASSES; c++) {
            bool taken = false;
            for (int j = 0; j < k; j++)
                taken |= top[j] == c;
            if (!taken && (best < 0 || logits[c] > logits[best]))
                best = c;
        }
        top[k] = best;
    }
    double total = 0;
    for (int c = 0; c < CLASSES; c++)
        total += exp((double)logits[c] - (double)logits[top[0]]);

    snapfn_out o = snapfn_out_begin(out, out_cap, "recognition");
    snapfn_appendf(&o, "{\"weights\":\"synthetic\",\"width_divisor\":%d,\"image\":[%d,%d],\"top5\":[", divisor, img.w, img.h);
    for (int k = 0; k < TOP; k++)
        snapfn_appendf(&o, "%s[%d,%.7e,%.6e]", k ? "," : "", top[k], (double)logits[top[k]],
                exp((double)logits[top[k]] - (double)logits[top[0]]) / total);
    snapfn_appendf(&o, "]}");
    free(logits);
    return o.len;
}
