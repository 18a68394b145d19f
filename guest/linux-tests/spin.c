/* spin: prints one line, then loops forever without system calls (for the VMM's timeout and kill paths). */
#include "lt.h"

#include <stdio.h>

int main(void)
{
    lt_init();
    printf("spin: looping forever\n");
    fflush(stdout);
    volatile unsigned long counter = 0;
    for (;;)
        counter++;
}
