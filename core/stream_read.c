/*
 * stream_read.c - reading streams: XRANGE / XREVRANGE, XREAD (one key),
 * XLEN, XINFO STREAM numbers, and the internal iterators the group half
 * uses (runnel__entries, runnel__entry_get, runnel__stream_state).
 *
 * A range read binary-searches the node index for its first node, seeks
 * inside it by following the entries' links (node.c), and reads the
 * payload of each entry it hands out. Callbacks may append to the log (XREADGROUP
 * journals deliveries from inside them), and an append may drop nodes
 * under the DROP_OLDEST policy, so after every callback the iterator checks
 * whether the node index changed and, if so, seeks again from the next ID
 * instead of trusting positions it held.
 */
#include <string.h>

#include "store.h"

static bool iter_disturbed(const runnel_t *r, uint32_t nslot, uint32_t gen, uint32_t cnt)
{
    return r->node_gen != gen || r->nodes[nslot].count != cnt ||
           r->nodes[nslot].sidx == RUNNEL__NONE;
}

/* How many entries to find at once: what the caller may still take (plus
 * a little for deleted ones), so a COUNT 10 read finds about 10 entries,
 * not the whole node. */
static uint32_t batch_size(int64_t count, int delivered)
{
    int64_t left;

    if (count <= 0)
        return 64;
    left = count - delivered;   /* delivered < count here; count may be INT64_MAX */
    return left > 62 ? 64u : (uint32_t)left + 2u;
}

/* The first index of node nslot whose entry may be >= cur (0 for an
 * unordered node: every entry is compared). */
static int first_index(runnel_t *r, uint32_t nslot, runnel_id_t cur, uint32_t *i)
{
    return runnel__node_seek(r, nslot, cur, i);
}

/* The last index + 1 of node nslot whose entry may be <= cur. */
static int end_index(runnel_t *r, uint32_t nslot, runnel_id_t cur, uint32_t *end)
{
    const struct runnel__node *n = &r->nodes[nslot];
    runnel_id_t next;
    bool ovf;

    next = runnel__id_incr(cur, &ovf);
    if (ovf || n->unordered) {
        *end = n->count;
        return 0;
    }
    return runnel__node_seek(r, nslot, next, end);
}

/* Entry i of a node for an iterator: the whole entry, or (a caller that
 * only plans by ID, like XREADGROUP's first pass) just its ID, which the
 * walk already has: no payload is read. */
static int read_entry(runnel_t *r, uint32_t nslot, uint32_t i, bool ids_only,
                      runnel_entry_t *e)
{
    if (!ids_only)
        return runnel__node_entry(r, nslot, i, e);
    memset(e, 0, sizeof(*e));
    e->id = r->scan[i].id;
    return 0;
}

/* The ID of found entry i, for the range checks. When the walk found its
 * position by a link alone, the ID comes with the record: a reader of
 * payloads reads the entry now (*have: e is filled), one of IDs reads its
 * front. */
static int entry_and_id(runnel_t *r, uint32_t nslot, uint32_t i, bool ids_only,
                        runnel_entry_t *e, bool *have, runnel_id_t *id)
{
    int rc;

    *have = false;
    if (!runnel__node_id_known(r, nslot, i)) {
        if (ids_only)
            return runnel__node_id(r, nslot, i, id);
        rc = runnel__node_entry(r, nslot, i, e);
        if (rc < 0)
            return rc;
        *have = true;
    }
    *id = r->scan[i].id;
    return 0;
}

/*
 * Both iterators follow Redis's stream iterator: seek the node by master ID
 * (runnel__node_seek_rev), then walk nodes in order, and inside a node skip
 * deleted entries BEFORE comparing with the range. That order matters after
 * an XSETID rewind: a deleted entry may be larger than later live entries
 * of its node (and than the next node's first ID), so neither a deleted ID
 * nor a node's `last` may end a walk early. What stays true: live entries
 * increase through the nodes in order, node.last bounds a node's live
 * entries from above, and a node other than the first has no live entry
 * below its master ID. Inside a node the first entry to look at is found
 * by a seek (node.c), and entries are found in batches just ahead of the
 * ones returned, so a read costs what it returns plus the seek.
 */
static int iter_forward(runnel_t *r, uint32_t sidx, runnel_id_t cur, runnel_id_t end,
                        int64_t count, bool ids_only, runnel_entry_fn fn, void *ctx)
{
    int delivered = 0;
    uint32_t lo, hi, p;

restart:
    runnel__stream_nodes(r, sidx, &lo, &hi);
    p = runnel__node_seek_rev(r, lo, hi, cur);
    if (p == RUNNEL__NONE)
        return delivered;
    for (; p < hi; p++) {
        uint32_t nslot = r->node_order[p], gen, i, cnt;
        bool ovf;
        int rc;

        if (r->nodes[nslot].stub) {
            /* a stub's first and last bound its nodes' live entries as a
             * node's do; inside the range its nodes are loaded and the
             * seek starts again */
            if (runnel_id_cmp(r->nodes[nslot].last, cur) < 0)
                continue;
            if (p > lo && runnel_id_cmp(r->nodes[nslot].first, end) > 0)
                return delivered;
            rc = runnel__stub_load(r, nslot);
            if (rc < 0)
                return rc;
            goto restart;
        }
        if (runnel_id_cmp(r->nodes[nslot].last, cur) < 0 || runnel__node_ghost(r, nslot))
            continue;   /* no live entry >= cur here: nothing to read */
        if (p > lo && runnel_id_cmp(r->nodes[nslot].first, end) > 0)
            return delivered;
        rc = first_index(r, nslot, cur, &i);
        if (rc < 0)
            return rc;
        cnt = r->nodes[nslot].count;
        gen = r->node_gen;
        for (; i < cnt; i++) {
            runnel_entry_t e;
            runnel_id_t id;
            bool have;

            if (runnel__node_deleted(r, nslot, i))
                continue;
            if (!runnel__node_found(r, nslot, i)) {
                rc = runnel__node_fill(r, nslot, i, i + batch_size(count, delivered));
                if (rc < 0)
                    return rc;
            }
            rc = entry_and_id(r, nslot, i, ids_only, &e, &have, &id);
            if (rc < 0)
                return rc;
            if (runnel_id_cmp(id, cur) < 0)
                continue;
            if (runnel_id_cmp(id, end) > 0)
                return delivered;
            if (!have) {
                rc = read_entry(r, nslot, i, ids_only, &e);
                if (rc < 0)
                    return rc;
            }
            if (fn != NULL) {
                rc = fn(ctx, &e);
                if (rc < 0)
                    return rc;
            }
            delivered++;
            if (count > 0 && delivered >= count)
                return delivered;
            cur = runnel__id_incr(id, &ovf);
            if (ovf)
                return delivered;
            if (iter_disturbed(r, nslot, gen, cnt))
                goto restart;
        }
    }
    return delivered;
}

static int iter_reverse(runnel_t *r, uint32_t sidx, runnel_id_t start, runnel_id_t cur,
                        int64_t count, bool ids_only, runnel_entry_fn fn, void *ctx)
{
    int delivered = 0;
    uint32_t lo, hi, p;

restart:
    runnel__stream_nodes(r, sidx, &lo, &hi);
    p = runnel__node_seek_rev(r, lo, hi, cur);
    if (p == RUNNEL__NONE)
        return delivered;
    for (;; p--) {
        uint32_t nslot = r->node_order[p], gen, i, cnt;
        bool unf;
        int rc;

        /* Live entries of earlier nodes are below this node's master, and
         * a node's master is at most its last (the first node aside). */
        if (runnel_id_cmp(r->nodes[nslot].last, start) < 0)
            return delivered;
        if (r->nodes[nslot].stub) {
            rc = runnel__stub_load(r, nslot);   /* its nodes, then seek again */
            if (rc < 0)
                return rc;
            goto restart;
        }
        if (runnel__node_ghost(r, nslot)) {
            if (p == lo)
                return delivered;
            continue;
        }
        rc = end_index(r, nslot, cur, &i);
        if (rc < 0)
            return rc;
        cnt = r->nodes[nslot].count;
        gen = r->node_gen;
        for (; i > 0; i--) {
            runnel_entry_t e;
            runnel_id_t id;
            bool have;

            if (runnel__node_deleted(r, nslot, i - 1u))
                continue;
            if (!runnel__node_found(r, nslot, i - 1u)) {
                uint32_t b = batch_size(count, delivered);
                rc = runnel__node_fill(r, nslot, i > b ? i - b : 0u, i);
                if (rc < 0)
                    return rc;
            }
            rc = entry_and_id(r, nslot, i - 1u, ids_only, &e, &have, &id);
            if (rc < 0)
                return rc;
            if (runnel_id_cmp(id, cur) > 0)
                continue;
            if (runnel_id_cmp(id, start) < 0)
                return delivered;
            if (!have) {
                rc = read_entry(r, nslot, i - 1u, ids_only, &e);
                if (rc < 0)
                    return rc;
            }
            if (fn != NULL) {
                rc = fn(ctx, &e);
                if (rc < 0)
                    return rc;
            }
            delivered++;
            if (count > 0 && delivered >= count)
                return delivered;
            cur = runnel__id_decr(id, &unf);
            if (unf)
                return delivered;
            if (iter_disturbed(r, nslot, gen, cnt))
                goto restart;
        }
        if (p == lo)
            return delivered;
    }
}

int runnel__entries(runnel_t *r, uint32_t sidx, runnel_id_t start, runnel_id_t end,
                    int64_t count, bool reverse, runnel_entry_fn fn, void *ctx)
{
    if (count == 0 || runnel_id_cmp(start, end) > 0 || r->streams[sidx].length == 0)
        return 0;
    if (reverse)
        return iter_reverse(r, sidx, start, end, count, false, fn, ctx);
    return iter_forward(r, sidx, start, end, count, false, fn, ctx);
}

int runnel__entry_ids(runnel_t *r, uint32_t sidx, runnel_id_t start, runnel_id_t end,
                      int64_t count, runnel_entry_fn fn, void *ctx)
{
    if (count == 0 || runnel_id_cmp(start, end) > 0 || r->streams[sidx].length == 0)
        return 0;
    return iter_forward(r, sidx, start, end, count, true, fn, ctx);
}

int runnel__entry_get(runnel_t *r, uint32_t sidx, runnel_id_t id, runnel_entry_fn fn,
                      void *ctx)
{
    uint32_t p, nslot, i, cnt;
    int rc;

    rc = runnel__node_find(r, sidx, id, &p);
    if (rc <= 0)
        return rc;
    nslot = r->node_order[p];
    cnt = r->nodes[nslot].count;
    rc = first_index(r, nslot, id, &i);
    if (rc < 0)
        return rc;
    for (; i < cnt; i++) {
        runnel_entry_t e;
        runnel_id_t got;
        int cmp;

        if (runnel__node_deleted(r, nslot, i))
            continue;
        rc = runnel__node_id(r, nslot, i, &got);
        if (rc < 0)
            return rc;
        cmp = runnel_id_cmp(got, id);
        if (cmp != 0) {
            /* In an ordered node the seek landed on the only candidate. */
            if (cmp > 0 && !r->nodes[nslot].unordered)
                return 0;
            continue;
        }
        if (fn == NULL)
            return 1;
        rc = runnel__node_entry(r, nslot, i, &e);
        if (rc < 0)
            return rc;
        rc = fn(ctx, &e);
        return rc < 0 ? rc : 1;
    }
    return 0;
}

void runnel__stream_state(runnel_t *r, uint32_t sidx, runnel__stream_state_t *out)
{
    const struct runnel__stream *s = &r->streams[sidx];

    out->db = s->db;
    out->key.p = (const char *)runnel__stream_name(r, sidx);
    out->key.len = s->name_len;
    out->length = s->length;
    out->last_id = s->last_id;
    out->first_id = runnel__first_id(r, sidx);
    out->max_deleted = s->max_deleted;
    out->entries_added = s->entries_added;
    if (runnel__last_valid_id(r, sidx, &out->last_valid_id) < 0)
        out->last_valid_id = s->last_id;
}

int runnel_xrange(runnel_t *r, runnel_str_t key, runnel_id_t start, runnel_id_t end,
                  int64_t count, bool reverse, runnel_entry_fn fn, void *ctx)
{
    uint32_t sidx;
    int rc = 0;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    if (runnel__lookup(r, key, &sidx) == 0)
        rc = reverse ? runnel__entries(r, sidx, start, end, count, true, fn, ctx)
                     : runnel__entries(r, sidx, start, end, count, false, fn, ctx);
    runnel__unlock(r);
    return rc;
}

/* Counts what an ID-only walk hands out and keeps the last ID it saw. */
struct count_ctx {
    uint64_t n;
    runnel_id_t last;
};

static int count_cb(void *ctx, const runnel_entry_t *e)
{
    struct count_ctx *cc = ctx;

    cc->n++;
    cc->last = e->id;
    return 0;
}

int runnel_xrange_count(runnel_t *r, runnel_str_t key, runnel_id_t start, runnel_id_t end,
                        int64_t count, bool reverse, uint64_t *n, runnel_id_t *last)
{
    struct count_ctx cc;
    uint32_t sidx;
    int rc = 0;

    if (r == NULL || n == NULL || last == NULL)
        return RUNNEL_ERR_INVAL;
    memset(&cc, 0, sizeof cc);
    runnel__lock(r);
    if (runnel__lookup(r, key, &sidx) == 0 && count != 0 && runnel_id_cmp(start, end) <= 0 &&
        r->streams[sidx].length != 0)
        rc = reverse ? iter_reverse(r, sidx, start, end, count, true, count_cb, &cc)
                     : iter_forward(r, sidx, start, end, count, true, count_cb, &cc);
    runnel__unlock(r);
    *n = cc.n;
    *last = cc.last;
    return rc < 0 ? rc : 0;
}

int runnel_xread(runnel_t *r, runnel_str_t key, runnel_id_t after, int64_t count,
                 runnel_entry_fn fn, void *ctx)
{
    uint32_t sidx;
    runnel_id_t start;
    bool ovf;
    int rc = 0;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    start = runnel__id_incr(after, &ovf);
    if (ovf)
        return 0;
    runnel__lock(r);
    if (runnel__lookup(r, key, &sidx) == 0)
        rc = runnel__entries(r, sidx, start, RUNNEL_ID_MAX, count > 0 ? count : -1, false,
                             fn, ctx);
    runnel__unlock(r);
    return rc;
}

int runnel_xlen(runnel_t *r, runnel_str_t key, uint64_t *len)
{
    uint32_t sidx;

    if (r == NULL || len == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    *len = runnel__lookup(r, key, &sidx) == 0 ? r->streams[sidx].length : 0;
    runnel__unlock(r);
    return 0;
}

int runnel_stream_info(runnel_t *r, runnel_str_t key, runnel_stream_info_t *out)
{
    const struct runnel__stream *s;
    uint32_t sidx;

    if (r == NULL || out == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    if (runnel__lookup(r, key, &sidx) < 0) {
        runnel__unlock(r);
        return RUNNEL_ERR_NO_SUCH_KEY;
    }
    s = &r->streams[sidx];
    out->length = s->length;
    out->nodes = s->nodes;
    out->last_id = s->last_id;
    out->max_deleted = s->max_deleted;
    out->entries_added = s->entries_added;
    out->first_id = runnel__first_id(r, sidx);
    out->groups = runnel__stream_groups(r, sidx);
    out->dropped = s->dropped;
    runnel__unlock(r);
    return 0;
}
