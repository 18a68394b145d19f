/* Checks the AES code against published vectors: FIPS-197 Appendix C.3 (AES-256, one block) and
 * NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt). Built on the host with the test shim. */
#include "../main.c"

#include <stdio.h>

static int failures;

static void parse_hex(const char *s, uint8_t *out)
{
    for (size_t i = 0; s[2 * i]; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void check(const char *name, const uint8_t *got, const char *want_hex, size_t n)
{
    uint8_t want[64];
    parse_hex(want_hex, want);
    if (memcmp(got, want, n) != 0) {
        printf("FAIL %s\n", name);
        failures++;
    } else {
        printf("ok   %s\n", name);
    }
}

int main(void)
{
    snapfn_init();
    uint8_t key[32], block[16], out[64];
    uint32_t rk[4 * (ROUNDS + 1)];

    parse_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", key);
    parse_hex("00112233445566778899aabbccddeeff", block);
    expand_key(key, rk);
    encrypt_block(rk, block, out);
    check("FIPS-197 C.3", out, "8ea2b7ca516745bfeafc49904b496089", 16);

    parse_hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", key);
    uint8_t iv[16], plain[64];
    parse_hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv);
    parse_hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
              "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", plain);
    expand_key(key, rk);
    ctr_crypt(rk, iv, plain, out, 64);
    check("SP 800-38A F.5.5", out,
          "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
          "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6", 64);
    ctr_crypt(rk, iv, out, out, 64);
    check("SP 800-38A F.5.6 (decrypt)", out,
          "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", 64);

    /* A counter that carries across bytes: ...ff ff -> ...00 00 with the byte before incremented. */
    uint8_t carry_iv[16] = {0}, zeros[48] = {0}, a[48], b[16];
    carry_iv[14] = 0xff;
    carry_iv[15] = 0xfe;
    ctr_crypt(rk, carry_iv, zeros, a, 48);
    uint8_t third[16] = {0};
    third[13] = 1;
    encrypt_block(rk, third, b);
    if (memcmp(a + 32, b, 16) != 0) {
        printf("FAIL counter carry into byte 13\n");
        failures++;
    } else {
        printf("ok   counter carry into byte 13\n");
    }
    printf("%d failed\n", failures);
    return failures != 0;
}
