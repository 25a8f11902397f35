/*
 * stream_add.c - XADD: ID generation, the checks in Redis's order, the
 * entry record, and placing the entry in the stream's tail node or a new
 * one by Redis's node-full rule. An entry whose field names equal those of
 * its node's first entry is written without them (ENTRY_SAME_FIELDS, as
 * Redis's listpack "same fields" flag): telemetry repeats one schema.
 *
 * Every entry after a node's first links back to entries i - 2^k of its
 * node (node.c explains how readers use them). XADD knows those positions
 * without reading flash: per stream it keeps, for the tail node, the
 * newest position at each link level, and the master's field names in a
 * small RAM cache, so a gateway writing a thousand streams in turn appends
 * from RAM alone. Both caches are rebuilt from flash only when the tail
 * node changes under them (XDEL of the newest node makes the previous node
 * the tail again).
 *
 * Shape of every mutation here: check everything that can fail (including
 * pools) -> append the record(s) -> apply to RAM. The append is the commit
 * point; if it fails (NOSPC under the REFUSE policy, I/O) RAM is untouched.
 */
#include <string.h>

#include "store.h"

/* Redis's STREAM_LISTPACK_MAX_SIZE: the cap for fields and node bytes. */
#define LISTPACK_MAX_SIZE (1u << 30)

static uint32_t fields_hash(const runnel_str_t *fv, uint32_t nfields)
{
    uint8_t b[4];
    uint32_t h, i;

    runnel__put_le32(b, nfields);
    h = runnel__crc32c(0, b, 4);
    for (i = 0; i < nfields; i++) {
        runnel__put_le32(b, (uint32_t)fv[2u * i].len);
        h = runnel__crc32c(h, b, 4);
        h = runnel__crc32c(h, fv[2u * i].p, fv[2u * i].len);
    }
    return h;
}

/* Listpack bytes Redis adds for this entry in a node with master ID
 * `master` (reference section 2). same = same field names as the master. */
static uint32_t lp_entry_bytes(const runnel_xadd_args_t *a, runnel_id_t id,
                               runnel_id_t master, bool same)
{
    uint32_t b = 0, i;

    b += runnel__lp_int_size(same ? 2 : 0);                       /* flags */
    b += runnel__lp_int_size((int64_t)(id.ms - master.ms));
    b += runnel__lp_int_size((int64_t)(id.seq - master.seq));
    if (!same)
        b += runnel__lp_int_size(a->nfields);
    for (i = 0; i < a->nfields; i++) {
        if (!same)
            b += runnel__lp_str_size(a->fv[2u * i].p, a->fv[2u * i].len);
        b += runnel__lp_str_size(a->fv[2u * i + 1u].p, a->fv[2u * i + 1u].len);
    }
    b += runnel__lp_int_size(same ? (int64_t)a->nfields + 3 : 2 * (int64_t)a->nfields + 4);
    return b;
}

static uint32_t lp_master_bytes(const runnel_xadd_args_t *a)
{
    uint32_t b = runnel__lp_int_size(a->nfields) + runnel__lp_int_size(0), i;

    for (i = 0; i < a->nfields; i++)
        b += runnel__lp_str_size(a->fv[2u * i].p, a->fv[2u * i].len);
    return b;
}

/* Redis's rule for starting a new node, plus our bitmap capacity. */
static bool node_full(const runnel_t *r, const struct runnel__node *n, uint64_t totelelen)
{
    uint64_t max_bytes = r->node_max_bytes;

    if (max_bytes == 0 || max_bytes > LISTPACK_MAX_SIZE)
        max_bytes = LISTPACK_MAX_SIZE;
    if (n->count >= r->cfg.node_entries_cap || n->first_size == 0)
        return true;    /* full, or a spanning entry's own node (below) */
    if ((uint64_t)runnel__node_lp_bytes(n) + totelelen >= max_bytes)
        return true;
    return r->node_max_entries != 0 && n->count >= r->node_max_entries;
}

/* The three forms of an entry record (FORMAT.md, "Entries"). */
enum entry_form {
    FORM_NODE_START,    /* 0x10: a node's first entry: absolute ID, fields and values */
    FORM_ENTRY,         /* 0x11: ID relative to the master, links, fields and values */
    FORM_SAME_FIELDS    /* 0x19: as 0x11 with values only */
};

/* A linked entry whose ID starts a new millisecond has seq 0, which its
 * record type says instead of a byte (0x1B, 0x1C): telemetry written at
 * most once per millisecond saves a byte an entry. */
static bool seq_implied(runnel_id_t id, runnel_id_t master)
{
    return id.ms != master.ms && id.seq == 0;
}

static uint8_t form_type(enum entry_form form, runnel_id_t id, runnel_id_t master)
{
    if (form == FORM_NODE_START)
        return RUNNEL_REC_ENTRY_NODE_START;
    if (form == FORM_ENTRY)
        return seq_implied(id, master) ? RUNNEL_REC_ENTRY_SEQ0 : RUNNEL_REC_ENTRY;
    return seq_implied(id, master) ? RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0
                                   : RUNNEL_REC_ENTRY_SAME_FIELDS;
}

/* Where entry `idx` of the tail node links to: the positions of entries
 * idx - 2^k, k < n; `dist` is filled for a planned record position, with
 * the distances as the record stores them (runnel__link_code). */
struct entry_links {
    uint32_t idx, n;
    runnel_pos_t target[RUNNEL__LINKS_MAX];
    uint64_t dist[RUNNEL__LINKS_MAX];
};

static size_t put_varint(uint8_t *b, size_t n, uint64_t v)
{
    return b != NULL ? runnel__varint_put(b + n, v) : runnel__varint_len(v);
}

/* Encodes the entry record body into b, or only measures it (b NULL).
 * links is used by FORM_ENTRY and FORM_SAME_FIELDS only. */
static size_t encode_entry(uint8_t *b, uint32_t sidx, enum entry_form form, runnel_id_t id,
                           runnel_id_t master, const struct entry_links *l,
                           const runnel_xadd_args_t *a)
{
    size_t n = 0;
    uint32_t i;

    n += put_varint(b, n, sidx);
    if (form == FORM_NODE_START) {
        n += put_varint(b, n, id.ms);
        n += put_varint(b, n, id.seq);
    } else {
        n += put_varint(b, n, runnel__zigzag(id.ms, master.ms));
        if (!seq_implied(id, master))
            n += put_varint(b, n, id.ms == master.ms ? runnel__zigzag(id.seq, master.seq) : id.seq);
        for (i = 0; i < l->n; i++)
            n += put_varint(b, n, l->dist[i]);
    }
    if (form != FORM_SAME_FIELDS)
        n += put_varint(b, n, a->nfields);
    for (i = 0; i < 2u * a->nfields; i++) {
        if (form == FORM_SAME_FIELDS && (i & 1u) == 0)
            continue;   /* the field names are the master's */
        n += put_varint(b, n, a->fv[i].len);
        if (b != NULL && a->fv[i].len != 0)
            memcpy(b + n, a->fv[i].p, a->fv[i].len);
        n += a->fv[i].len;
    }
    return n;
}

/*
 * The body of a node-start record larger than a block, handed to the log
 * piece by piece (log_span.c) straight from the caller's strings: the
 * prefix (slot, ID, nfields) from a small buffer, then each string's
 * length varint and bytes. A cursor remembers the element it is in, and
 * the log's mark (a call with n == 0 at a piece's start) lets it go back
 * to where a piece began without walking the fields from the start.
 */
struct entry_src {
    const runnel_xadd_args_t *a;
    uint8_t pre[4u * RUNNEL_VARINT_MAX];
    uint32_t pre_len;
    uint32_t el;                /* element of the cursor: 0 prefix, then
                                   two per string (length, bytes) */
    uint64_t el_off;            /* where that element starts */
    uint32_t mark_el;
    uint64_t mark_off;
};

static uint64_t src_el_len(const struct entry_src *c, uint32_t el, uint8_t *vb)
{
    size_t len;

    if (el == 0)
        return c->pre_len;
    len = c->a->fv[(el - 1u) / 2u].len;
    if ((el & 1u) != 0)
        return vb != NULL ? runnel__varint_put(vb, len) : runnel__varint_len(len);
    return len;
}

static int entry_src_read(void *ctx, uint64_t off, uint8_t *dst, uint32_t n)
{
    struct entry_src *c = ctx;
    uint32_t els = 1u + 4u * c->a->nfields;

    if (off < c->el_off) {
        c->el = off >= c->mark_off ? c->mark_el : 0;
        c->el_off = off >= c->mark_off ? c->mark_off : 0;
    }
    while (c->el < els && off >= c->el_off + src_el_len(c, c->el, NULL)) {
        c->el_off += src_el_len(c, c->el, NULL);
        c->el++;
    }
    if (n == 0) {
        c->mark_el = c->el;
        c->mark_off = c->el_off;
        return 0;
    }
    while (n > 0) {
        uint8_t vb[RUNNEL_VARINT_MAX];
        uint64_t len, in;
        const uint8_t *from;
        uint32_t take;

        if (c->el >= els)
            return RUNNEL_ERR_INVAL;    /* cannot happen: the log asks for total bytes */
        len = src_el_len(c, c->el, vb);
        in = off - c->el_off;
        if (c->el == 0)
            from = c->pre;
        else if ((c->el & 1u) != 0)
            from = vb;
        else
            from = (const uint8_t *)c->a->fv[(c->el - 1u) / 2u].p;
        take = len - in < n ? (uint32_t)(len - in) : n;
        memcpy(dst, from + in, take);
        dst += take;
        off += take;
        n -= take;
        if (off == c->el_off + len) {
            c->el_off += len;
            c->el++;
        }
    }
    return 0;
}

/* Appends a node-start entry too large for one block as a spanning record. */
static int append_span(runnel_t *r, uint32_t sidx, runnel_id_t id, const runnel_xadd_args_t *a,
                       uint64_t total, runnel_pos_t *pos)
{
    struct entry_src c;

    memset(&c, 0, sizeof c);
    c.a = a;
    c.pre_len = (uint32_t)runnel__varint_put(c.pre, sidx);
    c.pre_len += (uint32_t)runnel__varint_put(c.pre + c.pre_len, id.ms);
    c.pre_len += (uint32_t)runnel__varint_put(c.pre + c.pre_len, id.seq);
    c.pre_len += (uint32_t)runnel__varint_put(c.pre + c.pre_len, a->nfields);
    return runnel__append_span(r, RUNNEL_REC_ENTRY_NODE_START, total, entry_src_read, &c, pos);
}

static runnel_pos_t *stream_links(runnel_t *r, uint32_t sidx)
{
    return r->tail_links + (size_t)sidx * r->link_levels;
}

/* Makes the stream's link cache describe its tail node. Normally it does
 * already (XADD keeps it); after the tail changed under it, the positions
 * of entries ((count-1) >> k) << k are found in the log, a few reads. */
static int links_sync(runnel_t *r, uint32_t sidx, uint32_t tail)
{
    struct runnel__stream *s = &r->streams[sidx];
    const struct runnel__node *n = &r->nodes[tail];
    runnel_pos_t *lk = stream_links(r, sidx);
    uint32_t k;

    if (s->links_first == n->first_pos && s->links_count == n->count)
        return 0;
    for (k = 0; k < r->link_levels; k++) {
        uint32_t j = ((n->count - 1u) >> k) << k;
        runnel_id_t ignored;
        int err = runnel__node_id(r, tail, j, &ignored);
        if (err < 0)
            return err;
        lk[k] = r->scan[j].pos;
    }
    s->links_first = n->first_pos;
    s->links_count = n->count;
    return 0;
}

/* After an append of entry idx at pos (idx 0: a new node). */
static void links_advance(runnel_t *r, uint32_t sidx, uint32_t idx, runnel_pos_t pos,
                          runnel_pos_t first_pos)
{
    struct runnel__stream *s = &r->streams[sidx];
    runnel_pos_t *lk = stream_links(r, sidx);
    uint32_t k, n = idx == 0 ? r->link_levels : runnel__node_links(idx);

    for (k = 0; k < n && k < r->link_levels; k++)
        lk[k] = pos;
    s->links_first = first_pos;
    s->links_count = idx + 1u;
}

/* Plans the entry as record body of the tail node's next entry: its links
 * depend on the position the record will get, and that on the body's
 * length (a record that does not fit the current block starts the next),
 * and the length on the links' varints, so it is settled in rounds. A
 * link is coded against the distance the node's spacing predicts
 * (runnel__link_code), so a record moved into the next block can come out
 * shorter, short enough to fit where it did not: then *seal says the
 * record must open the next block anyway (the log's seal), where its
 * links were planned. *at receives the position the plan assumes; the
 * caller checks the append landed there. Returns the body length. */
static size_t plan_entry(runnel_t *r, uint32_t tail, enum entry_form form, runnel_id_t id,
                         const runnel_xadd_args_t *a, struct entry_links *l, runnel_pos_t *at,
                         bool *seal)
{
    const struct runnel__node *n = &r->nodes[tail];
    runnel_pos_t p = r->log.head, q;
    size_t len = 0;
    uint32_t k;
    int round;

    *seal = false;
    for (round = 0; round < 4; round++) {
        for (k = 0; k < l->n; k++)
            l->dist[k] = runnel__link_code(p - l->target[k], p - l->target[0], p - n->first_pos,
                                           l->idx, k);
        len = encode_entry(NULL, n->sidx, form, id, n->first, l, a);
        if (len > UINT32_MAX)
            break;
        q = runnel__log_place(&r->log, (uint32_t)len);
        if (q < p && !r->log.seal && !r->log.fence_pending) {
            *seal = true;       /* fits behind p only as planned for p */
            q = runnel__log_place_sealed(&r->log, (uint32_t)len);
        }
        if (q == p || round == 3)
            break;
        p = q;
    }
    /* Where the links were coded for. A plan that did not settle - a
     * record of about a block, whose links make it one byte too long for
     * the next block's start but short enough for it when coded for the
     * block after (the power-cut rig's seed 718681) - lands elsewhere:
     * runnel__append_at refuses it (AGAIN) and it starts a node. *at was
     * the last place tried, and the record went there with links coded
     * for another: its node read CORRUPT. */
    *at = p;
    return len;
}

/* A forward reader over one record body: either in the log, read a small
 * window at a time (so the master's field names can be compared without
 * reading its values or copying the whole body anywhere), or already in
 * RAM (the window is then the whole body and never refills). */
typedef struct body_cursor {
    runnel_log_t *log;
    runnel__rec_t rec;          /* rec.len is the body length in both cases */
    uint32_t off;               /* body offset of the next byte to consume */
    uint32_t win_off;           /* body offset of win[0] */
    uint32_t win_len;
    const uint8_t *win;
    uint8_t buf[64];
} body_cursor_t;

static bool cursor_fill(body_cursor_t *c)
{
    uint32_t n = c->rec.len - c->off;

    if (n > sizeof(c->buf))
        n = sizeof(c->buf);
    c->win = c->buf;
    c->win_off = c->off;
    c->win_len = n;
    return runnel__log_read(c->log, &c->rec, c->off, c->buf, n) == 0;
}

static bool cursor_varint(body_cursor_t *c, uint64_t *v)
{
    uint32_t end = c->win_off + c->win_len;
    int k;

    if (c->off > end || (end - c->off < RUNNEL_VARINT_MAX && end < c->rec.len)) {
        if (c->off >= c->rec.len || !cursor_fill(c))
            return false;
        end = c->win_off + c->win_len;
    }
    k = runnel__varint_get(c->win + (c->off - c->win_off), end - c->off, v);
    if (k <= 0)
        return false;
    c->off += (uint32_t)k;
    return true;
}

static bool cursor_equal(body_cursor_t *c, const char *p, size_t n)
{
    while (n > 0) {
        uint32_t end = c->win_off + c->win_len, m;

        if (c->off >= end) {
            if (c->off >= c->rec.len || !cursor_fill(c))
                return false;
            end = c->win_off + c->win_len;
        }
        m = end - c->off;
        if (m > n)
            m = (uint32_t)n;
        if (memcmp(c->win + (c->off - c->win_off), p, m) != 0)
            return false;
        c->off += m;
        p += m;
        n -= m;
    }
    return true;
}

static bool cursor_skip(body_cursor_t *c, uint64_t n)
{
    if (n > c->rec.len - c->off)
        return false;
    c->off += (uint32_t)n;
    return true;
}

/* master_same_fields against r->master, which node.c has parsed and
 * validated (every string lies inside master_len): no bounds to re-check
 * beyond what varint_get does, no log access. */
static bool cached_master_same_fields(const runnel_t *r, const runnel_xadd_args_t *a)
{
    const uint8_t *b = r->master;
    size_t off = r->master_fv_off, n = r->master_len;
    uint64_t len;
    uint32_t i;
    int k;

    if (r->master_nfields != a->nfields)
        return false;
    for (i = 0; i < a->nfields; i++) {
        const runnel_str_t *f = &a->fv[2u * i];

        k = runnel__varint_get(b + off, n - off, &len);
        if (k <= 0 || len != f->len)
            return false;
        off += (size_t)k;
        if (len != 0 && memcmp(b + off, f->p, f->len) != 0)
            return false;
        off += (size_t)len;
        k = runnel__varint_get(b + off, n - off, &len);     /* its value */
        if (k <= 0)
            return false;
        off += (size_t)k + (size_t)len;
    }
    return true;
}

/*
 * Does the entry have exactly the field names of node nslot's master (its
 * first record): same count, same order, same bytes? Only then may it be
 * written as ENTRY_SAME_FIELDS, whose reader takes the names from the
 * master. The caller has already matched fields_hash, which rules out
 * almost every mismatch for free; but a hash can collide, and a collision
 * trusted here would silently give an entry another entry's field names,
 * so the names are compared byte for byte: against r->master when it holds
 * this master (XADD keeps the master of the node it last started there,
 * so a stream written alone never reads the log here), else against the
 * log.
 *
 * The bytes are read without checking the master's CRC (that would read
 * the whole body, values included). That is safe: if the master is
 * corrupted, the comparison can only fail - a missed elision, the entry is
 * then written in full - or succeed against names that differ from what
 * was once written; in the latter case every later read of the master
 * checks its CRC and fails with CORRUPT anyway, so no reader ever sees
 * names the master does not hold intact. Any read error also just means
 * "not the same".
 */
static bool master_same_fields(runnel_t *r, uint32_t nslot, const runnel_xadd_args_t *a)
{
    const struct runnel__node *n = &r->nodes[nslot];
    body_cursor_t c;
    uint64_t v, len;
    uint32_t i;

    if (r->master_valid && r->master_pos == n->first_pos)
        return cached_master_same_fields(r, a);
    if (runnel__log_header(&r->log, n->first_pos, &c.rec) < 0)
        return false;
    if (!runnel__is_master_type(c.rec.type))
        return false;
    c.log = &r->log;
    c.off = c.win_off = c.win_len = 0;
    c.win = c.buf;
    if (!cursor_varint(&c, &v) || v != n->sidx)       /* slot */
        return false;
    if (!cursor_varint(&c, &v) || !cursor_varint(&c, &v))   /* ID */
        return false;
    if (!cursor_varint(&c, &v) || v != a->nfields)
        return false;
    for (i = 0; i < a->nfields; i++) {
        const runnel_str_t *f = &a->fv[2u * i];

        if (!cursor_varint(&c, &len) || len != f->len || !cursor_equal(&c, f->p, f->len))
            return false;
        if (!cursor_varint(&c, &len) || !cursor_skip(&c, len))     /* its value */
            return false;
    }
    return c.off == c.rec.len;
}

/* The master's field names as `len:varint bytes` strings, as the names
 * cache holds them; 0 when they do not fit in cap bytes. */
static uint32_t names_encode(uint8_t *b, uint32_t cap, const runnel_xadd_args_t *a)
{
    size_t n = 0;
    uint32_t i;

    for (i = 0; i < a->nfields; i++) {
        const runnel_str_t *f = &a->fv[2u * i];
        if (runnel__varint_len(f->len) + f->len > cap - n)
            return 0;
        n += runnel__varint_put(b + n, f->len);
        if (f->len != 0)
            memcpy(b + n, f->p, f->len);
        n += f->len;
    }
    return (uint32_t)n;
}

/* Same field names as the tail node's master? From the stream's names
 * cache when it holds this master (no flash read), else as
 * master_same_fields decides. */
static bool tail_same_fields(runnel_t *r, uint32_t sidx, uint32_t tail,
                             const runnel_xadd_args_t *a)
{
    const struct runnel__stream *s = &r->streams[sidx];
    const uint8_t *names = r->tail_names + (size_t)sidx * r->names_cap;
    size_t off = 0;
    uint32_t i;

    if (s->names_first != r->nodes[tail].first_pos || s->names_len == 0)
        return master_same_fields(r, tail, a);
    if (s->names_nfields != a->nfields)
        return false;
    for (i = 0; i < a->nfields; i++) {
        const runnel_str_t *f = &a->fv[2u * i];
        uint64_t len;
        int k = runnel__varint_get(names + off, s->names_len - off, &len);

        if (k <= 0 || len != f->len)
            return false;
        off += (size_t)k;
        if (len != 0 && memcmp(names + off, f->p, f->len) != 0)
            return false;
        off += (size_t)len;
    }
    return true;
}

static void names_adopt(runnel_t *r, uint32_t sidx, runnel_pos_t first_pos,
                        const runnel_xadd_args_t *a)
{
    struct runnel__stream *s = &r->streams[sidx];

    s->names_first = first_pos;
    s->names_nfields = a->nfields;
    s->names_len = names_encode(r->tail_names + (size_t)sidx * r->names_cap, r->names_cap, a);
}

/* Generates the ID as Redis does (section 1). *id in, *id out. */
static int next_id(runnel_t *r, const struct runnel__stream *s, const runnel_xadd_args_t *a,
                   runnel_id_t *out)
{
    runnel_id_t last = s->last_id, id;
    bool ovf;

    if (last.ms == UINT64_MAX && last.seq == UINT64_MAX)
        return RUNNEL_ERR_ID_EXHAUSTED;
    switch (a->id_mode) {
    case RUNNEL_XADD_AUTO: {
        uint64_t now = runnel__now(r);
        if (now > last.ms) {
            id.ms = now;
            id.seq = 0;
        } else {
            id = runnel__id_incr(last, &ovf);
        }
        break;
    }
    case RUNNEL_XADD_SEQ_AUTO:
        if (a->id.ms == last.ms) {
            /* 7.0.15 replies "Elements are too large" here (stale errno). */
            if (last.seq == UINT64_MAX)
                return RUNNEL_ERR_ELEMENTS_TOO_LARGE;
            id.ms = last.ms;
            id.seq = last.seq + 1u;
        } else {
            id.ms = a->id.ms;
            id.seq = 0;
        }
        break;
    case RUNNEL_XADD_EXPLICIT:
        id = a->id;
        break;
    default:
        return RUNNEL_ERR_INVAL;
    }
    if (runnel_id_cmp(id, last) <= 0)
        return RUNNEL_ERR_XADD_ID_SMALL;
    *out = id;
    return 0;
}

/* Appends the entry record; on success *pos, and *new_node when the entry
 * starts a node after all (the tail it was meant for was dropped by the
 * full-ring policy inside the append, or the record did not land where
 * its links were planned for). */
static int append_entry(runnel_t *r, uint32_t sidx, uint32_t tail, enum entry_form *form,
                        runnel_id_t id, const runnel_xadd_args_t *a, struct entry_links *l,
                        runnel_pos_t *pos, size_t *body_len, bool *new_node)
{
    runnel_pos_t at = 0, planned_first = 0, head;
    bool seal = false, was_sealed;
    size_t len;
    int err;

    if (*form == FORM_NODE_START) {
        len = encode_entry(NULL, sidx, *form, id, id, NULL, a);
        if (len > runnel__log_max_body(&r->log)) {
            /* larger than a block: its own node, across blocks */
            err = append_span(r, sidx, id, a, len, pos);
            *body_len = len;
            return err;
        }
        len = encode_entry(r->scratch, sidx, *form, id, id, NULL, a);
    } else {
        len = plan_entry(r, tail, *form, id, a, l, &at, &seal);
        (void)encode_entry(r->scratch, sidx, *form, id, r->nodes[tail].first, l, a);
        planned_first = r->nodes[tail].first_pos;
        /* Its links lead to the node's records where they are now: a
         * relocation ahead of this append must leave the node there. If
         * it moved the node anyway, a replay could take the record for
         * the moved node's (its link 0 may land on the copy) while this
         * run writes the entry again as a node start. */
        r->appending_to = tail;
    }
    head = r->log.head;
    was_sealed = r->log.seal;
    if (seal)
        r->log.seal = true;
    if (*form == FORM_NODE_START)
        err = runnel__append(r, form_type(*form, id, id), r->scratch, len, pos);
    else
        err = runnel__append_at(r, form_type(*form, id, r->nodes[tail].first), r->scratch, len,
                                at, pos);
    r->appending_to = RUNNEL__NONE;
    if (err < 0 && seal && !was_sealed && r->log.head == head)
        r->log.seal = false;    /* not appended: the log's seal as it was */
    if (err == RUNNEL_ERR_AGAIN) {
        /* The hooks before the append (a checkpoint, RELOCATE's copies of
         * other nodes) moved the head, so the links planned for `at`
         * would be wrong where the record goes. Written where it lands,
         * with wrong links, it would be an orphan that a replay could not
         * always tell from the node's next entry: its link 0 is coded
         * against the node's spacing and can decode to the node's last
         * record (for entry 1 it always does). So it starts a node, which
         * needs no links (the size check covered this form). */
        *new_node = true;
        *form = FORM_NODE_START;
        len = encode_entry(r->scratch, sidx, *form, id, id, NULL, a);
        err = runnel__append(r, form_type(*form, id, id), r->scratch, len, pos);
        *body_len = len;
        return err;
    }
    if (err < 0)
        return err;
    if (seal && *pos == at)
        r->link_seals++;
    if (*form != FORM_NODE_START &&
        (r->nodes[tail].sidx != sidx || r->streams[sidx].tail_node != tail || *pos != at ||
         r->nodes[tail].first_pos != planned_first)) {
        /* The append reclaimed a block and the full-ring policy dropped the
         * very node the record was written for (a replay drops it too, so
         * no tail node can take the record for its own; the record not
         * landing where its links were planned, and RELOCATE moving the
         * node, cannot happen here: runnel__append_at refuses both before
         * appending). The entry starts a node after all, and a
         * node starts with a node-start record, so it is written again as
         * one; the orphan before it belongs to no node, and no link or
         * descriptor leads to it. The size check covered this form. */
        *new_node = true;
        *form = FORM_NODE_START;
        len = encode_entry(r->scratch, sidx, *form, id, id, NULL, a);
        err = runnel__append(r, form_type(*form, id, id), r->scratch, len, pos);
        if (err < 0)
            return err;
    }
    *body_len = len;
    return 0;
}

/* Starts node nslot for the entry just written at pos. */
static void node_start(runnel_t *r, uint32_t sidx, runnel_id_t id, runnel_pos_t pos,
                       size_t body_len, uint32_t hash, const runnel_xadd_args_t *a)
{
    uint32_t twin, nslot;
    struct runnel__node *n;

    /* An empty node under the same master ID is replaced, as Redis's rax
     * insert replaces it (runnel__node_twin says why it is empty). No stub
     * holds it: the XADD loaded it before its append. */
    if (runnel__node_twin(r, sidx, id, &twin) == 0 && twin != RUNNEL__NONE &&
        r->nodes[twin].live == 0)
        (void)runnel__node_drop(r, twin);
    nslot = runnel__node_alloc(r);     /* checked by the caller */
    n = &r->nodes[nslot];
    n->sidx = sidx;
    n->first = id;
    n->first_pos = pos;
    /* 0 for a spanning entry: nothing reads it in one call, and it is the
     * mark of a node that holds only that entry (node_full; Redis too
     * starts a node after an entry larger than stream-node-max-bytes) */
    n->first_size = runnel__span_body(r, body_len)
                        ? 0
                        : (uint32_t)(1u + runnel__varint_len(body_len) + 4u + body_len);
    n->fields_hash = n->first_size == 0 ? 0 : hash;
    n->lp_rest = lp_master_bytes(a) + lp_entry_bytes(a, id, id, true);
    n->last = id;
    n->last_pos = pos;
    n->count = 1;
    n->live = 1;
    runnel__node_insert(r, nslot);
    links_advance(r, sidx, 0, pos, pos);
    if (n->first_size != 0)
        names_adopt(r, sidx, pos, a);
}

/* The RAM side of an XADD whose record was written at pos: a node started
 * for it (tail NONE) or the tail node grown, the stream's counters, the
 * block's summary. */
static void added(runnel_t *r, uint32_t sidx, uint32_t tail, runnel_id_t id, runnel_pos_t pos,
                  size_t body_len, uint32_t hash, const runnel_xadd_args_t *a,
                  const struct entry_links *l)
{
    struct runnel__stream *w = &r->streams[sidx];
    struct runnel__node *n, before;

    if (tail == RUNNEL__NONE) {
        node_start(r, sidx, id, pos, body_len, hash, a);
        /* r->scratch still holds the record at pos: the new node's master
         * (unless it spans blocks: never in RAM whole) */
        if (!runnel__span_body(r, body_len))
            runnel__node_master_adopt(r, w->tail_node, r->scratch, (uint32_t)body_len,
                                      RUNNEL_REC_ENTRY_NODE_START);
    } else {
        n = &r->nodes[tail];
        before = *n;
        /* The listpack model keeps its own rule (the hash), as before. */
        n->lp_rest += lp_entry_bytes(a, id, n->first, n->fields_hash == hash);
        if (runnel_id_cmp(id, n->last) <= 0)
            n->unordered = true;    /* after an XSETID rewind (node.c) */
        n->last = id;
        n->last_pos = pos;
        n->count++;
        n->live++;
        links_advance(r, sidx, l->idx, pos, n->first_pos);
    }
    w->last_id = id;
    w->last_valid = id;
    w->length++;
    w->entries_added++;
    runnel__cursor_added(r, sidx, id);
    if (w->length == 1) {
        w->first_id = id;
        w->first_stale = false;
    }
    runnel__summary_entry(r, sidx, tail == RUNNEL__NONE, id,   /* the block's summary */
                          tail == RUNNEL__NONE ? NULL : &before);
}

static int xadd_locked(runnel_t *r, const runnel_xadd_args_t *a, runnel_id_t *out_id)
{
    static const struct runnel__stream empty_stream;
    const struct runnel__stream *s;
    struct entry_links l;
    uint32_t sidx = RUNNEL__NONE, tail, i, hash;
    uint64_t totelelen = 0, need;
    runnel_id_t id;
    runnel_pos_t pos;
    size_t body_len;
    bool create = false, new_node, sealed_plan;
    enum entry_form form = FORM_NODE_START;
    int err;

    if (a->id_mode == RUNNEL_XADD_EXPLICIT && a->id.ms == 0 && a->id.seq == 0)
        return RUNNEL_ERR_XADD_ID_ZERO;         /* before the key lookup */
    if (a->nfields > r->cfg.max_fields)
        return RUNNEL_ERR_TOO_MANY_FIELDS;
    for (i = 0; i < 2u * a->nfields; i++)
        if (a->fv[i].p == NULL && a->fv[i].len != 0)
            return RUNNEL_ERR_INVAL;

    if (runnel__lookup(r, a->key, &sidx) < 0) {
        if (a->nomkstream)
            return 0;
        if (a->key.len > r->cfg.name_max)
            return RUNNEL_ERR_NAME_TOO_LONG;
        if (r->streams_used >= r->streams_cap)
            return RUNNEL_ERR_POOL_STREAMS;
        create = true;
        s = &empty_stream;
    } else {
        s = &r->streams[sidx];
    }

    err = next_id(r, s, a, &id);
    if (err < 0)
        return err;
    for (i = 0; i < 2u * a->nfields; i++)
        totelelen += a->fv[i].len;
    if (totelelen > LISTPACK_MAX_SIZE)
        return RUNNEL_ERR_ELEMENTS_TOO_LARGE;
    /* The node-start form is what any entry may have to be written as (see
     * append_entry), so it must fit whatever form is planned; a 0x11 with
     * links is checked once planned, below. */
    need = encode_entry(NULL, create ? r->streams_cap : sidx, FORM_NODE_START, id, id, NULL, a);
    if ((r->cfg.max_entry_bytes != 0 && totelelen > r->cfg.max_entry_bytes) ||
        (runnel__span_body(r, need) && need > runnel__log_span_max(&r->log)))
        return RUNNEL_ERR_ENTRY_TOO_LARGE;

    if (!create) {
        err = runnel__stub_tail(r, sidx);   /* a stub holding it: loaded */
        if (err < 0)
            return err;
    }
    tail = create ? RUNNEL__NONE : r->streams[sidx].tail_node;
    new_node = tail == RUNNEL__NONE || runnel__span_body(r, need) ||
               node_full(r, &r->nodes[tail], totelelen);
    if (new_node && runnel__nodes_full(r))
        return RUNNEL_ERR_POOL_NODES;
    hash = fields_hash(a->fv, a->nfields);
    if (!new_node) {
        runnel_pos_t at;
        uint32_t k;

        /* A checkpoint the append may need goes first: it moves the head,
         * and the links below are planned for the position the entry gets. */
        runnel__prepare_append(r, encode_entry(NULL, sidx, FORM_NODE_START, id, id, NULL, a) +
                                      RUNNEL__LINKS_MAX * RUNNEL_VARINT_MAX);
        if (r->nodes[tail].sidx != sidx || r->streams[sidx].tail_node != tail)
            return RUNNEL_ERR_NOSPC;    /* cannot happen: a checkpoint drops nothing */
        err = links_sync(r, sidx, tail);
        if (err < 0)
            return err;
        l.idx = r->nodes[tail].count;
        l.n = runnel__node_links(l.idx);
        for (k = 0; k < l.n; k++)
            l.target[k] = stream_links(r, sidx)[k];
        form = r->nodes[tail].fields_hash == hash && tail_same_fields(r, sidx, tail, a)
                   ? FORM_SAME_FIELDS : FORM_ENTRY;
        need = plan_entry(r, tail, FORM_ENTRY, id, a, &l, &at, &sealed_plan);
        if (need > runnel__log_max_body(&r->log) || need > r->scratch_cap) {
            /* its links do not fit the block: it starts a node, where it
             * needs none (a node start of this size fits, see above) */
            new_node = true;
            form = FORM_NODE_START;
            need = encode_entry(NULL, sidx, FORM_NODE_START, id, id, NULL, a);
        }
    }
    if (new_node && runnel__nodes_full(r))
        return RUNNEL_ERR_POOL_NODES;
    if (new_node && !create) {
        /* a stub holding a node with this master ID is loaded now, so
         * that node_start replaces it without reading after the append */
        uint32_t twin;
        err = runnel__node_twin(r, sidx, id, &twin);
        if (err < 0)
            return err;
    }

    if (create) {
        /* any checkpoint the two appends need goes before both, so that a
         * checkpoint never holds the stream without its first entry */
        runnel__prepare_append(r, need + 2u * (r->cfg.name_max + 2u * RUNNEL_VARINT_MAX));
        err = runnel__stream_alloc(r, r->db, a->key, &sidx);
        if (err < 0)
            return err;
        /* prepare_append wrote any checkpoint both records need; one
         * from here on (RELOCATE's turns, commit.c) would hold the stream
         * without its entry, which may then fail */
        r->creating = true;
        err = runnel__journal_create(r, sidx);
        if (err < 0) {
            r->creating = false;
            runnel__stream_free(r, sidx);
            return err;
        }
    }
    err = append_entry(r, sidx, tail, &form, id, a, &l, &pos, &body_len, &new_node);
    if (err < 0) {
        if (create) {
            /* Cancel the creation record (best effort: the ring may be full;
             * mount then forgets a creation no record follows). */
            uint8_t b[RUNNEL_VARINT_MAX];
            size_t bl = runnel__varint_put(b, sidx);
            (void)runnel__append(r, RUNNEL_REC_STREAM_DELETE, b, bl, NULL);
            runnel__stream_free(r, sidx);
        }
        r->creating = false;
        return err;
    }
    r->creating = false;

    if (new_node && runnel__nodes_full(r))
        return RUNNEL_ERR_POOL_NODES;   /* cannot happen: checked above */
    added(r, sidx, new_node ? RUNNEL__NONE : tail, id, pos, body_len, hash, a, &l);
    *out_id = id;

    if (a->trim.strategy != RUNNEL_TRIM_NONE) {
        uint64_t deleted;
        /* The entry is stored: a trim that cannot be journalled (ring full)
         * is skipped rather than failing the XADD. */
        (void)runnel__trim(r, sidx, &a->trim, &deleted);
    }
    err = runnel__after_mutation(r);
    if (create)
        runnel__notify(r, sidx, RUNNEL_EV_CREATED);
    runnel__notify(r, sidx, RUNNEL_EV_XADD);
    return err < 0 ? err : 1;
}

/* Reads `len:varint bytes` strings from body[*off ..] into fv[first],
 * fv[first + step], ... until max strings or the body's end. Returns the
 * number read, or -1 when a string runs past the body. */
static int64_t replay_strings(const uint8_t *body, uint32_t len, uint32_t *off, runnel_str_t *fv,
                              uint32_t first, uint32_t step, uint32_t max)
{
    uint32_t n = 0;

    while (*off < len && n < max) {
        uint64_t sl;
        int k = runnel__varint_get(body + *off, len - *off, &sl);

        if (k <= 0 || sl > len - *off - (uint32_t)k)
            return -1;
        *off += (uint32_t)k;
        fv[first + n * step].p = (const char *)(body + *off);
        fv[first + n * step].len = (size_t)sl;
        *off += (uint32_t)sl;
        n++;
    }
    return (int64_t)n;
}

/* `nfields` then every field and value from body[off ..] to its end, into
 * a->fv (r->fv) and a->nfields. 0 or CORRUPT. */
static int replay_fields(runnel_t *r, const uint8_t *body, uint32_t len, uint32_t off,
                         runnel_xadd_args_t *a)
{
    uint64_t v;
    int64_t got;
    int k = runnel__varint_get(body + off, len - off, &v);

    if (k <= 0 || v == 0 || v > r->cfg.max_fields)
        return RUNNEL_ERR_CORRUPT;
    off += (uint32_t)k;
    got = replay_strings(body, len, &off, r->fv, 0, 1, 2u * (uint32_t)v);
    if (got != (int64_t)(2u * v) || off != len)
        return RUNNEL_ERR_CORRUPT;
    a->nfields = (uint32_t)v;
    return 0;
}

/* Mount: the counters an entry record moves, as XADD moves them. */
static void replay_counted(runnel_t *r, uint32_t slot, runnel_id_t id)
{
    struct runnel__stream *w = &r->streams[slot];

    w->last_id = id;
    w->last_valid = id;
    w->length++;
    w->entries_added++;
    runnel__cursor_added(r, slot, id);
    if (w->length == 1) {
        w->first_id = id;
        w->first_stale = false;
    }
}

/*
 * Mount: the XADD an entry record was (FORMAT.md, "Entries"). A node start
 * starts a node as XADD did; any other entry record joins its stream's tail
 * node when its link 0 lands exactly on that node's last record - else it
 * is an orphan (its node was dropped while it was appended) and changes
 * nothing. The listpack model and the counters follow XADD's rules, from
 * the record's fields (a same-fields record's values are all the model
 * needs: the names are the master's, so their bytes are not counted again).
 */
int runnel__replay_entry(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    runnel_xadd_args_t a;
    struct runnel__stream *w;
    struct runnel__node *n;
    uint64_t slot;
    uint32_t off, tail, idx;
    runnel_id_t id;
    int64_t got;
    int k;

    memset(&a, 0, sizeof(a));
    a.fv = r->fv;
    k = runnel__varint_get(body, rec->len, &slot);
    if (k <= 0 || slot >= r->streams_cap || !r->streams[slot].used)
        return RUNNEL_ERR_CORRUPT;
    w = &r->streams[slot];
    if (rec->type == RUNNEL_REC_ENTRY_NODE_START) {
        uint32_t hash;

        off = (uint32_t)k;
        k = runnel__varint_get(body + off, rec->len - off, &id.ms);
        if (k > 0) {
            off += (uint32_t)k;
            k = runnel__varint_get(body + off, rec->len - off, &id.seq);
        }
        if (k <= 0)
            return RUNNEL_ERR_CORRUPT;
        off += (uint32_t)k;
        if (replay_fields(r, body, rec->len, off, &a) < 0 || runnel_id_cmp(id, w->last_id) <= 0)
            return RUNNEL_ERR_CORRUPT;   /* XADD never goes below its last ID */
        if (runnel__nodes_full(r))
            return RUNNEL_ERR_POOL_NODES;
        hash = fields_hash(a.fv, a.nfields);
        node_start(r, (uint32_t)slot, id, rec->pos, rec->len, hash, &a);
        runnel__node_master_adopt(r, w->tail_node, body, rec->len, rec->type);
    } else {
        uint64_t link0;
        bool same = rec->type == RUNNEL_REC_ENTRY_SAME_FIELDS ||
                    rec->type == RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0;
        uint32_t hash;
        int err = runnel__stub_tail(r, (uint32_t)slot);

        if (err < 0)
            return err;
        tail = w->tail_node;
        if (tail == RUNNEL__NONE)
            return 1;                   /* orphan: its node was dropped */
        n = &r->nodes[tail];
        idx = n->count;
        /* Link 0 is coded against the node's spacing (runnel__link_code),
         * so a record written for another place, decoded as this node's
         * next entry, could land on its last record by chance. Relocated
         * copies have types of their own (store.h) and never come here;
         * an orphan's node is gone (no tail); and an entry not above the
         * stream's last ID is no XADD's, whatever its link says. */
        if (idx >= r->cfg.node_entries_cap ||
            runnel__entry_prefix(r, tail, idx, rec, body, &id, &link0, &off) < 0 ||
            link0 != rec->pos - n->last_pos || runnel_id_cmp(id, w->last_id) <= 0)
            return 1;                   /* not this node's: an orphan (or a
                                           relocated copy, relocate.c) */
        if (same) {
            uint32_t i;
            got = replay_strings(body, rec->len, &off, r->fv, 1, 2, r->cfg.max_fields);
            if (got <= 0 || off != rec->len)
                return RUNNEL_ERR_CORRUPT;
            a.nfields = (uint32_t)got;
            for (i = 0; i < a.nfields; i++) {
                r->fv[2u * i].p = "";
                r->fv[2u * i].len = 0;
            }
            hash = n->fields_hash;
        } else {
            if (replay_fields(r, body, rec->len, off, &a) < 0)
                return RUNNEL_ERR_CORRUPT;
            hash = fields_hash(a.fv, a.nfields);
        }
        n->lp_rest += lp_entry_bytes(&a, id, n->first, n->fields_hash == hash);
        if (runnel_id_cmp(id, n->last) <= 0)
            n->unordered = true;
        n->last = id;
        n->last_pos = rec->pos;
        n->count++;
        n->live++;
        /* The link cache follows only if it described the node already
         * (else links_sync rebuilds it at the next XADD). */
        if (w->links_first == n->first_pos && w->links_count == idx)
            links_advance(r, (uint32_t)slot, idx, rec->pos, n->first_pos);
    }
    replay_counted(r, (uint32_t)slot, id);
    return 0;
}

int runnel__replay_span_start(runnel_t *r, runnel_pos_t pos, uint32_t slot, runnel_id_t id,
                              uint32_t nfields, uint32_t lp_names, uint32_t lp_values)
{
    struct runnel__stream *w = &r->streams[slot];
    runnel_xadd_args_t a;
    uint32_t nslot;

    if (runnel_id_cmp(id, w->last_id) <= 0)
        return RUNNEL_ERR_CORRUPT;      /* XADD never goes below its last ID */
    if (runnel__nodes_full(r))
        return RUNNEL_ERR_POOL_NODES;
    memset(&a, 0, sizeof a);
    node_start(r, slot, id, pos, runnel__log_max_body(&r->log) + 1u, 0, &a);
    /* node_start modelled no strings: lp_master_bytes + lp_entry_bytes of
     * the entry as XADD counts them, from the lengths the replay found */
    nslot = w->tail_node;
    r->nodes[nslot].lp_rest = runnel__lp_int_size(nfields) + runnel__lp_int_size(0) + lp_names +
                              runnel__lp_int_size(2) + 2u * runnel__lp_int_size(0) + lp_values +
                              runnel__lp_int_size((int64_t)nfields + 3);
    replay_counted(r, slot, id);
    return 0;
}

int runnel_xadd(runnel_t *r, const runnel_xadd_args_t *a, runnel_id_t *out_id)
{
    runnel_id_t ignored;
    int err;

    if (r == NULL || a == NULL || a->nfields == 0 || a->fv == NULL ||
        (a->key.p == NULL && a->key.len != 0))
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = xadd_locked(r, a, out_id != NULL ? out_id : &ignored);
    runnel__unlock(r);
    return err;
}
