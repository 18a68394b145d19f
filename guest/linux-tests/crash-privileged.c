/* crash-privileged: privileged instructions at CPL 3. `hlt` must fault (#GP) and end the VM; if it returns,
 * `cli` is tried (with IOPL 3 it would not fault, which is worth knowing). Natively both are SIGSEGV. */
#include "lt.h"

#include <stdio.h>

int main(void)
{
    lt_init();
    printf("crash-privileged: executing hlt\n");
    fflush(stdout);
    __asm__ volatile("hlt");
    printf("crash-privileged: hlt returned; executing cli\n");
    fflush(stdout);
    __asm__ volatile("cli");
    lt_fail("crash-privileged", "hlt and cli both returned at CPL 3");
    return lt_finish();
}
