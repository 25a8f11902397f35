/*
 * resp_write.c - the RESP2/RESP3 reply writer.
 *
 * Every function appends one complete element or nothing: it computes the
 * element's size first and, if it does not fit, sets the sticky `overflow`
 * flag and leaves buf and len untouched. So after any sequence of calls the
 * bytes in buf[0..len) are whole RESP elements, and a writer that
 * overflowed once stays overflowed (the host then drops the client, as Redis
 * does past client-output-buffer-limit) rather than sending a torn reply.
 *
 * RESP3-only types take the form Redis 7.0 gives them on a RESP2
 * connection: map -> flat array of 2n, set -> array, null -> $-1 (or *-1
 * for a null array), bool -> :1/:0, double -> bulk string, verbatim ->
 * bulk string without the "txt:" prefix.
 *
 * Deferred aggregates reserve the widest header the buffer could ever need
 * (one element is at least 3 bytes, so the count has no more digits than
 * the capacity) and close the gap with one memmove when the count is known.
 */
#include "resp.h"
#include "resp_impl.h"

#include <string.h>

void runnel_resp_writer_init(runnel_resp_writer_t *w, uint8_t *buf, size_t cap, uint8_t proto)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->proto = proto == 3 ? 3 : 2;
    w->overflow = false;
    w->read_failed = false;
}

/* Reserves n bytes at the end, or marks the writer overflowed. */
static inline uint8_t *reserve(runnel_resp_writer_t *w, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

static size_t u64_digits(uint64_t v)
{
    size_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* "<c><v>\r\n" for a length or count. */
static size_t header(char *out, char c, uint64_t v)
{
    out[0] = c;
    size_t n = 1 + runnel__resp_u64_dec(v, out + 1);
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

/* Appends a short pre-formatted element (at most a few dozen bytes). */
static void put_small(runnel_resp_writer_t *w, const char *s, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (p)
        memcpy(p, s, n);
}

/* A line element: <c><s>\r\n */
static void put_line(runnel_resp_writer_t *w, char c, const void *s, size_t n)
{
    if (n > SIZE_MAX - 3) {
        w->overflow = true;
        return;
    }
    uint8_t *p = reserve(w, n + 3);
    if (!p)
        return;
    p[0] = (uint8_t)c;
    if (n)
        memcpy(p + 1, s, n);
    p[n + 1] = '\r';
    p[n + 2] = '\n';
}

/* A length-prefixed element: <c><n+plen>\r\n<prefix><s>\r\n */
static void put_blob(runnel_resp_writer_t *w, char c, const void *prefix, size_t plen,
                     const void *s, size_t n)
{
    char h[24];
    if (n > SIZE_MAX - 64 - plen) {
        w->overflow = true;
        return;
    }
    size_t hl = header(h, c, (uint64_t)(n + plen));
    uint8_t *p = reserve(w, hl + plen + n + 2);
    if (!p)
        return;
    memcpy(p, h, hl);
    p += hl;
    if (plen) {
        memcpy(p, prefix, plen);
        p += plen;
    }
    if (n)
        memcpy(p, s, n);
    p[n] = '\r';
    p[n + 1] = '\n';
}

void runnel_resp_bulk_value(runnel_resp_writer_t *w, const runnel_entry_t *e, uint32_t i)
{
    const runnel_str_t *s = &e->fv[i];
    char h[24];
    size_t hl, n = s->len;
    uint8_t *p;

    if (s->p != NULL || n == 0) {
        put_blob(w, '$', NULL, 0, s->p, n);
        return;
    }
    /* a string of an entry larger than a block: read from the store
     * straight into the reply (runnel.h: the entry's own reader, so the
     * RESP codec links nothing of the engine) */
    if (n > SIZE_MAX - 64) {
        w->overflow = true;
        return;
    }
    hl = header(h, '$', n);
    p = reserve(w, hl + n + 2);
    if (!p)
        return;
    memcpy(p, h, hl);
    if (e->read == NULL || e->read(e, i, 0, p + hl, n) < 0) {
        /* a damaged piece: never send bytes that did not check */
        w->len -= hl + n + 2;
        w->overflow = true;
        w->read_failed = true;
        return;
    }
    p[hl + n] = '\r';
    p[hl + n + 1] = '\n';
}

void runnel_resp_simple(runnel_resp_writer_t *w, const char *s, size_t n)
{
    put_line(w, '+', s, n);
}

void runnel_resp_error(runnel_resp_writer_t *w, const char *s, size_t n)
{
    put_line(w, '-', s, n);
}

void runnel_resp_int(runnel_resp_writer_t *w, int64_t v)
{
    char b[24];
    b[0] = ':';
    size_t n = 1 + runnel__resp_i64_dec(v, b + 1);
    b[n++] = '\r';
    b[n++] = '\n';
    put_small(w, b, n);
}

void runnel_resp_bulk(runnel_resp_writer_t *w, const void *p, size_t n)
{
    put_blob(w, '$', NULL, 0, p, n);
}

void runnel_resp_bulk_u64(runnel_resp_writer_t *w, uint64_t v)
{
    char d[20];
    size_t n = runnel__resp_u64_dec(v, d);
    put_blob(w, '$', NULL, 0, d, n);
}

/* "<ms>-<seq>" into out (RUNNEL_ID_STRLEN bytes); returns its length. */
static size_t id_text(runnel_id_t id, char *out)
{
    size_t n = runnel__resp_u64_dec(id.ms, out);
    out[n++] = '-';
    return n + runnel__resp_u64_dec(id.seq, out + n);
}

void runnel_resp_bulk_id(runnel_resp_writer_t *w, runnel_id_t id)
{
    char t[RUNNEL_ID_STRLEN];
    size_t n = id_text(id, t);
    put_blob(w, '$', NULL, 0, t, n);
}

void runnel_resp_null(runnel_resp_writer_t *w)
{
    if (w->proto == 3)
        put_small(w, "_\r\n", 3);
    else
        put_small(w, "$-1\r\n", 5);
}

void runnel_resp_null_array(runnel_resp_writer_t *w)
{
    if (w->proto == 3)
        put_small(w, "_\r\n", 3);
    else
        put_small(w, "*-1\r\n", 5);
}

static void put_header(runnel_resp_writer_t *w, char c, uint64_t n)
{
    char h[24];
    put_small(w, h, header(h, c, n));
}

void runnel_resp_array(runnel_resp_writer_t *w, size_t n)
{
    put_header(w, '*', n);
}

void runnel_resp_map(runnel_resp_writer_t *w, size_t pairs)
{
    if (w->proto == 3)
        put_header(w, '%', pairs);
    else
        put_header(w, '*', 2 * (uint64_t)pairs);
}

void runnel_resp_set(runnel_resp_writer_t *w, size_t n)
{
    put_header(w, w->proto == 3 ? '~' : '*', n);
}

void runnel_resp_bool(runnel_resp_writer_t *w, bool v)
{
    if (w->proto == 3)
        put_small(w, v ? "#t\r\n" : "#f\r\n", 4);
    else
        put_small(w, v ? ":1\r\n" : ":0\r\n", 4);
}

void runnel_resp_double(runnel_resp_writer_t *w, double v)
{
    char d[RUNNEL__RESP_DOUBLE_MAX];
    size_t n = runnel__resp_double_fmt(v, d);
    if (w->proto == 3)
        put_line(w, ',', d, n);
    else
        put_blob(w, '$', NULL, 0, d, n);
}

void runnel_resp_verbatim(runnel_resp_writer_t *w, const char *fmt3, const void *p, size_t n)
{
    if (w->proto != 3) {
        put_blob(w, '$', NULL, 0, p, n);
        return;
    }
    char prefix[4] = { 't', 'x', 't', ':' };
    if (fmt3 != NULL) {
        /* Exactly three bytes, as RESP3 requires; a short name is padded. */
        for (size_t i = 0; i < 3 && fmt3[i] != '\0'; i++)
            prefix[i] = fmt3[i];
    }
    put_blob(w, '=', prefix, 4, p, n);
}

void runnel_resp_raw(runnel_resp_writer_t *w, const void *p, size_t n)
{
    uint8_t *d = reserve(w, n);
    if (d && n)
        memcpy(d, p, n);
}

/* ---- deferred aggregates ---- */

/* Width of the reserved header: '*' or '%', digits, CRLF. */
static size_t defer_width(const runnel_resp_writer_t *w)
{
    return 1 + u64_digits((uint64_t)w->cap) + 2;
}

size_t runnel_resp_defer(runnel_resp_writer_t *w)
{
    size_t mark = w->len;
    uint8_t *p = reserve(w, defer_width(w));
    if (p)
        memset(p, ' ', defer_width(w)); /* never sent: closed or overflowed */
    return mark;
}

static size_t defer_close(runnel_resp_writer_t *w, size_t mark, char c, uint64_t n)
{
    size_t res = defer_width(w);
    if (w->overflow)
        return 0;
    if (mark > w->len || w->len - mark < res) {
        w->overflow = true; /* a mark that was never reserved: refuse */
        return 0;
    }
    char h[24];
    size_t hl = header(h, c, n);
    if (hl > res) {
        /* More elements than bytes: impossible for a real reply. */
        w->overflow = true;
        return 0;
    }
    size_t body = w->len - mark - res;
    if (hl != res)
        memmove(w->buf + mark + hl, w->buf + mark + res, body);
    memcpy(w->buf + mark, h, hl);
    w->len -= res - hl;
    return res - hl;
}

size_t runnel_resp_defer_array(runnel_resp_writer_t *w, size_t mark, size_t n)
{
    return defer_close(w, mark, '*', n);
}

size_t runnel_resp_defer_map(runnel_resp_writer_t *w, size_t mark, size_t pairs)
{
    if (w->proto == 3)
        return defer_close(w, mark, '%', pairs);
    return defer_close(w, mark, '*', 2 * (uint64_t)pairs);
}

/* ---- stream entries ---- */

static size_t bulk_size(size_t n)
{
    return 1 + u64_digits(n) + 2 + n + 2;
}

size_t runnel_resp_entry_size(uint8_t proto, const runnel_entry_t *e)
{
    char idt[RUNNEL_ID_STRLEN], fvh[24];
    size_t nfv = e->deleted ? 0 : 2 * (size_t)e->nfields;
    size_t total = 4 + bulk_size(id_text(e->id, idt));

    if (e->deleted)
        return total + (proto == 3 ? 3 : 5);
    total += header(fvh, '*', nfv);
    for (size_t i = 0; i < nfv; i++) {
        size_t s = bulk_size(e->fv[i].len);
        if (s < e->fv[i].len || total > SIZE_MAX - s)
            return SIZE_MAX;
        total += s;
    }
    return total;
}

/* Copies what of segment [at, at + n) of an entry's reply lies in
 * [*from, end) to buf + (at - start), from RAM (s) or, for a string of a
 * partial entry, from the store (string i). */
struct part {
    const runnel_entry_t *e;
    uint64_t from, end, at;
    uint8_t *buf;
    int err;
};

static void part_seg(struct part *pt, const void *s, uint32_t i, uint64_t n)
{
    uint64_t lo = pt->at > pt->from ? pt->at : pt->from;
    uint64_t hi = pt->at + n < pt->end ? pt->at + n : pt->end;

    if (lo < hi && pt->err == 0) {
        uint8_t *dst = pt->buf + (lo - pt->from);
        if (s != NULL)
            memcpy(dst, (const uint8_t *)s + (lo - pt->at), (size_t)(hi - lo));
        else if (pt->e->read == NULL)
            pt->err = RUNNEL_ERR_INVAL;
        else
            pt->err = pt->e->read(pt->e, i, lo - pt->at, dst, (size_t)(hi - lo));
    }
    pt->at += n;
}

int64_t runnel_resp_entry_part(uint8_t proto, const runnel_entry_t *e, uint64_t from,
                               uint8_t *buf, size_t cap)
{
    char idt[RUNNEL_ID_STRLEN], h[24];
    size_t nfv = 2 * (size_t)e->nfields, hl;
    struct part pt;

    (void)proto;    /* the entry's shape is the same in RESP2 and RESP3 */
    pt.e = e;
    pt.from = from;
    pt.end = from + cap;
    pt.at = 0;
    pt.buf = buf;
    pt.err = 0;
    part_seg(&pt, "*2\r\n", 0, 4);
    {
        size_t idn = id_text(e->id, idt);
        hl = header(h, '$', idn);
        part_seg(&pt, h, 0, hl);
        part_seg(&pt, idt, 0, idn);
        part_seg(&pt, "\r\n", 0, 2);
    }
    hl = header(h, '*', nfv);
    part_seg(&pt, h, 0, hl);
    for (size_t i = 0; i < nfv && pt.at < pt.end; i++) {
        hl = header(h, '$', e->fv[i].len);
        part_seg(&pt, h, 0, hl);
        part_seg(&pt, e->fv[i].len == 0 ? "" : e->fv[i].p, (uint32_t)i, e->fv[i].len);
        part_seg(&pt, "\r\n", 0, 2);
    }
    if (pt.err < 0)
        return pt.err;
    if (pt.at <= from)
        return 0;
    return (int64_t)((pt.at < pt.end ? pt.at : pt.end) - from);
}

/*
 * One entry is written all at once: its exact size is summed first, so an
 * entry that does not fit leaves nothing behind (a half entry would make
 * the whole reply unparsable even before the host drops the client).
 */
void runnel_resp_entry(runnel_resp_writer_t *w, const runnel_entry_t *e)
{
    char idt[RUNNEL_ID_STRLEN];
    size_t idn = id_text(e->id, idt);
    size_t nfv = e->deleted ? 0 : 2 * (size_t)e->nfields;
    size_t total;
    char fvh[24];
    size_t fvhl = 0;

    if (w->overflow)
        return;
    total = runnel_resp_entry_size(w->proto, e);
    if (total == SIZE_MAX || total > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    put_small(w, "*2\r\n", 4);
    put_blob(w, '$', NULL, 0, idt, idn);
    if (e->deleted) {
        runnel_resp_null_array(w);
        return;
    }
    fvhl = header(fvh, '*', nfv);
    put_small(w, fvh, fvhl);
    for (size_t i = 0; i < nfv; i++)
        runnel_resp_bulk_value(w, e, (uint32_t)i);
}
