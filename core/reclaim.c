/*
 * reclaim.c - the full-ring policy: what happens when the log needs its
 * oldest block back.
 *
 * The log calls runnel__reclaim(start, end) before it erases the oldest
 * block. A block is "live" when a node that still has live entries starts
 * in it (node.first_pos < end): such a node has, or may have, live entries
 * there. We decide from the descriptors alone, without reading the log,
 * because the log is in the middle of an append.
 *
 *   REFUSE       a live block is kept: the append fails with NOSPC and the
 *                caller changes nothing; SYNC_BACKLOG instead when the
 *                block holds entries of a tracked stream that are not
 *                forwarded yet (stream_cursor.c), so the operator learns
 *                that the link, not the retention, fills the ring.
 *   DROP_OLDEST  every node starting before `end` is removed - for each
 *                stream these are its oldest nodes - and its live entries
 *                are counted as dropped (per stream, shown by XINFO, and in
 *                runnel_stats). first_id is refreshed lazily (first_stale)
 *                because refreshing reads the log. Entries of the sync
 *                backlog among them are counted again as the stream's
 *                sync.dropped.
 *   RELOCATE     as REFUSE here: relocate.c copied the live nodes out of
 *                these blocks before the append (it cannot from inside
 *                it), so a live one left means the ring is full.
 * Nodes with no live entry left (an exact-trim remnant) never block.
 *
 * Doomed nodes: while XTRIM, DEL or FLUSH appends its record, the nodes it
 * is about to remove count as gone (they neither block nor are counted as
 * dropped; the caller removes them right after the append). Without this a
 * ring filled under REFUSE could never be emptied again, since freeing
 * space itself needs a record.
 *
 * Consumer-group PEL entries that refer to dropped entries simply dangle,
 * exactly as after trimming.
 */
#include "store.h"

bool runnel__node_doomed(const runnel_t *r, const struct runnel__node *n)
{
    const struct runnel__doom *d = &r->doom;

    if (!d->active)
        return false;
    if (d->flush == 1)
        return true;
    if (d->flush == 0)
        return r->streams[n->sidx].db == d->db;
    if (n->sidx != d->sidx)
        return false;
    if (d->all)
        return true;
    {
        uint32_t lo, hi, pos = runnel__node_pos(r, (uint32_t)(n - r->nodes));
        runnel__stream_nodes(r, d->sidx, &lo, &hi);
        return pos != RUNNEL__NONE && pos - lo < d->nodes;
    }
}

/* Does a node hold entries its stream's forwarder has not forwarded yet
 * (stream_cursor.c)? Keyed on IDs, not positions: an entry copied forward
 * keeps its ID and stays in the backlog. */
static bool in_backlog(const runnel_t *r, const struct runnel__node *n)
{
    const runnel_stream_cursor_t *c = &r->streams[n->sidx].sync;

    return c->tracked && c->backlog > 0 && runnel_id_cmp(n->last, c->cursor) > 0;
}

int runnel__append_dooming(runnel_t *r, const struct runnel__doom *d, uint8_t type,
                           const void *body, size_t len)
{
    int err;

    r->doom = *d;
    r->doom.active = true;
    err = runnel__append(r, type, body, len, NULL);
    r->doom.active = false;
    return err;
}

int runnel__reclaim(void *ctx, runnel_pos_t start, runnel_pos_t end)
{
    runnel_t *r = ctx;
    uint32_t p;
    bool live = false, backlog = false;
    int err;

    (void)start;
    /* Nodes starting in these blocks are decided one by one: a stub
     * (checkpoint_stub.c) with one of them is loaded first - unless
     * DROP_OLDEST drops them all (runnel__drop_before). Reading does not
     * change the log, and a stub's run lies past the newest checkpoint's
     * floor, which is never reclaimed. */
    if (r->cfg.full_policy != RUNNEL_FULL_DROP_OLDEST && !r->in_checkpoint) {
        /* (a checkpoint being written is refused the block below, and
         * its node order must not change under it: a stub then counts
         * as live) */
        err = runnel__stubs_load_below(r, end);
        if (err < 0)
            return err;
    }
    for (p = 0; p < r->nodes_used; p++) {
        const struct runnel__node *n = &r->nodes[r->node_order[p]];
        if (n->first_pos < end && n->live > 0 && !runnel__node_doomed(r, n)) {
            live = true;
            if (in_backlog(r, n)) {
                backlog = true;
                break;
            }
        }
    }
    if (live && r->cfg.full_policy != RUNNEL_FULL_DROP_OLDEST)
        return backlog ? RUNNEL_ERR_SYNC_BACKLOG : RUNNEL_ERR_NOSPC;
    /* Mount starts from the newest complete checkpoint: its block is never
     * given back, none is given back before there is one, and none that
     * holds the start of a node a journalled change read since it (its
     * replay reads there again). checkpoint.c writes the checkpoint that
     * releases such a block into the log's reserve just before the append
     * that needs the block; when the reserve cannot hold it (a ring too
     * small for its state), appends get NOSPC rather than a store that
     * mounts differently. */
    if (r->cfg.durable != NULL &&
        (r->ckpt_pos == RUNNEL__NO_POS || r->ckpt_floor < end || r->in_checkpoint ||
         runnel__read_since_checkpoint(r, end)))
        return RUNNEL_ERR_NOSPC;
    return runnel__drop_before(r, end);
}

/* Has a journalled change read a node starting before `end` since the
 * newest checkpoint (node.c: read_at; pin_floor for such nodes removed
 * since)? Replaying that change reads it again: the block stays until a
 * newer checkpoint. */
bool runnel__read_since_checkpoint(const runnel_t *r, runnel_pos_t end)
{
    runnel_pos_t ck = r->ckpt_pos == RUNNEL__NO_POS ? 0 : r->ckpt_pos;
    uint32_t p;

    if (r->pin_floor != RUNNEL__NO_POS && r->pin_floor < end)
        return true;

    for (p = 0; p < r->nodes_used; p++) {
        const struct runnel__node *n = &r->nodes[r->node_order[p]];
        if (n->first_pos < end && n->read_at != 0 && n->read_at > ck && !n->stub)
            return true;
    }
    return false;
}

int runnel__drop_before(runnel_t *r, runnel_pos_t end)
{
    uint32_t p;
    int err = 0;

    /* The doom of a partial trim counts the stream's first nodes: those
     * must be nodes, not stubs (node_stub.c) */
    if (r->doom.active && r->doom.flush < 0 && !r->doom.all && r->doom.sidx < r->streams_cap)
        err = runnel__stubs_load_head(r, r->doom.sidx, r->doom.nodes + 1u);
    if (err < 0)
        return err;
    p = 0;
    while (p < r->nodes_used) {
        uint32_t nslot = r->node_order[p];
        struct runnel__node *n = &r->nodes[nslot];
        struct runnel__stream *s;
        uint32_t sidx;
        uint64_t gone;

        if (n->first_pos >= end || runnel__node_doomed(r, n)) {
            p++;
            continue;
        }
        /* a stub goes whole when all its nodes start before end (read_at
         * is the highest first_pos, store.h); else its nodes are decided
         * one by one */
        if (n->stub && n->read_at >= end) {
            err = runnel__stub_load(r, nslot);
            if (err < 0)
                return err;
            continue;           /* its first node is at p now */
        }
        sidx = n->sidx;
        s = &r->streams[sidx];
        gone = runnel__node_drop(r, nslot);
        s->dropped += gone;
        s->sync.dropped += runnel__cursor_clip(r, sidx);
        r->stats.dropped_entries += gone;
        s->first_stale = true;
        if (s->length == 0) {
            s->first_id = RUNNEL_ID_MIN;
            s->first_stale = false;
        }
    }
    return 0;
}
