/*
 * relocate.c - the RELOCATE full-ring policy: live nodes in the blocks the
 * ring must give back are copied forward, IDs and all, before the append
 * that needs those blocks, so one stream with long retention does not pin
 * the ring while the others are trimmed.
 *
 * The log cannot relocate inside its reclaim callback (that runs in the
 * middle of an append), so, as checkpoint.c writes its checkpoint ahead of
 * an append, runnel__relocate_before_append runs before each append
 * (commit.c): when the block switch the append needs would have to reclaim
 * a block where a live node starts, that node is copied to the head first,
 * oldest first, until the blocks to reclaim hold no live node. The copies
 * go into a headroom of blocks the log keeps free of everything else
 * (log.h: headroom), so relocating never needs the block it empties, and
 * the checkpoint reserve is never touched. The work per append is bounded
 * by the headroom: copying stops when the next copy would need a block the
 * ring cannot give back, and the append then fails with NOSPC as under
 * REFUSE, nothing lost (the exact rule: README "Durable stores", FORMAT.md
 * "Relocation").
 *
 * A node is copied whole, record by record (deleted entries too: node
 * boundaries, counts, the deletion bitmap and the listpack model are what
 * Redis shows through XINFO and `~` trimming, so they must not change):
 *   entry 0  as RELOC_MASTER (0x1D), the 0x10 body unchanged, so the
 *            node's first record keeps its size;
 *   entry i  with its own type and body, only its links recomputed for
 *            the new positions (they lead to the copies);
 * then RELOC_DONE (0x1E) {slot, master ID, first_pos, last_pos - first_pos}
 * moves the node's descriptor to the copies. A replay (stream_replay.c)
 * ignores the copies - a 0x1D starts no node, and the other copies are
 * orphans by the entry rule (their link 0 never lands on a tail node's
 * last record) - and applies RELOC_DONE. A copy cut short by a power cut
 * has no RELOC_DONE: its records belong to no node.
 *
 * The copies are reads that no replay repeats (RELOC_DONE reads nothing),
 * so they pin nothing; a node a journalled change read since the newest
 * checkpoint keeps its old block pinned (pin_floor, as a removed node).
 */
#include <string.h>

#include "store.h"

/* Blocks the log keeps free for copies. A checkpoint written into the
 * reserve (checkpoint.c) leaves the head up to `reserve` blocks past the
 * usual limit, and the block switch after it reclaims that many blocks
 * and one more at once: their live nodes are copied in one go. So the
 * headroom is the reserve again, plus one whole node and the block its
 * last copy may leave unused. A node closes at node_max_bytes of modelled
 * listpack (our records carry at most about half as much again in framing
 * and links for small entries), or at one block without a byte limit. */
static uint32_t headroom_blocks(const runnel_t *r)
{
    uint32_t usable = r->log.block_size - RUNNEL_LOG_HDR_SIZE;
    uint64_t node = r->node_max_bytes != 0 ? r->node_max_bytes + r->node_max_bytes / 2u : usable;

    return (uint32_t)(r->log.reserve + 1u + (node + usable - 1u) / usable);
}

/* The oldest live node that starts before `end` and was not copied by
 * this call (its copies start at or after `fresh`); RUNNEL__NONE if none.
 * A node the running append is about to remove (doomed) needs no copy,
 * and the node XADD's pending record links into stays (appending_to). */
static uint32_t oldest_live(const runnel_t *r, runnel_pos_t end, runnel_pos_t fresh)
{
    uint32_t p, best = RUNNEL__NONE;

    for (p = 0; p < r->nodes_used; p++) {
        uint32_t nslot = r->node_order[p];
        const struct runnel__node *n = &r->nodes[nslot];

        if (n->first_pos >= end || n->first_pos >= fresh || n->live == 0 ||
            nslot == r->appending_to || runnel__node_doomed(r, n))
            continue;
        if (best == RUNNEL__NONE || n->first_pos < r->nodes[best].first_pos)
            best = nslot;
    }
    return best;
}

/* Byte offset in an entry record's body where its links start: after
 * slot, ms_rel and (unless the type implies seq 0) seq_rel. */
static int links_offset(uint8_t type, const uint8_t *b, uint32_t len, uint32_t *off)
{
    uint32_t o = 0, f, want = (type == RUNNEL_REC_ENTRY_SEQ0 ||
                               type == RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0) ? 2u : 3u;
    uint64_t v;

    for (f = 0; f < want; f++) {
        int k = runnel__varint_get(b + o, len - o, &v);
        if (k <= 0)
            return RUNNEL_ERR_CORRUPT;
        o += (uint32_t)k;
    }
    *off = o;
    return 0;
}

/* The body of a spanning master (stream_span.c) read from its old
 * pieces, for the copy's own pieces. */
struct span_copy {
    runnel_t *r;
    runnel__span_t sp;
};

static int span_copy_read(void *ctx, uint64_t off, uint8_t *dst, uint32_t n)
{
    struct span_copy *c = ctx;

    if (n == 0)
        return 0;
    return runnel__log_span_read(&c->r->log, &c->sp, off, dst, n, c->r->scratch,
                                 c->r->scratch_cap);
}

/* Entry 0 of a node whose master spans blocks: copied as a spanning
 * RELOC_MASTER with the same body, read piece by piece (the old pieces
 * cannot go while the copy is written: the reclaim that would take one
 * takes the block of the node's start first, which holds a live node). */
static int copy_span_master(runnel_t *r, uint32_t nslot, runnel_pos_t *pos)
{
    struct span_copy c;
    int err;

    c.r = r;
    r->span_valid = false;      /* r->master is read into */
    r->master_valid = false;
    err = runnel__log_span_open(&r->log, r->nodes[nslot].first_pos, &c.sp, r->master,
                                r->scratch_cap);
    if (err < 0)
        return err;
    if (c.sp.type != RUNNEL_REC_ENTRY_NODE_START && c.sp.type != RUNNEL_REC_RELOC_MASTER)
        return RUNNEL_ERR_CORRUPT;
    return runnel__log_append_span(&r->log, RUNNEL_REC_RELOC_MASTER, c.sp.total, span_copy_read,
                                   &c, pos);
}

/* Appends a copy of entry i of node nslot (r->scan[i].pos, its old
 * record; r->scan[j].pos for j < i are the copies already written) and
 * sets r->scan[i].pos to the copy. */
static int copy_entry(runnel_t *r, uint32_t nslot, uint32_t i)
{
    runnel_log_t *log = &r->log;
    runnel__rec_t rec;
    runnel__iov_t iov[3];
    uint8_t links[RUNNEL__LINKS_MAX * RUNNEL_VARINT_MAX];
    uint32_t ls = 0, le = 0, nl, k, lb = 0, tries;
    uint64_t link0;
    runnel_id_t id;
    runnel_pos_t at, pos, head;
    bool sealed = false;
    uint8_t type;
    int err;

    if (i == 0 && r->nodes[nslot].first_size == 0) {
        err = copy_span_master(r, nslot, &pos);
        if (err < 0)
            return err;
        r->scan[0].pos = pos;
        r->scan[0].size = 0;
        return 0;
    }
    err = runnel__log_header(log, r->scan[i].pos, &rec);
    if (err < 0)
        return err;
    if (rec.len > r->scratch_cap)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_read_body(log, &rec, r->scratch, r->scratch_cap);
    if (err < 0)
        return err;
    /* What the readers check (node.c): an entry of this node, entry 0 a
     * node start with the master's ID. */
    if (runnel__entry_prefix(r, nslot, i, &rec, r->scratch, &id, &link0, &le) < 0)
        return RUNNEL_ERR_CORRUPT;
    if (i == 0) {
        if (runnel_id_cmp(id, r->nodes[nslot].first) != 0)
            return RUNNEL_ERR_CORRUPT;
        type = RUNNEL_REC_RELOC_MASTER;
        iov[0].p = r->scratch;
        iov[0].len = rec.len;
        err = runnel__log_append(log, type, iov, 1, &pos);
    } else {
        /* a copy's own type (store.h): its link 0 is coded for its place */
        type = (uint8_t)(runnel__entry_type_base(rec.type) | RUNNEL_REC_RELOC_ENTRY_BIT);
        err = links_offset(runnel__entry_type_base(rec.type), r->scratch, rec.len, &ls);
        if (err < 0 || ls > le)
            return RUNNEL_ERR_CORRUPT;
        nl = runnel__node_links(i);
        /* The links are distances from the copy's own position, which
         * depends on its length: plan as XADD does, until it is stable. */
        at = runnel__log_place(log, rec.len);
        for (tries = 0;; tries++) {
            runnel_pos_t again;

            lb = 0;
            for (k = 0; k < nl; k++) {
                runnel_pos_t target = r->scan[i - (1u << k)].pos;
                if (target == 0 || target >= at)
                    return RUNNEL_ERR_CORRUPT;
                lb += (uint32_t)runnel__varint_put(
                    links + lb, runnel__link_code(at - target, at - r->scan[i - 1u].pos,
                                                  at - r->scan[0].pos, i, k));
            }
            again = runnel__log_place(log, ls + lb + (rec.len - le));
            if (again < at && !log->seal && !log->fence_pending) {
                /* links coded for the next block can make the copy short
                 * enough for this one (as in stream_add.c's plan): it
                 * opens the next block, where they were planned */
                sealed = true;
                again = runnel__log_place_sealed(log, ls + lb + (rec.len - le));
            }
            if (again == at)
                break;
            if (tries == 3)
                return RUNNEL_ERR_CORRUPT;
            at = again;
        }
        iov[0].p = r->scratch;
        iov[0].len = ls;
        iov[1].p = links;
        iov[1].len = lb;
        iov[2].p = r->scratch + le;
        iov[2].len = rec.len - le;
        head = log->head;
        if (sealed)
            log->seal = true;
        err = runnel__log_append(log, type, iov, 3, &pos);
        if (err < 0 && sealed && log->head == head)
            log->seal = false;          /* refused: the log stays as it was */
        if (err == 0 && pos != at)
            err = RUNNEL_ERR_CORRUPT;   /* log_place mirrors the append */
    }
    if (err < 0)
        return err;
    r->scan[i].pos = pos;
    r->scan[i].size = 0;
    return 0;
}

/* The descriptor of node nslot now names the copies (run and replay). */
static void move_node(runnel_t *r, uint32_t nslot, runnel_pos_t first, runnel_pos_t last)
{
    struct runnel__node *n = &r->nodes[nslot];

    /* A record after the newest checkpoint read the old records: its
     * replay reads them again, so their block stays until a newer
     * checkpoint, as for a removed node (node.c, reclaim.c). */
    if (n->read_at != 0 && (r->ckpt_pos == RUNNEL__NO_POS || n->read_at > r->ckpt_pos) &&
        (r->pin_floor == RUNNEL__NO_POS || n->first_pos < r->pin_floor))
        r->pin_floor = n->first_pos;
    n->read_at = 0;
    /* the master's body is the same bytes at its new place */
    if (r->master_valid && r->master_pos == n->first_pos)
        r->master_pos = first;
    n->first_pos = first;
    n->last_pos = last;
    /* XADD's tail caches are keyed by first_pos and so go stale by
     * themselves; the scan cache is bound to the slot. */
    if (r->scan_node == nslot)
        r->scan_node = RUNNEL__NONE;
}

static int append_done(runnel_t *r, uint32_t nslot, runnel_pos_t first, runnel_pos_t last)
{
    const struct runnel__node *n = &r->nodes[nslot];
    uint8_t b[5u * RUNNEL_VARINT_MAX];
    runnel__iov_t iov;
    runnel_pos_t ignored;
    size_t len = 0;

    len += runnel__varint_put(b + len, n->sidx);
    len += runnel__varint_put(b + len, n->first.ms);
    len += runnel__varint_put(b + len, n->first.seq);
    len += runnel__varint_put(b + len, first);
    len += runnel__varint_put(b + len, last - first);
    iov.p = b;
    iov.len = len;
    return runnel__log_append(&r->log, RUNNEL_REC_RELOC_DONE, &iov, 1, &ignored);
}

/* Copies node nslot to the head: its records, then RELOC_DONE. On failure
 * nothing changed but the orphaned copies. */
static int relocate_node(runnel_t *r, uint32_t nslot)
{
    struct runnel__node *n = &r->nodes[nslot];
    uint64_t before = r->stats.bytes_appended;
    uint32_t count = n->count, i;
    int err;

    err = runnel__node_fill(r, nslot, 0, count);
    for (i = 0; err == 0 && i < count; i++)
        err = runnel__node_found(r, nslot, i) ? copy_entry(r, nslot, i) : RUNNEL_ERR_CORRUPT;
    /* r->scan[] now mixes old and new positions, and a block switch may
     * have removed other nodes (node_gen): forget it. */
    r->scan_node = RUNNEL__NONE;
    if (err == 0)
        err = append_done(r, nslot, r->scan[0].pos, r->scan[count - 1u].pos);
    if (err < 0)
        return err;
    move_node(r, nslot, r->scan[0].pos, r->scan[count - 1u].pos);
    r->stats.relocated_nodes++;
    r->stats.relocated_entries += count;
    r->stats.relocated_bytes += r->stats.bytes_appended - before;
    return 0;
}

/* ---- borrowing the reserve's slack ----
 * Copies go into the headroom, and the ring gives the emptied blocks back
 * only at the next block switch that needs them, so a ring kept near full
 * sits with its head a whole headroom past the usual limit. A copy that
 * then needs a block can only get it by giving back the oldest block -
 * and when a node still to be copied starts there (its own copy, say, or
 * the newest node of a stream after an XTRIM emptied a ring that had
 * refused), no copy can ever be made: every append would be refused
 * although the ring holds almost nothing. Then the copies may borrow
 * blocks of the checkpoint reserve, at most its slack (the blocks beyond
 * what the next checkpoint was measured to take, checkpoint.c), and only
 * when the copies of every live node starting in the blocks to give back,
 * and the append after them, surely fit: the block switch after them gives
 * those blocks back, and the reserve is whole again. Deciding that reads
 * the nodes' record headers, which only a ring past its usual limit
 * does. */

/* Bytes the copies of node nslot take at most, and their largest record:
 * each record as long as its original, plus a byte for its length and, per
 * link, as many bytes as the largest link code the copies can need: a
 * copy's link and the distance its code is against (runnel__link_code)
 * both lie within the copies' own span, so a code stays below twice that
 * span (the copies' links span other distances than the originals'), and
 * the RELOC_DONE. */
static int copies_bytes(runnel_t *r, uint32_t nslot, uint64_t *bytes, uint64_t *largest)
{
    uint32_t count = r->nodes[nslot].count, i, nl, links = 0, most_links = 0;
    uint64_t base = 0, big = 0, per_link, span, bs = r->log.block_size;
    int err = runnel__node_fill(r, nslot, 0, count);

    for (i = 0; err == 0 && i < count; i++) {
        uint64_t size = r->scan[i].size;
        runnel__rec_t rec;

        if (!runnel__node_found(r, nslot, i))
            return RUNNEL_ERR_CORRUPT;
        if (size == 0) {
            err = runnel__log_header(&r->log, r->scan[i].pos, &rec);
            size = rec.next - rec.pos;
        }
        nl = i > 0 ? runnel__node_links(i) : 0u;
        base += size + (i > 0 ? 1u : 0u);
        links += nl;
        if (size + 1u > big)
            big = size + 1u;
        if (nl > most_links)
            most_links = nl;
    }
    /* the copies' span: their bytes, and what each block switch among
     * them leaves out (the rest of a block, a header, a summary) */
    span = base + (uint64_t)links * RUNNEL_VARINT_MAX;
    span += (span / (bs / 2u) + 1u) * bs;
    per_link = runnel__varint_len(2u * span + 1u);
    *bytes += base + links * per_link;
    if (big + most_links * per_link > *largest)
        *largest = big + most_links * per_link;
    *bytes += 1u + 1u + 4u + 5u * RUNNEL_VARINT_MAX;
    return err;
}

/* The last block that records of `bytes` in all, none larger than
 * `largest`, reach when appended from the head: no record straddles a
 * block, so a block holds at least its usable bytes less the largest. */
static uint64_t plan_end_blk(const runnel_log_t *log, uint64_t bytes, uint64_t largest)
{
    uint32_t bs = log->block_size, usable = bs - log->hdr_size;
    uint64_t head_blk = (log->head - 1u) / bs, room = 0, per_block;

    if (largest >= usable)
        return UINT64_MAX;
    per_block = usable - largest;
    if (!log->seal && (head_blk + 1u) * bs - log->head > largest)
        room = (head_blk + 1u) * bs - log->head - largest;
    if (bytes <= room)
        return head_blk;
    return head_blk + (bytes - room + per_block - 1u) / per_block;
}

/* Blocks of the reserve's slack the copies ahead of an append of len bytes
 * may borrow (see above): 0 when they need none or may not. `end` is where
 * the blocks to give back end now, `fresh` where this call's copies start. */
static uint32_t borrow_blocks(runnel_t *r, size_t len, runnel_pos_t end, runnel_pos_t fresh)
{
    runnel_log_t *log = &r->log;
    uint32_t bs = log->block_size, slack, round, p;
    uint64_t tail_blk = log->tail / bs, head_blk = (log->head - 1u) / bs;
    uint64_t limit = runnel__log_span_limit(log), copy_limit, need;
    bool journalled = r->journalled;

    if (r->cfg.durable == NULL || log->reserve <= r->ckpt_need ||
        head_blk + 1u - tail_blk <= limit)
        return 0;               /* a reclaim, not a borrow, makes the room */
    slack = log->reserve - r->ckpt_need;
    copy_limit = log->block_count - (log->reserve < log->block_count - 2u ? log->reserve
                                                                          : log->block_count - 2u);
    r->journalled = false;      /* reading to plan pins nothing */
    for (round = 0; round < 4u; round++) {
        uint64_t bytes = 16u + 1u + 5u + 4u + len, largest = 1u + 5u + 4u + len, end_blk;
        runnel_pos_t next_end;
        int err = runnel__stubs_load_below(r, end);

        for (p = 0; p < r->nodes_used && err == 0; p++) {
            uint32_t nslot = r->node_order[p];
            const struct runnel__node *n = &r->nodes[nslot];

            if (n->first_pos >= end || n->live == 0 || runnel__node_doomed(r, n))
                continue;
            /* copied by this call already (the ring went round), or linked
             * into by the running XADD: no copy can empty those blocks */
            if (n->first_pos >= fresh || nslot == r->appending_to)
                err = RUNNEL_ERR_NOSPC;
            else
                err = copies_bytes(r, nslot, &bytes, &largest);
        }
        end_blk = err == 0 ? plan_end_blk(log, bytes, largest) : UINT64_MAX;
        if (end_blk == UINT64_MAX || end_blk - tail_blk + 1u > copy_limit + slack ||
            bytes + (log->head - fresh) >= (uint64_t)log->headroom * bs)
            break;
        /* the append lands in end_blk at the latest: the blocks to give
         * back for it must be the ones whose nodes were counted */
        next_end = end_blk + 1u > limit ? (end_blk + 1u - limit) * bs : 0;
        if (next_end > end) {
            end = next_end;
            continue;
        }
        if (r->ckpt_pos == RUNNEL__NO_POS || r->ckpt_floor < end ||
            runnel__read_since_checkpoint(r, end))
            break;              /* that needs a checkpoint first: no borrow */
        r->journalled = journalled;
        need = end_blk - tail_blk + 1u;
        return need > copy_limit ? (uint32_t)(need - copy_limit) : 0;
    }
    r->journalled = journalled;
    return 0;
}

void runnel__relocate_before_append(runnel_t *r, size_t len, const void **body)
{
    runnel_log_t *log = &r->log;
    uint32_t bs = log->block_size;
    runnel_pos_t fresh = log->head;
    struct runnel__doom doom = r->doom;
    bool journalled = r->journalled, planned = false;
    uint32_t borrow = 0;

    if (r->replaying || r->in_checkpoint || r->relocating || len > UINT32_MAX)
        return;
    log->headroom = headroom_blocks(r);
    for (;;) {
        runnel_pos_t at = runnel__log_place(log, (uint32_t)len), end;
        uint64_t at_blk = at / bs, limit = runnel__log_span_limit(log);
        uint32_t nslot;
        int err;

        /* The blocks the next block switch of an ordinary append reclaims:
         * for the block this append opens, or - when copies opened blocks
         * in the headroom - for the head's block. */
        if (at_blk < (log->head - 1u) / bs)
            at_blk = (log->head - 1u) / bs;
        if (at_blk - log->tail / bs < limit)
            return;             /* none */
        /* Bounded work: one append copies at most a headroom's worth.
         * A ring that needs more is full (the append gets NOSPC). */
        if (log->head - fresh >= (uint64_t)log->headroom * bs)
            return;
        end = (at_blk - limit + 1u) * bs;
        /* A reclaim there needs a newer checkpoint first (reclaim.c): that
         * is the checkpoint hook's turn (commit.c), then ours again. */
        if (r->cfg.durable != NULL &&
            (r->ckpt_pos == RUNNEL__NO_POS || r->ckpt_floor < end ||
             runnel__read_since_checkpoint(r, end)))
            return;
        /* a stub's nodes are copied one by one (checkpoint_stub.c) */
        if (runnel__stubs_load_below(r, end) < 0)
            return;             /* the append meets what reclaim meets */
        nslot = oldest_live(r, end, fresh);
        if (nslot == RUNNEL__NONE)
            return;
        if (!planned) {
            planned = true;
            borrow = borrow_blocks(r, len, end, fresh);
        }
        /* The body may sit in r->scratch, which the copies are read into:
         * r->replay is only used by mount (checkpoint.c does the same). */
        if (body != NULL && *body != NULL && *body != r->replay && len <= r->scratch_cap) {
            memcpy(r->replay, *body, len);
            *body = r->replay;
        }
        /* A block switch among the copies reclaims with no doom: the replay
         * of a block a copy opens sees none either (mount.c doom_of). The
         * copies' reads are no journalled change's (node.c note_use). */
        r->relocating = true;
        r->doom.active = false;
        r->journalled = false;
        log->use_headroom = true;
        log->reserve -= borrow;
        err = relocate_node(r, nslot);
        log->reserve += borrow;
        log->use_headroom = false;
        r->journalled = journalled;
        r->doom = doom;
        r->relocating = false;
        if (err < 0)
            return;             /* the append meets the full ring: NOSPC */
    }
}

/* RELOC_DONE on replay: slot, master ID, first_pos, last_pos - first_pos. */
int runnel__relocate_replay(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    runnel__reader_t b;
    uint64_t slot, first, span;
    runnel_id_t master;
    uint32_t nslot;

    runnel__reader_init(&b, body, rec->len);
    slot = runnel__rd_varint(&b);
    master.ms = runnel__rd_varint(&b);
    master.seq = runnel__rd_varint(&b);
    first = runnel__rd_varint(&b);
    span = runnel__rd_varint(&b);
    if (b.bad || b.off != b.len || slot >= r->streams_cap || !r->streams[slot].used)
        return RUNNEL_ERR_CORRUPT;
    /* the copies lie between the tail and this record */
    if (first < r->log.tail || first >= rec->pos || span >= rec->pos - first)
        return RUNNEL_ERR_CORRUPT;
    if (runnel__node_twin(r, (uint32_t)slot, master, &nslot) < 0 || nslot == RUNNEL__NONE)
        return RUNNEL_ERR_CORRUPT;
    move_node(r, nslot, first, first + span);
    return 0;
}
