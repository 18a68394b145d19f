/* Test guest for snapshot isolation: returns what the previous request stored, then stores this request's
 * input. Every invocation restored from a snapshot taken after init() must find nothing stored. */
#include "snapfn.h"

static char stored[4096];
static size_t stored_len;

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    size_t n = stored_len < out_cap ? stored_len : out_cap;
    memcpy(out, stored, n);
    stored_len = in_len < sizeof stored ? in_len : sizeof stored;
    memcpy(stored, in, stored_len);
    return n;
}
