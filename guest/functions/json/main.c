/* json: the paper's JSON workload — parse a document into a tree, then serialise the tree back.
 *
 * Output: the document in compact form (no whitespace), keys in their original order, duplicates kept,
 * numbers copied verbatim from the input, strings decoded and re-escaped by one fixed rule (see
 * WORKLOADS.md), so the result equals Python's json.dumps(..., ensure_ascii=False, separators=(",", ":")) for
 * documents whose numbers are already in canonical form. Invalid JSON aborts the request with the offset. */
#include "snapfn.h"

#define MAX_DEPTH 512

enum kind { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

/* Children of arrays and objects form a singly linked list in document order; an object's members carry
 * their key. Strings and numbers own their bytes (strings decoded to UTF-8, numbers as written). */
struct value {
    enum kind kind;
    struct value *next;
    char *key;
    size_t key_len;
    char *text;
    size_t text_len;
    struct value *first;
};

struct parser {
    const uint8_t *p, *start, *end;
    int depth;
};

_Noreturn static void fail(const struct parser *ps, const char *what)
{
    snapfn_abort("json: invalid input at byte %zu: %s (expected one JSON document)", (size_t)(ps->p - ps->start), what);
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static struct value *new_value(enum kind kind)
{
    struct value *v = xmalloc(sizeof *v);
    memset(v, 0, sizeof *v);
    v->kind = kind;
    return v;
}

/* A growable byte buffer for decoded strings. */
struct buf {
    char *data;
    size_t len, cap;
};

static void buf_put(struct buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        while (cap < b->len + n)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data)
            snapfn_abort("json: out of memory");
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_put(b, u, n);
}

static uint32_t hex4(struct parser *ps)
{
    if (ps->end - ps->p < 4)
        fail(ps, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = *ps->p++;
        uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
                   : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
                                          : 99;
        if (d == 99)
            fail(ps, "bad hex digit in \\u escape");
        v = v << 4 | d;
    }
    return v;
}

/* Copies one raw UTF-8 sequence, rejecting what a strict decoder would (overlong forms, surrogates,
 * code points above U+10FFFF), so that the output is valid UTF-8 whenever the request succeeds. */
static void copy_utf8(struct parser *ps, struct buf *b)
{
    const uint8_t *s = ps->p;
    uint8_t c = s[0];
    size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    if (n == 0 || c > 0xf4 || (size_t)(ps->end - s) < n)
        fail(ps, "invalid UTF-8");
    uint32_t cp = c & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            fail(ps, "invalid UTF-8");
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        fail(ps, "invalid UTF-8");
    buf_put(b, s, n);
    ps->p += n;
}

/* Parses a string starting at its opening quote; returns its decoded bytes (not NUL-terminated). */
static char *parse_string(struct parser *ps, size_t *len)
{
    struct buf b = {0};
    ps->p++;
    for (;;) {
        if (ps->p >= ps->end)
            fail(ps, "unterminated string");
        uint8_t c = *ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20)
            fail(ps, "control character in string");
        if (c >= 0x80) {
            copy_utf8(ps, &b);
            continue;
        }
        if (c != '\\') {
            /* Copy the run of plain ASCII in one go: most string bytes are here. */
            const uint8_t *run = ps->p;
            while (ps->p < ps->end && *ps->p >= 0x20 && *ps->p < 0x80 && *ps->p != '"' && *ps->p != '\\')
                ps->p++;
            buf_put(&b, run, (size_t)(ps->p - run));
            continue;
        }
        if (ps->end - ps->p < 2)
            fail(ps, "unterminated escape");
        uint8_t e = ps->p[1];
        ps->p += 2;
        char ch;
        switch (e) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            uint32_t cp = hex4(ps);
            if (cp >= 0xdc00 && cp <= 0xdfff)
                fail(ps, "lone low surrogate in \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* UTF-16 surrogate pair: the low half must follow as another \u escape. */
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
                    fail(ps, "high surrogate not followed by a low one");
                ps->p += 2;
                uint32_t lo = hex4(ps);
                if (lo < 0xdc00 || lo > 0xdfff)
                    fail(ps, "high surrogate not followed by a low one");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            put_utf8(&b, cp);
            continue;
        }
        default:
            ps->p -= 2;
            fail(ps, "unknown escape");
        }
        buf_put(&b, &ch, 1);
    }
    *len = b.len;
    return b.data ? b.data : xmalloc(1);
}

static bool is_digit(const struct parser *ps)
{
    return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

/* Checks the number grammar of RFC 8259 and keeps the text: reformatting floats would need a shortest
 * round-trip printer, and the text is what a checker can compare exactly. */
static struct value *parse_number(struct parser *ps)
{
    const uint8_t *start = ps->p;
    if (*ps->p == '-')
        ps->p++;
    if (!is_digit(ps))
        fail(ps, "bad number");
    if (*ps->p == '0')
        ps->p++;
    else
        while (is_digit(ps))
            ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!is_digit(ps))
            fail(ps, "bad number: digit expected after '.'");
        while (is_digit(ps))
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (!is_digit(ps))
            fail(ps, "bad number: digit expected in exponent");
        while (is_digit(ps))
            ps->p++;
    }
    struct value *v = new_value(J_NUMBER);
    v->text_len = (size_t)(ps->p - start);
    v->text = xmalloc(v->text_len);
    memcpy(v->text, start, v->text_len);
    return v;
}

static void expect_word(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        fail(ps, "unexpected character");
    ps->p += n;
}

static struct value *parse_value(struct parser *ps);

static struct value *parse_container(struct parser *ps, bool object)
{
    if (++ps->depth > MAX_DEPTH)
        fail(ps, "nested deeper than 512 levels");
    struct value *v = new_value(object ? J_OBJECT : J_ARRAY);
    struct value **tail = &v->first;
    uint8_t close = object ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return v;
    }
    for (;;) {
        char *key = NULL;
        size_t key_len = 0;
        if (object) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                fail(ps, "object key expected");
            key = parse_string(ps, &key_len);
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                fail(ps, "':' expected");
            ps->p++;
        }
        struct value *item = parse_value(ps);
        item->key = key;
        item->key_len = key_len;
        *tail = item;
        tail = &item->next;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            break;
        }
        fail(ps, object ? "',' or '}' expected" : "',' or ']' expected");
    }
    ps->depth--;
    return v;
}

static struct value *parse_value(struct parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        fail(ps, "value expected");
    struct value *v;
    switch (*ps->p) {
    case '{': return parse_container(ps, true);
    case '[': return parse_container(ps, false);
    case '"':
        v = new_value(J_STRING);
        v->text = parse_string(ps, &v->text_len);
        return v;
    case 't': expect_word(ps, "true"); return new_value(J_TRUE);
    case 'f': expect_word(ps, "false"); return new_value(J_FALSE);
    case 'n': expect_word(ps, "null"); return new_value(J_NULL);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps);
        fail(ps, "value expected");
    }
}

/* Output goes straight into the output buffer; running out of room fails the request rather than truncating. */
struct writer {
    uint8_t *p, *end;
};

static void emit(struct writer *w, const void *src, size_t n)
{
    if ((size_t)(w->end - w->p) < n)
        snapfn_abort("json: the output does not fit in the output buffer");
    memcpy(w->p, src, n);
    w->p += n;
}

static void emit_string(struct writer *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    emit(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        emit(w, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        emit(w, esc, n);
    }
    emit(w, s + run, len - run);
    emit(w, "\"", 1);
}

static void emit_value(struct writer *w, const struct value *v)
{
    switch (v->kind) {
    case J_NULL: emit(w, "null", 4); break;
    case J_FALSE: emit(w, "false", 5); break;
    case J_TRUE: emit(w, "true", 4); break;
    case J_NUMBER: emit(w, v->text, v->text_len); break;
    case J_STRING: emit_string(w, v->text, v->text_len); break;
    case J_ARRAY:
    case J_OBJECT:
        emit(w, v->kind == J_OBJECT ? "{" : "[", 1);
        for (const struct value *c = v->first; c; c = c->next) {
            if (c != v->first)
                emit(w, ",", 1);
            if (v->kind == J_OBJECT) {
                emit_string(w, c->key, c->key_len);
                emit(w, ":", 1);
            }
            emit_value(w, c);
        }
        emit(w, v->kind == J_OBJECT ? "}" : "]", 1);
        break;
    }
}

static void free_value(struct value *v)
{
    while (v) {
        struct value *next = v->next;
        free_value(v->first);
        free(v->key);
        free(v->text);
        free(v);
        v = next;
    }
}

void snapfn_init(void)
{
}

size_t snapfn_handle(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    struct parser ps = {in, in, in + in_len, 0};
    struct value *root = parse_value(&ps);
    skip_ws(&ps);
    if (ps.p != ps.end)
        fail(&ps, "trailing characters after the document");
    struct writer w = {out, out + out_cap};
    emit_value(&w, root);
    free_value(root);
    return (size_t)(w.p - out);
}
