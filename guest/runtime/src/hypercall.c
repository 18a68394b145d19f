/* The hypercalls and the request loop. */
#include "snapfn.h"
#include "snapfn_abi.h"

static volatile struct snapfn_mailbox *const mailbox = (volatile struct snapfn_mailbox *)SNAPFN_MAILBOX_ADDR;

void snapfn_heap_setup(uint64_t start, uint64_t end);

static inline void hypercall(uint32_t number)
{
    /* The "memory" clobber makes the compiler store mailbox arguments and buffers before the exit. The jump ends
     * the emulator's translated block right after the `out`, so that on a software CPU (which stops only between
     * blocks) nothing after the hypercall runs before the VMM has answered it; on KVM it costs nothing. */
    __asm__ volatile("outl %0, %w1\n\tjmp 1f\n1:" : : "a"(number), "Nd"((uint16_t)SNAPFN_HC_PORT) : "memory");
}

void snapfn_log(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    mailbox->arg0 = (uint64_t)(uintptr_t)text;
    mailbox->arg1 = (uint64_t)(n < (int)sizeof text ? n : (int)sizeof text - 1);
    hypercall(SNAPFN_HC_LOG);
}

_Noreturn void snapfn_abort(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    mailbox->arg0 = (uint64_t)(uintptr_t)text;
    mailbox->arg1 = (uint64_t)(n < (int)sizeof text ? n : (int)sizeof text - 1);
    for (;;)
        hypercall(SNAPFN_HC_ABORT);
}

void snapfn_discard(void *addr, size_t len)
{
    uint64_t start = ((uint64_t)(uintptr_t)addr + 4095) & ~4095ULL;
    uint64_t end = ((uint64_t)(uintptr_t)addr + len) & ~4095ULL;
    if (end <= start)
        return;
    mailbox->arg0 = start;
    mailbox->arg1 = end - start;
    hypercall(SNAPFN_HC_DISCARD);
}

_Noreturn void snapfn_main(void);
_Noreturn void snapfn_main(void)
{
    if (mailbox->magic != SNAPFN_ABI_MAGIC || mailbox->abi_version != SNAPFN_ABI_VERSION)
        for (;;)
            __asm__ volatile("ud2");
    snapfn_heap_setup(mailbox->heap_start, mailbox->heap_end);
    snapfn_init();
    hypercall(SNAPFN_HC_READY);
    for (;;) {
        const uint8_t *in = (const uint8_t *)(uintptr_t)mailbox->input_addr;
        uint8_t *out = (uint8_t *)(uintptr_t)mailbox->output_addr;
        size_t out_len = snapfn_handle(in, mailbox->input_length, out, mailbox->output_capacity);
        if (out_len > mailbox->output_capacity)
            snapfn_abort("handle() returned %zu bytes, more than the output buffer's %llu", out_len,
                         (unsigned long long)mailbox->output_capacity);
        mailbox->arg0 = out_len;
        hypercall(SNAPFN_HC_RESULT);
    }
}
