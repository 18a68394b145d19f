/* html: the paper's Chameleon workload — render a big HTML table from a template. init() compiles the
 * template (as Chameleon compiles a page template to code when it is loaded); a request generates the table's
 * cells from (row, col, seed) and renders them, escaping every cell.
 *
 * Input: {"rows":R,"cols":C,"seed":S}. Output: the HTML document (WORKLOADS.md spells out exactly what it is).
 *
 * The template language is a small Chameleon/TAL subset: ${name} inserts a variable, escaped; an element
 * with tal:repeat="item list" is repeated for each element of list with item bound to it (the attribute is
 * dropped, and whitespace right before the element is repeated with it, so that each row keeps its line). */
#include "snapfn.h"

static const char template_text[] =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<title>${title}</title>\n"
    "</head>\n"
    "<body>\n"
    "<table>\n"
    "<tr tal:repeat=\"row rows\">\n"
    "<td tal:repeat=\"cell row\">${cell}</td>\n"
    "</tr>\n"
    "</table>\n"
    "</body>\n"
    "</html>\n";

/* Alphabet of the generated cells: the five characters that need escaping appear about once in 13. */
static const char cell_alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 &<>\"'";

#define MAX_ROWS 100000
#define MAX_COLS 10000
#define MAX_CELLS 4000000

/* ---- Template values: a string or a list of values (a row is a list of strings, the table a list of rows). */
struct tvalue {
    const char *text;
    size_t len;
    const struct tvalue *items;
    size_t count;
};

/* ---- Compiled template: a flat program of ops over variable slots. */
enum op_kind { OP_TEXT, OP_VAR, OP_LOOP, OP_END };

struct op {
    enum op_kind kind;
    size_t start, len; /* OP_TEXT: a slice of template_text */
    int slot;          /* OP_VAR: the variable; OP_LOOP: the item variable */
    int list_slot;     /* OP_LOOP: the list iterated */
    size_t jump;       /* OP_LOOP: index of its OP_END; OP_END: index of its OP_LOOP */
};

#define MAX_OPS 64
#define MAX_SLOTS 8
#define MAX_OPEN 32

static struct op ops[MAX_OPS];
static size_t op_count;
static char slot_names[MAX_SLOTS][16];
static int slot_count;
static int slot_title, slot_rows;

_Noreturn static void bad_template(size_t at, const char *what)
{
    snapfn_abort("html: template error at byte %zu: %s", at, what);
}

static struct op *add_op(enum op_kind kind)
{
    if (op_count == MAX_OPS)
        bad_template(0, "too many ops");
    struct op *o = &ops[op_count++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    return o;
}

static void add_text(size_t start, size_t end)
{
    if (end <= start)
        return;
    /* Merge with the previous text op, so that a dropped attribute does not leave two ops behind. */
    if (op_count && ops[op_count - 1].kind == OP_TEXT && ops[op_count - 1].start + ops[op_count - 1].len == start) {
        ops[op_count - 1].len += end - start;
        return;
    }
    struct op *o = add_op(OP_TEXT);
    o->start = start;
    o->len = end - start;
}

static int slot_for(const char *name, size_t len, size_t at)
{
    for (int i = 0; i < slot_count; i++)
        if (strlen(slot_names[i]) == len && memcmp(slot_names[i], name, len) == 0)
            return i;
    if (slot_count == MAX_SLOTS || len == 0 || len >= sizeof slot_names[0])
        bad_template(at, "bad variable name");
    memcpy(slot_names[slot_count], name, len);
    slot_names[slot_count][len] = 0;
    return slot_count++;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
           c == '-';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Elements that have no end tag in HTML, so they never open a scope. */
static bool is_void_element(const char *name, size_t len)
{
    static const char *const names[] = {"meta", "br", "hr", "img", "input", "link"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return true;
    return false;
}

static void compile_template(void)
{
    const char *t = template_text;
    size_t n = sizeof template_text - 1;
    struct {
        size_t name, name_len;
        size_t loop; /* index of its OP_LOOP, or SIZE_MAX */
    } open[MAX_OPEN];
    int depth = 0;
    size_t text = 0; /* start of the literal text not yet emitted */
    size_t i = 0;
    while (i < n) {
        if (t[i] == '$' && i + 1 < n && t[i + 1] == '{') {
            const char *close = strchr(t + i, '}');
            if (!close)
                bad_template(i, "unterminated ${");
            add_text(text, i);
            add_op(OP_VAR)->slot = slot_for(t + i + 2, (size_t)(close - t) - i - 2, i);
            i = text = (size_t)(close - t) + 1;
            continue;
        }
        if (t[i] != '<' || i + 1 >= n || !(is_name_char(t[i + 1]) || t[i + 1] == '/')) {
            i++;
            continue;
        }
        size_t tag = i;
        bool end_tag = t[i + 1] == '/';
        size_t name = tag + 1 + end_tag, name_len = 0;
        while (name + name_len < n && is_name_char(t[name + name_len]))
            name_len++;
        const char *gt = strchr(t + tag, '>');
        if (!gt)
            bad_template(tag, "unterminated tag");
        size_t after = (size_t)(gt - t) + 1;
        if (end_tag) {
            if (depth == 0 || open[depth - 1].name_len != name_len || memcmp(t + open[depth - 1].name, t + name, name_len))
                bad_template(tag, "end tag does not match");
            depth--;
            if (open[depth].loop != SIZE_MAX) {
                add_text(text, after);
                struct op *end = add_op(OP_END);
                end->jump = open[depth].loop;
                ops[open[depth].loop].jump = op_count - 1;
                text = after;
            }
            i = after;
            continue;
        }
        const char *repeat = strstr(t + tag, " tal:repeat=\"");
        size_t loop = SIZE_MAX;
        if (repeat && repeat < gt) {
            /* The whitespace before the element belongs to each repetition. */
            size_t ws = tag;
            while (ws > text && is_space(t[ws - 1]))
                ws--;
            add_text(text, ws);
            const char *item = repeat + 13, *sp = strchr(item, ' '), *quote = strchr(item, '"');
            if (!sp || !quote || sp > quote)
                bad_template(tag, "tal:repeat wants \"item list\"");
            loop = op_count;
            struct op *o = add_op(OP_LOOP);
            o->slot = slot_for(item, (size_t)(sp - item), tag);
            o->list_slot = slot_for(sp + 1, (size_t)(quote - sp - 1), tag);
            add_text(ws, (size_t)(repeat - t));
            text = (size_t)(quote - t) + 1; /* drop the attribute */
        }
        bool self_closing = gt[-1] == '/';
        if (!self_closing && !is_void_element(t + name, name_len)) {
            if (depth == MAX_OPEN)
                bad_template(tag, "nested too deeply");
            open[depth].name = name;
            open[depth].name_len = name_len;
            open[depth].loop = loop;
            depth++;
        } else if (loop != SIZE_MAX) {
            bad_template(tag, "tal:repeat on an element without an end tag");
        }
        i = after;
    }
    if (depth)
        bad_template(n, "unclosed element");
    add_text(text, n);
    slot_title = slot_for("title", 5, 0);
    slot_rows = slot_for("rows", 4, 0);
}

/* ---- Rendering. */
struct writer {
    uint8_t *p, *end;
};

static void emit(struct writer *w, const char *s, size_t n)
{
    if ((size_t)(w->end - w->p) < n)
        snapfn_abort("html: the document does not fit in the output buffer");
    memcpy(w->p, s, n);
    w->p += n;
}

static void emit_escaped(struct writer *w, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        emit(w, s + run, i - run);
        emit(w, rep, strlen(rep));
        run = i + 1;
    }
    emit(w, s + run, n - run);
}

static void render(struct writer *w, const struct tvalue *vars[MAX_SLOTS])
{
    size_t index[MAX_OPS] = {0}; /* loop position, kept at each OP_LOOP */
    for (size_t pc = 0; pc < op_count; pc++) {
        const struct op *o = &ops[pc];
        switch (o->kind) {
        case OP_TEXT:
            emit(w, template_text + o->start, o->len);
            break;
        case OP_VAR:
            if (!vars[o->slot] || vars[o->slot]->items)
                snapfn_abort("html: variable '%s' is not a string", slot_names[o->slot]);
            emit_escaped(w, vars[o->slot]->text, vars[o->slot]->len);
            break;
        case OP_LOOP: {
            const struct tvalue *list = vars[o->list_slot];
            if (!list)
                snapfn_abort("html: variable '%s' is not set", slot_names[o->list_slot]);
            if (index[pc] >= list->count) {
                index[pc] = 0;
                pc = o->jump; /* past the OP_END */
                break;
            }
            vars[o->slot] = &list->items[index[pc]++];
            break;
        }
        case OP_END:
            pc = o->jump - 1; /* back to the OP_LOOP */
            break;
        }
    }
}

/* ---- Cell generation (WORKLOADS.md gives the same steps for the checker). */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t make_cell(uint64_t seed, uint64_t row, uint64_t col, char *dst)
{
    snapfn_rng rng;
    snapfn_rng_seed(&rng, mix64(seed << 42 ^ row << 21 ^ col));
    size_t len = 3 + snapfn_rng_next(&rng) % 10;
    for (size_t i = 0; i < len; i++)
        dst[i] = cell_alphabet[snapfn_rng_next(&rng) % (sizeof cell_alphabet - 1)];
    return len;
}

void snapfn_init(void)
{
    compile_template();
}

static long get_int(const uint8_t *in, size_t in_len, const char *key, long lo, long hi)
{
    char text[32];
    char *end;
    if (!snapfn_json_get(in, in_len, key, text, sizeof text))
        snapfn_abort("html: expected input {\"rows\":R,\"cols\":C,\"seed\":S}; '%s' is missing", key);
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < lo || v > hi)
        snapfn_abort("html: '%s' must be an integer in %ld..%ld, got '%s'", key, lo, hi, text);
    return v;
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    long rows = get_int(in, in_len, "rows", 0, MAX_ROWS);
    long cols = get_int(in, in_len, "cols", 0, MAX_COLS);
    long seed = get_int(in, in_len, "seed", 0, (1L << 21) - 1);
    if ((uint64_t)rows * (uint64_t)cols > MAX_CELLS)
        snapfn_abort("html: at most %d cells, asked for %ld x %ld", MAX_CELLS, rows, cols);

    /* The table as a list of rows of strings, as the Python benchmark builds it before rendering. */
    size_t cells = (size_t)rows * (size_t)cols;
    char *chars = xmalloc(cells * 12 + 1);
    struct tvalue *cell_values = xmalloc((cells + 1) * sizeof *cell_values);
    struct tvalue *row_values = xmalloc(((size_t)rows + 1) * sizeof *row_values);
    size_t used = 0;
    for (long r = 0; r < rows; r++) {
        struct tvalue *row = &cell_values[(size_t)r * (size_t)cols];
        for (long c = 0; c < cols; c++) {
            row[c].text = chars + used;
            row[c].len = make_cell((uint64_t)seed, (uint64_t)r, (uint64_t)c, chars + used);
            row[c].items = NULL;
            row[c].count = 0;
            used += row[c].len;
        }
        row_values[r] = (struct tvalue){NULL, 0, row, (size_t)cols};
    }
    struct tvalue table = {NULL, 0, row_values, (size_t)rows};

    char title_text[96];
    int title_len = snprintf(title_text, sizeof title_text, "Snapfn table: %ld rows & %ld columns, seed %ld", rows,
                             cols, seed);
    struct tvalue title = {title_text, (size_t)title_len, NULL, 0};

    const struct tvalue *vars[MAX_SLOTS] = {0};
    vars[slot_title] = &title;
    vars[slot_rows] = &table;
    struct writer w = {out, out + out_cap};
    render(&w, vars);
    free(row_values);
    free(cell_values);
    free(chars);
    return (size_t)(w.p - out);
}
