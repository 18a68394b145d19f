/* The reference codec of the JPEG tests: the system's libjpeg (libjpeg-turbo), an independent encoder and
 * decoder to check ours against in both directions. */
#ifndef CODEC_TEST_REF_LIBJPEG_H
#define CODEC_TEST_REF_LIBJPEG_H

#include <setjmp.h>
#include <stdio.h>

#include <jpeglib.h>

typedef struct {
    int quality;
    int h0, v0;           /* sampling factors of component 0 (others 1x1) */
    int restart_interval; /* in MCUs */
    int optimize;         /* per-image Huffman tables instead of Annex K's */
    int progressive;
    int arithmetic;
    int separate_scans;   /* one sequential scan per component */
    int cmyk;
    int gray_sampling;    /* for gray input: write this sampling factor (h = v) into the SOF */
    int rgb_planes;       /* store R, G, B untransformed (libjpeg marks it with an Adobe APP14, transform 0) */
} lj_options;

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} lj_error;

static void lj_error_exit(j_common_ptr cinfo)
{
    lj_error *e = (lj_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void lj_quiet(j_common_ptr cinfo, int level)
{
    (void)cinfo;
    (void)level;
}

/* Encodes 8-bit pixels of `comps` channels (1 gray, 3 RGB, 4 CMYK); returns a malloc'd JPEG or NULL. */
static __attribute__((unused)) uint8_t *lj_encode(const uint8_t *pixels, int w, int h, int comps,
                                                  const lj_options *o, size_t *out_len)
{
    struct jpeg_compress_struct c;
    lj_error err;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = lj_error_exit;
    if (setjmp(err.jump)) {
        fprintf(stderr, "libjpeg encode: %s\n", err.message);
        jpeg_destroy_compress(&c);
        free(buf);
        return NULL;
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    if (comps == 3 && o->rgb_planes)
        jpeg_set_colorspace(&c, JCS_RGB);
    jpeg_set_quality(&c, o->quality, TRUE);
    if (comps == 3) {
        c.comp_info[0].h_samp_factor = o->h0;
        c.comp_info[0].v_samp_factor = o->v0;
    }
    if (comps == 1 && o->gray_sampling) {
        c.comp_info[0].h_samp_factor = o->gray_sampling;
        c.comp_info[0].v_samp_factor = o->gray_sampling;
    }
    c.restart_interval = (unsigned)o->restart_interval;
    c.optimize_coding = o->optimize ? TRUE : FALSE;
    c.arith_code = o->arithmetic ? TRUE : FALSE;
    if (o->progressive)
        jpeg_simple_progression(&c);
    static jpeg_scan_info scans[4];
    if (o->separate_scans) {
        for (int i = 0; i < c.num_components; i++) {
            scans[i].comps_in_scan = 1;
            scans[i].component_index[0] = i;
            scans[i].Ss = 0;
            scans[i].Se = 63;
            scans[i].Ah = 0;
            scans[i].Al = 0;
        }
        c.scan_info = scans;
        c.num_scans = c.num_components;
    }
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    uint8_t *out = malloc(size);
    memcpy(out, buf, size);
    free(buf);
    *out_len = size;
    return out;
}

/* Decodes to RGB (want 3) or gray (want 1) with libjpeg's defaults (accurate integer IDCT, fancy
 * upsampling); returns malloc'd pixels or NULL. */
static __attribute__((unused)) uint8_t *lj_decode(const uint8_t *data, size_t len, int want, int *w, int *h)
{
    struct jpeg_decompress_struct d;
    lj_error err;
    uint8_t *pixels = NULL;
    d.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = lj_error_exit;
    err.mgr.emit_message = lj_quiet;
    if (setjmp(err.jump)) {
        fprintf(stderr, "libjpeg decode: %s\n", err.message);
        jpeg_destroy_decompress(&d);
        free(pixels);
        return NULL;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, data, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = want == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&d);
    *w = (int)d.output_width;
    *h = (int)d.output_height;
    pixels = malloc((size_t)*w * *h * want);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = pixels + (size_t)d.output_scanline * *w * want;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return pixels;
}

#endif
