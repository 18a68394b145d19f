/* Deterministic test data for the deflate tests and benchmarks. */
#ifndef CODEC_TEST_INPUTS_H
#define CODEC_TEST_INPUTS_H

#include "test_util.h"

static const char *const words[] = {
    "the", "of", "and", "snapshot", "guest", "memory", "page", "fault", "function", "request", "latency",
    "kernel", "region", "restore", "cold", "start", "invocation", "virtual", "machine", "a", "to", "in",
    "is", "that", "for", "with", "as", "on", "be", "by", "this", "which", "serverless", "userfaultfd",
    "compression", "table", "block", "stream", "header", "checksum", "window", "literal", "distance",
};
#define NWORDS (sizeof words / sizeof words[0])

/* English-like prose: words with a skewed distribution, sentences, paragraphs. */
static __attribute__((unused)) uint8_t *make_text(size_t n, uint64_t seed)
{
    rng r = {seed};
    uint8_t *buf = malloc(n + 64);
    size_t pos = 0;
    int in_sentence = 0;
    while (pos < n) {
        uint32_t a = rng_below(&r, NWORDS), b = rng_below(&r, NWORDS);
        const char *w = words[a < b ? a : b]; /* favours the early, common words */
        char tmp[48];
        int len = snprintf(tmp, sizeof tmp, "%s", w);
        if (!in_sentence && len > 0 && tmp[0] >= 'a' && tmp[0] <= 'z')
            tmp[0] = (char)(tmp[0] - 32);
        in_sentence = 1;
        for (int i = 0; i < len && pos < n; i++)
            buf[pos++] = (uint8_t)tmp[i];
        uint32_t p = rng_below(&r, 100);
        const char *sep = p < 8 ? ". " : p < 10 ? ".\n\n" : p < 15 ? ", " : " ";
        if (p < 10)
            in_sentence = 0;
        for (const char *s = sep; *s && pos < n; s++)
            buf[pos++] = (uint8_t)*s;
    }
    return buf;
}

/* JSON records like an API dump: repeated keys, varied values. */
static __attribute__((unused)) uint8_t *make_json(size_t n, uint64_t seed)
{
    rng r = {seed};
    static const char *const names[] = {"Ada Lovelace", "Edsger Dijkstra", "Grace Hopper", "Alan Turing",
                                        "Barbara Liskov", "Donald Knuth", "Frances Allen", "Ken Thompson"};
    static const char *const tags[] = {"snap", "gamma", "cold", "warm", "restore", "page", "disk", "net"};
    uint8_t *buf = malloc(n + 1024);
    size_t pos = (size_t)sprintf((char *)buf, "{\n  \"kind\": \"snapfn.users\",\n  \"items\": [\n");
    for (int id = 0; pos < n; id++) {
        pos += (size_t)sprintf((char *)buf + pos,
                               "    {\"id\": %d, \"name\": \"%s\", \"email\": \"user%u@example.org\", "
                               "\"active\": %s, \"tags\": [\"%s\", \"%s\"], \"score\": %u.%02u, "
                               "\"address\": {\"street\": \"%u Main Street\", \"zip\": \"%05u\"}},\n",
                               id, names[rng_below(&r, 8)], rng_below(&r, 100000), rng_below(&r, 2) ? "true" : "false",
                               tags[rng_below(&r, 8)], tags[rng_below(&r, 8)], rng_below(&r, 1000),
                               rng_below(&r, 100), rng_below(&r, 9999), rng_below(&r, 100000));
    }
    return buf; /* the last record is cut at n: still fine as data */
}

static __attribute__((unused)) uint8_t *make_random(size_t n, uint64_t seed)
{
    rng r = {seed};
    uint8_t *buf = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(rng_next(&r) >> 56);
    return buf;
}

#endif
