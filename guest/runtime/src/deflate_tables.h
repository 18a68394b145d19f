/* Constants of the deflate format (RFC 1951 section 3.2), shared by deflate.c and inflate.c. */
#ifndef SNAPFN_DEFLATE_TABLES_H
#define SNAPFN_DEFLATE_TABLES_H

#include <stdint.h>

#define DEFLATE_MAX_BITS 15      /* longest literal/length or distance code */
#define DEFLATE_MAX_CL_BITS 7    /* longest code-length code */
#define DEFLATE_NUM_LITLEN 286   /* literal/length symbols that may appear (286 and 287 may not) */
#define DEFLATE_NUM_DIST 30      /* distance symbols that may appear (30 and 31 may not) */
#define DEFLATE_NUM_CL 19        /* code-length symbols */
#define DEFLATE_END_OF_BLOCK 256
#define DEFLATE_MIN_MATCH 3
#define DEFLATE_MAX_MATCH 258
#define DEFLATE_WINDOW 32768     /* farthest distance */
#define DEFLATE_STORED_MAX 65535 /* longest stored block */

/* Length symbols 257..285: the shortest length each stands for, and how many extra bits follow. */
static const uint16_t deflate_length_base[29] = {
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
};
static const uint8_t deflate_length_extra[29] = {
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
};

/* Distance symbols 0..29 likewise. */
static const uint16_t deflate_dist_base[30] = {
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
    6145, 8193, 12289, 16385, 24577,
};
static const uint8_t deflate_dist_extra[30] = {
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
};

/* The order in which a dynamic block header lists the code-length code's lengths. */
static const uint8_t deflate_cl_order[DEFLATE_NUM_CL] = {
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
};

/* Code lengths of the fixed Huffman code (RFC 1951 section 3.2.6). */
static inline unsigned deflate_fixed_litlen_bits(unsigned sym)
{
    return sym < 144 ? 8 : sym < 256 ? 9 : sym < 280 ? 7 : 8;
}
#define DEFLATE_FIXED_DIST_BITS 5

#endif
