/* Deflate decompressor (RFC 1951) and gzip reader (RFC 1952).
 *
 * Input and output are whole buffers; every read of either is checked against its end, so corrupt or
 * hostile streams fail with a message and never touch memory outside them. */
#include "snapfn.h"
#include "snapfn_deflate.h"
#include "deflate_tables.h"

#define FAST_BITS 9

/* A canonical Huffman decoding table. */
typedef struct {
    /* Indexed by the next FAST_BITS input bits: symbol << 4 | length for codes up to FAST_BITS long, else 0. */
    uint16_t fast[1u << FAST_BITS];
    uint16_t count[DEFLATE_MAX_BITS + 1]; /* codes of each length */
    uint16_t first[DEFLATE_MAX_BITS + 1]; /* the first (numerically smallest) code of each length */
    uint16_t index[DEFLATE_MAX_BITS + 1]; /* where that length's symbols start in `symbols` */
    uint16_t symbols[288];                /* symbols ordered by code */
} huffman;

typedef struct {
    const uint8_t *in;
    size_t n;
    size_t pos;     /* next byte to load into acc */
    uint64_t acc;   /* loaded bits not yet used, the next one in bit 0 */
    unsigned count; /* how many bits acc holds */

    uint8_t *out;
    size_t cap;
    size_t out_pos;

    huffman litlen, dist, cl;
} inflater;

static const char *const ERR_TRUNCATED = "truncated: deflate stream ends early";
static const char *const ERR_OUTPUT = "too large: output buffer too small for the decompressed data";

static inline void refill(inflater *s)
{
    while (s->count <= 56 && s->pos < s->n) {
        s->acc |= (uint64_t)s->in[s->pos++] << s->count;
        s->count += 8;
    }
}

/* Reads `bits` (<= 32) bits into *v; false when the input has ended. */
static inline int get_bits(inflater *s, unsigned bits, uint32_t *v)
{
    if (s->count < bits) {
        refill(s);
        if (s->count < bits)
            return 0;
    }
    *v = (uint32_t)(s->acc & ((1ull << bits) - 1));
    s->acc >>= bits;
    s->count -= bits;
    return 1;
}

/* Builds h from lengths[0..n); NULL or the reason the lengths are no prefix code. An incomplete code is
 * accepted (RFC 1951 does not forbid it); its unused codes fail when they appear. */
static const char *build_huffman(huffman *h, const uint8_t *lengths, unsigned n)
{
    memset(h->count, 0, sizeof h->count);
    for (unsigned s = 0; s < n; s++)
        h->count[lengths[s]]++;
    h->count[0] = 0;
    int left = 1;
    for (unsigned len = 1; len <= DEFLATE_MAX_BITS; len++) {
        left = 2 * left - h->count[len];
        if (left < 0)
            return "corrupt: deflate Huffman code lengths are over-subscribed";
    }
    unsigned code = 0, index = 0;
    for (unsigned len = 1; len <= DEFLATE_MAX_BITS; len++) {
        h->first[len] = (uint16_t)code;
        h->index[len] = (uint16_t)index;
        code = (code + h->count[len]) << 1;
        index += h->count[len];
    }
    uint16_t next[DEFLATE_MAX_BITS + 1];
    memcpy(next, h->index, sizeof next);
    for (unsigned s = 0; s < n; s++)
        if (lengths[s] != 0)
            h->symbols[next[lengths[s]]++] = (uint16_t)s;

    memset(h->fast, 0, sizeof h->fast);
    for (unsigned len = 1; len <= FAST_BITS; len++) {
        for (unsigned k = 0; k < h->count[len]; k++) {
            unsigned c = h->first[len] + k, r = 0;
            for (unsigned b = 0; b < len; b++)
                r |= ((c >> (len - 1 - b)) & 1u) << b;
            uint16_t entry = (uint16_t)(h->symbols[h->index[len] + k] << 4 | len);
            for (unsigned fill = r; fill < (1u << FAST_BITS); fill += 1u << len)
                h->fast[fill] = entry;
        }
    }
    return NULL;
}

/* Decodes one symbol; -1 when the input ends, -2 for a code the table does not have. */
static inline int decode(inflater *s, const huffman *h)
{
    if (s->count < DEFLATE_MAX_BITS)
        refill(s);
    uint16_t e = h->fast[s->acc & ((1u << FAST_BITS) - 1)];
    if (e != 0) {
        unsigned len = e & 15;
        if (len > s->count)
            return -1;
        s->acc >>= len;
        s->count -= len;
        return e >> 4;
    }
    /* Longer than FAST_BITS (or unused): walk the canonical code one bit at a time. */
    unsigned code = 0;
    for (unsigned len = 1; len <= DEFLATE_MAX_BITS; len++) {
        if (len > s->count)
            return -1;
        code = code << 1 | (unsigned)((s->acc >> (len - 1)) & 1);
        unsigned offset = code - h->first[len];
        if (offset < h->count[len]) {
            s->acc >>= len;
            s->count -= len;
            return h->symbols[h->index[len] + offset];
        }
    }
    return -2;
}

static const char *read_dynamic_tables(inflater *s)
{
    uint32_t hlit, hdist, hclen;
    if (!get_bits(s, 5, &hlit) || !get_bits(s, 5, &hdist) || !get_bits(s, 4, &hclen))
        return ERR_TRUNCATED;
    hlit += 257;
    hdist += 1;
    hclen += 4;
    if (hlit > DEFLATE_NUM_LITLEN || hdist > DEFLATE_NUM_DIST)
        return "corrupt: deflate block header declares too many codes";

    uint8_t cl_lens[DEFLATE_NUM_CL] = {0};
    for (unsigned i = 0; i < hclen; i++) {
        uint32_t v;
        if (!get_bits(s, 3, &v))
            return ERR_TRUNCATED;
        cl_lens[deflate_cl_order[i]] = (uint8_t)v;
    }
    const char *err = build_huffman(&s->cl, cl_lens, DEFLATE_NUM_CL);
    if (err != NULL)
        return err;

    uint8_t lens[DEFLATE_NUM_LITLEN + DEFLATE_NUM_DIST];
    unsigned total = hlit + hdist;
    for (unsigned i = 0; i < total;) {
        int sym = decode(s, &s->cl);
        if (sym == -1)
            return ERR_TRUNCATED;
        if (sym < 0)
            return "corrupt: invalid code-length code in deflate block header";
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        uint32_t extra;
        unsigned repeat;
        uint8_t value = 0;
        if (sym == 16) {
            if (i == 0)
                return "corrupt: deflate code-length repeat with nothing to repeat";
            value = lens[i - 1];
            if (!get_bits(s, 2, &extra))
                return ERR_TRUNCATED;
            repeat = 3 + extra;
        } else if (sym == 17) {
            if (!get_bits(s, 3, &extra))
                return ERR_TRUNCATED;
            repeat = 3 + extra;
        } else {
            if (!get_bits(s, 7, &extra))
                return ERR_TRUNCATED;
            repeat = 11 + extra;
        }
        if (repeat > total - i)
            return "corrupt: deflate code-length repeat runs past the end";
        while (repeat-- > 0)
            lens[i++] = value;
    }
    if (lens[DEFLATE_END_OF_BLOCK] == 0)
        return "corrupt: deflate block has no end-of-block code";
    err = build_huffman(&s->litlen, lens, hlit);
    if (err == NULL)
        err = build_huffman(&s->dist, lens + hlit, hdist);
    return err;
}

static void build_fixed_tables(inflater *s)
{
    uint8_t lens[288];
    for (unsigned i = 0; i < 288; i++)
        lens[i] = (uint8_t)deflate_fixed_litlen_bits(i);
    build_huffman(&s->litlen, lens, 288);
    for (unsigned i = 0; i < 32; i++)
        lens[i] = DEFLATE_FIXED_DIST_BITS;
    build_huffman(&s->dist, lens, 32);
}

static const char *inflate_codes(inflater *s)
{
    for (;;) {
        int sym = decode(s, &s->litlen);
        if (sym < 256) {
            if (sym == -1)
                return ERR_TRUNCATED;
            if (sym < 0)
                return "corrupt: invalid literal/length code in deflate data";
            if (s->out_pos >= s->cap)
                return ERR_OUTPUT;
            s->out[s->out_pos++] = (uint8_t)sym;
            continue;
        }
        if (sym == DEFLATE_END_OF_BLOCK)
            return NULL;
        sym -= 257;
        if (sym >= 29)
            return "corrupt: invalid length symbol in deflate data";
        uint32_t extra;
        if (!get_bits(s, deflate_length_extra[sym], &extra))
            return ERR_TRUNCATED;
        size_t len = deflate_length_base[sym] + extra;

        int dsym = decode(s, &s->dist);
        if (dsym == -1)
            return ERR_TRUNCATED;
        if (dsym < 0 || dsym >= DEFLATE_NUM_DIST)
            return "corrupt: invalid distance code in deflate data";
        if (!get_bits(s, deflate_dist_extra[dsym], &extra))
            return ERR_TRUNCATED;
        size_t dist = deflate_dist_base[dsym] + extra;
        if (dist > s->out_pos)
            return "corrupt: deflate distance reaches before the start of the data";
        if (len > s->cap - s->out_pos)
            return ERR_OUTPUT;
        uint8_t *o = s->out + s->out_pos;
        const uint8_t *from = o - dist;
        for (size_t i = 0; i < len; i++) /* byte by byte: the source may overlap what is being written */
            o[i] = from[i];
        s->out_pos += len;
    }
}

static const char *inflate_stream(inflater *s)
{
    int fixed_built = 0;
    for (;;) {
        uint32_t final, type;
        if (!get_bits(s, 1, &final) || !get_bits(s, 2, &type))
            return ERR_TRUNCATED;
        const char *err = NULL;
        if (type == 0) {
            /* Stored: skip to a byte boundary, then give whole bytes still in acc back to the input. */
            unsigned drop = s->count % 8;
            s->acc >>= drop;
            s->count -= drop;
            s->pos -= s->count / 8;
            s->acc = 0;
            s->count = 0;
            if (s->n - s->pos < 4)
                return ERR_TRUNCATED;
            const uint8_t *p = s->in + s->pos;
            unsigned len = p[0] | (unsigned)p[1] << 8, nlen = p[2] | (unsigned)p[3] << 8;
            if ((len ^ 0xffffu) != nlen)
                return "corrupt: deflate stored block length check (NLEN) fails";
            s->pos += 4;
            if (s->n - s->pos < len)
                return ERR_TRUNCATED;
            if (s->cap - s->out_pos < len)
                return ERR_OUTPUT;
            memcpy(s->out + s->out_pos, s->in + s->pos, len);
            s->pos += len;
            s->out_pos += len;
        } else if (type == 1) {
            if (!fixed_built) {
                build_fixed_tables(s);
                fixed_built = 1;
            }
            err = inflate_codes(s);
        } else if (type == 2) {
            fixed_built = 0;
            err = read_dynamic_tables(s);
            if (err == NULL)
                err = inflate_codes(s);
        } else {
            return "corrupt: deflate block type 3 is reserved";
        }
        if (err != NULL)
            return err;
        if (final)
            return NULL;
    }
}

/* Inflates in[0..n) to out; sets *out_len and *in_used (the stream's length in whole bytes). */
static const char *inflate_buffer(const uint8_t *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len,
                                  size_t *in_used)
{
    inflater *s = malloc(sizeof *s);
    if (s == NULL)
        return "out of memory";
    s->in = in;
    s->n = in == NULL ? 0 : n;
    s->pos = 0;
    s->acc = 0;
    s->count = 0;
    s->out = out;
    s->cap = out == NULL ? 0 : out_cap;
    s->out_pos = 0;
    const char *err = inflate_stream(s);
    *out_len = s->out_pos;
    *in_used = s->pos - s->count / 8; /* bytes loaded but not used go back */
    free(s);
    return err;
}

const char *snapfn_inflate(const uint8_t *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len,
                           size_t *in_used)
{
    size_t used;
    const char *err = inflate_buffer(in, n, out, out_cap, out_len, &used);
    if (err != NULL)
        *out_len = 0;
    if (in_used != NULL)
        *in_used = err == NULL ? used : 0;
    return err;
}

static inline uint32_t le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const char *snapfn_gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
    enum { FTEXT = 1, FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };
    size_t pos = 0, total = 0;
    *out_len = 0;
    if (in == NULL)
        n = 0;
    do {
        size_t avail = n - pos;
        const uint8_t *h = in + pos;
        if (avail == 0 || h[0] != 0x1f || (avail >= 2 && h[1] != 0x8b))
            return pos == 0 ? "corrupt: not gzip data (no 1f 8b magic)" : "corrupt: trailing data after gzip member";
        if (avail < 10)
            return "truncated: gzip header ends early";
        if (h[2] != 8)
            return "unsupported: gzip compression method is not deflate";
        unsigned flags = h[3];
        if (flags & 0xe0)
            return "corrupt: gzip header has reserved flag bits set";
        size_t p = 10;
        if (flags & FEXTRA) {
            if (avail - p < 2)
                return "truncated: gzip header ends early";
            size_t xlen = h[p] | (size_t)h[p + 1] << 8;
            p += 2;
            if (avail - p < xlen)
                return "truncated: gzip header ends early";
            p += xlen;
        }
        for (unsigned field = FNAME; field <= FCOMMENT; field <<= 1) {
            if (!(flags & field))
                continue;
            while (p < avail && h[p] != 0)
                p++;
            if (p >= avail)
                return "truncated: gzip header ends early";
            p++;
        }
        if (flags & FHCRC) {
            if (avail - p < 2)
                return "truncated: gzip header ends early";
            uint32_t crc = snapfn_crc32(0, h, p);
            if ((h[p] | (unsigned)h[p + 1] << 8) != (crc & 0xffff))
                return "corrupt: gzip header CRC mismatch";
            p += 2;
        }
        pos += p;

        size_t member_len, used;
        uint8_t *member = out == NULL ? NULL : out + total;
        const char *err = inflate_buffer(in + pos, n - pos, member, out == NULL ? 0 : out_cap - total, &member_len,
                                         &used);
        if (err != NULL)
            return err;
        pos += used;
        if (n - pos < 8)
            return "truncated: gzip trailer ends early";
        if (le32(in + pos) != snapfn_crc32(0, member, member_len))
            return "corrupt: gzip CRC-32 mismatch (the data is damaged)";
        if (le32(in + pos + 4) != (uint32_t)member_len)
            return "corrupt: gzip ISIZE mismatch (the data is damaged)";
        pos += 8;
        total += member_len;
    } while (pos < n);
    *out_len = total;
    return NULL;
}
