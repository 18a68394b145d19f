#!/usr/bin/env python3
"""Prints the constants that guest/runtime/src/math.c needs, computed here with exact integer arithmetic
(pi by Machin's formula, ln 2 by Python's correctly rounded decimal module), so that none is copied from
elsewhere. Run it and compare with math.c after changing how a constant is split."""
import struct
from decimal import Decimal, getcontext
from fractions import Fraction

BITS = 1600  # working precision for pi


def arctan_inv(n, one):
    """arctan(1/n) * one, by the Taylor series in integers."""
    total, term, k, sign = 0, one // n, 1, 1
    n2 = n * n
    while term:
        total += sign * (term // k)
        term //= n2
        k += 2
        sign = -sign
    return total


def hexd(x):
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def split(value, keep_bits):
    """value = hi + lo, hi with keep_bits significant bits (so k*hi is exact for small k), lo the rounded rest."""
    f = Fraction(value)
    e = 0
    while f >= 2 ** (e + 1):
        e += 1
    while f < 2 ** e:
        e -= 1
    scale = Fraction(2) ** (e - keep_bits + 1)
    hi = float(Fraction(int(f / scale)) * scale)
    lo = float(f - Fraction(hi))
    return hi, lo


one = 1 << BITS
pi = 4 * (4 * arctan_inv(5, one) - arctan_inv(239, one))  # pi * 2^BITS
pi_frac = Fraction(pi, one)

two_over_pi = (2 << (2 * BITS)) // pi  # 2/pi * 2^BITS
words = []
for i in range(20):
    words.append((two_over_pi >> (BITS - 64 * (i + 1))) & ((1 << 64) - 1))
print("/* 2/pi, 1280 bits after the binary point */")
for i in range(0, 20, 2):
    print("    0x%016xULL, 0x%016xULL," % (words[i], words[i + 1]))

pio2 = pi_frac / 2
hi = float(pio2)
lo = float(pio2 - Fraction(hi))
print("pio2_hi = %s /* %r */, pio2_lo = %s /* %r */" % (hexd(hi), hi, hexd(lo), lo))
pio4 = float(pi_frac / 4)
print("pio4 = %s /* %r */" % (hexd(pio4), pio4))

getcontext().prec = 80
ln2 = Fraction(Decimal(2).ln())
hi, lo = split(ln2, 32)
print("ln2_hi = %s /* %r */, ln2_lo = %s /* %r */" % (hexd(hi), hi, hexd(lo), lo))
print("inv_ln2 = %s /* %r */" % (hexd(float(1 / ln2)), float(1 / ln2)))
