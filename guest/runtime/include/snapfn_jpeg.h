/* JPEG (ITU-T T.81) baseline codec and the image helpers the image functions share.
 *
 * Images are 8-bit, interleaved, top row first, with no row padding: RGB8 (3 channels, R G B) or gray8
 * (1 channel). Every call that can fail returns NULL on success or a static message saying what was wrong,
 * which starts with one of "truncated", "corrupt", "unsupported", "too large", "out of memory" or
 * "bad argument". Nothing here keeps state between calls: memory comes from malloc and goes back before the
 * call returns, except the pixels a decode hands over. */
#ifndef SNAPFN_JPEG_H
#define SNAPFN_JPEG_H

#include <stddef.h>
#include <stdint.h>

/* A decoded image. `pixels` holds width * height * channels bytes from malloc: release with
 * snapfn_image_free (or free). */
typedef struct {
    uint8_t *pixels;
    uint32_t width;
    uint32_t height;
    uint32_t channels; /* 1: gray8, 3: RGB8 */
} snapfn_image;

void snapfn_image_free(snapfn_image *img);

/* What the frame header says, without decoding anything. */
typedef struct {
    uint32_t width;
    uint32_t height;
    uint32_t components; /* 1 (grayscale) or 3 (YCbCr, or RGB when an Adobe marker says so) */
} snapfn_jpeg_info;

const char *snapfn_jpeg_read_info(const uint8_t *data, size_t len, snapfn_jpeg_info *info);

/* Decoding refuses images of more pixels than this unless the options raise it (~200 MB of RGB). */
#define SNAPFN_JPEG_DEFAULT_MAX_PIXELS (64u * 1024u * 1024u)

typedef struct {
    /* 0: as stored (1 for a grayscale JPEG, else 3); 1: gray8 (from a colour JPEG this is its Y, the BT.601
     * luma, and the chroma is not transformed at all, which is faster); 3: RGB8 (gray is replicated). */
    uint32_t channels;
    /* 0: SNAPFN_JPEG_DEFAULT_MAX_PIXELS. */
    uint64_t max_pixels;
} snapfn_jpeg_decode_options;

/* Decodes one baseline (SOF0) or extended 8-bit Huffman (SOF1) sequential JPEG with 1 or 3 components and
 * integral sampling factors (4:4:4, 4:2:2, 4:2:0, ...), restart markers and any number of scans. Progressive,
 * lossless, hierarchical, arithmetic-coded, 12-bit and CMYK images are refused as "unsupported". `options`
 * may be NULL. On success `*out` owns new pixels and `*consumed` (if not NULL) is the offset just past the
 * EOI marker, where the next frame of a Motion JPEG stream starts. On failure `*out` is zeroed. */
const char *snapfn_jpeg_decode(const uint8_t *data, size_t len, const snapfn_jpeg_decode_options *options,
                               snapfn_image *out, size_t *consumed);

typedef enum {
    SNAPFN_JPEG_420 = 0, /* chroma halved both ways: the usual choice for photos */
    SNAPFN_JPEG_422 = 1, /* chroma halved horizontally */
    SNAPFN_JPEG_444 = 2, /* full-resolution chroma */
} snapfn_jpeg_subsampling;

typedef struct {
    int quality;                         /* 1..100, scaling the T.81 Annex K tables; 0 means 75 */
    snapfn_jpeg_subsampling subsampling; /* ignored for gray input */
    uint16_t restart_interval;           /* MCUs between RSTn markers; 0: none */
} snapfn_jpeg_encode_options;

/* The most bytes snapfn_jpeg_encode can write for such an image, whatever the pixels and options. It is
 * several times the raw size (the worst case of every coefficient at its longest code); real images need far
 * less, so callers with a smaller buffer may just try and handle "too large". */
size_t snapfn_jpeg_encode_bound(uint32_t width, uint32_t height, uint32_t channels);

/* Encodes gray8 (channels 1, one component) or RGB8 (channels 3, YCbCr) pixels as a baseline JFIF JPEG with
 * the Annex K Huffman tables. `options` may be NULL (quality 75, 4:2:0). Writes at most `out_cap` bytes and
 * sets `*out_len`; fails with "too large: output buffer ..." if they do not fit. */
const char *snapfn_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                               const snapfn_jpeg_encode_options *options, uint8_t *out, size_t out_cap,
                               size_t *out_len);

/* Image helpers on raw interleaved buffers of `channels` bytes a pixel. Source and destination must not
 * overlap unless said otherwise. */

/* dst receives the image turned a quarter turn clockwise: `height` pixels wide and `width` high. */
void snapfn_image_rotate90_cw(const uint8_t *src, uint32_t width, uint32_t height, uint32_t channels, uint8_t *dst);

/* gray[i] = round(0.299 R + 0.587 G + 0.114 B) (ITU-R BT.601 luma). gray may equal rgb (in place). */
void snapfn_image_rgb_to_gray(const uint8_t *rgb, size_t pixel_count, uint8_t *gray);

/* Bilinear resampling with pixel centres aligned (a destination pixel centre maps to
 * (x + 0.5) * src_w / dst_w - 0.5 in the source, clamped to the edges). No low-pass filter first, so strong
 * downscaling aliases, as in most ML preprocessing. All sizes must be nonzero. */
void snapfn_image_resize_bilinear(const uint8_t *src, uint32_t src_w, uint32_t src_h, uint32_t channels,
                                  uint8_t *dst, uint32_t dst_w, uint32_t dst_h);

#endif
