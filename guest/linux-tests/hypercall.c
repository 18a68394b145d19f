/* hypercall: a Linux program tries the C runtime's hypercalls, a 32-bit `out` to Snapfn's port 0x5f0. A Linux
 * program's one way out is its system calls, so each try must crash the program, never be served.
 * Run as a function (fd 3 is the invocation channel) with one argument:
 *   ready   an `out` of READY before the first read of fd 3: served, it would fake the snapshot point;
 *   result  reads one request from fd 3, then an `out` of RESULT: served, it would end the request with an empty
 *           result (an empty 200).
 * If the `out` returns, the program writes a result frame saying so (and for `ready` reads fd 3 first), so that a
 * served hypercall is visible as such. Natively the `out` is SIGSEGV. */
#include "lt.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HYPERCALL_PORT 0x5f0
#define HYPERCALL_READY 2
#define HYPERCALL_RESULT 3
#define CHANNEL 3

static void hypercall(uint32_t number)
{
    __asm__ volatile("outl %0, %w1" : : "a"(number), "d"((uint16_t)HYPERCALL_PORT) : "memory");
}

static bool read_all(void *buffer, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = read(CHANNEL, (char *)buffer + done, n - done);
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}

static bool read_request(void)
{
    static char body[4096];
    uint32_t header[2];
    if (!read_all(header, sizeof header) || header[0] > sizeof body)
        return false;
    return read_all(body, header[0]);
}

static void write_result(const char *text)
{
    uint32_t header[2] = {0, (uint32_t)strlen(text)};
    if (write(CHANNEL, header, sizeof header) != (ssize_t)sizeof header || write(CHANNEL, text, header[1]) != (ssize_t)header[1])
        _exit(3);
}

int main(int argc, char **argv)
{
    lt_init();
    if (argc != 2 || (strcmp(argv[1], "ready") != 0 && strcmp(argv[1], "result") != 0)) {
        fprintf(stderr, "usage: %s ready|result\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "ready") == 0) {
        printf("hypercall: out of READY before the first read of fd 3\n");
        fflush(stdout);
        hypercall(HYPERCALL_READY);
        if (!read_request())
            return 1;
        write_result("FAIL: the READY hypercall returned");
        return 1;
    }
    if (!read_request())
        return 1;
    printf("hypercall: out of RESULT during a request\n");
    fflush(stdout);
    hypercall(HYPERCALL_RESULT);
    write_result("FAIL: the RESULT hypercall returned");
    return 1;
}
