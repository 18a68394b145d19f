/* Test guest: returns its input unchanged (input and output buffers carry up to 32 MiB). */
#include "snapfn.h"

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    if (in_len > out_cap)
        snapfn_abort("echo: input of %zu bytes does not fit the %zu-byte output buffer", in_len, out_cap);
    memcpy(out, in, in_len);
    return in_len;
}
