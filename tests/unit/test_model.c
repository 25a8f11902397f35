/*
 * test_model.c - randomized model test of the whole engine.
 *
 * A plain in-memory reference model (sorted arrays, no cleverness) of
 * Redis 7.0 streams -- entries, Redis's node boundaries (for '~' trimming
 * and radix-tree-keys), counters, consumer groups, PEL, entries-read/lag
 * (section 8 of the reference) -- is driven by the same random operation
 * sequence as runnel, and every reply is compared: return codes, IDs,
 * entries, counts, pending lists, group and consumer views.
 *
 * Our own pool rules are modelled too (group half: a ">" read delivers
 * the prefix whose NACKs fit; XCLAIM refuses when FORCE needs more NACKs
 * than are free; consumers are checked only when one would be created).
 *
 * RUNNEL_MODEL_OPS (default 100000) operations are spread over several
 * seeds and geometries (prog 1/16/256, block 4K/64K). The store is
 * reformatted every EPISODE operations so the log never outgrows the RAM
 * device. A failure prints the seed, geometry and operation number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_fixture.h"

#ifndef RUNNEL_MODEL_OPS
#define RUNNEL_MODEL_OPS 100000
#endif
#define EPISODE 2000
#define NKEYS 5          /* streams written in turn: their nodes interleave in the log */
#define NGROUPS 3
#define NCONS 4
#define MAXE 512          /* model entries per stream (trimmed below this) */
#define MAXN 512
#define MAXPEL 96         /* runnel max_pending: small so the pool fills */
#define MAXCONS 16
#define MAXGROUPS 5

/* ---------------------------------------------------------------- */
/* random                                                            */
/* ---------------------------------------------------------------- */
static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}
static uint32_t rn(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }

/* ---------------------------------------------------------------- */
/* model                                                             */
/* ---------------------------------------------------------------- */
/* Entries belong to nodes by tag, not by ID range: after XSETID moved
 * last_id below a deleted entry, the tail node takes IDs lower than that
 * entry (Redis), so a node's entries need not lie between its first and
 * last IDs. e[] is in append order; its live entries still increase. */
typedef struct { runnel_id_t id; uint32_t val; bool live; uint32_t tag; } ment_t;
typedef struct { runnel_id_t first, last; uint32_t count, live, tag; } mnode_t;
typedef struct { runnel_id_t id; int cons; uint64_t time, count; } mnack_t;
typedef struct { bool used; uint64_t seen; } mcons_t;
typedef struct {
    bool used;
    runnel_id_t last_id;
    int64_t entries_read;
    mcons_t cons[NCONS];
    mnack_t pel[MAXPEL];
    int npel;
} mgroup_t;
typedef struct {
    bool used;
    runnel_id_t last_id, max_deleted;
    uint64_t entries_added;
    ment_t e[MAXE];          /* every entry of live nodes (live or deleted) */
    int ne;
    mnode_t nodes[MAXN];
    int nn;
    mgroup_t g[NGROUPS];
} mstream_t;

static mstream_t ms[NKEYS];
static uint32_t node_max;     /* stream-node-max-entries of this run */
/* The store and its clock (the shared fixture, stream_fixture.h): the
 * model reads the same clock, fx.now. */
static fx_t fx;
static uint32_t val_counter;

static const char *const key_names[NKEYS] = { "ka", "kb", "kc", "kd", "ke" };
static const char *const group_names[NGROUPS] = { "g0", "g1", "g2" };
static const char *const cons_names[NCONS] = { "c0", "c1", "c2", "c3" };

static runnel_str_t S(const char *s) { runnel_str_t v; v.p = s; v.len = strlen(s); return v; }
static runnel_id_t ID(uint64_t ms_, uint64_t seq) { runnel_id_t i; i.ms = ms_; i.seq = seq; return i; }
static int cmp(runnel_id_t a, runnel_id_t b)
{
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
}
static bool is0(runnel_id_t a) { return a.ms == 0 && a.seq == 0; }
static runnel_id_t incr(runnel_id_t a, bool *ovf)
{
    *ovf = false;
    if (a.seq != UINT64_MAX) a.seq++;
    else if (a.ms != UINT64_MAX) { a.ms++; a.seq = 0; }
    else *ovf = true;
    return a;
}

static uint64_t m_length(const mstream_t *s)
{
    uint64_t n = 0; int i;
    for (i = 0; i < s->ne; i++) n += s->e[i].live;
    return n;
}
static runnel_id_t m_first(const mstream_t *s)
{
    int i;
    for (i = 0; i < s->ne; i++) if (s->e[i].live) return s->e[i].id;
    return ID(0, 0);
}
static runnel_id_t m_last_valid(const mstream_t *s)
{
    int i;
    for (i = s->ne - 1; i >= 0; i--) if (s->e[i].live) return s->e[i].id;
    return ID(0, 0);
}
static int m_find(const mstream_t *s, runnel_id_t id)
{
    int i;
    for (i = 0; i < s->ne; i++) if (s->e[i].live && cmp(s->e[i].id, id) == 0) return i;
    return -1;
}
static uint32_t node_tags;    /* next node tag */
static int m_node_of(const mstream_t *s, uint32_t tag)
{
    int i;
    for (i = 0; i < s->nn; i++)
        if (s->nodes[i].tag == tag) return i;
    return -1;
}
/* Removes node k and every entry inside it. */
static void m_remove_node(mstream_t *s, int k)
{
    int i, j = 0;
    for (i = 0; i < s->ne; i++)
        if (s->e[i].tag != s->nodes[k].tag)
            s->e[j++] = s->e[i];
    s->ne = j;
    memmove(&s->nodes[k], &s->nodes[k + 1], sizeof(mnode_t) * (size_t)(s->nn - k - 1));
    s->nn--;
}
static int m_pel_total(void)
{
    int k, g, n = 0;
    for (k = 0; k < NKEYS; k++)
        if (ms[k].used)
            for (g = 0; g < NGROUPS; g++) if (ms[k].g[g].used) n += ms[k].g[g].npel;
    return n;
}
static int m_cons_total(void)
{
    int k, g, c, n = 0;
    for (k = 0; k < NKEYS; k++)
        if (ms[k].used)
            for (g = 0; g < NGROUPS; g++)
                if (ms[k].g[g].used)
                    for (c = 0; c < NCONS; c++) n += ms[k].g[g].cons[c].used;
    return n;
}
static int m_groups_total(void)
{
    int k, g, n = 0;
    for (k = 0; k < NKEYS; k++)
        if (ms[k].used) for (g = 0; g < NGROUPS; g++) n += ms[k].g[g].used;
    return n;
}
static int m_pel_find(const mgroup_t *g, runnel_id_t id)
{
    int i;
    for (i = 0; i < g->npel; i++) if (cmp(g->pel[i].id, id) == 0) return i;
    return -1;
}
static int m_pel_insert(mgroup_t *g, runnel_id_t id, int cons, uint64_t t, uint64_t count)
{
    int i = 0;
    while (i < g->npel && cmp(g->pel[i].id, id) < 0) i++;
    memmove(&g->pel[i + 1], &g->pel[i], sizeof(mnack_t) * (size_t)(g->npel - i));
    g->pel[i].id = id; g->pel[i].cons = cons; g->pel[i].time = t; g->pel[i].count = count;
    g->npel++;
    return i;
}
static void m_pel_remove(mgroup_t *g, int i)
{
    memmove(&g->pel[i], &g->pel[i + 1], sizeof(mnack_t) * (size_t)(g->npel - i - 1));
    g->npel--;
}

/* ---- section 8, written again from the reference ---- */
typedef struct { uint64_t length, added; runnel_id_t last, first, maxdel; } mstate_t;
static mstate_t m_state(const mstream_t *s)
{
    mstate_t t;
    t.length = m_length(s); t.added = s->entries_added; t.last = s->last_id;
    t.first = m_first(s); t.maxdel = s->max_deleted;
    return t;
}
static int64_t m_estimate(const mstate_t *t, runnel_id_t id)
{
    if (t->added == 0) return 0;
    if (t->length == 0 && cmp(id, t->last) <= 0) return (int64_t)t->added;
    if (cmp(id, t->last) == 0) return (int64_t)t->added;
    if (cmp(id, t->last) > 0) return -1;
    if (is0(t->maxdel) || cmp(t->maxdel, t->first) < 0) {
        if (cmp(id, t->first) < 0) return (int64_t)(t->added - t->length);
        if (cmp(id, t->first) == 0) return (int64_t)(t->added - t->length + 1);
    }
    return -1;
}
static bool m_tomb(const mstate_t *t, runnel_id_t id)
{
    if (t->length == 0 || is0(t->maxdel) || cmp(t->first, t->maxdel) > 0) return false;
    return cmp(id, t->maxdel) <= 0;
}
static bool m_lag(const mgroup_t *g, const mstate_t *t, uint64_t *lag)
{
    int64_t e;
    if (t->added == 0) { *lag = 0; return true; }
    if (g->entries_read != -1 && !m_tomb(t, g->last_id)) {
        *lag = t->added - (uint64_t)g->entries_read; /* may wrap: int64 < 0 */
        return true;
    }
    e = m_estimate(t, g->last_id);
    if (e < 0) return false;
    *lag = t->added - (uint64_t)e;
    return true;
}

/* ---- trimming, Redis's node walk ---- */
static uint64_t m_trim(mstream_t *s, const runnel_trim_t *tr)
{
    uint64_t deleted = 0, lim = 0, length = m_length(s);
    if (tr->strategy == RUNNEL_TRIM_NONE) return 0;
    if (tr->approx) {
        if (tr->limit < 0) {
            int64_t d = 100 * (int64_t)node_max;
            lim = (uint64_t)(d <= 0 ? 10000 : (d > 1000000 ? 1000000 : d));
        } else {
            lim = (uint64_t)tr->limit;
        }
    }
    while (s->nn > 0) {
        mnode_t *n = &s->nodes[0];
        bool remove;
        int i;
        if (tr->strategy == RUNNEL_TRIM_MAXLEN && length <= tr->maxlen) break;
        if (lim && deleted + n->live > lim) break;
        if (tr->strategy == RUNNEL_TRIM_MAXLEN) remove = length - n->live >= tr->maxlen;
        else remove = cmp(n->last, tr->minid) < 0;
        if (remove) {
            length -= n->live;
            deleted += n->live;
            m_remove_node(s, 0);
            continue;
        }
        if (tr->approx) break;
        for (i = 0; i < s->ne; i++) {
            ment_t *e = &s->e[i];
            bool stop;
            if (e->tag != n->tag) continue;
            /* Redis stops at the first entry >= MINID, deleted or not */
            if (tr->strategy == RUNNEL_TRIM_MAXLEN) stop = length <= tr->maxlen;
            else stop = cmp(e->id, tr->minid) >= 0;
            if (stop) break;
            if (e->live) { e->live = false; n->live--; length--; deleted++; }
        }
        break;
    }
    return deleted;
}

/* ---------------------------------------------------------------- */
/* runnel side                                                       */
/* ---------------------------------------------------------------- */
static runnel_t *R;
static runnel_config_t model_cfg;   /* what the store was formatted with */
static unsigned long remounts;

static unsigned long cur_seed, cur_op, geo_prog, geo_block;
static unsigned long failures_here;
static unsigned long nospc_count, op_counts[32];

#define MCHECK(cond) do { if (!(cond)) { fail_at(__LINE__, #cond); return; } } while (0)
#define MCHECK_INT(a, b) do { long a_ = (long)(a), b_ = (long)(b); if (a_ != b_) { \
    printf("    got %ld expected %ld\n", a_, b_); fail_at(__LINE__, #a " == " #b); return; } } while (0)

#ifdef MODEL_DEBUG
#include "store.h"
static void debug_dump(void)
{
    int k, i;
    uint32_t j;
    for (k = 0; k < NKEYS; k++) {
        printf("  model key %d:", k);
        for (i = 0; i < ms[k].nn; i++)
            printf(" [%lu-%lu..%lu-%lu c%u l%u]", (unsigned long)ms[k].nodes[i].first.ms % 10000,
                   (unsigned long)ms[k].nodes[i].first.seq, (unsigned long)ms[k].nodes[i].last.ms % 10000,
                   (unsigned long)ms[k].nodes[i].last.seq, ms[k].nodes[i].count, ms[k].nodes[i].live);
        printf("\n");
    }
    printf("  runnel:");
    for (j = 0; j < R->nodes_used; j++) {
        const struct runnel__node *n = &R->nodes[R->node_order[j]];
        printf(" s%u[%lu-%lu..%lu-%lu c%u l%u]", n->sidx, (unsigned long)n->first.ms % 10000,
               (unsigned long)n->first.seq, (unsigned long)n->last.ms % 10000, (unsigned long)n->last.seq,
               n->count, n->live);
    }
    printf("\n");
}
#else
static void debug_dump(void) {}
#endif

/* The last operations, printed when a comparison fails. */
#define TRACE_N 12
static char trace_ring[TRACE_N][96];
static unsigned long trace_pos;
static void trace(const char *what, int k, runnel_id_t a, runnel_id_t b, long x, long y)
{
    snprintf(trace_ring[trace_pos % TRACE_N], sizeof trace_ring[0],
             "op %lu %s key %d %lu-%lu %lu-%lu %ld %ld nodes %d len %lu", cur_op, what, k,
             (unsigned long)a.ms, (unsigned long)a.seq, (unsigned long)b.ms,
             (unsigned long)b.seq, x, y, ms[k].nn, (unsigned long)m_length(&ms[k]));
    trace_pos++;
}

static void fail_at(int line, const char *what)
{
    unsigned long i;
    if (failures_here < 5) {
        printf("MODEL MISMATCH seed=%lu prog=%lu block=%lu op=%lu node_max=%lu line %d: %s\n",
               cur_seed, geo_prog, geo_block, cur_op, (unsigned long)node_max, line, what);
        for (i = trace_pos > TRACE_N ? trace_pos - TRACE_N : 0; i < trace_pos; i++)
            printf("    %s\n", trace_ring[i % TRACE_N]);
        debug_dump();
    }
    failures_here++;
    CHECK(0 && "model mismatch (see above)");
}

static int open_runnel(uint32_t prog, uint32_t block)
{
    runnel_config_t *cfg = &fx.cfg;
    uint64_t now = fx.now;   /* the model's clock goes on across stores */
    int rc;

    fx_setup(&fx, prog, block, FX_STORAGE_BYTES / block);
    fx.now = now;
    cfg->max_streams = 8;
    cfg->max_nodes = MAXN;
    cfg->max_groups = MAXGROUPS;
    cfg->max_consumers = MAXCONS;
    cfg->max_pending = MAXPEL;
    cfg->node_max_entries = node_max;
    cfg->node_max_bytes = 1u << 20; /* the count rule decides; entries are tiny */
    cfg->commit_policy = RUNNEL_COMMIT_NONE;
    cfg->durable = &runnel_durability;  /* restarts in the middle (remount) */
    if (runnel_arena_size(cfg) > cfg->arena_size) {
        printf("model: arena too small (%lu)\n", (unsigned long)runnel_arena_size(cfg));
        return -1;
    }
    model_cfg = *cfg;
    rc = fx_open(&fx);
    R = fx.r;
    if (rc != 0) printf("model: runnel_format %d\n", rc);
    return rc;
}

/* A restart in the middle of the run: commit, then open the device again
 * with runnel_mount into the same arena (the old handle is gone) and go on
 * comparing against the model, which does not restart. */
static int remount(void)
{
    int rc = runnel_commit(R);
    if (rc != 0) {
        printf("model: commit before remount %d\n", rc);
        return rc;
    }
    R = NULL;
    rc = runnel_mount(&R, &model_cfg);
    if (rc != 0)
        printf("model: runnel_mount %d (%s)\n", rc, runnel_strerror(rc));
    remounts++;
    return rc;
}

/* Entries read back from runnel. */
typedef struct { runnel_id_t id; uint32_t val; bool deleted; bool ok; } rent_t;
static rent_t rb[MAXE + 8];
static int nrb;
static int collect(void *ctx, const runnel_entry_t *e)
{
    (void)ctx;
    if (nrb < MAXE + 8) {
        rent_t *x = &rb[nrb];
        x->id = e->id;
        x->deleted = e->deleted;
        x->val = 0;
        x->ok = true;
        if (!e->deleted && e->nfields == 1 && e->fv[0].len == 1 && e->fv[0].p[0] == 'f' &&
            e->fv[1].len > 0 && e->fv[1].len < 12) {
            size_t i;
            for (i = 0; i < e->fv[1].len; i++) {
                char ch = e->fv[1].p[i];
                if (ch < '0' || ch > '9') { x->ok = false; break; }
                x->val = x->val * 10u + (uint32_t)(ch - '0');
            }
        } else if (!e->deleted) {
            x->ok = e->nfields == 0; /* JUSTID */
        }
    }
    nrb++;
    return 0;
}

/* ---------------------------------------------------------------- */
/* operations                                                        */
/* ---------------------------------------------------------------- */
static runnel_id_t pick_id(const mstream_t *s)
{
    uint32_t k = rn(10);
    if (s->ne > 0 && k < 6) {
        runnel_id_t id = s->e[rn((uint32_t)s->ne)].id;
        if (k == 5 && id.seq > 0) id.seq--;
        if (k == 4) id.seq++;
        return id;
    }
    if (k < 8) return ID(fx.now - rn(200), rn(3));
    return ID(rn(3), rn(3));
}

static runnel_trim_t pick_trim(const mstream_t *s)
{
    runnel_trim_t t;
    memset(&t, 0, sizeof t);
    t.strategy = (runnel_trim_strategy_t)(1 + rn(2));
    t.approx = rn(2) != 0;
    t.maxlen = rn(60);
    t.minid = pick_id(s);
    t.limit = t.approx ? (rn(3) == 0 ? (int64_t)rn(30) : -1) : -1;
    if (!t.approx) t.limit = -1;
    return t;
}

static void op_xadd(int k)
{
    mstream_t *s = &ms[k];
    runnel_xadd_args_t a;
    runnel_str_t fv[2];
    char val[16];
    runnel_id_t out = ID(0, 0), id = ID(0, 0), last = s->used ? s->last_id : ID(0, 0);
    int rc, mrc = 0;
    uint32_t kind = rn(10);
    bool ovf;

    memset(&a, 0, sizeof a);
    a.key = S(key_names[k]);
    if (kind < 5) {
        a.id_mode = RUNNEL_XADD_AUTO;
    } else if (kind < 7) {
        a.id_mode = RUNNEL_XADD_EXPLICIT;
        a.id = rn(8) == 0 ? pick_id(s) : ID(last.ms + rn(3), rn(4));
        if (rn(20) == 0) a.id = ID(0, 0);
    } else if (kind < 9) {
        a.id_mode = RUNNEL_XADD_SEQ_AUTO;
        a.id = ID(rn(2) ? last.ms : last.ms + rn(3) - 1 + (last.ms == 0), 0);
    } else {
        a.id_mode = RUNNEL_XADD_EXPLICIT;
        a.id = ID(fx.now + rn(5), rn(5));
    }
    if (rn(4) == 0) a.trim = pick_trim(s);
    if (m_length(s) > MAXE - 40 || s->ne > MAXE - 40 || s->nn > MAXN - 8) {
        a.trim.strategy = RUNNEL_TRIM_MAXLEN;
        a.trim.approx = false;
        a.trim.maxlen = 100;
        a.trim.limit = -1;
    }
    val_counter++;
    snprintf(val, sizeof val, "%lu", (unsigned long)val_counter);
    fv[0] = S("f");
    fv[1] = S(val);
    a.fv = fv;
    a.nfields = 1;

    /* model */
    if (a.id_mode == RUNNEL_XADD_EXPLICIT && is0(a.id)) {
        mrc = RUNNEL_ERR_XADD_ID_ZERO;
    } else if (last.ms == UINT64_MAX && last.seq == UINT64_MAX) {
        mrc = RUNNEL_ERR_ID_EXHAUSTED;
    } else {
        if (a.id_mode == RUNNEL_XADD_AUTO) {
            id = fx.now > last.ms ? ID(fx.now, 0) : incr(last, &ovf);
        } else if (a.id_mode == RUNNEL_XADD_SEQ_AUTO) {
            if (a.id.ms == last.ms) {
                if (last.seq == UINT64_MAX) mrc = RUNNEL_ERR_ELEMENTS_TOO_LARGE;
                id = ID(a.id.ms, last.seq + 1);
            } else {
                id = ID(a.id.ms, 0);
            }
        } else {
            id = a.id;
        }
        if (mrc == 0 && cmp(id, last) <= 0) mrc = RUNNEL_ERR_XADD_ID_SMALL;
    }
    trace(a.id_mode == RUNNEL_XADD_AUTO ? "xadd*" : a.id_mode == RUNNEL_XADD_SEQ_AUTO ? "xadd-*" : "xadd",
          k, a.id, a.trim.minid, (long)a.trim.strategy * 10 + a.trim.approx, (long)a.trim.maxlen * 1000 + a.trim.limit);
    rc = runnel_xadd(R, &a, &out);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    if (mrc < 0) { MCHECK_INT(rc, mrc); return; }
    MCHECK_INT(rc, 1);
    MCHECK(cmp(out, id) == 0);
    if (!s->used) { memset(s, 0, sizeof *s); s->used = true; }
    if (s->nn == 0 || s->nodes[s->nn - 1].count >= node_max) {
        mnode_t *n = &s->nodes[s->nn++];
        n->first = id; n->last = id; n->count = 0; n->live = 0; n->tag = node_tags++;
    }
    s->nodes[s->nn - 1].count++;
    s->nodes[s->nn - 1].live++;
    s->nodes[s->nn - 1].last = id;
    s->e[s->ne].id = id; s->e[s->ne].val = val_counter; s->e[s->ne].live = true;
    s->e[s->ne].tag = s->nodes[s->nn - 1].tag; s->ne++;
    s->last_id = id;
    s->entries_added++;
    if (a.trim.strategy != RUNNEL_TRIM_NONE) m_trim(s, &a.trim);
}

static void op_xdel(int k)
{
    mstream_t *s = &ms[k];
    runnel_id_t ids[4];
    uint64_t deleted = 99, md = 0;
    size_t n = 1 + rn(3), i;
    int rc;
    for (i = 0; i < n; i++) ids[i] = pick_id(s);
    if (rn(4) == 0 && n > 1) ids[1] = ids[0];
    trace("xdel", k, ids[0], n > 1 ? ids[1] : ids[0], (long)n, 0);
    rc = runnel_xdel(R, S(key_names[k]), ids, n, &deleted);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    MCHECK_INT(rc < 0 ? rc : 0, 0);
    if (s->used) {
        for (i = 0; i < n; i++) {
            int e = m_find(s, ids[i]);
            if (e >= 0) {
                int nd = m_node_of(s, s->e[e].tag);
                s->e[e].live = false;
                md++;
                if (cmp(ids[i], s->max_deleted) > 0) s->max_deleted = ids[i];
                if (nd >= 0 && --s->nodes[nd].live == 0) {
                    /* As Redis: the previous node becomes the tail and
                     * takes the next XADD again if it has room (runnel
                     * writes that entry as an ENTRY_RESUME). */
                    m_remove_node(s, nd);
                }
            }
        }
    }
    MCHECK_INT(deleted, md);
}

static void op_xtrim(int k)
{
    mstream_t *s = &ms[k];
    runnel_trim_t t = pick_trim(s);
    uint64_t deleted = 99, md = 0;
    int rc;
    trace("xtrim", k, t.minid, t.minid, (long)t.strategy * 10 + t.approx, (long)t.maxlen * 1000 + t.limit);
    rc = runnel_xtrim(R, S(key_names[k]), &t, &deleted);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    MCHECK_INT(rc < 0 ? rc : 0, 0);
    if (s->used) md = m_trim(s, &t);
    MCHECK_INT(deleted, md);
}

static void op_xrange(int k)
{
    mstream_t *s = &ms[k];
    runnel_id_t a = rn(5) == 0 ? ID(0, 0) : pick_id(s);
    runnel_id_t b = rn(5) == 0 ? RUNNEL_ID_MAX : pick_id(s);
    int64_t count = rn(3) == 0 ? -1 : (int64_t)rn(6);
    bool rev = rn(2) != 0;
    int rc, i, n = 0;
    nrb = 0;
    rc = runnel_xrange(R, S(key_names[k]), a, b, count, rev, collect, NULL);
    MCHECK(rc >= 0);
    MCHECK_INT(rc, nrb);
    if (!s->used || count == 0) { MCHECK_INT(nrb, 0); return; }
    for (i = 0; i < s->ne; i++) {
        int j = rev ? s->ne - 1 - i : i;
        const ment_t *e = &s->e[j];
        if (!e->live || cmp(e->id, a) < 0 || cmp(e->id, b) > 0) continue;
        if (count > 0 && n >= count) break;
        MCHECK(n < nrb);
        MCHECK(cmp(rb[n].id, e->id) == 0);
        MCHECK(rb[n].ok && !rb[n].deleted);
        MCHECK_INT(rb[n].val, e->val);
        n++;
    }
    MCHECK_INT(nrb, n);
}

static void op_info(int k)
{
    mstream_t *s = &ms[k];
    runnel_stream_info_t info;
    uint64_t len = 99;
    int rc = runnel_stream_info(R, S(key_names[k]), &info);
    runnel_xlen(R, S(key_names[k]), &len);
    if (!s->used) { MCHECK_INT(rc, RUNNEL_ERR_NO_SUCH_KEY); MCHECK_INT(len, 0); return; }
    MCHECK_INT(rc, 0);
    MCHECK_INT(info.length, m_length(s));
    MCHECK_INT(len, m_length(s));
    MCHECK(cmp(info.last_id, s->last_id) == 0);
    MCHECK(cmp(info.first_id, m_first(s)) == 0);
    MCHECK(cmp(info.max_deleted, s->max_deleted) == 0);
    MCHECK_INT(info.entries_added, s->entries_added);
    MCHECK_INT(info.nodes, s->nn);
}

static void op_xsetid(int k)
{
    mstream_t *s = &ms[k];
    runnel_xsetid_args_t a;
    int rc, mrc = 0;
    memset(&a, 0, sizeof a);
    a.key = S(key_names[k]);
    a.last_id = s->used ? ID(s->last_id.ms + rn(3), rn(3)) : ID(rn(5), 0);
    if (rn(3) == 0) a.last_id = pick_id(s);
    a.has_entries_added = rn(3) == 0;
    a.entries_added = s->entries_added + rn(3) - (s->entries_added ? 1 : 0);
    a.has_max_deleted = rn(4) == 0;
    a.max_deleted = pick_id(s);
    if (a.has_max_deleted && cmp(a.max_deleted, a.last_id) > 0) mrc = RUNNEL_ERR_XSETID_MAXDELETED;
    else if (!s->used) mrc = RUNNEL_ERR_NO_SUCH_KEY;
    else if (m_length(s) > 0 && cmp(a.last_id, m_last_valid(s)) < 0) mrc = RUNNEL_ERR_XSETID_SMALL;
    else if (a.has_entries_added && a.entries_added < m_length(s)) mrc = RUNNEL_ERR_XSETID_ENTRIES_ADDED;
    trace("xsetid", k, a.last_id, a.max_deleted, a.has_entries_added ? (long)a.entries_added : -1, a.has_max_deleted);
    rc = runnel_xsetid(R, &a);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    MCHECK_INT(rc, mrc);
    if (mrc) return;
    s->last_id = a.last_id;
    /* As Redis, the nodes stay as they are: the tail node takes the next
     * XADD even when its newest (deleted) entries are above the new
     * last_id. */
    if (a.has_entries_added) s->entries_added = a.entries_added;
    if (a.has_max_deleted && !is0(a.max_deleted)) s->max_deleted = a.max_deleted;
}

static void m_drop_stream(int k) { memset(&ms[k], 0, sizeof ms[k]); }

static void op_del(int k)
{
    int rc;
    trace("del", k, ID(0, 0), ID(0, 0), 0, 0);
    rc = runnel_del(R, S(key_names[k]));
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    MCHECK_INT(rc, ms[k].used ? 1 : 0);
    m_drop_stream(k);
}

static void op_group_create(int k)
{
    mstream_t *s = &ms[k];
    int g = (int)rn(NGROUPS), rc, mrc = 0;
    bool dollar = rn(2) != 0, mk = rn(3) == 0;
    runnel_id_t id = pick_id(s);
    int64_t er = rn(3) == 0 ? (int64_t)rn(8) - 1 : -1;
    if (rn(30) == 0) er = -2;
    if (er < -1) mrc = RUNNEL_ERR_ENTRIESREAD_RANGE;
    else if (!s->used && !mk) mrc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
    else if (!s->used && m_groups_total() >= MAXGROUPS) mrc = RUNNEL_ERR_POOL_GROUPS;
    else if (s->used && s->g[g].used) mrc = RUNNEL_ERR_BUSYGROUP;
    else if (m_groups_total() >= MAXGROUPS) mrc = RUNNEL_ERR_POOL_GROUPS;
    trace("create", k, id, ID(0, 0), g, mk);
    rc = runnel_xgroup_create(R, S(key_names[k]), S(group_names[g]), id, dollar, mk, er);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    MCHECK_INT(rc, mrc);
    if (mrc) return;
    if (!s->used) { memset(s, 0, sizeof *s); s->used = true; }
    memset(&s->g[g], 0, sizeof s->g[g]);
    s->g[g].used = true;
    s->g[g].last_id = dollar ? s->last_id : id;
    s->g[g].entries_read = er;
}

static void op_group_setid(int k)
{
    mstream_t *s = &ms[k];
    int g = (int)rn(NGROUPS), rc, mrc = 0;
    bool dollar = rn(3) == 0;
    runnel_id_t id = rn(4) == 0 ? ID(0, 0) : pick_id(s);
    int64_t er = rn(3) == 0 ? (int64_t)rn(8) - 1 : -1;
    if (!s->used) mrc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
    else if (!s->g[g].used) mrc = RUNNEL_ERR_NOGROUP_FOR_KEY;
    rc = runnel_xgroup_setid(R, S(key_names[k]), S(group_names[g]), id, dollar, er);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    MCHECK_INT(rc, mrc);
    if (mrc) return;
    s->g[g].last_id = dollar ? s->last_id : id;
    s->g[g].entries_read = er;
}

static void op_group_misc(int k)
{
    mstream_t *s = &ms[k];
    int g = (int)rn(NGROUPS), c = (int)rn(NCONS), rc, mrc;
    uint32_t what = rn(10);
    uint64_t pending = 99;
    if (what == 0) { /* DESTROY */
        mrc = !s->used ? RUNNEL_ERR_XGROUP_NEEDS_KEY : (s->g[g].used ? 1 : 0);
        rc = runnel_xgroup_destroy(R, S(key_names[k]), S(group_names[g]));
        if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
        MCHECK_INT(rc, mrc);
        if (mrc == 1) memset(&s->g[g], 0, sizeof s->g[g]);
    } else if (what < 6) { /* CREATECONSUMER */
        if (!s->used) mrc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
        else if (!s->g[g].used) mrc = RUNNEL_ERR_NOGROUP_FOR_KEY;
        else if (s->g[g].cons[c].used) mrc = 0;
        else if (m_cons_total() >= MAXCONS) mrc = RUNNEL_ERR_POOL_CONSUMERS;
        else mrc = 1;
        rc = runnel_xgroup_createconsumer(R, S(key_names[k]), S(group_names[g]), S(cons_names[c]));
        if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
        MCHECK_INT(rc, mrc);
        if (mrc == 1) { s->g[g].cons[c].used = true; s->g[g].cons[c].seen = fx.now; }
    } else { /* DELCONSUMER */
        uint64_t mp = 0;
        int i;
        if (!s->used) mrc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
        else if (!s->g[g].used) mrc = RUNNEL_ERR_NOGROUP_FOR_KEY;
        else mrc = 0;
        if (mrc == 0 && s->g[g].cons[c].used)
            for (i = 0; i < s->g[g].npel; i++) mp += s->g[g].pel[i].cons == c;
        rc = runnel_xgroup_delconsumer(R, S(key_names[k]), S(group_names[g]), S(cons_names[c]), &pending);
        if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
        MCHECK_INT(rc, mrc < 0 ? mrc : (int)mp);
        if (mrc < 0) return;
        MCHECK_INT(pending, mp);
        if (s->g[g].cons[c].used) {
            for (i = 0; i < s->g[g].npel;)
                if (s->g[g].pel[i].cons == c) m_pel_remove(&s->g[g], i); else i++;
            s->g[g].cons[c].used = false;
        }
    }
}

/* Consumer must exist or be creatable; returns a pool error or 0. */
static int m_need_consumer(mgroup_t *g, int c)
{
    if (g->cons[c].used) return 0;
    return m_cons_total() >= MAXCONS ? RUNNEL_ERR_POOL_CONSUMERS : 0;
}

static void op_readgroup(int k)
{
    mstream_t *s = &ms[k];
    mgroup_t *g;
    runnel_xreadgroup_args_t a;
    int gi = (int)rn(NGROUPS), c = (int)rn(NCONS), rc, i, n = 0, mrc = 0;
    mstate_t st;
    memset(&a, 0, sizeof a);
    a.key = S(key_names[k]);
    a.group = S(group_names[gi]);
    a.consumer = S(cons_names[c]);
    a.new_entries = rn(3) != 0;
    a.after = rn(3) == 0 ? ID(0, 0) : pick_id(s);
    a.count = rn(3) == 0 ? 0 : (int64_t)rn(6);
    a.noack = rn(8) == 0;
    nrb = 0;
    rc = runnel_xreadgroup(R, &a, collect, NULL);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    if (!s->used || !s->g[gi].used) { MCHECK_INT(rc, RUNNEL_ERR_NOGROUP_XREADGROUP); return; }
    g = &s->g[gi];
    st = m_state(s);
    if (a.new_entries) {
        int free_n = MAXPEL - m_pel_total(), plan = 0;
        if (cmp(m_last_valid(s), g->last_id) <= 0) { MCHECK_INT(rc, 0); MCHECK_INT(nrb, 0); return; }
        for (i = 0; i < s->ne; i++) {
            const ment_t *e = &s->e[i];
            if (!e->live || cmp(e->id, g->last_id) <= 0) continue;
            if (a.count > 0 && plan >= a.count) break;
            if (!a.noack && m_pel_find(g, e->id) < 0) { if (free_n == 0) break; free_n--; }
            plan++;
        }
        if (plan == 0) mrc = RUNNEL_ERR_POOL_PEL;
        else mrc = m_need_consumer(g, c);
        MCHECK_INT(rc, mrc ? mrc : plan);
        if (mrc) return;
        g->cons[c].used = true;
        g->cons[c].seen = fx.now;
        for (i = 0; i < s->ne && n < plan; i++) {
            const ment_t *e = &s->e[i];
            int p;
            if (!e->live || cmp(e->id, g->last_id) <= 0) continue;
            MCHECK(cmp(rb[n].id, e->id) == 0 && rb[n].ok && !rb[n].deleted && rb[n].val == e->val);
            n++;
            if (g->entries_read != -1 && !m_tomb(&st, e->id)) g->entries_read++;
            else if (st.added > 0) g->entries_read = m_estimate(&st, e->id);
            g->last_id = e->id;
            if (a.noack) continue;
            p = m_pel_find(g, e->id);
            if (p >= 0) { g->pel[p].cons = c; g->pel[p].time = fx.now; g->pel[p].count = 1; }
            else m_pel_insert(g, e->id, c, fx.now, 1);
        }
    } else {
        mrc = m_need_consumer(g, c);
        if (mrc) { MCHECK_INT(rc, mrc); return; }
        g->cons[c].used = true;
        g->cons[c].seen = fx.now;
        for (i = 0; i < g->npel; i++) {
            mnack_t *nk = &g->pel[i];
            int e;
            if (nk->cons != c || cmp(nk->id, a.after) <= 0) continue;
            if (a.count > 0 && n >= a.count) break;
            MCHECK(n < nrb && cmp(rb[n].id, nk->id) == 0);
            e = m_find(s, nk->id);
            if (e >= 0) {
                MCHECK(!rb[n].deleted && rb[n].ok && rb[n].val == s->e[e].val);
                nk->count++;
                nk->time = fx.now;
            } else {
                MCHECK(rb[n].deleted);
            }
            n++;
        }
        MCHECK_INT(rc, n);
    }
    MCHECK_INT(nrb, n);
}

static void op_xack(int k)
{
    mstream_t *s = &ms[k];
    int gi = (int)rn(NGROUPS), rc, i;
    runnel_id_t ids[4];
    size_t n = 1 + rn(4), j;
    uint64_t acked = 99, ma = 0;
    if (s->used && s->g[gi].npel > 0)
        for (j = 0; j < n; j++)
            ids[j] = rn(4) ? s->g[gi].pel[rn((uint32_t)s->g[gi].npel)].id : pick_id(s);
    else
        for (j = 0; j < n; j++) ids[j] = pick_id(s);
    rc = runnel_xack(R, S(key_names[k]), S(group_names[gi]), ids, n, &acked);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    MCHECK_INT(rc, 0);
    if (s->used && s->g[gi].used)
        for (j = 0; j < n; j++) {
            i = m_pel_find(&s->g[gi], ids[j]);
            if (i >= 0) { m_pel_remove(&s->g[gi], i); ma++; }
        }
    MCHECK_INT(acked, ma);
}

static bool idle_below(uint64_t now, uint64_t t, uint64_t min)
{
    if (now < t) return true;
    return now - t < min;
}

static void op_xclaim(int k)
{
    mstream_t *s = &ms[k];
    mgroup_t *g;
    runnel_xclaim_args_t a;
    runnel_id_t ids[4];
    int gi = (int)rn(NGROUPS), c = (int)rn(NCONS), rc, mrc = 0, claimed = 0, n = 0;
    size_t j, q;
    uint64_t dt;
    int need_new = 0;
    bool will = false;

    memset(&a, 0, sizeof a);
    a.key = S(key_names[k]);
    a.group = S(group_names[gi]);
    a.consumer = S(cons_names[c]);
    a.min_idle_ms = rn(2) ? 0 : rn(100);
    a.nids = rn(4);
    for (j = 0; j < a.nids; j++)
        ids[j] = (s->used && s->g[gi].npel > 0 && rn(3)) ? s->g[gi].pel[rn((uint32_t)s->g[gi].npel)].id
                                                        : pick_id(s);
    a.ids = ids;
    a.has_idle = rn(4) == 0; a.idle_ms = (int64_t)rn(300) - 20;
    a.has_time = rn(6) == 0; a.time_ms = (int64_t)(fx.now + rn(400)) - 200;
    a.has_retrycount = rn(5) == 0; a.retrycount = (int64_t)rn(5) - 1;
    a.force = rn(4) == 0;
    a.justid = rn(3) == 0;
    a.has_lastid = rn(5) == 0; a.lastid = pick_id(s);
    nrb = 0;
    rc = runnel_xclaim(R, &a, collect, NULL);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    if (!s->used || !s->g[gi].used) { MCHECK_INT(rc, RUNNEL_ERR_NOGROUP_KEY_OR_GROUP); return; }
    g = &s->g[gi];
    dt = fx.now;
    if (a.has_idle && a.idle_ms >= 0 && (uint64_t)a.idle_ms <= fx.now) dt = fx.now - (uint64_t)a.idle_ms;
    if (a.has_time) dt = (a.time_ms < 0 || (uint64_t)a.time_ms > fx.now) ? fx.now : (uint64_t)a.time_ms;
    /* plan */
    for (j = 0; j < a.nids; j++) {
        int p;
        bool dup = false;
        for (q = 0; q < j; q++) if (cmp(ids[q], ids[j]) == 0) dup = true;
        if (dup || m_find(s, ids[j]) < 0) continue;
        p = m_pel_find(g, ids[j]);
        if (p < 0) { if (a.force) { need_new++; will = true; } }
        else if (!a.min_idle_ms || !idle_below(fx.now, g->pel[p].time, a.min_idle_ms)) will = true;
    }
    if (need_new > MAXPEL - m_pel_total()) mrc = RUNNEL_ERR_POOL_PEL;
    else if (will) mrc = m_need_consumer(g, c);
    if (mrc) { MCHECK_INT(rc, mrc); return; }
    if (a.has_lastid && cmp(a.lastid, g->last_id) > 0) g->last_id = a.lastid;
    for (j = 0; j < a.nids; j++) {
        int p = m_pel_find(g, ids[j]), e = m_find(s, ids[j]);
        if (e < 0) { if (p >= 0) m_pel_remove(g, p); continue; }
        if (p < 0) {
            if (!a.force) continue;
            p = m_pel_insert(g, ids[j], -1, fx.now, 1);
        } else if (a.min_idle_ms && idle_below(fx.now, g->pel[p].time, a.min_idle_ms)) {
            continue;
        }
        g->cons[c].used = true;
        g->cons[c].seen = fx.now;
        g->pel[p].cons = c;
        g->pel[p].time = dt;
        if (a.has_retrycount && a.retrycount >= 0) g->pel[p].count = (uint64_t)a.retrycount;
        else if (!a.justid) g->pel[p].count++;
        claimed++;
        MCHECK(n < nrb && cmp(rb[n].id, ids[j]) == 0 && rb[n].ok && !rb[n].deleted);
        if (!a.justid) MCHECK_INT(rb[n].val, s->e[e].val);
        n++;
    }
    MCHECK_INT(rc, claimed);
    MCHECK_INT(nrb, n);
}

static void op_xautoclaim(int k)
{
    mstream_t *s = &ms[k];
    mgroup_t *g;
    runnel_xautoclaim_args_t a;
    runnel_id_t deleted[8], next = ID(7, 7), mnext;
    size_t ndel = 99;
    int gi = (int)rn(NGROUPS), c = (int)rn(NCONS), rc, mrc = 0, claimed = 0, n = 0, md = 0, pos;
    uint64_t count, attempts;

    memset(&a, 0, sizeof a);
    a.key = S(key_names[k]);
    a.group = S(group_names[gi]);
    a.consumer = S(cons_names[c]);
    a.min_idle_ms = rn(2) ? 0 : rn(100);
    a.start = rn(3) ? ID(0, 0) : pick_id(s);
    a.count = 1 + rn(5);
    a.justid = rn(3) == 0;
    a.deleted = deleted;
    a.deleted_cap = 8;
    nrb = 0;
    rc = runnel_xautoclaim(R, &a, &next, &ndel, collect, NULL);
    if (rc == RUNNEL_ERR_NOSPC) { nospc_count++; return; }
    if (!s->used || !s->g[gi].used) { MCHECK_INT(rc, RUNNEL_ERR_NOGROUP_KEY_OR_GROUP); return; }
    g = &s->g[gi];
    /* plan: will anything be claimed? */
    if (!g->cons[c].used) {
        bool will = false;
        count = a.count; attempts = count * 10;
        for (pos = 0; pos < g->npel && attempts > 0 && count > 0; pos++) {
            if (cmp(g->pel[pos].id, a.start) < 0) continue;
            attempts--;
            if (m_find(s, g->pel[pos].id) < 0) { count--; continue; }
            if (a.min_idle_ms && idle_below(fx.now, g->pel[pos].time, a.min_idle_ms)) continue;
            will = true;
            break;
        }
        if (will) mrc = m_need_consumer(g, c);
    }
    if (mrc) { MCHECK_INT(rc, mrc); return; }
    count = a.count; attempts = count * 10;
    pos = 0;
    while (pos < g->npel && cmp(g->pel[pos].id, a.start) < 0) pos++;
    while (attempts > 0 && count > 0 && pos < g->npel) {
        mnack_t *nk = &g->pel[pos];
        int e = m_find(s, nk->id);
        attempts--;
        if (e < 0) {
            MCHECK(md < (int)ndel && cmp(deleted[md], nk->id) == 0);
            md++;
            m_pel_remove(g, pos);
            count--;
            continue;
        }
        if (a.min_idle_ms && idle_below(fx.now, nk->time, a.min_idle_ms)) { pos++; continue; }
        g->cons[c].used = true;
        g->cons[c].seen = fx.now;
        nk->cons = c;
        nk->time = fx.now;
        if (!a.justid) nk->count++;
        MCHECK(n < nrb && cmp(rb[n].id, nk->id) == 0 && rb[n].ok);
        if (!a.justid) MCHECK_INT(rb[n].val, s->e[e].val);
        n++;
        claimed++;
        count--;
        pos++;
    }
    mnext = pos < g->npel ? g->pel[pos].id : ID(0, 0);
    MCHECK_INT(rc, claimed);
    MCHECK_INT(ndel, md);
    MCHECK(cmp(next, mnext) == 0);
    MCHECK_INT(nrb, n);
}

/* XPENDING (both forms), XINFO GROUPS and CONSUMERS against the model. */
static runnel_pending_t rp[MAXPEL + 4];
static char rp_cons[MAXPEL + 4];
static int nrp;
static int collect_p(void *ctx, const runnel_pending_t *p)
{
    (void)ctx;
    if (nrp < MAXPEL + 4) {
        rp[nrp] = *p;
        rp_cons[nrp] = p->consumer.len == 2 ? p->consumer.p[1] : '?';
    }
    nrp++;
    return 0;
}
static runnel_group_info_t rg[NGROUPS + 2];
static char rg_name[NGROUPS + 2];
static int nrg;
static int collect_g(void *ctx, const runnel_group_info_t *g)
{
    (void)ctx;
    if (nrg < NGROUPS + 2) { rg[nrg] = *g; rg_name[nrg] = g->name.len == 2 ? g->name.p[1] : '?'; }
    nrg++;
    return 0;
}
static runnel_consumer_info_t rc_[NCONS + 2];
static char rc_name[NCONS + 2];
static int nrc;
static int collect_c(void *ctx, const runnel_consumer_info_t *c)
{
    (void)ctx;
    if (nrc < NCONS + 2) { rc_[nrc] = *c; rc_name[nrc] = c->name.len == 2 ? c->name.p[1] : '?'; }
    nrc++;
    return 0;
}
static uint64_t sum_cnt[NCONS + 2];
static char sum_name[NCONS + 2];
static int nsum;
static int collect_sum(void *ctx, runnel_str_t name, uint64_t count)
{
    (void)ctx;
    if (nsum < NCONS + 2) { sum_cnt[nsum] = count; sum_name[nsum] = name.len == 2 ? name.p[1] : '?'; }
    nsum++;
    return 0;
}

static void op_views(int k)
{
    mstream_t *s = &ms[k];
    int gi = (int)rn(NGROUPS), c = (int)rn(NCONS), rc, i, n, m;
    mgroup_t *g;
    uint64_t total = 99;
    runnel_id_t mn, mx;
    mstate_t st;
    runnel_id_t a = rn(3) ? ID(0, 0) : pick_id(s), b = rn(3) ? RUNNEL_ID_MAX : pick_id(s);
    int64_t count = (int64_t)rn(8), idle = rn(2) ? -1 : (int64_t)rn(100);
    bool filt = rn(3) == 0;
    runnel_str_t none = { NULL, 0 };

    /* XINFO GROUPS */
    nrg = 0;
    rc = runnel_groups(R, S(key_names[k]), collect_g, NULL);
    if (!s->used) { MCHECK_INT(rc, RUNNEL_ERR_NO_SUCH_KEY); return; }
    st = m_state(s);
    n = 0;
    for (i = 0; i < NGROUPS; i++) {
        uint64_t lag = 0;
        bool has;
        int cc, nc = 0;
        if (!s->g[i].used) continue;
        MCHECK(n < nrg && rg_name[n] == (char)('0' + i));
        for (cc = 0; cc < NCONS; cc++) nc += s->g[i].cons[cc].used;
        MCHECK_INT(rg[n].consumers, nc);
        MCHECK_INT(rg[n].pending, s->g[i].npel);
        MCHECK(cmp(rg[n].last_id, s->g[i].last_id) == 0);
        MCHECK_INT(rg[n].has_entries_read, s->g[i].entries_read != -1);
        if (s->g[i].entries_read != -1) MCHECK_INT(rg[n].entries_read, s->g[i].entries_read);
        has = m_lag(&s->g[i], &st, &lag);
        MCHECK_INT(rg[n].has_lag, has);
        if (has) MCHECK_INT(rg[n].lag, lag);
        n++;
    }
    MCHECK_INT(rc, n);
    MCHECK_INT(nrg, n);

    g = &s->g[gi];
    /* XINFO CONSUMERS */
    nrc = 0;
    rc = runnel_consumers(R, S(key_names[k]), S(group_names[gi]), collect_c, NULL);
    if (!g->used) {
        MCHECK_INT(rc, RUNNEL_ERR_NOGROUP_FOR_KEY);
        rc = runnel_xpending_summary(R, S(key_names[k]), S(group_names[gi]), &total, &mn, &mx, NULL, NULL);
        MCHECK_INT(rc, RUNNEL_ERR_NOGROUP_KEY_OR_GROUP);
        return;
    }
    n = 0;
    for (i = 0; i < NCONS; i++) {
        int p, np = 0;
        if (!g->cons[i].used) continue;
        for (p = 0; p < g->npel; p++) np += g->pel[p].cons == i;
        MCHECK(n < nrc && rc_name[n] == (char)('0' + i));
        MCHECK_INT(rc_[n].pending, np);
        MCHECK_INT(rc_[n].seen_time_ms, g->cons[i].seen);
        MCHECK_INT(rc_[n].idle_ms, fx.now > g->cons[i].seen ? fx.now - g->cons[i].seen : 0);
        n++;
    }
    MCHECK_INT(rc, n);

    /* XPENDING summary */
    nsum = 0;
    rc = runnel_xpending_summary(R, S(key_names[k]), S(group_names[gi]), &total, &mn, &mx, collect_sum, NULL);
    MCHECK(rc >= 0);
    MCHECK_INT(total, g->npel);
    if (g->npel) {
        MCHECK(cmp(mn, g->pel[0].id) == 0);
        MCHECK(cmp(mx, g->pel[g->npel - 1].id) == 0);
    }
    m = 0;
    for (i = 0; i < NCONS; i++) {
        int p, np = 0;
        for (p = 0; p < g->npel; p++) np += g->pel[p].cons == i;
        if (!g->cons[i].used || np == 0) continue;
        MCHECK(m < nsum && sum_name[m] == (char)('0' + i));
        MCHECK_INT(sum_cnt[m], np);
        m++;
    }
    MCHECK_INT(nsum, m);
    MCHECK_INT(rc, m);

    /* XPENDING extended */
    nrp = 0;
    rc = runnel_xpending(R, S(key_names[k]), S(group_names[gi]), a, b, count, idle,
                         filt ? S(cons_names[c]) : none, collect_p, NULL);
    n = 0;
    if (!(filt && !g->cons[c].used) && count > 0 && cmp(a, b) <= 0) {
        for (i = 0; i < g->npel && n < count; i++) {
            const mnack_t *nk = &g->pel[i];
            if (cmp(nk->id, a) < 0) continue;
            if (cmp(nk->id, b) > 0) break;
            if (filt && nk->cons != c) continue;
            if (idle >= 0 && idle_below(fx.now, nk->time, (uint64_t)idle)) continue;
            MCHECK(n < nrp && cmp(rp[n].id, nk->id) == 0);
            MCHECK(rp_cons[n] == (char)('0' + nk->cons));
            MCHECK_INT(rp[n].delivery_count, nk->count);
            MCHECK_INT(rp[n].delivery_time_ms, nk->time);
            n++;
        }
    }
    MCHECK_INT(rc, n);
    MCHECK_INT(nrp, n);
}

/* ---------------------------------------------------------------- */
/* driver                                                            */
/* ---------------------------------------------------------------- */
static void run(uint64_t seed, uint32_t prog, uint32_t block, unsigned long ops)
{
    unsigned long i;
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    cur_seed = (unsigned long)seed;
    geo_prog = prog;
    geo_block = block;
    failures_here = 0;
    for (i = 0; i < ops && failures_here == 0; i++) {
        int k = (int)rn(NKEYS);
        uint32_t op;
        cur_op = i;
        if (i % EPISODE == 0) {
            static const uint32_t nm[] = { 4, 10, 100 };
            node_max = nm[rn(3)];
            memset(ms, 0, sizeof ms);
            fx.now = 1700000000000ull + rn(1000);
            if (open_runnel(prog, block) != 0) { fail_at(__LINE__, "open"); return; }
        }
        fx.now += rn(4) == 0 ? rn(60) : 0;
        if (rn(500) == 0 && fx.now > 5000) fx.now -= rn(3000); /* clock steps back */
        if (rn(150) == 0 && remount() != 0) { fail_at(__LINE__, "remount"); return; }
        op = rn(100);
        if (op < 28) { op_counts[0]++; op_xadd(k); }
        else if (op < 33) { op_counts[1]++; op_xdel(k); }
        else if (op < 37) { op_counts[2]++; op_xtrim(k); }
        else if (op < 44) { op_counts[3]++; op_xrange(k); }
        else if (op < 48) { op_counts[4]++; op_info(k); }
        else if (op < 50) { op_counts[5]++; op_xsetid(k); }
        else if (op < 51) { if (rn(4) == 0) { op_counts[6]++; op_del(k); } }
        else if (op < 55) { op_counts[7]++; op_group_create(k); }
        else if (op < 57) { op_counts[8]++; op_group_setid(k); }
        else if (op < 61) { op_counts[9]++; op_group_misc(k); }
        else if (op < 75) { op_counts[10]++; op_readgroup(k); }
        else if (op < 81) { op_counts[11]++; op_xack(k); }
        else if (op < 86) { op_counts[12]++; op_xclaim(k); }
        else if (op < 90) { op_counts[13]++; op_xautoclaim(k); }
        else { op_counts[14]++; op_views(k); }
#ifdef MODEL_DEBUG
        { int kk; for (kk = 0; kk < NKEYS && failures_here == 0; kk++) op_info(kk); }
#endif
    }
}

static void test_model(void)
{
    static const uint32_t progs[] = { 1, 16, 256 };
    static const uint32_t blocks[] = { 4096, 65536 };
    const unsigned long runs = 6;
    unsigned long per = RUNNEL_MODEL_OPS / runs, r;
    if (per < 1) per = 1;
    unsigned long total = 0, i;
    for (r = 0; r < runs; r++)
        run(1000 + r, progs[r % 3], blocks[(r / 3) % 2], per);
    for (i = 0; i < 15; i++)
        total += op_counts[i];
    /* Every slot of the op table ran, and (DEL is drawn 1 in 4) nearly all ops. */
    for (i = 0; i < 15; i++)
        CHECK(op_counts[i] > 0);
    CHECK(total + op_counts[6] * 3 + 2 * runs >= per * runs * 99 / 100);
    printf("model: %lu ops over %lu runs; xadd %lu xdel %lu xtrim %lu xrange %lu info %lu "
           "xsetid %lu del %lu create %lu setid %lu misc %lu readgroup %lu xack %lu xclaim %lu "
           "xautoclaim %lu views %lu; NOSPC %lu; restarts (runnel_mount) %lu\n",
           per * runs, runs, op_counts[0], op_counts[1], op_counts[2], op_counts[3], op_counts[4],
           op_counts[5], op_counts[6], op_counts[7], op_counts[8], op_counts[9], op_counts[10],
           op_counts[11], op_counts[12], op_counts[13], op_counts[14], nospc_count, remounts);
    CHECK(remounts * 300u > per * runs);   /* about one restart in 150 ops */
}

TEST_MAIN(
    RUN(test_model);
)
