/* Test guest: init() fills 200 MiB with pseudo-random data (it lands in the snapshot); handle() reads all of
 * it and returns a checksum. Its working set is the whole 200 MiB, read in order. */
#include "snapfn.h"

#define BYTES (200u << 20)

static uint64_t *data;

void snapfn_init(void)
{
    data = xmalloc(BYTES);
    snapfn_rng rng;
    snapfn_rng_seed(&rng, 42);
    for (size_t i = 0; i < BYTES / 8; i++)
        data[i] = snapfn_rng_next(&rng) | 1; /* never zero: every page is data */
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    (void)in, (void)in_len;
    uint64_t sum = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < BYTES / 8; i++)
        sum = (sum ^ data[i]) * 0x100000001b3ULL;
    return (size_t)snprintf((char *)out, out_cap, "%016llx", (unsigned long long)sum);
}
