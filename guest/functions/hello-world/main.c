/* The minimal function: greets {"name": "..."}, or the World when no name is given. */
#include "snapfn.h"

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    char name[256];
    if (!snapfn_json_get(in, in_len, "name", name, sizeof name) || name[0] == '\0')
        memcpy(name, "World", 6);
    int n = snprintf((char *)out, out_cap, "Hello, %s!", name);
    return n < 0 ? 0 : ((size_t)n < out_cap ? (size_t)n : out_cap - 1);
}
