/*
 * checkpoint_dir.c - the directory of a checkpoint's node runs (FORMAT.md
 * "Node runs and the directory"): the CKPT_NODE_DIR entries that name each
 * run a checkpoint keeps on flash, written after its CKPT_STREAMs and read
 * by mount into stubs (checkpoint_stub.c), and the CKPT_DIR_REFs that name
 * again the records of the checkpoint before whose entries all still hold.
 *
 * An entry is about 20 bytes for a run of 60-80 nodes: its stream, node
 * count, ID range, lowest node position, record position and length, and
 * the sums of the counters its nodes carry, each coded against the entry
 * before it in the same record (a record decodes on its own). A run of
 * several records (parts, checkpoint_stub.c) adds where its first record
 * is and how many there are.
 *
 * Order of a checkpoint's directory: the DIR_REFs, then entries for the
 * runs named again where they are (the stubs no DIR_REF covers, the loaded
 * runs found unchanged), oldest floor first, then entries for the runs
 * this checkpoint wrote.
 */
#include <string.h>

#include "checkpoint_stub_impl.h"

/* CKPT_NODE_DIR entry flags (FORMAT.md "Checkpoints") */
#define DIR_UNORDERED   0x01u   /* one of the run's nodes is unordered */
#define DIR_SAME_STREAM 0x02u   /* the stream of the entry before */
#define DIR_PARTS       0x04u   /* run_pos - floor and parts - 2 follow */
#define DIR_LAST_BELOW  0x08u   /* last < first: last is absolute */
#define DIR_DEAD        0x10u   /* count - live follows */
#define DIR_ENTRY_MAX   (1u + 15u * RUNNEL_VARINT_MAX)

/* What the entry before, in the same record, leaves for the next: the
 * next one's fields are coded against it (any stream: a checkpoint's
 * directory names about one new run per stream, each of another stream,
 * all of about the same time and shape). */
typedef struct dir_prev {
    bool any;
    uint32_t sidx, nodes;
    runnel_id_t first;
    runnel_pos_t run_pos;
    uint64_t spread, len, count, lp;
} dir_prev_t;

static size_t vput(uint8_t *b, size_t k, uint64_t v)
{
    return k + runnel__varint_put(b + k, v);
}

/* What the entry before predicts for a run of `nodes` nodes holding
 * `count` entries: its spread, record length, entry count and listpack
 * bytes at the entry before's rate (0 for a record's first entry). All
 * modulo 2^64: a damaged entry decodes to some numbers, which are checked. */
typedef struct dir_pred {
    uint64_t spread, len, count, lp;
} dir_pred_t;

static void dir_predict(const dir_prev_t *prev, uint64_t nodes, dir_pred_t *p)
{
    memset(p, 0, sizeof *p);
    if (!prev->any || prev->nodes == 0)
        return;
    p->spread = prev->nodes > 1 && nodes > 1 ? (nodes - 1u) * (prev->spread / (prev->nodes - 1u))
                                             : 0u;
    p->len = nodes * (prev->len / prev->nodes);
    p->count = nodes * (prev->count / prev->nodes);
}

static uint64_t dir_predict_lp(const dir_prev_t *prev, uint64_t count)
{
    return prev->any && prev->count > 0 ? count * (prev->lp / prev->count) : 0u;
}

static void dir_prev_set(dir_prev_t *prev, const run_desc_t *d)
{
    prev->any = true;
    prev->sidx = d->sidx;
    prev->nodes = d->nodes;
    prev->first = d->first;
    prev->run_pos = d->run_pos;
    prev->spread = d->high - d->low;
    prev->len = d->len;
    prev->count = d->count;
    prev->lp = d->lp;
}

static size_t dir_entry(const run_desc_t *d, dir_prev_t *prev, uint8_t *b)
{
    uint8_t flags = d->unordered ? DIR_UNORDERED : 0u;
    dir_pred_t p;
    size_t k = 1;

    dir_predict(prev, d->nodes, &p);
    flags |= prev->any && prev->sidx == d->sidx ? DIR_SAME_STREAM : 0u;
    flags |= runnel_id_cmp(d->last, d->first) < 0 ? DIR_LAST_BELOW : 0u;
    flags |= d->live < d->count ? DIR_DEAD : 0u;
    flags |= d->parts > 1u ? DIR_PARTS : 0u;
    b[0] = flags;
    if (!(flags & DIR_SAME_STREAM))
        k = vput(b, k, d->sidx);
    k = vput(b, k, d->nodes);
    k = vput(b, k, runnel__zigzag(d->first.ms, prev->any ? prev->first.ms : 0u));
    k = vput(b, k, d->first.seq);
    k = runnel__ckpt_put_id(b, k, d->last, (flags & DIR_LAST_BELOW) ? RUNNEL_ID_MIN : d->first);
    k = vput(b, k, runnel__zigzag(d->run_pos, prev->any ? prev->run_pos : 0u));
    k = vput(b, k, d->run_pos - d->low);
    if (flags & DIR_PARTS) {
        k = vput(b, k, d->run_pos - d->floor);
        k = vput(b, k, d->parts - 2u);
    }
    k = vput(b, k, runnel__zigzag(d->high - d->low, p.spread));
    k = vput(b, k, runnel__zigzag(d->len, p.len));
    k = vput(b, k, runnel__zigzag(d->count, p.count));
    if (flags & DIR_DEAD)
        k = vput(b, k, d->count - d->live);
    k = vput(b, k, runnel__zigzag(d->lp, dir_predict_lp(prev, d->count)));
    dir_prev_set(prev, d);
    return k;
}

typedef struct dir_out {
    uint8_t *b;
    size_t n, cap;
    dir_prev_t prev;
    uint32_t *records;
    runnel_pos_t floor;         /* the lowest run named */
} dir_out_t;

/* The DIR record at pos is one the newest checkpoint names (r->dirs). */
static void dir_remember(runnel_t *r, runnel_pos_t pos)
{
    if (r->dirs_n < r->dirs_cap)
        r->dirs[r->dirs_n++] = pos;
}

static int dir_flush(runnel_t *r, dir_out_t *o)
{
    runnel_pos_t at;
    int err = runnel__append(r, RUNNEL_REC_CKPT_NODE_DIR, o->b, o->n, &at);

    if (err < 0)
        return err;
    (*o->records)++;
    dir_remember(r, at);
    o->n = 0;
    o->prev.any = false;        /* each record decodes on its own */
    return 0;
}

static int dir_put(runnel_t *r, dir_out_t *o, const run_desc_t *d)
{
    int err;

    if (o->n + DIR_ENTRY_MAX > o->cap) {
        err = dir_flush(r, o);
        if (err < 0)
            return err;
    }
    o->n += dir_entry(d, &o->prev, o->b + o->n);
    if (d->floor < o->floor)
        o->floor = d->floor;
    return 0;
}

/*
 * DIR records named again (CKPT_DIR_REF, FORMAT.md "Node runs and the
 * directory"). A large store's directory is several records (10 KiB at
 * 64 MiB with 16 streams) and most of its entries name runs nothing
 * touched since the last checkpoint: rewriting it whole each time was a
 * twentieth of everything programmed. So a checkpoint names again each
 * DIR record of the last one whose every entry is still a stub exactly
 * as the entry says - stubs do not change, whatever changes a run's
 * nodes loads it first - and writes entries only for the other stubs
 * and the new runs. Checked against the record's bytes, not remembered:
 * a record this cannot read back (too large, overwritten, below the
 * horizon) is simply written again.
 */

static int dir_entry_read(const runnel_t *r, runnel__reader_t *c, dir_prev_t *prev,
                          runnel_pos_t dir_pos, run_desc_t *out);

static bool desc_equal(const run_desc_t *a, const run_desc_t *b)
{
    return a->sidx == b->sidx && a->nodes == b->nodes && a->len == b->len &&
           runnel_id_cmp(a->first, b->first) == 0 && runnel_id_cmp(a->last, b->last) == 0 &&
           a->low == b->low && a->high == b->high && a->run_pos == b->run_pos &&
           a->floor == b->floor && a->parts == b->parts &&
           a->count == b->count && a->live == b->live && a->lp == b->lp &&
           a->unordered == b->unordered;
}

/* What a DIR entry names in RAM, exactly as the entry says: a stub,
 * marked or not as `marked` says, or (unmarked only) the first node of a
 * loaded run this checkpoint names again where it is (mark_reused): its
 * node_order position, or RUNNEL__NONE. */
static uint32_t named_at(const runnel_t *r, const run_desc_t *d, bool marked)
{
    uint32_t lo, hi, end, mid;
    run_desc_t s;

    if (d->sidx >= r->streams_cap || !r->streams[d->sidx].used)
        return RUNNEL__NONE;
    runnel__stream_nodes(r, d->sidx, &lo, &end);
    hi = end;
    while (lo < hi) {           /* the first node whose first ID >= d's */
        mid = lo + (hi - lo) / 2u;
        if (runnel_id_cmp(r->nodes[r->node_order[mid]].first, d->first) < 0)
            lo = mid + 1u;
        else
            hi = mid;
    }
    for (; lo < end && runnel_id_cmp(r->nodes[r->node_order[lo]].first, d->first) == 0; lo++) {
        const struct runnel__node *n = &r->nodes[r->node_order[lo]];

        if (n->stub && n->run_grows)
            continue;           /* this checkpoint names it grown */
        if (n->stub && n->run_reused == marked)
            runnel__stub_desc_of_stub(n, &s);
        else if (!n->stub && !marked && n->from_run && n->run_reused) {
            /* its records are as reusable_from read them: their number is
             * checked, where they start and their length taken as d says */
            runnel__stub_desc_of_nodes(r, lo, runnel__stub_origin_end(r, lo),
                                       runnel__stub_origin_pos(r, n->run_origin), d->len, &s);
            s.floor = d->floor;
            s.parts = n->run_parts;
        } else
            continue;
        if (desc_equal(&s, d))
            return lo;
    }
    return RUNNEL__NONE;
}

/* Walks the DIR record in stub_buf, the first `upto` entries (all:
 * UINT32_MAX): each must name an unmarked stub, or a loaded run named
 * again, as it is; marks them when `mark` (a loaded run leaves RAM for
 * its stub, as write_dir would do), else unmarks them. Returns how many
 * matched before one did not, or UINT32_MAX when all did. */
static uint32_t dir_entries_mark(runnel_t *r, const runnel__rec_t *rec, bool mark, uint32_t upto)
{
    runnel__reader_t c;
    dir_prev_t prev;
    run_desc_t d;
    uint32_t p, i;

    runnel__reader_init(&c, r->stub_buf, rec->len);
    memset(&prev, 0, sizeof prev);
    for (i = 0; c.off < c.len && i < upto; i++) {
        if (dir_entry_read(r, &c, &prev, rec->pos, &d) < 0)
            return i;
        p = named_at(r, &d, !mark);
        if (p == RUNNEL__NONE)
            return i;
        if (!r->nodes[r->node_order[p]].stub) {
            runnel__stub_evict(r, p, runnel__stub_origin_end(r, p), &d);  /* the stub is at p now */
            r->stats.stub_reuses++;
        }
        r->nodes[r->node_order[p]].run_reused = mark;
    }
    return UINT32_MAX;
}

/* Short DIR records (less than half the longest) a checkpoint may name
 * again: more are written again with the new entries, so that the
 * directory does not become many small records, each a read at mount. */
#define DIR_SHORT_REFS 3u

/* May the last checkpoint's DIR record at pos be named again whole?
 * Marks its stubs (run_reused) when it may: every entry a stub as it is,
 * named by no other record. *shorts counts the short ones named. */
static bool dir_reusable(runnel_t *r, runnel_pos_t pos, size_t cap, uint32_t *shorts)
{
    runnel__rec_t rec;
    uint32_t matched;
    bool is_short;

    if (pos < r->log.tail || pos < r->stub_horizon || pos >= r->log.head ||
        runnel__log_header(&r->log, pos, &rec) < 0 || rec.type != RUNNEL_REC_CKPT_NODE_DIR ||
        rec.len > r->stub_cap || rec.next > r->log.head)
        return false;
    is_short = rec.len < cap / 2u;
    if ((is_short && *shorts >= DIR_SHORT_REFS) ||
        runnel__log_read_body(&r->log, &rec, r->stub_buf, r->stub_cap) < 0)
        return false;
    matched = dir_entries_mark(r, &rec, true, UINT32_MAX);
    if (matched == UINT32_MAX) {
        *shorts += is_short ? 1u : 0u;
        return true;
    }
    (void)dir_entries_mark(r, &rec, false, matched);    /* undo */
    return false;
}

/* The CKPT_DIR_REFs: the last checkpoint's DIR records that may be named
 * again, each position as a varint, the first absolute and the others
 * zigzag against the one before. They start the new list (r->dirs). */
static int dir_refs_write(runnel_t *r, dir_out_t *o)
{
    uint32_t i, kept = 0, shorts = 0, n = (uint32_t)r->dirs_n;
    runnel_pos_t prev = 0;
    size_t k = 0;
    int err;

    for (i = 0; i < n; i++)
        if (dir_reusable(r, r->dirs[i], o->cap, &shorts))
            r->dirs[kept++] = r->dirs[i];
    r->dirs_n = 0;
    for (i = 0; i < kept; i++) {
        if (k + RUNNEL_VARINT_MAX > o->cap) {
            err = runnel__append(r, RUNNEL_REC_CKPT_DIR_REF, o->b, k, NULL);
            if (err < 0)
                return err;
            (*o->records)++;
            k = 0;
        }
        k = vput(o->b, k, k == 0 ? r->dirs[i] : runnel__zigzag(r->dirs[i], prev));
        prev = r->dirs[i];
        r->dirs_n++;            /* the same slot: the list is compacted */
    }
    if (k > 0) {
        err = runnel__append(r, RUNNEL_REC_CKPT_DIR_REF, o->b, k, NULL);
        if (err < 0)
            return err;
        (*o->records)++;
    }
    return 0;
}

int runnel__stub_dir_ref_load(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    runnel__reader_t c;
    runnel__rec_t dir;
    runnel_pos_t pos = 0;
    bool first = true;
    int err;

    runnel__reader_init(&c, body, rec->len);
    while (c.off < c.len) {
        uint64_t v = runnel__rd_varint(&c);

        pos = first ? v : runnel__unzigzag(v, pos);
        first = false;
        if (c.bad || pos < r->log.tail || pos >= rec->pos)
            return RUNNEL_ERR_CORRUPT;
        err = runnel__log_header(&r->log, pos, &dir);
        if (err < 0)
            return err;
        if (dir.type != RUNNEL_REC_CKPT_NODE_DIR || dir.len > r->scratch_cap ||
            dir.next > rec->pos)
            return RUNNEL_ERR_CORRUPT;
        err = runnel__log_read_body(&r->log, &dir, r->scratch, r->scratch_cap);
        if (err < 0)
            return err;
        err = runnel__stub_dir_load(r, &dir, r->scratch);
        if (err < 0)
            return err;
        r->mount_dir_refs++;
    }
    return 0;
}

/* Is the stub at node_order position p one dir_name_stubs names? Not one
 * a DIR_REF covers, nor one named with its new part (dir_name_written);
 * one whose new nodes went since the plan (the ring dropped them while
 * the checkpoint was written) is named as it is. */
static bool dir_names_stub(const runnel_t *r, uint32_t p)
{
    uint32_t nslot = r->node_order[p];
    const struct runnel__node *n = &r->nodes[nslot];

    if (!n->stub || n->run_reused)
        return false;
    return !(n->run_grows && p + 1u < r->nodes_used && runnel__stub_grown_by(r, p + 1u) == nslot &&
             !runnel__stub_inline(r, r->node_order[p + 1u]));
}

/* Stubs dir_name_stubs names per walk of the node order. */
#define DIR_BATCH 16u

/* A stub as dir_name_stubs orders them: by first record, then slot. */
typedef struct dir_key {
    runnel_pos_t floor;
    uint32_t slot;
} dir_key_t;

static bool key_below(const dir_key_t *a, const dir_key_t *b)
{
    return a->floor < b->floor || (a->floor == b->floor && a->slot < b->slot);
}

/* Names the stubs dir_names_stub picks, in the order of their first
 * records (then of their slots): each walk of the node order finds the
 * next DIR_BATCH of them after the last one named, so the directory of
 * E stubs among N nodes costs E / DIR_BATCH walks, not E. Kept by slot
 * and floor, not node_order position: the appends of the records may
 * make the ring drop nodes (never a stub: the plan loaded those the
 * tail may reach). */
static int dir_name_stubs(runnel_t *r, dir_out_t *o)
{
    dir_key_t batch[DIR_BATCH], last = { 0, 0 };
    uint32_t p, n, i;
    bool any = false;
    run_desc_t d;
    int err;

    do {
        for (n = 0, p = 0; p < r->nodes_used; p++) {
            const struct runnel__node *s = &r->nodes[r->node_order[p]];
            dir_key_t k;

            if (!dir_names_stub(r, p))
                continue;
            k.floor = s->last_pos - s->run_origin;
            k.slot = r->node_order[p];
            if ((any && !key_below(&last, &k)) || (n == DIR_BATCH && !key_below(&k, &batch[n - 1u])))
                continue;       /* named already, or not among the next ones */
            i = n < DIR_BATCH ? n++ : n - 1u;           /* insertion, dropping the largest */
            for (; i > 0 && key_below(&k, &batch[i - 1u]); i--)
                batch[i] = batch[i - 1u];
            batch[i] = k;
        }
        for (i = 0; i < n; i++) {
            runnel__stub_desc_of_stub(&r->nodes[batch[i].slot], &d);
            err = dir_put(r, o, &d);
            if (err < 0)
                return err;
        }
        if (n > 0) {
            any = true;
            last = batch[n - 1u];
        }
    } while (n == DIR_BATCH);
    return 0;
}

/* The DIR entries of the runs named again where they are: the stubs no
 * DIR_REF covers, and the loaded runs mark_reused found unchanged (they
 * leave RAM for a stub first). They come before the runs this checkpoint
 * wrote, oldest first record (floor) first, so that a record holds runs
 * of about one age and stays valid, for dir_reusable, as long as they
 * do: the horizon reaches the oldest runs first, and the newest ones grow
 * (checkpoint_stub.c). In the node order (stream by stream) every record
 * held some stream's oldest or newest run: at 64 MiB with 16 streams
 * each checkpoint wrote the whole directory again, 3.3 KiB, 0.018
 * programmed bytes per payload byte past the ring's first pass. */
static int dir_name_older(runnel_t *r, dir_out_t *o)
{
    run_desc_t d;
    uint32_t p, q;
    int err;

    for (p = 0; p < r->nodes_used; p++) {
        uint32_t nslot = r->node_order[p];
        struct runnel__node *n = &r->nodes[nslot];

        if (n->stub && n->run_reused) {
            /* named by an older DIR record the DIR_REF names again */
            runnel__stub_desc_of_stub(n, &d);
            if (d.floor < o->floor)
                o->floor = d.floor;
        } else if (!n->stub && n->run_reused && !runnel__stub_inline(r, nslot)) {
            runnel_pos_t at = runnel__stub_origin_pos(r, n->run_origin);
            run_desc_t shape;

            q = runnel__stub_origin_end(r, p);
            err = runnel__stub_run_shape(r, at, n->run_parts, &shape);
            if (err < 0)
                return err;
            runnel__stub_desc_of_nodes(r, p, q, at, shape.len, &d);
            d.floor = shape.floor;
            d.parts = shape.parts;
            runnel__stub_evict(r, p, q, &d);  /* a stub at p now, named below */
            r->stats.stub_reuses++;
        }
    }
    return dir_name_stubs(r, o);
}

/* Stub g's run grown by the part `part` (its nodes, written at
 * part->run_pos). */
static void desc_grow(const struct runnel__node *g, const run_desc_t *part, run_desc_t *d)
{
    runnel__stub_desc_of_stub(g, d);
    d->nodes += part->nodes;
    d->len += part->len;
    d->parts++;
    d->last = part->last;
    d->low = part->low < d->low ? part->low : d->low;
    d->high = part->high > d->high ? part->high : d->high;
    d->run_pos = part->run_pos;
    d->count += part->count;
    d->live += part->live;
    d->lp += part->lp;
    d->unordered |= part->unordered;
}

/* The DIR entries of the runs write_runs wrote, from `first` on, in this
 * order with nothing between them; their nodes leave RAM for a stub, or
 * for the stub whose run they are the next part of. */
static int dir_name_written(runnel_t *r, dir_out_t *o, runnel_pos_t first)
{
    runnel_pos_t pos = first;
    runnel__rec_t rec;
    run_desc_t d, part;
    uint32_t p = 0, q, g;
    size_t len;
    int err;

    while (p < r->nodes_used) {
        uint32_t nslot = r->node_order[p];

        if (r->nodes[nslot].stub || runnel__stub_inline(r, nslot)) {
            p++;
            continue;
        }
        g = runnel__stub_grown_by(r, p);
        q = runnel__stub_next_run(r, p, NULL, &len);
        err = pos == RUNNEL__NO_POS ? RUNNEL_ERR_CORRUPT : runnel__log_next(&r->log, pos, &rec);
        if (err < 0)
            return err;
        if (err == 0 || rec.len != len ||
            rec.type != (g != RUNNEL__NONE ? RUNNEL_REC_CKPT_NODE_MORE : RUNNEL_REC_CKPT_NODE_RUN))
            return RUNNEL_ERR_CORRUPT;
        pos = rec.next;
        runnel__stub_desc_of_nodes(r, p, q, rec.pos, len, &part);
        if (g != RUNNEL__NONE)
            desc_grow(&r->nodes[g], &part, &d);
        else
            d = part;
        err = dir_put(r, o, &d);
        if (err < 0)
            return err;
        if (g != RUNNEL__NONE) {
            runnel__stub_grow(r, g, p, q, &d);      /* at p - 1 still */
        } else {
            runnel__stub_evict(r, p, q, &d);
            p++;                /* past the stub now at p */
        }
    }
    return 0;
}

int runnel__stub_write_dir(runnel_t *r, runnel_pos_t first, uint32_t *records,
                           runnel_pos_t *floor)
{
    dir_out_t o;
    int err;

    memset(&o, 0, sizeof o);
    o.b = r->scratch;
    /* a quarter block, as the other checkpoint records, or one entry, and
     * at most what stub_buf holds, where dir_reusable reads it back */
    o.cap = r->log.block_size / 4u > DIR_ENTRY_MAX ? r->log.block_size / 4u : DIR_ENTRY_MAX;
    if (o.cap > runnel__log_max_body(&r->log))
        o.cap = runnel__log_max_body(&r->log);
    if (o.cap > r->scratch_cap)
        o.cap = r->scratch_cap;
    if (o.cap > r->stub_cap && r->stub_cap >= DIR_ENTRY_MAX)
        o.cap = r->stub_cap;
    o.records = records;
    o.floor = RUNNEL__NO_POS;
    *floor = RUNNEL__NO_POS;
    if (o.cap < DIR_ENTRY_MAX)
        return r->stubs == 0 && first == RUNNEL__NO_POS ? 0 : RUNNEL_ERR_INVAL;
    err = dir_refs_write(r, &o);
    if (err == 0)
        err = dir_name_older(r, &o);
    if (err == 0)
        err = dir_name_written(r, &o, first);
    if (err < 0)
        return err;
    *floor = o.floor;
    return o.n == 0 ? 0 : dir_flush(r, &o);
}

/* One DIR entry of the record at dir_pos, decoded and checked. */
static int dir_entry_read(const runnel_t *r, runnel__reader_t *c, dir_prev_t *prev,
                          runnel_pos_t dir_pos, run_desc_t *out)
{
    uint8_t flags = runnel__rd_u8(c);
    uint64_t slot, nodes, dpos, back, spread, len, count, dead = 0, lp, dfloor = 0, parts = 1;
    dir_pred_t p;
    run_desc_t d;

    if ((flags & ~(DIR_UNORDERED | DIR_SAME_STREAM | DIR_PARTS | DIR_LAST_BELOW | DIR_DEAD)) ||
        ((flags & DIR_SAME_STREAM) && !prev->any))
        return RUNNEL_ERR_CORRUPT;
    memset(&d, 0, sizeof d);
    slot = (flags & DIR_SAME_STREAM) ? prev->sidx : runnel__rd_varint(c);
    nodes = runnel__rd_varint(c);
    dir_predict(prev, nodes, &p);
    d.first.ms = runnel__unzigzag(runnel__rd_varint(c), prev->any ? prev->first.ms : 0u);
    d.first.seq = runnel__rd_varint(c);
    d.last = runnel__ckpt_rd_id(c, (flags & DIR_LAST_BELOW) ? RUNNEL_ID_MIN : d.first);
    dpos = runnel__rd_varint(c);
    back = runnel__rd_varint(c);
    if (flags & DIR_PARTS) {
        dfloor = runnel__rd_varint(c);
        parts = runnel__rd_varint(c) + 2u;
    }
    spread = runnel__unzigzag(runnel__rd_varint(c), p.spread);
    len = runnel__unzigzag(runnel__rd_varint(c), p.len);
    count = runnel__unzigzag(runnel__rd_varint(c), p.count);
    if (flags & DIR_DEAD)
        dead = runnel__rd_varint(c);
    lp = runnel__unzigzag(runnel__rd_varint(c), dir_predict_lp(prev, count));
    d.run_pos = runnel__unzigzag(dpos, prev->any ? prev->run_pos : 0u);
    if (c->bad || slot >= r->streams_cap || !r->streams[slot].used || nodes == 0 ||
        nodes > count || count > nodes * r->cfg.node_entries_cap || dead > count ||
        lp > UINT32_MAX || len == 0 || len > r->stub_cap || back > d.run_pos || spread > back ||
        d.run_pos < r->log.tail || d.run_pos >= dir_pos || len >= dir_pos - d.run_pos + dfloor ||
        ((flags & DIR_PARTS) && (dfloor == 0 || dfloor > UINT32_MAX || dfloor > d.run_pos ||
                                 d.run_pos - dfloor < r->log.tail || parts < 2u ||
                                 parts > RUNNEL__RUN_PARTS_MAX || parts > nodes)) ||
        ((flags & DIR_LAST_BELOW) != 0) != (runnel_id_cmp(d.last, d.first) < 0))
        return RUNNEL_ERR_CORRUPT;
    d.sidx = (uint32_t)slot;
    d.nodes = (uint32_t)nodes;
    d.len = (uint32_t)len;
    d.parts = (uint32_t)parts;
    d.floor = d.run_pos - dfloor;
    d.low = d.run_pos - back;
    d.high = d.low + spread;
    d.count = count;
    d.live = count - dead;
    d.lp = lp;
    d.unordered = (flags & DIR_UNORDERED) != 0;
    dir_prev_set(prev, &d);
    *out = d;
    return 0;
}

/* One DIR entry as a stub in a free slot and the node order. */
static int dir_stub(runnel_t *r, runnel__reader_t *c, dir_prev_t *prev, runnel_pos_t dir_pos)
{
    run_desc_t d;
    uint32_t nslot;
    int err = dir_entry_read(r, c, prev, dir_pos, &d);

    if (err < 0)
        return err;
    if ((uint64_t)r->nodes_used + r->stub_extra + d.nodes > r->nodes_cap)
        return RUNNEL_ERR_POOL_NODES;
    nslot = runnel__node_alloc(r);
    if (nslot == RUNNEL__NONE)
        return RUNNEL_ERR_POOL_NODES;
    runnel__stub_place(r, nslot, &d);
    if (r->ckpt_floor == RUNNEL__NO_POS || d.floor < r->ckpt_floor)
        r->ckpt_floor = d.floor;
    return 0;
}

int runnel__stub_dir_load(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    runnel__reader_t c;
    dir_prev_t prev;
    uint32_t i;
    int err;

    for (i = 0; i < r->dirs_n; i++)
        if (r->dirs[i] == rec->pos)
            return RUNNEL_ERR_CORRUPT;  /* named twice: its stubs would be too */
    dir_remember(r, rec->pos);
    runnel__reader_init(&c, body, rec->len);
    memset(&prev, 0, sizeof prev);
    while (c.off < c.len) {
        err = dir_stub(r, &c, &prev, rec->pos);
        if (err < 0)
            return err;
    }
    return 0;
}

