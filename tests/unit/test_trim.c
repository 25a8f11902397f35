/*
 * test_trim.c - XTRIM and XADD trimming: exact vs `~`, MAXLEN vs MINID,
 * LIMIT and its default, and every example of reference section 4.
 */
#include "stream_fixture.h"

static fx_t F;

static runnel_trim_t trim_of(runnel_trim_strategy_t st, bool approx, uint64_t maxlen,
                             runnel_id_t minid, int64_t limit)
{
    runnel_trim_t t;
    memset(&t, 0, sizeof(t));
    t.strategy = st;
    t.approx = approx;
    t.maxlen = maxlen;
    t.minid = minid;
    t.limit = limit;
    return t;
}

static uint64_t xtrim(const char *key, runnel_trim_t t)
{
    uint64_t del = 999999;
    CHECK_EQ_INT(runnel_xtrim(F.r, fx_s(key), &t, &del), 0);
    return del;
}

/* node size 10, IDs 1..35 -> nodes [1-10][11-20][21-30][31-35] */
static void fresh35(void)
{
    uint64_t i;

    fx_setup(&F, 16, 4096, 32);
    F.cfg.node_max_entries = 10;
    CHECK_EQ_INT(fx_open(&F), 0);
    for (i = 1; i <= 35; i++)
        CHECK_EQ_INT(fx_add_id(&F, "s", i, 0), 1);
    CHECK_EQ_U64(fx_info(&F, "s").nodes, 4);
}

static void test_reference_examples(void)
{
    runnel_stream_info_t si;

    fresh35();
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 30, RUNNEL_ID_MIN, -1)), 0);
    CHECK_EQ_U64(fx_len(&F, "s"), 35);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 24, RUNNEL_ID_MIN, -1)), 10);
    CHECK_EQ_U64(fx_len(&F, "s"), 25);
    CHECK_EQ_U64(fx_info(&F, "s").nodes, 3);

    fresh35();
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 5, RUNNEL_ID_MIN, 10)), 10);
    CHECK_EQ_U64(fx_len(&F, "s"), 25);

    fresh35();
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MINID, true, 0, fx_id(15, 0), -1)), 10);
    si = fx_info(&F, "s");
    CHECK_ID(si.first_id, 11, 0);
    CHECK_ID(si.max_deleted, 0, 0);       /* trimming never sets it */

    fresh35();
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MINID, true, 0, fx_id(22, 0), 5)), 0);
    CHECK_EQ_U64(fx_len(&F, "s"), 35);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MINID, true, 0, fx_id(22, 0), 10)), 10);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MINID, true, 0, fx_id(22, 0), 10)), 10);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MINID, true, 0, fx_id(22, 0), 10)), 0);
    CHECK_EQ_U64(fx_len(&F, "s"), 15);
    CHECK_ID(fx_info(&F, "s").first_id, 21, 0);
    /* LIMIT 0 = unlimited */
    fresh35();
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MINID, true, 0, fx_id(22, 0), 0)), 20);
}

static void test_exact(void)
{
    runnel_stream_info_t si;

    fresh35();
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, false, 24, RUNNEL_ID_MIN, 0)), 11);
    si = fx_info(&F, "s");
    CHECK_EQ_U64(si.length, 24);
    CHECK_ID(si.first_id, 12, 0);
    CHECK_EQ_U64(si.nodes, 3);            /* 11 is marked deleted inside [11-20] */
    CHECK_ID(si.max_deleted, 0, 0);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 24);
    CHECK_ID(fx_col.ids[0], 12, 0);
    /* the marked entries still count toward the node's capacity: ~ now
     * sees node [11-20] with 9 live */
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 15, RUNNEL_ID_MIN, -1)), 9);
    CHECK_EQ_U64(fx_len(&F, "s"), 15);

    fresh35();
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MINID, false, 0, fx_id(22, 0), -1)), 21);
    si = fx_info(&F, "s");
    CHECK_ID(si.first_id, 22, 0);
    CHECK_EQ_U64(si.length, 14);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MINID, false, 0, fx_id(22, 0), -1)), 0);
    /* exact MAXLEN 0 empties the stream; the key stays */
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, false, 0, RUNNEL_ID_MIN, 0)), 14);
    si = fx_info(&F, "s");
    CHECK_EQ_U64(si.length, 0);
    CHECK_EQ_U64(si.nodes, 0);
    CHECK_ID(si.first_id, 0, 0);
    CHECK_ID(si.last_id, 35, 0);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("s")), 1);
    /* missing key */
    CHECK_EQ_U64(xtrim("nope", trim_of(RUNNEL_TRIM_MAXLEN, false, 0, RUNNEL_ID_MIN, 0)), 0);
}

/* TCL "XTRIM with MAXLEN option basic test" */
static void test_tcl_maxlen(void)
{
    uint64_t i;

    fx_setup(&F, 16, 4096, 64);
    CHECK_EQ_INT(fx_open(&F), 0);
    for (i = 0; i < 1000; i++) {
        runnel_id_t id;
        F.now = 1000 + i / 5;
        CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_AUTO, 0, 0, (i % 10) ? "xitem" : "yitem", "v",
                            &id), 1);
    }
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, false, 666, RUNNEL_ID_MIN, 0)), 334);
    CHECK_EQ_U64(fx_len(&F, "s"), 666);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, false, 555, RUNNEL_ID_MIN, 0)), 111);
    CHECK_EQ_U64(fx_len(&F, "s"), 555);
    xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 444, RUNNEL_ID_MIN, -1));
    CHECK_EQ_U64(fx_len(&F, "s"), 500);
    xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 400, RUNNEL_ID_MIN, -1));
    CHECK_EQ_U64(fx_len(&F, "s"), 400);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 400);
}

/* TCL "XADD with MAXLEN option and the '~' argument" */
static void test_xadd_trim(void)
{
    runnel_xadd_args_t a;
    runnel_str_t fv[2];
    runnel_id_t id;
    uint64_t i;

    fx_setup(&F, 16, 4096, 64);
    CHECK_EQ_INT(fx_open(&F), 0);
    memset(&a, 0, sizeof(a));
    a.key = fx_s("s");
    a.fv = fv;
    a.nfields = 1;
    a.trim = trim_of(RUNNEL_TRIM_MAXLEN, true, 555, RUNNEL_ID_MIN, -1);
    fv[1] = fx_s("v");
    for (i = 0; i < 1000; i++) {
        fv[0] = fx_s((i % 10) ? "xitem" : "yitem");
        CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 1);
    }
    CHECK_EQ_U64(fx_len(&F, "s"), 600);
    CHECK_EQ_U64(fx_info(&F, "s").entries_added, 1000);

    /* exact MAXLEN in XADD: the new entry counts */
    a.key = fx_s("e");
    a.trim = trim_of(RUNNEL_TRIM_MAXLEN, false, 3, RUNNEL_ID_MIN, -1);
    for (i = 0; i < 10; i++)
        CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 1);
    CHECK_EQ_U64(fx_len(&F, "e"), 3);
    CHECK_EQ_INT(fx_range(&F, "e", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 3);
    CHECK_ID(fx_col.ids[2], id.ms, id.seq);
    /* MAXLEN 0 creates an existing-but-empty stream */
    a.key = fx_s("z");
    a.trim = trim_of(RUNNEL_TRIM_MAXLEN, false, 0, RUNNEL_ID_MIN, -1);
    CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 1);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("z")), 1);
    CHECK_EQ_U64(fx_len(&F, "z"), 0);
    CHECK_EQ_U64(fx_info(&F, "z").entries_added, 1);
    /* MINID in XADD */
    a.key = fx_s("m");
    a.id_mode = RUNNEL_XADD_EXPLICIT;
    a.trim = trim_of(RUNNEL_TRIM_MINID, false, 0, fx_id(5, 0), -1);
    for (i = 1; i <= 8; i++) {
        a.id = fx_id(i, 0);
        CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 1);
    }
    CHECK_EQ_U64(fx_len(&F, "m"), 4);
    CHECK_ID(fx_info(&F, "m").first_id, 5, 0);
}

/* `~` without LIMIT is limited to 100 * node_max_entries removed entries */
static void test_default_limit(void)
{
    uint64_t i;

    fx_setup(&F, 16, 4096, 64);
    F.cfg.node_max_entries = 1;
    F.cfg.max_nodes = 400;
    CHECK_EQ_INT(fx_open(&F), 0);
    for (i = 1; i <= 300; i++)
        CHECK_EQ_INT(fx_add_id(&F, "s", i, 0), 1);
    CHECK_EQ_U64(fx_info(&F, "s").nodes, 300);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 0, RUNNEL_ID_MIN, -1)), 100);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 0, RUNNEL_ID_MIN, 150)), 150);
    /* exact trimming is never limited */
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, false, 0, RUNNEL_ID_MIN, 5)), 50);
    /* node_max_entries 0 -> limit 10000 */
    for (i = 301; i <= 450; i++)
        CHECK_EQ_INT(fx_add_id(&F, "s", i, 0), 1);
    CHECK_EQ_INT(runnel_set_node_limits(F.r, 0, 4096), 0);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, true, 0, RUNNEL_ID_MIN, -1)), 150);
}

/* Reads stay correct after trimming mixed with XDEL */
static void test_trim_then_read(void)
{
    runnel_id_t ids[3];
    uint64_t del;

    fresh35();
    ids[0] = fx_id(12, 0);
    ids[1] = fx_id(13, 0);
    CHECK_EQ_INT(runnel_xdel(F.r, fx_s("s"), ids, 2, &del), 0);
    CHECK_EQ_U64(xtrim("s", trim_of(RUNNEL_TRIM_MAXLEN, false, 20, RUNNEL_ID_MIN, 0)), 13);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 20);
    CHECK_ID(fx_col.ids[0], 16, 0);
    CHECK_ID(fx_info(&F, "s").first_id, 16, 0);
    CHECK_ID(fx_info(&F, "s").max_deleted, 13, 0);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, true), 20);
    CHECK_ID(fx_col.ids[19], 16, 0);
}

TEST_MAIN(
    RUN(test_reference_examples);
    RUN(test_exact);
    RUN(test_tcl_maxlen);
    RUN(test_xadd_trim);
    RUN(test_default_limit);
    RUN(test_trim_then_read);
)
