/*
 * id.c - stream IDs: ordering, formatting and Redis 7.0.15's parser with
 * every one of its quirks (reference section 1).
 *
 * Redis parses each half of "<ms>-<seq>" with string2ull(): a canonical
 * int64 fast path (a canonical negative number is rejected), else
 * strtoull(s, &end, 10) which must consume the whole string without ERANGE.
 * strtoull is more liberal than people expect: it skips leading white
 * space and takes a '+' or even a '-' sign (negating modulo 2^64), so
 * " 1-2", "+1-2" and "01-02" are valid IDs while "-5" (empty ms part),
 * "1-", "1-2-3" and "1.5" are not. The input is copied into a 128-byte C
 * string first, so it is cut at the first NUL and anything longer than 127
 * bytes is invalid. We reproduce that here without libc (core/ may not use
 * strtoull), so the broker and a firmware console accept the same IDs.
 */
#include "store.h"

int runnel_id_cmp(runnel_id_t a, runnel_id_t b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

static size_t u64_format(uint64_t v, char *buf)
{
    char tmp[20];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0);
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

size_t runnel_id_format(runnel_id_t id, char *buf)
{
    size_t n = u64_format(id.ms, buf);

    buf[n++] = '-';
    n += u64_format(id.seq, buf + n);
    buf[n] = '\0';
    return n;
}

runnel_id_t runnel__id_incr(runnel_id_t id, bool *overflow)
{
    *overflow = false;
    if (id.seq == UINT64_MAX) {
        if (id.ms == UINT64_MAX) {
            *overflow = true;
            return id;
        }
        id.ms++;
        id.seq = 0;
    } else {
        id.seq++;
    }
    return id;
}

runnel_id_t runnel__id_decr(runnel_id_t id, bool *underflow)
{
    *underflow = false;
    if (id.seq == 0) {
        if (id.ms == 0) {
            *underflow = true;
            return id;
        }
        id.ms--;
        id.seq = UINT64_MAX;
    } else {
        id.seq--;
    }
    return id;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Redis's string2ll() succeeding with a negative result: "-" followed by a
 * canonical positive number that fits int64's negative range. Such input is
 * rejected by string2ull() before strtoull() would get to wrap it. */
static bool is_canonical_negative(const char *s, size_t len)
{
    uint64_t v = 0;
    size_t i;

    if (len < 2 || s[0] != '-' || s[1] < '1' || s[1] > '9')
        return false;
    for (i = 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (UINT64_MAX - 9u) / 10u)
            return false;
        v = v * 10u + (uint64_t)(s[i] - '0');
        if (v > (uint64_t)INT64_MAX + 1u)
            return false;
    }
    return true;
}

/* string2ull(): see the file comment. s is len bytes with no NUL inside. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    size_t i = 0;
    bool negative = false, any = false;
    uint64_t v = 0;

    if (len == 0)
        return false;
    if (is_canonical_negative(s, len))
        return false;
    while (i < len && is_space(s[i]))
        i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        negative = s[i] == '-';
        i++;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10u)
            return false;                   /* ERANGE */
        v = v * 10u + d;
        any = true;
    }
    if (!any || i != len)
        return false;                       /* no digits, or trailing bytes */
    *out = negative ? (uint64_t)0 - v : v;
    return true;
}

/* The core of streamGenericParseIDOrReply. missing_seq is the sequence a
 * bare "<ms>" gets. */
static int parse_id(const char *s, size_t len, unsigned flags, uint64_t missing_seq,
                    runnel_id_t *out, bool *seq_auto)
{
    size_t i, dash;
    runnel_id_t id;

    if (s == NULL || out == NULL || len > 127)
        return RUNNEL_ERR_ID_INVALID;
    for (i = 0; i < len; i++) {             /* Redis sees a C string */
        if (s[i] == '\0') {
            len = i;
            break;
        }
    }
    if (seq_auto != NULL)
        *seq_auto = false;
    if (len == 1 && (s[0] == '-' || s[0] == '+')) {
        if (!(flags & RUNNEL_ID_ALLOW_MINMAX))
            return RUNNEL_ERR_ID_INVALID;
        *out = s[0] == '-' ? RUNNEL_ID_MIN : RUNNEL_ID_MAX;
        return 0;
    }
    dash = len;
    for (i = 0; i < len; i++) {
        if (s[i] == '-') {
            dash = i;
            break;
        }
    }
    if (!parse_u64(s, dash, &id.ms))
        return RUNNEL_ERR_ID_INVALID;
    if (dash == len) {
        id.seq = missing_seq;
    } else {
        const char *q = s + dash + 1;
        size_t qlen = len - dash - 1;
        if ((flags & RUNNEL_ID_ALLOW_SEQ_AUTO) && qlen == 1 && q[0] == '*') {
            id.seq = 0;
            if (seq_auto == NULL)
                return RUNNEL_ERR_ID_INVALID;
            *seq_auto = true;
        } else if (!parse_u64(q, qlen, &id.seq)) {
            return RUNNEL_ERR_ID_INVALID;
        }
    }
    *out = id;
    return 0;
}

int runnel_id_parse(const char *s, size_t len, unsigned flags, runnel_id_t *out,
                    bool *seq_auto)
{
    uint64_t missing = (flags & RUNNEL_ID_MISSING_SEQ_MAX) ? UINT64_MAX : 0;
    return parse_id(s, len, flags, missing, out, seq_auto);
}

/* "(" makes a bound exclusive only when something follows it; the rest is
 * then parsed strictly ("(-", "(+" are invalid), and the bound is moved by
 * one ID, which fails at the edges of the ID space. */
int runnel_id_parse_start(const char *s, size_t len, runnel_id_t *out)
{
    int err;
    bool overflow;

    if (s != NULL && len > 1 && s[0] == '(') {
        err = parse_id(s + 1, len - 1, RUNNEL_ID_STRICT, 0, out, NULL);
        if (err < 0)
            return err;
        *out = runnel__id_incr(*out, &overflow);
        return overflow ? RUNNEL_ERR_INVALID_START : 0;
    }
    return parse_id(s, len, RUNNEL_ID_ALLOW_MINMAX, 0, out, NULL);
}

int runnel_id_parse_end(const char *s, size_t len, runnel_id_t *out)
{
    int err;
    bool underflow;

    if (s != NULL && len > 1 && s[0] == '(') {
        err = parse_id(s + 1, len - 1, RUNNEL_ID_STRICT, UINT64_MAX, out, NULL);
        if (err < 0)
            return err;
        *out = runnel__id_decr(*out, &underflow);
        return underflow ? RUNNEL_ERR_INVALID_END : 0;
    }
    return parse_id(s, len, RUNNEL_ID_ALLOW_MINMAX, UINT64_MAX, out, NULL);
}
