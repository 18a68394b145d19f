/* Test guest with a seed-dependent working set: init() fills 256 MiB with non-zero data; handle({"seed": N})
 * reads a fixed common part (the first 32 MiB) plus about half of the remaining 64 KiB chunks, chosen by a
 * hash of (seed, chunk), touching every 4 KiB page of each. Two seeds share the common part and about a
 * quarter of the rest, so a recording made with one seed is partly right for another. */
#include "snapfn.h"

#define BYTES (256u << 20)
#define COMMON (32u << 20)
#define CHUNK (64u << 10)
#define PAGE 4096u

static uint8_t *data;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void snapfn_init(void)
{
    data = xmalloc(BYTES);
    uint64_t *words = (uint64_t *)data;
    for (size_t i = 0; i < BYTES / 8; i++)
        words[i] = mix64(i) | 1;
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    char text[32];
    uint64_t seed = 1;
    if (snapfn_json_get(in, in_len, "seed", text, sizeof text))
        seed = (uint64_t)strtol(text, NULL, 10);
    uint64_t sum = 0, pages = 0;
    for (size_t chunk = 0; chunk < BYTES / CHUNK; chunk++) {
        if ((size_t)chunk * CHUNK >= COMMON && (mix64(seed * 0x9e3779b97f4a7c15ULL ^ chunk) & 1) == 0)
            continue;
        for (size_t page = 0; page < CHUNK / PAGE; page++) {
            const uint64_t *word = (const uint64_t *)(data + chunk * CHUNK + page * PAGE);
            sum = (sum ^ *word) * 0x100000001b3ULL;
            pages++;
        }
    }
    return (size_t)snprintf((char *)out, out_cap, "{\"seed\":%llu,\"pages\":%llu,\"checksum\":\"%016llx\"}",
                            (unsigned long long)seed, (unsigned long long)pages, (unsigned long long)sum);
}
