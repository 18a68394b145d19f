/* Speed of the codecs, built like the guest (-O2, no sanitizers) but run natively. Prints figures; asserts
 * nothing (timings belong in a benchmark, not a test). Each figure is the best of 5 rounds of process CPU
 * time, which a busy machine disturbs less than wall time. With libjpeg present its figures are printed
 * beside ours for scale.
 *
 * usage: bench_codecs [TEXT_FILE...]   (real text to time gzip on, beside the generated inputs) */
#define _POSIX_C_SOURCE 199309L
#include <time.h>

#include "inputs.h"
#include "snapfn_deflate.h"
#include "snapfn_jpeg.h"
#ifdef HAVE_LIBJPEG
#include "ref_libjpeg.h"
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Seconds per run of `body`: the best of 5 rounds of `reps` runs. */
#define BEST(reps, body)                                                                                         \
    ({                                                                                                           \
        double best_ = 1e30;                                                                                     \
        for (int round_ = 0; round_ < 5; round_++) {                                                             \
            double t0_ = now();                                                                                  \
            for (int rep_ = 0; rep_ < (reps); rep_++) {                                                          \
                body;                                                                                            \
            }                                                                                                    \
            double per_ = (now() - t0_) / (reps);                                                                \
            best_ = per_ < best_ ? per_ : best_;                                                                 \
        }                                                                                                        \
        best_;                                                                                                   \
    })

/* A 640x480 frame of smooth colour with edges and texture, like a camera frame. */
static uint8_t *frame(int w, int h, int seed)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double fx = x / 640.0, fy = y / 480.0;
            int edge = ((x / 80 + y / 60 + seed) & 1) * 40;
            double v[3] = {128 + 90 * sin(6 * fx + 2 * fy + seed), 128 + 80 * cos(4 * fy - 3 * fx),
                           110 + 70 * sin(9 * fx * fy)};
            for (int c = 0; c < 3; c++) {
                double s = v[c] + edge + 8 * sin(x * 0.7) * sin(y * 0.9);
                p[((size_t)y * w + x) * 3 + c] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
            }
        }
    return p;
}

int main(int argc, char **argv)
{
    const int w = 640, h = 480, frames = 30;
    uint8_t *px = frame(w, h, 1);
    uint8_t *gray = malloc((size_t)w * h);
    size_t cap = snapfn_jpeg_encode_bound(w, h, 3), len = 0, len444 = 0, glen = 0;
    uint8_t *jpg = malloc(cap), *gjpg = malloc(cap);
    snapfn_jpeg_encode_options o420 = {.quality = 75, .subsampling = SNAPFN_JPEG_420};
    snapfn_jpeg_encode_options o444 = {.quality = 90, .subsampling = SNAPFN_JPEG_444};
    snapfn_jpeg_decode_options as_gray = {.channels = 1};
    snapfn_image img;
    snapfn_image_rgb_to_gray(px, (size_t)w * h, gray);

    printf("JPEG, %dx%d frame (ms per frame, best of 5 rounds of %d):\n", w, h, frames);
    double e444 = BEST(frames, snapfn_jpeg_encode(px, w, h, 3, &o444, jpg, cap, &len444));
    double e420 = BEST(frames, snapfn_jpeg_encode(px, w, h, 3, &o420, jpg, cap, &len));
    double d420 = BEST(frames, snapfn_jpeg_decode(jpg, len, NULL, &img, NULL); snapfn_image_free(&img));
    double dgray = BEST(frames, snapfn_jpeg_decode(jpg, len, &as_gray, &img, NULL); snapfn_image_free(&img));
    double egray = BEST(frames, snapfn_jpeg_encode(gray, w, h, 1, &o420, gjpg, cap, &glen));
    printf("  encode RGB q90 4:4:4       %6.2f ms  (%zu bytes)\n", e444 * 1e3, len444);
    printf("  encode RGB q75 4:2:0       %6.2f ms  (%zu bytes)\n", e420 * 1e3, len);
    printf("  decode 4:2:0 -> RGB        %6.2f ms\n", d420 * 1e3);
    printf("  decode 4:2:0 -> gray (Y)   %6.2f ms\n", dgray * 1e3);
    printf("  encode gray q75            %6.2f ms  (%zu bytes)\n", egray * 1e3, glen);
    printf("  encode + decode RGB 4:2:0  %6.2f ms; %d frames %.0f ms\n", (e420 + d420) * 1e3, frames,
           (e420 + d420) * 1e3 * frames);
    printf("  MJPEG to grayscale (decode to gray + encode gray) %.2f ms a frame, %.0f ms for %d frames\n",
           (dgray + egray) * 1e3, (dgray + egray) * 1e3 * frames, frames);
    uint8_t *rot = malloc((size_t)w * h * 3), *small = malloc(224 * 224 * 3);
    printf("  rotate 90 RGB              %6.2f ms\n", BEST(frames, snapfn_image_rotate90_cw(px, w, h, 3, rot)) * 1e3);
    printf("  RGB -> gray                %6.2f ms\n",
           BEST(frames, snapfn_image_rgb_to_gray(px, (size_t)w * h, gray)) * 1e3);
    printf("  resize to 224x224          %6.2f ms\n",
           BEST(frames, snapfn_image_resize_bilinear(px, w, h, 3, small, 224, 224)) * 1e3);
#ifdef HAVE_LIBJPEG
    {
        lj_options lo = {.quality = 75, .h0 = 2, .v0 = 2};
        size_t llen = 0;
        int lw, lh;
        double le = BEST(frames, free(lj_encode(px, w, h, 3, &lo, &llen)));
        double ld = BEST(frames, free(lj_decode(jpg, len, 3, &lw, &lh)));
        printf("  for scale, libjpeg-turbo (SIMD): encode q75 4:2:0 %.2f ms, decode %.2f ms\n", le * 1e3, ld * 1e3);
    }
#endif

    printf("gzip (MB/s of input, best of 5 rounds; ratio = input / output):\n");
    struct {
        const char *name;
        uint8_t *data;
        size_t len;
    } in[16] = {
        {"generated text 2 MB", make_text(2 << 20, 4), 2 << 20},
        {"generated JSON 148 KB", make_json(148 * 1024, 5), 148 * 1024},
        {"random 2 MB", make_random(2 << 20, 6), 2 << 20},
    };
    int nin = 3;
    for (int i = 1; i < argc && nin < 16; i++) {
        size_t n = 0;
        uint8_t *d = read_file(argv[i], &n);
        if (d == NULL)
            continue;
        const char *base = strrchr(argv[i], '/');
        in[nin].name = base ? base + 1 : argv[i];
        in[nin].data = d;
        in[nin].len = n;
        nin++;
    }
    for (int k = 0; k < nin; k++) {
        size_t bound = snapfn_gzip_bound(in[k].len), out_len = 0, back_len = 0;
        uint8_t *gz = malloc(bound), *back = malloc(in[k].len + 1);
        int reps = in[k].len < (1 << 20) ? 10 : 1;
        static const int levels[] = {1, 6, 9};
        for (int li = 0; li < 3; li++) {
            double t = BEST(reps, snapfn_gzip(in[k].data, in[k].len, levels[li], gz, bound, &out_len));
            printf("  %-22s %8zu B  level %d: %6.1f MB/s, ratio %6.2f", in[k].name, in[k].len, levels[li],
                   in[k].len / t / 1e6, (double)in[k].len / out_len);
            if (levels[li] == 6) {
                double u = BEST(reps, snapfn_gunzip(gz, out_len, back, in[k].len + 1, &back_len));
                printf("   gunzip %6.1f MB/s", in[k].len / u / 1e6);
            }
            printf("\n");
        }
        free(gz);
        free(back);
        free(in[k].data);
    }
    free(px);
    free(gray);
    free(jpg);
    free(gjpg);
    free(rot);
    free(small);
    return 0;
}
