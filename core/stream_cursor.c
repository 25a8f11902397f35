/*
 * stream_cursor.c - a stream's persisted sync cursor: how far the upstream
 * forwarder (core/sync.c) got, kept by the engine so that it survives a
 * restart and so that the full-ring policy knows which entries are not
 * forwarded yet (the sync backlog).
 *
 * State (struct runnel__stream.sync, runnel_stream_cursor_t):
 *   tracked    a forwarder follows the stream (its first save starts it)
 *   cursor     the upstream holds every entry up to this ID
 *   backlog    live entries after the cursor, kept exact as entries come
 *              and go (added, XDEL, trims and drops, which remove the
 *              oldest live entries first) and recounted from the node
 *              index at each save, so no save ever walks the stream
 *   forwarded, skipped   the forwarder's counters, stored as it gives them
 *   dropped    backlog entries the DROP_OLDEST policy dropped
 *
 * A note (runnel_stream_cursor_note) moves the cursor in RAM only: the
 * protection and the dropped count follow the upstream at once, and the
 * next save or checkpoint makes it durable.
 *
 * Journal: each save (and clear) is one SYNC_CURSOR record (0x40, FORMAT.md
 * "Sync cursors") with the whole state of that stream after it, so replay
 * sets, never accumulates. Every checkpoint holds one such record per
 * tracked stream before its END (runnel__cursor_snapshot), so the older
 * records may go with their blocks. A reader that does not know the type
 * skips it in the journal (mount.c skips unknown record types), losing
 * only the hint.
 *
 * The cursor is a hint: the forwarder resumes from the upstream's own last
 * ID at every connect, so a save lost in a power cut can cost neither a
 * duplicate nor a gap, only a counter that lags by the last save.
 *
 * Streams whose nodes are unordered (an XADD after an XSETID rewind,
 * node.c) are counted as if their IDs rose with their position; their
 * backlog is then an estimate, exact again at the next save.
 */
#include <string.h>

#include "store.h"

/* ---- keeping the backlog as entries come and go ---- */

void runnel__cursor_added(runnel_t *r, uint32_t sidx, runnel_id_t id)
{
    runnel_stream_cursor_t *c = &r->streams[sidx].sync;

    if (c->tracked && runnel_id_cmp(id, c->cursor) > 0)
        c->backlog++;
}

void runnel__cursor_deleted(runnel_t *r, uint32_t sidx, runnel_id_t id)
{
    runnel_stream_cursor_t *c = &r->streams[sidx].sync;

    if (c->tracked && runnel_id_cmp(id, c->cursor) > 0 && c->backlog > 0)
        c->backlog--;
}

uint64_t runnel__cursor_clip(runnel_t *r, uint32_t sidx)
{
    struct runnel__stream *s = &r->streams[sidx];
    uint64_t gone;

    if (!s->sync.tracked || s->sync.backlog <= s->length)
        return 0;
    gone = s->sync.backlog - s->length;
    s->sync.backlog = s->length;
    return gone;
}

/* ---- counting live entries in (a, b] from the node index ---- */

/* Live entries of one node with a < ID <= b, reading its records (a node
 * the range cuts through: at most two per count). */
static int count_in_node(runnel_t *r, uint32_t nslot, runnel_id_t a, runnel_id_t b,
                         uint64_t *out)
{
    const struct runnel__node *n = &r->nodes[nslot];
    uint32_t i = 0;
    int err;

    if (!n->unordered) {
        err = runnel__node_seek(r, nslot, a, &i);
        if (err < 0)
            return err;
    }
    for (; i < n->count; i++) {
        runnel_id_t id;

        if (runnel__node_deleted(r, nslot, i))
            continue;
        err = runnel__node_id(r, nslot, i, &id);
        if (err < 0)
            return err;
        if (runnel_id_cmp(id, a) <= 0)
            continue;
        if (runnel_id_cmp(id, b) > 0) {
            if (!n->unordered)
                break;
            continue;
        }
        (*out)++;
    }
    return 0;
}

/* Live entries of stream sidx with a < ID <= b (a < b): whole nodes inside
 * the range count from their descriptor, only the nodes at its ends are
 * read. */
static int live_between(runnel_t *r, uint32_t sidx, runnel_id_t a, runnel_id_t b,
                        uint64_t *out)
{
    uint32_t lo, hi, p;
    int err;

    *out = 0;
    runnel__stream_nodes(r, sidx, &lo, &hi);
    p = runnel__node_seek_rev(r, lo, hi, a);
    if (p == RUNNEL__NONE)
        return 0;
    for (; p < hi; p++) {
        uint32_t nslot = r->node_order[p];
        const struct runnel__node *n = &r->nodes[nslot];

        if (runnel_id_cmp(n->first, b) > 0)
            break;
        if (n->live == 0)
            continue;
        /* a stub counts whole when its range lies inside (a, b] and it is
         * no ghost; else its nodes are loaded and counted one by one */
        if (n->stub && (n->unordered || runnel_id_cmp(n->first, a) <= 0 ||
                        runnel_id_cmp(n->last, b) > 0 || runnel__node_ghost(r, nslot))) {
            err = runnel__stub_load_walk(r, sidx, &p, &lo, &hi);
            if (err < 0)
                return err;
            continue;
        }
        if (runnel__node_ghost(r, nslot))
            continue;
        if (!n->unordered && runnel_id_cmp(n->last, a) <= 0)
            continue;
        if (!n->unordered && runnel_id_cmp(n->first, a) > 0 && runnel_id_cmp(n->last, b) <= 0) {
            *out += n->live;
            continue;
        }
        err = count_in_node(r, nslot, a, b, out);
        if (err < 0)
            return err;
    }
    return 0;
}

/* ---- the record ---- */

static size_t encode(const runnel_t *r, uint32_t sidx, const runnel_stream_cursor_t *c,
                     uint8_t *b)
{
    size_t n = 0;

    (void)r;
    n += runnel__varint_put(b + n, sidx);
    b[n++] = c->tracked ? 1u : 0u;
    n += runnel__varint_put(b + n, c->cursor.ms);
    n += runnel__varint_put(b + n, c->cursor.seq);
    n += runnel__varint_put(b + n, c->backlog);
    n += runnel__varint_put(b + n, c->forwarded);
    n += runnel__varint_put(b + n, c->skipped);
    n += runnel__varint_put(b + n, c->dropped);
    return n;
}

#define CURSOR_REC_MAX (2u + 7u * RUNNEL_VARINT_MAX)

/* Journals the new state of a stream's cursor. The cursor itself moves
 * first, in RAM, as a note does: the append may open a block whose switch
 * makes the full ring drop entries (reclaim.c), and those must be counted
 * against the new cursor. When the append fails the note stays (the
 * upstream does hold what it says); the counters and the end of tracking
 * change only once the record is in the log. */
static int journal(runnel_t *r, uint32_t sidx, const runnel_stream_cursor_t *next)
{
    runnel_stream_cursor_t *cur = &r->streams[sidx].sync;
    uint8_t b[CURSOR_REC_MAX];
    size_t n = encode(r, sidx, next, b);
    int err;

    if (next->tracked) {
        cur->tracked = true;
        cur->cursor = next->cursor;
        cur->backlog = next->backlog;
    }
    err = runnel__append(r, RUNNEL_REC_SYNC_CURSOR, b, n, NULL);
    if (err < 0)
        return err;
    if (next->tracked) {
        cur->forwarded = next->forwarded;
        cur->skipped = next->skipped;
    } else {
        memset(cur, 0, sizeof *cur);
    }
    return runnel__after_mutation(r);
}

int runnel__cursor_replay(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    runnel__reader_t c;
    runnel_stream_cursor_t v;
    uint64_t slot;
    uint8_t flags;

    runnel__reader_init(&c, body, rec->len);
    slot = runnel__rd_varint(&c);
    flags = runnel__rd_u8(&c);
    v.cursor = runnel__rd_id(&c);
    v.backlog = runnel__rd_varint(&c);
    v.forwarded = runnel__rd_varint(&c);
    v.skipped = runnel__rd_varint(&c);
    v.dropped = runnel__rd_varint(&c);
    if (c.bad || c.off != c.len || (flags & ~1u) != 0 || slot >= r->streams_cap ||
        !r->streams[slot].used)
        return RUNNEL_ERR_CORRUPT;
    v.tracked = (flags & 1u) != 0;
    if (!v.tracked) {
        memset(&r->streams[slot].sync, 0, sizeof v);
        return 0;
    }
    /* The block switch of this very append may have dropped entries
     * (replayed just before it, against the previous cursor): what it
     * took from the backlog is gone, and counted. */
    if (v.backlog > r->streams[slot].length)
        v.backlog = r->streams[slot].length;
    if (r->streams[slot].sync.dropped > v.dropped)
        v.dropped = r->streams[slot].sync.dropped;
    r->streams[slot].sync = v;
    return 0;
}

int runnel__cursor_snapshot(runnel_t *r, int (*put)(void *ctx, uint8_t type, const void *body,
                                                    size_t len), void *ctx)
{
    uint8_t b[CURSOR_REC_MAX];
    uint32_t sidx;
    int err;

    for (sidx = 0; sidx < r->streams_cap; sidx++) {
        const struct runnel__stream *s = &r->streams[sidx];

        if (!s->used || !s->sync.tracked)
            continue;
        err = put(ctx, RUNNEL_REC_SYNC_CURSOR, b, encode(r, sidx, &s->sync, b));
        if (err < 0)
            return err;
    }
    return 0;
}

uint64_t runnel__cursor_snapshot_bytes(const runnel_t *r)
{
    uint64_t bytes = 0;
    uint32_t sidx;

    for (sidx = 0; sidx < r->streams_cap; sidx++)
        if (r->streams[sidx].used && r->streams[sidx].sync.tracked)
            bytes += 1u + 5u + 4u + CURSOR_REC_MAX;
    return bytes;
}

/* ---- the API ---- */

int runnel_stream_cursor_get(runnel_t *r, runnel_str_t key, runnel_stream_cursor_t *out)
{
    uint32_t sidx;
    int err;

    if (r == NULL || out == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = runnel__lookup(r, key, &sidx);
    if (err == 0)
        *out = r->streams[sidx].sync;
    runnel__unlock(r);
    return err;
}

/* The state of stream sidx with its cursor moved to `cursor`: the backlog
 * follows, counted before anything is journalled, so these reads pin
 * nothing (node.c, note_use). */
static int moved(runnel_t *r, uint32_t sidx, runnel_id_t cursor, runnel_stream_cursor_t *next)
{
    uint64_t k = 0;
    int err = 0;

    *next = r->streams[sidx].sync;
    if (!next->tracked) {
        err = live_between(r, sidx, cursor, RUNNEL_ID_MAX, &next->backlog);
        next->tracked = true;
    } else if (runnel_id_cmp(cursor, next->cursor) > 0) {
        err = live_between(r, sidx, next->cursor, cursor, &k);
        next->backlog = next->backlog > k ? next->backlog - k : 0;
    } else if (runnel_id_cmp(cursor, next->cursor) < 0) {
        err = live_between(r, sidx, cursor, next->cursor, &k);
        next->backlog += k;
    }
    if (next->backlog > r->streams[sidx].length)
        next->backlog = r->streams[sidx].length;
    next->cursor = cursor;
    return err;
}

int runnel_stream_cursor_save(runnel_t *r, runnel_str_t key, runnel_id_t cursor,
                              uint64_t forwarded, uint64_t skipped)
{
    runnel_stream_cursor_t next;
    uint32_t sidx;
    int err;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = runnel__lookup(r, key, &sidx);
    if (err == 0)
        err = moved(r, sidx, cursor, &next);
    if (err == 0) {
        next.forwarded = forwarded;
        next.skipped = skipped;
        err = journal(r, sidx, &next);
    }
    runnel__unlock(r);
    return err;
}

int runnel_stream_cursor_note(runnel_t *r, runnel_str_t key, runnel_id_t cursor)
{
    runnel_stream_cursor_t next;
    uint32_t sidx;
    int err;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = runnel__lookup(r, key, &sidx);
    if (err == 0 && r->streams[sidx].sync.tracked) {
        err = moved(r, sidx, cursor, &next);
        if (err == 0)
            r->streams[sidx].sync = next;
    }
    runnel__unlock(r);
    return err;
}

int runnel_stream_cursor_clear(runnel_t *r, runnel_str_t key)
{
    runnel_stream_cursor_t next;
    uint32_t sidx;
    int err;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = runnel__lookup(r, key, &sidx);
    if (err == 0 && r->streams[sidx].sync.tracked) {
        memset(&next, 0, sizeof next);
        err = journal(r, sidx, &next);
    }
    runnel__unlock(r);
    return err;
}
