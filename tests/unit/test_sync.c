/*
 * test_sync.c - the upstream forwarder (core/sync.c) driven through a
 * scripted network port.
 *
 * The port is the fake upstream of sync_upstream.h (a scripted Redis that
 * records what arrived, with faults: refused and slow connects, cuts
 * mid-batch and mid-reply, a stalled link, a wrong password, WRONGTYPE).
 *
 * Every scenario ends by comparing the upstream with the local streams
 * entry by entry: same IDs in the same order, same fields, no duplicate,
 * no gap. Portable (static buffers): it runs on the host and on the
 * Cortex-M3 under QEMU as every unit test does.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdio.h>
#include <string.h>

#include "stream_fixture.h"
#include "sync.h"
#include "sync_upstream.h"
#include "testing.h"

/* ------------------------------------------------------------------ */
/* The forwarder under test                                            */
/* ------------------------------------------------------------------ */

static fx_t fx;
static runnel_sync_t sy;
static uint8_t tx_buf[8192], rx_buf[2048];
static runnel_sync_stream_t slots[4];
static runnel_sync_inflight_t inflight[64];
static runnel_sync_config_t scfg;

static void reset_up(void)
{
    memset(&up, 0, sizeof up);
    up.rng = 777;
}

static void setup_sync_only(void);

static void setup(void)
{
    reset_up();
    fx_setup(&fx, 1, 4096, 64);
    fx.cfg.max_streams = 8;
    CHECK_EQ_INT(fx_open(&fx), 0);
    setup_sync_only();
}

/* The forwarder's configuration over the fake upstream. */
static void setup_sync_only(void)
{
    memset(&scfg, 0, sizeof scfg);
    scfg.net = &fake_net;
    scfg.host = "upstream.test";
    scfg.port = 6379;
    scfg.tx_buf = tx_buf;
    scfg.tx_size = sizeof tx_buf;
    scfg.rx_buf = rx_buf;
    scfg.rx_size = sizeof rx_buf;
    scfg.streams = slots;
    scfg.streams_cap = 4;
    scfg.inflight = inflight;
    scfg.inflight_cap = 64;
    scfg.batch_entries = 50;
    scfg.max_inflight_bytes = 4096;
    scfg.backoff_min_ms = 10;
    scfg.backoff_max_ms = 200;
    scfg.reply_timeout_ms = 500;
    scfg.scan_interval_ms = 50;
    scfg.seed = 99;
}

static uint32_t added_seq;

/* XADD key * t <n> v <n as text, some longer>. */
static void produce(const char *key, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char val[48];
        runnel_id_t id;
        added_seq++;
        snprintf(val, sizeof val, "v%lu-%s", (unsigned long)added_seq,
                 (added_seq % 7) == 0 ? "padding padding padding" : "x");
        fx.now += (added_seq % 3) == 0 ? 1 : 0;
        CHECK(fx_add(&fx, key, RUNNEL_XADD_AUTO, 0, 0, "t", val, &id) >= 0);
    }
}

static void poll_for(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t++) {
        fx.now++;
        CHECK_EQ_INT(runnel_sync_poll(&sy, fx.now), 0);
    }
}

/* Polls until every slot has no lag and nothing is in flight, or the
 * deadline (fake milliseconds) passes. */
static bool drain(uint64_t deadline_ms)
{
    for (uint64_t t = 0; t < deadline_ms; t++) {
        fx.now++;
        CHECK_EQ_INT(runnel_sync_poll(&sy, fx.now), 0);
        runnel_sync_stats_t st;
        runnel_sync_stats(&sy, &st);
        if (st.state == RUNNEL_SYNC_SYNCING && st.lag_entries == 0 && st.inflight_entries == 0 &&
            st.streams_stopped == 0)
            return true;
    }
    return false;
}


/* The upstream key (prefix + key, in db) holds exactly the local stream. */
static void check_mirror(const char *key, const char *prefix, uint32_t db)
{
    uint64_t n = 0;
    CHECK_EQ_U64(up_mirror(fx.r, key, prefix, db, &n), 0);
    CHECK(n > 0);
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

static void test_steady(void)
{
    setup();
    scfg.key_prefix = "dev1:";
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("a", 300);
    produce("b", 200);
    for (int round = 0; round < 20; round++) {
        produce(round % 2 ? "a" : "b", 37);
        poll_for(3);
    }
    CHECK(drain(20000));
    check_mirror("a", "dev1:", 0);
    check_mirror("b", "dev1:", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 300 + 200 + 20 * 37);
    CHECK_EQ_U64(st.duplicates, 0);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.reconnects, 0);
    CHECK_EQ_U64(up.protocol_errors, 0);
    CHECK_STR(runnel_sync_state_name(st.state), "syncing");
    runnel_id_t cur;
    runnel_stream_info_t info;
    CHECK_EQ_INT(runnel_sync_cursor(&sy, fx_s("a"), &cur), 0);
    CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("a"), &info), 0);
    CHECK(runnel_id_cmp(cur, info.last_id) == 0);
}

/* Cuts at random points (mid-batch on send, mid-reply on recv), refused
 * and slow connects, tiny chunks, producers writing throughout. */
static void test_faults(void)
{
    setup();
    up.cut_permille = 15;
    up.connect_polls = 3;
    up.small_chunks = false;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    for (int round = 0; round < 60; round++) {
        produce(round % 3 == 0 ? "s1" : round % 3 == 1 ? "s2" : "s3", 30);
        if (round % 10 == 5)
            up.refuse_connects = 2;
        up.small_chunks = (round % 4) == 1;
        poll_for(40);
    }
    up.cut_permille = 0;
    up.small_chunks = false;
    CHECK(drain(60000));
    check_mirror("s1", "", 0);
    check_mirror("s2", "", 0);
    check_mirror("s3", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    printf("  faults: %lu cuts, %lu connects, %lu duplicates acknowledged\n",
           (unsigned long)up.cuts, (unsigned long)up.connects, (unsigned long)st.duplicates);
    CHECK(up.cuts >= 10);
    CHECK(st.reconnects >= up.cuts);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(up.protocol_errors, 0);
}

/* A link that takes bytes and never answers is dropped after the reply
 * timeout and the entries go through on the next connection. */
static void test_half_open(void)
{
    setup();
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("h", 100);
    CHECK(drain(5000));
    up.stall = true;
    produce("h", 100);
    poll_for(100);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK(st.inflight_entries > 0);
    poll_for(scfg.reply_timeout_ms + 10);
    runnel_sync_stats(&sy, &st);
    CHECK(st.reconnects >= 1);
    CHECK(strstr(st.last_error, "no reply") != NULL);
    up.stall = false;
    CHECK(drain(10000));
    check_mirror("h", "", 0);
}

/* The upstream already holds the first entries (a cursor lost with a
 * power cut): only the rest is sent, nothing twice. */
static int preload_fn(void *ctx, const runnel_entry_t *e)
{
    up_key_t *u = ctx;
    uint32_t h = 2166136261u;
    for (uint32_t k = 0; k < 2 * e->nfields; k++)
        h = fnv(h, e->fv[k].p, e->fv[k].len);
    u->ids[u->n] = e->id;
    u->sums[u->n] = h;
    u->n++;
    return 0;
}

static void test_resume_from_upstream(void)
{
    setup();
    produce("r", 120);
    /* The upstream already holds the first 70 entries, as Redis would. */
    up_key_t *u = up_key(fx_s("r"), true);
    CHECK_EQ_INT(runnel_xrange(fx.r, fx_s("r"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 70, false,
                               preload_fn, u), 70);
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    CHECK(drain(5000));
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 50);
    CHECK_EQ_U64(st.duplicates, 0);
    check_mirror("r", "", 0);

    /* The upstream's top entry reads 3 behind its last ID (deleted there):
     * the 3 re-sent entries are refused as "equal or smaller" and count as
     * duplicates acknowledged, not as errors and not as second copies. */
    setup();
    produce("r", 120);
    u = up_key(fx_s("r"), true);
    CHECK_EQ_INT(runnel_xrange(fx.r, fx_s("r"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 70, false,
                               preload_fn, u), 70);
    u->top_behind = 3;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    CHECK(drain(5000));
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 50);
    CHECK_EQ_U64(st.duplicates, 3);
    CHECK_EQ_U64(st.streams_stopped, 0);
    CHECK_EQ_U64(st.lag_entries, 0);
    check_mirror("r", "", 0);
}

/* Entries deleted locally before they were forwarded are skipped and
 * counted, never invented. */
static void test_skipped(void)
{
    setup();
    produce("k", 50);
    fx_collect_t *col = &fx_col;
    memset(col, 0, sizeof *col);
    CHECK_EQ_INT(runnel_xrange(fx.r, fx_s("k"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                               fx_collect_fn, col), 50);
    up.connect_polls = 20;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    poll_for(1);   /* the slot is taken now, still connecting; deletes come after */
    uint64_t del = 0;
    runnel_id_t ids[5] = {col->ids[3], col->ids[10], col->ids[11], col->ids[30], col->ids[49]};
    CHECK_EQ_INT(runnel_xdel(fx.r, fx_s("k"), ids, 5, &del), 0);
    CHECK_EQ_U64(del, 5);
    CHECK(drain(5000));
    check_mirror("k", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 45);
    CHECK_EQ_U64(st.skipped, 5);
}

/* The full ring drops the oldest entries (DROP_OLDEST) while the link is
 * down: they are counted as dropped, not skipped, and the upstream gets
 * exactly what is left. */
static void test_dropped(void)
{
    reset_up();
    fx_setup(&fx, 1, 4096, 8);
    fx.cfg.max_streams = 8;
    fx.cfg.full_policy = RUNNEL_FULL_DROP_OLDEST;
    CHECK_EQ_INT(fx_open(&fx), 0);
    setup_sync_only();
    up.refuse_connects = 1000000;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("d", 1);
    poll_for(1);   /* the slot is taken before anything is dropped */
    runnel_stream_info_t info;
    for (int i = 0; i < 400; i++) {
        produce("d", 10);
        CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("d"), &info), 0);
        if (info.dropped > 100)
            break;
    }
    CHECK(info.dropped > 100);
    poll_for(50);
    up.refuse_connects = 0;
    CHECK(drain(20000));
    check_mirror("d", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("d"), &info), 0);
    CHECK_EQ_U64(st.dropped, info.dropped);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(st.forwarded, info.length);
}

/* After forwarding, the full ring drops entries: only those the upstream
 * did not have yet count as dropped (the engine keys them on the cursor). */
static void test_dropped_after_forwarding(void)
{
    reset_up();
    fx_setup(&fx, 1, 4096, 8);
    fx.cfg.max_streams = 8;
    fx.cfg.full_policy = RUNNEL_FULL_DROP_OLDEST;
    CHECK_EQ_INT(fx_open(&fx), 0);
    setup_sync_only();
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("e", 60);
    CHECK(drain(5000));
    poll_for(5);
    up_cut();
    up.refuse_connects = 1000000;
    runnel_stream_info_t info;
    for (int i = 0; i < 400; i++) {
        produce("e", 10);
        poll_for(1);
        CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("e"), &info), 0);
        if (info.dropped > 150)
            break;
    }
    CHECK(info.dropped > 150);
    up.refuse_connects = 0;
    CHECK(drain(20000));
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("e"), &info), 0);
    CHECK_EQ_U64(st.dropped, info.dropped - 60);
    CHECK_EQ_U64(st.skipped, 0);
    up_key_t *u = up_key(fx_s("e"), false);
    CHECK(u != NULL && u->n == 60 + info.length);
    runnel_stream_cursor_t cur;
    CHECK_EQ_INT(runnel_stream_cursor_get(fx.r, fx_s("e"), &cur), 0);
    CHECK_EQ_U64(cur.dropped, st.dropped);
}

/* REFUSE: a write that needs the block of entries not forwarded yet is
 * refused with the error that names the sync backlog; nothing is lost,
 * and once they went, a full ring says NOSPC (retention, not the link). */
static void test_backlog_refuse(void)
{
    reset_up();
    fx_setup(&fx, 1, 4096, 8);
    fx.cfg.max_streams = 8;
    fx.cfg.full_policy = RUNNEL_FULL_REFUSE;
    CHECK_EQ_INT(fx_open(&fx), 0);
    setup_sync_only();
    up.refuse_connects = 1000000;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("q", 1);
    poll_for(5);   /* the slot is taken: tracking starts (a record) */
    runnel_stream_cursor_t cur;
    CHECK_EQ_INT(runnel_stream_cursor_get(fx.r, fx_s("q"), &cur), 0);
    CHECK(cur.tracked);
    CHECK_EQ_U64(cur.backlog, 1);
    int rc = 0;
    runnel_id_t id;
    for (int i = 0; i < 5000 && rc >= 0; i++)
        rc = fx_add(&fx, "q", RUNNEL_XADD_AUTO, 0, 0, "t", "a reading of some size", &id);
    CHECK_EQ_INT(rc, RUNNEL_ERR_SYNC_BACKLOG);
    CHECK(strstr(runnel_strerror(rc), "sync backlog") != NULL);
    /* the head block's last bytes, whatever the entries' size left: its
     * room is then below any cursor save's record, so the saves below
     * need a block the ring cannot give */
    rc = 0;
    for (int i = 0; i < 100 && rc >= 0; i++)
        rc = fx_add(&fx, "q", RUNNEL_XADD_AUTO, 0, 0, "t", "x", &id);
    CHECK_EQ_INT(rc, RUNNEL_ERR_SYNC_BACKLOG);
    runnel_stream_info_t info;
    CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("q"), &info), 0);
    CHECK_EQ_INT(runnel_stream_cursor_get(fx.r, fx_s("q"), &cur), 0);
    CHECK_EQ_U64(cur.backlog, info.length);
    CHECK(info.length > 50);
    up.refuse_connects = 0;
    CHECK(drain(20000));
    check_mirror("q", "", 0);
    poll_for(2000);   /* the saves are refused too (full ring): the RAM cursor moved */
    CHECK_EQ_INT(runnel_stream_cursor_get(fx.r, fx_s("q"), &cur), 0);
    CHECK_EQ_U64(cur.backlog, 0);
    rc = fx_add(&fx, "q", RUNNEL_XADD_AUTO, 0, 0, "t", "a reading of some size", &id);
    CHECK_EQ_INT(rc, RUNNEL_ERR_NOSPC);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.dropped, 0);
    CHECK_EQ_U64(st.forwarded, info.length);
    /* the refused saves are counted and named; a trim makes room and the
     * next retry saves the cursor at the top */
    CHECK(st.cursor_save_failures > 0);
    CHECK_EQ_INT(st.cursor_save_error, RUNNEL_ERR_NOSPC);
    runnel_trim_t trim;
    memset(&trim, 0, sizeof trim);
    trim.strategy = RUNNEL_TRIM_MAXLEN;
    trim.maxlen = 10;
    uint64_t deleted = 0;
    CHECK_EQ_INT(runnel_xtrim(fx.r, fx_s("q"), &trim, &deleted), 0);
    CHECK(deleted > 0);
    uint64_t saves = st.cursor_saves;
    poll_for(2000);
    runnel_sync_stats(&sy, &st);
    CHECK(st.cursor_saves > saves);
    CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("q"), &info), 0);
    CHECK_EQ_INT(runnel_stream_cursor_get(fx.r, fx_s("q"), &cur), 0);
    CHECK(runnel_id_cmp(cur.cursor, info.last_id) == 0);
}

/* A durable store: the cursor and counters survive a restart and are
 * known before the forwarder connects; the upstream's top still decides
 * where it resumes. Clearing the cursor ends the protection. */
static void test_cursor_restored(void)
{
    reset_up();
    fx_setup(&fx, 1, 4096, 16);
    fx.cfg.max_streams = 8;
    fx.cfg.durable = &runnel_durability;
    fx.cfg.commit_policy = RUNNEL_COMMIT_ALWAYS;
    CHECK_EQ_INT(fx_open(&fx), 0);
    setup_sync_only();
    scfg.cursor_save_entries = 30;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("p", 100);
    CHECK(drain(5000));
    poll_for(1500);   /* past cursor_save_ms: the last entries are saved too */
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 100);
    /* one record per 30 entries or per second, not one per entry */
    CHECK(st.cursor_saves >= 2 && st.cursor_saves <= 8);
    runnel_stream_cursor_t cur;
    runnel_stream_info_t info;
    CHECK_EQ_INT(runnel_stream_cursor_get(fx.r, fx_s("p"), &cur), 0);
    CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("p"), &info), 0);
    CHECK(cur.tracked && runnel_id_cmp(cur.cursor, info.last_id) == 0);
    CHECK_EQ_U64(cur.forwarded, 100);
    CHECK_EQ_U64(cur.backlog, 0);

    /* restart: a new engine from the same flash, a new forwarder, no link */
    up_cut();
    produce("p", 7);
    CHECK_EQ_INT(runnel_mount(&fx.r, &fx.cfg), 0);
    up.refuse_connects = 1000000;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    poll_for(1);
    runnel_sync_stream_stats_t ss;
    CHECK_EQ_INT(runnel_sync_stream_stats(&sy, 0, &ss), 0);
    CHECK(ss.restored);
    CHECK(runnel_id_cmp(ss.cursor, cur.cursor) == 0);
    CHECK_EQ_U64(ss.forwarded, 100);
    CHECK_EQ_U64(ss.lag_entries, 7);
    /* the upstream lost its last 10 entries meanwhile: its top decides */
    up_key_t *u = up_key(fx_s("p"), false);
    CHECK(u != NULL && u->n == 100);
    u->n -= 10;
    up.refuse_connects = 0;
    CHECK(drain(5000));
    check_mirror("p", "", 0);
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 117);
    CHECK_EQ_U64(st.duplicates, 0);

    CHECK_EQ_INT(runnel_stream_cursor_clear(fx.r, fx_s("p")), 0);
    CHECK_EQ_INT(runnel_stream_cursor_get(fx.r, fx_s("p"), &cur), 0);
    CHECK(!cur.tracked);
    CHECK_EQ_INT(runnel_stream_cursor_clear(fx.r, fx_s("nope")), RUNNEL_ERR_NO_SUCH_KEY);
    CHECK_EQ_INT(runnel_mount(&fx.r, &fx.cfg), 0);
    CHECK_EQ_INT(runnel_stream_cursor_get(fx.r, fx_s("p"), &cur), 0);
    CHECK(!cur.tracked);
}

/* forward_committed_only: nothing goes upstream before the application
 * says the store committed it. */
static void test_committed_only(void)
{
    setup();
    scfg.forward_committed_only = true;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("c", 50);
    poll_for(500);
    up_key_t *u = up_key(fx_s("c"), false);
    CHECK(u == NULL || u->n == 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.lag_entries, 50);
    runnel_sync_committed(&sy);
    produce("c", 20);            /* appended after the commit: held back */
    poll_for(500);
    u = up_key(fx_s("c"), false);
    CHECK(u != NULL && u->n == 50);
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.lag_entries, 20);
    CHECK_EQ_U64(st.skipped, 0);
    runnel_sync_committed(&sy);
    CHECK(drain(5000));
    check_mirror("c", "", 0);
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 70);
    CHECK_EQ_U64(st.skipped, 0);
}

static void test_auth_and_select(void)
{
    setup();
    up.user = "edge";
    up.password = "s3cret";
    scfg.user = "edge";
    scfg.password = "s3cret";
    scfg.upstream_db = 3;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("x", 40);
    CHECK(drain(5000));
    CHECK_STR(up.last_auth_user, "edge");
    check_mirror("x", "", 3);
    CHECK_EQ_U64(up.auth_fails, 0);

    /* A wrong password: the error is visible, the state says so, and the
     * retries back off (no reconnect storm). */
    setup();
    up.password = "right";
    scfg.password = "wrong";
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("y", 5);
    poll_for(2000);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK(strstr(st.last_error, "WRONGPASS") != NULL);
    CHECK(st.state == RUNNEL_SYNC_ERROR || st.state == RUNNEL_SYNC_CONNECTING ||
          st.state == RUNNEL_SYNC_AUTHENTICATING);
    /* 10 ms doubling to 200 ms, jittered: about a dozen tries in 2 s,
     * never hundreds. */
    CHECK(up.auth_fails >= 5 && up.auth_fails <= 30);
    CHECK_EQ_U64(st.forwarded, 0);
    CHECK_EQ_U64(st.lag_entries, 5);
}

/* WRONGTYPE on one key stops that stream with the error shown and skips
 * nothing; the other stream goes on; once the key is fixed it resumes. */
static void test_error_reply(void)
{
    setup();
    up_key_t *bad = up_key(fx_s("bad"), true);
    bad->wrongtype = true;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("good", 80);
    produce("bad", 80);
    poll_for(3000);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.streams_stopped, 1);
    CHECK(strstr(st.last_error, "WRONGTYPE") != NULL);
    CHECK_EQ_U64(st.lag_entries, 80);
    CHECK_EQ_U64(st.skipped, 0);
    check_mirror("good", "", 0);
    bool found = false;
    for (uint32_t i = 0; i < 4; i++) {
        runnel_sync_stream_stats_t ss;
        if (runnel_sync_stream_stats(&sy, i, &ss) == 0 && ss.key.len == 3) {
            found = true;
            CHECK(ss.stopped);
            CHECK(strstr(ss.error, "WRONGTYPE") != NULL);
            CHECK_EQ_U64(ss.lag_entries, 80);
            CHECK_EQ_U64(ss.forwarded, 0);
        }
    }
    CHECK(found);
    bad->wrongtype = false;   /* the operator fixed the key */
    CHECK(drain(5000));
    check_mirror("bad", "", 0);
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(st.gaps, 0);
}

/* Polls until a slot is stopped (or the fake deadline passes); its stats
 * in *out. */
static bool wait_stopped(uint64_t deadline_ms, runnel_sync_stream_stats_t *out)
{
    for (uint64_t t = 0; t < deadline_ms; t++) {
        fx.now++;
        CHECK_EQ_INT(runnel_sync_poll(&sy, fx.now), 0);
        for (uint32_t i = 0; i < 4; i++)
            if (runnel_sync_stream_stats(&sy, i, out) == 0 && out->stopped)
                return true;
    }
    return false;
}

/* What the upstream holds of key is the first entries of the local
 * stream, in order, nothing after a missing one. */
static void check_prefix(const char *key, uint32_t *held)
{
    up_key_t *u = up_key(fx_s(key), false);
    uint32_t n = u != NULL ? u->n : 0;
    cmp_ctx_t c = {u, 0, 0};
    if (n != 0)
        CHECK_EQ_INT(runnel_xrange(fx.r, fx_s(key), RUNNEL_ID_MIN, RUNNEL_ID_MAX, n, false,
                                   cmp_entry, &c), (int)n);
    CHECK_EQ_U64(c.mismatches, 0);
    *held = n;
}

/* Issue 7: Redis near maxmemory refuses one XADD of a pipeline (OOM) and
 * accepts the next ones. Sent as plain pipelined XADDs, the upstream
 * would hold entry k+1 without k, a gap for ever; sent as one transaction
 * per stream, the refusal aborts the whole batch and the stream stops with
 * the OOM text, then resumes from the upstream's top with nothing lost. */
static void test_partial_refusal(void)
{
    setup();
    up.oom_from = 5;      /* the 5th XADD to arrive is refused, the 6th... not */
    up.oom_count = 1;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("p", 200);
    runnel_sync_stream_stats_t ss;
    CHECK(wait_stopped(3000, &ss));
    CHECK(strstr(ss.error, "OOM") != NULL);   /* the cause, not just EXECABORT */
    CHECK(strstr(ss.error, "EXECABORT") == NULL);
    CHECK_EQ_U64(up.oom_refused, 1);
    uint32_t held = 0;
    check_prefix("p", &held);
    CHECK(held < 5);      /* nothing at or after the refused entry landed */
    CHECK(drain(20000));
    check_mirror("p", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(st.forwarded, 200);
    CHECK(up.execaborts >= 1);
    CHECK(up.protocol_errors == 0);
}

/* Refusals on several streams and across retries, while producers write:
 * a run of refused XADDs spanning batches, EXEC itself refused with OOM,
 * MULTI refused (its XADDs then run plain and are settled one by one). */
static void test_refusals_mixed(void)
{
    setup();
    up.oom_from = 30;
    up.oom_count = 70;
    up.oom_execs = 2;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    for (int round = 0; round < 30; round++) {
        produce(round % 2 ? "m1" : "m2", 23);
        poll_for(7);
        if (round == 10)
            up.refuse_multis = 1;
        if (round == 20) {
            up.oom_from = up.xadds_seen + 3;
            up.oom_count = 2;
        }
    }
    CHECK(drain(60000));
    check_mirror("m1", "", 0);
    check_mirror("m2", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(st.forwarded, 30 * 23);
    CHECK(up.oom_refused >= 70);
    CHECK_EQ_U64(up.oom_execs, 0);
    CHECK_EQ_U64(up.refuse_multis, 0);
    CHECK(up.protocol_errors == 0);
}

/* EXEC refused with OOM (Redis refuses EXEC itself when the transaction
 * holds a deny-oom command and memory is over the limit): nothing of the
 * batch landed, the stream shows the OOM; MULTI refused (NOPERM): that
 * batch runs plain, the stream stops with the reason, then goes on. */
static void test_exec_and_multi_refused(void)
{
    setup();
    up.oom_execs = 1;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("x", 120);
    runnel_sync_stream_stats_t ss;
    CHECK(wait_stopped(3000, &ss));
    CHECK(strstr(ss.error, "OOM command not allowed") != NULL);
    CHECK(up_key(fx_s("x"), false) == NULL);   /* nothing of the batch ran */
    CHECK_EQ_U64(ss.forwarded, 0);
    CHECK(drain(20000));
    check_mirror("x", "", 0);
    up.refuse_multis = 1;
    produce("x", 60);
    CHECK(wait_stopped(3000, &ss));
    CHECK(strstr(ss.error, "upstream refused MULTI: NOPERM") != NULL);
    CHECK(drain(20000));
    check_mirror("x", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.forwarded, 180);
    CHECK_EQ_U64(up.refuse_multis, 0);
    CHECK(up.protocol_errors == 0);
}

static void test_bad_config(void)
{
    setup();
    runnel_sync_config_t c = scfg;
    c.net = NULL;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &c), RUNNEL_ERR_INVAL);
    c = scfg;
    c.tx_size = 100;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &c), RUNNEL_ERR_INVAL);
    c = scfg;
    c.port = 0;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &c), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(runnel_sync_poll(NULL, 1), RUNNEL_ERR_INVAL);
    /* A glob that matches nothing: nothing is forwarded. */
    c = scfg;
    c.match = "sensor:*";
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &c), 0);
    produce("other", 10);
    produce("sensor:1", 10);
    CHECK(drain(3000));
    CHECK(up_key(fx_s("other"), false) == NULL);
    check_mirror("sensor:1", "", 0);
}

TEST_MAIN(
    RUN(test_steady);
    RUN(test_faults);
    RUN(test_half_open);
    RUN(test_resume_from_upstream);
    RUN(test_skipped);
    RUN(test_dropped);
    RUN(test_dropped_after_forwarding);
    RUN(test_backlog_refuse);
    RUN(test_cursor_restored);
    RUN(test_committed_only);
    RUN(test_auth_and_select);
    RUN(test_error_reply);
    RUN(test_partial_refusal);
    RUN(test_refusals_mixed);
    RUN(test_exec_and_multi_refused);
    RUN(test_bad_config);
)
