/*
 * resp_read.c - the server-side command reader: one command per call from
 * a query buffer that may end anywhere, as redis-server 7.0 reads them.
 *
 * A buffer starting with '*' is a multibulk request (what every client
 * library sends); anything else is an inline line (resp_inline.c does the
 * splitting). The protocol errors, their texts and the moments they are
 * raised follow Redis's processMultibulkBuffer/processInlineBuffer, quirks
 * included, because a broker that answers garbage differently from Redis is
 * a broker clients can tell apart:
 *   - header lines are found with strchr() over a NUL-terminated buffer, so a
 *     NUL before the CR (or, inline, before the LF) hides the line end: the
 *     request waits until the too-big limit turns it into an error;
 *   - a header line ends at its first CR and the byte after it is skipped
 *     unchecked (it is meant to be LF); the two bytes after a bulk payload
 *     are skipped unchecked as well;
 *   - counts are parsed with string2ll (no '+', no leading zeros), and a
 *     count <= 0 ("*0", "*-1") is an empty command that is simply consumed.
 *
 * Incremental: the state remembers the offset of the first unfinished
 * element, how many were complete before it, how far its header line was
 * searched, and, once its length is known, the buffer size needed to finish
 * it. A 10 MB bulk arriving in 4 KiB pieces therefore costs O(1) per piece,
 * and a header line is never searched twice. argv entries point into the
 * buffer given to the call that completes the command; the caller may move
 * or grow its buffer between calls, since only offsets are kept.
 */
#include "resp.h"
#include "resp_impl.h"

#include <string.h>

#define DEFAULT_MAX_ARGS (1024u * 1024u)
#define DEFAULT_MAX_BULK (512ull * 1024u * 1024u)
#define DEFAULT_MAX_INLINE (64u * 1024u)

static const char err_too_big_inline[] = "ERR Protocol error: too big inline request";
static const char err_unbalanced[] = "ERR Protocol error: unbalanced quotes in request";
static const char err_too_big_mbulk[] = "ERR Protocol error: too big mbulk count string";
static const char err_mbulk_len[] = "ERR Protocol error: invalid multibulk length";
static const char err_too_big_bulk[] = "ERR Protocol error: too big bulk count string";
static const char err_bulk_len[] = "ERR Protocol error: invalid bulk length";
static const char err_expected_prefix[] = "ERR Protocol error: expected '$', got '";

typedef struct cmd_limits {
    uint64_t max_args, max_bulk, max_inline;
} cmd_limits_t;

void runnel_resp_cmd_reset(runnel_resp_cmd_state_t *st)
{
    st->scanned = 0;
    st->argc_seen = 0;
    st->need = 0;
    st->line_scan = 0;
}

/*
 * strchr(buf + from, c) as Redis sees its NUL-terminated query buffer:
 * returns the index of the first c, or of the first NUL if that comes first
 * (*blocked set: the line end is hidden for good), or len if neither is in
 * the buffer yet. Two memchr passes, so long spans run at memory speed.
 */
static size_t seek_line_end(const uint8_t *buf, size_t from, size_t len, uint8_t c,
                            bool *blocked)
{
    *blocked = false;
    if (from >= len)
        return len;
    const uint8_t *hit = memchr(buf + from, c, len - from);
    size_t end = hit ? (size_t)(hit - buf) : len;
    const uint8_t *nul = memchr(buf + from, 0, end - from);
    if (nul) {
        *blocked = true;
        return (size_t)(nul - buf);
    }
    return end;
}

static int fail(runnel_resp_cmd_state_t *st, const char **errmsg, const char *msg)
{
    runnel_resp_cmd_reset(st);
    if (errmsg)
        *errmsg = msg;
    return RUNNEL_ERR_PROTO;
}

static int parse_inline(runnel_resp_cmd_state_t *st, const cmd_limits_t *lim,
                        const uint8_t *buf, size_t len, runnel_str_t *argv,
                        size_t argv_cap, size_t *argc, const char **errmsg)
{
    bool blocked;
    size_t nl = seek_line_end(buf, st->scanned, len, '\n', &blocked);

    if (blocked || nl == len) {
        st->scanned = nl;
        if ((uint64_t)len > lim->max_inline)
            return fail(st, errmsg, err_too_big_inline);
        return RUNNEL_ERR_AGAIN;
    }
    size_t line_len = nl;
    if (line_len > 0 && buf[line_len - 1] == '\r')
        line_len--;
    /* The consumed line is rewritten in place only where unescaping
     * changes it; see resp.h. */
    uint8_t *line = (uint8_t *)(uintptr_t)buf;
    int rc = runnel__resp_split_inline(line, line_len, argv, argv_cap, argc);
    runnel_resp_cmd_reset(st);
    if (rc == RUNNEL_ERR_PROTO)
        return fail(st, errmsg, err_unbalanced);
    if (rc < 0)
        return rc;
    if (nl >= (size_t)INT32_MAX) /* the return value could not say it */
        return fail(st, errmsg, err_too_big_inline);
    return (int)(nl + 1);
}

/* A validated header line is at most '$' or '*', 20 digits and CR. */
static size_t short_span(size_t pos, size_t len)
{
    return len - pos < 24 ? len - pos : 24;
}

/* End (CR index) of the count line, already validated by an earlier call. */
static size_t count_line_cr(const uint8_t *buf, size_t len)
{
    return (size_t)((const uint8_t *)memchr(buf + 1, '\r', short_span(1, len)) - buf);
}

/* Fills argv[0..n) from the element headers after the count line; used
 * when a command completes in a later call than its first elements (the
 * buffer may have moved since). Headers were validated before. */
static void refill_argv(const uint8_t *buf, size_t len, size_t pos, uint32_t n,
                        runnel_str_t *argv)
{
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *cr = memchr(buf + pos, '\r', short_span(pos, len));
        size_t hl = (size_t)(cr - (buf + pos));
        int64_t ll = 0;
        (void)runnel__resp_str2ll(buf + pos + 1, hl - 1, &ll);
        pos += hl + 2;
        argv[i].p = (const char *)buf + pos;
        argv[i].len = (size_t)ll;
        pos += (size_t)ll + 2;
    }
}

static int parse_multibulk(runnel_resp_cmd_state_t *st, const cmd_limits_t *lim,
                           const uint8_t *buf, size_t len, runnel_str_t *argv,
                           size_t argv_cap, size_t *argc, const char **errmsg)
{
    bool blocked;
    size_t cr, pos;
    int64_t count;

    /* Fast exit while a known-length bulk is still arriving. */
    if (st->need != 0 && (uint64_t)len < st->need)
        return RUNNEL_ERR_AGAIN;

    /* The count line: parsed once, then re-read cheaply (it is short and
     * known valid) on the calls that resume the command. */
    if (st->scanned == 0) {
        cr = seek_line_end(buf, st->line_scan > 1 ? st->line_scan : 1, len, '\r', &blocked);
        if (blocked || cr == len) {
            st->line_scan = cr;
            if ((uint64_t)len > lim->max_inline)
                return fail(st, errmsg, err_too_big_mbulk);
            return RUNNEL_ERR_AGAIN;
        }
        if (cr + 1 >= len) {
            st->line_scan = cr;
            return RUNNEL_ERR_AGAIN;
        }
        if (!runnel__resp_str2ll(buf + 1, cr - 1, &count) || count > (int64_t)lim->max_args)
            return fail(st, errmsg, err_mbulk_len);
        pos = cr + 2;
        if (count <= 0) {
            runnel_resp_cmd_reset(st);
            *argc = 0;
            return (int)pos;
        }
        if ((uint64_t)count > argv_cap) {
            runnel_resp_cmd_reset(st);
            return RUNNEL_ERR_NOMEM;
        }
        st->scanned = pos;
        st->argc_seen = 0;
        st->line_scan = 0;
    } else {
        cr = count_line_cr(buf, len);
        (void)runnel__resp_str2ll(buf + 1, cr - 1, &count);
    }

    uint32_t first_new = st->argc_seen;
    uint32_t n = st->argc_seen;
    pos = st->scanned;
    while (n < (uint64_t)count) {
        size_t from = st->line_scan > pos ? st->line_scan : pos;
        cr = seek_line_end(buf, from, len, '\r', &blocked);
        if (blocked || cr == len) {
            st->line_scan = cr;
            if ((uint64_t)(len - pos) > lim->max_inline)
                return fail(st, errmsg, err_too_big_bulk);
            goto again;
        }
        if (cr + 1 >= len) { /* the CR must be followed by one more byte */
            st->line_scan = cr;
            goto again;
        }
        if (buf[pos] != '$') {
            size_t k = sizeof(err_expected_prefix) - 1;
            memcpy(st->errbuf, err_expected_prefix, k);
            /* Redis's error replies turn CR/LF into spaces. */
            st->errbuf[k] = (buf[pos] == '\r' || buf[pos] == '\n') ? ' ' : (char)buf[pos];
            st->errbuf[k + 1] = '\'';
            st->errbuf[k + 2] = '\0';
            return fail(st, errmsg, st->errbuf);
        }
        int64_t ll;
        if (!runnel__resp_str2ll(buf + pos + 1, cr - pos - 1, &ll) || ll < 0 ||
            (uint64_t)ll > lim->max_bulk)
            return fail(st, errmsg, err_bulk_len);
        uint64_t end = (uint64_t)cr + 2 + (uint64_t)ll + 2;
        if ((uint64_t)len < end) {
            st->need = end;
            st->line_scan = 0;
            goto again;
        }
        argv[n].p = (const char *)buf + cr + 2;
        argv[n].len = (size_t)ll;
        n++;
        pos = (size_t)end;
        st->need = 0;
        st->line_scan = 0;
    }
    if (first_new > 0) {
        refill_argv(buf, len, count_line_cr(buf, len) + 2, first_new, argv);
    }
    runnel_resp_cmd_reset(st);
    *argc = n;
    if (pos > (size_t)INT32_MAX)
        return fail(st, errmsg, err_bulk_len);
    return (int)pos;

again:
    st->scanned = pos;
    st->argc_seen = n;
    return RUNNEL_ERR_AGAIN;
}

int runnel_resp_parse_command(runnel_resp_cmd_state_t *st, const runnel_resp_limits_t *lim,
                              const uint8_t *buf, size_t len,
                              runnel_str_t *argv, size_t argv_cap, size_t *argc,
                              const char **errmsg)
{
    cmd_limits_t L = { DEFAULT_MAX_ARGS, DEFAULT_MAX_BULK, DEFAULT_MAX_INLINE };
    if (lim) {
        if (lim->max_args)
            L.max_args = lim->max_args;
        if (lim->max_bulk)
            L.max_bulk = lim->max_bulk;
        if (lim->max_inline)
            L.max_inline = lim->max_inline;
    }
    *argc = 0;
    if (len == 0)
        return RUNNEL_ERR_AGAIN;
    if (buf[0] == '*')
        return parse_multibulk(st, &L, buf, len, argv, argv_cap, argc, errmsg);
    return parse_inline(st, &L, buf, len, argv, argv_cap, argc, errmsg);
}
