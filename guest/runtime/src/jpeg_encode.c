/* Baseline JPEG encoder (ITU-T T.81 Annexes A, B, C, F.1) writing JFIF files.
 *
 * One interleaved scan with the Annex K Huffman tables. Pixels are converted one MCU row at a time into a
 * strip of float samples (edges replicated into partial MCUs), so memory stays under 64 KB for any image
 * size. */
#include "snapfn.h"
#include "snapfn_jpeg.h"
#include "jpeg_internal.h"

typedef struct {
    uint16_t code[256]; /* EHUFCO */
    uint8_t size[256];  /* EHUFSI; 0 for a value the table lacks */
} huffman_code;

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;
    int overflow;
    uint64_t acc; /* pending bits, the oldest highest */
    int nbits;    /* < 8 between calls */
} writer;

typedef struct {
    float recip[64]; /* 1 / quantizer, row-major */
    const huffman_code *dc, *ac;
    int pred;
} enc_component;

/* ---- Output. ---- */

static void put_byte(writer *w, uint8_t b)
{
    if (w->pos < w->cap)
        w->out[w->pos++] = b;
    else
        w->overflow = 1;
}

static void put_u16(writer *w, unsigned v)
{
    put_byte(w, (uint8_t)(v >> 8));
    put_byte(w, (uint8_t)v);
}

static void put_marker(writer *w, unsigned marker, unsigned body_len)
{
    put_byte(w, 0xFF);
    put_byte(w, (uint8_t)marker);
    put_u16(w, body_len + 2);
}

/* Appends `size` (<= 16) bits, stuffing a zero byte after every FF (T.81 F.1.2.3). */
static inline void put_bits(writer *w, uint32_t bits, int size)
{
    w->acc = (w->acc << size) | (bits & ((1u << size) - 1));
    w->nbits += size;
    if (w->nbits < 8)
        return;
    if (w->cap - w->pos >= 6) {
        while (w->nbits >= 8) {
            uint8_t b = (uint8_t)(w->acc >> (w->nbits - 8));
            w->out[w->pos++] = b;
            if (b == 0xFF)
                w->out[w->pos++] = 0;
            w->nbits -= 8;
        }
    } else {
        while (w->nbits >= 8) {
            uint8_t b = (uint8_t)(w->acc >> (w->nbits - 8));
            put_byte(w, b);
            if (b == 0xFF)
                put_byte(w, 0);
            w->nbits -= 8;
        }
    }
}

/* Pads the last byte of entropy-coded data with 1 bits (T.81 F.1.2.3). */
static void flush_bits(writer *w)
{
    if (w->nbits > 0)
        put_bits(w, 0x7F, 8 - w->nbits);
    w->acc = 0;
}

/* ---- Tables. ---- */

/* EHUFCO/EHUFSI from BITS and HUFFVAL (T.81 C.2, figures C.1 to C.3). */
static void build_code(huffman_code *h, const snapfn_jpeg_huffman_spec *spec)
{
    memset(h->size, 0, sizeof h->size);
    unsigned code = 0, k = 0;
    for (unsigned len = 1; len <= 16; len++) {
        for (unsigned i = 0; i < spec->bits[len - 1]; i++, k++, code++) {
            h->code[spec->values[k]] = (uint16_t)code;
            h->size[spec->values[k]] = (uint8_t)len;
        }
        code <<= 1;
    }
}

/* The Annex K table scaled for a quality 1..100: 50 keeps it, lower scales up by 50/quality, higher scales
 * down linearly to all ones at 100 (the usual convention, so quality numbers mean what users expect). */
static void scale_quant(const uint8_t *base, int quality, uint8_t *out)
{
    int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
    for (int i = 0; i < 64; i++) {
        int q = (base[i] * scale + 50) / 100;
        out[i] = (uint8_t)(q < 1 ? 1 : q > 255 ? 255 : q);
    }
}

static void write_headers(writer *w, uint32_t width, uint32_t height, int ncomp, int hy, int vy,
                          const uint8_t quant[2][64], unsigned restart_interval)
{
    put_byte(w, 0xFF);
    put_byte(w, JPEG_SOI);

    /* JFIF APP0: identifier, version 1.01, no density units, 1:1 aspect, no thumbnail. */
    static const uint8_t jfif[14] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
    put_marker(w, JPEG_APP0, sizeof jfif);
    for (size_t i = 0; i < sizeof jfif; i++)
        put_byte(w, jfif[i]);

    int ntables = ncomp == 1 ? 1 : 2;
    put_marker(w, JPEG_DQT, 65u * (unsigned)ntables);
    for (int t = 0; t < ntables; t++) {
        put_byte(w, (uint8_t)t); /* 8-bit entries, table t */
        for (int k = 0; k < 64; k++)
            put_byte(w, quant[t][snapfn_jpeg_zigzag[k]]);
    }

    put_marker(w, JPEG_SOF0, 6 + 3u * (unsigned)ncomp);
    put_byte(w, 8);
    put_u16(w, height);
    put_u16(w, width);
    put_byte(w, (uint8_t)ncomp);
    for (int c = 0; c < ncomp; c++) {
        put_byte(w, (uint8_t)(c + 1));
        put_byte(w, c == 0 ? (uint8_t)(hy << 4 | vy) : 0x11);
        put_byte(w, c == 0 ? 0 : 1);
    }

    const snapfn_jpeg_huffman_spec *specs[4] = {&snapfn_jpeg_std_dc_luma, &snapfn_jpeg_std_ac_luma,
                                                &snapfn_jpeg_std_dc_chroma, &snapfn_jpeg_std_ac_chroma};
    const uint8_t classes[4] = {0x00, 0x10, 0x01, 0x11};
    for (int t = 0; t < 2 * ntables; t++) {
        put_marker(w, JPEG_DHT, 17 + specs[t]->count);
        put_byte(w, classes[t]);
        for (int i = 0; i < 16; i++)
            put_byte(w, specs[t]->bits[i]);
        for (unsigned i = 0; i < specs[t]->count; i++)
            put_byte(w, specs[t]->values[i]);
    }

    if (restart_interval != 0) {
        put_marker(w, JPEG_DRI, 2);
        put_u16(w, restart_interval);
    }

    put_marker(w, JPEG_SOS, 4 + 2u * (unsigned)ncomp);
    put_byte(w, (uint8_t)ncomp);
    for (int c = 0; c < ncomp; c++) {
        put_byte(w, (uint8_t)(c + 1));
        put_byte(w, c == 0 ? 0x00 : 0x11);
    }
    put_byte(w, 0);  /* Ss */
    put_byte(w, 63); /* Se */
    put_byte(w, 0);  /* Ah, Al */
}

/* ---- Blocks. ---- */

/* Number of bits of |v| (the SSSS category of T.81 F.1.2). */
static inline int category(int v)
{
    unsigned a = (unsigned)(v < 0 ? -v : v);
    return a == 0 ? 0 : 32 - __builtin_clz(a);
}

/* Transforms, quantizes and Huffman-codes one block of level-shifted samples (destroyed). */
static void encode_block(writer *w, enc_component *c, float block[64])
{
    snapfn_jpeg_fdct(block);
    /* Quantize in row-major order (a loop the compiler vectorizes), rounding half away from zero. 8-bit
     * samples keep |F| <= 1024; the clamp keeps DC differences within category 11 and AC values within
     * category 10 even at quality 100 (a DC of -1024 becomes -1023: 1/8 of a level). */
    int32_t q[64];
    for (int i = 0; i < 64; i++) {
        float v = block[i] * c->recip[i];
        v += __builtin_copysignf(0.5f, v);
        v = v < -1023.0f ? -1023.0f : v > 1023.0f ? 1023.0f : v;
        q[i] = (int32_t)v;
    }

    int diff = q[0] - c->pred;
    c->pred = q[0];
    int s = category(diff);
    put_bits(w, c->dc->code[s], c->dc->size[s]);
    if (s != 0)
        put_bits(w, (uint32_t)(diff < 0 ? diff - 1 : diff), s);

    int last = 63;
    while (last > 0 && q[snapfn_jpeg_zigzag[last]] == 0)
        last--;
    int run = 0;
    for (int k = 1; k <= last; k++) {
        int v = q[snapfn_jpeg_zigzag[k]];
        if (v == 0) {
            run++;
            continue;
        }
        while (run > 15) {
            put_bits(w, c->ac->code[0xF0], c->ac->size[0xF0]); /* ZRL */
            run -= 16;
        }
        s = category(v);
        int rs = run << 4 | s;
        put_bits(w, c->ac->code[rs], c->ac->size[rs]);
        put_bits(w, (uint32_t)(v < 0 ? v - 1 : v), s);
        run = 0;
    }
    if (last < 63)
        put_bits(w, c->ac->code[0x00], c->ac->size[0x00]); /* EOB */
}

size_t snapfn_jpeg_encode_bound(uint32_t width, uint32_t height, uint32_t channels)
{
    /* Worst block: DC code <= 16 bits + 11, 63 AC codes <= 16 bits + 10 each, i.e. 1665 bits or 209 bytes,
     * twice that if every byte is FF and gets stuffed. The most blocks: 4:2:0 pads to 16x16 MCUs of 6 blocks,
     * 4:4:4 has 3 blocks per 8x8; take the larger. Restart markers add at most 3 bytes an MCU. */
    uint64_t bx8 = (width + 7u) / 8, by8 = (height + 7u) / 8;
    uint64_t bx16 = (width + 15u) / 16, by16 = (height + 15u) / 16;
    uint64_t blocks, mcus;
    if (channels == 1) {
        blocks = mcus = bx8 * by8;
    } else {
        uint64_t b444 = 3 * bx8 * by8, b422 = 4 * bx16 * by8, b420 = 6 * bx16 * by16;
        blocks = b444 > b422 ? b444 : b422;
        blocks = blocks > b420 ? blocks : b420;
        mcus = bx8 * by8;
    }
    uint64_t bound = 1024 + blocks * 418 + mcus * 3;
    return bound > (uint64_t)SIZE_MAX ? SIZE_MAX : (size_t)bound;
}

const char *snapfn_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                               const snapfn_jpeg_encode_options *options, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    *out_len = 0;
    if (width == 0 || height == 0 || width > 65535 || height > 65535)
        return "bad argument: JPEG width and height must be 1..65535";
    if (channels != 1 && channels != 3)
        return "bad argument: JPEG input must have 1 (gray) or 3 (RGB) channels";
    if (pixels == NULL)
        return "bad argument: NULL pixels";
    int quality = options != NULL && options->quality != 0 ? options->quality : 75;
    if (quality < 1 || quality > 100)
        return "bad argument: JPEG quality must be 1..100";
    snapfn_jpeg_subsampling sub = options != NULL ? options->subsampling : SNAPFN_JPEG_420;
    unsigned restart_interval = options != NULL ? options->restart_interval : 0;

    int ncomp = channels == 1 ? 1 : 3;
    int hy = 1, vy = 1;
    if (ncomp == 3) {
        if (sub == SNAPFN_JPEG_420) {
            hy = 2;
            vy = 2;
        } else if (sub == SNAPFN_JPEG_422) {
            hy = 2;
        } else if (sub != SNAPFN_JPEG_444) {
            return "bad argument: unknown JPEG subsampling";
        }
    }

    /* Tables are per call (a few KB): no shared state between requests. */
    typedef struct {
        huffman_code codes[4];
        enc_component comp[3];
        uint8_t quant[2][64];
        float block[64];
    } state;
    const int mw = 8 * hy, mh = 8 * vy; /* MCU size in pixels */
    const uint32_t mcux = (width + (uint32_t)mw - 1) / (uint32_t)mw, mcuy = (height + (uint32_t)mh - 1) / (uint32_t)mh;
    /* Samples are converted and level-shifted a chunk of one MCU row at a time (at most 256 pixels wide),
     * padded to whole MCUs by repeating the last column (and, through the row index, the last row); chroma
     * is then averaged down in place. A chunk stays under 64 KB, the guest allocator's threshold for blocks
     * whose pages go back to the VMM (and fault again) on every free. */
    const uint32_t chunk_mcus = 256u / (uint32_t)mw;
    const size_t pw = (size_t)chunk_mcus * (size_t)mw;
    state *st = malloc(sizeof *st);
    float *strip = malloc(sizeof(float) * pw * (size_t)mh * (size_t)ncomp);
    if (st == NULL || strip == NULL) {
        free(st);
        free(strip);
        return "out of memory";
    }
    float *ys = strip, *cbs = strip + pw * (size_t)mh, *crs = strip + 2 * pw * (size_t)mh;
    scale_quant(snapfn_jpeg_std_luma_quant, quality, st->quant[0]);
    scale_quant(snapfn_jpeg_std_chroma_quant, quality, st->quant[1]);
    build_code(&st->codes[0], &snapfn_jpeg_std_dc_luma);
    build_code(&st->codes[1], &snapfn_jpeg_std_ac_luma);
    build_code(&st->codes[2], &snapfn_jpeg_std_dc_chroma);
    build_code(&st->codes[3], &snapfn_jpeg_std_ac_chroma);
    for (int c = 0; c < ncomp; c++) {
        int t = c == 0 ? 0 : 1;
        for (int i = 0; i < 64; i++)
            st->comp[c].recip[i] = 1.0f / st->quant[t][i];
        st->comp[c].dc = &st->codes[2 * t];
        st->comp[c].ac = &st->codes[2 * t + 1];
        st->comp[c].pred = 0;
    }

    writer w = {.out = out, .cap = out == NULL ? 0 : out_cap};
    write_headers(&w, width, height, ncomp, hy, vy, (const uint8_t(*)[64])st->quant, restart_interval);

    const size_t row_bytes = (size_t)width * channels;
    unsigned restart_count = 0, next_rst = 0;
    for (uint32_t my = 0; my < mcuy && !w.overflow; my++) {
        for (uint32_t mx0 = 0; mx0 < mcux; mx0 += chunk_mcus) {
            const uint32_t nm = mcux - mx0 < chunk_mcus ? mcux - mx0 : chunk_mcus;
            const uint32_t x0 = mx0 * (uint32_t)mw, cols = nm * (uint32_t)mw; /* strip column c is pixel x0 + c */
            const uint32_t real = width - x0 < cols ? width - x0 : cols;  /* columns inside the image */
            for (int r = 0; r < mh; r++) {
                uint32_t y = my * (uint32_t)mh + (uint32_t)r;
                const uint8_t *src = pixels + (size_t)(y < height ? y : height - 1) * row_bytes + (size_t)x0 * channels;
                float *yo = ys + (size_t)r * pw;
                if (ncomp == 1) {
                    for (uint32_t x = 0; x < real; x++)
                        yo[x] = (float)src[x] - 128.0f;
                } else {
                    float *cbo = cbs + (size_t)r * pw, *cro = crs + (size_t)r * pw;
                    for (uint32_t x = 0; x < real; x++) {
                        float R = src[3 * x], G = src[3 * x + 1], B = src[3 * x + 2];
                        /* JFIF RGB -> YCbCr, level-shifted by -128 for the DCT (so Cb, Cr lose their +128). */
                        yo[x] = 0.299f * R + 0.587f * G + 0.114f * B - 128.0f;
                        cbo[x] = -0.168735892f * R - 0.331264108f * G + 0.5f * B;
                        cro[x] = 0.5f * R - 0.418687589f * G - 0.081312411f * B;
                    }
                    for (uint32_t x = real; x < cols; x++) {
                        cbo[x] = cbo[real - 1];
                        cro[x] = cro[real - 1];
                    }
                }
                for (uint32_t x = real; x < cols; x++)
                    yo[x] = yo[real - 1];
            }
            if (ncomp == 3 && (hy > 1 || vy > 1)) {
                /* Chroma: the mean of each hy x vy group (centred siting, as JFIF has it), into rows 0..7. */
                const float scale = 1.0f / (float)(hy * vy);
                const uint32_t cw = cols / (uint32_t)hy;
                for (int c = 0; c < 2; c++) {
                    float *plane = c == 0 ? cbs : crs;
                    for (int r = 0; r < 8; r++) {
                        const float *a = plane + (size_t)(r * vy) * pw, *b = plane + (size_t)(r * vy + vy - 1) * pw;
                        float *o = plane + (size_t)r * pw;
                        for (uint32_t x = 0; x < cw; x++) {
                            float sum = hy == 2 ? a[2 * x] + a[2 * x + 1] : a[x];
                            if (vy == 2)
                                sum += hy == 2 ? b[2 * x] + b[2 * x + 1] : b[x];
                            o[x] = sum * scale;
                        }
                    }
                }
            }

            for (uint32_t mx = 0; mx < nm; mx++) {
                if (restart_interval != 0 && restart_count == restart_interval) {
                    flush_bits(&w);
                    put_byte(&w, 0xFF);
                    put_byte(&w, (uint8_t)(JPEG_RST0 + next_rst));
                    next_rst = (next_rst + 1) & 7;
                    restart_count = 0;
                    for (int c = 0; c < ncomp; c++)
                        st->comp[c].pred = 0;
                }
                restart_count++;
                for (int by = 0; by < vy; by++) {
                    for (int bx = 0; bx < hy; bx++) {
                        const float *p = ys + (size_t)(8 * by) * pw + (size_t)mx * (size_t)mw + (size_t)(8 * bx);
                        for (int r = 0; r < 8; r++)
                            __builtin_memcpy(st->block + 8 * r, p + (size_t)r * pw, 8 * sizeof(float));
                        encode_block(&w, &st->comp[0], st->block);
                    }
                }
                for (int c = 1; c < ncomp; c++) {
                    const float *p = (c == 1 ? cbs : crs) + (size_t)mx * 8;
                    for (int r = 0; r < 8; r++)
                        __builtin_memcpy(st->block + 8 * r, p + (size_t)r * pw, 8 * sizeof(float));
                    encode_block(&w, &st->comp[c], st->block);
                }
            }
        }
    }
    flush_bits(&w);
    put_byte(&w, 0xFF);
    put_byte(&w, JPEG_EOI);
    free(strip);
    free(st);
    if (w.overflow)
        return "too large: output buffer too small for the JPEG (snapfn_jpeg_encode_bound gives a sure size)";
    *out_len = w.pos;
    return NULL;
}
