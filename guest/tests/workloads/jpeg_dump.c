/* Test helper: decodes every JPEG frame of a file (one JPEG or a Motion-JPEG stream) with the runtime's
 * decoder and writes each to stdout as "width height channels\n" and the raw pixels, so that run_tests.py can
 * compare pixels in Python. Channels are as stored, or forced with a second argument (1 or 3). */
#include <stdio.h>
#include <stdlib.h>

#include "snapfn.h"
#include "snapfn_jpeg.h"

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    if (!f) {
        fprintf(stderr, "usage: jpeg_dump FILE [channels]\n");
        return 2;
    }
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(len);
    if (fread(data, 1, len, f) != len)
        return 2;
    fclose(f);
    snapfn_jpeg_decode_options options = {argc > 2 ? (uint32_t)atoi(argv[2]) : 0, 0};
    for (size_t pos = 0; pos < len;) {
        snapfn_image img;
        size_t used;
        const char *err = snapfn_jpeg_decode(data + pos, len - pos, &options, &img, &used);
        if (err) {
            fprintf(stderr, "frame at byte %zu: %s\n", pos, err);
            return 1;
        }
        printf("%u %u %u\n", img.width, img.height, img.channels);
        fwrite(img.pixels, 1, (size_t)img.width * img.height * img.channels, stdout);
        snapfn_image_free(&img);
        pos += used;
    }
    free(data);
    return 0;
}
