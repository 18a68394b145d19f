/* Deflate (RFC 1951) and gzip (RFC 1952): a compressor and a decompressor working on whole buffers.
 *
 * Every call that can fail returns NULL on success or a static message saying what was wrong, which starts
 * with one of "truncated", "corrupt", "too large", "out of memory" or "bad argument". Nothing here keeps
 * state between calls: working memory comes from malloc and goes back before the call returns. */
#ifndef SNAPFN_DEFLATE_H
#define SNAPFN_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

/* Levels: 0 stores only; 1 is fastest; 6 is the default balance; 9 searches hardest. */
#define SNAPFN_DEFLATE_DEFAULT_LEVEL 6

/* The most bytes snapfn_deflate / snapfn_gzip can write for n input bytes, at any level and for any data:
 * an output buffer this large never fails with "too large". */
size_t snapfn_deflate_bound(size_t n);
size_t snapfn_gzip_bound(size_t n);

/* Compresses in[0..n) into one raw deflate stream (LZ77 with hash chains and lazy matching, each block sent
 * dynamic, fixed or stored, whichever is smallest). Writes at most out_cap bytes and sets *out_len. */
const char *snapfn_deflate(const uint8_t *in, size_t n, int level, uint8_t *out, size_t out_cap, size_t *out_len);

/* The same wrapped as one gzip member: 10-byte header (no name, no time), deflate data, CRC-32 and ISIZE. */
const char *snapfn_gzip(const uint8_t *in, size_t n, int level, uint8_t *out, size_t out_cap, size_t *out_len);

/* Decompresses one raw deflate stream from in[0..n). *out_len is the decompressed size; *in_used (if not
 * NULL) is how many input bytes the stream took, counting its last partial byte. */
const char *snapfn_inflate(const uint8_t *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len,
                           size_t *in_used);

/* Decompresses a gzip file of one or more members (concatenated, as `gzip -d` accepts), checking each
 * member's CRC-32 and ISIZE. */
const char *snapfn_gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len);

/* The CRC-32 of gzip and zlib (reflected polynomial 0xEDB88320). Start with crc = 0; pass the previous
 * result to continue over more data. */
uint32_t snapfn_crc32(uint32_t crc, const void *data, size_t n);

#endif
