/*
 * stream_del.c - XDEL and XSETID.
 *
 * XDEL marks entries deleted in their node's bitmap (Redis marks them in
 * the listpack); a node whose last live entry goes is removed at once, as
 * Redis does. max_deleted_entry_id and first_id follow Redis (section 2).
 *
 * When XDEL removes the tail node, the previous node takes the next XADD
 * again, as in Redis; entries link back within their node whatever lies
 * between them in the log (node.c), so nothing needs marking.
 *
 * XSETID may move last_id below the newest (deleted) entries of the tail
 * node. As in Redis, nothing happens to the nodes: the next XADD still
 * appends to that node (if not full), with an ID lower than the deleted
 * ones before it. Inside a node, live entries still increase; deleted ones
 * may be larger than later live ones, and every reader skips deleted
 * entries before comparing IDs (stream_read.c, trim.c).
 */
#include <string.h>

#include "store.h"

/* Index of the entry with exactly this ID in node nslot (live or deleted),
 * or the node's count when it has none: a seek by ID (node.c), or, in an
 * unordered node, a walk over all of it. Negative on error. */
static int64_t node_index_of(runnel_t *r, uint32_t nslot, runnel_id_t id)
{
    const struct runnel__node *n = &r->nodes[nslot];
    runnel_id_t got;
    uint32_t i = 0;
    int err;

    if (!n->unordered) {
        err = runnel__node_seek(r, nslot, id, &i);
        if (err < 0)
            return err;
        if (i >= n->count)
            return n->count;
        err = runnel__node_id(r, nslot, i, &got);
        if (err < 0)
            return err;
        return runnel_id_cmp(got, id) == 0 ? (int64_t)i : (int64_t)n->count;
    }
    err = runnel__node_scan(r, nslot);
    if (err < 0)
        return err;
    for (i = 0; i < n->count; i++)
        if (runnel_id_cmp(r->scan[i].id, id) == 0 && !runnel__node_deleted(r, nslot, i))
            return i;
    return n->count;
}

/* Marks one entry deleted. Returns 1 if it was live, 0 if not found. */
int runnel__xdel_one(runnel_t *r, uint32_t sidx, runnel_id_t id)
{
    struct runnel__stream *s = &r->streams[sidx];
    uint32_t p, nslot;
    int64_t i;
    int err = runnel__node_find(r, sidx, id, &p);

    if (err <= 0)
        return err;
    nslot = r->node_order[p];
    i = node_index_of(r, nslot, id);
    if (i < 0)
        return (int)i;
    if (i >= r->nodes[nslot].count || runnel__node_deleted(r, nslot, (uint32_t)i))
        return 0;
    runnel__node_mark(r, nslot, (uint32_t)i);
    s->length--;
    runnel__cursor_deleted(r, sidx, id);
    if (runnel_id_cmp(id, s->max_deleted) > 0)
        s->max_deleted = id;
    /* A node left without live entries goes; when it was the tail, the
     * previous node takes entries again, as in Redis (stream_add.c then
     * rebuilds its tail caches from the previous node's links). */
    if (r->nodes[nslot].live == 0)
        runnel__node_remove(r, nslot);
    return 1;
}

static int xdel_locked(runnel_t *r, runnel_str_t key, const runnel_id_t *ids, size_t n,
                       uint64_t *deleted)
{
    uint32_t sidx;
    size_t i = 0, max_body;
    int err = 0;
    bool any = false;

    *deleted = 0;
    if (runnel__lookup(r, key, &sidx) < 0)
        return 0;
    max_body = runnel__log_max_body(&r->log);
    if (max_body > r->scratch_cap)
        max_body = r->scratch_cap;
    /* Chunks of IDs: journal the ones that exist, then apply them. */
    while (i < n) {
        size_t len = runnel__varint_put(r->scratch, sidx), first = i, k;
        bool some = false;

        for (; i < n && len + 2u * RUNNEL_VARINT_MAX <= max_body; i++) {
            int ex = runnel__entry_get(r, sidx, ids[i], NULL, NULL);
            if (ex < 0)
                return ex;
            if (ex == 0)
                continue;
            len += runnel__varint_put(r->scratch + len, ids[i].ms);
            len += runnel__varint_put(r->scratch + len, ids[i].seq);
            some = true;
        }
        if (!some)
            continue;
        err = runnel__append(r, RUNNEL_REC_XDEL, r->scratch, len, NULL);
        if (err < 0)
            break;
        for (k = first; k < i; k++) {
            int d = runnel__xdel_one(r, sidx, ids[k]);
            if (d < 0) {
                err = d;
                break;
            }
            *deleted += (uint64_t)d;
        }
        any = true;
        if (err < 0)
            break;
    }
    if (*deleted > 0) {
        int e2 = runnel__refresh_first_id(r, sidx);
        if (err == 0)
            err = e2;
        e2 = runnel__refresh_last_valid(r, sidx);
        if (err == 0)
            err = e2;
    }
    if (any) {
        int e2 = runnel__after_mutation(r);
        if (err == 0)
            err = e2;
    }
    return err;
}

int runnel_xdel(runnel_t *r, runnel_str_t key, const runnel_id_t *ids, size_t n,
                uint64_t *deleted)
{
    uint64_t ignored;
    int err;

    if (r == NULL || (ids == NULL && n != 0))
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = xdel_locked(r, key, ids, n, deleted != NULL ? deleted : &ignored);
    runnel__unlock(r);
    return err;
}

/* ---- XSETID ---- */

static int xsetid_locked(runnel_t *r, const runnel_xsetid_args_t *a)
{
    struct runnel__stream *s;
    runnel_id_t last_valid;
    uint32_t sidx;
    uint8_t b[6 * RUNNEL_VARINT_MAX + 1];
    size_t n = 0;
    int err;

    if (a->has_max_deleted && runnel_id_cmp(a->last_id, a->max_deleted) < 0)
        return RUNNEL_ERR_XSETID_MAXDELETED;
    if (runnel__lookup(r, a->key, &sidx) < 0)
        return RUNNEL_ERR_NO_SUCH_KEY;
    s = &r->streams[sidx];
    err = runnel__last_valid_id(r, sidx, &last_valid);
    if (err < 0)
        return err;
    if (s->length > 0) {
        if (runnel_id_cmp(a->last_id, last_valid) < 0)
            return RUNNEL_ERR_XSETID_SMALL;
        if (a->has_entries_added && a->entries_added < s->length)
            return RUNNEL_ERR_XSETID_ENTRIES_ADDED;
    }

    /* Record 0x16: slot | flags | ms | seq | [entries_added] | [maxdel ms seq] */
    n += runnel__varint_put(b + n, sidx);
    b[n++] = (uint8_t)((a->has_entries_added ? 1u : 0u) | (a->has_max_deleted ? 2u : 0u));
    n += runnel__varint_put(b + n, a->last_id.ms);
    n += runnel__varint_put(b + n, a->last_id.seq);
    if (a->has_entries_added)
        n += runnel__varint_put(b + n, a->entries_added);
    if (a->has_max_deleted) {
        n += runnel__varint_put(b + n, a->max_deleted.ms);
        n += runnel__varint_put(b + n, a->max_deleted.seq);
    }
    err = runnel__append(r, RUNNEL_REC_XSETID, b, n, NULL);
    if (err < 0)
        return err;

    s = &r->streams[sidx];
    s->last_id = a->last_id;
    if (a->has_entries_added)
        s->entries_added = a->entries_added;
    if (a->has_max_deleted && (a->max_deleted.ms != 0 || a->max_deleted.seq != 0))
        s->max_deleted = a->max_deleted;
    return runnel__after_mutation(r);
}

int runnel_xsetid(runnel_t *r, const runnel_xsetid_args_t *a)
{
    int err;

    if (r == NULL || a == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = xsetid_locked(r, a);
    runnel__unlock(r);
    return err;
}
