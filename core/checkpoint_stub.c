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
 * the checkpoint only a CKPT_NODE_DIR naming each run: its stream, node
 * count, ID range, lowest node position, record position and length, and
 * the sums of the counters its nodes carry (about 20 bytes for a run of
 * 60-80 nodes). Mount turns each named run into one stub node slot
 * (struct runnel__node says which fields mean what) and reads no run.
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
 * The slots a stub's nodes will take are reserved (r->stub_extra): a new
 * node is refused when they would not all fit (runnel__nodes_full), so
 * loading a stub never fails for want of a slot. Only a durable program
 * links this file (through runnel_durability.stub_load); where nodes are
 * needed, node_stub.c asks it to load a stub.
 */
#include <string.h>

#include "store.h"

/* A stream with more nodes than this gets runs; a shorter one is written
 * whole in the checkpoint's body (it costs little to read). */
#define STUB_MIN_NODES 2u

/* CKPT_NODE_DIR entry flags (FORMAT.md "Checkpoints") */
#define DIR_UNORDERED   0x01u   /* one of the run's nodes is unordered */
#define DIR_SAME_STREAM 0x02u   /* the stream of the entry before */
#define DIR_FIRST_ABS   0x04u   /* first is absolute (else after the last before) */
#define DIR_LAST_BELOW  0x08u   /* last < first: last is absolute */
#define DIR_DEAD        0x10u   /* count - live follows */
#define DIR_ENTRY_MAX   (1u + 13u * RUNNEL_VARINT_MAX)
/* What a DIR entry usually takes, for the reserve's measure. */
#define DIR_ENTRY_TYPICAL 24u

/* A run as a DIR entry names it and a stub holds it. */
typedef struct run_desc {
    uint32_t sidx, nodes, len;
    runnel_id_t first, last;
    runnel_pos_t low, high, run_pos;    /* lowest / highest node first_pos */
    uint64_t count, live, lp;
    bool unordered;
} run_desc_t;

typedef struct dir_prev {
    bool any;
    uint32_t sidx;
    runnel_id_t last;
    runnel_pos_t run_pos;
} dir_prev_t;

/* How many blocks the tail may move before the next checkpoint: its
 * interval (at least four times the reserve, checkpoint.c), the reserve
 * and two blocks of slack (runnel__stub_plan). */
static uint64_t reach_blocks(const runnel_t *r)
{
    uint64_t blocks = r->cfg.checkpoint_blocks;

    if (blocks < 4u * (uint64_t)r->log.reserve)
        blocks = 4u * (uint64_t)r->log.reserve;
    return blocks + r->log.reserve + 2u;
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

/* Is node nslot (a node or a stub) one the checkpoint keeps in its body? */
static bool keep_inline(const runnel_t *r, uint32_t nslot)
{
    const struct runnel__node *n = &r->nodes[nslot];

    return r->stub_cap <= runnel__ckpt_node_max(r) || r->streams[n->sidx].tail_node == nslot ||
           r->streams[n->sidx].nodes <= STUB_MIN_NODES || n->first_pos < r->stub_horizon ||
           doom_counts(r, n->sidx);
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
/* A stub of less than half a run followed by nodes that go in a new run:
 * loaded, so that they make one run together. Without it a stream that
 * gains a node or two between checkpoints (many streams) would get a run,
 * and a DIR entry, that small each time. */
static bool merges(const runnel_t *r, uint32_t p)
{
    const struct runnel__node *n = &r->nodes[r->node_order[p]], *next;

    if (n->first_size >= r->stub_cap / 2u || p + 1u >= r->nodes_used)
        return false;
    next = &r->nodes[r->node_order[p + 1u]];
    return next->sidx == n->sidx && !next->stub && !keep_inline(r, r->node_order[p + 1u]);
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
    while (r->stubs > 0 && p < r->nodes_used) {
        uint32_t nslot = r->node_order[p];
        const struct runnel__node *n = &r->nodes[nslot];

        if (n->stub && (keep_inline(r, nslot) || n->last_pos < rewrite || merges(r, p))) {
            err = runnel__stub_load(r, nslot);
            if (err < 0)
                return err;
            continue;           /* its first node is at p now */
        }
        p++;
    }
    return 0;
}

uint64_t runnel__stub_measure(const runnel_t *r, uint32_t nslot)
{
    const struct runnel__node *n = &r->nodes[nslot];
    runnel_pos_t near = past_tail(r, 2u * reach_blocks(r));

    /* one the next checkpoint may write again (a frame is at most 6 B) */
    if (n->first_pos < near || n->last_pos < near)
        return (uint64_t)n->first_size + 6u + DIR_ENTRY_TYPICAL;
    return DIR_ENTRY_TYPICAL;
}

/* The run of nodes that starts at node_order position p: the position
 * after it, its body encoded into b (NULL: measured only) and its length.
 * A run holds nodes of one stream - never a stub, never one kept in the
 * body - in at most stub_cap bytes, so that stub_buf holds it. */
static uint32_t next_run(const runnel_t *r, uint32_t p, uint8_t *b, size_t *len)
{
    uint32_t sidx = r->nodes[r->node_order[p]].sidx, q;
    size_t n = 0, max = runnel__ckpt_node_max(r);
    runnel__node_base_t base;

    memset(&base, 0, sizeof base);
    for (q = p; q < r->nodes_used; q++) {
        uint32_t nslot = r->node_order[q];

        if (r->nodes[nslot].sidx != sidx || r->nodes[nslot].stub || keep_inline(r, nslot) ||
            n + max > r->stub_cap)
            break;
        n += runnel__ckpt_node_encode(r, nslot, &base, b != NULL ? b + n : NULL);
    }
    *len = n;
    return q;
}

int runnel__stub_write_runs(runnel_t *r, runnel_pos_t *first, uint32_t *records)
{
    uint32_t p = 0;
    runnel_pos_t at;
    size_t len;
    int err;

    *first = RUNNEL__NO_POS;
    while (p < r->nodes_used) {
        uint32_t q, nslot = r->node_order[p];

        if (r->nodes[nslot].stub || keep_inline(r, nslot)) {
            p++;
            continue;
        }
        q = next_run(r, p, r->scratch, &len);
        err = runnel__append(r, RUNNEL_REC_CKPT_NODE_RUN, r->scratch, len, &at);
        if (err < 0)
            return err;
        if (*first == RUNNEL__NO_POS)
            *first = at;
        (*records)++;
        p = q;
    }
    return 0;
}

static size_t vput(uint8_t *b, size_t k, uint64_t v)
{
    return k + runnel__varint_put(b + k, v);
}

static uint64_t zigzag(runnel_pos_t to, runnel_pos_t from)
{
    uint64_t d = to - from;     /* two's complement difference */
    return (d << 1) ^ (0u - (d >> 63));
}

/* The run [p, q) of nodes, written at run_pos with len body bytes. */
static void desc_of_nodes(const runnel_t *r, uint32_t p, uint32_t q, runnel_pos_t run_pos,
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
    d->run_pos = run_pos;
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

static void desc_of_stub(const struct runnel__node *n, run_desc_t *d)
{
    d->sidx = n->sidx;
    d->nodes = n->fields_hash;
    d->len = n->first_size;
    d->first = n->first;
    d->last = n->last;
    d->low = n->first_pos;
    d->high = n->read_at;
    d->run_pos = n->last_pos;
    d->count = n->count;
    d->live = n->live;
    d->lp = n->lp_rest;
    d->unordered = n->unordered;
}

/* A stub in a free slot and the node order (the slots of its nodes are
 * reserved: r->stub_extra). */
static void stub_place(runnel_t *r, uint32_t nslot, const run_desc_t *d)
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
    n->stub = true;
    runnel__node_insert(r, nslot);
    r->stubs++;
    r->stub_extra += d->nodes - 1u;
}

/* The nodes [p, q) of a run this checkpoint wrote give their slots back
 * to a stub: the next checkpoint names the run again instead of writing
 * it, and whatever needs them loads them (node_stub.c). */
static void evict(runnel_t *r, uint32_t p, uint32_t q, const run_desc_t *d)
{
    uint32_t i, nslot;

    for (i = q; i > p; i--)
        runnel__node_remove(r, r->node_order[i - 1u]);
    nslot = runnel__node_alloc(r);      /* q - p slots were just freed */
    if (nslot != RUNNEL__NONE)
        stub_place(r, nslot, d);
}

static size_t dir_entry(const run_desc_t *d, dir_prev_t *prev, uint8_t *b)
{
    runnel_id_t from = prev->any && prev->sidx == d->sidx ? prev->last : RUNNEL_ID_MIN;
    uint8_t flags = d->unordered ? DIR_UNORDERED : 0u;
    size_t k = 1;

    flags |= prev->any && prev->sidx == d->sidx ? DIR_SAME_STREAM : 0u;
    if (runnel_id_cmp(d->first, from) < 0) {
        flags |= DIR_FIRST_ABS;
        from = RUNNEL_ID_MIN;
    }
    flags |= runnel_id_cmp(d->last, d->first) < 0 ? DIR_LAST_BELOW : 0u;
    flags |= d->live < d->count ? DIR_DEAD : 0u;
    b[0] = flags;
    if (!(flags & DIR_SAME_STREAM))
        k = vput(b, k, d->sidx);
    k = vput(b, k, d->nodes);
    k = runnel__ckpt_put_id(b, k, d->first, from);
    k = runnel__ckpt_put_id(b, k, d->last, (flags & DIR_LAST_BELOW) ? RUNNEL_ID_MIN : d->first);
    k = vput(b, k, zigzag(d->run_pos, prev->any ? prev->run_pos : 0u));
    k = vput(b, k, d->run_pos - d->low);
    k = vput(b, k, d->high - d->low);
    k = vput(b, k, d->len);
    k = vput(b, k, d->count);
    if (flags & DIR_DEAD)
        k = vput(b, k, d->count - d->live);
    k = vput(b, k, d->lp);
    prev->any = true;
    prev->sidx = d->sidx;
    prev->last = d->last;
    prev->run_pos = d->run_pos;
    return k;
}

typedef struct dir_out {
    uint8_t *b;
    size_t n, cap;
    dir_prev_t prev;
    uint32_t *records;
    runnel_pos_t floor;         /* the lowest run named */
} dir_out_t;

static int dir_put(runnel_t *r, dir_out_t *o, const run_desc_t *d)
{
    int err;

    if (o->n + DIR_ENTRY_MAX > o->cap) {
        err = runnel__append(r, RUNNEL_REC_CKPT_NODE_DIR, o->b, o->n, NULL);
        if (err < 0)
            return err;
        (*o->records)++;
        o->n = 0;
        o->prev.any = false;    /* each record decodes on its own */
    }
    o->n += dir_entry(d, &o->prev, o->b + o->n);
    if (d->run_pos < o->floor)
        o->floor = d->run_pos;
    return 0;
}

int runnel__stub_write_dir(runnel_t *r, runnel_pos_t first, uint32_t *records,
                           runnel_pos_t *floor)
{
    runnel_pos_t pos = first;
    runnel__rec_t rec;
    run_desc_t d;
    dir_out_t o;
    uint32_t p = 0, q;
    size_t len;
    int err;

    memset(&o, 0, sizeof o);
    o.b = r->scratch;
    /* a quarter block, as the other checkpoint records, or one entry */
    o.cap = r->log.block_size / 4u > DIR_ENTRY_MAX ? r->log.block_size / 4u : DIR_ENTRY_MAX;
    if (o.cap > runnel__log_max_body(&r->log))
        o.cap = runnel__log_max_body(&r->log);
    if (o.cap > r->scratch_cap)
        o.cap = r->scratch_cap;
    o.records = records;
    o.floor = RUNNEL__NO_POS;
    *floor = RUNNEL__NO_POS;
    if (o.cap < DIR_ENTRY_MAX)
        return r->stubs == 0 && first == RUNNEL__NO_POS ? 0 : RUNNEL_ERR_INVAL;
    while (p < r->nodes_used) {
        uint32_t nslot = r->node_order[p];

        if (r->nodes[nslot].stub) {     /* its run is named again */
            desc_of_stub(&r->nodes[nslot], &d);
            err = dir_put(r, &o, &d);
            if (err < 0)
                return err;
            p++;
            continue;
        }
        if (keep_inline(r, nslot)) {
            p++;
            continue;
        }
        q = next_run(r, p, NULL, &len);
        /* where write_runs put it: the runs are the records from `first`
         * on, in this order, with nothing between them */
        err = pos == RUNNEL__NO_POS ? RUNNEL_ERR_CORRUPT : runnel__log_next(&r->log, pos, &rec);
        if (err < 0)
            return err;
        if (err == 0 || rec.type != RUNNEL_REC_CKPT_NODE_RUN || rec.len != len)
            return RUNNEL_ERR_CORRUPT;
        pos = rec.next;
        desc_of_nodes(r, p, q, rec.pos, len, &d);
        err = dir_put(r, &o, &d);
        if (err < 0)
            return err;
        evict(r, p, q, &d);
        p++;                    /* past the stub now at p */
    }
    *floor = o.floor;
    if (o.n == 0)
        return 0;
    err = runnel__append(r, RUNNEL_REC_CKPT_NODE_DIR, o.b, o.n, NULL);
    if (err == 0)
        (*records)++;
    return err;
}

/* One DIR entry as a stub in a free slot and the node order. */
static int dir_stub(runnel_t *r, runnel__reader_t *c, dir_prev_t *prev, runnel_pos_t dir_pos)
{
    uint8_t flags = runnel__rd_u8(c);
    uint64_t slot, nodes, dpos, back, spread, len, count, dead = 0, lp;
    run_desc_t d;
    uint32_t nslot;

    if ((flags & ~0x1Fu) || ((flags & DIR_SAME_STREAM) && !prev->any))
        return RUNNEL_ERR_CORRUPT;
    memset(&d, 0, sizeof d);
    slot = (flags & DIR_SAME_STREAM) ? prev->sidx : runnel__rd_varint(c);
    nodes = runnel__rd_varint(c);
    d.first = runnel__ckpt_rd_id(c, (flags & (DIR_SAME_STREAM | DIR_FIRST_ABS)) == DIR_SAME_STREAM
                           ? prev->last : RUNNEL_ID_MIN);
    d.last = runnel__ckpt_rd_id(c, (flags & DIR_LAST_BELOW) ? RUNNEL_ID_MIN : d.first);
    dpos = runnel__rd_varint(c);
    back = runnel__rd_varint(c);
    spread = runnel__rd_varint(c);
    len = runnel__rd_varint(c);
    count = runnel__rd_varint(c);
    if (flags & DIR_DEAD)
        dead = runnel__rd_varint(c);
    lp = runnel__rd_varint(c);
    d.run_pos = (prev->any ? prev->run_pos : 0u) + ((dpos >> 1) ^ (0u - (dpos & 1u)));
    if (c->bad || slot >= r->streams_cap || !r->streams[slot].used || nodes == 0 ||
        nodes > count || count > nodes * r->cfg.node_entries_cap || dead > count ||
        lp > UINT32_MAX || len == 0 || len > r->stub_cap || back > d.run_pos || spread > back ||
        d.run_pos < r->log.tail || d.run_pos >= dir_pos || len >= dir_pos - d.run_pos)
        return RUNNEL_ERR_CORRUPT;
    if ((uint64_t)r->nodes_used + r->stub_extra + nodes > r->nodes_cap)
        return RUNNEL_ERR_POOL_NODES;
    nslot = runnel__node_alloc(r);
    if (nslot == RUNNEL__NONE)
        return RUNNEL_ERR_POOL_NODES;
    d.sidx = (uint32_t)slot;
    d.nodes = (uint32_t)nodes;
    d.len = (uint32_t)len;
    d.low = d.run_pos - back;
    d.high = d.low + spread;
    d.count = count;
    d.live = count - dead;
    d.lp = lp;
    d.unordered = (flags & DIR_UNORDERED) != 0;
    stub_place(r, nslot, &d);
    if (r->ckpt_floor == RUNNEL__NO_POS || d.run_pos < r->ckpt_floor)
        r->ckpt_floor = d.run_pos;
    prev->any = true;
    prev->sidx = d.sidx;
    prev->last = d.last;
    prev->run_pos = d.run_pos;
    return 0;
}

int runnel__stub_dir_load(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    runnel__reader_t c;
    dir_prev_t prev;
    int err;

    runnel__reader_init(&c, body, rec->len);
    memset(&prev, 0, sizeof prev);
    while (c.off < c.len) {
        err = dir_stub(r, &c, &prev, rec->pos);
        if (err < 0)
            return err;
    }
    return 0;
}

int runnel__stub_fault(runnel_t *r, uint32_t nslot)
{
    struct runnel__node *n = &r->nodes[nslot];
    runnel__run_sum_t sum;
    runnel__rec_t rec;
    int err;

    if (!n->stub)
        return 0;
    err = runnel__log_header(&r->log, n->last_pos, &rec);
    if (err < 0)
        return err;
    if (rec.type != RUNNEL_REC_CKPT_NODE_RUN || rec.len != n->first_size ||
        rec.len > r->stub_cap)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_read_body(&r->log, &rec, r->stub_buf, r->stub_cap);
    if (err < 0)
        return err;
    /* The run must be what the directory said, or the stream's counters
     * (set from the same checkpoint) would not match its nodes. */
    err = runnel__ckpt_run_load(r, r->stub_buf, rec.len, &sum);
    if (err < 0)
        return err;
    if (sum.sidx != n->sidx || sum.nodes != n->fields_hash ||
        runnel_id_cmp(sum.first, n->first) != 0 || runnel_id_cmp(sum.last, n->last) != 0 ||
        sum.count != n->count || sum.live != n->live || sum.lp_rest != n->lp_rest ||
        sum.min_first_pos != n->first_pos || sum.max_first_pos != n->read_at ||
        sum.unordered != n->unordered)
        return RUNNEL_ERR_CORRUPT;
    runnel__node_remove(r, nslot);      /* gives its reserved slots back */
    r->stats.stub_loads++;
    return runnel__ckpt_run_load(r, r->stub_buf, rec.len, NULL);
}
