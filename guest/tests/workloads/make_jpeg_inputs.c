/* Writes the JPEG inputs of image, video and recognition (guest/functions/<name>/inputs/) with the runtime's
 * own encoder, built for the host:
 *   gcc -std=c11 -O2 -Iguest/runtime/include -Iguest/runtime/src make_jpeg_inputs.c shim.c \
 *       guest/runtime/src/jpeg*.c guest/runtime/src/image*.c -lm && ./a.out guest/functions
 * (run_tests.py does this when an input is missing). The pictures are procedural landscapes (sky gradient,
 * sun, hills, textured ground, houses) so that they compress like photographs rather than like noise or flat
 * colour; the quality is searched so that each file lands near the size the paper's inputs have. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapfn.h"
#include "snapfn_jpeg.h"

/* Smooth value noise in [0, 1): a lattice of hashed values, bilinearly blended with a smoothstep. */
static double lattice(uint64_t seed, int64_t x, int64_t y)
{
    snapfn_rng r;
    snapfn_rng_seed(&r, seed ^ (uint64_t)x * 0x9e3779b97f4a7c15ULL ^ (uint64_t)y * 0xc2b2ae3d27d4eb4fULL);
    snapfn_rng_next(&r);
    return snapfn_rng_double(&r);
}

static double noise(uint64_t seed, double x, double y)
{
    double fx = floor(x), fy = floor(y);
    double tx = x - fx, ty = y - fy;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    int64_t ix = (int64_t)fx, iy = (int64_t)fy;
    double a = lattice(seed, ix, iy), b = lattice(seed, ix + 1, iy);
    double c = lattice(seed, ix, iy + 1), d = lattice(seed, ix + 1, iy + 1);
    return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}

static double fractal(uint64_t seed, double x, double y, int octaves)
{
    double sum = 0, amp = 0.5;
    for (int o = 0; o < octaves; o++) {
        sum += amp * noise(seed + (uint64_t)o, x, y);
        x *= 2.03;
        y *= 2.03;
        amp *= 0.5;
    }
    return sum;
}

static uint8_t clamp8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* A landscape of width w, height h, seen from horizontal offset `pan` (video frames pan across it);
 * `detail` scales the ground texture, the knob that sets how large the JPEG gets. */
static void landscape(uint8_t *rgb, int w, int h, uint64_t seed, double pan, double detail)
{
    double horizon = h * 0.45;
    double sun_x = w * 0.7 + pan * 0.2, sun_y = h * 0.18, sun_r = h * 0.07;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double wx = x + pan;
            double hill = horizon + h * 0.12 * (fractal(seed, wx / (w * 0.35), 0.5, 4) - 0.5) * 2;
            double r, g, b;
            if (y < hill) {
                double t = y / hill;
                r = 70 + 110 * t;
                g = 120 + 90 * t;
                b = 210 + 30 * t;
                double cloud = fractal(seed + 100, wx / 90.0, y / 40.0, 5);
                if (cloud > 0.55) {
                    double k = (cloud - 0.55) * 3;
                    r += (250 - r) * k;
                    g += (250 - g) * k;
                    b += (250 - b) * k;
                }
                double dx = x - sun_x, dy = y - sun_y;
                if (dx * dx + dy * dy < sun_r * sun_r) {
                    r = 255;
                    g = 230;
                    b = 140;
                }
            } else {
                double depth = (y - hill) / (h - hill + 1);
                double tex = fractal(seed + 200, wx / (6 + 30 * depth), y / (4 + 20 * depth), 6);
                r = 60 + 60 * tex * detail + 40 * depth;
                g = 110 + 80 * tex * detail;
                b = 40 + 30 * tex * detail;
                /* Houses: a row of boxes with roofs standing on the hill line. */
                double cell = fmod(wx, 160.0);
                if (cell < 0)
                    cell += 160;
                if (cell > 40 && cell < 110 && y < hill + 0.06 * h) {
                    int house = (int)floor(wx / 160.0);
                    r = 150 + 60 * lattice(seed + 300, house, 0);
                    g = 90 + 50 * lattice(seed + 301, house, 0);
                    b = 70;
                    if (fmod(cell, 20.0) > 12 && fmod((double)y, 18.0) > 8) {
                        r = 240;
                        g = 230;
                        b = 120;
                    }
                }
            }
            uint8_t *p = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;
            p[0] = clamp8(r);
            p[1] = clamp8(g);
            p[2] = clamp8(b);
        }
}

static size_t encode(const uint8_t *rgb, int w, int h, int quality, uint8_t *out, size_t cap)
{
    snapfn_jpeg_encode_options o = {quality, SNAPFN_JPEG_420, 0};
    size_t len;
    const char *err = snapfn_jpeg_encode(rgb, (uint32_t)w, (uint32_t)h, 3, &o, out, cap, &len);
    if (err) {
        fprintf(stderr, "encode failed: %s\n", err);
        exit(1);
    }
    return len;
}

/* The quality (30..98) whose file size is nearest `target`. */
static int pick_quality(const uint8_t *rgb, int w, int h, size_t target, uint8_t *out, size_t cap)
{
    int best = 75;
    size_t best_err = (size_t)-1;
    for (int q = 30; q <= 98; q++) {
        size_t len = encode(rgb, w, h, q, out, cap);
        size_t err = len > target ? len - target : target - len;
        if (err < best_err) {
            best_err = err;
            best = q;
        }
    }
    return best;
}

static void write_file(const char *dir, const char *name, const char *file, const uint8_t *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/inputs/%s", dir, name, file);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    printf("%s: %zu bytes\n", path, len);
}

static void still(const char *dir, const char *name, const char *file, int w, int h, uint64_t seed, size_t target)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    size_t cap = (size_t)w * h * 3 * 2 + 65536;
    uint8_t *out = malloc(cap);
    landscape(rgb, w, h, seed, 0, 1.0);
    int q = pick_quality(rgb, w, h, target, out, cap);
    printf("quality %d: ", q);
    write_file(dir, name, file, out, encode(rgb, w, h, q, out, cap));
    free(out);
    free(rgb);
}

static void clip(const char *dir, const char *file, uint64_t seed, double speed, size_t target)
{
    enum { W = 640, H = 480, FRAMES = 30 };
    uint8_t *rgb = malloc((size_t)W * H * 3 * FRAMES);
    size_t cap = (size_t)W * H * 3 * 2 * FRAMES;
    uint8_t *out = malloc(cap);
    for (int f = 0; f < FRAMES; f++)
        landscape(rgb + (size_t)f * W * H * 3, W, H, seed, f * speed, 0.35);
    int best_q = 75;
    size_t best_err = (size_t)-1;
    for (int q = 10; q <= 95; q++) {
        size_t total = 0;
        for (int f = 0; f < FRAMES; f++)
            total += encode(rgb + (size_t)f * W * H * 3, W, H, q, out, cap);
        size_t err = total > target ? total - target : target - total;
        if (err < best_err) {
            best_err = err;
            best_q = q;
        }
    }
    size_t len = 0;
    for (int f = 0; f < FRAMES; f++)
        len += encode(rgb + (size_t)f * W * H * 3, W, H, best_q, out + len, cap - len);
    printf("quality %d: ", best_q);
    write_file(dir, "video", file, out, len);
    free(out);
    free(rgb);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "guest/functions";
    still(dir, "image", "a.jpg", 1024, 768, 1, 101 * 1024);
    still(dir, "image", "b.jpg", 1024, 768, 2, 103 * 1024);
    still(dir, "recognition", "a.jpg", 640, 480, 3, 60 * 1024);
    still(dir, "recognition", "b.jpg", 800, 600, 4, 80 * 1024);
    clip(dir, "a.mjpeg", 5, 6.0, 338 * 1024);
    clip(dir, "b.mjpeg", 6, 9.0, 381 * 1024);
    return 0;
}
