/* snprintf and vsnprintf.
 *
 * Doubles are printed exactly, as glibc does: the binary value's decimal digits are generated with big
 * integers (the integer part by repeated division by 10^9, the fraction by repeated multiplication by 10^9)
 * only as far as the requested precision needs, then rounded once, half to even, on the exact value. */
#include "bignum.h"
#include "snapfn.h"

/* Where the output goes: writes past size-1 are counted but dropped, so the return value is the full length. */
struct sink {
    char *buf;
    size_t size;
    size_t len;
};

static void put(struct sink *s, char c)
{
    if (s->len + 1 < s->size)
        s->buf[s->len] = c;
    s->len++;
}

static void put_n(struct sink *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(s, p[i]);
}

static void put_repeat(struct sink *s, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(s, c);
}

/* Precisions are clamped here so that digit positions stay far from int overflow. */
#define PRECISION_CAP 100000000

/* A parsed conversion specification. */
struct spec {
    bool left, plus, space, alt, zero;
    size_t width;
    int precision; /* -1 when absent */
    char length;   /* 0, 'H' (hh), 'h', 'l', 'q' (ll), 'z', 'j', 't', 'L' */
    char conv;
};

/* One converted field: prefix (sign, 0x), leading zeros, head text, zeros, tail text. The zeros in the middle
 * let huge precisions print without a buffer of their size. */
struct field {
    const char *prefix;
    size_t prefix_len;
    size_t lead_zeros;
    const char *head;
    size_t head_len;
    size_t zeros;
    const char *tail;
    size_t tail_len;
};

static void emit(struct sink *s, const struct spec *sp, const struct field *f, bool zero_pad)
{
    size_t len = f->prefix_len + f->lead_zeros + f->head_len + f->zeros + f->tail_len;
    size_t pad = sp->width > len ? sp->width - len : 0;
    bool pad_zeros = zero_pad && sp->zero && !sp->left;
    if (!sp->left && !pad_zeros)
        put_repeat(s, ' ', pad);
    put_n(s, f->prefix, f->prefix_len);
    if (pad_zeros)
        put_repeat(s, '0', pad);
    put_repeat(s, '0', f->lead_zeros);
    put_n(s, f->head, f->head_len);
    put_repeat(s, '0', f->zeros);
    put_n(s, f->tail, f->tail_len);
    if (sp->left)
        put_repeat(s, ' ', pad);
}

static void format_integer(struct sink *s, const struct spec *sp, unsigned long long value, bool negative)
{
    char digits[24];
    size_t n = 0;
    unsigned base = sp->conv == 'o' ? 8 : (sp->conv == 'x' || sp->conv == 'X') ? 16 : 10;
    const char *alphabet = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    for (unsigned long long v = value; v != 0; v /= base)
        digits[sizeof digits - ++n] = alphabet[v % base];

    char prefix[2];
    struct field f = {.prefix = prefix, .head = digits + sizeof digits - n, .head_len = n};
    if (negative)
        prefix[f.prefix_len++] = '-';
    else if ((sp->conv == 'd' || sp->conv == 'i') && sp->plus)
        prefix[f.prefix_len++] = '+';
    else if ((sp->conv == 'd' || sp->conv == 'i') && sp->space)
        prefix[f.prefix_len++] = ' ';
    if (sp->alt && value != 0 && base == 16) {
        prefix[f.prefix_len++] = '0';
        prefix[f.prefix_len++] = sp->conv;
    }
    /* The precision is a minimum digit count (default 1; a zero value with precision 0 prints nothing). */
    size_t min_digits = sp->precision < 0 ? 1 : (size_t)sp->precision;
    if (n < min_digits)
        f.lead_zeros = min_digits - n;
    if (sp->alt && base == 8 && f.lead_zeros == 0 && (n == 0 || digits[sizeof digits - n] != '0'))
        f.lead_zeros = 1; /* '#' makes octal start with 0 */
    emit(s, sp, &f, sp->precision < 0);
}

/* ---- Exact decimal digits of a double. ---- */

#define DIGITS_CAP 1400 /* 309 integer digits + 1074 fraction digits, rounded up to whole chunks of 9 */

struct decimal {
    char d[DIGITS_CAP]; /* digits, most significant first */
    int n;              /* digits stored; digits past n are zeros unless sticky */
    int point;          /* digits before the decimal point; negative when leading fraction zeros were skipped */
    bool sticky;        /* a non-zero digit exists past d[n-1] */
};

static uint64_t double_bits(double v)
{
    union { double d; uint64_t u; } x = {.d = v};
    return x.u;
}

static void append_chunk(struct decimal *dd, uint32_t chunk, int width, bool skip_leading_zeros)
{
    char tmp[9];
    for (int i = width; i-- > 0; chunk /= 10)
        tmp[i] = (char)('0' + chunk % 10);
    for (int i = 0; i < width; i++) {
        if (skip_leading_zeros && dd->n == 0 && tmp[i] == '0') {
            dd->point--;
            continue;
        }
        if (dd->n < DIGITS_CAP)
            dd->d[dd->n++] = tmp[i];
        else
            dd->sticky |= tmp[i] != '0';
    }
}

/* Digits of |v| (finite, non-zero). With fixed, enough for `want` digits after the point plus one to round on;
 * otherwise `want` significant digits plus one (leading zeros skipped). */
static void expand(double v, bool fixed, int want, struct decimal *dd)
{
    uint64_t bits = double_bits(v);
    int biased = (int)(bits >> 52 & 0x7ff);
    uint64_t m = bits & ((1ULL << 52) - 1);
    int e2;
    if (biased == 0) {
        e2 = -1074;
    } else {
        m |= 1ULL << 52;
        e2 = biased - 1075;
    }
    dd->n = 0;
    dd->point = 0;
    dd->sticky = false;

    /* |v| = m * 2^e2 = integer part + frac / 2^fbits */
    big acc;
    big_set_u64(&acc, m);
    unsigned fbits = 0;
    big frac;
    frac.n = 0;
    if (e2 >= 0) {
        big_shl(&acc, (unsigned)e2);
    } else {
        fbits = (unsigned)-e2;
        if (fbits < 64) {
            big_set_u64(&frac, m & ((1ULL << fbits) - 1));
            big_set_u64(&acc, m >> fbits);
        } else {
            big_set_u64(&frac, m);
            acc.n = 0;
        }
    }
    if (!big_is_zero(&acc)) {
        uint32_t chunks[40];
        int nchunks = 0;
        while (!big_is_zero(&acc))
            chunks[nchunks++] = big_div_small(&acc, 1000000000);
        uint32_t top = chunks[nchunks - 1];
        int top_width = 1;
        for (uint32_t t = top; t >= 10; t /= 10)
            top_width++;
        append_chunk(dd, top, top_width, false);
        for (int i = nchunks - 1; i-- > 0;)
            append_chunk(dd, chunks[i], 9, false);
        dd->point = dd->n;
    }
    int frac_digits = 0;
    while (!big_is_zero(&frac)) {
        if (fixed ? frac_digits > want : dd->n > want)
            break;
        big_mul_add_small(&frac, 1000000000, 0);
        uint32_t chunk = (uint32_t)big_shr_u64(&frac, fbits);
        big_truncate(&frac, fbits);
        append_chunk(dd, chunk, 9, !fixed);
        frac_digits += 9;
    }
    dd->sticky |= !big_is_zero(&frac);
}

/* Rounds to the first `keep` digits (keep >= 0), half to even on the exact value. */
static void round_digits(struct decimal *dd, int keep)
{
    if (keep >= dd->n)
        return; /* the next digit is a zero: rounding down changes nothing */
    bool rest = dd->sticky;
    for (int i = keep + 1; i < dd->n && !rest; i++)
        rest = dd->d[i] != '0';
    char r = dd->d[keep];
    bool odd = keep > 0 && ((dd->d[keep - 1] - '0') & 1);
    bool up = r > '5' || (r == '5' && (rest || odd));
    dd->n = keep;
    dd->sticky = false;
    if (!up)
        return;
    int i = keep - 1;
    while (i >= 0 && dd->d[i] == '9')
        dd->d[i--] = '0';
    if (i >= 0) {
        dd->d[i]++;
    } else {
        /* 99.9 -> 100: a new leading digit (the others are all zeros now) */
        memmove(dd->d + 1, dd->d, (size_t)keep < DIGITS_CAP - 1 ? (size_t)keep : DIGITS_CAP - 1);
        dd->d[0] = '1';
        if (dd->n < DIGITS_CAP)
            dd->n++;
        dd->point++;
    }
}

static char digit_at(const struct decimal *dd, int i)
{
    return i >= 0 && i < dd->n ? dd->d[i] : '0';
}

/* Output text of a double field: head (built here), zeros, tail (the exponent). */
struct double_text {
    char head[DIGITS_CAP + 16]; /* the stored digits, a point, up to 3 leading fraction zeros */
    size_t head_len;
    size_t zeros;
    char tail[8];
    size_t tail_len;
};

static void head_put(struct double_text *t, char c)
{
    t->head[t->head_len++] = c;
}

/* Appends digits [from, to) of dd: the stored ones as text, the zeros past them as a count, so this must be the
 * last thing added to the head. */
static void head_digits(struct double_text *t, const struct decimal *dd, int from, int to)
{
    int i = from;
    for (; i < to && i < dd->n; i++)
        head_put(t, dd->d[i]);
    if (to > i)
        t->zeros += (size_t)(to - i);
}

static void exponent_tail(struct double_text *t, int x, bool upper)
{
    t->tail[t->tail_len++] = upper ? 'E' : 'e';
    t->tail[t->tail_len++] = x < 0 ? '-' : '+';
    unsigned u = (unsigned)(x < 0 ? -x : x);
    if (u >= 100)
        t->tail[t->tail_len++] = (char)('0' + u / 100);
    t->tail[t->tail_len++] = (char)('0' + u / 10 % 10);
    t->tail[t->tail_len++] = (char)('0' + u % 10);
}

/* [integer digits].[precision digits]; dd->point digits come before the point (none, or leading fraction zeros,
 * when it is <= 0). The integer digits are always all stored. */
static void layout_fixed(struct double_text *t, const struct decimal *dd, int precision, bool alt)
{
    if (dd->point <= 0)
        head_put(t, '0');
    for (int i = 0; i < dd->point; i++)
        head_put(t, digit_at(dd, i));
    if (precision > 0 || alt)
        head_put(t, '.');
    int end = dd->point + precision;
    for (int i = dd->point; i < 0 && i < end; i++)
        head_put(t, '0');
    int from = dd->point > 0 ? dd->point : 0;
    if (end > from)
        head_digits(t, dd, from, end);
}

/* d.ddd e+XX */
static void layout_exponent(struct double_text *t, const struct decimal *dd, int precision, bool alt, bool upper)
{
    head_put(t, digit_at(dd, 0));
    if (precision > 0 || alt)
        head_put(t, '.');
    head_digits(t, dd, 1, precision + 1);
    exponent_tail(t, dd->point - 1, upper);
}

static void strip_trailing_zeros(struct double_text *t)
{
    t->zeros = 0;
    bool has_point = false;
    for (size_t i = 0; i < t->head_len; i++)
        has_point |= t->head[i] == '.';
    if (!has_point)
        return;
    while (t->head[t->head_len - 1] == '0')
        t->head_len--;
    if (t->head[t->head_len - 1] == '.')
        t->head_len--;
}

static void format_double(struct sink *s, const struct spec *sp, double v)
{
    uint64_t bits = double_bits(v);
    bool negative = bits >> 63;
    bool upper = sp->conv == 'F' || sp->conv == 'E' || sp->conv == 'G';
    char conv = (char)(upper ? sp->conv - 'A' + 'a' : sp->conv);
    char sign = negative ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
    struct field f = {.prefix = &sign, .prefix_len = sign ? 1 : 0};

    if ((bits >> 52 & 0x7ff) == 0x7ff) {
        bool nan = (bits & ((1ULL << 52) - 1)) != 0;
        f.head = nan ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
        f.head_len = 3;
        emit(s, sp, &f, false); /* infinities and NaNs are never zero-padded */
        return;
    }

    struct decimal dd;
    struct double_text t;
    t.head_len = t.zeros = t.tail_len = 0;
    int precision = sp->precision < 0 ? 6 : sp->precision;
    bool zero = (bits << 1) == 0;

    if (conv == 'f') {
        if (zero) {
            dd.n = 1, dd.point = 1, dd.d[0] = '0', dd.sticky = false;
        } else {
            expand(v, true, precision, &dd);
            round_digits(&dd, dd.point + precision);
        }
        layout_fixed(&t, &dd, precision, sp->alt);
    } else {
        int significant = conv == 'e' ? precision + 1 : (precision == 0 ? 1 : precision);
        if (zero) {
            dd.n = 1, dd.point = 1, dd.d[0] = '0', dd.sticky = false;
        } else {
            expand(v, false, significant, &dd);
            round_digits(&dd, significant);
        }
        int x = dd.point - 1;
        if (conv == 'e') {
            layout_exponent(&t, &dd, precision, sp->alt, upper);
        } else if (x >= -4 && x < significant) {
            layout_fixed(&t, &dd, significant - 1 - x, sp->alt);
            if (!sp->alt)
                strip_trailing_zeros(&t);
        } else {
            layout_exponent(&t, &dd, significant - 1, sp->alt, upper);
            if (!sp->alt)
                strip_trailing_zeros(&t);
        }
    }
    f.head = t.head;
    f.head_len = t.head_len;
    f.zeros = t.zeros;
    f.tail = t.tail;
    f.tail_len = t.tail_len;
    emit(s, sp, &f, true);
}

static void format_string(struct sink *s, const struct spec *sp, const char *str)
{
    if (str == NULL)
        str = "(null)";
    size_t n = 0;
    while ((sp->precision < 0 || n < (size_t)sp->precision) && str[n])
        n++;
    struct field f = {.head = str, .head_len = n};
    emit(s, sp, &f, false);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = {.buf = buf, .size = size, .len = 0};
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&s, *p);
            continue;
        }
        const char *start = p++;
        struct spec sp = {.precision = -1};
        for (;; p++) {
            if (*p == '-')
                sp.left = true;
            else if (*p == '+')
                sp.plus = true;
            else if (*p == ' ')
                sp.space = true;
            else if (*p == '#')
                sp.alt = true;
            else if (*p == '0')
                sp.zero = true;
            else
                break;
        }
        if (*p == '*') {
            int w = va_arg(ap, int);
            if (w < 0) {
                sp.left = true;
                w = -w;
            }
            sp.width = (size_t)w;
            p++;
        } else {
            for (; *p >= '0' && *p <= '9'; p++)
                sp.width = sp.width * 10 + (size_t)(*p - '0');
        }
        if (*p == '.') {
            p++;
            sp.precision = 0;
            if (*p == '*') {
                int prec = va_arg(ap, int);
                sp.precision = prec < 0 ? -1 : prec; /* a negative precision counts as none */
                if (sp.precision > PRECISION_CAP)
                    sp.precision = PRECISION_CAP;
                p++;
            } else {
                for (; *p >= '0' && *p <= '9'; p++)
                    if (sp.precision < PRECISION_CAP)
                        sp.precision = sp.precision * 10 + (*p - '0');
            }
        }
        if (p[0] == 'h' && p[1] == 'h')
            sp.length = 'H', p += 2;
        else if (p[0] == 'l' && p[1] == 'l')
            sp.length = 'q', p += 2;
        else if (*p == 'h' || *p == 'l' || *p == 'z' || *p == 'j' || *p == 't' || *p == 'L')
            sp.length = *p++;
        sp.conv = *p;

        switch (sp.conv) {
        case 'd':
        case 'i': {
            long long v;
            switch (sp.length) {
            case 'H': v = (signed char)va_arg(ap, int); break;
            case 'h': v = (short)va_arg(ap, int); break;
            case 'l': v = va_arg(ap, long); break;
            case 'q': v = va_arg(ap, long long); break;
            case 'z': v = (long long)va_arg(ap, size_t); break; /* %zd: the signed type of size_t's width */
            case 'j': v = (long long)va_arg(ap, intmax_t); break;
            case 't': v = (long long)va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, int); break;
            }
            unsigned long long magnitude = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
            format_integer(&s, &sp, magnitude, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            unsigned long long v;
            switch (sp.length) {
            case 'H': v = (unsigned char)va_arg(ap, unsigned); break;
            case 'h': v = (unsigned short)va_arg(ap, unsigned); break;
            case 'l': v = va_arg(ap, unsigned long); break;
            case 'q': v = va_arg(ap, unsigned long long); break;
            case 'z': v = va_arg(ap, size_t); break;
            case 'j': v = va_arg(ap, uintmax_t); break;
            case 't': v = (unsigned long long)va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, unsigned); break;
            }
            format_integer(&s, &sp, v, false);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            struct field f = {.head = &c, .head_len = 1};
            emit(&s, &sp, &f, false);
            break;
        }
        case 's':
            format_string(&s, &sp, va_arg(ap, const char *));
            break;
        case 'p': {
            void *ptr = va_arg(ap, void *);
            if (ptr == NULL) {
                sp.precision = -1;
                format_string(&s, &sp, "(nil)"); /* glibc's spelling */
            } else {
                sp.conv = 'x';
                sp.alt = true;
                format_integer(&s, &sp, (uintptr_t)ptr, false);
            }
            break;
        }
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
            format_double(&s, &sp, sp.length == 'L' ? (double)va_arg(ap, long double) : va_arg(ap, double));
            break;
        case '%':
            put(&s, '%');
            break;
        default:
            /* Not a conversion this printf knows (or the format ended): print it as written. */
            put_n(&s, start, (size_t)(p - start) + (*p != 0));
            if (*p == 0)
                p--;
            break;
        }
    }
    if (size > 0)
        buf[s.len < size ? s.len : size - 1] = 0;
    return s.len > (size_t)__INT_MAX__ ? -1 : (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
