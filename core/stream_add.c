/*
 * stream_add.c - XADD: ID generation, the checks in Redis's order, the
 * entry record, and placing the entry in the stream's tail node or a new
 * one by Redis's node-full rule.
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

/* The tail node of a stream that may still take entries, or RUNNEL__NONE. */
static uint32_t open_tail(const runnel_t *r, uint32_t sidx)
{
    uint32_t nslot = r->streams[sidx].tail_node;

    if (nslot == RUNNEL__NONE)
        return RUNNEL__NONE;
    return r->nodes[nslot].sealed ? RUNNEL__NONE : nslot;
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

static size_t encode_entry(uint8_t *b, uint32_t sidx, bool node_start, runnel_id_t id,
                           runnel_id_t prev, const runnel_xadd_args_t *a)
{
    size_t n = 0;
    uint32_t i;

    n += runnel__varint_put(b + n, sidx);
    if (node_start) {
        n += runnel__varint_put(b + n, id.ms);
        n += runnel__varint_put(b + n, id.seq);
    } else if (id.ms == prev.ms) {
        n += runnel__varint_put(b + n, 0);
        n += runnel__varint_put(b + n, id.seq - prev.seq - 1u);
    } else {
        n += runnel__varint_put(b + n, id.ms - prev.ms);
        n += runnel__varint_put(b + n, id.seq);
    }
    n += runnel__varint_put(b + n, a->nfields);
    for (i = 0; i < 2u * a->nfields; i++) {
        n += runnel__varint_put(b + n, a->fv[i].len);
        if (a->fv[i].len != 0)
            memcpy(b + n, a->fv[i].p, a->fv[i].len);
        n += a->fv[i].len;
    }
    return n;
}

static uint64_t encoded_size(uint32_t sidx, runnel_id_t id, const runnel_xadd_args_t *a)
{
    /* Worst case of the three ID forms, so the check does not depend on
     * which node the entry lands in. */
    uint64_t n = runnel__varint_len(sidx) + 2u * RUNNEL_VARINT_MAX +
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
    uint32_t sidx = RUNNEL__NONE, tail, nslot, i;
    uint64_t totelelen = 0, need;
    runnel_id_t id, prev = RUNNEL_ID_MIN;
    runnel_pos_t pos;
    bool create = false, new_node, same;
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
    if (!new_node)
        prev = r->nodes[tail].last;

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
    body_len = encode_entry(r->scratch, sidx, new_node, id, prev, a);
    err = runnel__append(r, new_node ? RUNNEL_REC_ENTRY_NODE_START : RUNNEL_REC_ENTRY,
                         r->scratch, body_len, &pos);
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
    if (!new_node && (r->nodes[tail].sidx != sidx || open_tail(r, sidx) != tail))
        new_node = true;
    if (new_node) {
        nslot = runnel__node_alloc(r);
        if (nslot == RUNNEL__NONE)
            return RUNNEL_ERR_POOL_NODES;  /* cannot happen: checked above */
        n = &r->nodes[nslot];
        n->sidx = sidx;
        n->first = id;
        n->first_pos = pos;
        n->fields_hash = fields_hash(a->fv, a->nfields);
        n->lp_rest = lp_master_bytes(a) + lp_entry_bytes(a, id, id, true);
        n->last = id;
        n->last_pos = pos;
        n->count = 1;
        n->live = 1;
        runnel__node_insert(r, nslot);
    } else {
        n = &r->nodes[tail];
        same = n->fields_hash == fields_hash(a->fv, a->nfields);
        n->lp_rest += lp_entry_bytes(a, id, n->first, same);
        n->last = id;
        n->last_pos = pos;
        n->count++;
        n->live++;
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
