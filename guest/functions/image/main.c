/* image: the paper's image-processing workload (Pillow) — decode a JPEG, turn it a quarter turn clockwise and
 * encode it again as a baseline JPEG at quality 85 (4:2:0 chroma for colour).
 *
 * Input: a baseline or extended-sequential JPEG (gray or colour). Output: the rotated JPEG, `height` pixels
 * wide and `width` high, gray if the input was gray. */
#include "snapfn.h"
#include "snapfn_jpeg.h"

#define QUALITY 85

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    snapfn_image img;
    const char *err = snapfn_jpeg_decode(in, in_len, NULL, &img, NULL);
    if (err)
        snapfn_abort("image: expected a baseline JPEG as input, decoding failed: %s", err);
    uint8_t *turned = xmalloc((size_t)img.width * img.height * img.channels);
    snapfn_image_rotate90_cw(img.pixels, img.width, img.height, img.channels, turned);
    snapfn_jpeg_encode_options options = {QUALITY, SNAPFN_JPEG_420, 0};
    size_t len;
    err = snapfn_jpeg_encode(turned, img.height, img.width, img.channels, &options, out, out_cap, &len);
    if (err)
        snapfn_abort("image: encoding the %ux%u result failed: %s", img.height, img.width, err);
    free(turned);
    snapfn_image_free(&img);
    return len;
}
