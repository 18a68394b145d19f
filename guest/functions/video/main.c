/* video: the paper's video-processing workload (OpenCV: read a clip, convert each frame to gray, write it)
 * on a Motion-JPEG stream — JPEG frames back to back. Each frame is decoded to RGB, converted to BT.601 luma
 * and encoded again as a one-component baseline JPEG at quality 75.
 *
 * Input: one or more JPEG frames concatenated (each from SOI to EOI; bytes between frames are not allowed).
 * Output: the gray frames concatenated in the same order, each the same size as its input frame. */
#include "snapfn.h"
#include "snapfn_jpeg.h"

#define QUALITY 75

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    size_t pos = 0, written = 0;
    int frames = 0;
    snapfn_jpeg_decode_options rgb = {3, 0};
    snapfn_jpeg_encode_options options = {QUALITY, SNAPFN_JPEG_420, 0};
    while (pos < in_len) {
        snapfn_image img;
        size_t used;
        const char *err = snapfn_jpeg_decode(in + pos, in_len - pos, &rgb, &img, &used);
        if (err)
            snapfn_abort("video: expected concatenated JPEG frames; frame %d at byte %zu: %s", frames, pos, err);
        /* In place: gray needs a third of the RGB buffer. */
        snapfn_image_rgb_to_gray(img.pixels, (size_t)img.width * img.height, img.pixels);
        size_t len;
        err = snapfn_jpeg_encode(img.pixels, img.width, img.height, 1, &options, out + written, out_cap - written, &len);
        if (err)
            snapfn_abort("video: encoding frame %d failed: %s", frames, err);
        snapfn_image_free(&img);
        written += len;
        pos += used;
        frames++;
    }
    if (frames == 0)
        snapfn_abort("video: expected concatenated JPEG frames, got no input");
    return written;
}
