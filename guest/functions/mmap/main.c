/* mmap: the paper's "allocate a big buffer and touch it" workload. Nothing is built in init(): every page the
 * request writes is new memory, which is what makes snapshot restore cheap or expensive for it (the freed
 * buffer is discarded, so the snapshot holds only zeros there).
 *
 * Input: {"size_mib":N}. Output: {"size_mib":N,"pages":P,"checksum":"<16 hex digits>"}. */
#include "snapfn.h"

#define PAGE 4096
#define GOLDEN 0x9e3779b97f4a7c15ULL

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    char text[32];
    char *end;
    if (!snapfn_json_get(in, in_len, "size_mib", text, sizeof text))
        snapfn_abort("mmap: expected input {\"size_mib\":N} with N in 1..1536");
    long mib = strtol(text, &end, 10);
    if (*end || end == text || mib < 1 || mib > 1536)
        snapfn_abort("mmap: size_mib must be an integer in 1..1536, got '%s'", text);

    size_t size = (size_t)mib << 20;
    size_t pages = size / PAGE;
    volatile uint64_t *buf = malloc(size);
    if (!buf)
        snapfn_abort("mmap: could not allocate %ld MiB", mib);
    /* One word per page, at a different offset in each page, so every page is written (and faulted in). */
    for (size_t p = 0; p < pages; p++)
        buf[p * (PAGE / 8) + p % (PAGE / 8)] = (p + 1) * GOLDEN;
    uint64_t sum = 0;
    for (size_t p = 0; p < pages; p++)
        sum += buf[p * (PAGE / 8) + p % (PAGE / 8)] ^ p;
    free((void *)buf);

    int len = snprintf((char *)out, out_cap, "{\"size_mib\":%ld,\"pages\":%zu,\"checksum\":\"%016llx\"}", mib, pages,
                       (unsigned long long)sum);
    if (len < 0 || (size_t)len >= out_cap)
        snapfn_abort("mmap: output buffer of %zu bytes is too small", out_cap);
    return (size_t)len;
}
