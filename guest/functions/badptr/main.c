/* Test guest: a LOG hypercall whose text pointer lies beyond guest memory; the VMM must stop the VM. */
#include "snapfn.h"
#include "snapfn_abi.h"

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    (void)in, (void)in_len, (void)out, (void)out_cap;
    volatile struct snapfn_mailbox *mailbox = (volatile struct snapfn_mailbox *)SNAPFN_MAILBOX_ADDR;
    mailbox->arg0 = mailbox->memory_size + 4096; /* just past the end of guest memory */
    mailbox->arg1 = 16;
    __asm__ volatile("outl %0, %w1" : : "a"((uint32_t)SNAPFN_HC_LOG), "Nd"((uint16_t)SNAPFN_HC_PORT) : "memory");
    return 0;
}
