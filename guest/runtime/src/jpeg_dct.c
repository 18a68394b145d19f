/* The 8x8 DCT pair of T.81 A.3.3, separable, in single precision.
 *
 * One 8-point transform with the 1/2 C(u) factor folded in, G(u) = 1/2 C(u) sum_x f(x) cos((2x+1) u pi / 16),
 * done once along rows and once along columns gives F(u,v) = 1/4 C(u) C(v) sum sum f cos cos exactly as
 * T.81 defines it. Each 1-D transform splits into an even half (a 4-point DCT of the sums f(x) + f(7-x),
 * 6 multiplies) and an odd half (a 4x4 product with the differences f(x) - f(7-x), 16 multiplies) instead of
 * the 64 multiplies of the definition. */
#include "jpeg_internal.h"

/* ck = cos(k pi / 16) */
#define C1 0.98078528040323044913f
#define C2 0.92387953251128675613f
#define C3 0.83146961230254523708f
#define C4 0.70710678118654752440f
#define C5 0.55557023301960222474f
#define C6 0.38268343236508977173f
#define C7 0.19509032201612826785f

/* odd[j][i] = 1/2 cos((2i+1) u pi / 16) for u = 2j+1: the odd outputs from the differences, and by
 * symmetry the odd inputs' share of the outputs in the inverse. */
static const float odd[4][4] = {
    {0.5f * C1, 0.5f * C3, 0.5f * C5, 0.5f * C7},
    {0.5f * C3, -0.5f * C7, -0.5f * C1, -0.5f * C5},
    {0.5f * C5, -0.5f * C1, 0.5f * C7, 0.5f * C3},
    {0.5f * C7, -0.5f * C5, 0.5f * C3, -0.5f * C1},
};

/* G(0..7) from f(0..7), elements `step` apart, in place. */
static inline void fdct_1d(float *v, int step)
{
    float s0 = v[0] + v[7 * step], s1 = v[step] + v[6 * step], s2 = v[2 * step] + v[5 * step],
          s3 = v[3 * step] + v[4 * step];
    float d0 = v[0] - v[7 * step], d1 = v[step] - v[6 * step], d2 = v[2 * step] - v[5 * step],
          d3 = v[3 * step] - v[4 * step];
    float e0 = s0 + s3, e1 = s1 + s2, e2 = s0 - s3, e3 = s1 - s2;
    v[0] = (0.5f * C4) * (e0 + e1);
    v[4 * step] = (0.5f * C4) * (e0 - e1);
    v[2 * step] = 0.5f * (C2 * e2 + C6 * e3);
    v[6 * step] = 0.5f * (C6 * e2 - C2 * e3);
    for (int j = 0; j < 4; j++)
        v[(2 * j + 1) * step] = odd[j][0] * d0 + odd[j][1] * d1 + odd[j][2] * d2 + odd[j][3] * d3;
}

void snapfn_jpeg_fdct(float block[64])
{
    for (int row = 0; row < 8; row++)
        fdct_1d(block + 8 * row, 1);
    for (int col = 0; col < 8; col++)
        fdct_1d(block + col, 8);
}

/* f(0..7) from G(0..7), elements `step` apart, in place: f(x) = sum_u 1/2 C(u) G(u) cos((2x+1) u pi / 16). */
static inline void idct_1d(float *v, int step)
{
    float g0 = v[0], g2 = v[2 * step], g4 = v[4 * step], g6 = v[6 * step];
    float g1 = v[step], g3 = v[3 * step], g5 = v[5 * step], g7 = v[7 * step];
    float p = (0.5f * C4) * (g0 + g4), q = (0.5f * C4) * (g0 - g4);
    float r = 0.5f * (C2 * g2 + C6 * g6), t = 0.5f * (C6 * g2 - C2 * g6);
    float e[4] = {p + r, q + t, q - t, p - r};
    for (int i = 0; i < 4; i++) {
        float o = odd[0][i] * g1 + odd[1][i] * g3 + odd[2][i] * g5 + odd[3][i] * g7;
        v[i * step] = e[i] + o;
        v[(7 - i) * step] = e[i] - o;
    }
}

void snapfn_jpeg_idct(float block[64], uint8_t *out, size_t stride)
{
    for (int row = 0; row < 8; row++) {
        float *v = block + 8 * row;
        if (v[1] == 0 && v[2] == 0 && v[3] == 0 && v[4] == 0 && v[5] == 0 && v[6] == 0 && v[7] == 0) {
            /* Common after quantization: a row with only its DC term is flat. */
            float flat = (0.5f * C4) * v[0];
            for (int i = 0; i < 8; i++)
                v[i] = flat;
        } else {
            idct_1d(v, 1);
        }
    }
    for (int col = 0; col < 8; col++)
        idct_1d(block + col, 8);
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < 8; x++) {
            /* +128 undoes the level shift, +0.5 rounds (truncation below is towards zero, and anything
             * negative ends at 0 anyway). */
            int v = (int)(block[8 * y + x] + 128.5f);
            out[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        out += stride;
    }
}
