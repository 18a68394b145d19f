/* aes: the paper's pyaes workload — AES-256 in CTR mode over the request's text, then decrypt it again and
 * check that it round-trips. The S-box, the four lookup tables and the key schedule are built in init(),
 * as pyaes builds its tables when the module is imported.
 *
 * Key: bytes 0x00..0x1f. Initial counter block: bytes 0xf0..0xff, the whole 128-bit block incremented
 * big-endian by one per block (NIST SP 800-38A). Input: any bytes. Output:
 * {"bytes":N,"roundtrip":true,"ciphertext":"<2N lowercase hex digits>"}. */
#include "snapfn.h"

#define ROUNDS 14
#define KEY_WORDS 8

static uint8_t sbox[256];
/* te[k][x]: SubBytes + MixColumns of byte x in row k of a column, as a big-endian column word. */
static uint32_t te[4][256];
static uint32_t round_keys[4 * (ROUNDS + 1)];
static uint8_t initial_counter[16];

static uint8_t xtime(uint8_t x)
{
    return (uint8_t)(x << 1 ^ (x & 0x80 ? 0x1b : 0));
}

static uint32_t rotl8(uint32_t x, int n)
{
    return (x << n | x >> (8 - n)) & 0xff;
}

/* The S-box from its definition (inverse in GF(2^8), then the affine map) rather than a pasted table. */
static void build_tables(void)
{
    uint8_t exp_table[256], log_table[256];
    uint8_t x = 1;
    for (int i = 0; i < 255; i++) {
        exp_table[i] = x;
        log_table[x] = (uint8_t)i;
        x ^= xtime(x); /* multiply by the generator 3 */
    }
    for (int i = 0; i < 256; i++) {
        uint32_t inv = i == 0 ? 0 : exp_table[(255 - log_table[i]) % 255];
        sbox[i] = (uint8_t)(inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63);
    }
    for (int i = 0; i < 256; i++) {
        uint32_t s = sbox[i], s2 = xtime((uint8_t)s), s3 = s2 ^ s;
        uint32_t w = s2 << 24 | s << 16 | s << 8 | s3;
        for (int k = 0; k < 4; k++)
            te[k][i] = w >> (8 * k) | w << ((32 - 8 * k) & 31);
    }
}

static uint32_t load_be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t sub_word(uint32_t w)
{
    return (uint32_t)sbox[w >> 24] << 24 | (uint32_t)sbox[(w >> 16) & 0xff] << 16 |
           (uint32_t)sbox[(w >> 8) & 0xff] << 8 | sbox[w & 0xff];
}

static void expand_key(const uint8_t key[32], uint32_t rk[4 * (ROUNDS + 1)])
{
    uint8_t rcon = 1;
    for (int i = 0; i < KEY_WORDS; i++)
        rk[i] = load_be(key + 4 * i);
    for (int i = KEY_WORDS; i < 4 * (ROUNDS + 1); i++) {
        uint32_t t = rk[i - 1];
        if (i % KEY_WORDS == 0) {
            t = sub_word(t << 8 | t >> 24) ^ (uint32_t)rcon << 24;
            rcon = xtime(rcon);
        } else if (i % KEY_WORDS == 4) {
            t = sub_word(t);
        }
        rk[i] = rk[i - KEY_WORDS] ^ t;
    }
}

static void encrypt_block(const uint32_t *rk, const uint8_t in[16], uint8_t out[16])
{
    uint32_t s[4], t[4];
    for (int c = 0; c < 4; c++)
        s[c] = load_be(in + 4 * c) ^ rk[c];
    for (int r = 1; r < ROUNDS; r++) {
        /* Column c of the result takes row k from column c+k (ShiftRows), through the tables. */
        for (int c = 0; c < 4; c++)
            t[c] = te[0][s[c] >> 24] ^ te[1][(s[(c + 1) & 3] >> 16) & 0xff] ^ te[2][(s[(c + 2) & 3] >> 8) & 0xff] ^
                   te[3][s[(c + 3) & 3] & 0xff] ^ rk[4 * r + c];
        for (int c = 0; c < 4; c++)
            s[c] = t[c];
    }
    for (int c = 0; c < 4; c++) {
        uint32_t w = (uint32_t)sbox[s[c] >> 24] << 24 | (uint32_t)sbox[(s[(c + 1) & 3] >> 16) & 0xff] << 16 |
                     (uint32_t)sbox[(s[(c + 2) & 3] >> 8) & 0xff] << 8 | sbox[s[(c + 3) & 3] & 0xff];
        store_be(out + 4 * c, w ^ rk[4 * ROUNDS + c]);
    }
}

/* CTR mode: encryption and decryption are the same XOR with the keystream. */
static void ctr_crypt(const uint32_t *rk, const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t n)
{
    uint8_t counter[16], stream[16];
    memcpy(counter, iv, 16);
    for (size_t off = 0; off < n; off += 16) {
        encrypt_block(rk, counter, stream);
        size_t m = n - off < 16 ? n - off : 16;
        for (size_t i = 0; i < m; i++)
            out[off + i] = in[off + i] ^ stream[i];
        for (int i = 15; i >= 0 && ++counter[i] == 0; i--)
            ;
    }
}

void snapfn_init(void)
{
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 16; i++)
        initial_counter[i] = (uint8_t)(0xf0 + i);
    build_tables();
    expand_key(key, round_keys);
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    static const char prefix[] = "{\"bytes\":";
    char head[64];
    int head_len = snprintf(head, sizeof head, "%s%zu,\"roundtrip\":true,\"ciphertext\":\"", prefix, in_len);
    size_t need = (size_t)head_len + 2 * in_len + 2;
    if (need > out_cap)
        snapfn_abort("aes: %zu input bytes need %zu output bytes, the output buffer holds %zu", in_len, need, out_cap);

    uint8_t *cipher = xmalloc(in_len + 1);
    uint8_t *plain = xmalloc(in_len + 1);
    ctr_crypt(round_keys, initial_counter, in, cipher, in_len);
    ctr_crypt(round_keys, initial_counter, cipher, plain, in_len);
    if (memcmp(plain, in, in_len) != 0)
        snapfn_abort("aes: decryption did not give back the input");

    static const char hex[] = "0123456789abcdef";
    uint8_t *o = out;
    memcpy(o, head, (size_t)head_len);
    o += head_len;
    for (size_t i = 0; i < in_len; i++) {
        *o++ = (uint8_t)hex[cipher[i] >> 4];
        *o++ = (uint8_t)hex[cipher[i] & 15];
    }
    *o++ = '"';
    *o++ = '}';
    free(cipher);
    free(plain);
    return (size_t)(o - out);
}
