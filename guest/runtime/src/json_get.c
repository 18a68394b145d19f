/* snapfn_json_get: one value by key from the top level of a JSON object.
 *
 * A small scanner over [json, json+len) (the input need not be NUL-terminated): members whose key differs are
 * skipped whole, nested objects, arrays and strings included, so a key inside a nested value never matches.
 * Malformed input simply yields false. */
#include "snapfn.h"

struct scanner {
    const uint8_t *p, *end;
};

static void skip_space(struct scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads four hex digits after "\u"; -1 if malformed. */
static long read_u16(struct scanner *s)
{
    if (s->end - s->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(s->p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    s->p += 4;
    return v;
}

/* Decodes the next character of a string whose opening quote was consumed. Returns the byte, -1 at the closing
 * quote (consumed), -2 on malformed input. Non-ASCII \u escapes decode to '?', a surrogate pair to one '?'. */
static int string_char(struct scanner *s)
{
    if (s->p >= s->end)
        return -2;
    uint8_t c = *s->p++;
    if (c == '"')
        return -1;
    if (c != '\\')
        return c;
    if (s->p >= s->end)
        return -2;
    c = *s->p++;
    switch (c) {
    case '"':
    case '\\':
    case '/':
        return c;
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u': {
        long u = read_u16(s);
        if (u < 0)
            return -2;
        if (u >= 0xd800 && u < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u') {
            struct scanner peek = {s->p + 2, s->end};
            long low = read_u16(&peek);
            if (low >= 0xdc00 && low < 0xe000)
                s->p = peek.p; /* the pair is one character */
        }
        return u < 0x80 ? (int)u : '?';
    }
    default:
        return -2;
    }
}

static bool skip_string(struct scanner *s)
{
    int c;
    while ((c = string_char(s)) >= 0)
        ;
    return c == -1;
}

/* Skips one value of any kind; false when malformed. Nesting is tracked with a counter, strings skipped whole
 * so that brackets inside them do not count. */
static bool skip_value(struct scanner *s)
{
    skip_space(s);
    if (s->p >= s->end)
        return false;
    if (*s->p == '"') {
        s->p++;
        return skip_string(s);
    }
    if (*s->p != '{' && *s->p != '[') {
        /* number, true, false, null: up to a delimiter */
        const uint8_t *start = s->p;
        while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' && *s->p != ' ' && *s->p != '\t' &&
               *s->p != '\n' && *s->p != '\r')
            s->p++;
        return s->p > start;
    }
    size_t depth = 0;
    while (s->p < s->end) {
        uint8_t c = *s->p++;
        if (c == '"') {
            if (!skip_string(s))
                return false;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return true;
        }
    }
    return false;
}

/* Compares the key string at s (opening quote consumed) with `key`, consuming it. */
static bool key_matches(struct scanner *s, const char *key, bool *ok)
{
    bool same = true;
    size_t i = 0;
    int c;
    while ((c = string_char(s)) >= 0) {
        if (same && (key[i] == 0 || (uint8_t)key[i] != c))
            same = false;
        else if (same)
            i++;
    }
    *ok = c == -1;
    return same && key[i] == 0;
}

bool snapfn_json_get(const uint8_t *json, size_t len, const char *key, char *value, size_t cap)
{
    struct scanner s = {json, json + len};
    skip_space(&s);
    if (s.p >= s.end || *s.p++ != '{')
        return false;
    for (;;) {
        skip_space(&s);
        if (s.p >= s.end || *s.p++ != '"')
            return false; /* also an empty object: no key */
        bool ok;
        bool match = key_matches(&s, key, &ok);
        if (!ok)
            return false;
        skip_space(&s);
        if (s.p >= s.end || *s.p++ != ':')
            return false;
        skip_space(&s);
        if (match) {
            size_t n = 0;
            if (s.p < s.end && *s.p == '"') {
                s.p++;
                int c;
                while ((c = string_char(&s)) >= 0)
                    if (n + 1 < cap)
                        value[n++] = (char)c;
                if (c != -1)
                    return false;
            } else {
                /* any other value: its text as written */
                const uint8_t *start = s.p;
                if (!skip_value(&s))
                    return false;
                for (const uint8_t *q = start; q < s.p && n + 1 < cap; q++)
                    value[n++] = (char)*q;
            }
            if (cap > 0)
                value[n] = 0;
            return true;
        }
        if (!skip_value(&s))
            return false;
        skip_space(&s);
        if (s.p >= s.end || *s.p != ',')
            return false; /* '}' (the key is absent) or malformed */
        s.p++;
    }
}
