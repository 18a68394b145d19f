/* exit42: prints one line, then exit_group(42) directly (no atexit handlers, no stdio flush after it). */
#include "lt.h"

#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    lt_init();
    printf("exit42: calling exit_group(42)\n");
    fflush(stdout);
    syscall(SYS_exit_group, 42);
    lt_fail("exit42", "exit_group returned");
    return lt_finish();
}
