/* The contract between a Snapfn guest and the VMM (src/Snapfn.Vmm/GuestAbi.cs mirrors it; a test checks both).
 *
 * Guest-physical == guest-virtual. The VMM builds the page tables, the GDT and the mailbox in the first 2 MiB
 * (supervisor-only except the mailbox, page 0 not present so that NULL faults), loads the ELF at 2 MiB and
 * enters it at CPL 3 with IOPL 3, RSP at the top of the stack region and RDI = the mailbox address.
 *
 * A hypercall is a 32-bit `out` of the call number to SNAPFN_HC_PORT; its arguments and results travel in
 * the mailbox, because every exit costs ~10 us here and a register read would cost another ioctl. */
#ifndef SNAPFN_ABI_H
#define SNAPFN_ABI_H

#include <stdint.h>

#define SNAPFN_ABI_MAGIC 0x314e4650414e53ULL /* "SNAPFN1" little-endian */
#define SNAPFN_ABI_VERSION 1u

#define SNAPFN_MAILBOX_ADDR 0x6000ULL
#define SNAPFN_ELF_BASE 0x200000ULL
#define SNAPFN_HC_PORT 0x5f0u

enum snapfn_hypercall {
    SNAPFN_HC_LOG = 1,     /* arg0 = text, arg1 = length */
    SNAPFN_HC_READY = 2,   /* init() is done (the snapshot point); returns with input_len set */
    SNAPFN_HC_RESULT = 3,  /* arg0 = output length (output is in the output buffer); returns with the next input */
    SNAPFN_HC_ABORT = 4,   /* arg0 = message, arg1 = length; never returns */
    SNAPFN_HC_DISCARD = 5, /* arg0 = page-aligned address, arg1 = page-aligned length; the VMM zeroes the range */
};

struct snapfn_mailbox {
    /* Written by the VMM before the first instruction. */
    uint64_t magic;
    uint64_t abi_version;
    uint64_t memory_size;
    uint64_t input_addr;
    uint64_t input_capacity;
    uint64_t output_addr;
    uint64_t output_capacity;
    uint64_t heap_start;
    uint64_t heap_end;
    /* Written by the guest before a hypercall. */
    uint64_t arg0;
    uint64_t arg1;
    /* Written by the VMM when READY or RESULT returns. */
    uint64_t input_length;
};

#endif
