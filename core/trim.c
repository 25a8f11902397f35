/*
 * trim.c - XTRIM and the trimming step of XADD (reference section 4).
 *
 * Redis walks nodes from the head: a node that can go entirely is removed;
 * with `~` the walk stops at the first node that cannot; exact trimming
 * then marks entries deleted inside that one node. LIMIT (approximate only)
 * stops before a node whose removal would take the count past the limit.
 *
 * We split this into a plan (no change) and an apply step. The plan's
 * result is always expressible as a node count N and one "cut" ID X:
 *     remove the stream's first N nodes, then mark deleted the live
 *     entries < X of the next node
 * (or "everything"). That is what the TRIM record journals, so replay does
 * not depend on the node limits in force, and the apply step is the same
 * code either way. A count rather than an ID selects the nodes because
 * after an XSETID rewind a node's last ID can be above the next node's
 * IDs: node.last is the ID appended last, live or deleted, as the listpack
 * "last ID" Redis compares for MINID, and no ID separates the nodes.
 *
 * Inside the node an exact trim stops in, MAXLEN keeps the last live
 * entries (X = the first kept one); MINID marks entries in node order and,
 * as Redis, stops at the first entry >= the threshold even when that one
 * is deleted, so a live entry below the threshold that follows a larger
 * deleted one (possible only after a rewind) stays. Live entries increase
 * through a node, so X = min(threshold, first live entry after the stop)
 * says exactly that.
 */
#include "store.h"

/* Redis: default LIMIT for `~` = 100 * stream-node-max-entries, clamped. */
static int64_t default_limit(const runnel_t *r)
{
    int64_t l = 100 * (int64_t)r->node_max_entries;
    if (l <= 0)
        l = 10000;
    if (l > 1000000)
        l = 1000000;
    return l;
}

struct trim_plan {
    uint64_t count;     /* entries that will go */
    uint32_t nodes;     /* whole nodes that will go (some may hold no live entry) */
    bool all;
    runnel_id_t cut;
};

/* Exact MINID inside the node it stops in: entries before the first one
 * >= the threshold go (the live ones are counted). In an ordered node that
 * entry is found by a seek, and every later entry is >= the threshold, so
 * the cut is the threshold; an unordered node (node.c) is walked whole. */
static int plan_minid_in_node(runnel_t *r, uint32_t nslot, runnel_id_t minid,
                              struct trim_plan *pl)
{
    const struct runnel__node *n = &r->nodes[nslot];
    uint32_t i, stop;
    int cnt, err;

    pl->cut = minid;
    if (!n->unordered) {
        err = runnel__node_seek(r, nslot, minid, &stop);
        if (err < 0)
            return err;
        for (i = 0; i < stop; i++)
            if (!runnel__node_deleted(r, nslot, i))
                pl->count++;
        return 0;
    }
    cnt = runnel__node_scan(r, nslot);
    if (cnt < 0)
        return cnt;
    for (i = 0; i < (uint32_t)cnt && runnel_id_cmp(r->scan[i].id, minid) < 0; i++)
        if (!runnel__node_deleted(r, nslot, i))
            pl->count++;
    for (; i < (uint32_t)cnt; i++) {
        if (!runnel__node_deleted(r, nslot, i)) {
            if (runnel_id_cmp(r->scan[i].id, pl->cut) < 0)
                pl->cut = r->scan[i].id;
            break;
        }
    }
    return 0;
}

static int plan_trim(runnel_t *r, uint32_t sidx, const runnel_trim_t *t, struct trim_plan *pl)
{
    const struct runnel__stream *s = &r->streams[sidx];
    uint64_t len = s->length;
    int64_t limit = 0;
    uint32_t lo, hi, p;

    pl->count = 0;
    pl->nodes = 0;
    pl->all = false;
    pl->cut = RUNNEL_ID_MIN;
    if (len == 0)
        return 0;
    if (t->strategy == RUNNEL_TRIM_MAXLEN && len <= t->maxlen)
        return 0;
    if (t->approx)
        limit = t->limit < 0 ? default_limit(r) : t->limit;

    runnel__stream_nodes(r, sidx, &lo, &hi);
    for (p = lo; p < hi; p++) {
        uint32_t nslot = r->node_order[p], i;
        const struct runnel__node *n = &r->nodes[nslot];
        bool removable;
        int err;

        if (n->stub) {          /* the plan counts nodes: load its run */
            err = runnel__stub_load_walk(r, sidx, &p, &lo, &hi);
            if (err < 0)
                return err;
            continue;
        }
        if (limit != 0 && pl->count + n->live > (uint64_t)limit)
            return 0;
        if (t->strategy == RUNNEL_TRIM_MAXLEN)
            removable = len - n->live >= t->maxlen;
        else
            removable = runnel_id_cmp(n->last, t->minid) < 0;
        if (removable) {
            pl->count += n->live;
            pl->nodes++;
            len -= n->live;
            continue;
        }
        if (t->approx)
            return 0;
        /* exact: entries inside this node */
        if (t->strategy == RUNNEL_TRIM_MINID)
            return plan_minid_in_node(r, nslot, t->minid, pl);
        /* MAXLEN: the first live entry kept is the cut; live entries rise
         * through a node, so it is the only ID needed */
        for (i = 0; i < n->count; i++) {
            if (runnel__node_deleted(r, nslot, i))
                continue;
            if (len <= t->maxlen)
                return runnel__node_id(r, nslot, i, &pl->cut);
            pl->count++;
            len--;
        }
        /* cannot happen (the node was not removable), but stay safe:
         * its live entries all go */
        pl->cut = RUNNEL_ID_MAX;
        return 0;
    }
    pl->all = true;
    return 0;
}

/* Applies a plan (see the file comment). Returns entries removed. */
int runnel__trim_apply(runnel_t *r, uint32_t sidx, bool all, uint32_t nodes, runnel_id_t cut,
                       uint64_t *deleted)
{
    struct runnel__stream *s = &r->streams[sidx];
    uint32_t lo, hi, nslot, i;
    int cnt;

    *deleted = 0;
    for (;;) {
        runnel__stream_nodes(r, sidx, &lo, &hi);
        if (lo == hi || (!all && nodes == 0))
            break;
        if (!all && r->nodes[r->node_order[lo]].stub) {
            /* `nodes` counts nodes (a replayed TRIM): load the run */
            cnt = runnel__stub_load(r, r->node_order[lo]);
            if (cnt < 0)
                return cnt;
            continue;
        }
        *deleted += runnel__node_drop(r, r->node_order[lo]);
        nodes--;
    }
    if (!all && lo < hi) {
        uint32_t stop;

        cnt = runnel__stub_load(r, r->node_order[lo]);
        if (cnt < 0)
            return cnt;
        nslot = r->node_order[lo];
        if (r->nodes[nslot].unordered) {
            cnt = runnel__node_scan(r, nslot);
            if (cnt < 0)
                return cnt;
            for (i = 0; i < (uint32_t)cnt; i++) {
                if (runnel__node_deleted(r, nslot, i) || runnel_id_cmp(r->scan[i].id, cut) >= 0)
                    continue;
                runnel__node_mark(r, nslot, i);
                s->length--;
                (*deleted)++;
            }
        } else {
            /* IDs rise with the index: the entries below the cut are the
             * ones before the seek's answer, and no ID needs reading */
            cnt = runnel__node_seek(r, nslot, cut, &stop);
            if (cnt < 0)
                return cnt;
            for (i = 0; i < stop; i++) {
                if (runnel__node_deleted(r, nslot, i))
                    continue;
                runnel__node_mark(r, nslot, i);
                s->length--;
                (*deleted)++;
            }
        }
    }
    /* The oldest live entries went: what the sync backlog lost of them
     * the forwarder counts as skipped (stream_cursor.c). */
    (void)runnel__cursor_clip(r, sidx);
    if (*deleted > 0)
        return runnel__refresh_first_id(r, sidx);
    return 0;
}

int runnel__trim(runnel_t *r, uint32_t sidx, const runnel_trim_t *t, uint64_t *deleted)
{
    struct trim_plan pl;
    uint8_t b[4 * RUNNEL_VARINT_MAX + 1];
    size_t n = 0;
    int err;

    *deleted = 0;
    if (t->strategy != RUNNEL_TRIM_MAXLEN && t->strategy != RUNNEL_TRIM_MINID)
        return RUNNEL_ERR_INVAL;
    err = plan_trim(r, sidx, t, &pl);
    /* Nothing to delete and no node to drop: no record, no change. A node
     * whose entries are all deleted still goes when the walk reaches it, as
     * in Redis (it shows in radix-tree-keys and in later '~' trims). */
    if (err < 0 || (pl.count == 0 && pl.nodes == 0))
        return err;
    /* Record 0x15: slot | flags (bit 0: everything) | nodes | cut ms | cut seq */
    n += runnel__varint_put(b + n, sidx);
    b[n++] = pl.all ? 1u : 0u;
    n += runnel__varint_put(b + n, pl.nodes);
    n += runnel__varint_put(b + n, pl.cut.ms);
    n += runnel__varint_put(b + n, pl.cut.seq);
    {
        struct runnel__doom d = {true, -1, 0, sidx, pl.all, pl.nodes};
        err = runnel__append_dooming(r, &d, RUNNEL_REC_TRIM, b, n);
    }
    if (err < 0)
        return err;
    err = runnel__trim_apply(r, sidx, pl.all, pl.nodes, pl.cut, deleted);
    return err < 0 ? err : 1;
}

int runnel_xtrim(runnel_t *r, runnel_str_t key, const runnel_trim_t *trim, uint64_t *deleted)
{
    uint64_t ignored;
    uint32_t sidx;
    int err = 0;

    if (r == NULL || trim == NULL)
        return RUNNEL_ERR_INVAL;
    if (deleted == NULL)
        deleted = &ignored;
    *deleted = 0;
    runnel__lock(r);
    if (runnel__lookup(r, key, &sidx) == 0) {
        err = runnel__trim(r, sidx, trim, deleted);
        if (err > 0)
            err = runnel__after_mutation(r);
    }
    runnel__unlock(r);
    return err;
}
