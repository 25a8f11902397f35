/*
 * resp_next.c - the client-side reply reader (RESP2 and RESP3), used by the
 * upstream forwarder to read what a real Redis answers.
 *
 * One call reads one item: a scalar, or the header of an aggregate whose
 * children the following calls return. Nesting is tracked with a fixed
 * stack of "children still expected" counters (hiredis's task stack without
 * the heap), so an item can tell the caller that it completed a top-level
 * reply (ends_value). An attribute (|n) and its children annotate the value
 * that follows them: they are returned as items but never complete a value
 * and do not count as a child of the enclosing aggregate.
 *
 * Nothing is consumed unless a whole item is in the buffer, so AGAIN leaves
 * the reader exactly as it was. Anything malformed or over a limit (nesting
 * deeper than RUNNEL_RESP_MAX_DEPTH, an element count over max_args, a bulk
 * over max_bulk) is PROTO, and stays PROTO until the reader is re-initialised:
 * the byte stream cannot be resynchronised, so the connection is dropped.
 */
#include "resp.h"

#include <string.h>

#define DEFAULT_MAX_ELEMENTS (1024u * 1024u)
#define DEFAULT_MAX_BULK (512ull * 1024u * 1024u)
#define DEFAULT_MAX_LINE (64u * 1024u)

void runnel_resp_reader_init(runnel_resp_reader_t *rd, const runnel_resp_limits_t *lim)
{
    memset(rd, 0, sizeof(*rd));
    if (lim)
        rd->lim = *lim;
}

/* Lenient signed decimal: optional sign, at least one digit, in range. */
static bool parse_i64(const uint8_t *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;

    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    for (; i < n; i++) {
        unsigned d = (unsigned)s[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

static bool all_digits(const uint8_t *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)s[i] - '0' > 9)
            return false;
    return true;
}

static bool same_nocase(const uint8_t *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n != w)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != (uint8_t)word[i])
            return false;
    return true;
}

/* RESP3 double text: [+-]digits[.digits][e[+-]digits], or inf / nan. */
static bool valid_double(const uint8_t *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        i = 1;
    if (same_nocase(s + i, n - i, "inf") || same_nocase(s + i, n - i, "nan"))
        return true;
    while (i < n && (unsigned)s[i] - '0' <= 9) {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && (unsigned)s[i] - '0' <= 9) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        if (!all_digits(s + i, n - i))
            return false;
        i = n;
    }
    return i == n;
}

static bool is_type_byte(uint8_t c)
{
    return c != 0 && memchr("+-:$*_#,(!=%~|>", c, 15) != NULL;
}

static int fail(runnel_resp_reader_t *rd)
{
    rd->failed = true;
    return RUNNEL_ERR_PROTO;
}

/* A value completed at the current depth: count it against the open
 * aggregates, closing those it fills. True when it completed a top-level
 * reply. An attribute that closes is not a value for its parent. */
static bool complete_value(runnel_resp_reader_t *rd)
{
    while (rd->depth > 0) {
        uint32_t lvl = rd->depth - 1;
        if (--rd->remaining[lvl] > 0)
            return false;
        bool was_attr = (rd->attr_levels >> lvl) & 1u;
        rd->attr_levels &= ~(UINT32_C(1) << lvl);
        rd->depth--;
        if (was_attr)
            return false;
    }
    return true;
}

int runnel_resp_next(runnel_resp_reader_t *rd, const uint8_t *buf, size_t len,
                     runnel_resp_item_t *item)
{
    uint64_t max_el = rd->lim.max_args ? rd->lim.max_args : DEFAULT_MAX_ELEMENTS;
    uint64_t max_bulk = rd->lim.max_bulk ? rd->lim.max_bulk : DEFAULT_MAX_BULK;
    uint64_t max_line = rd->lim.max_inline ? rd->lim.max_inline : DEFAULT_MAX_LINE;

    if (rd->failed)
        return RUNNEL_ERR_PROTO;
    if (len == 0)
        return RUNNEL_ERR_AGAIN;
    if (!is_type_byte(buf[0]))
        return fail(rd); /* judged at once, however many bytes follow */
    if (len < 3)
        return RUNNEL_ERR_AGAIN;

    uint8_t type = buf[0];
    /* Status and error lines may be as long as a bulk; others are short. */
    uint64_t line_max = (type == '+' || type == '-' || type == '(') ? max_bulk : max_line;
    const uint8_t *cr = memchr(buf + 1, '\r', len - 1);
    if (cr == NULL) {
        if ((uint64_t)(len - 1) > line_max)
            return fail(rd);
        return RUNNEL_ERR_AGAIN;
    }
    size_t ln = (size_t)(cr - buf) - 1;     /* line length without type byte */
    if ((uint64_t)ln > line_max || ln > (size_t)INT32_MAX - 3)
        return fail(rd);
    if ((size_t)(cr - buf) + 1 >= len)
        return RUNNEL_ERR_AGAIN;
    if (cr[1] != '\n')
        return fail(rd);
    const uint8_t *line = buf + 1;
    size_t used = ln + 3;

    memset(item, 0, sizeof(*item));
    item->type = (runnel_resp_type_t)type;
    item->depth = rd->depth;

    int64_t v = 0;
    switch (type) {
    case '+':
    case '-':
        item->str.p = (const char *)line;
        item->str.len = ln;
        break;
    case ':':
        if (!parse_i64(line, ln, &v))
            return fail(rd);
        item->integer = v;
        break;
    case '_':
        if (ln != 0)
            return fail(rd);
        item->is_null = true;
        break;
    case '#':
        if (ln != 1 || (line[0] != 't' && line[0] != 'f'))
            return fail(rd);
        item->integer = line[0] == 't';
        break;
    case ',':
        if (!valid_double(line, ln))
            return fail(rd);
        item->str.p = (const char *)line;
        item->str.len = ln;
        break;
    case '(':
        if (!all_digits(line + (ln > 0 && (line[0] == '-' || line[0] == '+')),
                        ln - (ln > 0 && (line[0] == '-' || line[0] == '+'))))
            return fail(rd);
        item->str.p = (const char *)line;
        item->str.len = ln;
        break;
    case '$':
    case '!':
    case '=': {
        if (!parse_i64(line, ln, &v))
            return fail(rd);
        if (v == -1 && type == '$') {
            item->is_null = true;
            break;
        }
        if (v < 0 || (uint64_t)v > max_bulk || (type == '=' && v < 4))
            return fail(rd);
        if ((uint64_t)v > (uint64_t)INT32_MAX - used - 2)
            return fail(rd); /* the return value could not count it */
        if ((uint64_t)(len - used) < (uint64_t)v + 2)
            return RUNNEL_ERR_AGAIN;
        const uint8_t *body = buf + used;
        if (body[v] != '\r' || body[v + 1] != '\n')
            return fail(rd);
        item->str.p = (const char *)body;
        item->str.len = (size_t)v;
        if (type == '=') {
            if (body[3] != ':')
                return fail(rd);
            item->str.p += 4;
            item->str.len -= 4;
        }
        used += (size_t)v + 2;
        break;
    }
    case '*':
    case '%':
    case '~':
    case '|':
    case '>': {
        if (!parse_i64(line, ln, &v))
            return fail(rd);
        if (v == -1 && type == '*') {
            item->is_null = true;
            break;
        }
        if (v < 0 || (uint64_t)v > max_el)
            return fail(rd);
        item->integer = v;
        int64_t children = (type == '%' || type == '|') ? 2 * v : v;
        if (children > 0) {
            if (rd->depth >= RUNNEL_RESP_MAX_DEPTH)
                return fail(rd);
            rd->remaining[rd->depth] = children;
            if (type == '|')
                rd->attr_levels |= UINT32_C(1) << rd->depth;
            rd->depth++;
            return (int)used;
        }
        if (type == '|')
            return (int)used; /* an empty attribute annotates the next value */
        break;
    }
    default:
        return fail(rd);
    }
    item->ends_value = complete_value(rd);
    return (int)used;
}
