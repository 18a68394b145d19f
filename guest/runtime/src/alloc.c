/* The heap: malloc, calloc, realloc, free over [heap_start, heap_end) given by the VMM.
 *
 * Two layers:
 * - Pages (4 KiB): a page-granular allocator with boundary tags and segregated free lists of extents,
 *   coalescing on free. Its metadata sits in side arrays at the start of the heap (a tag per page, list links
 *   used only at the heads of free extents, a descriptor per slab), never inside the pages, so free pages
 *   stay untouched.
 * - Blocks under 64 KiB: 44 size classes (16-byte steps to 128, then four per doubling). A class carves
 *   slabs of 64 KiB (256 KiB for classes over 8 KiB) by bumping a pointer, and reuses freed blocks through
 *   each slab's free list. No per-block header: a block's slab is its page's tag, so 16-byte objects cost
 *   exactly 16 bytes. A slab whose blocks are all free goes back to the pages, except the one the class is
 *   carving from and up to 4 MiB of others: giving a slab back costs a VM exit, and touching it again a page
 *   fault per page, which a warm VM that allocates and frees the same objects every request should not pay.
 * Blocks of 64 KiB or more are whole pages, page-aligned. Freed pages, of a large block or a slab, are
 * discarded (the VMM drops them, so they read as zero and are holes in a later snapshot). Hence every free
 * page is zero, as fresh heap memory is; calloc relies on that and only clears blocks from a free list. */
#include "snapfn.h"

void snapfn_heap_setup(uint64_t start, uint64_t end);

#define PAGE_SHIFT 12
#define PAGE_SIZE (1u << PAGE_SHIFT)
#define LARGE_MIN 65536u /* blocks this big or bigger are page blocks */
#define NIL 0xffffffffu

/* A page's tag: kind in the top 3 bits, a page count or slab descriptor below. Only the first and last page of a
 * free extent or large block carry a meaningful tag (all pages of a slab do); the others keep stale values
 * that are never read. */
enum { TAG_NONE, TAG_FREE, TAG_LARGE_HEAD, TAG_LARGE_TAIL, TAG_SLAB };
#define TAG_SHIFT 29
#define TAG_VALUE_MASK ((1u << TAG_SHIFT) - 1)
#define MAX_PAGES TAG_VALUE_MASK /* 2 TiB of heap */

static uint32_t make_tag(uint32_t kind, uint32_t value)
{
    return kind << TAG_SHIFT | value;
}

static uint32_t tag_kind(uint32_t tag)
{
    return tag >> TAG_SHIFT;
}

static uint32_t tag_value(uint32_t tag)
{
    return tag & TAG_VALUE_MASK;
}

/* ---- Pages ---- */

struct link {
    uint32_t next, prev;
};

/* Free extents by size: bins 0..31 hold exactly 1..32 pages, bin 32+k holds [2^(k+5)+1 .. 2^(k+6)]
 * (one bin per power of two above 32 pages). */
#define EXACT_BINS 32
#define BINS 64

static uint8_t *heap_base; /* first page */
static uint32_t heap_pages;
static uint32_t *tags;
static struct link *links;
static uint32_t bin_head[BINS];
static uint64_t bin_nonempty; /* bit b set when bin b has an extent */

static uint32_t bin_of(uint32_t pages)
{
    if (pages <= EXACT_BINS)
        return pages - 1;
    return EXACT_BINS + (uint32_t)(31 - __builtin_clz(pages - 1)) - 5;
}

static void bin_insert(uint32_t page, uint32_t pages)
{
    uint32_t b = bin_of(pages);
    tags[page] = make_tag(TAG_FREE, pages);
    tags[page + pages - 1] = make_tag(TAG_FREE, pages);
    links[page].prev = NIL;
    links[page].next = bin_head[b];
    if (bin_head[b] != NIL)
        links[bin_head[b]].prev = page;
    bin_head[b] = page;
    bin_nonempty |= 1ULL << b;
}

static void bin_remove(uint32_t page)
{
    uint32_t b = bin_of(tag_value(tags[page]));
    struct link l = links[page];
    if (l.prev != NIL)
        links[l.prev].next = l.next;
    else
        bin_head[b] = l.next;
    if (l.next != NIL)
        links[l.next].prev = l.prev;
    if (bin_head[b] == NIL)
        bin_nonempty &= ~(1ULL << b);
}

/* Finds a free extent of at least `pages` pages, or NIL. */
static uint32_t find_extent(uint32_t pages)
{
    uint32_t b = bin_of(pages);
    if (b < EXACT_BINS) {
        if (bin_head[b] != NIL)
            return bin_head[b];
    } else {
        /* Sizes in a power-of-two bin vary: first fit within it. */
        for (uint32_t p = bin_head[b]; p != NIL; p = links[p].next)
            if (tag_value(tags[p]) >= pages)
                return p;
    }
    /* Any extent of a larger bin fits; take the smallest such bin. */
    uint64_t larger = b + 1 < BINS ? bin_nonempty & ~((2ULL << b) - 1) : 0;
    return larger ? bin_head[__builtin_ctzll(larger)] : NIL;
}

/* Takes `pages` pages (from the front of a free extent, so that a large block can often grow in place into
 * the rest); returns the first page index or NIL. */
static bool release_empty_slabs(void);

static uint32_t pages_alloc(uint32_t pages)
{
    uint32_t page = find_extent(pages);
    if (page == NIL && release_empty_slabs())
        page = find_extent(pages);
    if (page == NIL)
        return NIL;
    uint32_t have = tag_value(tags[page]);
    bin_remove(page);
    if (have > pages)
        bin_insert(page + pages, have - pages);
    return page;
}

/* Returns pages (already zero) to the free lists, merging with free neighbours. */
static void pages_free(uint32_t page, uint32_t pages)
{
    if (page > 0 && tag_kind(tags[page - 1]) == TAG_FREE) {
        uint32_t left = tag_value(tags[page - 1]);
        page -= left;
        pages += left;
        bin_remove(page);
    }
    uint32_t right = page + pages;
    if (right < heap_pages && tag_kind(tags[right]) == TAG_FREE) {
        pages += tag_value(tags[right]);
        bin_remove(right);
    }
    bin_insert(page, pages);
}

static void *page_address(uint32_t page)
{
    return heap_base + ((size_t)page << PAGE_SHIFT);
}

/* The page index of p, or NIL when p is not in the heap. */
static uint32_t page_of(const void *p)
{
    uintptr_t offset = (uintptr_t)p - (uintptr_t)heap_base;
    if ((uintptr_t)p < (uintptr_t)heap_base || offset >= (uintptr_t)heap_pages << PAGE_SHIFT)
        return NIL;
    return (uint32_t)(offset >> PAGE_SHIFT);
}

/* ---- Large blocks ---- */

static void mark_large(uint32_t page, uint32_t pages)
{
    tags[page] = make_tag(TAG_LARGE_HEAD, pages);
    tags[page + pages - 1] = make_tag(TAG_LARGE_TAIL, pages);
}

static uint32_t pages_for(size_t size)
{
    return (uint32_t)((size + PAGE_SIZE - 1) >> PAGE_SHIFT);
}

static void *large_alloc(size_t size)
{
    if (size > (size_t)MAX_PAGES << PAGE_SHIFT)
        return NULL;
    uint32_t pages = pages_for(size);
    uint32_t page = pages_alloc(pages);
    if (page == NIL)
        return NULL;
    mark_large(page, pages);
    return page_address(page);
}

/* Gives pages back: discarded first, so that the free extent is all zero again. */
static void large_release(uint32_t page, uint32_t pages)
{
    snapfn_discard(page_address(page), (size_t)pages << PAGE_SHIFT);
    tags[page] = make_tag(TAG_NONE, 0); /* a second free() of this block now aborts */
    pages_free(page, pages);
}

/* ---- Small blocks ---- */

#define CLASSES 44
#define SMALL_SLAB_PAGES 16 /* 64 KiB */
#define BIG_SLAB_PAGES 64   /* 256 KiB, for classes over 8 KiB, so that a slab holds at least 4 blocks */

struct slab {
    void *free_list;     /* freed blocks, linked through their first word */
    uint8_t *bump, *end; /* the never-used (zero) rest */
    uint32_t next, prev; /* in the class's list of slabs with room, by descriptor index */
    uint32_t live;       /* blocks handed out */
    uint32_t page;       /* first page */
    uint8_t size_class;
    bool listed;
};

struct size_class {
    uint32_t current; /* the slab being allocated from, or NIL */
    uint32_t partial; /* other slabs with room: blocks freed since they filled up */
};

#define EMPTY_SLABS_KEPT (4u << 20) /* bytes of empty slabs kept for reuse instead of given back */

static struct slab *slabs; /* descriptors, in the metadata area: at most one per SMALL_SLAB_PAGES pages */
static uint32_t slab_count, slab_free_ids;
static size_t empty_slab_bytes; /* empty slabs kept, not counting the classes' current ones */
static struct size_class classes[CLASSES];

static uint32_t class_of(size_t size)
{
    if (size <= 128)
        return size == 0 ? 0 : (uint32_t)(size - 1) >> 4;
    uint32_t b = 63 - (uint32_t)__builtin_clzll(size - 1); /* 7 .. 15 */
    return 8 + (b - 7) * 4 + (uint32_t)((size - 1) >> (b - 2) & 3);
}

static size_t class_size(uint32_t c)
{
    if (c < 8)
        return (size_t)(c + 1) << 4;
    uint32_t b = 7 + (c - 8) / 4, quarter = (c - 8) % 4;
    return (size_t)(5 + quarter) << (b - 2);
}

static void partial_push(struct size_class *sc, uint32_t id)
{
    struct slab *s = &slabs[id];
    s->prev = NIL;
    s->next = sc->partial;
    if (sc->partial != NIL)
        slabs[sc->partial].prev = id;
    sc->partial = id;
    s->listed = true;
}

static void partial_remove(struct size_class *sc, uint32_t id)
{
    struct slab *s = &slabs[id];
    if (s->prev != NIL)
        slabs[s->prev].next = s->next;
    else
        sc->partial = s->next;
    if (s->next != NIL)
        slabs[s->next].prev = s->prev;
    s->listed = false;
}

/* A new slab for class c from the pages; NIL when the heap is full. */
static uint32_t slab_new(uint32_t c)
{
    uint32_t pages = class_size(c) > 8192 ? BIG_SLAB_PAGES : SMALL_SLAB_PAGES;
    uint32_t page = pages_alloc(pages);
    if (page == NIL)
        return NIL;
    uint32_t id;
    if (slab_free_ids != NIL) {
        id = slab_free_ids;
        slab_free_ids = slabs[id].next;
    } else {
        id = slab_count++;
    }
    for (uint32_t i = 0; i < pages; i++)
        tags[page + i] = make_tag(TAG_SLAB, id);
    slabs[id] = (struct slab){
        .bump = page_address(page),
        .end = (uint8_t *)page_address(page) + ((size_t)pages << PAGE_SHIFT),
        .next = NIL,
        .prev = NIL,
        .page = page,
        .size_class = (uint8_t)c,
    };
    return id;
}

static size_t slab_bytes(const struct slab *s)
{
    return (size_t)(s->end - (uint8_t *)page_address(s->page));
}

/* An empty slab goes back to the pages, discarded like a large block. */
static void slab_release(uint32_t id)
{
    struct slab *s = &slabs[id];
    uint32_t pages = (uint32_t)(slab_bytes(s) >> PAGE_SHIFT);
    snapfn_discard(page_address(s->page), (size_t)pages << PAGE_SHIFT);
    tags[s->page] = make_tag(TAG_NONE, 0);
    tags[s->page + pages - 1] = make_tag(TAG_NONE, 0);
    pages_free(s->page, pages);
    s->next = slab_free_ids;
    slab_free_ids = id;
}

static void *small_alloc(size_t size, bool *zero)
{
    uint32_t c = class_of(size);
    struct size_class *sc = &classes[c];
    size_t bytes = class_size(c);
    for (;;) {
        if (sc->current != NIL) {
            struct slab *s = &slabs[sc->current];
            if (s->free_list) {
                void *p = s->free_list;
                s->free_list = *(void **)p;
                s->live++;
                *zero = false;
                return p;
            }
            if ((size_t)(s->end - s->bump) >= bytes) {
                void *p = s->bump;
                s->bump += bytes;
                s->live++;
                *zero = true;
                return p;
            }
        }
        /* The current slab is full (and in no list): carve from one with freed blocks, or a new one. */
        if (sc->partial != NIL) {
            sc->current = sc->partial;
            partial_remove(sc, sc->current);
            if (slabs[sc->current].live == 0)
                empty_slab_bytes -= slab_bytes(&slabs[sc->current]); /* a kept empty one is in use again */
        } else {
            uint32_t id = slab_new(c);
            if (id == NIL)
                return NULL;
            sc->current = id;
        }
    }
}

static void small_free(void *p, uint32_t id)
{
    struct slab *s = &slabs[id];
    struct size_class *sc = &classes[s->size_class];
    *(void **)p = s->free_list;
    s->free_list = p;
    s->live--;
    if (id == sc->current)
        return;
    if (s->live == 0 && empty_slab_bytes + slab_bytes(s) > EMPTY_SLABS_KEPT) {
        if (s->listed)
            partial_remove(sc, id);
        slab_release(id);
        return;
    }
    if (s->live == 0)
        empty_slab_bytes += slab_bytes(s);
    if (!s->listed)
        partial_push(sc, id); /* it was full: it has room again */
}

/* When the pages run out: the kept empty slabs go back after all. Returns whether there were any. */
static bool release_empty_slabs(void)
{
    if (empty_slab_bytes == 0)
        return false;
    for (uint32_t c = 0; c < CLASSES; c++) {
        for (uint32_t id = classes[c].partial; id != NIL;) {
            uint32_t next = slabs[id].next;
            if (slabs[id].live == 0) {
                partial_remove(&classes[c], id);
                slab_release(id);
            }
            id = next;
        }
    }
    empty_slab_bytes = 0;
    return true;
}

/* ---- The API ---- */

void snapfn_heap_setup(uint64_t start, uint64_t end)
{
    uint64_t first = (start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    uint64_t last = end & ~(uint64_t)(PAGE_SIZE - 1);
    uint64_t total = last > first ? (last - first) >> PAGE_SHIFT : 0;
    if (total > MAX_PAGES)
        total = MAX_PAGES;
    /* Split the pages between metadata (about 15 bytes per data page) and data. */
    const uint64_t per_page = sizeof(uint32_t) + sizeof(struct link);
    uint64_t pages = total * PAGE_SIZE / (PAGE_SIZE + per_page + sizeof(struct slab) / SMALL_SLAB_PAGES + 1);
    uint64_t meta_pages;
    for (;; pages--) {
        uint64_t meta = pages * per_page + (pages / SMALL_SLAB_PAGES + 1) * sizeof(struct slab) + 16;
        meta_pages = (meta + PAGE_SIZE - 1) >> PAGE_SHIFT;
        if (pages == 0 || pages + meta_pages <= total)
            break;
    }
    tags = (uint32_t *)(uintptr_t)first;
    links = (struct link *)(tags + pages);
    slabs = (struct slab *)(((uintptr_t)(links + pages) + 15) & ~(uintptr_t)15);
    heap_base = (uint8_t *)(uintptr_t)(first + (meta_pages << PAGE_SHIFT));
    heap_pages = (uint32_t)pages;
    for (uint32_t b = 0; b < BINS; b++)
        bin_head[b] = NIL;
    bin_nonempty = 0;
    slab_count = 0;
    slab_free_ids = NIL;
    empty_slab_bytes = 0;
    for (uint32_t c = 0; c < CLASSES; c++)
        classes[c] = (struct size_class){.current = NIL, .partial = NIL};
    if (heap_pages > 0)
        bin_insert(0, heap_pages);
}

static void *allocate(size_t size, bool *zero)
{
    if (size < LARGE_MIN)
        return small_alloc(size, zero);
    *zero = true;
    return large_alloc(size);
}

void *malloc(size_t size)
{
    bool zero;
    return allocate(size, &zero);
}

void *calloc(size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes))
        return NULL;
    bool zero;
    void *p = allocate(bytes, &zero);
    if (p && !zero)
        memset(p, 0, bytes);
    return p;
}

void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (!p)
        snapfn_abort("out of guest memory: wanted %zu bytes; give the function more memory with --memory", size);
    return p;
}

/* The page of a block being freed or resized, checked: a pointer that malloc did not return aborts. */
static uint32_t block_page(void *p, const char *who)
{
    uint32_t page = page_of(p);
    uint32_t kind = page == NIL ? TAG_NONE : tag_kind(tags[page]);
    bool ok = kind == TAG_SLAB || (kind == TAG_LARGE_HEAD && ((uintptr_t)p & (PAGE_SIZE - 1)) == 0);
    if (!ok)
        snapfn_abort("%s(%p): not a block from malloc, or already freed", who, p);
    return page;
}

void free(void *p)
{
    if (!p)
        return;
    uint32_t page = block_page(p, "free");
    uint32_t tag = tags[page];
    if (tag_kind(tag) == TAG_SLAB) {
        small_free(p, tag_value(tag));
    } else {
        large_release(page, tag_value(tag));
    }
}

void *realloc(void *p, size_t size)
{
    if (!p)
        return malloc(size);
    if (size == 0) {
        free(p); /* like glibc */
        return NULL;
    }
    uint32_t page = block_page(p, "realloc");
    uint32_t tag = tags[page];
    size_t old_size;
    if (tag_kind(tag) == TAG_SLAB) {
        uint32_t c = slabs[tag_value(tag)].size_class;
        old_size = class_size(c);
        /* Stay put if the class still fits and is not more than twice too big. */
        if (size <= old_size && (size > old_size / 2 || c == 0))
            return p;
    } else {
        uint32_t pages = tag_value(tag);
        old_size = (size_t)pages << PAGE_SHIFT;
        if (size >= LARGE_MIN && size <= (size_t)MAX_PAGES << PAGE_SHIFT) {
            uint32_t want = pages_for(size);
            if (want < pages) { /* shrink in place: give the tail back */
                mark_large(page, want);
                tags[page + pages - 1] = make_tag(TAG_NONE, 0);
                snapfn_discard(page_address(page + want), (size_t)(pages - want) << PAGE_SHIFT);
                pages_free(page + want, pages - want);
                return p;
            }
            if (want == pages)
                return p;
            /* grow in place when the next extent is free and big enough (it is zero, as calloc expects) */
            uint32_t next = page + pages;
            if (next < heap_pages && tag_kind(tags[next]) == TAG_FREE && pages + tag_value(tags[next]) >= want) {
                uint32_t have = tag_value(tags[next]);
                bin_remove(next);
                if (pages + have > want)
                    bin_insert(page + want, pages + have - want);
                tags[page + pages - 1] = make_tag(TAG_NONE, 0);
                mark_large(page, want);
                return p;
            }
        }
    }
    void *q = malloc(size);
    if (!q)
        return NULL;
    memcpy(q, p, old_size < size ? old_size : size);
    free(p);
    return q;
}
