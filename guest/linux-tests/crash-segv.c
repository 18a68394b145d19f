/* crash-segv: a write to address 8. Under the VMM this must end the VM with a reported fault (no signal is
 * delivered); natively it is SIGSEGV. Reaching the line after the write is a failure. */
#include "lt.h"

#include <stdio.h>

int main(void)
{
    lt_init();
    printf("crash-segv: writing to address 8\n");
    fflush(stdout);
    /* Through a volatile variable, so the compiler cannot see the address and replace the store by a trap. */
    volatile uintptr_t address = 8;
    *(volatile int *)address = 1;
    lt_fail("crash-segv", "the write to address 8 did not fault");
    return lt_finish();
}
