/* Deflate compressor (RFC 1951) and gzip wrapper (RFC 1952).
 *
 * The whole input is in memory, so it is its own LZ77 window: no copying, matches reach up to 32 KiB back.
 * Positions are found through hash chains on 3-byte prefixes; from level 4 a match is deferred by one byte
 * when the next position holds a longer one (lazy matching). Symbols are gathered into blocks of at most
 * BLOCK_SYMBOLS; each block is then sent as whichever of dynamic Huffman, fixed Huffman or stored costs the
 * fewest bits, which is also why snapfn_deflate_bound holds for any input. */
#include "snapfn.h"
#include "snapfn_deflate.h"
#include "deflate_tables.h"

#define HASH_BITS 15
#define HASH_SIZE (1u << HASH_BITS)
#define WINDOW_MASK (DEFLATE_WINDOW - 1)
#define BLOCK_SYMBOLS 16384
/* A 3-byte match this far back costs more bits than three literals usually do. */
#define FAR_FOR_SHORT_MATCH 4096

/* Search effort per level. */
typedef struct {
    uint16_t good;  /* once the current match is this long, look for a better one with a quarter of the chain */
    uint16_t lazy;  /* defer matches shorter than this (0: greedy, never defer) */
    uint16_t nice;  /* stop searching at a match this long */
    uint16_t chain; /* most chain links followed per search */
    uint8_t insert_all; /* hash every position inside a match (else only its first) */
} level_params;

static const level_params levels[10] = {
    {0, 0, 0, 0, 0},          /* 0: stored only */
    {4, 0, 16, 4, 0},         /* 1 */
    {4, 0, 32, 8, 0},         /* 2 */
    {4, 0, 64, 24, 1},        /* 3 */
    {4, 8, 32, 24, 1},        /* 4 */
    {8, 16, 64, 48, 1},       /* 5 */
    {8, 32, 128, 128, 1},     /* 6 */
    {16, 64, 192, 384, 1},    /* 7 */
    {32, 128, 258, 1024, 1},  /* 8 */
    {32, 258, 258, 4096, 1},  /* 9 */
};

/* ---- Bit output, least significant bit first (RFC 1951 section 3.1.1). ---- */

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;
    uint64_t acc;   /* pending bits, the oldest in bit 0 */
    unsigned count; /* how many bits acc holds, < 32 between calls */
    int overflow;   /* the output did not fit in cap */
} bit_writer;

static void put_byte(bit_writer *w, uint8_t b)
{
    if (w->pos < w->cap)
        w->out[w->pos++] = b;
    else
        w->overflow = 1;
}

/* value must fit in `bits` bits, bits <= 32. */
static inline void put_bits(bit_writer *w, uint32_t value, unsigned bits)
{
    w->acc |= (uint64_t)value << w->count;
    w->count += bits;
    if (w->count >= 32) {
        if (w->cap - w->pos >= 4) {
            uint8_t *o = w->out + w->pos;
            o[0] = (uint8_t)w->acc;
            o[1] = (uint8_t)(w->acc >> 8);
            o[2] = (uint8_t)(w->acc >> 16);
            o[3] = (uint8_t)(w->acc >> 24);
            w->pos += 4;
        } else {
            for (int i = 0; i < 4; i++)
                put_byte(w, (uint8_t)(w->acc >> (8 * i)));
        }
        w->acc >>= 32;
        w->count -= 32;
    }
}

/* Pads with zero bits to a byte boundary and writes out every whole byte pending. */
static void align_to_byte(bit_writer *w)
{
    w->count = (w->count + 7) & ~7u;
    while (w->count > 0) {
        put_byte(w, (uint8_t)w->acc);
        w->acc >>= 8;
        w->count -= 8;
    }
    w->acc = 0;
}

static void put_raw(bit_writer *w, const uint8_t *data, size_t n)
{
    if (w->cap - w->pos < n) {
        w->overflow = 1;
        return;
    }
    memcpy(w->out + w->pos, data, n);
    w->pos += n;
}

/* ---- Huffman code construction. ---- */

/* Sets lengths[0..n) to a prefix code for the frequencies freq[0..n) whose lengths are at most `limit`:
 * a Huffman code, then lengths over the limit are clipped and the set made complete again. Symbols with
 * frequency zero get length zero, except that at least two symbols always get a code, so the code is
 * complete (Kraft sum exactly one) and any inflater accepts it. n <= DEFLATE_NUM_LITLEN. */
static void build_lengths(const uint32_t *freq, unsigned n, unsigned limit, uint8_t *lengths)
{
    uint16_t sym[DEFLATE_NUM_LITLEN];
    uint32_t weight[2 * DEFLATE_NUM_LITLEN];
    uint16_t parent[2 * DEFLATE_NUM_LITLEN];
    uint16_t depth[2 * DEFLATE_NUM_LITLEN];
    unsigned m = 0;

    for (unsigned s = 0; s < n; s++) {
        lengths[s] = 0;
        if (freq[s] != 0)
            sym[m++] = (uint16_t)s;
    }
    if (m < 2) {
        /* One symbol (or none) still needs a 1-bit code; give a second, unused symbol the other one. */
        unsigned a = m == 1 ? sym[0] : 0;
        lengths[a] = 1;
        lengths[a == 0 ? 1 : 0] = 1;
        return;
    }

    /* Leaves sorted by ascending frequency (insertion sort: n is at most 286 and usually much less). */
    for (unsigned i = 1; i < m; i++) {
        uint16_t s = sym[i];
        unsigned j = i;
        while (j > 0 && freq[sym[j - 1]] > freq[s]) {
            sym[j] = sym[j - 1];
            j--;
        }
        sym[j] = s;
    }

    /* Two-queue Huffman: nodes 0..m-1 are the sorted leaves, m.. the internal nodes in the order made, which
     * is also ascending weight, so the two lightest nodes are always at the fronts of the two queues. */
    for (unsigned i = 0; i < m; i++)
        weight[i] = freq[sym[i]];
    unsigned next_leaf = 0, next_inner = m, made = m;
    while (made < 2 * m - 1) {
        unsigned pick[2];
        for (int k = 0; k < 2; k++) {
            if (next_leaf < m && (next_inner >= made || weight[next_leaf] <= weight[next_inner]))
                pick[k] = next_leaf++;
            else
                pick[k] = next_inner++;
        }
        weight[made] = weight[pick[0]] + weight[pick[1]];
        parent[pick[0]] = parent[pick[1]] = (uint16_t)made;
        made++;
    }
    unsigned root = made - 1;
    depth[root] = 0;
    for (unsigned i = root; i-- > 0;)
        depth[i] = (uint16_t)(depth[parent[i]] + 1);

    /* Count leaves per length, clipping to the limit; then restore the Kraft sum to exactly 2^limit (in
     * units of a code of length `limit`). */
    uint32_t count[DEFLATE_MAX_BITS + 1] = {0};
    for (unsigned i = 0; i < m; i++)
        count[depth[i] > limit ? limit : depth[i]]++;
    uint32_t full = 1u << limit, kraft = 0;
    for (unsigned len = 1; len <= limit; len++)
        kraft += count[len] << (limit - len);
    while (kraft > full) {
        /* Lengthen a code of the longest length below the limit: frees 2^(limit-len-1). */
        unsigned len = limit - 1;
        while (count[len] == 0)
            len--;
        count[len]--;
        count[len + 1]++;
        kraft -= 1u << (limit - len - 1);
    }
    while (kraft < full) {
        /* Shorten a code of the longest length whose gain still fits. The deficit is a multiple of the
         * gain at the deepest used length, so this ends at exactly 2^limit. */
        unsigned len = limit;
        while (count[len] == 0 || (1u << (limit - len)) > full - kraft)
            len--;
        count[len]--;
        count[len - 1]++;
        kraft += 1u << (limit - len);
    }

    /* The rarest symbols take the longest codes. */
    unsigned i = 0;
    for (unsigned len = limit; len >= 1; len--)
        for (uint32_t k = 0; k < count[len]; k++)
            lengths[sym[i++]] = (uint8_t)len;
}

/* Canonical codes for the lengths (RFC 1951 section 3.2.2), bit-reversed because deflate sends a Huffman
 * code's most significant bit first while put_bits sends bit 0 first. */
static void build_codes(const uint8_t *lengths, unsigned n, uint16_t *codes)
{
    uint16_t count[DEFLATE_MAX_BITS + 1] = {0};
    uint16_t next[DEFLATE_MAX_BITS + 2];
    for (unsigned s = 0; s < n; s++)
        count[lengths[s]]++;
    count[0] = 0;
    unsigned code = 0;
    for (unsigned len = 1; len <= DEFLATE_MAX_BITS; len++) {
        code = (code + count[len - 1]) << 1;
        next[len] = (uint16_t)code;
    }
    for (unsigned s = 0; s < n; s++) {
        unsigned len = lengths[s];
        if (len == 0) {
            codes[s] = 0;
            continue;
        }
        unsigned c = next[len]++, r = 0;
        for (unsigned b = 0; b < len; b++) {
            r = (r << 1) | (c & 1);
            c >>= 1;
        }
        codes[s] = (uint16_t)r;
    }
}

/* ---- Compressor state. ---- */

typedef struct {
    const uint8_t *in;
    size_t n;
    level_params lp;
    bit_writer w;

    uint32_t *head; /* HASH_SIZE: latest position + 1 with that hash, 0 for none */
    uint32_t *prev; /* DEFLATE_WINDOW: for position p (mod window), the previous position + 1 with its hash */

    uint16_t *sym_len;  /* BLOCK_SYMBOLS: a literal byte, or a match length */
    uint16_t *sym_dist; /* BLOCK_SYMBOLS: 0 for a literal, else the match distance */
    size_t nsym;
    size_t block_start; /* input offset of the block's first byte */
    uint32_t freq_ll[DEFLATE_NUM_LITLEN];
    uint32_t freq_d[DEFLATE_NUM_DIST];

    uint8_t length_sym[DEFLATE_MAX_MATCH + 1]; /* match length -> length symbol - 257 */
    uint8_t dist_sym_low[256];                 /* distance - 1 (< 256) -> distance symbol */
    uint8_t dist_sym_high[256];                /* (distance - 1) >> 7 (distance > 256) -> distance symbol */
} deflater;

static void init_symbol_maps(deflater *d)
{
    for (unsigned code = 0; code < 29; code++) {
        unsigned end = code == 28 ? 259 : deflate_length_base[code + 1];
        for (unsigned len = deflate_length_base[code]; len < end && len <= DEFLATE_MAX_MATCH; len++)
            d->length_sym[len] = (uint8_t)code;
    }
    for (unsigned code = 0; code < 30; code++) {
        unsigned lo = deflate_dist_base[code] - 1;
        unsigned hi = code == 29 ? DEFLATE_WINDOW : deflate_dist_base[code + 1] - 1u;
        for (unsigned v = lo; v < hi; v++) {
            if (v < 256)
                d->dist_sym_low[v] = (uint8_t)code;
            else
                d->dist_sym_high[v >> 7] = (uint8_t)code;
        }
    }
}

static inline unsigned dist_symbol(const deflater *d, unsigned dist)
{
    unsigned v = dist - 1;
    return v < 256 ? d->dist_sym_low[v] : d->dist_sym_high[v >> 7];
}

/* ---- Block output. ---- */

static void write_stored(deflater *d, size_t start, size_t end, int final)
{
    bit_writer *w = &d->w;
    do {
        size_t len = end - start;
        if (len > DEFLATE_STORED_MAX)
            len = DEFLATE_STORED_MAX;
        int last = start + len == end;
        put_bits(w, (final && last) ? 1 : 0, 1);
        put_bits(w, 0, 2); /* BTYPE 00: stored */
        align_to_byte(w);
        put_byte(w, (uint8_t)len);
        put_byte(w, (uint8_t)(len >> 8));
        put_byte(w, (uint8_t)~len);
        put_byte(w, (uint8_t)(~len >> 8));
        put_raw(w, d->in + start, len);
        start += len;
    } while (start < end && !w->overflow);
}

/* Bits that write_stored would take for `len` bytes from the writer's current position. */
static uint64_t stored_cost(const deflater *d, size_t len)
{
    uint64_t chunks = len == 0 ? 1 : (len + DEFLATE_STORED_MAX - 1) / DEFLATE_STORED_MAX;
    unsigned first_pad = (8 - (d->w.count + 3) % 8) % 8;
    return 8 * (uint64_t)len + chunks * (3 + 32) + first_pad + (chunks - 1) * 5;
}

static void write_symbols(deflater *d, const uint16_t *ll_codes, const uint8_t *ll_lens, const uint16_t *d_codes,
                          const uint8_t *d_lens)
{
    bit_writer *w = &d->w;
    for (size_t i = 0; i < d->nsym; i++) {
        unsigned len = d->sym_len[i], dist = d->sym_dist[i];
        if (dist == 0) {
            put_bits(w, ll_codes[len], ll_lens[len]);
            continue;
        }
        unsigned ls = d->length_sym[len];
        unsigned ds = dist_symbol(d, dist);
        put_bits(w, ll_codes[257 + ls] | (uint32_t)(len - deflate_length_base[ls]) << ll_lens[257 + ls],
                 ll_lens[257 + ls] + deflate_length_extra[ls]);
        put_bits(w, d_codes[ds] | (uint32_t)(dist - deflate_dist_base[ds]) << d_lens[ds],
                 d_lens[ds] + deflate_dist_extra[ds]);
    }
    put_bits(w, ll_codes[DEFLATE_END_OF_BLOCK], ll_lens[DEFLATE_END_OF_BLOCK]);
}

/* Bits of the block's symbols (end of block included) under the given lengths. */
static uint64_t symbols_cost(const deflater *d, const uint8_t *ll_lens, const uint8_t *d_lens)
{
    uint64_t bits = 0;
    for (unsigned s = 0; s < DEFLATE_NUM_LITLEN; s++)
        bits += (uint64_t)d->freq_ll[s] * (ll_lens[s] + (s > 256 ? deflate_length_extra[s - 257] : 0));
    for (unsigned s = 0; s < DEFLATE_NUM_DIST; s++)
        bits += (uint64_t)d->freq_d[s] * (d_lens[s] + deflate_dist_extra[s]);
    return bits;
}

/* The run-length coded code lengths of a dynamic block header (RFC 1951 section 3.2.7): each entry is a
 * code-length symbol 0..18 in the low 5 bits and its extra-bits value above. */
static unsigned rle_lengths(const uint8_t *lens, unsigned n, uint16_t *out, uint32_t *freq)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n;) {
        unsigned v = lens[i], run = 1;
        while (i + run < n && lens[i + run] == v)
            run++;
        i += run;
        if (v == 0) {
            while (run >= 11) {
                unsigned r = run > 138 ? 138 : run;
                out[k++] = (uint16_t)(18 | (r - 11) << 5);
                freq[18]++;
                run -= r;
            }
            if (run >= 3) {
                out[k++] = (uint16_t)(17 | (run - 3) << 5);
                freq[17]++;
                run = 0;
            }
        } else {
            out[k++] = (uint16_t)v;
            freq[v]++;
            run--;
            while (run >= 3) {
                unsigned r = run > 6 ? 6 : run;
                out[k++] = (uint16_t)(16 | (r - 3) << 5);
                freq[16]++;
                run -= r;
            }
        }
        while (run-- > 0) {
            out[k++] = (uint16_t)v;
            freq[v]++;
        }
    }
    return k;
}

static const uint8_t cl_extra_bits[DEFLATE_NUM_CL] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7,
};

static void flush_block(deflater *d, size_t end, int final)
{
    size_t len = end - d->block_start;
    d->freq_ll[DEFLATE_END_OF_BLOCK]++;

    /* Dynamic code. */
    uint8_t ll_lens[DEFLATE_NUM_LITLEN], d_lens[DEFLATE_NUM_DIST];
    build_lengths(d->freq_ll, DEFLATE_NUM_LITLEN, DEFLATE_MAX_BITS, ll_lens);
    build_lengths(d->freq_d, DEFLATE_NUM_DIST, DEFLATE_MAX_BITS, d_lens);
    unsigned hlit = DEFLATE_NUM_LITLEN, hdist = DEFLATE_NUM_DIST;
    while (hlit > 257 && ll_lens[hlit - 1] == 0)
        hlit--;
    while (hdist > 1 && d_lens[hdist - 1] == 0)
        hdist--;
    uint8_t all_lens[DEFLATE_NUM_LITLEN + DEFLATE_NUM_DIST];
    memcpy(all_lens, ll_lens, hlit);
    memcpy(all_lens + hlit, d_lens, hdist);
    uint16_t rle[DEFLATE_NUM_LITLEN + DEFLATE_NUM_DIST];
    uint32_t cl_freq[DEFLATE_NUM_CL] = {0};
    unsigned nrle = rle_lengths(all_lens, hlit + hdist, rle, cl_freq);
    uint8_t cl_lens[DEFLATE_NUM_CL];
    build_lengths(cl_freq, DEFLATE_NUM_CL, DEFLATE_MAX_CL_BITS, cl_lens);
    unsigned hclen = DEFLATE_NUM_CL;
    while (hclen > 4 && cl_lens[deflate_cl_order[hclen - 1]] == 0)
        hclen--;
    uint64_t dynamic_bits = 3 + 5 + 5 + 4 + 3 * (uint64_t)hclen + symbols_cost(d, ll_lens, d_lens);
    for (unsigned s = 0; s < DEFLATE_NUM_CL; s++)
        dynamic_bits += (uint64_t)cl_freq[s] * (cl_lens[s] + cl_extra_bits[s]);

    /* Fixed code. */
    uint8_t fixed_ll[DEFLATE_NUM_LITLEN + 2], fixed_d[DEFLATE_NUM_DIST + 2];
    for (unsigned s = 0; s < DEFLATE_NUM_LITLEN + 2; s++)
        fixed_ll[s] = (uint8_t)deflate_fixed_litlen_bits(s);
    for (unsigned s = 0; s < DEFLATE_NUM_DIST + 2; s++)
        fixed_d[s] = DEFLATE_FIXED_DIST_BITS;
    uint64_t fixed_bits = 3 + symbols_cost(d, fixed_ll, fixed_d);

    uint64_t stored_bits = stored_cost(d, len);

    bit_writer *w = &d->w;
    if (stored_bits <= dynamic_bits && stored_bits <= fixed_bits) {
        write_stored(d, d->block_start, end, final);
    } else if (fixed_bits <= dynamic_bits) {
        uint16_t ll_codes[DEFLATE_NUM_LITLEN + 2], d_codes[DEFLATE_NUM_DIST + 2];
        build_codes(fixed_ll, DEFLATE_NUM_LITLEN + 2, ll_codes);
        build_codes(fixed_d, DEFLATE_NUM_DIST + 2, d_codes);
        put_bits(w, final ? 1 : 0, 1);
        put_bits(w, 1, 2); /* BTYPE 01: fixed Huffman */
        write_symbols(d, ll_codes, fixed_ll, d_codes, fixed_d);
    } else {
        uint16_t ll_codes[DEFLATE_NUM_LITLEN], d_codes[DEFLATE_NUM_DIST], cl_codes[DEFLATE_NUM_CL];
        build_codes(ll_lens, DEFLATE_NUM_LITLEN, ll_codes);
        build_codes(d_lens, DEFLATE_NUM_DIST, d_codes);
        build_codes(cl_lens, DEFLATE_NUM_CL, cl_codes);
        put_bits(w, final ? 1 : 0, 1);
        put_bits(w, 2, 2); /* BTYPE 10: dynamic Huffman */
        put_bits(w, hlit - 257, 5);
        put_bits(w, hdist - 1, 5);
        put_bits(w, hclen - 4, 4);
        for (unsigned i = 0; i < hclen; i++)
            put_bits(w, cl_lens[deflate_cl_order[i]], 3);
        for (unsigned i = 0; i < nrle; i++) {
            unsigned s = rle[i] & 31;
            put_bits(w, cl_codes[s], cl_lens[s]);
            if (cl_extra_bits[s])
                put_bits(w, rle[i] >> 5, cl_extra_bits[s]);
        }
        write_symbols(d, ll_codes, ll_lens, d_codes, d_lens);
    }

    d->nsym = 0;
    d->block_start = end;
    memset(d->freq_ll, 0, sizeof d->freq_ll);
    memset(d->freq_d, 0, sizeof d->freq_d);
}

/* ---- LZ77 matching. ---- */

static inline uint32_t hash3(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

static inline void insert(deflater *d, size_t pos)
{
    uint32_t h = hash3(d->in + pos);
    d->prev[pos & WINDOW_MASK] = d->head[h];
    d->head[h] = (uint32_t)pos + 1;
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

/* How many bytes a[0..) and b[0..) have in common, at most max. */
static inline unsigned common_length(const uint8_t *a, const uint8_t *b, unsigned max)
{
    unsigned len = 0;
    while (len + 8 <= max) {
        uint64_t x = load64(a + len) ^ load64(b + len);
        if (x != 0)
            return len + (unsigned)__builtin_ctzll(x) / 8; /* x86-64 is little-endian */
        len += 8;
    }
    while (len < max && a[len] == b[len])
        len++;
    return len;
}

/* The longest earlier occurrence of the bytes at pos, longer than `better_than`; returns its length (0 if
 * none) and sets *dist. Must be called before pos itself is inserted. */
static unsigned find_match(const deflater *d, size_t pos, unsigned better_than, unsigned chain, unsigned *dist)
{
    size_t avail = d->n - pos;
    if (avail < DEFLATE_MIN_MATCH)
        return 0;
    unsigned max = avail > DEFLATE_MAX_MATCH ? DEFLATE_MAX_MATCH : (unsigned)avail;
    unsigned nice = d->lp.nice < max ? d->lp.nice : max;
    unsigned best = better_than < DEFLATE_MIN_MATCH - 1 ? DEFLATE_MIN_MATCH - 1 : better_than;
    unsigned found = 0;
    if (best >= max)
        return 0;
    const uint8_t *cur = d->in + pos;
    uint32_t link = d->head[hash3(cur)];
    while (link != 0 && chain-- > 0) {
        size_t cand = link - 1;
        size_t back = pos - cand;
        if (back > DEFLATE_WINDOW)
            break;
        const uint8_t *p = d->in + cand;
        /* The byte just past the best length must match for a longer match: a cheap first test. */
        if (p[best] == cur[best] && p[0] == cur[0] && p[1] == cur[1]) {
            unsigned len = common_length(p, cur, max);
            if (len > best && !(len == DEFLATE_MIN_MATCH && back > FAR_FOR_SHORT_MATCH)) {
                best = len;
                found = len;
                *dist = (unsigned)back;
                if (len >= nice)
                    break;
            }
        }
        link = d->prev[cand & WINDOW_MASK];
    }
    return found;
}

static inline void emit_literal(deflater *d, uint8_t b)
{
    d->sym_len[d->nsym] = b;
    d->sym_dist[d->nsym] = 0;
    d->nsym++;
    d->freq_ll[b]++;
}

static inline void emit_match(deflater *d, unsigned len, unsigned dist)
{
    d->sym_len[d->nsym] = (uint16_t)len;
    d->sym_dist[d->nsym] = (uint16_t)dist;
    d->nsym++;
    d->freq_ll[257 + d->length_sym[len]]++;
    d->freq_d[dist_symbol(d, dist)]++;
}

static void compress_lz(deflater *d)
{
    const size_t n = d->n;
    const size_t hash_end = n >= DEFLATE_MIN_MATCH ? n - DEFLATE_MIN_MATCH + 1 : 0; /* positions with 3 bytes */
    size_t pos = 0, next_insert = 0;
    const level_params lp = d->lp;

    while (pos < n) {
        unsigned dist = 0;
        unsigned len = find_match(d, pos, 0, lp.chain, &dist);
        if (pos < hash_end && next_insert == pos) {
            insert(d, pos);
            next_insert = pos + 1;
        }
        /* Lazy matching: while the next position offers a longer match, send this byte as a literal. */
        while (len != 0 && len < lp.lazy && pos + 1 < n) {
            unsigned chain = len >= lp.good ? lp.chain / 4 + 1 : lp.chain;
            unsigned dist2 = 0;
            unsigned len2 = find_match(d, pos + 1, len, chain, &dist2);
            if (pos + 1 < hash_end && next_insert == pos + 1) {
                insert(d, pos + 1);
                next_insert = pos + 2;
            }
            if (len2 <= len)
                break;
            emit_literal(d, d->in[pos]);
            if (d->nsym == BLOCK_SYMBOLS)
                flush_block(d, pos + 1, 0);
            pos++;
            len = len2;
            dist = dist2;
        }
        if (len != 0) {
            emit_match(d, len, dist);
            size_t end = pos + len;
            if (lp.insert_all) {
                size_t stop = end < hash_end ? end : hash_end;
                for (size_t p = next_insert; p < stop; p++)
                    insert(d, p);
            }
            if (next_insert < end)
                next_insert = end;
            pos = end;
        } else {
            emit_literal(d, d->in[pos]);
            pos++;
        }
        if (d->nsym == BLOCK_SYMBOLS && pos < n) {
            flush_block(d, pos, 0);
            if (d->w.overflow)
                return;
        }
    }
}

size_t snapfn_deflate_bound(size_t n)
{
    /* Every block costs at most its stored form: 5 bytes per stored chunk of <= 65535 bytes plus padding, and
     * a block ends only after BLOCK_SYMBOLS symbols (so as many bytes), hence blocks <= n / 16384 + 1. */
    return n + (n >> 11) + 32;
}

size_t snapfn_gzip_bound(size_t n)
{
    return snapfn_deflate_bound(n) + 18;
}

/* Compresses into w; returns an error or NULL. */
static const char *deflate_into(const uint8_t *in, size_t n, int level, bit_writer *w)
{
    if (level < 0 || level > 9)
        return "bad argument: deflate level must be 0..9";
    if (n > 0xFFFFFFF0u)
        return "too large: deflate input over 4 GiB";
    if (in == NULL && n != 0)
        return "bad argument: NULL input";

    deflater *d = malloc(sizeof *d);
    if (d == NULL)
        return "out of memory";
    memset(d, 0, sizeof *d);
    d->in = in;
    d->n = n;
    d->lp = levels[level];
    d->w = *w;

    if (level == 0) {
        write_stored(d, 0, n, 1);
    } else {
        d->head = calloc(HASH_SIZE, sizeof *d->head);
        d->prev = malloc(DEFLATE_WINDOW * sizeof *d->prev);
        d->sym_len = malloc(BLOCK_SYMBOLS * sizeof *d->sym_len);
        d->sym_dist = malloc(BLOCK_SYMBOLS * sizeof *d->sym_dist);
        if (d->head == NULL || d->prev == NULL || d->sym_len == NULL || d->sym_dist == NULL) {
            free(d->head);
            free(d->prev);
            free(d->sym_len);
            free(d->sym_dist);
            free(d);
            return "out of memory";
        }
        init_symbol_maps(d);
        compress_lz(d);
        if (!d->w.overflow)
            flush_block(d, n, 1);
        free(d->head);
        free(d->prev);
        free(d->sym_len);
        free(d->sym_dist);
    }
    align_to_byte(&d->w);
    *w = d->w;
    free(d);
    return w->overflow ? "too large: output buffer too small (size it with snapfn_deflate_bound)" : NULL;
}

const char *snapfn_deflate(const uint8_t *in, size_t n, int level, uint8_t *out, size_t out_cap, size_t *out_len)
{
    bit_writer w = {.out = out, .cap = out == NULL ? 0 : out_cap};
    *out_len = 0;
    const char *err = deflate_into(in, n, level, &w);
    if (err == NULL)
        *out_len = w.pos;
    return err;
}

const char *snapfn_gzip(const uint8_t *in, size_t n, int level, uint8_t *out, size_t out_cap, size_t *out_len)
{
    *out_len = 0;
    if (out == NULL || out_cap < 18)
        return "too large: output buffer too small (size it with snapfn_gzip_bound)";
    /* RFC 1952 member header: ID1 ID2, CM 8 (deflate), FLG 0, MTIME 0 (none), XFL (2: best, 4: fastest),
     * OS 255 (unknown). */
    static const uint8_t header[4] = {0x1f, 0x8b, 8, 0};
    memcpy(out, header, 4);
    memset(out + 4, 0, 4);
    out[8] = level >= 9 ? 2 : level == 1 ? 4 : 0;
    out[9] = 255;

    bit_writer w = {.out = out, .cap = out_cap - 8, .pos = 10};
    const char *err = deflate_into(in, n, level, &w);
    if (err != NULL)
        return err;
    uint32_t crc = snapfn_crc32(0, in, n);
    uint32_t isize = (uint32_t)n; /* the size modulo 2^32 */
    uint8_t *t = out + w.pos;
    for (int i = 0; i < 4; i++) {
        t[i] = (uint8_t)(crc >> (8 * i));
        t[4 + i] = (uint8_t)(isize >> (8 * i));
    }
    *out_len = w.pos + 8;
    return NULL;
}
