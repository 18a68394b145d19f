/* The allocator over an mmap'ed arena that stands in for the guest heap (fresh anonymous memory is zero, as
 * fresh guest pages are; the discard stub zeroes pages as the VMM does). */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static uint8_t *arena;
static size_t arena_size;

/* A fresh heap of `size` bytes, zero like fresh guest memory. The arena is mapped once and wiped with
 * MADV_DONTNEED, so that only the pages a test touches cost anything. */
static void fresh_heap(size_t size, size_t misalign)
{
    if (!arena) {
        arena_size = (size_t)1200 << 20;
        arena = mmap(NULL, arena_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (arena == MAP_FAILED) {
            printf("FAIL: cannot map the test arena\n");
            exit(1);
        }
    }
    madvise(arena, arena_size, MADV_DONTNEED);
    if (size + misalign > arena_size)
        size = arena_size - misalign;
    snapfn_heap_setup((uint64_t)(uintptr_t)(arena + misalign), (uint64_t)(uintptr_t)(arena + misalign + size));
}

static bool in_arena(const void *p, size_t n)
{
    return (const uint8_t *)p >= arena && (const uint8_t *)p + n <= arena + arena_size;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Fills a block with bytes that depend on its id, so that overlapping blocks show up as corruption. */
static void fill(uint8_t *p, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(id * 131 + i * 7 + 1);
}

static bool intact(const uint8_t *p, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(id * 131 + i * 7 + 1))
            return false;
    return true;
}

static size_t random_size(void)
{
    switch (test_random() % 8) {
    case 0: return test_random() % 17;
    case 1:
    case 2:
    case 3: return test_random() % 512;
    case 4:
    case 5: return test_random() % 70000;
    case 6: return test_random() % (1 << 20);
    default: return (test_random() % 4 == 0) ? test_random() % (8 << 20) : 65536 + test_random() % 4096;
    }
}

static void test_basics(void)
{
    fresh_heap(64 << 20, 123);
    void *p0 = sf_malloc(0);
    CHECK(p0 != NULL && in_arena(p0, 16), "malloc(0) gives a block");
    for (size_t size = 1; size < 200000; size = size * 5 / 4 + 1) {
        uint8_t *p = size % 2 ? sf_malloc(size) : sf_calloc(size, 1);
        CHECK(p && in_arena(p, size), "malloc(%zu) in the heap", size);
        CHECK(((uintptr_t)p & 15) == 0, "malloc(%zu) 16-byte aligned", size);
        if (size >= 65536)
            CHECK(((uintptr_t)p & 4095) == 0, "malloc(%zu) page-aligned", size);
        if (size % 2 == 0 || size >= 65536)
            CHECK(all_zero(p, size), "calloc(%zu), or a fresh large malloc, is zero", size);
        fill(p, size, 1);
        sf_free(p);
    }
    /* calloc clears reused small blocks */
    uint8_t *a = sf_malloc(100);
    memset(a, 0xee, 100);
    sf_free(a);
    uint8_t *b = sf_calloc(10, 10);
    CHECK(b == a, "a freed small block is reused first");
    CHECK(all_zero(b, 100), "calloc clears a reused block");
    CHECK(sf_calloc((size_t)1 << 40, (size_t)1 << 40) == NULL, "calloc overflow gives NULL");
    CHECK(sf_malloc((size_t)-1) == NULL, "malloc(SIZE_MAX) gives NULL");
    CHECK(sf_malloc((size_t)200 << 20) == NULL, "malloc beyond the heap gives NULL");
    sf_free(NULL);
    sf_free(b);
    sf_free(p0);
}

static void test_large(void)
{
    fresh_heap(64 << 20, 0);
    size_t calls = discard_calls;
    discard_misaligned = false;
    uint8_t *p = sf_malloc(1 << 20);
    memset(p, 0x5a, 1 << 20);
    sf_free(p);
    CHECK(discard_calls == calls + 1 && !discard_misaligned, "freeing a large block discards exactly its pages");
    CHECK(all_zero(p, 1 << 20), "a freed large block reads as zero");
    uint8_t *q = sf_calloc(1, 1 << 20);
    CHECK(q == p, "the freed large block is reused");
    CHECK(all_zero(q, 1 << 20), "calloc of a reused large block is zero");
    sf_free(q);

    /* Coalescing: fill the heap with large blocks, free them in a scattered order, then take it all at once. */
    void *blocks[1000];
    int n = 0;
    while (n < 1000 && (blocks[n] = sf_malloc(100000 + (size_t)(test_random() % 200000))) != NULL)
        n++;
    CHECK(n > 100 && n < 1000, "the heap fills up (%d blocks)", n);
    for (int i = 0; i < n; i += 2)
        sf_free(blocks[i]);
    for (int i = 1; i < n; i += 2)
        sf_free(blocks[i]);
    void *all = sf_malloc(60 << 20);
    CHECK(all != NULL, "freed neighbours coalesce into one 60 MiB block");
    sf_free(all);

    /* realloc of large blocks: shrink and grow in place, move when needed, content kept */
    uint8_t *r = sf_malloc(1 << 20);
    fill(r, 1 << 20, 9);
    uint8_t *r2 = sf_realloc(r, 300000);
    CHECK(r2 == r && intact(r2, 300000, 9), "realloc shrinks a large block in place");
    uint8_t *r3 = sf_realloc(r2, 4 << 20);
    CHECK(r3 == r && intact(r3, 300000, 9), "realloc grows a large block in place into free pages");
    CHECK(all_zero(r3 + 300000 + 4096, (4 << 20) - 300000 - 4096), "the grown part is zero");
    uint8_t *blocker = sf_malloc(1 << 20); /* right after r3 */
    uint8_t *r4 = sf_realloc(r3, 8 << 20);
    CHECK(r4 != NULL && intact(r4, 300000, 9), "realloc moves when it cannot grow (%p after %p)", (void *)r4,
          (void *)blocker);
    uint8_t *r5 = sf_realloc(r4, 1000);
    CHECK(r5 != NULL && intact(r5, 1000, 9), "realloc to a small size keeps the start");
    uint8_t *r6 = sf_realloc(r5, 3000);
    CHECK(r6 != NULL && intact(r6, 1000, 9), "realloc of a small block keeps its content");
    CHECK(sf_realloc(r6, 0) == NULL, "realloc(p, 0) frees");
    sf_free(blocker);
    uint8_t *r7 = sf_realloc(NULL, 77);
    CHECK(r7 != NULL, "realloc(NULL, n) allocates");
    sf_free(r7);
}

static void test_aborts(void)
{
    fresh_heap(16 << 20, 0);
    abort_expected = true;
    if (setjmp(abort_jump) == 0) {
        sf_xmalloc((size_t)100 << 20);
        CHECK(false, "xmalloc beyond the heap must abort");
    } else {
        CHECK(strcmp(abort_message, "out of guest memory: wanted 104857600 bytes; give the function more memory with "
                                    "--memory") == 0,
              "xmalloc's message: %s", abort_message);
    }
    void *p = sf_malloc(1 << 20);
    sf_free(p);
    abort_expected = true;
    if (setjmp(abort_jump) == 0) {
        sf_free(p);
        CHECK(false, "a double free of a large block must abort");
    } else {
        CHECK(strstr(abort_message, "not a block from malloc") != NULL, "double free message: %s", abort_message);
    }
    static int not_heap;
    abort_expected = true;
    if (setjmp(abort_jump) == 0) {
        sf_free(&not_heap);
        CHECK(false, "freeing a pointer outside the heap must abort");
    }
    abort_expected = false;
}

/* Small blocks freed and allocated again every "request" reuse their slabs (no discards), up to the 4 MiB kept;
 * past that, empty slabs go back. */
static void test_slab_reuse(void)
{
    fresh_heap(64 << 20, 0);
    enum { BLOCKS = (3 << 20) / 64 };
    static void *blocks[(12 << 20) / 64];
    size_t calls = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < BLOCKS; i++)
            blocks[i] = sf_malloc(64);
        for (int i = 0; i < BLOCKS; i++)
            sf_free(blocks[i]);
        if (round == 0)
            calls = discard_calls;
    }
    CHECK(discard_calls == calls, "3 MiB of small blocks allocated and freed 10 times: %zu discards",
          discard_calls - calls);
    size_t many = sizeof blocks / sizeof *blocks;
    for (size_t i = 0; i < many; i++)
        blocks[i] = sf_malloc(64);
    for (size_t i = 0; i < many; i++)
        sf_free(blocks[i]);
    CHECK(discard_calls >= calls + 100, "12 MiB of small blocks freed: the slabs past 4 MiB go back (%zu discards)",
          discard_calls - calls);
}

/* Random mallocs, frees, reallocs and callocs with every live block's content checked. */
static void test_stress(void)
{
    fresh_heap(256 << 20, 4096 * 3 + 64);
    enum { SLOTS = 4000 };
    static struct {
        uint8_t *p;
        size_t n;
        uint32_t id;
    } live[SLOTS];
    memset(live, 0, sizeof live);
    uint32_t next_id = 1;
    long failures = 0;
    for (int step = 0; step < 150000; step++) {
        int i = (int)(test_random() % SLOTS);
        if (live[i].p) {
            if (!intact(live[i].p, live[i].n, live[i].id)) {
                failures++;
                CHECK(false, "block %u (%zu bytes) was overwritten", live[i].id, live[i].n);
            }
            if (test_random() % 3 == 0) {
                size_t n = random_size();
                uint8_t *q = sf_realloc(live[i].p, n);
                if (n == 0) {
                    live[i].p = NULL;
                    continue;
                }
                if (!q)
                    continue; /* full: the old block stays */
                size_t keep = n < live[i].n ? n : live[i].n;
                CHECK(intact(q, keep, live[i].id), "realloc(%zu -> %zu) kept the content", live[i].n, n);
                live[i].p = q;
                live[i].n = n;
                fill(q, n, live[i].id);
            } else {
                sf_free(live[i].p);
                live[i].p = NULL;
            }
        } else {
            size_t n = random_size();
            bool zeroed = test_random() % 2;
            uint8_t *p = zeroed ? sf_calloc(1, n) : sf_malloc(n);
            if (!p)
                continue;
            CHECK(in_arena(p, n) && ((uintptr_t)p & 15) == 0, "block %p (%zu) inside the heap, aligned", (void *)p, n);
            if (zeroed)
                CHECK(all_zero(p, n), "calloc(%zu) is zero", n);
            live[i].p = p;
            live[i].n = n;
            live[i].id = next_id++;
            fill(p, n, live[i].id);
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (live[i].p) {
            CHECK(intact(live[i].p, live[i].n, live[i].id), "block %u intact at the end", live[i].id);
            sf_free(live[i].p);
        }
    }
    /* Everything went back, slabs too but the one per class still being carved (44 at most, which may split the
     * free space): 64 KiB blocks fill nearly the whole heap again. */
    static void *chunks[4096];
    size_t got = 0;
    while (got < 4096 && (chunks[got] = sf_malloc(65536)) != NULL)
        got++;
    CHECK(got >= 3900, "after the stress run the heap is free again (%zu blocks of 64 KiB)", got);
    while (got > 0)
        sf_free(chunks[--got]);
}

/* 512 MiB of 16-byte objects (a linked list), as a function's init might build: no per-object overhead. */
static void test_many_small(void)
{
    size_t heap = (size_t)520 << 20;
    fresh_heap(heap, 0);
    struct node {
        struct node *next;
        uint64_t value;
    };
    clock_t start = clock();
    struct node *head = NULL;
    size_t count = 0, target = ((size_t)512 << 20) / sizeof(struct node);
    for (; count < target; count++) {
        struct node *n = sf_malloc(sizeof *n);
        if (!n)
            break;
        n->next = head;
        n->value = count;
        head = n;
    }
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    CHECK(count == target, "512 MiB of 16-byte objects fit in a 520 MiB heap (got %zu of %zu)", count, target);
    size_t seen = 0;
    bool order = true;
    for (struct node *n = head; n; n = n->next, seen++)
        order &= n->value == count - 1 - seen;
    CHECK(seen == count && order, "the list reads back (%zu nodes)", seen);
    printf("  %zu mallocs of 16 bytes in %.2f s (%.1f ns each)\n", count, seconds, seconds * 1e9 / (double)count);
    /* Fill the heap to the last byte, then: freed small blocks serve new ones. */
    struct node *spare = NULL, *n;
    size_t extra = 0;
    for (; (n = sf_malloc(sizeof *n)) != NULL; extra++) {
        n->next = spare;
        spare = n;
    }
    for (int i = 0; i < 1000 && head; i++) {
        struct node *next = head->next;
        sf_free(head);
        head = next;
    }
    size_t reused = 0;
    for (; reused < 1000 && (n = sf_malloc(sizeof *n)) != NULL; reused++) {
        n->next = spare;
        spare = n;
    }
    CHECK(reused == 1000, "1000 freed small blocks serve 1000 new ones in a full heap (%zu more fitted)", extra);

    /* Freeing them all gives their slabs back, discarded: the heap can then hold one big block. */
    for (struct node **list = &head; list; list = list == &head ? &spare : NULL) {
        while (*list) {
            struct node *next = (*list)->next;
            sf_free(*list);
            *list = next;
        }
    }
    size_t calls = discard_calls;
    void *whole = sf_malloc((size_t)500 << 20);
    CHECK(whole != NULL, "empty slabs go back to the pages");
    CHECK(discard_calls == calls, "allocating discards nothing");

    /* Other small sizes fill a heap with little waste too. */
    const size_t sizes[] = {48, 100, 1000, 5000, 40000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        fresh_heap(64 << 20, 0);
        size_t got = 0;
        while (sf_malloc(sizes[s]))
            got++;
        double use = (double)(got * sizes[s]) / (double)(64 << 20);
        CHECK(use > 0.75, "%zu-byte blocks use %.0f%% of a 64 MiB heap", sizes[s], use * 100);
        printf("  %5zu-byte blocks: %.1f%% of the heap used\n", sizes[s], use * 100);
    }
}

void test_alloc(void)
{
    test_basics();
    test_large();
    test_aborts();
    test_slab_reuse();
    test_stress();
    test_many_small();
    munmap(arena, arena_size);
    arena = NULL;
}
