/*
 * checkpoint.c - the whole RAM state written to the log as records, so
 * that mount starts from it instead of from the store's first record, and
 * so that the oldest block can be reclaimed without losing state.
 *
 * A checkpoint (FORMAT.md, "Checkpoints") is a run of records:
 *   CKPT_BEGIN {seq, streams, nodes}
 *   CKPT_STREAM per stream (slot, database, the Redis counters, name)
 *   CKPT_NODES  the node descriptors (as many per record as fit)
 *   CKPT_GROUP  the group half's snapshot records (GROUP_CREATE,
 *     CONSUMER_CREATE, NACK_STATE: core/group_replay.c), each wrapped with
 *     its type, which mount unwraps and replays as usual
 *   SYNC_CURSOR per tracked stream (stream_cursor.c), as in the journal
 *   CKPT_END {seq, records}
 * committed (programmed and synced) before it counts: only then does
 * r->ckpt_pos move to its BEGIN. A checkpoint cut short by a power cut has
 * no END and mount uses the one before, which the reclaim policy still
 * keeps (reclaim.c never gives back the block of r->ckpt_pos).
 *
 * When:
 *   - to release the tail. The ring gives back its oldest block only when
 *     no record replayed after the newest checkpoint needs it: that block
 *     must not hold the checkpoint itself, nor a node that a journalled
 *     change read after it (XREADGROUP, XCLAIM, XDEL, a trim ... read the
 *     log after journalling, and their replay reads the same records:
 *     node.c notes such reads in read_at, reclaim.c checks them). When
 *     the append about to open a block must reclaim such a block, a new
 *     checkpoint is written first, into a reserve of blocks the log keeps
 *     free of everything else (sized here, once per block, from the state
 *     a checkpoint would hold), and that append then opens a fresh block,
 *     so the reclaim runs before anything reads an old node again.
 *   - every `checkpoint_blocks` blocks, which bounds what mount replays,
 *     when that fits outside the reserve.
 * This file sits above both halves: it reads the stream table and nodes
 * and asks the group half for its snapshot.
 */
#include <string.h>

#include "store.h"

/* ---- writing ---- */

typedef struct ckpt_writer {
    runnel_t *r;
    uint32_t records;
    int err;
} ckpt_writer_t;

static void put_rec(ckpt_writer_t *w, uint8_t type, const void *body, size_t len)
{
    if (w->err < 0)
        return;
    w->err = runnel__append(w->r, type, body, len, NULL);
    if (w->err == 0)
        w->records++;
}

/* The group half's snapshot records, wrapped in CKPT_GROUP: a replay that
 * skips a checkpoint (mount.c) can tell them from journal records by type
 * alone, even when the checkpoint was cut short. */
static int emit_group_rec(void *ctx, uint8_t type, const void *body, size_t len)
{
    ckpt_writer_t *w = ctx;
    runnel__iov_t iov[2];
    runnel_pos_t ignored;

    if (w->err < 0)
        return w->err;
    iov[0].p = &type;
    iov[0].len = 1;
    iov[1].p = body;
    iov[1].len = len;
    if (len + 1u > runnel__log_max_body(&w->r->log))
        w->err = RUNNEL_ERR_ENTRY_TOO_LARGE;
    else
        w->err = runnel__log_append(&w->r->log, RUNNEL_REC_CKPT_GROUP, iov, 2, &ignored);
    if (w->err == 0)
        w->records++;
    return w->err;
}

static int put_cursor(void *ctx, uint8_t type, const void *body, size_t len)
{
    ckpt_writer_t *w = ctx;
    put_rec(w, type, body, len);
    return w->err;
}

static size_t put_id(uint8_t *b, runnel_id_t id)
{
    size_t n = runnel__varint_put(b, id.ms);
    return n + runnel__varint_put(b + n, id.seq);
}

static void write_stream(ckpt_writer_t *w, uint32_t sidx)
{
    runnel_t *r = w->r;
    struct runnel__stream *s = &r->streams[sidx];
    uint8_t *b = r->scratch;
    size_t n = 0;
    runnel_id_t first = runnel__first_id(r, sidx);

    n += runnel__varint_put(b + n, sidx);
    n += runnel__varint_put(b + n, s->db);
    n += put_id(b + n, s->last_id);
    n += put_id(b + n, first);
    n += put_id(b + n, s->max_deleted);
    n += put_id(b + n, s->last_valid);
    n += runnel__varint_put(b + n, s->entries_added);
    n += runnel__varint_put(b + n, s->length);
    n += runnel__varint_put(b + n, s->dropped);
    memcpy(b + n, runnel__stream_name(r, sidx), s->name_len);
    n += s->name_len;
    put_rec(w, RUNNEL_REC_CKPT_STREAM, b, n);
}

/* One node descriptor as CKPT_NODES holds it; returns its length. */
static size_t encode_node(const runnel_t *r, uint32_t nslot, uint8_t *b)
{
    const struct runnel__node *n = &r->nodes[nslot];
    uint32_t bm = (n->count + 7u) / 8u;
    bool bitmap = n->live < n->count;
    size_t k = 0;

    k += runnel__varint_put(b + k, n->sidx);
    k += put_id(b + k, n->first);
    k += put_id(b + k, n->last);
    k += runnel__varint_put(b + k, n->first_pos);
    k += runnel__varint_put(b + k, n->last_pos);
    k += runnel__varint_put(b + k, n->first_size);
    k += runnel__varint_put(b + k, n->count);
    k += runnel__varint_put(b + k, n->live);
    k += runnel__varint_put(b + k, n->lp_rest);
    k += runnel__varint_put(b + k, n->fields_hash);
    b[k++] = (uint8_t)((n->unordered ? 1u : 0u) | (bitmap ? 2u : 0u));
    if (bitmap) {
        memcpy(b + k, r->bitmaps + (size_t)nslot * r->bitmap_bytes, bm);
        k += bm;
    }
    return k;
}

/* Most bytes one node descriptor can take. */
static size_t node_max(const runnel_t *r)
{
    return 16u * RUNNEL_VARINT_MAX + 1u + r->bitmap_bytes;
}

static void write_nodes(ckpt_writer_t *w)
{
    runnel_t *r = w->r;
    size_t cap = runnel__log_max_body(&r->log), n = 0;
    uint32_t p;

    /* A quarter block at most, so a record that does not fit a block's
     * rest wastes little of it (measure_blocks counts on that). */
    if (cap > r->log.block_size / 4u)
        cap = r->log.block_size / 4u;
    if (cap < node_max(r) + 1u)
        cap = node_max(r) + 1u;
    if (cap > r->scratch_cap)
        cap = r->scratch_cap;
    for (p = 0; p < r->nodes_used && w->err == 0; p++) {
        if (n + node_max(r) > cap) {
            put_rec(w, RUNNEL_REC_CKPT_NODES, r->scratch, n);
            n = 0;
        }
        n += encode_node(r, r->node_order[p], r->scratch + n);
    }
    if (n > 0)
        put_rec(w, RUNNEL_REC_CKPT_NODES, r->scratch, n);
}

/* FORMAT.md 8.1: a checkpoint's BEGIN is the first record of its block
 * (after a fence at most), so that mount finds the newest one from the
 * first bytes of each block instead of walking every record. The block's
 * unused rest is what that costs; the periodic checkpoint waits for a
 * block switch (runnel__checkpoint_before_append), so it rarely wastes
 * any. A creation mount dropped is cancelled first, outside the
 * checkpoint. Returns whether it sealed the head's block. */
static int seal_for_begin(runnel_t *r, bool *sealed)
{
    runnel_log_t *log = &r->log;
    uint32_t off = (uint32_t)(log->head % log->block_size);
    int err = runnel__append_cancel(r);

    *sealed = false;
    if (err < 0)
        return err;
    /* A pending fence opens a block itself; a head at a block's end or
     * right after its header has no record before it. */
    if (off != 0 && off > log->hdr_size && !log->fence_pending && !log->seal) {
        log->seal = true;
        *sealed = true;
    }
    return 0;
}

int runnel__checkpoint_write(runnel_t *r)
{
    ckpt_writer_t w;
    bool sealed = false;
    uint8_t b[4 * RUNNEL_VARINT_MAX];
    runnel_pos_t begin;
    uint64_t seq = r->ckpt_seq + 1u;
    uint32_t sidx;
    size_t n = 0;

    w.r = r;
    w.records = 0;
    w.err = 0;
    r->in_checkpoint = true;
    r->log.use_reserve = true;
    n += runnel__varint_put(b + n, seq);
    n += runnel__varint_put(b + n, r->streams_used);
    n += runnel__varint_put(b + n, r->nodes_used);
    w.err = seal_for_begin(r, &sealed);
    if (w.err == 0)
        w.err = runnel__append(r, RUNNEL_REC_CKPT_BEGIN, b, n, &begin);
    if (w.err < 0 && sealed && r->log.seal)
        r->log.seal = false;    /* the BEGIN never opened its block */
    for (sidx = 0; sidx < r->streams_cap && w.err == 0; sidx++)
        if (r->streams[sidx].used)
            write_stream(&w, sidx);
    write_nodes(&w);
    for (sidx = 0; sidx < r->streams_cap && w.err == 0; sidx++)
        if (r->streams[sidx].used)
            w.err = runnel__groups_snapshot(r, sidx, emit_group_rec, &w);
    /* The sync cursors (stream_cursor.c): inside the checkpoint, so that
     * its END stands for them too and the older SYNC_CURSOR records may go
     * with their blocks. */
    if (w.err == 0)
        w.err = runnel__cursor_snapshot(r, put_cursor, &w);
    if (w.err == 0) {
        n = runnel__varint_put(b, seq);
        n += runnel__varint_put(b + n, w.records);
        w.err = runnel__append(r, RUNNEL_REC_CKPT_END, b, n, NULL);
    }
    /* It counts once it is on flash: only then may the block of the one
     * before be given back. */
    if (w.err == 0)
        w.err = runnel__log_commit(&r->log);
    if (w.err == 0) {
        runnel__commit_mark(r);
        r->ckpt_pos = begin;
        r->ckpt_seq = seq;
        r->pin_floor = RUNNEL__NO_POS;  /* every pin was older */
    }
    r->log.use_reserve = false;
    r->in_checkpoint = false;
    return w.err;
}

static int count_group_rec(void *ctx, uint8_t type, const void *body, size_t len)
{
    uint64_t *bytes = ctx;

    (void)type;
    (void)body;
    *bytes += 1u + 5u + 4u + 1u + len;     /* frame + the wrapped type byte */
    return 0;
}

/* Blocks a checkpoint of today's state takes: its records measured as they
 * would be encoded, each with its frame, and a record's worth of unused
 * tail per block (records do not straddle blocks). O(state): called only
 * when the ring is close to needing one. */
static uint32_t measure_blocks(runnel_t *r)
{
    uint64_t bytes = 64u, nodes = 0;
    uint32_t usable = r->log.block_size - RUNNEL_LOG_HDR_SIZE, sidx, p;

    for (sidx = 0; sidx < r->streams_cap; sidx++) {
        if (!r->streams[sidx].used)
            continue;
        bytes += 10u + 12u * RUNNEL_VARINT_MAX + r->streams[sidx].name_len;
        (void)runnel__groups_snapshot(r, sidx, count_group_rec, &bytes);
    }
    for (p = 0; p < r->nodes_used; p++) {
        const struct runnel__node *n = &r->nodes[r->node_order[p]];
        nodes += (uint64_t)runnel__varint_len(n->sidx) + runnel__varint_len(n->first.ms) +
                 runnel__varint_len(n->first.seq) + runnel__varint_len(n->last.ms) +
                 runnel__varint_len(n->last.seq) + runnel__varint_len(n->first_pos) +
                 runnel__varint_len(n->last_pos) + runnel__varint_len(n->first_size) +
                 runnel__varint_len(n->count) + runnel__varint_len(n->live) +
                 runnel__varint_len(n->lp_rest) + runnel__varint_len(n->fields_hash) + 1u +
                 (n->live < n->count ? (n->count + 7u) / 8u : 0u);
    }
    bytes += nodes + (nodes / (usable / 4u) + 1u) * 10u;
    bytes += runnel__cursor_snapshot_bytes(r);
    /* records of at most a quarter block (write_nodes) waste at most that
     * much at a block's end; others are small */
    return (uint32_t)(bytes / (usable / 4u * 3u) + 1u);
}

/* What a checkpoint's size follows, counted in O(1): streams, nodes,
 * groups, consumers and pending entries. */
static uint64_t state_items(const runnel_t *r)
{
    return (uint64_t)r->streams_used + r->nodes_used + r->groups.groups_used +
           r->groups.consumers_used + r->groups.pel_used;
}

void runnel__checkpoint_maybe(runnel_t *r)
{
    uint32_t bs = r->log.block_size, used = runnel__log_blocks_used(&r->log);
    uint32_t free_blocks = r->log.block_count - used;
    uint64_t tail_blk = r->log.tail / bs, head_blk = r->log.head / bs, ck_blk, interval, sig;

    if (r->replaying || r->in_checkpoint)
        return;
    ck_blk = r->ckpt_pos == RUNNEL__NO_POS ? tail_blk : r->ckpt_pos / bs;
    /* The reserve the log keeps free of everything but checkpoints must
     * hold the next one by the time the ring turns: a tail block that
     * only a newer checkpoint releases (it holds the newest one, or a
     * node a record after it read) is released by writing that checkpoint
     * into the reserve (runnel__checkpoint_before_append). Measuring
     * costs O(state), so it is redone only when the state's item count
     * has grown by a sixteenth, and once every sixteenth of the blocks in
     * use (amortized O(1) per block); an eighth and two blocks of slack
     * cover what the state grows in between. */
    sig = state_items(r);
    if (r->ckpt_sized_blk == 0 || sig > r->ckpt_sized_items + r->ckpt_sized_items / 16u + 8u ||
        head_blk + 1u - r->ckpt_sized_blk >= 1u + used / 16u) {
        uint32_t need = measure_blocks(r);
        r->log.reserve = need + need / 8u + 2u;
        r->ckpt_need = need;
        r->ckpt_sized_blk = head_blk + 1u;
        r->ckpt_sized_items = sig;
    }
    /* Bound what mount replays. The interval grows with the checkpoint
     * (four times its size at least): a checkpoint costs at most about a
     * fifth of what is written, however large the state. It goes in the
     * space outside the reserve, so as not to eat the room the checkpoint
     * that releases the tail needs - but a ring DROP_OLDEST or RELOCATE
     * keeps full has no such space: there it goes into the reserve like
     * that one, and the block switch after it drops (or relocates out of)
     * enough of the oldest blocks to restore the reserve (REFUSE could
     * not, so it waits for room). */
    interval = r->cfg.checkpoint_blocks;
    if (interval != 0 && interval < 4u * (uint64_t)r->log.reserve)
        interval = 4u * (uint64_t)r->log.reserve;
    if (interval != 0 && head_blk - ck_blk >= interval) {
        bool room = free_blocks > 2u * r->log.reserve + 1u;
        /* Written before the next append, not now: maintain runs when a
         * record was journalled, and the group half journals before it
         * applies (group_record.c); a checkpoint must hold every record
         * before it. */
        if (room || r->cfg.full_policy != RUNNEL_FULL_REFUSE) {
            /* with room it can wait for the head's next block switch,
             * where its BEGIN starts a block anyway (seal_for_begin) */
            r->ckpt_due_lazy = room && (!r->ckpt_due || r->ckpt_due_lazy);
            r->ckpt_due = true;
            r->ckpt_due_release = !room;
        }
    }
}

/* Would the block switch an append of len bytes needs have to reclaim a
 * block that only a newer checkpoint frees (reclaim.c's rule)? Then write
 * that checkpoint now, out of the reserve, so the append can go on. */
/* Writes a checkpoint ahead of an append whose body (if any) may sit in
 * the buffers the checkpoint encodes in (r->scratch, the group half's
 * record buffer): it is copied to r->replay, which only mount uses. */
static void write_ahead(runnel_t *r, size_t len, const void **body, bool release)
{
    if (body != NULL && *body != NULL && *body != r->replay && len <= r->scratch_cap) {
        memcpy(r->replay, *body, len);
        *body = r->replay;
    }
    /* failing is not the append's error: reclaim stays safe */
    if (runnel__checkpoint_write(r) == 0) {
        r->ckpt_due = false;
        r->ckpt_due_lazy = false;
        /* Written into the reserve to release the tail: the append that
         * follows opens a block, so the ring gives back what the
         * checkpoint released - and the reserve is free again - before a
         * record after it reads an old node again (which would pin its
         * block until yet another checkpoint). The rest of the
         * checkpoint's last block stays unused. */
        r->log.seal = release;
    }
}

void runnel__checkpoint_before_append(runnel_t *r, size_t len, const void **body)
{
    runnel_log_t *log = &r->log;
    uint32_t bs = log->block_size;
    uint64_t tail_blk = log->tail / bs, limit, end_blk;
    runnel_pos_t at;

    if (r->replaying || r->in_checkpoint || len > UINT32_MAX)
        return;
    at = runnel__log_place(log, (uint32_t)len);
    if (r->ckpt_due && (!r->ckpt_due_lazy || at / bs != (log->head - 1u) / bs)) {
        write_ahead(r, len, body, r->ckpt_due_release);
        return;
    }
    if (at / bs == (log->head - 1u) / bs)
        return;                 /* no block switch */
    limit = runnel__log_span_limit(log);
    if (at / bs - tail_blk < limit)
        return;                 /* no reclaim */
    /* The log reclaims every block up to end_blk in one request (log.c,
     * ensure_room): each must be free of what only a checkpoint releases. */
    end_blk = at / bs - limit + 1u;
    if (r->ckpt_pos != RUNNEL__NO_POS && r->ckpt_pos / bs >= end_blk &&
        !runnel__read_since_checkpoint(r, end_blk * bs))
        return;                 /* the reclaim needs no checkpoint */
    write_ahead(r, len, body, true);
}

/* What runnel_config_t.durable points at (runnel.h): only a program that
 * takes its address links this file. */
const struct runnel_durability runnel_durability = {
    runnel__checkpoint_maybe,
    runnel__checkpoint_before_append,
};

/* ---- loading (mount) ---- */

static int load_stream(runnel_t *r, runnel__reader_t *c)
{
    uint64_t slot = runnel__rd_varint(c), db = runnel__rd_varint(c);
    struct runnel__stream *s;
    runnel_id_t last = runnel__rd_id(c), first = runnel__rd_id(c), maxdel = runnel__rd_id(c), valid = runnel__rd_id(c);
    uint64_t added = runnel__rd_varint(c), length = runnel__rd_varint(c), dropped = runnel__rd_varint(c);
    runnel_str_t name;
    int err;

    if (c->bad || slot >= r->streams_cap || db >= r->cfg.databases)
        return RUNNEL_ERR_CORRUPT;
    name = runnel__rd_rest(c);
    err = runnel__stream_bind(r, (uint32_t)slot, (uint32_t)db, name);
    if (err < 0)
        return err;
    s = &r->streams[slot];
    s->last_id = last;
    s->first_id = first;
    s->max_deleted = maxdel;
    s->last_valid = valid;
    s->entries_added = added;
    s->length = length;
    s->dropped = dropped;
    return 0;
}

static int load_nodes(runnel_t *r, runnel__reader_t *c)
{
    while (c->off < c->len) {
        uint64_t sidx = runnel__rd_varint(c);
        runnel_id_t first = runnel__rd_id(c), last = runnel__rd_id(c);
        uint64_t fpos = runnel__rd_varint(c), lpos = runnel__rd_varint(c), fsize = runnel__rd_varint(c);
        uint64_t count = runnel__rd_varint(c), live = runnel__rd_varint(c), lp = runnel__rd_varint(c);
        uint64_t hash = runnel__rd_varint(c);
        uint8_t flags = runnel__rd_u8(c);
        uint32_t nslot, bm;
        struct runnel__node *n;

        if (c->bad || sidx >= r->streams_cap || !r->streams[sidx].used || count == 0 ||
            count > r->cfg.node_entries_cap || live > count || fpos > lpos ||
            fsize > UINT32_MAX || lp > UINT32_MAX || hash > UINT32_MAX)
            return RUNNEL_ERR_CORRUPT;
        bm = (uint32_t)(count + 7u) / 8u;
        if ((flags & 2u) && bm > c->len - c->off)
            return RUNNEL_ERR_CORRUPT;
        nslot = runnel__node_alloc(r);
        if (nslot == RUNNEL__NONE)
            return RUNNEL_ERR_POOL_NODES;
        n = &r->nodes[nslot];
        n->sidx = (uint32_t)sidx;
        n->first = first;
        n->last = last;
        n->first_pos = fpos;
        n->last_pos = lpos;
        n->first_size = (uint32_t)fsize;
        n->count = (uint32_t)count;
        n->live = (uint32_t)live;
        n->lp_rest = (uint32_t)lp;
        n->fields_hash = (uint32_t)hash;
        n->unordered = (flags & 1u) != 0;
        if (flags & 2u) {
            memcpy(r->bitmaps + (size_t)nslot * r->bitmap_bytes, c->p + c->off, bm);
            c->off += bm;
        }
        runnel__node_insert(r, nslot);
    }
    return 0;
}

int runnel__checkpoint_load(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    runnel__reader_t c;

    runnel__reader_init(&c, body, rec->len);
    switch (rec->type) {
    case RUNNEL_REC_CKPT_BEGIN:
        r->ckpt_seq = runnel__rd_varint(&c);
        return c.bad ? RUNNEL_ERR_CORRUPT : 0;
    case RUNNEL_REC_CKPT_STREAM:
        return load_stream(r, &c);
    case RUNNEL_REC_CKPT_NODES:
        return load_nodes(r, &c);
    case RUNNEL_REC_CKPT_END:
        return 0;
    case RUNNEL_REC_SYNC_CURSOR:
        return runnel__cursor_replay(r, rec, body);
    case RUNNEL_REC_CKPT_GROUP:
        if (rec->len < 1u || (body[0] != RUNNEL_REC_GROUP_CREATE &&
                              body[0] != RUNNEL_REC_CONSUMER_CREATE &&
                              body[0] != RUNNEL_REC_NACK_STATE))
            return RUNNEL_ERR_CORRUPT;
        return runnel__groups_replay(r, body[0], body + 1, rec->len - 1u);
    default:
        return RUNNEL_ERR_CORRUPT;
    }
}
