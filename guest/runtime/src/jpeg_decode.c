/* Baseline / extended-sequential Huffman JPEG decoder (ITU-T T.81, Annexes B, C, F.2).
 *
 * Components are decoded into planes of samples, which are then upsampled and colour-converted into the
 * output. When the first scan carries every component (the usual single interleaved scan) the planes are
 * rings of three MCU rows and output rows are produced as soon as the rows they draw on are decoded: memory
 * beyond the output stays small, which matters in a guest where every fresh page costs a fault. Images
 * whose components come in separate scans get whole planes and are converted at the end. Every byte read
 * is checked against the end of the input, and the entropy decoder feeds zero bits past a marker or the end
 * and counts them, so hostile data ends in an error message, not a stray read. */
#include "snapfn.h"
#include "snapfn_jpeg.h"
#include "jpeg_internal.h"

#define FAST_BITS 9
/* Dequantized coefficients are clamped to this: no real image comes near it (8-bit samples give |F| <=
 * 1024 plus half a quantizer step), and it keeps the IDCT's float results within int range. */
#define COEF_LIMIT 65535.0f

typedef struct {
    /* Indexed by the next FAST_BITS bits: length << 8 | value for codes up to FAST_BITS long, else 0. */
    uint16_t fast[1u << FAST_BITS];
    int32_t maxcode[17];   /* largest code of each length, -1 when there is none (T.81 F.2.2.3) */
    int32_t valoffset[17]; /* index into values of a code of that length = code + valoffset */
    uint8_t values[256];
    uint8_t defined;
} huffman;

typedef struct {
    uint8_t id;
    uint8_t h, v;  /* sampling factors */
    uint8_t tq;    /* quantization table */
    uint8_t td, ta; /* Huffman tables of the current scan */
    uint8_t decoded; /* appeared in a scan */
    uint8_t needed;  /* its pixels matter to the requested output (else entropy-decoded, then dropped) */
    uint32_t width, height; /* in samples: ceil(X * h / hmax) by ceil(Y * v / vmax) */
    uint32_t stride;        /* plane width: whole MCUs of blocks */
    uint32_t plane_rows;    /* rows held: the whole padded height, or a ring of three MCU rows */
    uint8_t *plane;         /* sample row r is at (r % plane_rows) * stride */
    int32_t pred; /* DC predictor */
    float quant[64]; /* row-major, latched when the component's scan starts */
} component;

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;

    /* Entropy-coded data: bits left-aligned in acc, most significant first. */
    uint64_t acc;
    int nbits;
    int fake_bits;  /* zero bits fed after reaching a marker or the end */
    int at_marker;  /* the byte at pos starts a marker */

    int have_frame;
    uint32_t width, height;
    int ncomp;
    component comp[4];
    int hmax, vmax;
    uint32_t mcux, mcuy; /* MCUs across and down for an interleaved scan */
    uint32_t restart_interval;
    int adobe_transform; /* -1: no Adobe APP14 marker seen */
    int saw_jfif;
    uint32_t out_channels; /* 1 or 3 */
    int planes_ready;
    int rgb; /* the planes hold R, G, B (not Y, Cb, Cr): decided with the planes, at the first scan */
    int streaming; /* one scan has every component: output rows are made as MCU rows complete */

    /* Output, allocated with the planes. */
    snapfn_image *out;
    uint32_t rows_done; /* output rows written */
    uint8_t *rows;      /* 3 rows of upsampled samples */
    uint16_t *tmp;      /* one row of vertical filter sums */
    int32_t r_cr[256], g_cb[256], g_cr[256], b_cb[256];

    uint16_t quant[4][64]; /* row-major */
    uint8_t quant_defined[4];
    huffman dc[4], ac[4];
} decoder;

/* ---- Marker segments. ---- */

static const char *const ERR_TRUNC_HEADER = "truncated: JPEG ends inside a marker segment";

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Finds the next marker at or after pos (skipping fill bytes, and any stray bytes), returns its code and
 * leaves pos after it; -1 at the end of the data. */
static int next_marker(decoder *d)
{
    for (;;) {
        while (d->pos < d->len && d->data[d->pos] != 0xFF)
            d->pos++;
        while (d->pos < d->len && d->data[d->pos] == 0xFF)
            d->pos++;
        if (d->pos >= d->len)
            return -1;
        int code = d->data[d->pos++];
        if (code != 0) /* FF 00 is a stuffed byte of entropy data, not a marker */
            return code;
    }
}

/* Reads a segment's length field; sets *body and *body_len to what follows it. */
static const char *segment(decoder *d, const uint8_t **body, size_t *body_len)
{
    if (d->len - d->pos < 2)
        return ERR_TRUNC_HEADER;
    size_t n = be16(d->data + d->pos);
    if (n < 2)
        return "corrupt: JPEG marker segment length below 2";
    if (d->len - d->pos < n)
        return ERR_TRUNC_HEADER;
    *body = d->data + d->pos + 2;
    *body_len = n - 2;
    d->pos += n;
    return NULL;
}

static const char *read_sof(decoder *d, const uint8_t *p, size_t n)
{
    if (d->have_frame)
        return "corrupt: JPEG has more than one frame header (SOF)";
    if (n < 6)
        return "corrupt: JPEG frame header (SOF) too short";
    if (p[0] != 8)
        return p[0] == 12 ? "unsupported: 12-bit JPEG" : "unsupported: JPEG sample precision other than 8 bits";
    d->height = be16(p + 1);
    d->width = be16(p + 3);
    d->ncomp = p[5];
    if (d->width == 0)
        return "corrupt: JPEG width is zero";
    if (d->height == 0)
        return "unsupported: JPEG height given later by a DNL marker";
    if (d->ncomp == 4)
        return "unsupported: 4-component (CMYK) JPEG";
    if (d->ncomp != 1 && d->ncomp != 3)
        return "unsupported: JPEG with a component count other than 1 or 3";
    if (n != 6 + 3 * (size_t)d->ncomp)
        return "corrupt: JPEG frame header (SOF) length does not match its component count";
    d->hmax = d->vmax = 1;
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        const uint8_t *q = p + 6 + 3 * i;
        c->id = q[0];
        c->h = q[1] >> 4;
        c->v = q[1] & 15;
        c->tq = q[2];
        if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4)
            return "corrupt: JPEG sampling factor outside 1..4";
        if (c->tq > 3)
            return "corrupt: JPEG quantization table index above 3";
        for (int j = 0; j < i; j++)
            if (d->comp[j].id == c->id)
                return "corrupt: JPEG frame header lists a component twice";
        if (c->h > d->hmax)
            d->hmax = c->h;
        if (c->v > d->vmax)
            d->vmax = c->v;
    }
    if (d->ncomp == 1) {
        /* A lone component is never interleaved: its sampling factors do not matter (T.81 A.2.2). */
        d->comp[0].h = d->comp[0].v = 1;
        d->hmax = d->vmax = 1;
    }
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        if (d->hmax % c->h != 0 || d->vmax % c->v != 0)
            return "unsupported: JPEG sampling factors with a non-integral ratio";
    }
    d->mcux = (d->width + 8u * d->hmax - 1) / (8u * d->hmax);
    d->mcuy = (d->height + 8u * d->vmax - 1) / (8u * d->vmax);
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        c->width = (d->width * c->h + d->hmax - 1) / d->hmax;
        c->height = (d->height * c->v + d->vmax - 1) / d->vmax;
        c->stride = d->mcux * c->h * 8;
        c->plane_rows = d->mcuy * c->v * 8;
    }
    d->have_frame = 1;
    return NULL;
}

static const char *read_dqt(decoder *d, const uint8_t *p, size_t n)
{
    while (n > 0) {
        unsigned pq = p[0] >> 4, tq = p[0] & 15;
        if (pq > 1 || tq > 3)
            return "corrupt: JPEG quantization table (DQT) with a bad precision or index";
        size_t size = 1 + 64 * (pq + 1);
        if (n < size)
            return "corrupt: JPEG quantization table (DQT) segment too short";
        for (int k = 0; k < 64; k++) {
            uint16_t q = pq ? be16(p + 1 + 2 * k) : p[1 + k];
            if (q == 0)
                return "corrupt: JPEG quantization table has a zero entry";
            d->quant[tq][snapfn_jpeg_zigzag[k]] = q;
        }
        d->quant_defined[tq] = 1;
        p += size;
        n -= size;
    }
    return NULL;
}

/* Builds the decoding tables of T.81 Annex C and F.2.2.3 from BITS and HUFFVAL. */
static const char *build_huffman(huffman *h, const uint8_t *bits, const uint8_t *values, unsigned count)
{
    memset(h->fast, 0, sizeof h->fast);
    memcpy(h->values, values, count);
    int32_t code = 0;
    unsigned k = 0;
    for (unsigned len = 1; len <= 16; len++) {
        unsigned nb = bits[len - 1];
        if (nb == 0) {
            h->maxcode[len] = -1;
            h->valoffset[len] = 0;
        } else {
            if ((uint32_t)code + nb > (1u << len))
                return "corrupt: JPEG Huffman table (DHT) has more codes than fit";
            h->valoffset[len] = (int32_t)k - code;
            for (unsigned i = 0; i < nb; i++, k++, code++) {
                if (len <= FAST_BITS) {
                    unsigned shift = FAST_BITS - len;
                    uint16_t entry = (uint16_t)(len << 8 | values[k]);
                    for (unsigned fill = 0; fill < (1u << shift); fill++)
                        h->fast[((unsigned)code << shift) | fill] = entry;
                }
            }
            h->maxcode[len] = code - 1;
        }
        code <<= 1;
    }
    h->defined = 1;
    return NULL;
}

static const char *read_dht(decoder *d, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (n < 17)
            return "corrupt: JPEG Huffman table (DHT) segment too short";
        unsigned tc = p[0] >> 4, th = p[0] & 15;
        if (tc > 1 || th > 3)
            return "corrupt: JPEG Huffman table (DHT) with a bad class or index";
        unsigned count = 0;
        for (int i = 0; i < 16; i++)
            count += p[1 + i];
        if (count > 256 || n < 17 + count)
            return "corrupt: JPEG Huffman table (DHT) segment too short";
        const char *err = build_huffman(tc == 0 ? &d->dc[th] : &d->ac[th], p + 1, p + 17, count);
        if (err != NULL)
            return err;
        p += 17 + count;
        n -= 17 + count;
    }
    return NULL;
}

static void read_app14(decoder *d, const uint8_t *p, size_t n)
{
    /* Adobe's marker: "Adobe", version, flags0, flags1, transform (0: none, so 3 components are RGB). */
    if (n >= 12 && memcmp(p, "Adobe", 5) == 0)
        d->adobe_transform = p[11];
}

/* ---- Entropy-coded data. ---- */

static void fill(decoder *d)
{
    while (d->nbits <= 56) {
        uint32_t b = 0;
        if (!d->at_marker && d->pos < d->len) {
            b = d->data[d->pos];
            if (b != 0xFF) {
                d->pos++;
            } else if (d->pos + 1 < d->len && d->data[d->pos + 1] == 0) {
                d->pos += 2; /* stuffed zero byte after a data FF */
            } else {
                d->at_marker = 1; /* a marker (or FF at the very end): entropy data stops here */
                b = 0;
                d->fake_bits += 8;
            }
        } else {
            d->fake_bits += 8;
        }
        d->acc |= (uint64_t)b << (56 - d->nbits);
        d->nbits += 8;
    }
}

static void reset_bits(decoder *d)
{
    d->acc = 0;
    d->nbits = 0;
    d->fake_bits = 0;
    d->at_marker = 0;
}

/* A Huffman symbol, or -1 for a code the table does not have. Leaves at least 16 bits for a following
 * receive(). */
static inline int decode_symbol(decoder *d, const huffman *h)
{
    if (d->nbits < 32)
        fill(d);
    uint16_t e = h->fast[d->acc >> (64 - FAST_BITS)];
    if (e != 0) {
        unsigned len = e >> 8;
        d->acc <<= len;
        d->nbits -= (int)len;
        return e & 0xFF;
    }
    for (unsigned len = FAST_BITS + 1; len <= 16; len++) {
        int32_t code = (int32_t)(d->acc >> (64 - len));
        if (code <= h->maxcode[len]) {
            d->acc <<= len;
            d->nbits -= (int)len;
            return h->values[code + h->valoffset[len]];
        }
    }
    return -1;
}

/* RECEIVE(s) then EXTEND (T.81 F.2.2.1): the signed value of an s-bit magnitude, s <= 16. */
static inline int32_t receive_extend(decoder *d, unsigned s)
{
    if (s == 0)
        return 0;
    uint32_t v = (uint32_t)(d->acc >> (64 - s));
    d->acc <<= s;
    d->nbits -= (int)s;
    if (v < (1u << (s - 1)))
        return (int32_t)v - (int32_t)(1u << s) + 1;
    return (int32_t)v;
}

static const char *decode_block(decoder *d, component *c, uint8_t *out)
{
    int s = decode_symbol(d, &d->dc[c->td]);
    if (s < 0 || s > 11)
        return "corrupt: bad DC code in JPEG data";
    int32_t dc = c->pred + receive_extend(d, (unsigned)s);
    if (dc < -32768 || dc > 32767)
        return "corrupt: JPEG DC coefficient out of range";
    c->pred = dc;

    float block[64];
    int last = 0;
    if (c->needed) {
        __builtin_memset(block, 0, sizeof block);
        float v = (float)dc * c->quant[0];
        block[0] = v > COEF_LIMIT ? COEF_LIMIT : v < -COEF_LIMIT ? -COEF_LIMIT : v;
    }
    const huffman *ac = &d->ac[c->ta];
    for (int k = 1; k < 64;) {
        int rs = decode_symbol(d, ac);
        if (rs < 0)
            return "corrupt: bad AC code in JPEG data";
        unsigned r = (unsigned)rs >> 4, size = (unsigned)rs & 15;
        if (size == 0) {
            if (r != 15)
                break; /* EOB */
            k += 16;   /* ZRL: sixteen zeros */
            continue;
        }
        if (size > 10)
            return "corrupt: JPEG AC coefficient size above 10 bits";
        k += (int)r;
        if (k > 63)
            return "corrupt: JPEG AC coefficients run past the end of the block";
        int32_t value = receive_extend(d, size);
        if (c->needed) {
            int z = snapfn_jpeg_zigzag[k];
            float v = (float)value * c->quant[z];
            block[z] = v > COEF_LIMIT ? COEF_LIMIT : v < -COEF_LIMIT ? -COEF_LIMIT : v;
            last = k;
        }
        k++;
    }
    if (!c->needed)
        return NULL;
    if (last == 0) {
        /* Only the DC term: the block is flat, F(0,0) / 8 everywhere. */
        int v = (int)(block[0] * 0.125f + 128.5f);
        uint8_t flat = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        for (int y = 0; y < 8; y++)
            __builtin_memset(out + (size_t)y * c->stride, flat, 8);
        return NULL;
    }
    snapfn_jpeg_idct(block, out, c->stride);
    return NULL;
}

/* After the entropy data of a restart interval or scan: drop the buffered bits and move to the marker. */
static int finish_entropy_segment(decoder *d)
{
    reset_bits(d);
    return next_marker(d);
}

static const char *check_overrun(const decoder *d)
{
    if (d->fake_bits <= d->nbits)
        return NULL;
    /* Bits past the end were used: the data stopped before the image was complete. */
    if (d->pos + 1 >= d->len || d->data[d->pos + 1] == JPEG_EOI)
        return "truncated: JPEG entropy-coded data ends before the image is complete";
    return "corrupt: JPEG entropy-coded data ends early (a marker interrupts it)";
}

static int is_rgb(const decoder *d);
static const char *prepare_output(decoder *d);
static void emit_rows(decoder *d, uint32_t end);

/* At the first scan: decides which planes the output needs and allocates them and the output. Gray output
 * from a YCbCr image needs only Y; the chroma is then entropy-decoded (it has to be, to find the next
 * block) but not transformed. */
static const char *allocate_planes(decoder *d, unsigned scan_components)
{
    if (d->planes_ready)
        return NULL;
    d->planes_ready = 1;
    /* Latched here: an Adobe marker after the first scan must not make the output want planes that were
     * never allocated. */
    d->rgb = is_rgb(d);
    d->streaming = scan_components == (unsigned)d->ncomp;
    for (int i = 0; i < d->ncomp; i++)
        d->comp[i].needed = d->out_channels == 3 || i == 0 || d->rgb;
    for (int i = 0; i < d->ncomp; i++) {
        component *c = &d->comp[i];
        if (d->streaming)
            c->plane_rows = 3 * 8u * c->v;
        if (!c->needed)
            continue;
        c->plane = malloc((size_t)c->stride * c->plane_rows);
        if (c->plane == NULL)
            return "out of memory: JPEG component planes";
    }
    return prepare_output(d);
}

static const char *read_scan(decoder *d, const uint8_t *p, size_t n)
{
    if (!d->have_frame)
        return "corrupt: JPEG scan (SOS) before the frame header (SOF)";
    if (n < 1)
        return "corrupt: JPEG scan header (SOS) too short";
    unsigned ns = p[0];
    if (ns < 1 || ns > 4 || n != 4 + 2 * (size_t)ns)
        return "corrupt: JPEG scan header (SOS) has a bad component count or length";
    component *sc[4];
    unsigned blocks_per_mcu = 0;
    for (unsigned i = 0; i < ns; i++) {
        unsigned id = p[1 + 2 * i], tables = p[2 + 2 * i];
        component *c = NULL;
        for (int j = 0; j < d->ncomp; j++)
            if (d->comp[j].id == id)
                c = &d->comp[j];
        if (c == NULL)
            return "corrupt: JPEG scan names a component the frame does not have";
        for (unsigned j = 0; j < i; j++)
            if (sc[j] == c)
                return "corrupt: JPEG scan lists a component twice";
        if (c->decoded)
            return "corrupt: JPEG component appears in a second scan (sequential JPEG codes each once)";
        c->td = (uint8_t)(tables >> 4);
        c->ta = (uint8_t)(tables & 15);
        if (c->td > 3 || c->ta > 3 || !d->dc[c->td].defined || !d->ac[c->ta].defined)
            return "corrupt: JPEG scan uses a Huffman table that was not defined";
        if (!d->quant_defined[c->tq])
            return "corrupt: JPEG component uses a quantization table that was not defined";
        for (int k = 0; k < 64; k++)
            c->quant[k] = d->quant[c->tq][k];
        c->pred = 0;
        c->decoded = 1;
        blocks_per_mcu += (unsigned)c->h * c->v;
        sc[i] = c;
    }
    const uint8_t *tail = p + 1 + 2 * ns;
    if (tail[0] != 0 || tail[1] != 63 || tail[2] != 0)
        return "corrupt: JPEG sequential scan with spectral selection or successive approximation";
    if (ns > 1 && blocks_per_mcu > 10)
        return "corrupt: JPEG MCU of more than 10 blocks";
    const char *err = allocate_planes(d, ns);
    if (err != NULL)
        return err;

    /* A single-component scan covers just the component's own blocks, one block an MCU (T.81 A.2.2);
     * an interleaved one covers whole MCUs. */
    uint32_t across, down;
    if (ns == 1) {
        across = (sc[0]->width + 7) / 8;
        down = (sc[0]->height + 7) / 8;
    } else {
        across = d->mcux;
        down = d->mcuy;
    }
    reset_bits(d);
    uint32_t restart_count = 0;
    int expected_rst = 0;
    for (uint32_t my = 0; my < down; my++) {
        for (uint32_t mx = 0; mx < across; mx++) {
            if (d->restart_interval != 0 && restart_count == d->restart_interval) {
                int m = finish_entropy_segment(d);
                if (m < 0)
                    return "truncated: JPEG ends where a restart marker belongs";
                if (m != JPEG_RST0 + expected_rst)
                    return "corrupt: JPEG restart marker missing or out of sequence";
                expected_rst = (expected_rst + 1) & 7;
                restart_count = 0;
                for (unsigned i = 0; i < ns; i++)
                    sc[i]->pred = 0;
            }
            for (unsigned i = 0; i < ns; i++) {
                component *c = sc[i];
                uint32_t bw = ns == 1 ? 1 : c->h, bh = ns == 1 ? 1 : c->v;
                for (uint32_t by = 0; by < bh; by++) {
                    for (uint32_t bx = 0; bx < bw; bx++) {
                        uint8_t *out = NULL;
                        if (c->needed) {
                            size_t x = ((size_t)mx * bw + bx) * 8, y = ((size_t)my * bh + by) * 8;
                            out = c->plane + (y % c->plane_rows) * c->stride + x;
                        }
                        err = decode_block(d, c, out);
                        if (err != NULL)
                            return err;
                    }
                }
            }
            err = check_overrun(d);
            if (err != NULL)
                return err;
            restart_count++;
        }
        if (d->streaming && my + 1 < down) {
            /* Output rows whose samples are all decoded: a row filtered vertically also needs the sample
             * row below its own, so hold back vmax rows. */
            emit_rows(d, (my + 1) * 8u * (uint32_t)d->vmax - (uint32_t)d->vmax);
        }
    }
    if (d->streaming)
        emit_rows(d, d->height);
    /* The segment loop goes on from the marker that ends the entropy data (next_marker skips to it). */
    reset_bits(d);
    return NULL;
}

/* ---- Output. ---- */

/* Row y of component c upsampled to the image width into row[0..width). Ratios of 2 use the triangle
 * filter (each output sample 3/4 from the nearer input sample, 1/4 from the other: chroma sited centrally,
 * as JFIF has it); other ratios replicate. */
static const uint8_t *component_row(const decoder *d, const component *c, uint32_t y, uint8_t *row, uint16_t *tmp)
{
    int fx = d->hmax / c->h, fy = d->vmax / c->v;
    uint32_t last_col = c->width - 1, last_row = c->height - 1;
    if (fx == 1 && fy == 1)
        return c->plane + (size_t)(y % c->plane_rows) * c->stride;
    uint32_t cy = y / (uint32_t)fy;
    const uint8_t *near = c->plane + (size_t)(cy % c->plane_rows) * c->stride;
    if (fy == 2) {
        uint32_t far_y = (y & 1) ? (cy < last_row ? cy + 1 : cy) : (cy > 0 ? cy - 1 : 0);
        const uint8_t *far = c->plane + (size_t)(far_y % c->plane_rows) * c->stride;
        for (uint32_t i = 0; i <= last_col; i++)
            tmp[i] = (uint16_t)(3 * near[i] + far[i]);
        if (fx == 2) {
            for (uint32_t i = 0; i <= last_col; i++) {
                unsigned left = tmp[i > 0 ? i - 1 : 0], right = tmp[i < last_col ? i + 1 : last_col];
                unsigned mid = 3u * tmp[i];
                uint32_t x = 2 * i;
                if (x < d->width)
                    row[x] = (uint8_t)((mid + left + 8) >> 4);
                if (x + 1 < d->width)
                    row[x + 1] = (uint8_t)((mid + right + 7) >> 4);
            }
            return row;
        }
        if (fx == 1) {
            for (uint32_t i = 0; i < d->width; i++)
                row[i] = (uint8_t)((tmp[i] + 2) >> 2);
            return row;
        }
        for (uint32_t x = 0; x < d->width; x++)
            row[x] = (uint8_t)((tmp[x / (uint32_t)fx] + 2) >> 2);
        return row;
    }
    if (fx == 2 && fy == 1) {
        for (uint32_t i = 0; i <= last_col; i++) {
            unsigned left = near[i > 0 ? i - 1 : 0], right = near[i < last_col ? i + 1 : last_col];
            unsigned mid = 3u * near[i];
            uint32_t x = 2 * i;
            if (x < d->width)
                row[x] = (uint8_t)((mid + left + 1) >> 2);
            if (x + 1 < d->width)
                row[x + 1] = (uint8_t)((mid + right + 2) >> 2);
        }
        return row;
    }
    for (uint32_t x = 0; x < d->width; x++)
        row[x] = near[x / (uint32_t)fx];
    return row;
}

static int is_rgb(const decoder *d)
{
    if (d->ncomp != 3)
        return 0;
    if (d->adobe_transform >= 0)
        return d->adobe_transform == 0;
    /* Without JFIF or Adobe markers, component ids 'R' 'G' 'B' say the planes are RGB. */
    return !d->saw_jfif && d->comp[0].id == 'R' && d->comp[1].id == 'G' && d->comp[2].id == 'B';
}

static inline uint8_t clamp255(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static const char *prepare_output(decoder *d)
{
    snapfn_image *out = d->out;
    uint32_t channels = d->out_channels;
    size_t pixels = (size_t)d->width * d->height;
    out->pixels = malloc(pixels * channels);
    d->rows = malloc(3 * (size_t)d->width);
    d->tmp = malloc(sizeof(uint16_t) * ((size_t)d->width + 8));
    if (out->pixels == NULL || d->rows == NULL || d->tmp == NULL)
        return "out of memory: JPEG output image";
    out->width = d->width;
    out->height = d->height;
    out->channels = channels;
    /* Fixed-point YCbCr -> RGB (JFIF): R = Y + 1.402 Cr', G = Y - 0.344136 Cb' - 0.714136 Cr',
     * B = Y + 1.772 Cb', with Cb' = Cb - 128 and Cr' = Cr - 128; 16 fractional bits. */
    for (int i = 0; i < 256; i++) {
        int32_t x = i - 128;
        d->r_cr[i] = (91881 * x + 32768) >> 16;
        d->b_cb[i] = (116130 * x + 32768) >> 16;
        d->g_cb[i] = -22554 * x;
        d->g_cr[i] = -46802 * x + 32768;
    }
    return NULL;
}

/* Upsamples and converts output rows rows_done..end-1. */
static void emit_rows(decoder *d, uint32_t end)
{
    const uint32_t channels = d->out_channels, width = d->width;
    uint8_t *rows = d->rows;
    uint16_t *tmp = d->tmp;
    const int rgb = d->rgb;
    for (uint32_t y = d->rows_done; y < end; y++) {
        uint8_t *o = d->out->pixels + (size_t)y * width * channels;
        if (d->ncomp == 1 || channels == 1) {
            /* Gray output from a colour image uses Y alone: JFIF's Y is BT.601 luma. An RGB-plane image
             * is the exception and gets the luma computed. */
            if (channels == 1 && rgb) {
                const uint8_t *r = component_row(d, &d->comp[0], y, rows, tmp);
                const uint8_t *g = component_row(d, &d->comp[1], y, rows + width, tmp);
                const uint8_t *b = component_row(d, &d->comp[2], y, rows + 2 * (size_t)width, tmp);
                for (uint32_t x = 0; x < width; x++)
                    o[x] = (uint8_t)((19595u * r[x] + 38470u * g[x] + 7471u * b[x] + 32768u) >> 16);
                continue;
            }
            const uint8_t *g = component_row(d, &d->comp[0], y, rows, tmp);
            if (channels == 1) {
                memcpy(o, g, width);
            } else {
                for (uint32_t x = 0; x < width; x++)
                    o[3 * x] = o[3 * x + 1] = o[3 * x + 2] = g[x];
            }
            continue;
        }
        const uint8_t *c0 = component_row(d, &d->comp[0], y, rows, tmp);
        const uint8_t *c1 = component_row(d, &d->comp[1], y, rows + width, tmp);
        const uint8_t *c2 = component_row(d, &d->comp[2], y, rows + 2 * (size_t)width, tmp);
        if (rgb) {
            for (uint32_t x = 0; x < width; x++) {
                o[3 * x] = c0[x];
                o[3 * x + 1] = c1[x];
                o[3 * x + 2] = c2[x];
            }
            continue;
        }
        for (uint32_t x = 0; x < width; x++) {
            int yy = c0[x], cb = c1[x], cr = c2[x];
            o[3 * x] = clamp255(yy + d->r_cr[cr]);
            o[3 * x + 1] = clamp255(yy + ((d->g_cb[cb] + d->g_cr[cr]) >> 16));
            o[3 * x + 2] = clamp255(yy + d->b_cb[cb]);
        }
    }
    if (end > d->rows_done)
        d->rows_done = end;
}

/* ---- Driver. ---- */

/* Runs the marker loop. With `info_only` it stops after the frame header. */
static const char *parse(decoder *d, int info_only, size_t *end)
{
    if (d->len < 2 || d->data[0] != 0xFF || d->data[1] != JPEG_SOI)
        return "corrupt: not a JPEG (no SOI marker at the start)";
    d->pos = 2;
    for (;;) {
        int m = next_marker(d);
        if (m < 0) {
            /* No EOI. Accept an image whose scans all arrived (some writers drop the EOI); else it was cut. */
            int complete = d->have_frame && !info_only;
            for (int i = 0; i < d->ncomp; i++)
                complete = complete && d->comp[i].decoded;
            if (!complete)
                return "truncated: JPEG ends before the image is complete";
            *end = d->len;
            return NULL;
        }
        if (m == JPEG_EOI) {
            if (!d->have_frame)
                return "corrupt: JPEG has no frame header (SOF)";
            for (int i = 0; i < d->ncomp; i++)
                if (!d->comp[i].decoded)
                    return "corrupt: JPEG ends (EOI) before every component was in a scan";
            *end = d->pos;
            return NULL;
        }
        if (m == JPEG_SOI)
            return "corrupt: JPEG has a second SOI marker before EOI";
        if (m >= JPEG_RST0 && m <= JPEG_RST0 + 7)
            continue; /* a stray restart marker outside a scan carries nothing */
        if (m == 0x01)
            continue; /* TEM: a marker without a length */

        const uint8_t *p;
        size_t n;
        const char *err = segment(d, &p, &n);
        if (err != NULL)
            return err;
        switch (m) {
        case JPEG_SOF0:
        case JPEG_SOF1:
            err = read_sof(d, p, n);
            if (err == NULL && info_only)
                return NULL;
            break;
        case JPEG_SOF2:
            return "unsupported: progressive JPEG (SOF2)";
        case JPEG_SOF3:
            return "unsupported: lossless JPEG (SOF3)";
        case 0xC5:
        case 0xC6:
        case 0xC7:
            return "unsupported: hierarchical JPEG (SOF5-7)";
        case 0xC9:
        case 0xCA:
        case 0xCB:
        case 0xCD:
        case 0xCE:
        case 0xCF:
        case JPEG_DAC:
            return "unsupported: arithmetic-coded JPEG";
        case JPEG_DHT:
            err = read_dht(d, p, n);
            break;
        case JPEG_DQT:
            err = read_dqt(d, p, n);
            break;
        case JPEG_DRI:
            if (n != 2)
                return "corrupt: JPEG restart interval (DRI) segment length is not 4";
            d->restart_interval = be16(p);
            break;
        case JPEG_SOS:
            if (info_only)
                return "corrupt: JPEG scan (SOS) before the frame header (SOF)";
            /* The scan's entropy data starts right after its header. */
            err = read_scan(d, p, n);
            break;
        case JPEG_DNL:
            return "unsupported: JPEG height given by a DNL marker";
        case JPEG_APP0:
            if (n >= 5 && memcmp(p, "JFIF", 5) == 0)
                d->saw_jfif = 1;
            break;
        case JPEG_APP14:
            read_app14(d, p, n);
            break;
        default:
            break; /* other APPn, COM, JPGn: nothing to use */
        }
        if (err != NULL)
            return err;
    }
}

static void release(decoder *d)
{
    for (int i = 0; i < 4; i++)
        free(d->comp[i].plane);
    free(d->rows);
    free(d->tmp);
    free(d);
}

static decoder *new_decoder(const uint8_t *data, size_t len)
{
    decoder *d = malloc(sizeof *d);
    if (d == NULL)
        return NULL;
    memset(d, 0, sizeof *d);
    d->data = data;
    d->len = data == NULL ? 0 : len;
    d->adobe_transform = -1;
    return d;
}

const char *snapfn_jpeg_read_info(const uint8_t *data, size_t len, snapfn_jpeg_info *info)
{
    memset(info, 0, sizeof *info);
    decoder *d = new_decoder(data, len);
    if (d == NULL)
        return "out of memory";
    size_t end = 0;
    const char *err = parse(d, 1, &end);
    if (err == NULL && !d->have_frame)
        err = "corrupt: JPEG has no frame header (SOF)";
    if (err == NULL) {
        info->width = d->width;
        info->height = d->height;
        info->components = (uint32_t)d->ncomp;
    }
    release(d);
    return err;
}

const char *snapfn_jpeg_decode(const uint8_t *data, size_t len, const snapfn_jpeg_decode_options *options,
                               snapfn_image *out, size_t *consumed)
{
    memset(out, 0, sizeof *out);
    if (consumed != NULL)
        *consumed = 0;
    uint32_t want = options != NULL ? options->channels : 0;
    uint64_t max_pixels = options != NULL && options->max_pixels != 0 ? options->max_pixels
                                                                       : SNAPFN_JPEG_DEFAULT_MAX_PIXELS;
    if (want != 0 && want != 1 && want != 3)
        return "bad argument: JPEG output channels must be 0, 1 or 3";

    /* Read the frame header first to refuse oversized images before any plane is allocated. */
    snapfn_jpeg_info info;
    const char *err = snapfn_jpeg_read_info(data, len, &info);
    if (err != NULL)
        return err;
    if ((uint64_t)info.width * info.height > max_pixels)
        return "too large: JPEG has more pixels than the decoder's limit";

    decoder *d = new_decoder(data, len);
    if (d == NULL)
        return "out of memory";
    d->out_channels = want != 0 ? want : (info.components == 1 ? 1 : 3);
    d->out = out;
    size_t end = 0;
    err = parse(d, 0, &end);
    if (err == NULL)
        emit_rows(d, d->height); /* all of it for separate scans; nothing left when streaming */
    release(d);
    if (err != NULL) {
        free(out->pixels);
        memset(out, 0, sizeof *out);
        return err;
    }
    if (consumed != NULL)
        *consumed = end;
    return NULL;
}

void snapfn_image_free(snapfn_image *img)
{
    if (img == NULL)
        return;
    free(img->pixels);
    img->pixels = NULL;
    img->width = img->height = img->channels = 0;
}
