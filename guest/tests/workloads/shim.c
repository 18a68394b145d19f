/* A hosted stand-in for the parts of the Snapfn runtime that glibc does not provide, so that a function's
 * main.c can be compiled with plain gcc and tested on the host. The rest (malloc, memcpy, snprintf, maths)
 * comes from glibc, whose prototypes match snapfn.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void snapfn_log(const char *fmt, ...);
_Noreturn void snapfn_abort(const char *fmt, ...);
void snapfn_discard(void *addr, size_t len);
void *xmalloc(size_t size);
bool snapfn_json_get(const uint8_t *json, size_t len, const char *key, char *value, size_t cap);

void snapfn_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("log: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Exit code 3 lets a test tell an abort (an expected rejection of bad input) from a crash. */
_Noreturn void snapfn_abort(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("abort: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(3);
}

/* The guest zeroes discarded pages; glibc's free never hands freed memory back to the caller, so nothing to do. */
void snapfn_discard(void *addr, size_t len)
{
    (void)addr;
    (void)len;
}

void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (!p)
        snapfn_abort("out of memory allocating %zu bytes", size);
    return p;
}

/* The same contract as the runtime's: finds "key" at the top level of a flat object and copies its string
 * contents (escapes \" \\ \/ \n \t \r \b \f handled; \u left as is) or its number/literal text. */
bool snapfn_json_get(const uint8_t *json, size_t len, const char *key, char *value, size_t cap)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen + 2 <= len; i++) {
        if (json[i] != '"' || i + klen + 1 >= len || memcmp(json + i + 1, key, klen) != 0 || json[i + 1 + klen] != '"')
            continue;
        size_t j = i + klen + 2;
        while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r'))
            j++;
        if (j >= len || json[j] != ':')
            continue;
        j++;
        while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r'))
            j++;
        size_t n = 0;
        if (j < len && json[j] == '"') {
            for (j++; j < len && json[j] != '"'; j++) {
                char c = (char)json[j];
                if (c == '\\' && j + 1 < len) {
                    c = (char)json[++j];
                    c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c == 'f' ? '\f' : c;
                }
                if (n + 1 < cap)
                    value[n++] = c;
            }
        } else {
            while (j < len && json[j] != ',' && json[j] != '}' && json[j] != ' ' && json[j] != '\n') {
                if (n + 1 < cap)
                    value[n++] = (char)json[j];
                j++;
            }
        }
        if (cap)
            value[n] = 0;
        return true;
    }
    return false;
}
