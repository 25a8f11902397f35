/*
 * test_sync_powercut.c - power cuts while the forwarder runs: the store on
 * port/emu's flash, the fake upstream of sync_upstream.h on the other end
 * of the link, and a cut at every program and erase of a script in which
 * producers append, batches are confirmed and cursor records (and the
 * checkpoints that carry them) are written.
 *
 * The script: two forwarded streams, a few XADDs per step (each committed
 * at once, COMMIT_ALWAYS), one call of store_workload.h's workload on its
 * ten other streams, then the forwarder polled for a while; the cursor is
 * saved every 8 confirmed entries or 20 ms, so the log holds many cursor
 * records, and the ring (DROP_OLDEST, checkpoints every 6 blocks) turns
 * several times, so mount must find the cursors in checkpoints, not only
 * in the journal. The link is fast, but a node of a slow forwarded stream
 * can still span the ring and be dropped with its oldest block before its
 * newest entries went: such entries must be counted as dropped.
 *
 * For every program/erase operation of the script (every k-th: STRIDE)
 * and every cut model: a fresh store and upstream, the script up to the
 * cut; then the device loses power (the link with it; the upstream keeps
 * what it executed), mounts, and a new forwarder starts from the store:
 *   1. mount succeeds, and each stream's persisted cursor is at or below
 *      the upstream's last ID (a cursor never claims what was not
 *      confirmed) and is known before any connect;
 *   2. after more writes and a drain, the upstream holds every entry
 *      whose XADD returned, plus the one in flight if mount kept it, each
 *      exactly once and in order, with its fields (0 duplicates, 0 gaps),
 *      except entries the full ring dropped before they went, which are
 *      gone locally too and counted; the local store's entries are a
 *      suffix of the same sequence.
 * One line: "sync powercut: N cuts, M failures (...)".
 * How much runs: RUNNEL_SYNC_POWERCUT_STRIDE (cut every k-th operation;
 * ctest's default is every 3rd, about 15 s under ASan; 1 = every one, about
 * 50 s), RUNNEL_SYNC_POWERCUT_ONLY=<operation> replays one cut. The
 * Cortex-M3 build compiles a slice (cmake/runnel_tests.cmake).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_bd.h"
#include "runnel.h"
#include "store_workload.h"
#include "sync.h"
#include "sync_upstream.h"
#include "testing.h"

#ifndef SYNC_POWERCUT_STRIDE
#define SYNC_POWERCUT_STRIDE 3u
#endif

#define STEPS 160u
#define BLOCK 2048u
#define BLOCKS 8u
#define KEYS 2u
#define MODEL_MAX 1200u

static uint8_t storage[BLOCK * BLOCKS];
static uint64_t arena[192u * 1024u / 8u];
static runnel_emu_bd_t eb;
static runnel_bd_t bd;
static runnel_t *store;

static runnel_sync_t sy;
static uint8_t tx_buf[4096], rx_buf[2048];
static runnel_sync_stream_t slots[4];
static runnel_sync_inflight_t inflight[32];

static const char *const keys[KEYS] = {"a", "b"};

/* What the producers were told was stored: every XADD that returned. */
typedef struct model {
    uint32_t n;
    runnel_id_t ids[MODEL_MAX];
    uint32_t sums[MODEL_MAX];
} model_t;
static model_t model[KEYS];
static uint32_t produced;

static uint64_t cuts, failures, restored_slots, cursor_saves, drop_runs;

static void config(runnel_config_t *c)
{
    wl_config(c, &bd, arena, sizeof arena, 512, 64);
    c->commit_policy = RUNNEL_COMMIT_ALWAYS;
    /* Small nodes: a node of a slow forwarded stream must not span the
     * ring, or DROP_OLDEST drops its newest entries with its oldest block
     * before they could go (counted as dropped; this test keeps the link
     * up and wants none). */
    c->node_max_entries = 4;
}

static bool fresh(uint32_t seed)
{
    runnel_bd_geometry_t g;
    runnel_config_t c;

    memset(&g, 0, sizeof g);
    g.read_size = 1;
    g.prog_size = 1;
    g.block_size = BLOCK;
    g.block_count = BLOCKS;
    g.erase_value = 0xFF;
    if (runnel_emu_bd_init(&eb, &bd, &g, storage, NULL, seed | 1u) != 0)
        return false;
    config(&c);
    wl_rng = 0x9E3779B97F4A7C15ull ^ seed;
    wl_now_ms = 1700000000000ull;
    memset(model, 0, sizeof model);
    produced = 0;
    memset(&up, 0, sizeof up);
    up.rng = 4242;
    return runnel_format(&store, &c) == 0;
}

static void sync_start(void)
{
    runnel_sync_config_t s;

    memset(&s, 0, sizeof s);
    s.net = &fake_net;
    s.host = "upstream.test";
    s.port = 6379;
    s.tx_buf = tx_buf;
    s.tx_size = sizeof tx_buf;
    s.rx_buf = rx_buf;
    s.rx_size = sizeof rx_buf;
    s.streams = slots;
    s.streams_cap = 4;
    s.inflight = inflight;
    s.inflight_cap = 32;
    s.batch_entries = 16;
    s.backoff_min_ms = 5;
    s.backoff_max_ms = 40;
    s.reply_timeout_ms = 400;
    s.scan_interval_ms = 10;
    s.cursor_save_entries = 8;
    s.cursor_save_ms = 20;
    s.seed = 7;
    s.match = "[ab]";
    CHECK_EQ_INT(runnel_sync_init(&sy, store, &s), 0);
}

static uint32_t sum_of(const runnel_str_t *fv, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t k = 0; k < n; k++)
        h = fnv(h, fv[k].p, fv[k].len);
    return h;
}

/* One XADD to key k; the model learns it when the call returned. */
static void produce_one(uint32_t k)
{
    char val[40];
    runnel_xadd_args_t a;
    runnel_str_t fv[2];
    runnel_id_t id;

    produced++;
    snprintf(val, sizeof val, "v%lu%s", (unsigned long)produced, produced % 5 ? "" : "-padded");
    memset(&a, 0, sizeof a);
    fv[0] = S("t");
    fv[1] = S(val);
    a.key = S(keys[k]);
    a.fv = fv;
    a.nfields = 1;
    wl_now_ms += 1;
    if (runnel_xadd(store, &a, &id) >= 0 && !runnel_emu_bd_cut_happened(&eb) &&
        model[k].n < MODEL_MAX) {
        model[k].ids[model[k].n] = id;
        model[k].sums[model[k].n] = sum_of(fv, 2);
        model[k].n++;
    }
}

static void poll_ms(uint32_t ms)
{
    for (uint32_t t = 0; t < ms && !runnel_emu_bd_cut_happened(&eb); t++) {
        wl_now_ms++;
        (void)runnel_sync_poll(&sy, wl_now_ms);
    }
}

/* The script, until the power goes (or to its end). Between the
 * forwarded streams' writes, store_workload.h's calls on its own ten
 * streams (not forwarded: trims, deletes, groups) fill the ring. */
static void script(void)
{
    sync_start();
    for (uint32_t step = 0; step < STEPS && !runnel_emu_bd_cut_happened(&eb); step++) {
        uint32_t n = 1u + rn(3);
        for (uint32_t i = 0; i < n && !runnel_emu_bd_cut_happened(&eb); i++)
            produce_one(rn(KEYS));
        for (uint32_t i = 0; i < 3 && !runnel_emu_bd_cut_happened(&eb); i++)
            (void)wl_op(store, 200);
        poll_ms(2u + rn(6));
    }
}

/* An entry mount kept although its XADD never returned (the cut came
 * after its record was durable): the producer's model gets it, since the
 * store has it and will forward it. */
static int adopt_fn(void *ctx, const runnel_entry_t *e)
{
    model_t *m = ctx;
    if (m->n < MODEL_MAX &&
        (m->n == 0 || runnel_id_cmp(e->id, m->ids[m->n - 1]) > 0)) {
        m->ids[m->n] = e->id;
        m->sums[m->n] = sum_of(e->fv, 2u * e->nfields);
        m->n++;
    }
    return 0;
}

typedef struct suffix_ctx {
    const model_t *m;
    uint32_t i;
    bool bad;
} suffix_ctx_t;

/* The local entries are a suffix of the model (the ring dropped the
 * oldest ones, already forwarded). */
static int suffix_fn(void *ctx, const runnel_entry_t *e)
{
    suffix_ctx_t *c = ctx;
    while (c->i < c->m->n && runnel_id_cmp(c->m->ids[c->i], e->id) < 0)
        c->i++;
    if (c->i >= c->m->n || runnel_id_cmp(c->m->ids[c->i], e->id) != 0 ||
        c->m->sums[c->i] != sum_of(e->fv, 2u * e->nfields))
        c->bad = true;
    c->i++;
    return 0;
}

/* The upstream holds the model in order, each entry once, with its
 * fields, except entries the full ring dropped before they could go (the
 * forwarder was behind, as while the device recovers after a cut): those must be
 * gone locally too, older than every local entry, and counted as dropped
 * (the count may be higher: a cut can lose the cursor's last moves, and
 * entries forwarded since the last save are then counted when dropped).
 * *missing = those entries. */
static bool upstream_matches(uint32_t k, uint64_t dropped, uint32_t *missing)
{
    up_key_t *u = up_key(S(keys[k]), false);
    uint32_t n = u != NULL ? u->n : 0, j = 0;
    runnel_stream_info_t si;
    bool have = runnel_stream_info(store, S(keys[k]), &si) == 0 && si.length > 0;

    *missing = 0;
    for (uint32_t i = 0; i < model[k].n; i++) {
        if (j < n && runnel_id_cmp(u->ids[j], model[k].ids[i]) == 0) {
            if (u->sums[j] != model[k].sums[i])
                return false;
            j++;
            continue;
        }
        if (have && runnel_id_cmp(model[k].ids[i], si.first_id) >= 0)
            return false;   /* still here, never forwarded: a gap */
        (*missing)++;
    }
    return j == n && *missing <= dropped;
}

/* Polls until nothing is left to forward (or 20 s of fake time). */
static void drain(void)
{
    for (uint32_t t = 0; t < 20000; t++) {
        runnel_sync_stats_t st;
        poll_ms(1);
        runnel_sync_stats(&sy, &st);
        if (st.state == RUNNEL_SYNC_SYNCING && st.lag_entries == 0 && st.inflight_entries == 0)
            return;
    }
}

static void report(const char *what, uint64_t cut, runnel_emu_cut_model_t m)
{
    if (failures++ < 5)
        printf("    FAIL %s: cut at operation %lu (%s)\n", what, (unsigned long)cut,
               runnel_emu_cut_model_name(m));
}

/* After the cut: mount, check the cursors, resume, drain, compare. */
static void recover_and_check(uint64_t cut, runnel_emu_cut_model_t m)
{
    runnel_config_t c;

    up_cut();   /* the device is off: the connection went with it */
    runnel_emu_bd_power_on(&eb);
    config(&c);
    if (runnel_mount(&store, &c) != 0) {
        report("mount failed", cut, m);
        return;
    }
    for (uint32_t k = 0; k < KEYS; k++) {
        runnel_stream_cursor_t cur;
        runnel_id_t last = {0, 0};
        /* the entry in flight, if mount kept it */
        runnel_id_t after = model[k].n ? model[k].ids[model[k].n - 1] : (runnel_id_t){0, 0};
        (void)runnel_xread(store, S(keys[k]), after, -1, adopt_fn, &model[k]);
        if (runnel_stream_cursor_get(store, S(keys[k]), &cur) != 0 || !cur.tracked)
            continue;
        up_key_t *u = up_key(S(keys[k]), false);
        if (u != NULL && u->n != 0)
            last = u->ids[u->n - 1];
        if (runnel_id_cmp(cur.cursor, last) > 0) {
            report("a persisted cursor is ahead of the upstream", cut, m);
            return;
        }
    }
    /* The new forwarder knows its position before it connects. */
    up.refuse_connects = 1000000;
    sync_start();
    poll_ms(1);
    for (uint32_t i = 0; i < sy.cfg.streams_cap; i++) {
        runnel_sync_stream_stats_t ss;
        if (runnel_sync_stream_stats(&sy, i, &ss) == 0 && ss.restored)
            restored_slots++;
    }
    up.refuse_connects = 0;
    for (uint32_t i = 0; i < 12; i++) {
        produce_one(i % KEYS);
        poll_ms(3);
    }
    drain();
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    cursor_saves += st.cursor_saves;
    for (uint32_t k = 0; k < KEYS; k++) {
        suffix_ctx_t sc = {&model[k], 0, false};
        uint32_t missing;
        if (!upstream_matches(k, st.dropped, &missing)) {
            report("the upstream is not the producers' sequence (duplicate, gap or order)", cut,
                   m);
            return;
        }
        if (missing != 0)
            drop_runs++;
        if (runnel_xrange(store, S(keys[k]), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, suffix_fn,
                          &sc) < 0 ||
            sc.bad) {
            report("the local stream is not a suffix of the producers' sequence", cut, m);
            return;
        }
    }
}

static uint32_t env_u32(const char *name, uint32_t dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v ? (uint32_t)strtoul(v, NULL, 10) : dflt;
}

static void test_sync_under_cuts(void)
{
    uint32_t stride = env_u32("RUNNEL_SYNC_POWERCUT_STRIDE", SYNC_POWERCUT_STRIDE);
    uint64_t ops, erases, k = 0;
    runnel_sync_stats_t st;

    /* The script once, uncut: how many operations it makes, and that it
     * does what the cuts are meant to hit. */
    CHECK(fresh(1));
    uint64_t base = eb.mut_ops;
    script();
    ops = eb.mut_ops - base;
    erases = eb.erases;
    CHECK(erases >= 2u * BLOCKS);      /* the ring turned: checkpoints carry cursors */
    drain();
    poll_ms(30);   /* the last confirmed entries' cursor save */
    runnel_sync_stats(&sy, &st);
    CHECK(st.cursor_saves >= 20u);
    CHECK(st.forwarded > 300u);
    /* The link was up all along; should the ring still drop an entry of
     * a node it did not forward yet (a node of a slow stream spanning the
     * ring), that is counted, and nothing else is missing. */
    for (uint32_t i = 0; i < KEYS; i++) {
        uint32_t missing;
        CHECK(upstream_matches(i, st.dropped, &missing));
        CHECK(missing <= 4u);
    }
    /* The cursor records change nothing a client sees after a mount. */
    {
        runnel_config_t c;
        uint64_t fp = wl_fingerprint(store);
        runnel_stream_cursor_t before[KEYS], after;
        for (uint32_t i = 0; i < KEYS; i++)
            CHECK_EQ_INT(runnel_stream_cursor_get(store, S(keys[i]), &before[i]), 0);
        CHECK_EQ_INT(runnel_commit(store), 0);
        config(&c);
        CHECK_EQ_INT(runnel_mount(&store, &c), 0);
        CHECK(wl_fingerprint(store) == fp);
        for (uint32_t i = 0; i < KEYS; i++) {
            CHECK_EQ_INT(runnel_stream_cursor_get(store, S(keys[i]), &after), 0);
            CHECK(before[i].tracked && after.tracked);
            CHECK(runnel_id_cmp(before[i].cursor, after.cursor) == 0);
            CHECK_EQ_U64(before[i].backlog, after.backlog);
            CHECK_EQ_U64(before[i].forwarded, after.forwarded);
            CHECK_EQ_U64(after.backlog, 0);
        }
    }
    if (stride == 0)
        return;
    uint64_t only = env_u32("RUNNEL_SYNC_POWERCUT_ONLY", 0);
    for (uint64_t cut = only ? only : 1; cut <= (only ? only : ops); cut++) {
        for (int m = 0; m < RUNNEL_EMU_CUT_MODELS; m++) {
            if (k++ % stride != 0)
                continue;
            CHECK(fresh(1));
            runnel_emu_bd_seed(&eb, (uint32_t)(cut * 2654435761u) ^ (uint32_t)m);
            runnel_emu_bd_schedule_cut(&eb, cut, (runnel_emu_cut_model_t)m);
            script();
            cuts++;
            if (!runnel_emu_bd_cut_happened(&eb)) {
                report("the cut never came", cut, (runnel_emu_cut_model_t)m);
                continue;
            }
            recover_and_check(cut, (runnel_emu_cut_model_t)m);
        }
    }
    printf("sync powercut: %lu cuts, %lu failures (%lu program/erase operations, every %lu-th "
           "x 4 models, %lu.%lu ring passes uncut; %lu streams restored from the store before "
           "connecting, %lu cursor records written after recovery; in %lu runs the ring dropped "
           "entries before they could go, all counted)\n",
           (unsigned long)cuts, (unsigned long)failures, (unsigned long)ops,
           (unsigned long)stride, (unsigned long)(erases / BLOCKS),
           (unsigned long)(erases * 10u / BLOCKS % 10u), (unsigned long)restored_slots,
           (unsigned long)cursor_saves, (unsigned long)drop_runs);
    CHECK(cuts > 0);
    CHECK(restored_slots > 0);
    CHECK_EQ_U64(failures, 0);
}

TEST_MAIN(
    RUN(test_sync_under_cuts);
)
