/*
 * stream_del.c - XDEL and XSETID.
 *
 * XDEL marks entries deleted in their node's bitmap (Redis marks them in
 * the listpack); a node whose last live entry goes is removed at once, as
 * Redis does. max_deleted_entry_id and first_id follow Redis (section 2).
 *
 * When XDEL removes the tail node, the previous node takes the next XADD
 * again, as in Redis; it is marked `behind` so that entry is written as an
 * ENTRY_RESUME (node.c).
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

/* Marks one entry deleted. Returns 1 if it was live, 0 if not found. */
static int xdel_one(runnel_t *r, uint32_t sidx, runnel_id_t id)
{
    struct runnel__stream *s = &r->streams[sidx];
    uint32_t p = runnel__node_find(r, sidx, id), nslot, i, lo, hi;
    int cnt;

    if (p == RUNNEL__NONE)
        return 0;
    nslot = r->node_order[p];
    cnt = runnel__node_scan(r, nslot);
    if (cnt < 0)
        return cnt;
    for (i = 0; i < (uint32_t)cnt; i++) {
        if (runnel_id_cmp(r->scan[i].id, id) != 0 || runnel__node_deleted(r, nslot, i))
            continue;
        runnel__node_mark(r, nslot, i);
        s->length--;
        if (runnel_id_cmp(id, s->max_deleted) > 0)
            s->max_deleted = id;
        if (r->nodes[nslot].live == 0) {
            runnel__stream_nodes(r, sidx, &lo, &hi);
            runnel__node_remove(r, nslot);
            /* The previous node becomes the tail and takes entries again,
             * but the removed node's records lie after its last one in the
             * log: its next entry must say where it continues (node.c). */
            if (p == hi - 1u && p > lo)
                r->nodes[r->node_order[p - 1u]].behind = true;
        }
        return 1;
    }
    return 0;
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
            int d = xdel_one(r, sidx, ids[k]);
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
