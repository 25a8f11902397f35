/*
 * stream_summary.c - block summaries (BLOCK_SUMMARY, FORMAT.md "Block
 * summaries"): what the journal of one closed block did, so that mount
 * applies it without reading the block's entry records.
 *
 * Writer. While the head is in block s the engine keeps, in RAM, the
 * summary of s so far: for every run of XADDs a NODE item (the node
 * descriptor the run left: a new node whole, a grown one against itself
 * before the run), and for every other record
 * a replay must read (XDEL, TRIM, group records, cursors, RELOC_DONE, ...)
 * a pointer to it, in log order. Entries of different streams interleave
 * freely, so each stream has an open run (a small table; a run evicted from
 * it is just written as an item earlier, and its stream's next entries
 * start another item for the same node). A pointer closes every open run
 * first, so a TRIM or an XDEL applies against exactly the entries written
 * before it. When the head leaves s, the log asks for the body
 * (summary_first) and writes it as the first record of s + 1. What the
 * writer leaves out: orphan entry records (XADD notes only the record it
 * kept), relocated copies (RELOC_DONE, a pointer, moves their node), the
 * checkpoint's records (mount loads them itself).
 *
 * Why the descriptor can be written as it is: every change to a stream's
 * nodes other than XADD is journalled by a record that is a pointer (the
 * full-ring drop excepted, which mount redoes from block headers), so
 * between two pointers a node changes only by its stream's XADDs.
 *
 * Reader. runnel__summary_apply_node is the RAM change of one NODE item,
 * exactly what replaying the item's entry records through
 * runnel__replay_entry leaves (the tail caches of stream_add.c excepted:
 * they are keyed by position and rebuilt on demand). mount.c walks the
 * items and reads the records the pointers name.
 *
 * No summary is written for a block whose RAM summary is incomplete: the
 * block open at mount (its first records were written before), a summary
 * that outgrew its buffer, a block switch during a checkpoint. Mount then
 * replays that block's records, as it did before summaries existed.
 */
#include <string.h>

#include "store.h"

/* ---- encoding ---- */

typedef struct sum_out {
    uint8_t *p;
    uint32_t cap, len;
    bool full;
} sum_out_t;

static void put_u8(sum_out_t *o, uint8_t v)
{
    if (o->len >= o->cap) {
        o->full = true;
        return;
    }
    o->p[o->len++] = v;
}

static void put_varint(sum_out_t *o, uint64_t v)
{
    uint8_t b[RUNNEL_VARINT_MAX];
    size_t n = runnel__varint_put(b, v), i;

    for (i = 0; i < n; i++)
        put_u8(o, b[i]);
}

static bool is_entry_type(uint8_t t)
{
    t = runnel__entry_type_base(t);   /* relocated copies count through RELOC_DONE */
    return t == RUNNEL_REC_ENTRY_NODE_START || t == RUNNEL_REC_ENTRY ||
           t == RUNNEL_REC_ENTRY_SAME_FIELDS || t == RUNNEL_REC_ENTRY_SEQ0 ||
           t == RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0;
}

bool runnel__summary_points_at(uint8_t t)
{
    if (is_entry_type(t) || t == RUNNEL_REC_RELOC_MASTER || t == RUNNEL_REC_BLOCK_SUMMARY)
        return false;
    if (t >= RUNNEL_REC_CKPT_BEGIN && t <= RUNNEL_REC_CKPT_NODE_MORE)
        return false;
    return t >= 0x10u;   /* below: the log's own records */
}

/* The listpack bytes a node is expected to have after `added` more
 * entries like its earlier ones: what a NODE item codes lp_rest against. */
static uint64_t lp_predicted(uint32_t lp, uint32_t count, uint64_t added)
{
    return (uint64_t)lp + added * (count > 0 ? lp / count : 0u);
}

/* One NODE item from a run (FORMAT.md "Block summaries"). A new node is
 * described whole; a grown one against itself before the run (what
 * mount's replay has then), and the newest record's offset against the
 * item before's (*last_off); the usual item carries its slot in the tag.
 * 16 streams written in turn cost about 6 bytes an item instead of 12. */
static void put_run(sum_out_t *o, const runnel_t *r, const struct runnel__sum_run *run,
                    uint32_t *last_off)
{
    const struct runnel__node *n = &run->snap;
    uint64_t blk = n->last_pos / r->log.block_size * r->log.block_size;
    uint32_t off = (uint32_t)(n->last_pos - blk);
    bool above = run->tracked && run->above != run->added;
    uint8_t flags = (uint8_t)((run->is_new ? RUNNEL__SUM_NEW : 0u) |
                              (n->unordered ? RUNNEL__SUM_UNORDERED : 0u) |
                              (run->has_first ? RUNNEL__SUM_FIRST : 0u) |
                              (above ? RUNNEL__SUM_ABOVE : 0u));

    if (flags == 0 && run->sidx < 32u) {
        put_u8(o, (uint8_t)(RUNNEL__SUM_GROWN | run->sidx));    /* the usual item */
    } else {
        put_u8(o, (uint8_t)(RUNNEL__SUM_NODE | flags));
        put_varint(o, run->sidx);
    }
    if (run->is_new) {
        put_varint(o, n->first.ms);
        put_varint(o, n->first.seq);
        put_varint(o, n->first_pos - blk);
        put_varint(o, n->first_size);
        put_u8(o, (uint8_t)n->fields_hash);
        put_u8(o, (uint8_t)(n->fields_hash >> 8));
        put_u8(o, (uint8_t)(n->fields_hash >> 16));
        put_u8(o, (uint8_t)(n->fields_hash >> 24));
        put_varint(o, n->count);
        put_varint(o, n->lp_rest);
        put_varint(o, runnel__zigzag(n->last.ms, n->first.ms));
    } else {
        put_varint(o, n->count - run->base_count);
        put_varint(o, runnel__zigzag(n->lp_rest,
                             lp_predicted(run->base_lp, run->base_count, n->count - run->base_count)));
        put_varint(o, runnel__zigzag(n->last.ms, run->base_last.ms));
    }
    put_varint(o, n->last.seq);
    put_varint(o, runnel__zigzag(off, *last_off));
    *last_off = off;
    if (run->has_first) {
        put_varint(o, runnel__zigzag(run->first_entry.ms, n->first.ms));
        put_varint(o, run->first_entry.seq);
    }
    if (above)
        put_varint(o, run->above);
}

/* ---- writer ---- */

static void emit(runnel_t *r, struct runnel__sum_run *run)
{
    struct runnel__summary *s = &r->sum;
    sum_out_t o = {s->buf, s->cap, s->len, false};

    run->used = false;
    if (!s->valid)
        return;
    put_run(&o, r, run, &s->last_off);
    if (o.full)
        s->valid = false;       /* no summary for this block */
    else
        s->len = o.len;
}

static void emit_all(runnel_t *r)
{
    uint32_t i;

    for (i = 0; i < r->sum.runs_cap; i++)
        if (r->sum.runs[i].used)
            emit(r, &r->sum.runs[i]);
}

/* The runs a pointed record must come after: a TRIM reads and changes
 * only its own stream's nodes (its append dooms them, reclaim.c), so only
 * that stream's run is closed and the others go on - an XADD with MAXLEN
 * writes a TRIM after nearly every entry, and closing every run there
 * made a summary of ten trimmed streams a sixth of its block; any other
 * record closes every run (FORMAT.md "Block summaries"). */
static void emit_before(runnel_t *r, uint8_t type)
{
    const struct runnel__doom *d = &r->doom;
    uint32_t i;

    if (type != RUNNEL_REC_TRIM || !d->active || d->flush >= 0 || d->sidx >= r->streams_cap) {
        emit_all(r);
        return;
    }
    for (i = 0; i < r->sum.runs_cap; i++)
        if (r->sum.runs[i].used && r->sum.runs[i].sidx == d->sidx)
            emit(r, &r->sum.runs[i]);
}

void runnel__summary_start(runnel_t *r, uint64_t seq, bool valid)
{
    struct runnel__summary *s = &r->sum;
    uint8_t b[RUNNEL_VARINT_MAX];
    uint32_t i;

    if (s->buf == NULL)
        return;
    for (i = 0; i < s->runs_cap; i++)
        s->runs[i].used = false;
    s->len = (uint32_t)runnel__varint_put(b, seq & 0xFFFFFFFFu);  /* as its header */
    memcpy(s->buf, b, s->len);
    s->seq = seq;
    s->valid = valid && s->len < s->cap;
    s->any = false;
    s->pointed = 0;
    s->last_off = 0;
}

void runnel__summary_entry(runnel_t *r, uint32_t sidx, bool new_node, runnel_id_t id,
                           const struct runnel__node *before)
{
    struct runnel__summary *s = &r->sum;
    const struct runnel__stream *w = &r->streams[sidx];
    struct runnel__sum_run *run = NULL;
    const struct runnel__node *n;
    uint32_t i;

    if (s->buf == NULL || !s->valid || w->tail_node == RUNNEL__NONE)
        return;
    n = &r->nodes[w->tail_node];
    if (n->last_pos / r->log.block_size != s->seq) {
        s->valid = false;       /* cannot happen: the entry is in block seq */
        return;
    }
    for (i = 0; i < s->runs_cap && run == NULL; i++)
        if (s->runs[i].used && s->runs[i].sidx == sidx)
            run = &s->runs[i];
    if (run != NULL && (new_node || run->snap.first_pos != n->first_pos))
        emit(r, run);           /* that node is done: a new one starts */
    if (run == NULL || !run->used) {
        for (i = 0; i < s->runs_cap && (run == NULL || run->used); i++)
            if (!s->runs[i].used)
                run = &s->runs[i];
        if (run == NULL || run->used) {
            run = &s->runs[s->evict];   /* the table is full: write one */
            s->evict = (s->evict + 1u) % s->runs_cap;
            emit(r, run);
        }
        memset(run, 0, sizeof(*run));
        run->used = true;
        run->sidx = sidx;
        run->is_new = new_node;
        run->has_first = !new_node && w->length == 1;
        run->first_entry = id;
        run->tracked = w->sync.tracked;
        if (!new_node && before != NULL) {
            run->base_count = before->count;
            run->base_lp = before->lp_rest;
            run->base_last = before->last;
        }
    }
    run->snap = *n;
    run->added++;
    if (w->sync.tracked && runnel_id_cmp(id, w->sync.cursor) > 0)
        run->above++;
}

/* runnel__log_owner_t.note: a record was appended at pos. */
void runnel__summary_note(void *ctx, uint8_t type, runnel_pos_t pos)
{
    runnel_t *r = ctx;
    struct runnel__summary *s = &r->sum;
    sum_out_t o;
    bool first = !s->any;

    s->any = true;
    if (s->buf == NULL || !s->valid || !runnel__summary_points_at(type))
        return;
    if (pos / r->log.block_size != s->seq) {
        s->valid = false;
        return;
    }
    emit_before(r, type);
    o.p = s->buf;
    o.cap = s->cap;
    o.len = s->len;
    o.full = false;
    put_u8(&o, first ? RUNNEL__SUM_PTR_FIRST : RUNNEL__SUM_PTR);
    put_varint(&o, pos % r->log.block_size);
    if (!s->valid || o.full)
        s->valid = false;
    else
        s->len = o.len;
    s->pointed += (uint32_t)(r->log.head - pos);  /* mount reads it */
}

/* runnel__log_owner_t.first: the summary of block `closing`, its open
 * runs written after the items (in the buffer's free end, so nothing
 * changes: runnel__log_place asks too). */
uint32_t runnel__summary_first(void *ctx, uint64_t closing, const uint8_t **body)
{
    runnel_t *r = ctx;
    struct runnel__summary *s = &r->sum;
    sum_out_t o;
    runnel_pos_t from;
    uint32_t i, last_off;

    if (s->buf == NULL || !s->valid || closing != s->seq || r->in_checkpoint || r->replaying)
        return 0;
    o.p = s->buf;
    o.cap = s->cap;
    o.len = s->len;
    o.full = false;
    /* the open runs in log order of their newest records, each offset
     * coded against the one before (a copy: this may be asked again) */
    last_off = s->last_off;
    for (from = 0;;) {
        const struct runnel__sum_run *next = NULL;

        for (i = 0; i < s->runs_cap; i++)
            if (s->runs[i].used && s->runs[i].snap.last_pos >= from &&
                (next == NULL || s->runs[i].snap.last_pos < next->snap.last_pos))
                next = &s->runs[i];
        if (next == NULL)
            break;
        put_run(&o, r, next, &last_off);
        from = next->snap.last_pos + 1u;    /* each run's newest record is its own */
    }
    /* Written only where it at least halves what mount reads of the
     * block: a block of mostly pointers costs its summary's bytes on
     * every write and saves little at mount. */
    if (o.full || (uint64_t)o.len + s->pointed > (r->log.head - closing * r->log.block_size) / 2u)
        return 0;
    *body = s->buf;
    return o.len;
}

/* runnel__log_owner_t.opened: the head is in block seq from now on. */
void runnel__summary_opened(void *ctx, uint64_t seq, bool summarised)
{
    (void)summarised;
    runnel__summary_start(ctx, seq, true);
}

/* ---- reader ---- */

static int rd_hash(runnel__reader_t *b, uint32_t *h)
{
    uint32_t v = 0;
    int i;

    for (i = 0; i < 4; i++)
        v |= (uint32_t)runnel__rd_u8(b) << (8 * i);
    *h = v;
    return b->bad ? RUNNEL_ERR_CORRUPT : 0;
}

/* A new node as node_start (stream_add.c) leaves it after its entries. */
static int start_node(runnel_t *r, uint32_t sidx, const struct runnel__node *d)
{
    uint32_t twin, nslot;
    int err = runnel__node_twin(r, sidx, d->first, &twin);

    if (err < 0)
        return err;
    if (twin != RUNNEL__NONE && r->nodes[twin].live == 0)
        (void)runnel__node_drop(r, twin);
    if (runnel__nodes_full(r))
        return RUNNEL_ERR_POOL_NODES;
    nslot = runnel__node_alloc(r);
    if (nslot == RUNNEL__NONE)
        return RUNNEL_ERR_POOL_NODES;
    r->nodes[nslot] = *d;
    r->nodes[nslot].sidx = sidx;
    runnel__node_insert(r, nslot);
    return 0;
}

int runnel__summary_apply_node(runnel_t *r, runnel__reader_t *b, runnel_pos_t blk, uint8_t tag,
                               uint32_t *last_off)
{
    uint8_t flags = (tag & 0xF0u) == RUNNEL__SUM_NODE ? (uint8_t)(tag & 0x0Fu) : 0u;
    struct runnel__node d;
    struct runnel__stream *w;
    struct runnel__node *n = NULL;
    runnel_id_t fe = RUNNEL_ID_MIN;
    uint64_t sidx, v, above = 0, added;
    uint32_t bs = r->log.block_size;
    int err;

    sidx = (tag & 0xE0u) == RUNNEL__SUM_GROWN ? (uint64_t)(tag & 0x1Fu) : runnel__rd_varint(b);
    if (b->bad || sidx >= r->streams_cap || !r->streams[sidx].used)
        return RUNNEL_ERR_CORRUPT;
    w = &r->streams[sidx];
    memset(&d, 0, sizeof d);
    if (flags & RUNNEL__SUM_NEW) {
        d.first = runnel__rd_id(b);
        v = runnel__rd_varint(b);
        d.first_pos = blk + v;
        if (v < r->log.hdr_size || v >= bs)
            return RUNNEL_ERR_CORRUPT;
        v = runnel__rd_varint(b);
        d.first_size = (uint32_t)v;
        if (v > bs || rd_hash(b, &d.fields_hash) < 0)
            return RUNNEL_ERR_CORRUPT;
        v = runnel__rd_varint(b);
        if (v > r->cfg.node_entries_cap || v == 0)
            return RUNNEL_ERR_CORRUPT;
        added = v;
        v = runnel__rd_varint(b);
        d.last.ms = runnel__unzigzag(runnel__rd_varint(b), d.first.ms);
    } else {
        err = runnel__stub_tail(r, (uint32_t)sidx);
        if (err < 0)
            return err;
        if (w->tail_node == RUNNEL__NONE)
            return RUNNEL_ERR_CORRUPT;
        n = &r->nodes[w->tail_node];
        d = *n;
        added = runnel__rd_varint(b);
        if (added == 0 || added > r->cfg.node_entries_cap - n->count)
            return RUNNEL_ERR_CORRUPT;
        v = runnel__unzigzag(runnel__rd_varint(b), lp_predicted(n->lp_rest, n->count, added));
        d.last.ms = runnel__unzigzag(runnel__rd_varint(b), n->last.ms);
    }
    if (v > UINT32_MAX)
        return RUNNEL_ERR_CORRUPT;
    d.lp_rest = (uint32_t)v;
    d.count = (n != NULL ? n->count : 0u) + (uint32_t)added;
    d.live = (n != NULL ? n->live : 0u) + (uint32_t)added;
    d.last.seq = runnel__rd_varint(b);
    v = runnel__unzigzag(runnel__rd_varint(b), *last_off);
    d.last_pos = blk + v;
    *last_off = (uint32_t)v;
    if (flags & RUNNEL__SUM_UNORDERED)
        d.unordered = true;
    if (flags & RUNNEL__SUM_FIRST) {
        fe.ms = runnel__unzigzag(runnel__rd_varint(b), d.first.ms);
        fe.seq = runnel__rd_varint(b);
    }
    if (flags & RUNNEL__SUM_ABOVE)
        above = runnel__rd_varint(b);
    if (b->bad || v < r->log.hdr_size || v >= bs || d.last_pos < d.first_pos ||
        runnel_id_cmp(d.last, w->last_id) <= 0 || above > added)
        return RUNNEL_ERR_CORRUPT;      /* XADD never goes below its last ID */
    if (n != NULL) {
        *n = d;
    } else {
        if (runnel_id_cmp(d.first, w->last_id) <= 0)
            return RUNNEL_ERR_CORRUPT;
        err = start_node(r, (uint32_t)sidx, &d);
        if (err < 0)
            return err;
    }
    if (w->length == 0) {
        if (n != NULL && !(flags & RUNNEL__SUM_FIRST))
            return RUNNEL_ERR_CORRUPT;
        w->first_id = n != NULL ? fe : d.first;
        w->first_stale = false;
    }
    w->last_id = d.last;
    w->last_valid = d.last;
    w->length += added;
    w->entries_added += added;
    if (w->sync.tracked)
        w->sync.backlog += (flags & RUNNEL__SUM_ABOVE) ? above : added;
    return 0;
}
