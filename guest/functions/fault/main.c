/* Test guest: executes an invalid instruction, so that the VMM reports a crash with the guest's RIP. */
#include "snapfn.h"

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    __asm__ volatile("ud2");
    return 0;
}
