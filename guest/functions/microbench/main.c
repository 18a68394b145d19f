/* Micro-benchmarks of the VMM, driven by bench/: {"op": "compute"|"hypercall"|"touch", "n": N}.
 *   compute:   run the shared compute kernel N iterations (compared with a native run of the same code)
 *   hypercall: make N LOG hypercalls of one byte (the VMM drops them when nobody listens)
 *   touch:     write one byte to each of N fresh heap pages (first-touch cost) */
#include "snapfn.h"
#include "snapfn_abi.h"
#include "compute_kernel.h"

void snapfn_init(void)
{
}

static void empty_log(void)
{
    static const char byte = '.';
    volatile struct snapfn_mailbox *mailbox = (volatile struct snapfn_mailbox *)SNAPFN_MAILBOX_ADDR;
    mailbox->arg0 = (uint64_t)(uintptr_t)&byte;
    mailbox->arg1 = 1;
    __asm__ volatile("outl %0, %w1" : : "a"((uint32_t)SNAPFN_HC_LOG), "Nd"((uint16_t)SNAPFN_HC_PORT) : "memory");
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    char op[32], number[32];
    if (!snapfn_json_get(in, in_len, "op", op, sizeof op) || !snapfn_json_get(in, in_len, "n", number, sizeof number))
        snapfn_abort("expected {\"op\": \"compute|hypercall|touch\", \"n\": N}");
    uint64_t n = (uint64_t)strtol(number, NULL, 10);
    uint64_t result = 0;
    if (strcmp(op, "compute") == 0) {
        result = compute_kernel(n);
    } else if (strcmp(op, "hypercall") == 0) {
        for (uint64_t i = 0; i < n; i++)
            empty_log();
    } else if (strcmp(op, "touch") == 0) {
        volatile uint8_t *pages = xmalloc(n * 4096);
        for (uint64_t i = 0; i < n; i++)
            pages[i * 4096] = 1;
        result = n;
    } else {
        snapfn_abort("unknown op '%s'", op);
    }
    return (size_t)snprintf((char *)out, out_cap, "{\"op\":\"%s\",\"n\":%llu,\"result\":%llu}", op,
                            (unsigned long long)n, (unsigned long long)result);
}
