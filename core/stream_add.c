/*
 * stream_add.c - XADD: ID generation, the checks in Redis's order, the
 * entry record, and placing the entry in the stream's tail node or a new
 * one by Redis's node-full rule. An entry whose field names equal those of
 * its node's first entry is written without them (ENTRY_SAME_FIELDS, as
 * Redis's listpack "same fields" flag): telemetry repeats one schema.
 * An entry appended to a tail node that a removed node's records follow in
 * the log, or whose ID is lower than the node's previous entry (XSETID moved
 * last_id below a deleted one), is an ENTRY_RESUME (node.c explains why and
 * how it is read).
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

/* The tail node of a stream, which takes the next entry unless it is full
 * (Redis appends to its last radix-tree node whatever IDs that node holds),
 * or RUNNEL__NONE. */
static uint32_t open_tail(const runnel_t *r, uint32_t sidx)
{
    return r->streams[sidx].tail_node;
}

/* Redis's rule for starting a new node, plus our bitmap capacity. */
static bool node_full(const runnel_t *r, const struct runnel__node *n, uint64_t totelelen)
{
    uint64_t max_bytes = r->node_max_bytes;

    if (max_bytes == 0 || max_bytes > LISTPACK_MAX_SIZE)
        max_bytes = LISTPACK_MAX_SIZE;
    if (n->count >= r->cfg.node_entries_cap)
        return true;
    if ((uint64_t)runnel__node_lp_bytes(n) + totelelen >= max_bytes)
        return true;
    return r->node_max_entries != 0 && n->count >= r->node_max_entries;
}

/* The four forms of an entry record (FORMAT.md, "Entries"). */
enum entry_form {
    FORM_NODE_START,    /* 0x10: absolute ID, fields and values */
    FORM_DELTA,         /* 0x11: ID delta, fields and values */
    FORM_SAME_FIELDS,   /* 0x19: ID delta, values only */
    FORM_RESUME         /* 0x1A: back distance, absolute ID, fields and values */
};

static uint8_t form_type(enum entry_form form)
{
    return form == FORM_NODE_START ? RUNNEL_REC_ENTRY_NODE_START
           : form == FORM_DELTA    ? RUNNEL_REC_ENTRY
           : form == FORM_RESUME   ? RUNNEL_REC_ENTRY_RESUME
                                   : RUNNEL_REC_ENTRY_SAME_FIELDS;
}

/* back is used by FORM_RESUME only. */
static size_t encode_entry(uint8_t *b, uint32_t sidx, enum entry_form form, runnel_id_t id,
                           runnel_id_t prev, uint64_t back, const runnel_xadd_args_t *a)
{
    size_t n = 0;
    uint32_t i;

    n += runnel__varint_put(b + n, sidx);
    if (form == FORM_RESUME)
        n += runnel__varint_put(b + n, back);
    if (form == FORM_NODE_START || form == FORM_RESUME) {
        n += runnel__varint_put(b + n, id.ms);
        n += runnel__varint_put(b + n, id.seq);
    } else if (id.ms == prev.ms) {
        n += runnel__varint_put(b + n, 0);
        n += runnel__varint_put(b + n, id.seq - prev.seq - 1u);
    } else {
        n += runnel__varint_put(b + n, id.ms - prev.ms);
        n += runnel__varint_put(b + n, id.seq);
    }
    if (form != FORM_SAME_FIELDS)
        n += runnel__varint_put(b + n, a->nfields);
    for (i = 0; i < 2u * a->nfields; i++) {
        if (form == FORM_SAME_FIELDS && (i & 1u) == 0)
            continue;   /* the field names are the master's */
        n += runnel__varint_put(b + n, a->fv[i].len);
        if (a->fv[i].len != 0)
            memcpy(b + n, a->fv[i].p, a->fv[i].len);
        n += a->fv[i].len;
    }
    return n;
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
    if (c.rec.type != RUNNEL_REC_ENTRY_NODE_START && c.rec.type != RUNNEL_REC_ENTRY &&
        c.rec.type != RUNNEL_REC_ENTRY_RESUME)
        return false;
    c.log = &r->log;
    c.off = c.win_off = c.win_len = 0;
    c.win = c.buf;
    if (!cursor_varint(&c, &v) || v != n->sidx)       /* slot */
        return false;
    if (c.rec.type == RUNNEL_REC_ENTRY_RESUME && !cursor_varint(&c, &v))   /* back */
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

/*
 * Encodes the entry as an ENTRY_RESUME of node n: its back distance is from
 * the position the record will get to n's last record. That position
 * depends on the record's length (a record that does not fit the current
 * block starts the next one), and the length on the distance's varint, so
 * it is settled in rounds: a longer body can only move the record into the
 * next block, never back, so the second round agrees with the third.
 * *at receives the position the encoding assumes; the caller checks it.
 */
static size_t encode_resume(runnel_t *r, const struct runnel__node *n, runnel_id_t id,
                            const runnel_xadd_args_t *a, runnel_pos_t *at)
{
    size_t len = encode_entry(r->scratch, n->sidx, FORM_RESUME, id, n->last, 0, a);
    int round;

    for (round = 0; round < 3; round++) {
        runnel_pos_t p = runnel__log_place(&r->log, (uint32_t)len);

        *at = p;
        len = encode_entry(r->scratch, n->sidx, FORM_RESUME, id, n->last, p - n->last_pos, a);
        if (runnel__log_place(&r->log, (uint32_t)len) == p)
            break;
    }
    return len;
}

static uint64_t encoded_size(uint32_t sidx, runnel_id_t id, const runnel_xadd_args_t *a)
{
    /* Worst case of the forms (full field names, the longest ID form and
     * a resume's back distance), so
     * the check does not depend on which node the entry lands in: an
     * elided entry may have to be written in full after all (xadd_locked). */
    uint64_t n = runnel__varint_len(sidx) + 3u * RUNNEL_VARINT_MAX +
                 runnel__varint_len(a->nfields);
    uint32_t i;

    (void)id;
    for (i = 0; i < 2u * a->nfields; i++)
        n += runnel__varint_len(a->fv[i].len) + a->fv[i].len;
    return n;
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

static int xadd_locked(runnel_t *r, const runnel_xadd_args_t *a, runnel_id_t *out_id)
{
    static const struct runnel__stream empty_stream;
    const struct runnel__stream *s;
    struct runnel__node *n;
    uint32_t sidx = RUNNEL__NONE, tail, nslot, i, hash;
    uint64_t totelelen = 0, need;
    runnel_id_t id, prev = RUNNEL_ID_MIN;
    runnel_pos_t pos, resume_at = 0;
    bool create = false, new_node, elide = false, resume = false;
    enum entry_form form;
    size_t body_len;
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
    need = encoded_size(create ? r->streams_cap : sidx, id, a);
    if (need > runnel__log_max_body(&r->log) || need > r->scratch_cap)
        return RUNNEL_ERR_ENTRY_TOO_LARGE;

    tail = create ? RUNNEL__NONE : open_tail(r, sidx);
    new_node = tail == RUNNEL__NONE || node_full(r, &r->nodes[tail], totelelen);
    if (new_node && r->nodes_used >= r->nodes_cap)
        return RUNNEL_ERR_POOL_NODES;
    hash = fields_hash(a->fv, a->nfields);
    if (!new_node) {
        prev = r->nodes[tail].last;
        /* A resume names its fields: it is what a reader meets after the
         * gap, and it can start a node if its own is dropped meanwhile. */
        resume = r->nodes[tail].behind;
        /* After XSETID moved last_id below the node's newest (deleted)
         * entry, the new ID is lower than the previous one of the node: a
         * delta cannot say that, the absolute ID of a resume can. Its back
         * distance then points at the node's own last record, which is the
         * record the scan accepted last (node.c). */
        if (runnel_id_cmp(id, prev) <= 0)
            resume = true;
        elide = !resume && r->nodes[tail].fields_hash == hash && master_same_fields(r, tail, a);
    }
    form = new_node ? FORM_NODE_START
           : resume ? FORM_RESUME
           : elide  ? FORM_SAME_FIELDS
                    : FORM_DELTA;

    if (create) {
        err = runnel__stream_alloc(r, r->db, a->key, &sidx);
        if (err < 0)
            return err;
        err = runnel__journal_create(r, sidx);
        if (err < 0) {
            runnel__stream_free(r, sidx);
            return err;
        }
    }
    if (form == FORM_RESUME)
        body_len = encode_resume(r, &r->nodes[tail], id, a, &resume_at);
    else
        body_len = encode_entry(r->scratch, sidx, form, id, prev, 0, a);
    err = runnel__append(r, form_type(form), r->scratch, body_len, &pos);
    if (err < 0) {
        if (create) {
            /* Cancel the creation record (best effort: the ring may be full). */
            uint8_t b[RUNNEL_VARINT_MAX];
            size_t bl = runnel__varint_put(b, sidx);
            (void)runnel__append(r, RUNNEL_REC_STREAM_DELETE, b, bl, NULL);
            runnel__stream_free(r, sidx);
        }
        return err;
    }

    /* The append may have reclaimed a block and (DROP_OLDEST) removed nodes
     * of this very stream, including the tail we meant to extend. */
    if (!new_node && (r->nodes[tail].sidx != sidx || open_tail(r, sidx) != tail ||
                      (form == FORM_RESUME && pos != resume_at))) {
        /* (The last case cannot happen while log_place mirrors the append;
         * should it, the resume would not be read as the tail's entry, but
         * it names its fields and so can start a node of its own.) */
        new_node = true;
        if (form == FORM_SAME_FIELDS) {
            /* The dropped node took its master with it, and the record just
             * written names no fields: it cannot start a node. Write the
             * entry again in full; the orphan before it belongs to no node
             * (no scan starts before this node's first record). The size
             * check above covered the full form. */
            form = FORM_NODE_START;
            body_len = encode_entry(r->scratch, sidx, form, id, prev, 0, a);
            err = runnel__append(r, form_type(form), r->scratch, body_len, &pos);
            if (err < 0)
                return err;
        }
    }
    if (new_node) {
        uint32_t twin = runnel__node_twin(r, sidx, id);
        /* An empty node under the same master ID is replaced, as Redis's rax
         * insert replaces it (runnel__node_twin says why it is empty). */
        if (twin != RUNNEL__NONE && r->nodes[twin].live == 0)
            (void)runnel__node_drop(r, twin);
        nslot = runnel__node_alloc(r);
        if (nslot == RUNNEL__NONE)
            return RUNNEL_ERR_POOL_NODES;  /* cannot happen: checked above */
        n = &r->nodes[nslot];
        n->sidx = sidx;
        n->first = id;
        n->first_pos = pos;
        n->fields_hash = hash;
        n->lp_rest = lp_master_bytes(a) + lp_entry_bytes(a, id, id, true);
        n->last = id;
        n->last_pos = pos;
        n->count = 1;
        n->live = 1;
        runnel__node_insert(r, nslot);
        /* r->scratch still holds the record at pos: the new node's master. */
        runnel__node_master_adopt(r, pos, form_type(form), r->scratch, (uint32_t)body_len);
    } else {
        n = &r->nodes[tail];
        /* The listpack model keeps its own rule (the hash), as before. */
        n->lp_rest += lp_entry_bytes(a, id, n->first, n->fields_hash == hash);
        n->last = id;
        n->last_pos = pos;
        n->count++;
        n->live++;
        n->behind = false;  /* its newest record is the stream's again */
    }
    {
        struct runnel__stream *w = &r->streams[sidx];
        w->last_id = id;
        w->last_valid = id;
        w->length++;
        w->entries_added++;
        if (w->length == 1) {
            w->first_id = id;
            w->first_stale = false;
        }
    }
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
