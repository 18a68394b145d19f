/* Image helpers on interleaved 8-bit buffers (declared in snapfn_jpeg.h). */
#include "snapfn.h"
#include "snapfn_jpeg.h"

void snapfn_image_rotate90_cw(const uint8_t *src, uint32_t width, uint32_t height, uint32_t channels, uint8_t *dst)
{
    /* Source (x, y) lands at destination (height-1-y, x) in an image `height` wide. Walked in 32x32 tiles so
     * that both the rows read and the rows written stay in cache. */
    const uint32_t tile = 32;
    const size_t dst_row = (size_t)height * channels;
    for (uint32_t ty = 0; ty < height; ty += tile) {
        uint32_t yend = ty + tile < height ? ty + tile : height;
        for (uint32_t tx = 0; tx < width; tx += tile) {
            uint32_t xend = tx + tile < width ? tx + tile : width;
            for (uint32_t y = ty; y < yend; y++) {
                const uint8_t *s = src + ((size_t)y * width + tx) * channels;
                uint8_t *d = dst + (size_t)tx * dst_row + (size_t)(height - 1 - y) * channels;
                if (channels == 3) {
                    for (uint32_t x = tx; x < xend; x++, s += 3, d += dst_row) {
                        d[0] = s[0];
                        d[1] = s[1];
                        d[2] = s[2];
                    }
                } else if (channels == 1) {
                    for (uint32_t x = tx; x < xend; x++, s++, d += dst_row)
                        d[0] = s[0];
                } else {
                    for (uint32_t x = tx; x < xend; x++, s += channels, d += dst_row)
                        for (uint32_t c = 0; c < channels; c++)
                            d[c] = s[c];
                }
            }
        }
    }
}

void snapfn_image_rgb_to_gray(const uint8_t *rgb, size_t pixel_count, uint8_t *gray)
{
    /* 0.299, 0.587 and 0.114 in 16 fractional bits; they add up to exactly 65536, so white stays 255. */
    for (size_t i = 0; i < pixel_count; i++) {
        const uint8_t *p = rgb + 3 * i;
        gray[i] = (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 32768u) >> 16);
    }
}

/* For destination index i of n mapped onto a source of m: the left source sample and the weight of the
 * right one in 1/256ths. */
static inline void map_coordinate(uint32_t i, uint32_t n, uint32_t m, uint32_t *lo, uint32_t *frac)
{
    float s = ((float)i + 0.5f) * (float)m / (float)n - 0.5f;
    if (s <= 0) {
        *lo = 0;
        *frac = 0;
        return;
    }
    uint32_t l = (uint32_t)s;
    if (l >= m - 1) {
        *lo = m - 1;
        *frac = 0;
        return;
    }
    *lo = l;
    *frac = (uint32_t)((s - (float)l) * 256.0f + 0.5f);
}

void snapfn_image_resize_bilinear(const uint8_t *src, uint32_t src_w, uint32_t src_h, uint32_t channels,
                                  uint8_t *dst, uint32_t dst_w, uint32_t dst_h)
{
    for (uint32_t y = 0; y < dst_h; y++) {
        uint32_t y0, fy;
        map_coordinate(y, dst_h, src_h, &y0, &fy);
        uint32_t y1 = y0 + 1 < src_h ? y0 + 1 : y0;
        const uint8_t *row0 = src + (size_t)y0 * src_w * channels, *row1 = src + (size_t)y1 * src_w * channels;
        uint8_t *out = dst + (size_t)y * dst_w * channels;
        for (uint32_t x = 0; x < dst_w; x++) {
            uint32_t x0, fx;
            map_coordinate(x, dst_w, src_w, &x0, &fx);
            uint32_t x1 = x0 + 1 < src_w ? x0 + 1 : x0;
            for (uint32_t c = 0; c < channels; c++) {
                uint32_t a = row0[x0 * channels + c], b = row0[x1 * channels + c];
                uint32_t e = row1[x0 * channels + c], f = row1[x1 * channels + c];
                uint32_t top = a * (256 - fx) + b * fx, bottom = e * (256 - fx) + f * fx;
                out[x * channels + c] = (uint8_t)((top * (256 - fy) + bottom * fy + 32768) >> 16);
            }
        }
    }
}
