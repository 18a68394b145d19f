/* What jpeg_decode.c, jpeg_encode.c and jpeg_dct.c share: the T.81 tables and the 8x8 transforms. */
#ifndef SNAPFN_JPEG_INTERNAL_H
#define SNAPFN_JPEG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Markers (T.81 table B.1). */
enum {
    JPEG_SOF0 = 0xC0, /* baseline DCT */
    JPEG_SOF1 = 0xC1, /* extended sequential DCT, Huffman */
    JPEG_SOF2 = 0xC2, /* progressive DCT, Huffman */
    JPEG_SOF3 = 0xC3, /* lossless, Huffman */
    JPEG_DHT = 0xC4,
    JPEG_DAC = 0xCC, /* arithmetic coding conditioning */
    JPEG_RST0 = 0xD0,
    JPEG_SOI = 0xD8,
    JPEG_EOI = 0xD9,
    JPEG_SOS = 0xDA,
    JPEG_DQT = 0xDB,
    JPEG_DNL = 0xDC,
    JPEG_DRI = 0xDD,
    JPEG_APP0 = 0xE0,
    JPEG_APP14 = 0xEE,
    JPEG_COM = 0xFE,
};

/* jpeg_zigzag[k] is the row-major index of the k-th coefficient in zig-zag order (T.81 figure A.6). */
extern const uint8_t snapfn_jpeg_zigzag[64];

/* T.81 Annex K tables K.1 and K.2 (row-major), the quality-50 quantizers. */
extern const uint8_t snapfn_jpeg_std_luma_quant[64];
extern const uint8_t snapfn_jpeg_std_chroma_quant[64];

/* T.81 Annex K tables K.3 to K.6 in DHT form: BITS (codes of each length 1..16) and HUFFVAL. */
typedef struct {
    uint8_t bits[16];
    uint8_t values[162];
    unsigned count;
} snapfn_jpeg_huffman_spec;

extern const snapfn_jpeg_huffman_spec snapfn_jpeg_std_dc_luma;
extern const snapfn_jpeg_huffman_spec snapfn_jpeg_std_dc_chroma;
extern const snapfn_jpeg_huffman_spec snapfn_jpeg_std_ac_luma;
extern const snapfn_jpeg_huffman_spec snapfn_jpeg_std_ac_chroma;

/* Forward DCT (T.81 A.3.3) of an 8x8 block of level-shifted samples, row-major, in place: afterwards
 * block[v * 8 + u] = F(u, v). */
void snapfn_jpeg_fdct(float block[64]);

/* Inverse DCT of dequantized coefficients (row-major, destroyed), level-shifted back, rounded and clamped
 * to 0..255, into 8 rows of 8 bytes `stride` apart. */
void snapfn_jpeg_idct(float block[64], uint8_t *out, size_t stride);

#endif
