/*
 * test_keyspace.c - databases (SELECT), EXISTS/DEL/RENAME/DBSIZE/SCAN/FLUSH,
 * key-space events, commit policies, and the full-ring policies (REFUSE and
 * DROP_OLDEST) on a tiny ring.
 */
#include "stream_fixture.h"
#include "internal.h"

static fx_t F;

static void open_small(void)
{
    fx_setup(&F, 16, 4096, 16);
    F.cfg.databases = 16;
    CHECK_EQ_INT(fx_open(&F), 0);
}

static int count_keys(void *ctx, runnel_str_t key)
{
    (void)key;
    (*(unsigned *)ctx)++;
    return 0;
}

static void test_select(void)
{
    open_small();
    CHECK_EQ_INT(runnel_current_db(F.r), 0);
    CHECK_EQ_INT(fx_add_id(&F, "k", 1, 0), 1);
    CHECK_EQ_INT(runnel_select(F.r, 3), 0);
    CHECK_EQ_INT(runnel_current_db(F.r), 3);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("k")), 0);
    CHECK_EQ_U64(fx_len(&F, "k"), 0);
    CHECK_EQ_INT(fx_add_id(&F, "k", 1, 0), 1);        /* same name, other db */
    CHECK_EQ_INT(fx_add_id(&F, "k", 2, 0), 1);
    CHECK_EQ_U64(fx_len(&F, "k"), 2);
    CHECK_EQ_U64(runnel_dbsize(F.r), 1);
    CHECK_EQ_INT(runnel_select(F.r, 0), 0);
    CHECK_EQ_U64(fx_len(&F, "k"), 1);
    CHECK_EQ_INT(runnel_select(F.r, 16), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(runnel_current_db(F.r), 0);
}

static void test_del_rename(void)
{
    runnel_stream_info_t si;

    open_small();
    CHECK_EQ_INT(runnel_del(F.r, fx_s("nope")), 0);
    CHECK_EQ_INT(fx_add_id(&F, "a", 1, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "a", 2, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "b", 9, 0), 1);
    F.nevents = 0;
    CHECK_EQ_INT(runnel_rename(F.r, fx_s("a"), fx_s("c")), 0);
    CHECK_EQ_INT(F.nevents, 2);
    CHECK_EQ_INT(F.events[0].ev, RUNNEL_EV_DELETED);
    CHECK_STR(F.events[0].key, "a");
    CHECK_EQ_INT(F.events[1].ev, RUNNEL_EV_CREATED);
    CHECK_STR(F.events[1].key, "c");
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("a")), 0);
    CHECK_EQ_U64(fx_len(&F, "c"), 2);
    si = fx_info(&F, "c");
    CHECK_ID(si.last_id, 2, 0);
    /* entries still readable under the new name, appending continues */
    CHECK_EQ_INT(fx_add_id(&F, "c", 3, 0), 1);
    CHECK_EQ_INT(fx_range(&F, "c", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 3);
    /* rename over an existing key: target deleted first */
    F.nevents = 0;
    CHECK_EQ_INT(runnel_rename(F.r, fx_s("c"), fx_s("b")), 0);
    CHECK_EQ_INT(F.nevents, 3);
    CHECK_EQ_INT(F.events[0].ev, RUNNEL_EV_DELETED);
    CHECK_STR(F.events[0].key, "b");
    CHECK_EQ_U64(fx_len(&F, "b"), 3);
    CHECK_EQ_U64(runnel_dbsize(F.r), 1);
    CHECK_EQ_INT(runnel_rename(F.r, fx_s("zz"), fx_s("b")), RUNNEL_ERR_NO_SUCH_KEY);
    CHECK_EQ_INT(runnel_rename(F.r, fx_s("b"), fx_s("b")), 0);
    CHECK_EQ_U64(fx_len(&F, "b"), 3);
    /* DEL */
    F.nevents = 0;
    CHECK_EQ_INT(runnel_del(F.r, fx_s("b")), 1);
    CHECK_EQ_INT(F.nevents, 1);
    CHECK_EQ_INT(F.events[0].ev, RUNNEL_EV_DELETED);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("b")), 0);
    CHECK_EQ_INT(fx_range(&F, "b", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 0);
    /* recreated key starts from scratch */
    CHECK_EQ_INT(fx_add_id(&F, "b", 1, 0), 1);
    CHECK_EQ_U64(fx_info(&F, "b").entries_added, 1);
    CHECK_EQ_INT(fx_range(&F, "b", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 1);
}

static void test_scan_flush(void)
{
    char name[16];
    unsigned i, seen = 0, rounds = 0;
    uint64_t cursor = 0, next;

    fx_setup(&F, 16, 4096, 16);
    F.cfg.databases = 4;
    F.cfg.max_streams = 40;
    CHECK_EQ_INT(fx_open(&F), 0);
    for (i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "key:%u", i);
        CHECK_EQ_INT(fx_add_id(&F, name, 1, 0), 1);
    }
    CHECK_EQ_INT(runnel_select(F.r, 1), 0);
    CHECK_EQ_INT(fx_add_id(&F, "other", 1, 0), 1);
    CHECK_EQ_INT(runnel_select(F.r, 0), 0);
    CHECK_EQ_U64(runnel_dbsize(F.r), 25);
    do {
        CHECK_EQ_INT(runnel_scan(F.r, cursor, 7, &next, count_keys, &seen), 0);
        cursor = next;
        rounds++;
    } while (cursor != 0 && rounds < 100);
    CHECK_EQ_INT(seen, 25);
    CHECK_EQ_INT(rounds, 4);
    seen = 0;
    CHECK_EQ_INT(runnel_scan(F.r, 0, 0, &next, count_keys, &seen), 0);
    CHECK_EQ_INT(seen, 25);
    CHECK_EQ_U64(next, 0);
    /* delete and create while keys keep their slots */
    CHECK_EQ_INT(runnel_del(F.r, fx_s("key:3")), 1);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("key:4")), 1);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("key:3")), 0);
    /* FLUSHDB: only this database, an event per key */
    F.nevents = 0;
    CHECK_EQ_INT(runnel_flushdb(F.r), 0);
    CHECK_EQ_INT(F.nevents, 24);
    CHECK_EQ_INT(F.events[0].ev, RUNNEL_EV_DELETED);
    CHECK_EQ_U64(runnel_dbsize(F.r), 0);
    CHECK_EQ_INT(runnel_select(F.r, 1), 0);
    CHECK_EQ_U64(runnel_dbsize(F.r), 1);
    CHECK_EQ_INT(runnel_flushall(F.r), 0);
    CHECK_EQ_U64(runnel_dbsize(F.r), 0);
    {
        runnel_stats_t st;
        runnel_stats(F.r, &st);
        CHECK_EQ_INT(st.streams_used, 0);
        CHECK_EQ_INT(st.nodes_used, 0);
    }
    /* many create/delete cycles exercise hash tombstones */
    for (i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "t%u", i);
        CHECK_EQ_INT(fx_add_id(&F, name, 1, 0), 1);
        if (i % 50 == 7)
            continue;
        CHECK_EQ_INT(runnel_del(F.r, fx_s(name)), 1);
    }
    CHECK_EQ_U64(runnel_dbsize(F.r), 10);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("t457")), 1);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("t458")), 0);
}

static void test_events(void)
{
    runnel_id_t id;
    uint32_t sidx;

    open_small();
    F.nevents = 0;
    CHECK_EQ_INT(fx_add(&F, "e", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_EQ_INT(F.nevents, 2);
    CHECK_EQ_INT(F.events[0].ev, RUNNEL_EV_CREATED);
    CHECK_EQ_INT(F.events[1].ev, RUNNEL_EV_XADD);
    CHECK_STR(F.events[1].key, "e");
    CHECK_EQ_INT(fx_add(&F, "e", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_EQ_INT(F.nevents, 3);
    CHECK_EQ_INT(F.events[2].ev, RUNNEL_EV_XADD);
    /* failed XADD: no event */
    CHECK_EQ_INT(fx_add_id(&F, "e", 1, 0), RUNNEL_ERR_XADD_ID_SMALL);
    CHECK_EQ_INT(F.nevents, 3);
    /* MKSTREAM path (group half's runnel__create_stream) in db 2 */
    CHECK_EQ_INT(runnel_select(F.r, 2), 0);
    CHECK_EQ_INT(runnel__create_stream(F.r, fx_s("mk"), &sidx), 0);
    CHECK_EQ_INT(F.nevents, 4);
    CHECK_EQ_INT(F.events[3].ev, RUNNEL_EV_CREATED);
    CHECK_EQ_INT(F.events[3].db, 2);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("mk")), 1);
    CHECK_EQ_U64(fx_info(&F, "mk").length, 0);
}

/* Commit policies: what reaches the device when. */
static void test_commit_policy(void)
{
    runnel_stats_t st;
    uint64_t c0;

    fx_setup(&F, 16, 4096, 16);
    F.cfg.commit_policy = RUNNEL_COMMIT_ALWAYS;
    CHECK_EQ_INT(fx_open(&F), 0);
    runnel_stats(F.r, &st);
    c0 = st.commits;
    CHECK_EQ_INT(fx_add_id(&F, "s", 1, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "s", 2, 0), 1);
    runnel_stats(F.r, &st);
    CHECK_EQ_U64(st.commits - c0, 2);

    fx_setup(&F, 16, 4096, 16);
    F.cfg.commit_policy = RUNNEL_COMMIT_INTERVAL;
    F.cfg.commit_interval_ms = 100;
    CHECK_EQ_INT(fx_open(&F), 0);
    runnel_stats(F.r, &st);
    c0 = st.commits;
    CHECK_EQ_INT(fx_add_id(&F, "s", 1, 0), 1);
    CHECK_EQ_INT(runnel_poll(F.r), 0);
    runnel_stats(F.r, &st);
    CHECK_EQ_U64(st.commits - c0, 0);
    F.now += 100;
    CHECK_EQ_INT(runnel_poll(F.r), 0);
    runnel_stats(F.r, &st);
    CHECK_EQ_U64(st.commits - c0, 1);
    CHECK_EQ_INT(runnel_poll(F.r), 0);      /* nothing new: no commit */
    runnel_stats(F.r, &st);
    CHECK_EQ_U64(st.commits - c0, 1);
    F.now += 150;
    CHECK_EQ_INT(fx_add_id(&F, "s", 2, 0), 1);  /* due: committed by the mutation */
    runnel_stats(F.r, &st);
    CHECK_EQ_U64(st.commits - c0, 2);

    fx_setup(&F, 16, 4096, 16);
    F.cfg.commit_policy = RUNNEL_COMMIT_NONE;
    CHECK_EQ_INT(fx_open(&F), 0);
    runnel_stats(F.r, &st);
    c0 = st.commits;
    CHECK_EQ_INT(fx_add_id(&F, "s", 1, 0), 1);
    F.now += 100000;
    CHECK_EQ_INT(runnel_poll(F.r), 0);
    runnel_stats(F.r, &st);
    CHECK_EQ_U64(st.commits - c0, 0);
    CHECK_EQ_INT(runnel_commit(F.r), 0);
    runnel_stats(F.r, &st);
    CHECK_EQ_U64(st.commits - c0, 1);
}

static int fill(const char *key, uint64_t *ms, int max)
{
    char val[200];
    int n = 0, rc = 1;

    memset(val, 'p', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    while (n < max) {
        runnel_id_t id;
        rc = fx_add(&F, key, RUNNEL_XADD_EXPLICIT, *ms, 0, "f", val, &id);
        if (rc != 1)
            break;
        (*ms)++;
        n++;
    }
    return rc == 1 ? n : rc;
}

static void test_ring_refuse(void)
{
    runnel_stream_info_t before, after;
    runnel_trim_t t;
    uint64_t ms = 1, del;
    int rc;

    fx_setup(&F, 16, 4096, 6);
    F.cfg.full_policy = RUNNEL_FULL_REFUSE;
    F.cfg.node_max_entries = 10;
    CHECK_EQ_INT(fx_open(&F), 0);
    rc = fill("s", &ms, 100000);
    CHECK_EQ_INT(rc, RUNNEL_ERR_NOSPC);
    before = fx_info(&F, "s");
    printf("    REFUSE: %lu entries stored before the ring was full\n",
           (unsigned long)before.length);
    CHECK(before.length > 60);
    /* the failed XADD left the stream untouched; so does every retry */
    CHECK_EQ_INT(fill("s", &ms, 1), RUNNEL_ERR_NOSPC);
    CHECK_EQ_INT(fill("new", &ms, 1), RUNNEL_ERR_NOSPC);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("new")), 0);
    after = fx_info(&F, "s");
    CHECK_EQ_U64(after.length, before.length);
    CHECK_EQ_U64(after.entries_added, before.entries_added);
    CHECK_ID(after.last_id, before.last_id.ms, before.last_id.seq);
    CHECK_EQ_U64(after.nodes, before.nodes);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false),
                 (int)before.length);
    CHECK_EQ_U64(after.dropped, 0);
    /* trimming frees the ring again (its own record may use reclaimed space) */
    memset(&t, 0, sizeof(t));
    t.strategy = RUNNEL_TRIM_MAXLEN;
    t.maxlen = 10;
    CHECK_EQ_INT(runnel_xtrim(F.r, fx_s("s"), &t, &del), 0);
    CHECK_EQ_U64(del, before.length - 10);
    rc = fill("s", &ms, 40);
    CHECK_EQ_INT(rc, 40);
    CHECK_EQ_U64(fx_len(&F, "s"), 50);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 50);
    CHECK_EQ_U64(F.rb.prog_violations, 0);
    /* fill again, then DEL frees everything */
    CHECK_EQ_INT(fill("s", &ms, 100000), RUNNEL_ERR_NOSPC);
    CHECK_EQ_INT(runnel_del(F.r, fx_s("s")), 1);
    CHECK_EQ_INT(fill("s", &ms, 60), 60);
}

static void test_ring_drop_oldest(void)
{
    runnel_stats_t st;
    runnel_stream_info_t si, so;
    uint64_t ms = 1, total = 0, i;

    fx_setup(&F, 16, 4096, 6);
    F.cfg.full_policy = RUNNEL_FULL_DROP_OLDEST;
    F.cfg.node_max_entries = 10;
    CHECK_EQ_INT(fx_open(&F), 0);
    /* two streams alternate so both lose their oldest nodes */
    for (i = 0; i < 400; i++) {
        uint64_t m = ms;
        CHECK_EQ_INT(fill((i % 2) ? "b" : "a", &m, 1), 1);
        if (i % 2)
            ms++;
        total++;
    }
    runnel_stats(F.r, &st);
    si = fx_info(&F, "a");
    so = fx_info(&F, "b");
    printf("    DROP_OLDEST: 400 added, a keeps %lu (dropped %lu), b keeps %lu (dropped %lu)\n",
           (unsigned long)si.length, (unsigned long)si.dropped, (unsigned long)so.length,
           (unsigned long)so.dropped);
    CHECK(si.dropped > 0 && so.dropped > 0);
    CHECK_EQ_U64(si.length + si.dropped, 200);
    CHECK_EQ_U64(so.length + so.dropped, 200);
    CHECK_EQ_U64(st.dropped_entries, si.dropped + so.dropped);
    CHECK_EQ_U64(si.entries_added, 200);
    CHECK_ID(si.last_id, 200, 0);
    /* the survivors are the newest, contiguous, and first_id follows */
    CHECK_EQ_INT(fx_range(&F, "a", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), (int)si.length);
    CHECK_ID(fx_col.ids[0], 200 - si.length + 1, 0);
    CHECK_ID(si.first_id, 200 - si.length + 1, 0);
    CHECK_EQ_INT(fx_range(&F, "b", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, true), (int)so.length);
    CHECK_ID(fx_col.ids[0], 200, 0);
    CHECK_EQ_U64(F.rb.prog_violations, 0);
    CHECK(st.blocks_used <= 6);
    (void)total;
}

TEST_MAIN(
    RUN(test_select);
    RUN(test_del_rename);
    RUN(test_scan_flush);
    RUN(test_events);
    RUN(test_commit_policy);
    RUN(test_ring_refuse);
    RUN(test_ring_drop_oldest);
)
