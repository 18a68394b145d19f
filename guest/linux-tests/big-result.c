/* big-result: a function that answers with one huge result frame, in one write(3, ...) whose body is untouched
 * anonymous pages: the attack of issue 18 on the host's memory (the VMM once buffered the whole write before it
 * looked at the frame's length). Run as a function with one argument, the body's size in MiB; the frame header
 * announces exactly that many bytes, and the header and body go out in a single write. */
#include "lt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHANNEL 3
#define PAGE 4096UL

int main(int argc, char **argv)
{
    lt_init();
    if (argc != 2 || atol(argv[1]) <= 0) {
        fprintf(stderr, "usage: %s MIB\n", argv[0]);
        return 2;
    }
    uint64_t body = (uint64_t)atol(argv[1]) << 20;
    uint32_t request[2];
    if (read(CHANNEL, request, sizeof request) != (ssize_t)sizeof request)
        return 1;
    /* The header sits in the last 8 bytes of the page before the body, so that one write carries both. */
    unsigned char *map = mmap(NULL, PAGE + body, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return 1;
    uint32_t *header = (uint32_t *)(map + PAGE - 8);
    header[0] = 0;
    header[1] = (uint32_t)body;
    ssize_t written = write(CHANNEL, header, 8 + body);
    printf("big-result: write returned %zd\n", written);
    return 1;
}
