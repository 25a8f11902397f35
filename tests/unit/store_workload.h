/*
 * store_workload.h - the random workload and the state fingerprint that the
 * mount tests (test_mount.c) and the power-cut rig (test_powercut.c) share.
 *
 *   wl_op()          one random API call on ten streams: XADD with every ID
 *                    form, XDEL, exact and '~' trims by MAXLEN and MINID,
 *                    XSETID, DEL, XGROUP CREATE (MKSTREAM) / SETID /
 *                    DESTROY / CREATECONSUMER / DELCONSUMER, XREADGROUP
 *                    (">", history, NOACK), XACK, XCLAIM, XAUTOCLAIM.
 *                    Errors (an explicit ID too small, NOSPC under REFUSE)
 *                    are part of the workload: the state is the point.
 *   wl_single_call   when true, every wl_op is one API call (no XACK folded
 *                    into XREADGROUP), so after a power cut the state is
 *                    the one before or after the call in flight - or, for
 *                    an XADD that trims (two records: the entry, then the
 *                    trim), the entry without the trim.
 *   wl_skip_trim     an XADD draws its trim as usual but does not ask for
 *                    it: the rig replays a call this way to get that
 *                    middle state (wl_last_trimmed says there was one).
 *   wl_long          when > 0, the mixed-retention shape RELOCATE is for:
 *                    half of the calls go to "long", a stream kept to
 *                    wl_long entries (XADD MAXLEN = wl_long, exact) with a
 *                    consumer group reading it, while the ten keep being
 *                    trimmed and deleted; "long" is in the fingerprint.
 *                    wl_long_value_max bounds its payload.
 *   wl_span_block    when > 0 (the block size), one XADD in wl_span_one_in
 *                    carries a value of about 1, 2 or 3 blocks (k blocks
 *                    - 64 + up to 128 bytes): entries that end just
 *                    before, at and after block boundaries and span 1, 2
 *                    and 3 blocks (FORMAT.md "Spanning records").
 *   wl_fingerprint() FNV-1a over everything a client can observe: XINFO
 *                    STREAM, every entry with its fields, XINFO GROUPS and
 *                    CONSUMERS, the whole PEL, and what each read returned
 *                    (an error is a state too).
 *
 * Deterministic: the generator (wl_rng) and the clock (wl_now_ms) are the
 * test's, so a run can be repeated - and snapshotted - exactly.
 */
#ifndef RUNNEL_STORE_WORKLOAD_H
#define RUNNEL_STORE_WORKLOAD_H

#include <string.h>

#include "runnel.h"

#define WL_KEYS 10

static uint64_t wl_now_ms;
static uint64_t wl_rng;
static bool wl_single_call;
static bool wl_skip_trim;
static bool wl_last_trimmed;
static uint32_t wl_long;
static uint32_t wl_long_value_max;  /* its payload bound (0: value_max) */
static uint32_t wl_span_block;
static uint32_t wl_span_one_in = 40;
/* The last wl_op's spanning XADD: k (1..3 blocks) when it was stored, -k
 * when refused, 0 when the call was none. */
static int wl_last_span;

/* The largest XADD value: three blocks of the largest geometry using
 * spanning entries, and some. */
#ifndef WL_VAL_MAX
#define WL_VAL_MAX 65536u
#endif

static uint64_t wl_clock_now(void *ctx)
{
    (void)ctx;
    return wl_now_ms;
}
static const runnel_clock_t wl_clock = { NULL, wl_clock_now };

static uint32_t rn(uint32_t n)
{
    wl_rng ^= wl_rng << 13;
    wl_rng ^= wl_rng >> 7;
    wl_rng ^= wl_rng << 17;
    return (uint32_t)(wl_rng % n);
}

static runnel_str_t S(const char *s)
{
    runnel_str_t r;
    r.p = s;
    r.len = strlen(s);
    return r;
}

static const char *const wl_keys[WL_KEYS] = { "s0", "s1", "s2", "s3", "s4",
                                              "s5", "s6", "s7", "s8", "s9" };
static const char *const wl_groups[2] = { "ga", "gb" };
static const char *const wl_consumers[3] = { "c1", "c2", "c3" };

/* The store the workload runs on: pools for its ten streams, two groups
 * and three consumers each; small nodes, so a ring of a few dozen KiB
 * holds many; durable, with a checkpoint every 6 blocks. */
static void wl_config(runnel_config_t *c, runnel_bd_t *bd, void *arena, size_t arena_size,
                      uint32_t max_nodes, uint32_t max_pending)
{
    memset(c, 0, sizeof *c);
    c->bd = bd;
    c->clock = &wl_clock;
    c->arena = arena;
    c->arena_size = arena_size;
    c->max_streams = WL_KEYS + 2;
    c->max_nodes = max_nodes;
    c->max_groups = 2 * WL_KEYS;
    c->max_consumers = 6 * WL_KEYS;
    c->max_pending = max_pending;
    c->max_fields = 4;
    c->node_max_entries = 20;
    c->full_policy = RUNNEL_FULL_DROP_OLDEST;
    c->commit_policy = RUNNEL_COMMIT_NONE;
    c->checkpoint_blocks = 6;
    c->durable = &runnel_durability;
}

/* ---- fingerprint: FNV-1a over everything observable ---- */

static uint64_t wl_fp;
static void mix(const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n--) {
        wl_fp ^= *b++;
        wl_fp *= 0x100000001B3ull;
    }
}
static void mix_u64(uint64_t v) { mix(&v, sizeof v); }
static void mix_id(runnel_id_t id) { mix_u64(id.ms); mix_u64(id.seq); }

static int fp_entry(void *ctx, const runnel_entry_t *e)
{
    uint32_t i;
    (void)ctx;
    mix_id(e->id);
    mix_u64(e->nfields);
    for (i = 0; i < 2u * e->nfields; i++) {
        mix_u64(e->fv[i].len);
        if (e->fv[i].p != NULL) {
            mix(e->fv[i].p, e->fv[i].len);
        } else {
            /* a string of an entry larger than a block: in pieces, every
             * byte (a piece that does not read back changes the print);
             * 4 KiB a call, so the rig's many prints stay cheap */
            static uint8_t b[4096];
            size_t off;
            for (off = 0; off < e->fv[i].len; off += sizeof b) {
                size_t n = e->fv[i].len - off < sizeof b ? e->fv[i].len - off : sizeof b;
                if (runnel_entry_value_read(e, i, off, b, n) != 0) {
                    mix_u64(0xBADu);
                    break;
                }
                mix(b, n);
            }
        }
    }
    return 0;
}

static runnel_t *fp_store;
static const char *fp_key;

static int fp_pending(void *ctx, const runnel_pending_t *p)
{
    (void)ctx;
    mix_id(p->id);
    mix(p->consumer.p, p->consumer.len);
    mix_u64(p->delivery_time_ms);
    mix_u64(p->delivery_count);
    return 0;
}

static int fp_consumer(void *ctx, const runnel_consumer_info_t *c)
{
    (void)ctx;
    mix(c->name.p, c->name.len);
    mix_u64(c->pending);
    mix_u64(c->seen_time_ms);
    return 0;
}

static int fp_group(void *ctx, const runnel_group_info_t *g)
{
    char name[16];
    size_t n = g->name.len < 15 ? g->name.len : 15;
    (void)ctx;
    mix(g->name.p, g->name.len);
    mix_u64(g->consumers);
    mix_u64(g->pending);
    mix_id(g->last_id);
    mix_u64(g->has_entries_read ? g->entries_read + 1u : 0u);
    mix_u64(g->has_lag ? g->lag + 1u : 0u);
    memcpy(name, g->name.p, n);
    name[n] = '\0';
    mix_u64((uint64_t)(int64_t)runnel_consumers(fp_store, S(fp_key), S(name), fp_consumer, NULL));
    mix_u64((uint64_t)(int64_t)runnel_xpending(fp_store, S(fp_key), S(name), RUNNEL_ID_MIN,
                                               RUNNEL_ID_MAX, -1, -1, (runnel_str_t){NULL, 0},
                                               fp_pending, NULL));
    return 0;
}

static uint64_t wl_fingerprint(runnel_t *r)
{
    int k;

    wl_fp = 0xCBF29CE484222325ull;
    fp_store = r;
    mix_u64(runnel_dbsize(r));
    for (k = 0; k < WL_KEYS + (wl_long > 0); k++) {
        runnel_stream_info_t si;

        fp_key = k < WL_KEYS ? wl_keys[k] : "long";
        if (runnel_stream_info(r, S(fp_key), &si) != 0) {
            mix_u64(0xDEADu);
            continue;
        }
        mix_u64(si.length);
        mix_u64(si.nodes);
        mix_id(si.last_id);
        mix_id(si.max_deleted);
        mix_u64(si.entries_added);
        mix_id(si.first_id);
        mix_u64(si.groups);
        mix_u64(si.dropped);
        /* what the reads return too: a stream that reads CORRUPT in both
         * states compared would otherwise pass (the rig's seed 718681
         * showed one only at the remount after its writes) */
        mix_u64((uint64_t)(int64_t)runnel_xrange(r, S(fp_key), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1,
                                                 false, fp_entry, NULL));
        mix_u64((uint64_t)(int64_t)runnel_groups(r, S(fp_key), fp_group, NULL));
    }
    return wl_fp;
}

/* ---- the workload ---- */

static int wl_ack_ids_fn(void *ctx, const runnel_entry_t *e)
{
    runnel_id_t *ids = ctx;
    if (ids[0].seq < 16) {
        ids[1 + ids[0].seq] = e->id;
        ids[0].seq++;
    }
    return 0;
}

static runnel_id_t wl_pend[4];
static size_t wl_pend_n;
static int wl_pend_fn(void *ctx, const runnel_pending_t *p)
{
    (void)ctx;
    if (wl_pend_n < 4)
        wl_pend[wl_pend_n++] = p->id;
    return 0;
}

/* Up to three IDs pending in a random group of key (XACK, XCLAIM). */
static size_t wl_some_pending(runnel_t *r, const char *key, const char *group)
{
    wl_pend_n = 0;
    memset(wl_pend, 0, sizeof wl_pend);
    (void)runnel_xpending(r, S(key), S(group), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 3, -1,
                          (runnel_str_t){NULL, 0}, wl_pend_fn, NULL);
    return wl_pend_n;
}

static int wl_xadd(runnel_t *r, const char *key, uint32_t value_max)
{
    static char val[WL_VAL_MAX];
    runnel_xadd_args_t a;
    runnel_str_t fv[4];
    runnel_id_t id;
    uint32_t form = rn(10);
    size_t n = rn(value_max + 1u);

    uint32_t span = 0;
    int rc;

    if (wl_span_block > 0 && rn(wl_span_one_in) == 0) {
        span = 1u + rn(3);
        n = span * (size_t)wl_span_block - 64u + rn(128);
    }
    if (n > sizeof val)
        n = sizeof val;
    memset(&a, 0, sizeof a);
    memset(val, 'a' + (int)rn(26), n);
    fv[0] = S("temp");
    fv[1].p = val;
    fv[1].len = n;
    fv[2] = S(rn(4) == 0 ? "humidity" : "rh");
    fv[3] = S("42");
    a.key = S(key);
    a.fv = fv;
    a.nfields = rn(5) == 0 ? 2 : 1;
    /* "*", "<ms>-*" and "<ms>-<seq>": the explicit forms near the clock,
     * so some are refused as too small (and change nothing) */
    a.id_mode = form < 6 ? RUNNEL_XADD_AUTO : form < 8 ? RUNNEL_XADD_SEQ_AUTO : RUNNEL_XADD_EXPLICIT;
    a.id.ms = wl_now_ms + rn(2);
    a.id.seq = rn(3);
    /* with a long stream beside them (wl_long), the ten are short-lived:
     * every XADD trims */
    if (wl_long > 0 || rn(8) == 0) {
        a.trim.strategy = rn(4) == 0 ? RUNNEL_TRIM_MINID : RUNNEL_TRIM_MAXLEN;
        a.trim.approx = rn(2) == 0;
        a.trim.maxlen = wl_long > 0 ? rn(30) : rn(200);
        a.trim.minid.ms = wl_now_ms - rn(300);
        a.trim.limit = -1;
        wl_last_trimmed = true;
        if (wl_skip_trim)
            a.trim.strategy = RUNNEL_TRIM_NONE;
    }
    rc = runnel_xadd(r, &a, &id);
    if (span > 0)
        wl_last_span = rc == 1 ? (int)span : -(int)span;
    return rc;
}

static int wl_xreadgroup(runnel_t *r, const char *key)
{
    runnel_xreadgroup_args_t a;
    runnel_id_t ids[17];
    uint64_t acked;
    int rc;

    memset(&a, 0, sizeof a);
    memset(ids, 0, sizeof ids);
    a.key = S(key);
    a.group = S(wl_groups[rn(2)]);
    a.consumer = S(wl_consumers[rn(3)]);
    a.new_entries = rn(5) != 0;
    a.noack = a.new_entries && rn(10) == 0;
    a.count = 1 + (int64_t)rn(8);
    rc = runnel_xreadgroup(r, &a, wl_ack_ids_fn, ids);
    /* the single-record runs ack in a call of their own (wl_op) */
    if (rc > 0 && rn(2) == 0 && ids[0].seq > 0 && !wl_single_call)
        (void)runnel_xack(r, a.key, a.group, ids + 1, (size_t)ids[0].seq - rn(2), &acked);
    return rc;
}

static int wl_xclaim(runnel_t *r, const char *key)
{
    runnel_xclaim_args_t a;
    const char *group = wl_groups[rn(2)];
    size_t n = wl_some_pending(r, key, group);
    runnel_id_t ids[4];

    memcpy(ids, wl_pend, sizeof ids);
    memset(&a, 0, sizeof a);
    a.key = S(key);
    a.group = S(group);
    a.consumer = S(wl_consumers[rn(3)]);
    a.min_idle_ms = rn(10);
    a.ids = ids;
    a.nids = n;
    a.justid = rn(3) == 0;
    a.force = rn(4) == 0;
    if (rn(4) == 0) {
        a.has_retrycount = true;
        a.retrycount = rn(5);
    }
    return runnel_xclaim(r, &a, NULL, NULL);
}

static int wl_xautoclaim(runnel_t *r, const char *key)
{
    runnel_xautoclaim_args_t a;
    runnel_id_t next, deleted[8];
    size_t nd;

    memset(&a, 0, sizeof a);
    a.key = S(key);
    a.group = S(wl_groups[rn(2)]);
    a.consumer = S(wl_consumers[rn(3)]);
    a.min_idle_ms = rn(20);
    a.start = RUNNEL_ID_MIN;
    a.count = 4;
    a.deleted = deleted;
    a.deleted_cap = 8;
    return runnel_xautoclaim(r, &a, &next, &nd, NULL, NULL);
}

/* A call on "long" (wl_long): mostly XADD MAXLEN wl_long (exact), and a
 * consumer group that reads it, acks, or is created. */
static int wl_long_op(runnel_t *r, uint32_t value_max)
{
    static char val[65536];
    uint32_t op = rn(6);

    if (op < 4) {
        runnel_xadd_args_t a;
        runnel_str_t fv[2];
        runnel_id_t id;
        size_t n = rn((wl_long_value_max != 0 ? wl_long_value_max : value_max) + 1u);

        if (n > sizeof val)
            n = sizeof val;
        memset(val, 'A' + (int)rn(26), n);
        memset(&a, 0, sizeof a);
        fv[0] = S("temp");
        fv[1].p = val;
        fv[1].len = n;
        a.key = S("long");
        a.fv = fv;
        a.nfields = 1;
        a.id_mode = RUNNEL_XADD_AUTO;
        a.trim.strategy = wl_skip_trim ? RUNNEL_TRIM_NONE : RUNNEL_TRIM_MAXLEN;
        a.trim.maxlen = wl_long;
        a.trim.limit = -1;
        wl_last_trimmed = true;
        return runnel_xadd(r, &a, &id);
    }
    if (op == 4) {
        runnel_xreadgroup_args_t a;
        runnel_id_t ids[17];
        memset(&a, 0, sizeof a);
        a.key = S("long");
        a.group = S("ga");
        a.consumer = S(wl_consumers[rn(3)]);
        a.new_entries = rn(4) != 0;
        a.count = 1 + (int64_t)rn(6);
        memset(ids, 0, sizeof ids);
        return runnel_xreadgroup(r, &a, wl_ack_ids_fn, ids);
    }
    if (rn(2) == 0) {
        size_t n = wl_some_pending(r, "long", "ga");
        runnel_id_t ids[4];
        uint64_t acked;
        memcpy(ids, wl_pend, sizeof ids);
        return runnel_xack(r, S("long"), S("ga"), ids, n, &acked);
    }
    return runnel_xgroup_create(r, S("long"), S("ga"), RUNNEL_ID_MIN, true, true, -1);
}

/* One random call; value_max bounds the XADD payload (the rig scales it
 * with the block size). */
static int wl_op(runnel_t *r, uint32_t value_max)
{
    const char *key = wl_keys[rn(WL_KEYS)];
    uint32_t op = rn(100);

    wl_last_trimmed = false;
    wl_last_span = 0;
    wl_now_ms += rn(3);
    if (wl_long > 0 && rn(2) == 0)
        return wl_long_op(r, value_max);
    if (op < 55)
        return wl_xadd(r, key, value_max);
    if (op < 60) {
        runnel_id_t ids[2];
        uint64_t del;
        ids[0].ms = wl_now_ms - rn(400);
        ids[0].seq = 0;
        ids[1].ms = wl_now_ms - rn(50);
        ids[1].seq = rn(2);
        return runnel_xdel(r, S(key), ids, 2, &del);
    }
    if (op < 63) {
        runnel_trim_t t;
        uint64_t del;
        memset(&t, 0, sizeof t);
        t.strategy = rn(2) ? RUNNEL_TRIM_MAXLEN : RUNNEL_TRIM_MINID;
        t.approx = rn(2) == 0;
        t.maxlen = rn(150);
        t.minid.ms = wl_now_ms - rn(300);
        t.limit = -1;
        return runnel_xtrim(r, S(key), &t, &del);
    }
    if (op < 64) {
        runnel_xsetid_args_t a;
        memset(&a, 0, sizeof a);
        a.key = S(key);
        a.last_id.ms = wl_now_ms + rn(5);
        return runnel_xsetid(r, &a);
    }
    if (op < 65)
        return rn(3) == 0 ? runnel_del(r, S(key)) : 0;
    if (op < 70)
        return runnel_xgroup_create(r, S(key), S(wl_groups[rn(2)]), RUNNEL_ID_MIN, rn(2) == 0,
                                    true, -1);
    if (op < 85)
        return wl_xreadgroup(r, key);
    if (op < 88 && wl_single_call) {
        const char *group = wl_groups[op & 1u];
        size_t n = wl_some_pending(r, key, group);
        runnel_id_t ids[4];
        uint64_t acked;
        memcpy(ids, wl_pend, sizeof ids);
        return runnel_xack(r, S(key), S(group), ids, n, &acked);
    }
    if (op < 92)
        return wl_xautoclaim(r, key);
    if (op < 94) {
        uint64_t pending_count;
        return runnel_xgroup_delconsumer(r, S(key), S(wl_groups[rn(2)]),
                                         S(wl_consumers[rn(3)]), &pending_count);
    }
    if (op < 95)
        return runnel_xgroup_destroy(r, S(key), S(wl_groups[rn(2)]));
    if (op < 96) {
        runnel_id_t id;
        id.ms = wl_now_ms - rn(200);
        id.seq = 0;
        return runnel_xgroup_setid(r, S(key), S(wl_groups[rn(2)]), id, rn(3) == 0, -1);
    }
    if (op < 97)
        return runnel_xgroup_createconsumer(r, S(key), S(wl_groups[rn(2)]),
                                            S(wl_consumers[rn(3)]));
    if (op < 99)
        return wl_xclaim(r, key);
    return 0;
}

#endif /* RUNNEL_STORE_WORKLOAD_H */
