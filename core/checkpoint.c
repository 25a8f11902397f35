/*
 * checkpoint.c - the whole RAM state written to the log as records, so
 * that mount starts from it instead of from the store's first record, and
 * so that the oldest block can be reclaimed without losing state.
 *
 * A checkpoint (FORMAT.md, "Checkpoints") is a run of records:
 *   CKPT_BEGIN {seq, streams, nodes}
 *   CKPT_STREAM per stream (slot, database, the Redis counters, name)
 *   CKPT_NODE_RUN  the node descriptors, delta-coded (as many per record
 *     as fit in a quarter block)
 *   CKPT_GROUP  the group half's snapshot records (GROUP_CREATE,
 *     CONSUMER_CREATE, NACK_STATE: core/group_replay.c), each wrapped with
 *     its type, which mount unwraps and replays as usual - but the
 *     NACK_STATEs go delta-coded into CKPT_PEL_RUN records
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

static size_t vput(uint8_t *b, size_t k, uint64_t v);
static size_t put_id_from(uint8_t *b, size_t k, runnel_id_t id, runnel_id_t base);
static size_t nodes_cap(const runnel_t *r);

typedef struct ckpt_writer {
    runnel_t *r;
    uint32_t records;
    int err;
    /* A CKPT_PEL_RUN being gathered in r->scratch (free while the group
     * half emits its snapshot): pel_len bytes, the first pel_prefix of
     * them the group prefix; pel_prev* code the next entry. */
    size_t pel_len, pel_prefix;
    uint32_t pel_count;
    runnel_id_t pel_prev_id;
    uint64_t pel_prev_time;
    size_t pel_cons_off, pel_cons_len;  /* the last consumer name written */
} ckpt_writer_t;

static void put_rec(ckpt_writer_t *w, uint8_t type, const void *body, size_t len)
{
    if (w->err < 0)
        return;
    w->err = runnel__append(w->r, type, body, len, NULL);
    if (w->err == 0)
        w->records++;
}

/* ---- pending entries, delta-coded (CKPT_PEL_RUN, FORMAT.md) ----
 * A NACK_STATE body (FORMAT.md "Group records") is `db key:str group:str
 * consumer:str id.ms id.seq delivery_time delivery_count`. The group half
 * emits one per PEL entry in ID order; a run keeps the group prefix once
 * and codes each entry against the one before it, about 5 bytes instead of
 * a 25-35 byte record. */
#define PEL_SAME_CONSUMER 0x01u
#define PEL_ID_ABS        0x02u

typedef struct nack_fields {
    size_t prefix;              /* bytes of db, key and group */
    runnel_str_t consumer;
    runnel_id_t id;
    uint64_t time, count;
} nack_fields_t;

/* Splits a NACK_STATE body; false when it does not parse whole. */
static bool nack_split(const uint8_t *body, size_t len, nack_fields_t *f)
{
    runnel__reader_t c;
    uint64_t n;
    int k;

    if (len > UINT32_MAX)
        return false;
    runnel__reader_init(&c, body, (uint32_t)len);
    (void)runnel__rd_varint(&c);                   /* db */
    for (k = 0; k < 2 && !c.bad; k++) {            /* key, group */
        n = runnel__rd_varint(&c);
        if (c.bad || n > c.len - c.off)
            return false;
        c.off += (uint32_t)n;
    }
    f->prefix = c.off;
    n = runnel__rd_varint(&c);
    if (c.bad || n > c.len - c.off)
        return false;
    f->consumer.p = (const char *)body + c.off;
    f->consumer.len = (size_t)n;
    c.off += (uint32_t)n;
    f->id = runnel__rd_id(&c);
    f->time = runnel__rd_varint(&c);
    f->count = runnel__rd_varint(&c);
    return !c.bad && c.off == c.len;
}

static void pel_flush(ckpt_writer_t *w)
{
    if (w->pel_count > 0 && w->err == 0)
        put_rec(w, RUNNEL_REC_CKPT_PEL_RUN, w->r->scratch, w->pel_len);
    w->pel_count = 0;
    w->pel_len = 0;
}

/* Adds a NACK_STATE to the run (starting one if needed); false when it
 * must go as a plain CKPT_GROUP record instead. */
static bool pel_add(ckpt_writer_t *w, const uint8_t *body, size_t len)
{
    runnel_t *r = w->r;
    uint8_t *b = r->scratch;
    size_t cap = nodes_cap(r), k;
    nack_fields_t f;
    uint8_t flags = 0;

    if (!nack_split(body, len, &f) || f.prefix + 2u * RUNNEL_VARINT_MAX + len > cap)
        return false;
    if (w->pel_count > 0 && (f.prefix != w->pel_prefix ||
                             memcmp(b + runnel__varint_len(w->pel_prefix), body, f.prefix) != 0 ||
                             w->pel_len + len + 4u * RUNNEL_VARINT_MAX + 1u > cap))
        pel_flush(w);
    if (w->err < 0)
        return true;
    if (w->pel_count == 0) {
        w->pel_len = runnel__varint_put(b, f.prefix);
        memcpy(b + w->pel_len, body, f.prefix);
        w->pel_len += f.prefix;
        w->pel_prefix = f.prefix;
        w->pel_prev_id = RUNNEL_ID_MIN;
        w->pel_prev_time = 0;
    } else if (f.consumer.len == w->pel_cons_len &&
               memcmp(f.consumer.p, b + w->pel_cons_off, f.consumer.len) == 0) {
        flags |= PEL_SAME_CONSUMER;
    }
    if (runnel_id_cmp(f.id, w->pel_prev_id) < 0)
        flags |= PEL_ID_ABS;
    k = w->pel_len;
    b[k++] = flags;
    if (!(flags & PEL_SAME_CONSUMER)) {
        k += runnel__varint_put(b + k, f.consumer.len);
        memcpy(b + k, f.consumer.p, f.consumer.len);
        w->pel_cons_off = k;
        w->pel_cons_len = f.consumer.len;
        k += f.consumer.len;
    }
    k = put_id_from(b, k, f.id, (flags & PEL_ID_ABS) ? RUNNEL_ID_MIN : w->pel_prev_id);
    k = vput(b, k, runnel__zigzag(f.time, w->pel_prev_time));
    k = vput(b, k, f.count);
    w->pel_len = k;
    w->pel_count++;
    w->pel_prev_id = f.id;
    w->pel_prev_time = f.time;
    return true;
}

/* The group half's snapshot records, wrapped in CKPT_GROUP: a replay that
 * skips a checkpoint (mount.c) can tell them from journal records by type
 * alone, even when the checkpoint was cut short. Its pending entries go
 * into runs (pel_add). */
static int emit_group_rec(void *ctx, uint8_t type, const void *body, size_t len)
{
    ckpt_writer_t *w = ctx;
    runnel__iov_t iov[2];
    runnel_pos_t ignored;

    if (w->err < 0)
        return w->err;
    if (type == RUNNEL_REC_NACK_STATE && pel_add(w, body, len))
        return w->err;
    pel_flush(w);
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

/* Node descriptors, delta-coded (CKPT_NODE_RUN, FORMAT.md "Checkpoints"):
 * in node order each is coded against the one before it in the same record
 * (stream, master ID, first position, field names), so a descriptor of a
 * long stream takes about 13 bytes instead of 34. */
#define NODE_UNORDERED   0x01u  /* IDs do not rise with the index */
#define NODE_BITMAP      0x02u  /* a deletion bitmap follows */
#define NODE_SAME_STREAM 0x04u  /* the stream of the node before */
#define NODE_SAME_FIELDS 0x08u  /* the field-names hash of the node before */
#define NODE_DEAD        0x10u  /* count - live follows (else all live) */
#define NODE_LAST_BELOW  0x20u  /* last < first: last is absolute */
#define NODE_FIRST_ABS   0x40u  /* first is absolute (not above the one before) */

typedef runnel__node_base_t node_base_t;

/* Puts v at b + k (b NULL: counts only); returns the new length. */
static size_t vput(uint8_t *b, size_t k, uint64_t v)
{
    return k + (b != NULL ? runnel__varint_put(b + k, v) : runnel__varint_len(v));
}

/* id as {ms - base.ms, seq - base.seq when the ms are equal, else seq}:
 * id must not be below base. */
static size_t put_id_from(uint8_t *b, size_t k, runnel_id_t id, runnel_id_t base)
{
    uint64_t dms = id.ms - base.ms;

    k = vput(b, k, dms);
    return vput(b, k, dms == 0 ? id.seq - base.seq : id.seq);
}

size_t runnel__ckpt_put_id(uint8_t *b, size_t k, runnel_id_t id, runnel_id_t base)
{
    return put_id_from(b, k, id, base);
}

/* What the node before, of the same stream, predicts for the next one
 * (FORMAT.md "Checkpoints"): that it starts one entry spacing after the
 * node before's last record, spans as many bytes per entry, and holds as
 * many listpack bytes per entry. A stream's nodes are alike, and 16
 * streams written in turn put a stream's nodes some 65 KB apart, which
 * as plain numbers take three bytes each. 0 when there is no such node;
 * all modulo 2^64 (a damaged record decodes to some numbers, which are
 * checked). */
typedef struct node_pred {
    uint64_t gap, extent, lp_rest;
} node_pred_t;

static void node_predict(const node_base_t *base, bool same, uint64_t count, node_pred_t *p)
{
    uint64_t gaps;

    memset(p, 0, sizeof *p);
    if (!same || base->count == 0)
        return;
    p->lp_rest = count * (base->lp_rest / base->count);
    if (base->count < 2u)
        return;
    gaps = base->count - 1u;    /* spacings the node before spans */
    p->gap = base->extent + base->extent / gaps;
    p->extent = (base->extent / gaps) * (count - 1u) + (base->extent % gaps) * (count - 1u) / gaps;
}

static void node_base_set(node_base_t *base, uint32_t sidx, uint32_t fields_hash,
                          runnel_id_t first, runnel_pos_t first_pos, runnel_pos_t last_pos,
                          uint64_t count, uint64_t lp_rest)
{
    base->any = true;
    base->sidx = sidx;
    base->fields_hash = fields_hash;
    base->first = first;
    base->first_pos = first_pos;
    base->extent = last_pos - first_pos;
    base->count = count;
    base->lp_rest = lp_rest;
}

/* One descriptor; returns its length (b NULL: only counts it). */
static size_t encode_node(const runnel_t *r, uint32_t nslot, node_base_t *base, uint8_t *b)
{
    const struct runnel__node *n = &r->nodes[nslot];
    uint32_t bm = (n->count + 7u) / 8u;
    bool same = base->any && base->sidx == n->sidx;
    runnel_id_t from = same ? base->first : RUNNEL_ID_MIN;
    node_pred_t p;
    uint8_t flags = 0;
    size_t k = 1;

    node_predict(base, same, n->count, &p);
    flags |= n->unordered ? NODE_UNORDERED : 0u;
    flags |= n->live < n->count ? NODE_BITMAP | NODE_DEAD : 0u;
    flags |= same ? NODE_SAME_STREAM : 0u;
    flags |= base->any && base->fields_hash == n->fields_hash ? NODE_SAME_FIELDS : 0u;
    if (runnel_id_cmp(n->first, from) < 0) {
        flags |= NODE_FIRST_ABS;
        from = RUNNEL_ID_MIN;
    }
    if (runnel_id_cmp(n->last, n->first) < 0)
        flags |= NODE_LAST_BELOW;
    if (b != NULL)
        b[0] = flags;
    if (!same)
        k = vput(b, k, n->sidx);
    k = put_id_from(b, k, n->first, from);
    k = put_id_from(b, k, n->last, (flags & NODE_LAST_BELOW) ? RUNNEL_ID_MIN : n->first);
    k = vput(b, k, runnel__zigzag(n->first_pos, (base->any ? base->first_pos : 0u) + p.gap));
    k = vput(b, k, runnel__zigzag(n->last_pos - n->first_pos, p.extent));
    k = vput(b, k, n->first_size);
    k = vput(b, k, n->count);
    if (flags & NODE_DEAD)
        k = vput(b, k, n->count - n->live);
    k = vput(b, k, runnel__zigzag(n->lp_rest, p.lp_rest));
    if (!(flags & NODE_SAME_FIELDS))
        k = vput(b, k, n->fields_hash);
    if (flags & NODE_BITMAP) {
        if (b != NULL)
            memcpy(b + k, r->bitmaps + (size_t)nslot * r->bitmap_bytes, bm);
        k += bm;
    }
    node_base_set(base, n->sidx, n->fields_hash, n->first, n->first_pos, n->last_pos, n->count,
                  n->lp_rest);
    return k;
}

size_t runnel__ckpt_node_encode(const runnel_t *r, uint32_t nslot, runnel__node_base_t *base,
                                uint8_t *b)
{
    return encode_node(r, nslot, base, b);
}

/* Most bytes one node descriptor can take. */
static size_t node_max(const runnel_t *r)
{
    return 16u * RUNNEL_VARINT_MAX + 1u + r->bitmap_bytes;
}

size_t runnel__ckpt_node_max(const runnel_t *r)
{
    return node_max(r);
}

/* Largest CKPT_NODE_RUN body: a quarter block at most, so a record that
 * does not fit a block's rest wastes little of it (measure_blocks counts
 * on that). */
static size_t nodes_cap(const runnel_t *r)
{
    size_t cap = runnel__log_max_body(&r->log);

    if (cap > r->log.block_size / 4u)
        cap = r->log.block_size / 4u;
    if (cap < node_max(r) + 1u)
        cap = node_max(r) + 1u;
    if (cap > r->scratch_cap)
        cap = r->scratch_cap;
    return cap;
}

static void write_nodes(ckpt_writer_t *w)
{
    runnel_t *r = w->r;
    size_t cap = nodes_cap(r), n = 0;
    node_base_t base;
    uint32_t p;

    memset(&base, 0, sizeof base);
    for (p = 0; p < r->nodes_used && w->err == 0; p++) {
        if (r->nodes[r->node_order[p]].stub || !runnel__stub_inline(r, r->node_order[p]))
            continue;           /* in a run (checkpoint_stub.c) */
        if (n + node_max(r) > cap) {
            put_rec(w, RUNNEL_REC_CKPT_NODE_RUN, r->scratch, n);
            n = 0;
            base.any = false;   /* each record decodes on its own */
        }
        n += encode_node(r, r->node_order[p], &base, r->scratch + n);
    }
    if (n > 0)
        put_rec(w, RUNNEL_REC_CKPT_NODE_RUN, r->scratch, n);
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
    runnel_pos_t begin, runs = RUNNEL__NO_POS, head, floor = RUNNEL__NO_POS;
    uint64_t seq = r->ckpt_seq + 1u;
    uint32_t sidx, runs_named = 0;
    size_t n = 0;

    memset(&w, 0, sizeof w);
    w.r = r;
    /* Which nodes go in the body, which in runs, which runs are named
     * again as they are (checkpoint_stub.c); stubs to write again are
     * loaded now. */
    w.err = runnel__stub_plan(r);
    if (w.err < 0)
        return w.err;
    r->in_checkpoint = true;
    r->log.use_reserve = true;
    n += runnel__varint_put(b + n, seq);
    n += runnel__varint_put(b + n, r->streams_used);
    n += runnel__varint_put(b + n, r->nodes_used);
    w.err = seal_for_begin(r, &sealed);
    head = r->log.head;
    /* The long streams' older nodes go ahead of the BEGIN, in runs that
     * stay on flash until something needs them (checkpoint_stub.c); the
     * first of them opens the block as the BEGIN would. */
    if (w.err == 0)
        w.err = runnel__stub_write_runs(r, &runs, &runs_named);
    if (w.err == 0)
        w.err = runnel__append(r, RUNNEL_REC_CKPT_BEGIN, b, n, &begin);
    if (w.err < 0 && sealed && r->log.seal && r->log.head == head)
        r->log.seal = false;    /* nothing opened its block */
    for (sidx = 0; sidx < r->streams_cap && w.err == 0; sidx++)
        if (r->streams[sidx].used)
            write_stream(&w, sidx);
    if (w.err == 0 && (runs_named > 0 || r->stubs > 0))
        w.err = runnel__stub_write_dir(r, runs, &w.records, &floor);
    else if (w.err == 0)
        r->dirs_n = 0;          /* it names no DIR record */
    write_nodes(&w);
    for (sidx = 0; sidx < r->streams_cap && w.err == 0; sidx++)
        if (r->streams[sidx].used)
            w.err = runnel__groups_snapshot(r, sidx, emit_group_rec, &w);
    pel_flush(&w);
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
        r->ckpt_floor = floor < begin ? floor : begin;
        r->ckpt_seq = seq;
        r->pin_floor = RUNNEL__NO_POS;  /* every pin was older */
        r->replay_debt = 0;
    }
    r->log.use_reserve = false;
    r->in_checkpoint = false;
    return w.err;
}

/* What the group snapshot takes in a checkpoint, counted as
 * emit_group_rec writes it: CKPT_GROUP records, and the NACK_STATEs in
 * CKPT_PEL_RUNs, which pel_add opens and closes at the same points. Each
 * run entry is counted with its consumer name (pel_add leaves it out when
 * it repeats): an upper bound, as the reserve needs. */
typedef struct ckpt_measure {
    const runnel_t *r;
    uint64_t bytes;
    size_t run_len;             /* bytes of the open run, 0: none */
    size_t run_prefix;
    runnel_id_t prev_id;
    uint64_t prev_time;
} ckpt_measure_t;

static int count_group_rec(void *ctx, uint8_t type, const void *body, size_t len)
{
    ckpt_measure_t *m = ctx;
    size_t cap = nodes_cap(m->r), k;
    uint8_t b[4u * RUNNEL_VARINT_MAX];
    nack_fields_t f;

    if (type != RUNNEL_REC_NACK_STATE || !nack_split(body, len, &f) ||
        f.prefix + 2u * RUNNEL_VARINT_MAX + len > cap) {
        m->run_len = 0;
        m->bytes += 1u + 5u + 4u + 1u + len;   /* frame + the wrapped type */
        return 0;
    }
    if (m->run_len > 0 && (f.prefix != m->run_prefix ||
                           m->run_len + len + 4u * RUNNEL_VARINT_MAX + 1u > cap))
        m->run_len = 0;         /* pel_add closes the run (a prefix that
                                   differs only in its bytes: counted as
                                   the same, the entry bound covers it) */
    if (m->run_len == 0) {
        m->run_len = runnel__varint_len(f.prefix) + f.prefix;
        m->run_prefix = f.prefix;
        m->bytes += 1u + 5u + 4u + m->run_len;
        m->prev_id = RUNNEL_ID_MIN;
        m->prev_time = 0;
    }
    k = put_id_from(b, 0, f.id, runnel_id_cmp(f.id, m->prev_id) < 0 ? RUNNEL_ID_MIN : m->prev_id);
    k = vput(b, k, runnel__zigzag(f.time, m->prev_time));
    k = vput(b, k, f.count);
    k += 1u + runnel__varint_len(f.consumer.len) + f.consumer.len;
    m->run_len += k;
    m->bytes += k;
    m->prev_id = f.id;
    m->prev_time = f.time;
    return 0;
}

/* Blocks the records of `bytes` node descriptors and `other` other
 * bytes take: each with its frame, and a record's worth of unused tail per
 * block (records do not straddle blocks); records of at most a quarter
 * block (write_nodes) waste at most that much at a block's end, others
 * are small. */
static uint32_t blocks_for(const runnel_t *r, uint64_t nodes, uint64_t other)
{
    uint32_t usable = r->log.block_size - RUNNEL_LOG_HDR_SIZE;
    uint64_t bytes = other + nodes + (nodes / (usable / 4u) + 1u) * 10u;

    return (uint32_t)(bytes / (usable / 4u * 3u) + 1u);
}

/* Blocks a checkpoint of today's state takes, its records measured as they
 * would be encoded; and (*later) what the reserve must hold until it is
 * measured again: also the node runs the checkpoints after this one may
 * write again by then (runnel__stub_measure). O(state): called only when
 * the ring is close to needing one. */
static uint32_t measure_blocks(runnel_t *r, uint32_t *later)
{
    uint64_t bytes = 64u, nodes = 0, more = 0;
    uint32_t sidx, p;
    size_t cap = nodes_cap(r), run, k;
    node_base_t base;
    ckpt_measure_t m;

    memset(&m, 0, sizeof m);
    m.r = r;
    for (sidx = 0; sidx < r->streams_cap; sidx++) {
        if (!r->streams[sidx].used)
            continue;
        bytes += 10u + 12u * RUNNEL_VARINT_MAX + r->streams[sidx].name_len;
        (void)runnel__groups_snapshot(r, sidx, count_group_rec, &m);
    }
    bytes += m.bytes;
    /* as write_nodes codes them, each record starting afresh */
    memset(&base, 0, sizeof base);
    for (p = 0, run = 0; p < r->nodes_used; p++) {
        if (r->nodes[r->node_order[p]].stub) {
            k = runnel__stub_measure(r, r->node_order[p], false);
            nodes += k;
            more += runnel__stub_measure(r, r->node_order[p], true) - k;
            continue;
        }
        if (run + node_max(r) > cap) {
            run = 0;
            base.any = false;
        }
        k = encode_node(r, r->node_order[p], &base, NULL);
        run += k;
        nodes += k;
    }
    bytes += runnel__cursor_snapshot_bytes(r);
    *later = blocks_for(r, nodes + more, bytes);
    return blocks_for(r, nodes, bytes);
}

/* What a checkpoint's size follows, counted in O(1): streams, nodes,
 * groups, consumers and pending entries. */
static uint64_t state_items(const runnel_t *r)
{
    return (uint64_t)r->streams_used + r->nodes_used + r->stub_extra + r->groups.groups_used +
           r->groups.consumers_used + r->groups.pel_used;
}

/* Bytes of entry reads a mount may replay before a checkpoint is due
 * (runnel_t.replay_debt): a few KiB, what replaying a few blocks'
 * records costs anyway. */
#define REPLAY_DEBT_MAX (8u * 1024u)

/* A delivery too long to list its IDs is replayed by reading every
 * entry's head again: past REPLAY_DEBT_MAX of such reads the next append
 * writes a checkpoint (not lazily), so that one XREADGROUP without COUNT
 * does not leave every mount until the periodic one reading a head per
 * entry it delivered. Checked before every append, so the debt a record
 * added, or a mount's replay found, is paid before the next record. */
static void debt_due(runnel_t *r, uint32_t free_blocks)
{
    bool room;

    if (r->replay_debt <= REPLAY_DEBT_MAX || (r->ckpt_due && !r->ckpt_due_lazy))
        return;
    room = free_blocks > 2u * r->log.reserve + 1u;
    if (room || r->cfg.full_policy != RUNNEL_FULL_REFUSE) {
        r->ckpt_due = true;
        r->ckpt_due_lazy = false;
        r->ckpt_due_release = !room;
    }
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
        uint32_t need, now = measure_blocks(r, &need);
        r->log.reserve = need + need / 8u + 2u;
        r->ckpt_need = need;
        r->ckpt_reserve_now = now + now / 8u + 2u;
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
    interval = r->cfg.checkpoint_blocks != 0 ? runnel__checkpoint_interval(r) : 0;
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

/* The interval grows with the checkpoint, not with the runs that later
 * ones may write again (the reserve holds those too): a reserve that
 * counted them made checkpoints of 64 MiB with 16 streams a third further
 * apart, and what mount replays as much longer. */
uint64_t runnel__checkpoint_interval(const runnel_t *r)
{
    uint64_t floor4 = 4u * (uint64_t)(r->ckpt_reserve_now != 0 ? r->ckpt_reserve_now
                                                                : r->log.reserve);

    return r->cfg.checkpoint_blocks < floor4 ? floor4 : r->cfg.checkpoint_blocks;
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
    debt_due(r, log->block_count - runnel__log_blocks_used(log));
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
    if (r->ckpt_pos != RUNNEL__NO_POS && r->ckpt_floor / bs >= end_blk &&
        !runnel__read_since_checkpoint(r, end_blk * bs))
        return;                 /* the reclaim needs no checkpoint */
    write_ahead(r, len, body, true);
}

/* What runnel_config_t.durable points at (runnel.h): only a program that
 * takes its address links this file. */
const struct runnel_durability runnel_durability = {
    runnel__checkpoint_maybe,
    runnel__checkpoint_before_append,
    runnel__stub_fault,
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

/* An ID coded by put_id_from against base; sets c->bad on overflow. */
runnel_id_t runnel__ckpt_rd_id(runnel__reader_t *c, runnel_id_t base)
{
    uint64_t dms = runnel__rd_varint(c), s = runnel__rd_varint(c);
    runnel_id_t id;

    id.ms = base.ms + dms;
    id.seq = dms == 0 ? base.seq + s : s;
    if (id.ms < base.ms || (dms == 0 && id.seq < base.seq))
        c->bad = true;
    return id;
}

/* A node descriptor as a checkpoint record gives it, before its ranges
 * are checked. */
typedef struct node_fields {
    uint64_t sidx, first_pos, last_pos, first_size, count, live, lp_rest, fields_hash;
    runnel_id_t first, last;
    bool unordered, bitmap;     /* the bitmap, if any, is next in the body */
} node_fields_t;

/* Checks a described node and puts it into a free slot and the node
 * order. */
static int place_node(runnel_t *r, runnel__reader_t *c, const node_fields_t *f,
                      runnel__run_sum_t *dry)
{
    uint32_t bm = (uint32_t)(f->count + 7u) / 8u, nslot;
    struct runnel__node *n;

    if (c->bad || f->sidx >= r->streams_cap || !r->streams[f->sidx].used || f->count == 0 ||
        f->count > r->cfg.node_entries_cap || f->live > f->count ||
        f->first_pos > f->last_pos || f->first_size > UINT32_MAX || f->lp_rest > UINT32_MAX ||
        f->fields_hash > UINT32_MAX || (f->bitmap && bm > c->len - c->off))
        return RUNNEL_ERR_CORRUPT;
    if (dry != NULL) {
        /* checked and summed only: a stub compares the sums before its
         * nodes replace it (checkpoint_stub.c) */
        if (!dry->any) {
            dry->any = true;
            dry->sidx = (uint32_t)f->sidx;
            dry->first = f->first;
            dry->min_first_pos = f->first_pos;
            dry->max_first_pos = f->first_pos;
        }
        if (dry->sidx != f->sidx)
            return RUNNEL_ERR_CORRUPT;
        dry->nodes++;
        dry->count += f->count;
        dry->live += f->live;
        dry->lp_rest += f->lp_rest;
        dry->last = f->last;
        dry->unordered |= f->unordered;
        if (f->first_pos < dry->min_first_pos)
            dry->min_first_pos = f->first_pos;
        if (f->first_pos > dry->max_first_pos)
            dry->max_first_pos = f->first_pos;
        c->off += f->bitmap ? bm : 0u;
        return 0;
    }
    nslot = runnel__node_alloc(r);
    if (nslot == RUNNEL__NONE)
        return RUNNEL_ERR_POOL_NODES;
    n = &r->nodes[nslot];
    n->sidx = (uint32_t)f->sidx;
    n->first = f->first;
    n->last = f->last;
    n->first_pos = f->first_pos;
    n->last_pos = f->last_pos;
    n->first_size = (uint32_t)f->first_size;
    n->count = (uint32_t)f->count;
    n->live = (uint32_t)f->live;
    n->lp_rest = (uint32_t)f->lp_rest;
    n->fields_hash = (uint32_t)f->fields_hash;
    n->unordered = f->unordered;
    if (f->bitmap) {
        memcpy(r->bitmaps + (size_t)nslot * r->bitmap_bytes, c->p + c->off, bm);
        c->off += bm;
    }
    runnel__node_insert(r, nslot);
    return 0;
}

/* One descriptor of a CKPT_NODE_RUN, coded against base (encode_node). */
static int load_node(runnel_t *r, runnel__reader_t *c, node_base_t *base,
                     runnel__run_sum_t *dry)
{
    uint8_t flags = runnel__rd_u8(c);
    uint64_t dpos, dlast, dlp, dead = 0;
    node_fields_t f;
    node_pred_t p;
    bool same;
    int err;

    if ((flags & (NODE_SAME_STREAM | NODE_SAME_FIELDS)) && !base->any)
        return RUNNEL_ERR_CORRUPT;
    same = (flags & NODE_SAME_STREAM) != 0;
    f.sidx = same ? base->sidx : runnel__rd_varint(c);
    f.first = runnel__ckpt_rd_id(c, (flags & (NODE_SAME_STREAM | NODE_FIRST_ABS)) == NODE_SAME_STREAM
                                ? base->first : RUNNEL_ID_MIN);
    f.last = runnel__ckpt_rd_id(c, (flags & NODE_LAST_BELOW) ? RUNNEL_ID_MIN : f.first);
    dpos = runnel__rd_varint(c);
    dlast = runnel__rd_varint(c);
    f.first_size = runnel__rd_varint(c);
    f.count = runnel__rd_varint(c);
    if (flags & NODE_DEAD)
        dead = runnel__rd_varint(c);
    dlp = runnel__rd_varint(c);
    f.fields_hash = (flags & NODE_SAME_FIELDS) ? base->fields_hash : runnel__rd_varint(c);
    node_predict(base, same, f.count, &p);
    f.first_pos = runnel__unzigzag(dpos, (base->any ? base->first_pos : 0u) + p.gap);
    f.last_pos = runnel__unzigzag(dlast, f.first_pos + p.extent);
    f.lp_rest = runnel__unzigzag(dlp, p.lp_rest);
    f.live = f.count - dead;
    f.unordered = (flags & NODE_UNORDERED) != 0;
    f.bitmap = (flags & NODE_BITMAP) != 0;
    if ((flags & 0x80u) || dead > f.count || f.last_pos < f.first_pos)
        return RUNNEL_ERR_CORRUPT;
    err = place_node(r, c, &f, dry);
    if (err < 0)
        return err;
    node_base_set(base, (uint32_t)f.sidx, (uint32_t)f.fields_hash, f.first, f.first_pos,
                  f.last_pos, f.count, f.lp_rest);
    return 0;
}

/* CKPT_NODES (0x32), formats 2 and 3: plain descriptors. No writer of format 4 or 5
 * makes them, but images upgraded by hand (the fuzzer's regress seeds)
 * still hold them. */
static int load_nodes_plain(runnel_t *r, runnel__reader_t *c)
{
    node_fields_t f;
    uint8_t flags;
    int err;

    while (c->off < c->len) {
        f.sidx = runnel__rd_varint(c);
        f.first = runnel__rd_id(c);
        f.last = runnel__rd_id(c);
        f.first_pos = runnel__rd_varint(c);
        f.last_pos = runnel__rd_varint(c);
        f.first_size = runnel__rd_varint(c);
        f.count = runnel__rd_varint(c);
        f.live = runnel__rd_varint(c);
        f.lp_rest = runnel__rd_varint(c);
        f.fields_hash = runnel__rd_varint(c);
        flags = runnel__rd_u8(c);
        f.unordered = (flags & 1u) != 0;
        f.bitmap = (flags & 2u) != 0;
        err = place_node(r, c, &f, NULL);
        if (err < 0)
            return err;
    }
    return 0;
}

static int load_nodes(runnel_t *r, runnel__reader_t *c, runnel__run_sum_t *dry)
{
    node_base_t base;
    int err;

    memset(&base, 0, sizeof base);
    while (c->off < c->len) {
        err = load_node(r, c, &base, dry);
        if (err < 0)
            return err;
    }
    return 0;
}

int runnel__ckpt_run_load(runnel_t *r, const uint8_t *body, uint32_t len,
                          runnel__run_sum_t *dry)
{
    runnel__reader_t c;

    runnel__reader_init(&c, body, len);
    return load_nodes(r, &c, dry);
}

/* A CKPT_PEL_RUN: each entry's NACK_STATE body built again (in scratch)
 * and replayed by the group half as a plain one would be. */
static int load_pel_run(runnel_t *r, runnel__reader_t *c)
{
    uint64_t plen = runnel__rd_varint(c), n, dt, count, time = 0;
    runnel_id_t id, prev = RUNNEL_ID_MIN;
    runnel_str_t cons = { NULL, 0 };
    const uint8_t *prefix;
    uint8_t *b = r->scratch;
    size_t k;
    int err;

    if (c->bad || plen == 0 || plen >= c->len - c->off)
        return RUNNEL_ERR_CORRUPT;      /* a prefix and one entry at least */
    prefix = c->p + c->off;
    c->off += (uint32_t)plen;
    while (c->off < c->len) {
        uint8_t flags = runnel__rd_u8(c);

        if (flags & ~(PEL_SAME_CONSUMER | PEL_ID_ABS))
            return RUNNEL_ERR_CORRUPT;
        if (!(flags & PEL_SAME_CONSUMER)) {
            n = runnel__rd_varint(c);
            if (c->bad || n > c->len - c->off)
                return RUNNEL_ERR_CORRUPT;
            cons.p = (const char *)c->p + c->off;
            cons.len = (size_t)n;
            c->off += (uint32_t)n;
        } else if (cons.p == NULL) {
            return RUNNEL_ERR_CORRUPT;
        }
        id = runnel__ckpt_rd_id(c, (flags & PEL_ID_ABS) ? RUNNEL_ID_MIN : prev);
        dt = runnel__rd_varint(c);
        count = runnel__rd_varint(c);
        time = runnel__unzigzag(dt, time);
        if (c->bad || plen + cons.len + 5u * RUNNEL_VARINT_MAX > r->scratch_cap)
            return RUNNEL_ERR_CORRUPT;
        memcpy(b, prefix, plen);
        k = plen;
        k += runnel__varint_put(b + k, cons.len);
        memcpy(b + k, cons.p, cons.len);
        k += cons.len;
        k += runnel__varint_put(b + k, id.ms);
        k += runnel__varint_put(b + k, id.seq);
        k += runnel__varint_put(b + k, time);
        k += runnel__varint_put(b + k, count);
        err = runnel__groups_replay(r, RUNNEL_REC_NACK_STATE, b, k);
        if (err < 0)
            return err;
        prev = id;
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
    case RUNNEL_REC_CKPT_NODE_RUN:
        return load_nodes(r, &c, NULL);
    case RUNNEL_REC_CKPT_NODE_DIR:
        return runnel__stub_dir_load(r, rec, body);
    case RUNNEL_REC_CKPT_DIR_REF:
        return runnel__stub_dir_ref_load(r, rec, body);
    case RUNNEL_REC_CKPT_PEL_RUN:
        return load_pel_run(r, &c);
    case RUNNEL_REC_CKPT_NODES:
        return load_nodes_plain(r, &c);
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
