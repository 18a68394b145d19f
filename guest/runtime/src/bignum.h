/* Fixed-size unsigned big integers, for the exact decimal <-> binary conversions in strtod and printf.
 *
 * Internal to the runtime. 5120 bits cover the largest number either conversion builds: strtod keeps at most
 * 800 significant digits and scales by at most 10^1150, printf holds at most a 1024-bit integer part or a
 * 1074-bit binary fraction times 10^9. An operation whose result would not fit aborts rather than corrupt. */
#ifndef SNAPFN_BIGNUM_H
#define SNAPFN_BIGNUM_H

#include <stdbool.h>
#include <stdint.h>

#define BIG_LIMBS 160

typedef struct {
    uint32_t n;                /* limbs in use; limb[n-1] != 0, or n == 0 for zero */
    uint32_t limb[BIG_LIMBS];  /* little-endian base 2^32 */
} big;

void big_set_u64(big *a, uint64_t v);
bool big_is_zero(const big *a);
/* a = a * m + add */
void big_mul_add_small(big *a, uint32_t m, uint32_t add);
/* a = a * 10^e, e >= 0 */
void big_mul_pow10(big *a, unsigned e);
void big_shl(big *a, unsigned bits);
void big_shr1(big *a);
int big_cmp(const big *a, const big *b);
/* a = a - b, requires a >= b */
void big_sub(big *a, const big *b);
/* a = a / d; returns a % d */
uint32_t big_div_small(big *a, uint32_t d);
/* Number of significant bits (0 for zero). */
unsigned big_bitlen(const big *a);
/* a >> bits, as a 64-bit value; the caller guarantees it fits. */
uint64_t big_shr_u64(const big *a, unsigned bits);
/* a = a mod 2^bits */
void big_truncate(big *a, unsigned bits);
/* True when any of the low `bits` bits of a is set. */
bool big_low_bits_nonzero(const big *a, unsigned bits);

#endif
