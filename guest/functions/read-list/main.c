/* read-list: the paper's "read a big list" workload. A language runtime would hold a list of small objects
 * built before the first request; init() builds it (so it lands in the snapshot) and every request walks all
 * of it, which makes the whole 512 MiB the request's working set.
 *
 * Output: {"nodes":N,"bytes":B,"checksum":"<16 hex digits>"} (see WORKLOADS.md for the formula). */
#include "snapfn.h"

#ifndef LIST_BYTES /* a host test builds a small list to check the checksum against a slow reference */
#define LIST_BYTES ((size_t)512 << 20)
#endif
#define LIST_SEED 1

/* 32 bytes, like a boxed integer in a dynamic language: a link, the value and some object header. */
struct node {
    struct node *next;
    uint64_t value;
    uint64_t header[2];
};

static struct node *head;
static size_t node_count;

void snapfn_init(void)
{
    snapfn_rng rng;
    snapfn_rng_seed(&rng, LIST_SEED);
    size_t count = LIST_BYTES / sizeof(struct node);
    struct node **link = &head;
    /* One malloc per object, as a runtime would do, so the nodes sit wherever the allocator puts them. */
    for (size_t i = 0; i < count; i++) {
        struct node *n = xmalloc(sizeof *n);
        n->value = snapfn_rng_next(&rng);
        n->header[0] = i;
        n->header[1] = 0;
        *link = n;
        link = &n->next;
    }
    *link = NULL;
    node_count = count;
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    (void)in;
    (void)in_len;
    /* FNV-1a over the 64-bit values, in list order: a missing, repeated or reordered node changes it. */
    uint64_t hash = 0xcbf29ce484222325ULL;
    size_t count = 0;
    for (const struct node *n = head; n; n = n->next) {
        hash = (hash ^ n->value) * 0x100000001b3ULL;
        count++;
    }
    if (count != node_count)
        snapfn_abort("read-list: walked %zu nodes but init() built %zu", count, node_count);
    int len = snprintf((char *)out, out_cap, "{\"nodes\":%zu,\"bytes\":%zu,\"checksum\":\"%016llx\"}", count,
                       count * sizeof(struct node), (unsigned long long)hash);
    if (len < 0 || (size_t)len >= out_cap)
        snapfn_abort("read-list: output buffer of %zu bytes is too small", out_cap);
    return (size_t)len;
}
