/*
 * mount.c - runnel_mount: a store on the device opened again after a
 * restart or a power cut, every stream, node, group, consumer and pending
 * entry as it was at the last commit.
 *
 *   1. The log finds its tail and head from block headers and the newest
 *      block (core/log.c, FORMAT.md section 6). Nothing is written.
 *   2. The newest complete checkpoint (CKPT_BEGIN .. CKPT_END with the same
 *      number, checkpoint.c). Its BEGIN is the first record of a block
 *      (FORMAT.md, format 3), so the first record of each block, newest
 *      first, finds it; if the one found was cut short, its load fails and
 *      mount starts over walking the record headers back instead.
 *   3. From its BEGIN to the head every record is applied again: the
 *      checkpoint's own records load the state, and each later record runs
 *      the change it journals (stream_replay.c, group_replay.c). A closed
 *      block after the checkpoint is applied from its summary instead (the
 *      first record of the next block, stream_summary.c): its NODE items
 *      and the records its pointers name, never its entry records; one
 *      without a usable summary, and the head's block, record by record.
 *      Without a checkpoint the replay starts at the tail, which is then
 *      the store's first block: the reclaim policy gives no block back before the
 *      first checkpoint exists (reclaim.c).
 *
 * What no record journals is the full-ring policy's drop (DROP_OLDEST
 * drops the nodes starting in the blocks the log reclaims). The replay does
 * it again where it happened: the log reclaims only when its head enters a
 * new block, and that block's header records the tail it had then, so when
 * the replay reaches a new block it drops every node that starts before
 * that tail, treating the nodes that the block's first record removes
 * itself as that record's, as the run did (the doom of reclaim.c).
 *
 * Bounded cost is the checkpoint's business: mount replays at most
 * `checkpoint_blocks` blocks past it (plus the checkpoint), and step 2
 * goes back only as far as that checkpoint. Steps 2 and 3 read a block's
 * records through a window (log.h), one device read per stretch of up to
 * 4 KiB; the reads of each step are counted in r->mount_phase_*.
 */
#include <string.h>

#include "store.h"

/* Charges the device reads made since the last call to step `phase`. */
static void phase_done(runnel_t *r, int phase)
{
    uint64_t calls = r->log.read_calls, bytes = r->log.bytes_read;
    int p;

    for (p = 0; p < RUNNEL__MOUNT_PHASES; p++) {
        calls -= r->mount_phase_calls[p];
        bytes -= r->mount_phase_bytes[p];
    }
    r->mount_phase_calls[phase] += calls;
    r->mount_phase_bytes[phase] += bytes;
}

static bool is_group_type(uint8_t t)
{
    return t >= 0x20u && t <= 0x2Fu;
}

static bool is_stream_type(uint8_t t)
{
    t = runnel__entry_type_base(t);   /* relocated copies too */
    return t >= 0x10u && t <= 0x1Fu;
}

static bool is_ckpt_type(uint8_t t)
{
    return (t >= RUNNEL_REC_CKPT_BEGIN && t <= RUNNEL_REC_CKPT_GROUP) ||
           t == RUNNEL_REC_CKPT_NODE_RUN || t == RUNNEL_REC_CKPT_NODE_MORE ||
           t == RUNNEL_REC_CKPT_PEL_RUN ||
           t == RUNNEL_REC_CKPT_NODE_DIR || t == RUNNEL_REC_CKPT_DIR_REF;
}

/* A record of a node run a checkpoint writes ahead of its BEGIN. */
static bool is_run_type(uint8_t t)
{
    return t == RUNNEL_REC_CKPT_NODE_RUN || t == RUNNEL_REC_CKPT_NODE_MORE;
}

/* The number a CKPT_BEGIN or CKPT_END carries (its first varint). */
static int ckpt_number(runnel_t *r, const runnel__rec_t *rec, uint64_t *seq)
{
    int err, k;

    if (rec->len > r->scratch_cap)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_read_body(&r->log, rec, r->replay, r->scratch_cap);
    if (err < 0)
        return err;
    k = runnel__varint_get(r->replay, rec->len, seq);
    return k > 0 ? 0 : RUNNEL_ERR_CORRUPT;
}

/* Step 2: the BEGIN of the newest complete checkpoint, or NO_POS. The
 * blocks are walked from the newest back, record headers only, until one
 * holds a BEGIN whose END was seen: checkpoints come every
 * checkpoint_blocks blocks, so that is a bounded walk, not the ring.
 * Checkpoint numbers grow with position and a failed checkpoint's number
 * is used again by the next, so the ENDs seen form a range. */
static int find_checkpoint(runnel_t *r, runnel_pos_t *begin, uint64_t *number)
{
    uint32_t bs = r->log.block_size;
    uint64_t b, tail_blk = r->log.tail / bs, end_min = UINT64_MAX, end_max = 0, seq;
    runnel__rec_t rec;
    int got, err;

    *begin = RUNNEL__NO_POS;
    if (r->log.head <= r->log.tail)
        return 0;
    for (b = (r->log.head - 1u) / bs;; b--) {
        runnel_pos_t pos = b * bs + RUNNEL_LOG_HDR_SIZE, cand = RUNNEL__NO_POS;
        uint64_t cand_seq = 0;

        runnel__log_window_block(&r->log, b);
        while ((got = runnel__log_next(&r->log, pos, &rec)) == 1 && rec.pos < (b + 1u) * bs) {
            if (rec.type == RUNNEL_REC_CKPT_BEGIN || rec.type == RUNNEL_REC_CKPT_END) {
                err = ckpt_number(r, &rec, &seq);
                if (err < 0)
                    return err;
                if (rec.type == RUNNEL_REC_CKPT_END) {
                    end_min = seq < end_min ? seq : end_min;
                    end_max = seq > end_max ? seq : end_max;
                } else {
                    cand = rec.pos;     /* the block's last BEGIN ... */
                    cand_seq = seq;
                }
            }
            pos = rec.next;
        }
        if (got < 0)
            return got;
        /* ... counts when its END came after it (here or in a later block) */
        if (cand != RUNNEL__NO_POS && end_min <= cand_seq && cand_seq <= end_max) {
            *begin = cand;
            *number = cand_seq;
            return 0;
        }
        if (b == tail_blk)
            return 0;
    }
}

/* Step 2 on a format-3 store, where every checkpoint's BEGIN is the first
 * record of its block (FORMAT.md 8.1): the newest block, from the head
 * back to the tail, whose first record is a BEGIN. One small read per
 * block (the first record's frame and a few body bytes), and the candidate
 * verified through the usual reader (fence, CRC). Whether that checkpoint
 * is complete shows while it loads: one cut short fails the load, and
 * mount starts again with the walk of find_checkpoint. */
static int find_checkpoint_fast(runnel_t *r, runnel_pos_t *begin, uint64_t *number)
{
    uint32_t bs = r->log.block_size, got;
    uint64_t b, tail_blk = r->log.tail / bs, seq;
    uint8_t peek[RUNNEL_VARINT_MAX];
    runnel__rec_t rec;
    int err;

    *begin = RUNNEL__NO_POS;
    if (r->log.head <= r->log.tail)
        return 0;
    runnel__log_window_block(&r->log, UINT64_MAX);  /* small reads only */
    for (b = (r->log.head - 1u) / bs;; b--) {
        runnel_pos_t first = b * bs + r->log.hdr_size;

        err = first < r->log.head ? runnel__log_peek(&r->log, first, &rec, peek, 1, &got)
                                  : RUNNEL_ERR_CORRUPT;
        /* a PAD, a FENCE or bytes that do not parse: ask the reader */
        if (err == RUNNEL_ERR_CORRUPT || (err == 0 && rec.type == RUNNEL_REC_FENCE)) {
            err = runnel__log_next(&r->log, first, &rec);
            err = err == 1 ? 0 : err == 0 ? RUNNEL_ERR_CORRUPT : err;
        }
        if (err != 0 && err != RUNNEL_ERR_CORRUPT)
            return err;
        if (err == 0 && is_run_type(rec.type) && rec.pos / bs == b) {
            /* A checkpoint's node runs open its first block (checkpoint_
             * stub.c) and its BEGIN follows the last of them: walk the
             * runs' headers (a few per block) to what comes after. */
            runnel_pos_t pos = rec.next;
            int got2;

            while ((got2 = runnel__log_next(&r->log, pos, &rec)) == 1 && rec.pos / bs == b &&
                   is_run_type(rec.type))
                pos = rec.next;
            if (got2 < 0 && got2 != RUNNEL_ERR_CORRUPT)
                return got2;
            if (got2 == 1 && rec.type == RUNNEL_REC_CKPT_BEGIN && rec.pos / bs == b &&
                ckpt_number(r, &rec, &seq) == 0) {
                *begin = rec.pos;
                *number = seq;
                return 0;
            }
        } else if (err == 0 && rec.type == RUNNEL_REC_CKPT_BEGIN && rec.pos / bs == b) {
            err = runnel__log_next(&r->log, first, &rec);   /* fence, CRC */
            if (err < 0)
                return err;
            if (err == 1 && rec.type == RUNNEL_REC_CKPT_BEGIN && rec.pos / bs == b &&
                ckpt_number(r, &rec, &seq) == 0) {
                *begin = rec.pos;
                *number = seq;
                return 0;
            }
        }
        if (b == tail_blk)
            return 0;
    }
}

/* The nodes the first record of a block removes itself (what reclaim.c's
 * doom did while that record was appended). */
static void doom_of(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    struct runnel__doom *d = &r->doom;
    uint64_t slot = 0, v = 0;
    int k;

    memset(d, 0, sizeof(*d));
    d->flush = -1;
    d->sidx = RUNNEL__NONE;
    if (rec->type == RUNNEL_REC_FLUSH && rec->len >= 2u) {
        k = runnel__varint_get(body + 1, rec->len - 1u, &v);
        if (k > 0 && v <= UINT32_MAX) {
            d->active = true;
            d->flush = (body[0] & 1u) ? 1 : 0;
            d->db = (uint32_t)v;
        }
        return;
    }
    if (rec->type != RUNNEL_REC_TRIM && rec->type != RUNNEL_REC_STREAM_DELETE)
        return;
    k = runnel__varint_get(body, rec->len, &slot);
    if (k <= 0 || slot >= r->streams_cap)
        return;
    d->active = true;
    d->sidx = (uint32_t)slot;
    if (rec->type == RUNNEL_REC_STREAM_DELETE) {
        d->all = true;
        return;
    }
    if ((uint32_t)k + 1u < rec->len) {
        d->all = (body[k] & 1u) != 0;
        if (runnel__varint_get(body + k + 1, rec->len - (uint32_t)k - 1u, &v) > 0 &&
            v <= UINT32_MAX)
            d->nodes = (uint32_t)v;
    }
}

/* What the replay carries from record to record and block to block. */
typedef struct replay_state {
    uint64_t block;         /* the block of the last record applied */
    uint64_t dropped_to;    /* the tail the full-ring drop last went to */
    bool dropped_any;
    bool drop_pending;      /* a drop up to pending_tail waits for the
                               block's first record (past its summary) */
    uint64_t pending_tail;
    uint32_t created;       /* slot of a STREAM_CREATE not yet followed
                               by another state record */
} replay_state_t;

/* Entering block b: the blocks passed without a record must carry a
 * writer's header too (a damaged one would otherwise drop a block of
 * records unnoticed and leave counters that no entry backs), and the
 * full-ring drop up to the tail b's header says the log had then waits
 * for b's first record (its doom). O(nodes) only when the tail moved: no
 * node can start below a tail once dropped there. */
static int enter_block(runnel_t *r, replay_state_t *st, uint64_t b)
{
    uint64_t tail_seq;
    int err;

    while (++st->block < b) {
        err = runnel__log_block_tail(&r->log, st->block, &tail_seq);
        if (err < 0)
            return err;
    }
    err = runnel__log_block_tail(&r->log, b, &tail_seq);
    if (err < 0)
        return err;
    if (st->drop_pending) {     /* the block before had no record after
                                   its summary */
        err = runnel__drop_before(r, st->pending_tail * r->log.block_size);
        if (err < 0)
            return err;
        st->drop_pending = false;
    }
    if (!st->dropped_any || tail_seq > st->dropped_to) {
        st->drop_pending = true;
        st->pending_tail = tail_seq;
        st->dropped_to = tail_seq;
        st->dropped_any = true;
    }
    return 0;
}

/* The pending drop, with the nodes `first` (the block's first record, or
 * NULL) removes itself treated as its own, as the run did (reclaim.c). */
static int drop_pending(runnel_t *r, replay_state_t *st, const runnel__rec_t *first,
                        const uint8_t *body)
{
    int err;

    if (!st->drop_pending)
        return 0;
    if (first != NULL)
        doom_of(r, first, body);
    err = runnel__drop_before(r, st->pending_tail * r->log.block_size);
    r->doom.active = false;
    st->drop_pending = false;
    return err;
}

/* One journal record (not a checkpoint's) applied again. */
static int apply_record(runnel_t *r, replay_state_t *st, const runnel__rec_t *rec)
{
    uint64_t slot;
    int err;

    if (is_ckpt_type(rec->type))
        return 0;   /* a later checkpoint (complete or cut short) says
                       what the replay rebuilt already */
    if (is_stream_type(rec->type))
        err = runnel__stream_replay(r, rec, r->replay);
    else if (is_group_type(rec->type))
        err = runnel__groups_replay(r, rec->type, r->replay, rec->len);
    else if (rec->type == RUNNEL_REC_SYNC_CURSOR)
        err = runnel__cursor_replay(r, rec, r->replay);
    else if (rec->type == RUNNEL_REC_SPAN)
        err = runnel__span_replay(r, rec);    /* its pieces follow: skipped */
    else
        return 0;   /* log-layer or later-version records: not state */
    if (err < 0)
        return err;
    if (err > 0)
        return 0;   /* changed no stream's contents (an orphan, a
                       relocation): a creation before it is still
                       waiting for its second record */
    st->created = RUNNEL__NONE;
    if (rec->type == RUNNEL_REC_STREAM_CREATE &&
        runnel__varint_get(r->replay, rec->len, &slot) > 0)
        st->created = (uint32_t)slot;
    return 0;
}

/* A record the replay applies: its body into r->replay (CRC checked),
 * counted as mount's. */
static int read_replayed(runnel_t *r, const runnel__rec_t *rec)
{
    int err;

    if (rec->len > r->scratch_cap)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_read_body(&r->log, rec, r->replay, r->scratch_cap);
    if (err < 0)
        return err;
    r->mount_records++;
    r->mount_bytes_read += rec->next - rec->pos;
    return 0;
}

/* The summary of block b (the first record of b + 1, FORMAT.md "Block
 * summaries") into r->sum.buf: its length, or 0 when there is none to use
 * (none written, cut short, another block's). */
static int read_summary(runnel_t *r, uint64_t b, uint32_t *len)
{
    runnel__rec_t rec;
    uint64_t seq;
    int got, k;

    *len = 0;
    got = runnel__log_next(&r->log, (b + 1u) * r->log.block_size + r->log.hdr_size, &rec);
    if (got == RUNNEL_ERR_CORRUPT || got == 0)
        return 0;
    if (got < 0)
        return got;
    if (rec.type != RUNNEL_REC_BLOCK_SUMMARY || rec.pos / r->log.block_size != b + 1u ||
        rec.len > r->sum.cap)
        return 0;
    got = runnel__log_read_body(&r->log, &rec, r->sum.buf, r->sum.cap);
    if (got == RUNNEL_ERR_CORRUPT)
        return 0;
    if (got < 0)
        return got;
    r->mount_bytes_read += rec.next - rec.pos;
    k = runnel__varint_get(r->sum.buf, rec.len, &seq);
    if (k <= 0 || seq != (b & 0xFFFFFFFFu))    /* the header's 32 bits */
        return 0;
    *len = rec.len;
    return k;
}

/* Block b replayed from its summary: the NODE items applied, the records
 * the pointers name read and applied, in the order written. Returns 1, or
 * 0 when b has no usable summary (the caller replays its records). */
static int summary_block(runnel_t *r, replay_state_t *st, uint64_t b)
{
    runnel_pos_t blk = b * r->log.block_size;
    runnel__reader_t rd;
    runnel__rec_t rec;
    uint32_t len, last_off = 0;
    bool first = true;
    int err, k;

    if (r->sum.buf == NULL || r->mount_no_summaries)
        return 0;
    runnel__log_window_block(&r->log, UINT64_MAX);      /* small reads only */
    k = read_summary(r, b, &len);
    if (k <= 0)
        return k;
    r->mount_summaries++;
    err = b != st->block ? enter_block(r, st, b) : 0;
    if (err < 0)
        return err;
    runnel__reader_init(&rd, r->sum.buf, len);
    rd.off = (uint32_t)k;
    while (rd.off < rd.len) {
        uint8_t tag = runnel__rd_u8(&rd);

        if ((tag & 0xF0u) == RUNNEL__SUM_NODE || (tag & 0xE0u) == RUNNEL__SUM_GROWN) {
            err = drop_pending(r, st, NULL, NULL);
            if (err == 0)
                err = runnel__summary_apply_node(r, &rd, blk, tag, &last_off);
            if (err < 0)
                return err;
            st->created = RUNNEL__NONE;
        } else if (tag == RUNNEL__SUM_PTR || tag == RUNNEL__SUM_PTR_FIRST) {
            uint64_t off = runnel__rd_varint(&rd);

            if (rd.bad || off < r->log.hdr_size || off >= r->log.block_size)
                return RUNNEL_ERR_CORRUPT;
            err = runnel__log_header(&r->log, blk + off, &rec);
            if (err < 0)
                return err;
            if (!runnel__summary_points_at(rec.type) || rec.next > blk + r->log.block_size)
                return RUNNEL_ERR_CORRUPT;
            err = read_replayed(r, &rec);
            if (err < 0)
                return err;
            err = drop_pending(r, st, tag == RUNNEL__SUM_PTR_FIRST && first ? &rec : NULL,
                               r->replay);
            if (err == 0)
                err = apply_record(r, st, &rec);
            if (err < 0)
                return err;
        } else {
            return RUNNEL_ERR_CORRUPT;
        }
        first = false;
    }
    err = drop_pending(r, st, NULL, NULL);
    return err < 0 ? err : 1;
}

/* Step 3: applies the records from `from` to the head; every closed
 * block after the checkpoint through its summary where it has one. */
static int replay(runnel_t *r, runnel_pos_t from, bool from_checkpoint, uint64_t number)
{
    runnel__rec_t rec;
    runnel_pos_t pos = from;
    uint32_t bs = r->log.block_size;
    uint64_t seq, head_blk = (r->log.head - 1u) / bs, tried = UINT64_MAX;
    replay_state_t st;
    bool loading = from_checkpoint;
    int got, err;

    memset(&st, 0, sizeof st);
    st.block = from / bs;
    st.created = RUNNEL__NONE;
    for (;;) {
        uint64_t b = pos / bs;

        /* a closed block entered at its start: its summary, if usable */
        if (!loading && pos % bs <= r->log.hdr_size && b < head_blk && b != tried &&
            (b != st.block || pos == from)) {
            tried = b;
            err = summary_block(r, &st, b);
            if (err < 0)
                return err;
            if (err == 1) {
                pos = (b + 1u) * bs;
                continue;
            }
        }
        got = runnel__log_next(&r->log, pos, &rec);
        if (got != 1)
            break;
        b = rec.pos / bs;
        if (b != st.block && !loading && b < head_blk && b != tried) {
            pos = b * bs;       /* a new closed block: try its summary */
            continue;
        }
        runnel__log_window_block(&r->log, b);
        pos = rec.next;
        err = read_replayed(r, &rec);
        if (err < 0)
            return err;
        if (b != st.block) {
            err = enter_block(r, &st, b);
            if (err < 0)
                return err;
        }
        if (rec.type != RUNNEL_REC_BLOCK_SUMMARY) {
            err = drop_pending(r, &st, &rec, r->replay);
            if (err < 0)
                return err;
        }
        if (loading) {
            err = runnel__checkpoint_load(r, &rec, r->replay);
            if (err < 0)
                return err;
            if (rec.type == RUNNEL_REC_CKPT_END) {
                if (runnel__varint_get(r->replay, rec.len, &seq) <= 0 || seq != number)
                    return RUNNEL_ERR_CORRUPT;
                loading = false;
                phase_done(r, RUNNEL__MOUNT_LOAD);
            }
            continue;
        }
        err = apply_record(r, &st, &rec);
        if (err < 0)
            return err;
    }
    err = drop_pending(r, &st, NULL, NULL);
    if (got < 0)
        return got;
    if (err < 0)
        return err;
    if (loading)
        return RUNNEL_ERR_CORRUPT;
    phase_done(r, RUNNEL__MOUNT_REPLAY);
    /* The replay drops at the tail a block's header names. A cut after
     * the ring erased the block it reclaimed but before the header of the
     * block it was opening reached flash leaves no such header, yet the
     * erased block is gone and the log's tail is past it (FORMAT.md 6.2):
     * the nodes that started there have no records left, so they go as
     * the run dropped them. */
    {
        uint64_t dropped = r->stats.dropped_entries;
        uint64_t nodes = (uint64_t)r->nodes_used + r->stub_extra;  /* loading a stub is no change */

        err = runnel__drop_before(r, r->log.tail);
        if (err < 0)
            return err;
        /* No record says so: the first append writes a checkpoint before
         * it, or a later mount - replaying the records written after this
         * one before it drops these nodes - would apply them to a state
         * that still has them. */
        if (r->stats.dropped_entries != dropped || (uint64_t)r->nodes_used + r->stub_extra != nodes)
            r->ckpt_due = true;
    }
    /* A stream is created together with its first entry (XADD) or group
     * (XGROUP CREATE MKSTREAM), two records committed together. A creation
     * that ends the log is such a pair cut in half by the power: the
     * command never completed, and the key it would have made is not
     * there either. Mount writes nothing: the first append after it
     * records the STREAM_DELETE (commit.c), so the next mount agrees. */
    if (st.created != RUNNEL__NONE && st.created < r->streams_cap &&
        r->streams[st.created].used && r->streams[st.created].length == 0 &&
        runnel__stream_groups(r, st.created) == 0) {
        runnel__stream_forget(r, st.created);
        r->cancel_slot = st.created;   /* journalled by the first append */
    }
    return 0;
}

/* Step 4: every stream's length is the live entries of its nodes. A
 * damaged image can break that with records whose CRCs check - a
 * checkpoint's counters next to nodes the replay never met, a type byte
 * that reads erased in the middle of a block (readers move on to the next
 * block there, FORMAT.md 6.2) - and would then mount with entries counted
 * that no read returns (found by the mount fuzzer). Such a store is
 * CORRUPT. Costs one pass over the nodes in use and the stream table. */
static int check_lengths(const runnel_t *r)
{
    uint64_t by_nodes = 0, by_streams = 0, sum;
    uint32_t i = 0, sidx;

    while (i < r->nodes_used) {   /* node_order is sorted by stream */
        sidx = r->nodes[r->node_order[i]].sidx;
        if (sidx >= r->streams_cap || !r->streams[sidx].used)
            return RUNNEL_ERR_CORRUPT;
        for (sum = 0; i < r->nodes_used && r->nodes[r->node_order[i]].sidx == sidx; i++) {
            const struct runnel__node *n = &r->nodes[r->node_order[i]];
            if (n->live > n->count)
                return RUNNEL_ERR_CORRUPT;
            sum += n->live;
        }
        if (sum != r->streams[sidx].length)
            return RUNNEL_ERR_CORRUPT;
        by_nodes += sum;
    }
    for (sidx = 0; sidx < r->streams_cap; sidx++)
        if (r->streams[sidx].used)
            by_streams += r->streams[sidx].length;
    return by_streams == by_nodes ? 0 : RUNNEL_ERR_CORRUPT;   /* none without nodes */
}

/* One attempt: the checkpoint found by the first bytes of the blocks
 * (fast) or by the walk. *again says a failure may be the fast way's (a
 * newest checkpoint cut short) and the walk should be tried. */
static int mount_once(runnel_t *r, bool fast, bool *again)
{
    runnel_pos_t begin;
    uint64_t number = 0;
    int err;

    *again = false;
    err = runnel__log_mount(&r->log);
    if (err < 0)
        return err;
    phase_done(r, RUNNEL__MOUNT_LOG);
    runnel__log_window(&r->log, r->mount_win, r->mount_win_cap);
    runnel__lock(r);
    r->replaying = true;
    err = fast ? find_checkpoint_fast(r, &begin, &number) : find_checkpoint(r, &begin, &number);
    phase_done(r, RUNNEL__MOUNT_FIND);
    if (err == 0)
        err = replay(r, begin != RUNNEL__NO_POS ? begin : r->log.tail, begin != RUNNEL__NO_POS,
                     number);
    if (err == 0)
        err = check_lengths(r);
    r->replaying = false;
    runnel__log_window(&r->log, NULL, 0);
    if (err == 0) {
        r->ckpt_pos = begin;
        /* the checkpoint's runs (its CKPT_NODE_DIR set the floor to the
         * first of them) or its BEGIN: reclaim keeps both */
        if (begin == RUNNEL__NO_POS || r->ckpt_floor == RUNNEL__NO_POS || r->ckpt_floor > begin)
            r->ckpt_floor = begin;
        r->ckpt_seq = begin != RUNNEL__NO_POS ? number : 0;
        runnel__commit_mark(r);
        /* the head block's first records are not in the RAM summary: it
         * gets none (a later mount replays its records) */
        runnel__summary_start(r, (r->log.head - 1u) / r->log.block_size, false);
    }
    runnel__unlock(r);
    *again = err < 0 && fast;
    return err;
}

static int mount_with(runnel_t **out, const runnel_config_t *cfg, bool summaries)
{
    runnel_t *r = NULL;
    uint64_t calls, bytes, pc[RUNNEL__MOUNT_PHASES], pb[RUNNEL__MOUNT_PHASES];
    bool again;
    int err;

    if (out == NULL || cfg == NULL || cfg->durable == NULL)
        return RUNNEL_ERR_INVAL;
    *out = NULL;
    err = runnel__open(&r, cfg);
    if (err < 0)
        return err;
    r->mount_no_summaries = !summaries;
    err = mount_once(r, true, &again);
    if (again) {
        /* The walk, from a fresh start (runnel__open clears the state);
         * what the first attempt read still counts. */
        calls = r->log.read_calls;
        bytes = r->log.bytes_read;
        memcpy(pc, r->mount_phase_calls, sizeof pc);
        memcpy(pb, r->mount_phase_bytes, sizeof pb);
        err = runnel__open(&r, cfg);
        if (err < 0)
            return err;
        r->mount_no_summaries = !summaries;
        r->log.read_calls = calls;
        r->log.bytes_read = bytes;
        memcpy(r->mount_phase_calls, pc, sizeof pc);
        memcpy(r->mount_phase_bytes, pb, sizeof pb);
        err = mount_once(r, false, &again);
    }
    if (err < 0)
        return err;
    *out = r;
    return 0;
}

int runnel_mount(runnel_t **out, const runnel_config_t *cfg)
{
    return mount_with(out, cfg, true);
}

int runnel__mount_no_summaries(runnel_t **out, const runnel_config_t *cfg)
{
    return mount_with(out, cfg, false);
}
