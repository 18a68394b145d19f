/* matmul: the paper's numpy matmul workload — multiply two random n x n float64 matrices. The product uses
 * the usual cache-blocked scheme (as BLAS libraries do): B is packed into panels that stay in L2/L1, A into
 * row strips, and a 6x8 AVX2/FMA micro-kernel keeps a tile of C in registers (an SSE2 one where the CPU
 * lacks AVX2: chosen per request).
 *
 * Input: {"n":N,"seed":S}. A then B are filled row-major from one snapfn_rng seeded with S, each entry
 * snapfn_rng_double()*2-1; the next 32 draws from the same generator pick the 16 sampled positions.
 * Output: {"n":N,"seed":S,"trace":T,"samples":[[i,j,C[i][j]],...16]} with values as %.15e. */
#include "snapfn.h"

#include <immintrin.h>

#define MR 6     /* rows of C in a micro-tile */
#define NR 8     /* columns of C in a micro-tile (two AVX registers) */
#define KC 256   /* depth of a packed panel: an NR-wide slice of B (16 KiB) stays in L1 */
#define MC 96    /* rows of A packed at once (192 KiB, in L2) */
#define NC 4096  /* columns of B packed at once */
#define SAMPLES 16
#define MAX_N 8000

/* Packs rows [0, mc) x depth [0, kc) of A (leading dimension lda) into MR-row strips, column by column,
 * padding the last strip with zeros so that the kernel never needs a tail case on the A side. */
static void pack_a(const double *a, size_t lda, size_t mc, size_t kc, double *dst)
{
    for (size_t i0 = 0; i0 < mc; i0 += MR)
        for (size_t k = 0; k < kc; k++)
            for (size_t i = 0; i < MR; i++)
                *dst++ = i0 + i < mc ? a[(i0 + i) * lda + k] : 0.0;
}

/* Packs depth [0, kc) x columns [0, nc) of B into NR-column strips, row by row, zero-padded. */
static void pack_b(const double *b, size_t ldb, size_t kc, size_t nc, double *dst)
{
    for (size_t j0 = 0; j0 < nc; j0 += NR)
        for (size_t k = 0; k < kc; k++)
            for (size_t j = 0; j < NR; j++)
                *dst++ = j0 + j < nc ? b[k * ldb + j0 + j] : 0.0;
}

/* tile[MR][NR] += strip_a (MR x kc) * strip_b (kc x NR), with AVX2 and FMA. */
__attribute__((target("avx2,fma"))) static void kernel_avx2(size_t kc, const double *pa, const double *pb, double *c,
                                                            size_t ldc)
{
    __m256d acc[MR][2];
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_pd();
    for (size_t k = 0; k < kc; k++) {
        __m256d b0 = _mm256_loadu_pd(pb), b1 = _mm256_loadu_pd(pb + 4);
        for (int i = 0; i < MR; i++) {
            __m256d a = _mm256_broadcast_sd(pa + i);
            acc[i][0] = _mm256_fmadd_pd(a, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_pd(a, b1, acc[i][1]);
        }
        pa += MR;
        pb += NR;
    }
    for (int i = 0; i < MR; i++) {
        double *row = c + (size_t)i * ldc;
        _mm256_storeu_pd(row, _mm256_add_pd(_mm256_loadu_pd(row), acc[i][0]));
        _mm256_storeu_pd(row + 4, _mm256_add_pd(_mm256_loadu_pd(row + 4), acc[i][1]));
    }
}

/* The same tile product for a CPU without AVX2 (the compiler vectorises the inner loop with SSE2); a multiply
 * then an add, so each entry may differ from the FMA kernel's in the last bits. */
static void kernel_sse2(size_t kc, const double *pa, const double *pb, double *c, size_t ldc)
{
    double acc[MR][NR] = {{0}};
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

/* C (n x n, zeroed by the caller) += A * B, all row-major. */
static void matmul(size_t n, const double *a, const double *b, double *c)
{
    double *pa = xmalloc(MC * KC * sizeof(double) + 64);
    double *pb = xmalloc((NC + NR) * KC * sizeof(double) + 64);
    double edge[MR * NR];
    void (*kernel)(size_t, const double *, const double *, double *, size_t) =
        snapfn_cpu_has_avx2_fma() ? kernel_avx2 : kernel_sse2;
    for (size_t jc = 0; jc < n; jc += NC) {
        size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < n; pc += KC) {
            size_t kc = n - pc < KC ? n - pc : KC;
            pack_b(b + pc * n + jc, n, kc, nc, pb);
            for (size_t ic = 0; ic < n; ic += MC) {
                size_t mc = n - ic < MC ? n - ic : MC;
                pack_a(a + ic * n + pc, n, mc, kc, pa);
                for (size_t jr = 0; jr < nc; jr += NR) {
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        double *cij = c + (ic + ir) * n + jc + jr;
                        const double *sa = pa + ir * kc, *sb = pb + jr * kc;
                        if (ir + MR <= mc && jr + NR <= nc) {
                            kernel(kc, sa, sb, cij, n);
                            continue;
                        }
                        /* A tile on the bottom or right edge: compute into a scratch tile, copy the valid part. */
                        size_t rows = mc - ir < MR ? mc - ir : MR, cols = nc - jr < NR ? nc - jr : NR;
                        memset(edge, 0, sizeof edge);
                        kernel(kc, sa, sb, edge, NR);
                        for (size_t i = 0; i < rows; i++)
                            for (size_t j = 0; j < cols; j++)
                                cij[i * n + j] += edge[i * NR + j];
                    }
                }
            }
        }
    }
    free(pb);
    free(pa);
}

/* Formatted output into the output buffer; running out of room fails the request rather than truncating. */
void snapfn_init(void)
{
}

static long get_int(const uint8_t *in, size_t in_len, const char *key, long lo, long hi)
{
    char text[32];
    char *end;
    if (!snapfn_json_get(in, in_len, key, text, sizeof text))
        snapfn_abort("matmul: expected input {\"n\":N,\"seed\":S}; '%s' is missing", key);
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < lo || v > hi)
        snapfn_abort("matmul: '%s' must be an integer in %ld..%ld, got '%s'", key, lo, hi, text);
    return v;
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    size_t n = (size_t)get_int(in, in_len, "n", 1, MAX_N);
    long seed = get_int(in, in_len, "seed", 0, 0x7fffffffL);
    size_t bytes = n * n * sizeof(double);
    double *a = xmalloc(bytes), *b = xmalloc(bytes), *c = xmalloc(bytes);
    snapfn_rng rng;
    snapfn_rng_seed(&rng, (uint64_t)seed);
    for (size_t i = 0; i < n * n; i++)
        a[i] = snapfn_rng_double(&rng) * 2 - 1;
    for (size_t i = 0; i < n * n; i++)
        b[i] = snapfn_rng_double(&rng) * 2 - 1;
    memset(c, 0, bytes);
    matmul(n, a, b, c);

    double trace = 0;
    for (size_t i = 0; i < n; i++)
        trace += c[i * n + i];
    snapfn_out o = snapfn_out_begin(out, out_cap, "matmul");
    snapfn_appendf(&o, "{\"n\":%zu,\"seed\":%ld,\"trace\":%.15e,\"samples\":[", n, seed, trace);
    for (int s = 0; s < SAMPLES; s++) {
        size_t i = snapfn_rng_next(&rng) % n, j = snapfn_rng_next(&rng) % n;
        snapfn_appendf(&o, "%s[%zu,%zu,%.15e]", s ? "," : "", i, j, c[i * n + j]);
    }
    snapfn_appendf(&o, "]}");
    free(c);
    free(b);
    free(a);
    return o.len;
}
