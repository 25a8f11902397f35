/*
 * test_stream.c - the stream half: XADD ID rules, reads, XDEL, XSETID,
 * XREAD, the node model, many geometries, pools and size limits
 * (reference sections 1-3, 5, 6, 9).
 */
#include "stream_fixture.h"
#include "internal.h"

static fx_t F;

static void open_default(void)
{
    fx_setup(&F, 16, 4096, 64);
    CHECK_EQ_INT(fx_open(&F), 0);
}

static void test_xadd_basic(void)
{
    runnel_id_t id;
    runnel_xadd_args_t a;
    runnel_str_t fv[4];

    open_default();
    F.now = 5000;
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_AUTO, 0, 0, "temp", "21.5", &id), 1);
    CHECK_ID(id, 5000, 0);
    memset(&a, 0, sizeof(a));
    a.key = fx_s("s");
    fv[0] = fx_s("a");
    fv[1] = fx_s("");
    fv[2] = fx_s("a");
    fv[3] = fx_s("dup");
    a.fv = fv;
    a.nfields = 2;
    CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 1);
    CHECK_ID(id, 5000, 1);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 2);
    CHECK_STR(fx_col.text[0], "temp=21.5;");
    CHECK_STR(fx_col.text[1], "a=;a=dup;");
    CHECK_EQ_U64(fx_len(&F, "s"), 2);
    CHECK_EQ_U64(fx_len(&F, "missing"), 0);
    CHECK_EQ_INT(fx_range(&F, "missing", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 0);
}

static void test_id_modes(void)
{
    runnel_id_t id;

    open_default();
    F.now = 100;
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_ID(id, 100, 0);
    /* clock stands still */
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_ID(id, 100, 1);
    /* clock goes backwards */
    F.now = 50;
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_ID(id, 100, 2);
    /* explicit future ID, then auto continues from it */
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_EXPLICIT, 99999999999999ull, 0, "f", "v", &id), 1);
    F.now = 200;
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_ID(id, 99999999999999ull, 1);
    /* <ms>-* */
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_SEQ_AUTO, 99999999999999ull, 0, "f", "v", &id), 1);
    CHECK_ID(id, 99999999999999ull, 2);
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_SEQ_AUTO, 5, 0, "f", "v", &id),
                 RUNNEL_ERR_XADD_ID_SMALL);
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_SEQ_AUTO, 199999999999999ull, 0, "f", "v", &id), 1);
    CHECK_ID(id, 199999999999999ull, 0);
    /* 0-* on an empty stream -> 0-1 */
    CHECK_EQ_INT(fx_add(&F, "z", RUNNEL_XADD_SEQ_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_ID(id, 0, 1);
    /* equal or smaller */
    CHECK_EQ_INT(fx_add(&F, "z", RUNNEL_XADD_EXPLICIT, 0, 1, "f", "v", &id),
                 RUNNEL_ERR_XADD_ID_SMALL);
    CHECK_EQ_U64(fx_len(&F, "z"), 1);
    /* a clock at 0 on a new stream still gives 0-1 (0-0 is never allowed) */
    F.now = 0;
    CHECK_EQ_INT(fx_add(&F, "c0", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_ID(id, 0, 1);
}

static void test_id_errors(void)
{
    runnel_id_t id;
    runnel_xsetid_args_t xs;
    runnel_xadd_args_t a;
    runnel_str_t fv[2];

    open_default();
    /* explicit 0-0: error and no key created */
    CHECK_EQ_INT(fx_add(&F, "s", RUNNEL_XADD_EXPLICIT, 0, 0, "f", "v", &id),
                 RUNNEL_ERR_XADD_ID_ZERO);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("s")), 0);
    /* NOMKSTREAM on a missing key: 0, nothing created */
    memset(&a, 0, sizeof(a));
    a.key = fx_s("s");
    a.nomkstream = true;
    fv[0] = fx_s("f");
    fv[1] = fx_s("v");
    a.fv = fv;
    a.nfields = 1;
    CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 0);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("s")), 0);
    CHECK_EQ_INT(fx_add_id(&F, "s", 5, 5), 1);
    CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 1);   /* NOMKSTREAM on existing key */
    CHECK_ID(id, 1000, 0);

    /* <ms>-* with last.seq = max: the 7.0.15 stale-errno error */
    CHECK_EQ_INT(fx_add_id(&F, "q", 7, UINT64_MAX), 1);
    CHECK_EQ_INT(fx_add(&F, "q", RUNNEL_XADD_SEQ_AUTO, 7, 0, "f", "v", &id),
                 RUNNEL_ERR_ELEMENTS_TOO_LARGE);
    /* auto after x-max carries into ms */
    F.now = 1;
    CHECK_EQ_INT(fx_add(&F, "q", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_ID(id, 8, 0);

    /* exhausted: last_id = max, checked before the monotonic check */
    memset(&xs, 0, sizeof(xs));
    xs.key = fx_s("q");
    xs.last_id = RUNNEL_ID_MAX;
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), 0);
    CHECK_EQ_INT(fx_add(&F, "q", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id),
                 RUNNEL_ERR_ID_EXHAUSTED);
    CHECK_EQ_INT(fx_add_id(&F, "q", 1, 1), RUNNEL_ERR_ID_EXHAUSTED);
    CHECK_EQ_INT(fx_add(&F, "q", RUNNEL_XADD_EXPLICIT, 0, 0, "f", "v", &id),
                 RUNNEL_ERR_XADD_ID_ZERO);
}

static void test_ranges(void)
{
    uint64_t i;
    runnel_id_t a, b;

    open_default();
    for (i = 1; i <= 250; i++)
        CHECK_EQ_INT(fx_add_id(&F, "s", i, i % 3), 1);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 250);
    for (i = 0; i < 250; i++) {
        if (fx_col.ids[i].ms != i + 1 || fx_col.ids[i].seq != (i + 1) % 3) {
            CHECK(!"ascending order");
            break;
        }
    }
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, true), 250);
    CHECK_ID(fx_col.ids[0], 250, 1);
    CHECK_ID(fx_col.ids[249], 1, 1);
    /* COUNT */
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, 7, false), 7);
    CHECK_ID(fx_col.ids[6], 7, 1);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, 0, false), 0);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, 3, true), 3);
    CHECK_ID(fx_col.ids[2], 248, 2);
    /* XRANGE s 99 201: missing seq defaults */
    CHECK_EQ_INT(runnel_id_parse_start("99", 2, &a), 0);
    CHECK_EQ_INT(runnel_id_parse_end("201", 3, &b), 0);
    CHECK_EQ_INT(fx_range(&F, "s", a, b, -1, false), 103);
    CHECK_ID(fx_col.ids[0], 99, 0);
    CHECK_ID(fx_col.ids[102], 201, 0);
    /* exclusive bounds across node boundaries (node size 100) */
    CHECK_EQ_INT(runnel_id_parse_start("(100-1", 6, &a), 0);
    CHECK_EQ_INT(runnel_id_parse_end("(201-0", 6, &b), 0);
    CHECK_EQ_INT(fx_range(&F, "s", a, b, -1, false), 100);
    CHECK_ID(fx_col.ids[0], 101, 2);
    CHECK_ID(fx_col.ids[99], 200, 2);
    CHECK_EQ_INT(fx_range(&F, "s", a, b, -1, true), 100);
    CHECK_ID(fx_col.ids[0], 200, 2);
    /* start > end */
    CHECK_EQ_INT(fx_range(&F, "s", fx_id(5, 0), fx_id(4, 0), -1, false), 0);
    /* a callback error stops the read and is returned */
    fx_reset_col();
    fx_col.stop_after = 3;
    CHECK_EQ_INT(runnel_xrange(F.r, fx_s("s"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                               fx_collect_fn, &fx_col),
                 -1234);
    CHECK_EQ_INT(fx_col.n, 3);
}

static void test_xdel(void)
{
    uint64_t i, del;
    runnel_id_t ids[4];
    runnel_stream_info_t si;

    open_default();
    for (i = 1; i <= 5; i++)
        CHECK_EQ_INT(fx_add_id(&F, "s", i, 0), 1);
    ids[0] = fx_id(3, 0);
    ids[1] = fx_id(3, 0);
    ids[2] = fx_id(9, 0);
    CHECK_EQ_INT(runnel_xdel(F.r, fx_s("s"), ids, 3, &del), 0);
    CHECK_EQ_U64(del, 1);
    si = fx_info(&F, "s");
    CHECK_EQ_U64(si.length, 4);
    CHECK_ID(si.max_deleted, 3, 0);
    CHECK_ID(si.first_id, 1, 0);
    /* delete the first entry: first_id moves */
    ids[0] = fx_id(1, 0);
    CHECK_EQ_INT(runnel_xdel(F.r, fx_s("s"), ids, 1, &del), 0);
    CHECK_EQ_U64(del, 1);
    si = fx_info(&F, "s");
    CHECK_ID(si.first_id, 2, 0);
    CHECK_ID(si.max_deleted, 3, 0);   /* max, not last */
    /* delete everything: key stays, last_id survives, node removed */
    ids[0] = fx_id(2, 0);
    ids[1] = fx_id(4, 0);
    ids[2] = fx_id(5, 0);
    CHECK_EQ_INT(runnel_xdel(F.r, fx_s("s"), ids, 3, &del), 0);
    CHECK_EQ_U64(del, 3);
    si = fx_info(&F, "s");
    CHECK_EQ_U64(si.length, 0);
    CHECK_EQ_U64(si.nodes, 0);
    CHECK_ID(si.first_id, 0, 0);
    CHECK_ID(si.last_id, 5, 0);
    CHECK_ID(si.max_deleted, 5, 0);
    CHECK_EQ_U64(si.entries_added, 5);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("s")), 1);
    CHECK_EQ_INT(fx_add_id(&F, "s", 5, 0), RUNNEL_ERR_XADD_ID_SMALL);
    CHECK_EQ_INT(fx_add_id(&F, "s", 6, 0), 1);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 1);
    CHECK_ID(fx_col.ids[0], 6, 0);
    /* missing key */
    CHECK_EQ_INT(runnel_xdel(F.r, fx_s("nope"), ids, 1, &del), 0);
    CHECK_EQ_U64(del, 0);

    /* a node whose last live entry goes is removed; the others stay */
    open_default();
    for (i = 1; i <= 300; i++)
        CHECK_EQ_INT(fx_add_id(&F, "s", i, 0), 1);
    CHECK_EQ_U64(fx_info(&F, "s").nodes, 3);
    for (i = 101; i <= 200; i++) {
        ids[0] = fx_id(i, 0);
        CHECK_EQ_INT(runnel_xdel(F.r, fx_s("s"), ids, 1, &del), 0);
    }
    si = fx_info(&F, "s");
    CHECK_EQ_U64(si.nodes, 2);
    CHECK_EQ_U64(si.length, 200);
    CHECK_EQ_INT(fx_range(&F, "s", fx_id(50, 0), fx_id(250, 0), -1, false), 101);
    CHECK_ID(fx_col.ids[50], 100, 0);
    CHECK_ID(fx_col.ids[51], 201, 0);
    CHECK_EQ_INT(fx_range(&F, "s", fx_id(50, 0), fx_id(250, 0), -1, true), 101);
    CHECK_ID(fx_col.ids[50], 100, 0);
    /* deleting the tail node's entries then adding again */
    for (i = 201; i <= 300; i++) {
        ids[0] = fx_id(i, 0);
        CHECK_EQ_INT(runnel_xdel(F.r, fx_s("s"), ids, 1, &del), 0);
    }
    CHECK_EQ_U64(fx_info(&F, "s").nodes, 1);
    CHECK_EQ_INT(fx_add_id(&F, "s", 301, 0), 1);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 101);
    CHECK_ID(fx_col.ids[100], 301, 0);
    CHECK_ID(fx_col.ids[99], 100, 0);
}

static void test_xsetid(void)
{
    runnel_xsetid_args_t xs;
    runnel_id_t ids[2];
    runnel_stream_info_t si;
    uint64_t del;

    open_default();
    memset(&xs, 0, sizeof(xs));
    xs.key = fx_s("s");
    xs.last_id = fx_id(5, 0);
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), RUNNEL_ERR_NO_SUCH_KEY);
    /* MAXDELETEDID > last id: checked before the key */
    xs.has_max_deleted = true;
    xs.max_deleted = fx_id(6, 0);
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), RUNNEL_ERR_XSETID_MAXDELETED);
    xs.has_max_deleted = false;

    CHECK_EQ_INT(fx_add_id(&F, "s", 1, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "s", 2, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "s", 3, 0), 1);
    xs.last_id = fx_id(2, 5);
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), RUNNEL_ERR_XSETID_SMALL);
    xs.last_id = fx_id(10, 0);
    xs.has_entries_added = true;
    xs.entries_added = 2;
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), RUNNEL_ERR_XSETID_ENTRIES_ADDED);
    xs.entries_added = 100;
    xs.has_max_deleted = true;
    xs.max_deleted = fx_id(0, 0);     /* 0-0 leaves max_deleted alone */
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), 0);
    si = fx_info(&F, "s");
    CHECK_ID(si.last_id, 10, 0);
    CHECK_EQ_U64(si.entries_added, 100);
    CHECK_ID(si.max_deleted, 0, 0);
    xs.max_deleted = fx_id(7, 7);
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), 0);
    CHECK_ID(fx_info(&F, "s").max_deleted, 7, 7);

    /* going below the previous last_id once the newest entries are gone */
    ids[0] = fx_id(3, 0);
    CHECK_EQ_INT(runnel_xdel(F.r, fx_s("s"), ids, 1, &del), 0);
    memset(&xs, 0, sizeof(xs));
    xs.key = fx_s("s");
    xs.last_id = fx_id(2, 0);
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), 0);
    CHECK_ID(fx_info(&F, "s").last_id, 2, 0);
    CHECK_EQ_INT(fx_add_id(&F, "s", 2, 1), 1);   /* reuses smaller IDs */
    CHECK_EQ_INT(fx_add_id(&F, "s", 3, 0), 1);   /* even the deleted one's */
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 4);
    CHECK_ID(fx_col.ids[2], 2, 1);
    CHECK_ID(fx_col.ids[3], 3, 0);
    CHECK_EQ_INT(fx_range(&F, "s", fx_id(0, 0), fx_id(3, 0), -1, true), 4);
    CHECK_ID(fx_col.ids[0], 3, 0);
    CHECK_EQ_INT(fx_range(&F, "s", fx_id(2, 1), fx_id(2, 1), -1, false), 1);

    /* empty stream: any id */
    memset(&xs, 0, sizeof(xs));
    open_default();
    CHECK_EQ_INT(fx_add_id(&F, "e", 50, 0), 1);
    ids[0] = fx_id(50, 0);
    CHECK_EQ_INT(runnel_xdel(F.r, fx_s("e"), ids, 1, &del), 0);
    xs.key = fx_s("e");
    xs.last_id = fx_id(1, 0);
    CHECK_EQ_INT(runnel_xsetid(F.r, &xs), 0);
    CHECK_EQ_INT(fx_add_id(&F, "e", 1, 1), 1);
}

/* last_valid_id (what XREAD/XREADGROUP serve against) follows XDEL/XTRIM */
static void test_last_valid(void)
{
    runnel__stream_state_t st;
    runnel_id_t ids[2];
    runnel_trim_t t;
    uint32_t sidx;
    uint64_t del, i;

    open_default();
    for (i = 1; i <= 150; i++)
        CHECK_EQ_INT(fx_add_id(&F, "s", i, 0), 1);
    CHECK_EQ_INT(runnel__lookup(F.r, fx_s("s"), &sidx), 0);
    runnel__stream_state(F.r, sidx, &st);
    CHECK_ID(st.last_valid_id, 150, 0);
    CHECK_ID(st.first_id, 1, 0);
    CHECK_EQ_U64(st.length, 150);
    ids[0] = fx_id(150, 0);
    ids[1] = fx_id(149, 0);
    CHECK_EQ_INT(runnel_xdel(F.r, fx_s("s"), ids, 2, &del), 0);
    runnel__stream_state(F.r, sidx, &st);
    CHECK_ID(st.last_valid_id, 148, 0);
    CHECK_ID(st.last_id, 150, 0);
    CHECK_EQ_INT(runnel__entry_get(F.r, sidx, fx_id(149, 0), NULL, NULL), 0);
    CHECK_EQ_INT(runnel__entry_get(F.r, sidx, fx_id(148, 0), NULL, NULL), 1);
    fx_reset_col();
    CHECK_EQ_INT(runnel__entry_get(F.r, sidx, fx_id(7, 0), fx_collect_fn, &fx_col), 1);
    CHECK_ID(fx_col.ids[0], 7, 0);
    CHECK_STR(fx_col.text[0], "f=v;");
    memset(&t, 0, sizeof(t));
    t.strategy = RUNNEL_TRIM_MAXLEN;
    CHECK_EQ_INT(runnel_xtrim(F.r, fx_s("s"), &t, &del), 0);
    CHECK_EQ_U64(del, 148);
    runnel__stream_state(F.r, sidx, &st);
    CHECK_ID(st.last_valid_id, 0, 0);
    CHECK_ID(st.first_id, 0, 0);
    CHECK_EQ_INT(fx_add_id(&F, "s", 151, 0), 1);
    runnel__stream_state(F.r, sidx, &st);
    CHECK_ID(st.last_valid_id, 151, 0);
    CHECK_ID(st.first_id, 151, 0);
}

static void test_xread(void)
{
    fx_collect_t *c;

    open_default();
    CHECK_EQ_INT(fx_add_id(&F, "s", 1, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "s", 2, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "s", 3, 0), 1);
    c = fx_reset_col();
    CHECK_EQ_INT(runnel_xread(F.r, fx_s("s"), fx_id(1, 0), 0, fx_collect_fn, c), 2);
    CHECK_ID(c->ids[0], 2, 0);
    c = fx_reset_col();
    CHECK_EQ_INT(runnel_xread(F.r, fx_s("s"), fx_id(0, 0), 1, fx_collect_fn, c), 1);
    CHECK_ID(c->ids[0], 1, 0);
    c = fx_reset_col();
    CHECK_EQ_INT(runnel_xread(F.r, fx_s("s"), fx_id(3, 0), -1, fx_collect_fn, c), 0);
    CHECK_EQ_INT(runnel_xread(F.r, fx_s("s"), RUNNEL_ID_MAX, -1, fx_collect_fn, c), 0);
    CHECK_EQ_INT(runnel_xread(F.r, fx_s("x"), fx_id(0, 0), -1, fx_collect_fn, c), 0);
    CHECK_EQ_INT(c->n, 0);
}

/* radix-tree-keys grows as Redis's: 100 entries per node, and the byte rule */
static void test_node_counts(void)
{
    uint64_t i;
    runnel_id_t id;
    char big[1100];

    open_default();
    for (i = 1; i <= 1000; i++) {
        CHECK_EQ_INT(fx_add_id(&F, "s", i, 0), 1);
        if (i == 100)
            CHECK_EQ_U64(fx_info(&F, "s").nodes, 1);
        if (i == 101)
            CHECK_EQ_U64(fx_info(&F, "s").nodes, 2);
    }
    CHECK_EQ_U64(fx_info(&F, "s").nodes, 10);
    CHECK_EQ_INT(runnel_set_node_limits(F.r, 10, 4096), 0);
    CHECK_EQ_INT(fx_add_id(&F, "s", 1001, 0), 1);   /* tail holds 100 >= 10 */
    CHECK_EQ_U64(fx_info(&F, "s").nodes, 11);
    CHECK_EQ_INT(runnel_set_node_limits(F.r, 100000, 4096), RUNNEL_ERR_INVAL);

    /* byte rule: "f" + 1000-byte values, 4096 max bytes. Redis's listpack:
     * 18 bytes (header, EOF, master) + 1012 per entry; before the 4th entry
     * 3054 + 1001 < 4096 so it joins, before the 5th 4066 + 1001 >= 4096:
     * 4 entries per node. */
    open_default();
    memset(big, 'x', 1000);
    big[1000] = '\0';
    for (i = 1; i <= 12; i++)
        CHECK_EQ_INT(fx_add(&F, "b", RUNNEL_XADD_EXPLICIT, i, 0, "f", big, &id), 1);
    CHECK_EQ_U64(fx_info(&F, "b").nodes, 3);
    CHECK_EQ_INT(fx_add(&F, "b", RUNNEL_XADD_EXPLICIT, 13, 0, "f", big, &id), 1);
    CHECK_EQ_U64(fx_info(&F, "b").nodes, 4);
    /* 700-byte values: 712-byte entries; the 6th would see
     * 18 + 5*712 + 701 >= 4096: 5 entries per node */
    big[700] = '\0';
    for (i = 1; i <= 10; i++)
        CHECK_EQ_INT(fx_add(&F, "c", RUNNEL_XADD_EXPLICIT, i, 0, "f", big, &id), 1);
    CHECK_EQ_U64(fx_info(&F, "c").nodes, 2);
    /* node_max_entries 0 = no count limit (the bitmap cap applies) */
    open_default();
    CHECK_EQ_INT(runnel_set_node_limits(F.r, 0, 1u << 20), 0);
    for (i = 1; i <= 300; i++)
        CHECK_EQ_INT(fx_add_id(&F, "n", i, 0), 1);
    CHECK_EQ_U64(fx_info(&F, "n").nodes, 3);   /* cap 128: 128+128+44 */
    CHECK_EQ_INT(fx_range(&F, "n", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, true), 300);
}

/* Streams interleaved in the log: each read sees only its own entries and
 * does not read the other stream's payloads. */
static void test_interleaved(void)
{
    uint64_t i, before, cost;
    char big[600];

    fx_setup(&F, 16, 4096, 120);
    CHECK_EQ_INT(fx_open(&F), 0);
    memset(big, 'B', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (i = 1; i <= 400; i++) {
        runnel_id_t id;
        CHECK_EQ_INT(fx_add(&F, "small", RUNNEL_XADD_EXPLICIT, i, 0, "k", "v", &id), 1);
        CHECK_EQ_INT(fx_add(&F, "big", RUNNEL_XADD_EXPLICIT, i, 0, "k", big, &id), 1);
    }
    CHECK_EQ_INT(runnel_commit(F.r), 0);
    before = F.rb.bytes_read;
    CHECK_EQ_INT(fx_range(&F, "small", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 400);
    cost = F.rb.bytes_read - before;
    /* 400 * 600 bytes of the other stream's payload lie in between */
    CHECK(cost < 800u * 80u);   /* headers only: each big record is 600+ bytes */
    printf("    read 400 small entries interleaved with 240000 payload bytes: %lu bytes read\n",
           (unsigned long)cost);
    for (i = 0; i < 400; i++)
        if (fx_col.ids[i].ms != i + 1) {
            CHECK(!"interleaved ids");
            break;
        }
    /* a range from the middle touches only its nodes */
    before = F.rb.bytes_read;
    CHECK_EQ_INT(fx_range(&F, "small", fx_id(350, 0), fx_id(352, 0), -1, false), 3);
    cost = F.rb.bytes_read - before;
    CHECK(cost < 40000u);
    CHECK_EQ_INT(fx_range(&F, "big", fx_id(399, 0), RUNNEL_ID_MAX, -1, false), 2);
    CHECK_EQ_U64(F.rb.prog_violations, 0);
}

/* The same workload over several geometries, read back exactly. */
static void test_geometries(void)
{
    static const uint32_t geo[][3] = {
        {1, 4096, 32}, {16, 4096, 32}, {256, 4096, 32}, {1, 65536, 6}, {16, 65536, 6},
        {256, 65536, 6}};
    unsigned g;

    for (g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
        uint64_t i;
        char val[40];
        bool ok = true;

        fx_setup(&F, geo[g][0], geo[g][1], geo[g][2]);
        F.cfg.commit_policy = (runnel_commit_policy_t)(g % 3);
        CHECK_EQ_INT(fx_open(&F), 0);
        for (i = 1; i <= 1500; i++) {
            runnel_id_t id;
            snprintf(val, sizeof(val), "value-%lu", (unsigned long)i);
            F.now = 1000 + i / 3;
            if (fx_add(&F, (i % 2) ? "odd" : "even", RUNNEL_XADD_AUTO, 0, 0, "n", val, &id) != 1)
                ok = false;
        }
        CHECK(ok);
        CHECK_EQ_U64(fx_len(&F, "odd"), 750);
        CHECK_EQ_INT(fx_range(&F, "even", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 750);
        CHECK_STR(fx_col.text[0], "n=value-2;");
        CHECK_STR(fx_col.text[63], "n=value-128;");
        CHECK_EQ_INT(fx_range(&F, "odd", RUNNEL_ID_MIN, RUNNEL_ID_MAX, 64, true), 64);
        CHECK_STR(fx_col.text[0], "n=value-1499;");
        CHECK_EQ_U64(F.rb.prog_violations, 0);
        CHECK_EQ_U64(F.rb.rejected_calls, 0);
    }
}

static void test_pools(void)
{
    runnel_id_t id;
    runnel_stats_t st;
    uint64_t i;

    fx_setup(&F, 16, 4096, 16);
    F.cfg.max_streams = 3;
    F.cfg.max_nodes = 4;
    F.cfg.node_max_entries = 10;
    CHECK_EQ_INT(fx_open(&F), 0);
    CHECK_EQ_INT(fx_add_id(&F, "a", 1, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "b", 1, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "c", 1, 0), 1);
    F.nevents = 0;
    CHECK_EQ_INT(fx_add_id(&F, "d", 1, 0), RUNNEL_ERR_POOL_STREAMS);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("d")), 0);
    CHECK_EQ_INT(F.nevents, 0);
    /* node pool: 4 nodes, 3 used; a fills its node then needs a second */
    for (i = 2; i <= 10; i++)
        CHECK_EQ_INT(fx_add_id(&F, "a", i, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "a", 11, 0), 1);    /* 4th node */
    for (i = 12; i <= 20; i++)
        CHECK_EQ_INT(fx_add_id(&F, "a", i, 0), 1);
    runnel_stats(F.r, &st);
    CHECK_EQ_INT(st.nodes_used, 4);
    CHECK_EQ_INT(fx_add_id(&F, "a", 21, 0), RUNNEL_ERR_POOL_NODES);
    CHECK_EQ_U64(fx_len(&F, "a"), 20);
    CHECK_ID(fx_info(&F, "a").last_id, 20, 0);
    CHECK_EQ_U64(fx_info(&F, "a").entries_added, 20);
    CHECK_EQ_INT(fx_add(&F, "a", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), RUNNEL_ERR_POOL_NODES);
    CHECK_EQ_INT(fx_add_id(&F, "b", 2, 0), 1);     /* b's node has room */
    runnel_stats(F.r, &st);
    CHECK_EQ_INT(st.streams_used, 3);
    CHECK_EQ_INT(st.streams_cap, 3);
    CHECK_EQ_INT(st.nodes_cap, 4);
    /* deleting a stream frees its slot and nodes */
    CHECK_EQ_INT(runnel_del(F.r, fx_s("a")), 1);
    CHECK_EQ_INT(fx_add_id(&F, "d", 1, 0), 1);
    for (i = 2; i <= 20; i++)
        CHECK_EQ_INT(fx_add_id(&F, "d", i, 0), 1);
    CHECK_EQ_INT(fx_add_id(&F, "d", 21, 0), RUNNEL_ERR_POOL_NODES);
    CHECK_EQ_INT(fx_range(&F, "d", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 20);
}

static void test_limits(void)
{
    static runnel_str_t fv[2 * 40];
    static char big[5000];
    runnel_xadd_args_t a;
    runnel_id_t id;
    char name[80];
    unsigned i;

    open_default();   /* max_fields 32, name_max 64, 4 KiB blocks */
    memset(&a, 0, sizeof(a));
    a.key = fx_s("s");
    for (i = 0; i < 2 * 40; i++)
        fv[i] = fx_s(i % 2 ? "v" : "f");
    a.fv = fv;
    a.nfields = 32;
    CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 1);
    CHECK_EQ_INT(fx_range(&F, "s", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 1);
    a.nfields = 33;
    CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), RUNNEL_ERR_TOO_MANY_FIELDS);
    a.nfields = 0;
    CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), RUNNEL_ERR_INVAL);
    /* an entry that cannot fit a 4 KiB block */
    memset(big, 'x', sizeof(big) - 1);
    CHECK_EQ_INT(fx_add(&F, "t", RUNNEL_XADD_AUTO, 0, 0, "f", big, &id),
                 RUNNEL_ERR_ENTRY_TOO_LARGE);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("t")), 0);
    big[3900] = '\0';
    CHECK_EQ_INT(fx_add(&F, "t", RUNNEL_XADD_AUTO, 0, 0, "f", big, &id), 1);
    CHECK_EQ_INT(fx_range(&F, "t", RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false), 1);
    /* key longer than name_max */
    memset(name, 'k', 70);
    name[70] = '\0';
    CHECK_EQ_INT(fx_add(&F, name, RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id),
                 RUNNEL_ERR_NAME_TOO_LONG);
    name[64] = '\0';
    CHECK_EQ_INT(fx_add(&F, name, RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    CHECK_EQ_U64(fx_len(&F, name), 1);
}

static void test_arena_size(void)
{
    size_t need;

    fx_setup(&F, 16, 4096, 16);
    need = runnel_arena_size(&F.cfg);
    CHECK(need > 0 && need <= sizeof(fx_arena));
    F.cfg.arena_size = need;
    CHECK_EQ_INT(fx_open(&F), 0);
    F.cfg.arena_size = need - 64;
    CHECK_EQ_INT(fx_open(&F), RUNNEL_ERR_NOMEM);
    F.cfg.arena_size = sizeof(fx_arena);
    F.cfg.node_max_entries = 300;
    F.cfg.node_entries_cap = 200;
    CHECK_EQ_INT(fx_open(&F), RUNNEL_ERR_INVAL);
    CHECK_EQ_U64(runnel_arena_size(&F.cfg), 0);
}

/* Bytes programmed per payload byte for 32-byte field+value entries
 * (FlashDB's TSDB does 1.445). */
static void test_write_amplification(void)
{
    uint64_t i, payload = 0;
    char val[32];

    fx_setup(&F, 1, 4096, 100);
    F.cfg.commit_policy = RUNNEL_COMMIT_NONE;
    CHECK_EQ_INT(fx_open(&F), 0);
    runnel_ram_bd_reset_counters(&F.rb);
    for (i = 0; i < 5000; i++) {
        runnel_id_t id;
        F.now = 1700000000000ull + i * 7u;
        snprintf(val, sizeof(val), "%026lu", (unsigned long)i);  /* 26 + "temp_c" = 32 */
        CHECK_EQ_INT(fx_add(&F, "telemetry", RUNNEL_XADD_AUTO, 0, 0, "temp_c", val, &id), 1);
        payload += 32;
    }
    CHECK_EQ_INT(runnel_commit(F.r), 0);
    printf("    32-byte entries: %lu bytes programmed for %lu payload bytes (x1000 = %lu)\n",
           (unsigned long)F.rb.bytes_programmed, (unsigned long)payload,
           (unsigned long)(F.rb.bytes_programmed * 1000u / payload));
    CHECK(F.rb.bytes_programmed * 1000u < payload * 1445u);
}

TEST_MAIN(
    RUN(test_xadd_basic);
    RUN(test_id_modes);
    RUN(test_id_errors);
    RUN(test_ranges);
    RUN(test_xdel);
    RUN(test_xsetid);
    RUN(test_last_valid);
    RUN(test_xread);
    RUN(test_node_counts);
    RUN(test_interleaved);
    RUN(test_geometries);
    RUN(test_pools);
    RUN(test_limits);
    RUN(test_arena_size);
    RUN(test_write_amplification);
)
