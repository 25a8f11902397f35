/*
 * checkpoint_stub.c - the node runs a checkpoint writes ahead of its
 * BEGIN, and the stubs that stand for them in RAM after a mount until
 * something needs their nodes.
 *
 * A checkpoint holds every node descriptor, about 13 bytes each (FORMAT.md
 * "Checkpoints"): 167 KiB for a 64 MiB store of 32-byte entries, which
 * mount would read whole although a restart touches few of those nodes -
 * the newest one of each stream (XADD), the oldest (the full-ring drop,
 * trimming) and the ones a replayed XREADGROUP read. So a checkpoint
 * writes the nodes of a long stream (more than STUB_MIN_NODES), all but
 * its tail node, as CKPT_NODE_RUN records ahead of its BEGIN, and inside
 * the checkpoint only a directory naming each run (checkpoint_dir.c:
 * about 20 bytes a run, whatever its length). Mount turns each named run
 * into one stub node slot (struct runnel__node says which fields mean
 * what) and reads no run.
 *
 * A stub is loaded - its run read, its CRC and its sums checked, its nodes
 * put in its place - by whatever needs its nodes: a read or a seek by ID,
 * a trim, XDEL, the full-ring drop and the relocation of the oldest
 * blocks (runnel__stubs_load_below), XADD when the tail node went back to
 * one, and every checkpoint (it writes each descriptor again, after which
 * the runs may go with their blocks). Whole-descriptor readers use a stub
 * as it is: stream lengths, MEMORY USAGE, radix-tree-keys, the checkpoint
 * reserve's size, a backlog count over whole nodes.
 *
 * The runs belong to the checkpoint: the reclaim policy keeps every block
 * from the first of them on (r->ckpt_floor, reclaim.c). The first run opens
 * its block, as a BEGIN does without runs; mount's search for the newest
 * checkpoint looks for a BEGIN in a block that a run opens (mount.c).
 * Runs of a checkpoint cut short before its END belong to no checkpoint,
 * and replay skips them as it skips every checkpoint record.
 *
 * A run grows in parts. A stream written among others gains a few nodes
 * between checkpoints, and its newest run was written again with them
 * each time until it was half full: at 64 MiB with 16 streams each
 * descriptor was written about 9 times, 0.036 programmed bytes per
 * payload byte. Now the checkpoint writes the new nodes as a
 * CKPT_NODE_MORE part that names the run's newest record before it, and
 * its DIR entry names the newest part and the first (the floor the
 * reclaim policy keeps). A run grows so to at most RUNNEL__RUN_PARTS_MAX
 * records and stub_cap bytes in all; loading it reads every part, and a
 * loaded run of several parts is named again, or its newest parts are,
 * when their bytes are its nodes encoded again (reusable_from). Past the
 * ring's first pass that is how a run the horizon reaches is named: its
 * later parts from a later floor, the nodes of its older parts in the
 * checkpoint's body (written again whole, such runs cost 1.471
 * programmed bytes per payload byte at 64 MiB with 16 streams; 1.443 so,
 * with the directory's order, checkpoint_dir.c).
 *
 * The slots a stub's nodes will take are reserved (r->stub_extra): a new
 * node is refused when they would not all fit (runnel__nodes_full), so
 * loading a stub never fails for want of a slot. Only a durable program
 * links this file (through runnel_durability.stub_load); where nodes are
 * needed, node_stub.c asks it to load a stub.
 */
#include <string.h>

#include "checkpoint_stub_impl.h"

/* A stream with more nodes than this gets runs; a shorter one is written
 * whole in the checkpoint's body (it costs little to read). */
#define STUB_MIN_NODES 2u

/* What a DIR entry usually takes, for the reserve's measure. */
#define DIR_ENTRY_TYPICAL 24u

/* How many blocks the tail may move before the next checkpoint: its
 * interval (at least four times the reserve, checkpoint.c), the reserve
 * and two blocks of slack (runnel__stub_plan). */
static uint64_t reach_blocks(const runnel_t *r)
{
    return runnel__checkpoint_interval(r) + r->log.reserve + 2u;
}

/* Position `blocks` blocks past the tail's block, at most the head. */
static runnel_pos_t past_tail(const runnel_t *r, uint64_t blocks)
{
    uint64_t blk = r->log.tail / r->log.block_size;
    runnel_pos_t pos = blocks > UINT64_MAX / 2u - blk ? RUNNEL__NO_POS
                                                       : (blk + blocks) * r->log.block_size;

    return pos < r->log.head ? pos : r->log.head;
}

/* A partial trim's doom counts the first nodes of its stream by position
 * (reclaim.c): while one is being appended, that stream gets no stub. */
static bool doom_counts(const runnel_t *r, uint32_t sidx)
{
    const struct runnel__doom *d = &r->doom;

    return d->active && d->flush < 0 && !d->all && d->sidx == sidx;
}

/* The position of a stub's first record: its blocks are kept from there. */
static runnel_pos_t stub_floor(const struct runnel__node *n)
{
    return n->last_pos - n->run_origin;
}

/* Is node nslot (a node or a stub) one the checkpoint keeps in its body? */
static bool keep_inline(const runnel_t *r, uint32_t nslot)
{
    const struct runnel__node *n = &r->nodes[nslot];

    return r->stub_cap <= runnel__ckpt_node_max(r) || r->streams[n->sidx].tail_node == nslot ||
           r->streams[n->sidx].nodes <= STUB_MIN_NODES || n->first_pos < r->stub_horizon ||
           n->run_inline || doom_counts(r, n->sidx);
}

bool runnel__stub_inline(const runnel_t *r, uint32_t nslot)
{
    return keep_inline(r, nslot);
}

/*
 * What a checkpoint keeps where, decided before it is written:
 *   - in its body: the tail node of each stream (XADD appends to it), the
 *     nodes of streams of at most STUB_MIN_NODES nodes, and the nodes
 *     starting below the horizon. Those are what the ring drops before the
 *     next checkpoint (the tail moves about one block per block written
 *     under DROP_OLDEST, and the next checkpoint comes `checkpoint_blocks`
 *     blocks on, at least four times the reserve, checkpoint.c): a mount in
 *     between drops them from there and loads no run to do it. The horizon
 *     is that far past the tail, plus the reserve and two blocks of slack,
 *     at most a quarter of the ring;
 *   - a stub whose run lies below the horizon is loaded and written again
 *     (the reclaim policy keeps every block from the lowest run a
 *     checkpoint names, so a run the tail reaches before the next periodic
 *     checkpoint forces one early: on a ring shorter than four intervals
 *     the quarter-ring cap lets that happen rather than write every run
 *     each time, which starved RELOCATE of room in test_relocate), and so is one that is
 *     to be kept in the body, and a short one that new nodes of its stream
 *     follow (merges);
 *   - every other stub is named again by the DIR, its run left where it is:
 *     a checkpoint writes again only what changed or what the ring reaches.
 */
/* How far apart (log positions) the first nodes of one run may start: an
 * eighth of the ring. The horizon moves over a run's nodes as the tail
 * does, and each checkpoint that finds it straddling the horizon loads
 * it, keeps the nodes below in its body and writes the rest as a new run:
 * with 16 streams a stream's 1 KiB run spanned the whole of a 4 MiB ring,
 * so every checkpoint wrote every stream's run again (the writes cost
 * 1.567 programmed bytes per payload byte past the ring's first pass;
 * 1.527 with runs an eighth of the ring wide, for a directory of a few
 * more entries). */
static uint64_t run_span(const runnel_t *r)
{
    uint32_t blocks = r->log.block_count / 8u;

    if (r->log.block_count / 4u < reach_blocks(r))
        return UINT64_MAX;      /* a small ring: the horizon is capped, and
                                   narrower runs only mean more of them */
    return (uint64_t)(blocks > 0 ? blocks : 1u) * r->log.block_size;
}

/* May node b follow node a (same stream) in one run, by position? */
static bool spans_one_run(const runnel_t *r, const struct runnel__node *a,
                          const struct runnel__node *b)
{
    return b->first_pos - a->first_pos < run_span(r);
}

/* Does the stub at p come right before nodes of its stream that this
 * checkpoint writes in a run (new ones, when `fresh`: not from a run)? */
static bool followed_by_run(const runnel_t *r, uint32_t p, bool fresh)
{
    const struct runnel__node *n = &r->nodes[r->node_order[p]], *next;

    if (p + 1u >= r->nodes_used)
        return false;
    next = &r->nodes[r->node_order[p + 1u]];
    return next->sidx == n->sidx && !next->stub && !(fresh && next->from_run) &&
           !keep_inline(r, r->node_order[p + 1u]) && spans_one_run(r, n, next);
}

/* The bytes node nslot's descriptor takes coded against base (which is
 * left as it was). */
static size_t desc_size(const runnel_t *r, uint32_t nslot, const runnel__node_base_t *base)
{
    runnel__node_base_t trial = *base;

    return runnel__ckpt_node_encode(r, nslot, &trial, NULL);
}

/* May the stub at p take a part of the new nodes after it? A part left,
 * its first record still within 32 bits of the new part (run_origin), and
 * room for its position and the first new node's descriptor. */
static bool may_grow(const runnel_t *r, uint32_t p)
{
    const struct runnel__node *n = &r->nodes[r->node_order[p]];
    runnel__node_base_t none;

    if (n->run_parts >= RUNNEL__RUN_PARTS_MAX || r->log.head - stub_floor(n) >= UINT32_MAX / 2u ||
        !followed_by_run(r, p, true))
        return false;
    memset(&none, 0, sizeof none);
    return (uint64_t)n->first_size + runnel__varint_len(n->last_pos) +
               desc_size(r, r->node_order[p + 1u], &none) <= r->stub_cap;
}

/* A stub of less than half a run followed by nodes that go in a new run,
 * where it cannot grow (but not for want of parts: its records are many
 * and small, and writing them again as one would cost what the parts
 * saved): loaded, so that they make one run together.
 * Without it a stream that gains a node or two between checkpoints (many
 * streams) would get a run, and a DIR entry, that small each time. */
static bool merges(const runnel_t *r, uint32_t p)
{
    const struct runnel__node *n = &r->nodes[r->node_order[p]];

    return n->first_size < r->stub_cap / 2u && n->run_parts < RUNNEL__RUN_PARTS_MAX &&
           followed_by_run(r, p, false);
}

int runnel__stub_plan(runnel_t *r)
{
    uint64_t reach = reach_blocks(r), quarter = r->log.block_count / 4u;
    runnel_pos_t rewrite;
    uint32_t p = 0, sidx;
    int err;

    /* A stream's first ID, which its CKPT_STREAM holds, may need its
     * head node (first_stale): read now, not between the runs and the
     * directory, which must see the same nodes */
    for (sidx = 0; sidx < r->streams_cap; sidx++)
        if (r->streams[sidx].used && r->streams[sidx].first_stale)
            (void)runnel__first_id(r, sidx);    /* as write_stream would */
    r->stub_horizon = past_tail(r, reach < quarter ? reach : quarter);
    rewrite = r->stub_horizon;
    for (p = 0; p < r->nodes_used; p++) {
        r->nodes[r->node_order[p]].run_grows = false;
        r->nodes[r->node_order[p]].run_inline = false;
    }
    p = 0;
    while (r->stubs > 0 && p < r->nodes_used) {
        uint32_t nslot = r->node_order[p];
        struct runnel__node *n = &r->nodes[nslot];

        if (n->stub && !keep_inline(r, nslot) && stub_floor(n) >= rewrite && may_grow(r, p)) {
            n->run_grows = true;        /* its next part: write_runs */
        } else if (n->stub &&
                   (keep_inline(r, nslot) || stub_floor(n) < rewrite || merges(r, p))) {
            err = runnel__stub_load(r, nslot);
            if (err < 0)
                return err;
            continue;           /* its first node is at p now */
        }
        p++;
    }
    return 0;
}

uint64_t runnel__stub_measure(const runnel_t *r, uint32_t nslot, bool later)
{
    const struct runnel__node *n = &r->nodes[nslot];
    /* The reserve holds the checkpoints written until it is measured
     * again, up to a sixteenth of the blocks in use later
     * (runnel__checkpoint_maybe): a run the horizon reaches by then may
     * have to be written again by one of them. Streams written in turn
     * start their runs together, and their floors reach the horizon
     * together: with runs of up to 2 KiB (tried), 16 of them in one
     * checkpoint on 64 MiB, which a reserve measured while they were
     * further off did not hold (the checkpoint failed, and every append
     * after it). */
    runnel_pos_t near = past_tail(r, 2u * reach_blocks(r) +
                                     (later ? runnel__log_blocks_used(&r->log) / 16u + 1u : 0u));

    /* one the next checkpoints may write again (a frame is at most 6 B) */
    if (n->first_pos < near || stub_floor(n) < near)
        return (uint64_t)n->first_size + 6u + DIR_ENTRY_TYPICAL;
    return DIR_ENTRY_TYPICAL;
}

/* The run of nodes that starts at node_order position p: the position
 * after it, its body encoded into b (NULL: measured only) and its length.
 * A run holds nodes of one stream - never a stub, never one kept in the
 * body - in at most stub_cap bytes, so that stub_buf holds it. */
uint32_t runnel__stub_grown_by(const runnel_t *r, uint32_t p)
{
    uint32_t g;

    if (p == 0 || r->nodes[r->node_order[p]].stub)
        return RUNNEL__NONE;
    g = r->node_order[p - 1u];
    return r->nodes[g].stub && r->nodes[g].run_grows &&
                   r->nodes[g].sidx == r->nodes[r->node_order[p]].sidx
               ? g
               : RUNNEL__NONE;
}

uint32_t runnel__stub_next_run(const runnel_t *r, uint32_t p, uint8_t *b, size_t *len)
{
    uint32_t sidx = r->nodes[r->node_order[p]].sidx, q, g = runnel__stub_grown_by(r, p);
    const struct runnel__node *from = &r->nodes[r->node_order[p]];
    size_t n = 0, cap = r->stub_cap;
    runnel__node_base_t base;

    if (g != RUNNEL__NONE) {    /* a part: the stub's newest record first */
        from = &r->nodes[g];
        n = b != NULL ? runnel__varint_put(b, from->last_pos) : runnel__varint_len(from->last_pos);
        cap -= from->first_size;        /* may_grow: its first node fits */
    }
    memset(&base, 0, sizeof base);
    for (q = p; q < r->nodes_used; q++) {
        uint32_t nslot = r->node_order[q];

        /* exact sizes, not the longest a descriptor may take: with small
         * blocks that bound is most of a run, and runs could not grow */
        if (r->nodes[nslot].sidx != sidx || r->nodes[nslot].stub || keep_inline(r, nslot) ||
            n + desc_size(r, nslot, &base) > cap || (q > p && r->nodes[nslot].run_reused) ||
            !spans_one_run(r, from, &r->nodes[nslot]))
            break;
        n += runnel__ckpt_node_encode(r, nslot, &base, b != NULL ? b + n : NULL);
    }
    *len = n;
    return q;
}

/*
 * Runs named again after a load. A read (or anything else) that loads a
 * stub leaves its nodes in RAM until the next checkpoint, which would
 * write them as a new run: a consumer reading history - the forwarder
 * catching up after the link was down - made every checkpoint rewrite
 * what it read. So the nodes of a loaded run remember the run
 * (from_run, run_origin), and a checkpoint that would write exactly the
 * bytes of the run, or of its newest parts, again names them where they
 * are instead. Only bytes are compared, part by part: the descriptors
 * decode on their own (absolute positions, checkpoint.c), so equal bytes
 * are equal nodes, and a part that no longer fits - a node XDEL'ed,
 * trimmed or moved by RELOCATE, a position that wrapped its 32 bits -
 * only costs the rewrite of the nodes up to it. Parts the ring reaches
 * before the next checkpoint (below the horizon), and a short run that
 * new nodes of its stream follow (merges), are written again as before.
 */

/* The loaded nodes from p that came from the same run: [p, q). */
uint32_t runnel__stub_origin_end(const runnel_t *r, uint32_t p)
{
    const struct runnel__node *f = &r->nodes[r->node_order[p]];
    uint32_t q;

    for (q = p + 1u; q < r->nodes_used; q++) {
        uint32_t nslot = r->node_order[q];
        const struct runnel__node *n = &r->nodes[nslot];

        if (n->sidx != f->sidx || n->stub || !n->from_run || n->run_origin != f->run_origin ||
            keep_inline(r, nslot))
            break;
    }
    return q;
}

/* The newest position at or below the head whose low 32 bits are lo. */
runnel_pos_t runnel__stub_origin_pos(const runnel_t *r, uint32_t lo)
{
    uint32_t back = (uint32_t)r->log.head - lo;

    return back > r->log.head ? RUNNEL__NO_POS : r->log.head - back;
}

/* A run's records read back (read_run): their bodies lie in stub_buf
 * oldest first with nothing between them, ending at its end. */
typedef struct run_read {
    uint32_t parts, total;              /* records; their body bytes */
    runnel_pos_t pos[RUNNEL__RUN_PARTS_MAX];    /* oldest first: pos[0] the floor */
    uint32_t len[RUNNEL__RUN_PARTS_MAX];
    uint8_t skip[RUNNEL__RUN_PARTS_MAX];        /* body bytes before its descriptors */
} run_read_t;

/* The header of the run record at `at`: a CKPT_NODE_RUN or _MORE of at
 * most `room` body bytes. */
static int part_header(runnel_t *r, runnel_pos_t at, uint32_t room, runnel__rec_t *rec)
{
    int err = runnel__log_header(&r->log, at, rec);

    if (err < 0)
        return err;
    if ((rec->type != RUNNEL_REC_CKPT_NODE_RUN && rec->type != RUNNEL_REC_CKPT_NODE_MORE) ||
        rec->len > room)
        return RUNNEL_ERR_CORRUPT;
    return 0;
}

/* The body of run record rec, read into body: for a CKPT_NODE_MORE *prev
 * is the position of the part before (RUNNEL__NO_POS for a _RUN) and
 * *skip the bytes it takes, checked as the writer puts it: minimal,
 * below this record, descriptors after it. Whether that part is still
 * one of the run is the directory's to say (its parts and floor). */
static int part_body(runnel_t *r, const runnel__rec_t *rec, uint8_t *body, runnel_pos_t *prev,
                     uint8_t *skip)
{
    runnel__reader_t c;
    int err = runnel__log_read_body(&r->log, rec, body, rec->len);

    *prev = RUNNEL__NO_POS;
    *skip = 0;
    if (err < 0 || rec->type == RUNNEL_REC_CKPT_NODE_RUN)
        return err;
    runnel__reader_init(&c, body, rec->len);
    *prev = runnel__rd_varint(&c);
    if (c.bad || *prev >= rec->pos || c.off != runnel__varint_len(*prev) || c.off >= rec->len)
        return RUNNEL_ERR_CORRUPT;
    *skip = (uint8_t)c.off;
    return 0;
}

/* Reads the `want` records of the run whose newest record is at `at`:
 * that record, then each one the CKPT_NODE_MOREs name, each below the
 * one after and not below the tail; fewer when a CKPT_NODE_RUN comes
 * first (the caller compares rr->parts). At most stub_cap bytes, what a
 * writer makes. Bodies are read newest first from stub_buf's end down,
 * so that they end up in order. */
static int read_run(runnel_t *r, runnel_pos_t at, uint32_t want, run_read_t *rr)
{
    uint32_t k = 0, used = 0, i;
    runnel__rec_t rec;
    runnel_pos_t prev;
    int err;

    if (want == 0 || want > RUNNEL__RUN_PARTS_MAX)
        return RUNNEL_ERR_CORRUPT;
    for (;;) {
        err = part_header(r, at, r->stub_cap - used, &rec);
        if (err < 0)
            return err;
        err = part_body(r, &rec, r->stub_buf + (r->stub_cap - used - rec.len), &prev,
                        &rr->skip[k]);
        if (err < 0)
            return err;
        rr->pos[k] = rec.pos;
        rr->len[k] = rec.len;
        used += rec.len;
        k++;
        if (k == want || prev == RUNNEL__NO_POS)
            break;
        if (prev < r->log.tail)
            return RUNNEL_ERR_CORRUPT;
        at = prev;
    }
    for (i = 0; i < k / 2u; i++) {      /* oldest first */
        uint32_t j = k - 1u - i, t = rr->len[i];
        runnel_pos_t tp = rr->pos[i];
        uint8_t ts = rr->skip[i];

        rr->pos[i] = rr->pos[j];
        rr->pos[j] = tp;
        rr->len[i] = rr->len[j];
        rr->len[j] = t;
        rr->skip[i] = rr->skip[j];
        rr->skip[j] = ts;
    }
    rr->parts = k;
    rr->total = used;
    return 0;
}

/* Part i's descriptors, its body at stub_buf + off: checked and summed
 * into *sum, or (NULL) placed. */
static int part_sum(runnel_t *r, const run_read_t *rr, uint32_t i, uint32_t off,
                    runnel__run_sum_t *sum)
{
    return runnel__ckpt_run_load(r, r->stub_buf + off + rr->skip[i], rr->len[i] - rr->skip[i],
                                 sum);
}

int runnel__stub_run_shape(runnel_t *r, runnel_pos_t at, uint32_t parts, run_desc_t *d)
{
    run_read_t rr;
    int err = read_run(r, at, parts, &rr);

    if (err < 0)
        return err;
    if (rr.parts != parts)
        return RUNNEL_ERR_CORRUPT;
    d->floor = rr.pos[0];
    d->parts = rr.parts;
    d->len = rr.total;
    return 0;
}

/* Do the descriptors of nodes [k, q) encode to the `len` bytes at b? */
static bool encodes_to(runnel_t *r, uint32_t k, uint32_t q, const uint8_t *b, size_t len)
{
    size_t n = 0, max = runnel__ckpt_node_max(r);
    runnel__node_base_t base;

    memset(&base, 0, sizeof base);
    for (; k < q; k++) {
        if (n + max > r->scratch_cap)
            return false;
        n += runnel__ckpt_node_encode(r, r->node_order[k], &base, r->scratch + n);
    }
    return n == len && memcmp(r->scratch, b, n) == 0;
}

/* What reusable_from found: the records named again, their bytes, and
 * whether the one before them is within the horizon (its record, or
 * nodes of it). */
typedef struct reuse {
    uint32_t parts, len;
    bool at_horizon;
} reuse_t;

/*
 * The loaded nodes [p, q) came from one run (runnel__stub_origin_end):
 * how many of its newest records may be named again where they are.
 * Reads the run newest record first (into stub_buf) and encodes the
 * nodes from q down, record by record as the run splits them; stops at
 * the first whose bytes differ - an XDEL, a trim, a relocated node, a
 * position that wrapped its 32 bits - or that the tail reaches before
 * the next checkpoint (below the horizon). Returns where the nodes of
 * the records named again start (q if none).
 *
 * A suffix is what past the ring's first pass keeps a run of several
 * parts from being written again when the horizon reaches its first
 * record: the nodes of the parts below the horizon start below their
 * records, so the checkpoint keeps them in its body (keep_inline), and
 * the later parts are named from a later floor, a CKPT_NODE_MORE whose
 * part before is no longer the run's (FORMAT.md "Node runs").
 */
static uint32_t reusable_from(runnel_t *r, uint32_t p, uint32_t q, reuse_t *u)
{
    runnel_pos_t at = runnel__stub_origin_pos(r, r->nodes[r->node_order[p]].run_origin);
    runnel_pos_t low = past_tail(r, reach_blocks(r)), prev;
    uint32_t k = q;
    runnel__rec_t rec;
    uint8_t skip;

    memset(u, 0, sizeof *u);
    if (low < r->stub_horizon)
        low = r->stub_horizon;
    if (at == RUNNEL__NO_POS || at >= r->log.head)
        return q;
    while (k > p && u->parts < RUNNEL__RUN_PARTS_MAX && at >= low && at >= r->log.tail) {
        runnel__run_sum_t sum;

        memset(&sum, 0, sizeof sum);
        if (part_header(r, at, r->stub_cap, &rec) < 0 ||
            part_body(r, &rec, r->stub_buf, &prev, &skip) < 0 ||
            runnel__ckpt_run_load(r, r->stub_buf + skip, rec.len - skip, &sum) < 0)
            break;
        if (sum.nodes > 0 && sum.min_first_pos < r->stub_horizon) {
            u->at_horizon = true;       /* its first nodes are in the body */
            break;
        }
        if (sum.nodes == 0 || sum.nodes > k - p ||
            !encodes_to(r, k - sum.nodes, k, r->stub_buf + skip, rec.len - skip))
            break;
        k -= sum.nodes;
        u->parts++;
        u->len += rec.len;
        if (prev == RUNNEL__NO_POS)
            break;
        at = prev;
    }
    u->at_horizon = k > p && (u->at_horizon || at < low || at < r->log.tail);
    if (k < q && q < r->nodes_used && u->len < r->stub_cap / 2u &&
        u->parts < RUNNEL__RUN_PARTS_MAX) {
        /* merges(): a short run goes with the new nodes after it */
        const struct runnel__node *f = &r->nodes[r->node_order[k]];
        const struct runnel__node *next = &r->nodes[r->node_order[q]];

        if (next->sidx == f->sidx && !next->stub && !next->from_run &&
            !keep_inline(r, r->node_order[q]) && spans_one_run(r, f, next))
            return q;
    }
    return k;
}

/* Marks (run_reused, on the first node of each, run_parts its records)
 * the loaded runs, or newest parts of them, this checkpoint names again:
 * before write_runs, which must leave their nodes out of the runs it
 * writes, as write_dir does. The nodes of a run before its parts named
 * again go in a new run, unless the horizon is in the part before them:
 * then its nodes above the horizon go in the checkpoint's body with
 * those below (run_inline). As a run of their
 * own they took a record and a DIR entry per stream and checkpoint, 0.002
 * programmed bytes per payload byte at 64 MiB with 16 streams, and the
 * next checkpoint finds them below the horizon anyway. */
static void mark_reused(runnel_t *r)
{
    uint32_t p, q, k;
    reuse_t u;

    for (p = 0; p < r->nodes_used; p++)
        r->nodes[r->node_order[p]].run_reused = false;
    for (p = 0; p < r->nodes_used; p++) {
        const struct runnel__node *n = &r->nodes[r->node_order[p]];

        if (!n->from_run || n->stub || keep_inline(r, r->node_order[p]))
            continue;
        q = runnel__stub_origin_end(r, p);
        k = reusable_from(r, p, q, &u);
        if (k < q) {
            r->nodes[r->node_order[k]].run_reused = true;
            r->nodes[r->node_order[k]].run_parts = (uint8_t)u.parts;
            for (; u.at_horizon && p < k; p++)  /* the rest of the part below */
                r->nodes[r->node_order[p]].run_inline = true;
        }
        p = q - 1u;
    }
}

int runnel__stub_write_runs(runnel_t *r, runnel_pos_t *first, uint32_t *records)
{
    uint32_t p = 0;
    runnel_pos_t at;
    size_t len;
    int err;

    *first = RUNNEL__NO_POS;
    mark_reused(r);
    while (p < r->nodes_used) {
        uint32_t q, nslot = r->node_order[p];

        if (r->nodes[nslot].stub || keep_inline(r, nslot)) {
            p++;
            continue;
        }
        if (r->nodes[nslot].run_reused) {
            p = runnel__stub_origin_end(r, p);       /* named where it is (write_dir) */
            (*records)++;
            continue;
        }
        q = runnel__stub_next_run(r, p, r->scratch, &len);
        err = runnel__append(r,
                             runnel__stub_grown_by(r, p) != RUNNEL__NONE ? RUNNEL_REC_CKPT_NODE_MORE
                                                                         : RUNNEL_REC_CKPT_NODE_RUN,
                             r->scratch, len, &at);
        if (err < 0)
            return err;
        if (*first == RUNNEL__NO_POS)
            *first = at;
        (*records)++;
        p = q;
    }
    return 0;
}

/* The run [p, q) of nodes, written at run_pos with len body bytes. */
void runnel__stub_desc_of_nodes(const runnel_t *r, uint32_t p, uint32_t q, runnel_pos_t run_pos,
                                size_t len, run_desc_t *d)
{
    const struct runnel__node *f = &r->nodes[r->node_order[p]];
    uint32_t i;

    memset(d, 0, sizeof *d);
    d->sidx = f->sidx;
    d->nodes = q - p;
    d->len = (uint32_t)len;
    d->first = f->first;
    d->last = r->nodes[r->node_order[q - 1u]].last;
    d->low = d->high = f->first_pos;
    d->run_pos = d->floor = run_pos;
    d->parts = 1;
    for (i = p; i < q; i++) {
        const struct runnel__node *n = &r->nodes[r->node_order[i]];
        d->count += n->count;
        d->live += n->live;
        d->lp += n->lp_rest;
        d->low = n->first_pos < d->low ? n->first_pos : d->low;
        d->high = n->first_pos > d->high ? n->first_pos : d->high;
        d->unordered |= n->unordered;
    }
}

void runnel__stub_desc_of_stub(const struct runnel__node *n, run_desc_t *d)
{
    d->sidx = n->sidx;
    d->nodes = n->fields_hash;
    d->len = n->first_size;
    d->first = n->first;
    d->last = n->last;
    d->low = n->first_pos;
    d->high = n->read_at;
    d->run_pos = n->last_pos;
    d->floor = stub_floor(n);
    d->parts = n->run_parts;
    d->count = n->count;
    d->live = n->live;
    d->lp = n->lp_rest;
    d->unordered = n->unordered;
}

/* A stub in a free slot and the node order (the slots of its nodes are
 * reserved: r->stub_extra). */
void runnel__stub_place(runnel_t *r, uint32_t nslot, const run_desc_t *d)
{
    struct runnel__node *n = &r->nodes[nslot];

    n->sidx = d->sidx;
    n->first = d->first;
    n->last = d->last;
    n->first_pos = d->low;
    n->read_at = d->high;
    n->last_pos = d->run_pos;
    n->first_size = d->len;
    n->count = (uint32_t)d->count;
    n->live = (uint32_t)d->live;
    n->lp_rest = (uint32_t)d->lp;
    n->fields_hash = d->nodes;
    n->unordered = d->unordered;
    n->run_parts = (uint8_t)d->parts;
    n->run_origin = (uint32_t)(d->run_pos - d->floor);
    n->run_grows = false;
    n->stub = true;
    runnel__node_insert(r, nslot);
    r->stubs++;
    r->stub_extra += d->nodes - 1u;
}

/* The nodes [p, q) of a run this checkpoint wrote give their slots back
 * to a stub: the next checkpoint names the run again instead of writing
 * it, and whatever needs them loads them (node_stub.c). */
void runnel__stub_evict(runnel_t *r, uint32_t p, uint32_t q, const run_desc_t *d)
{
    uint32_t i, nslot;

    for (i = q; i > p; i--)
        runnel__node_remove(r, r->node_order[i - 1u]);
    nslot = runnel__node_alloc(r);      /* q - p slots were just freed */
    if (nslot != RUNNEL__NONE)
        runnel__stub_place(r, nslot, d);
}

void runnel__stub_grow(runnel_t *r, uint32_t gslot, uint32_t p, uint32_t q, const run_desc_t *d)
{
    uint32_t i, nslot;

    for (i = q; i > p; i--)
        runnel__node_remove(r, r->node_order[i - 1u]);
    runnel__node_remove(r, gslot);
    nslot = runnel__node_alloc(r);      /* slots were just freed */
    if (nslot != RUNNEL__NONE)
        runnel__stub_place(r, nslot, d);
}

/* The nodes just loaded from the run at run_pos remember it (reusable_from). */
static void mark_origin(runnel_t *r, const runnel__run_sum_t *sum, runnel_pos_t run_pos)
{
    uint32_t lo, hi, p, k;

    runnel__stream_nodes(r, sum->sidx, &lo, &hi);
    for (p = lo; p < hi; p++)
        if (runnel_id_cmp(r->nodes[r->node_order[p]].first, sum->first) == 0)
            break;
    for (k = 0; k < sum->nodes && p + k < hi; k++) {
        struct runnel__node *n = &r->nodes[r->node_order[p + k]];

        n->from_run = true;
        n->run_origin = (uint32_t)run_pos;
    }
}

int runnel__stub_fault(runnel_t *r, uint32_t nslot)
{
    struct runnel__node *n = &r->nodes[nslot];
    runnel__run_sum_t sum;
    runnel_pos_t run_pos;
    run_read_t rr;
    uint32_t i, off;
    int err;

    if (!n->stub)
        return 0;
    err = read_run(r, n->last_pos, n->run_parts, &rr);
    if (err < 0)
        return err;
    /* The run must be what the directory said, or the stream's counters
     * (set from the same checkpoint) would not match its nodes. */
    if (rr.parts != n->run_parts || rr.pos[0] != stub_floor(n) || rr.total != n->first_size)
        return RUNNEL_ERR_CORRUPT;
    memset(&sum, 0, sizeof sum);
    for (i = 0, off = r->stub_cap - rr.total; i < rr.parts; off += rr.len[i++]) {
        err = part_sum(r, &rr, i, off, &sum);
        if (err < 0)
            return err;
    }
    if (sum.sidx != n->sidx || sum.nodes != n->fields_hash ||
        runnel_id_cmp(sum.first, n->first) != 0 || runnel_id_cmp(sum.last, n->last) != 0 ||
        sum.count != n->count || sum.live != n->live || sum.lp_rest != n->lp_rest ||
        sum.min_first_pos != n->first_pos || sum.max_first_pos != n->read_at ||
        sum.unordered != n->unordered)
        return RUNNEL_ERR_CORRUPT;
    run_pos = n->last_pos;
    runnel__node_remove(r, nslot);      /* gives its reserved slots back */
    r->stats.stub_loads++;
    for (i = 0, off = r->stub_cap - rr.total; i < rr.parts && err == 0; off += rr.len[i++])
        err = part_sum(r, &rr, i, off, NULL);
    if (err == 0)
        mark_origin(r, &sum, run_pos);
    return err;
}
