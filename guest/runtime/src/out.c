/* snapfn_appendf: formatted output appended to the request's output buffer, never truncated silently. */
#include "snapfn.h"

void snapfn_appendf(snapfn_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= o->cap - o->len)
        snapfn_abort("%s: output buffer of %zu bytes is too small", o->function, o->cap);
    o->len += (size_t)k;
}
