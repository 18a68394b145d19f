/* Test guest: never returns, so that the VMM's watchdog has to stop it. */
#include "snapfn.h"

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    for (volatile uint64_t i = 0;; i++) {
    }
    return 0;
}
