/*
 * test_groups.c - the group half against the examples of sections 7-9 of
 * the Redis 7.0 reference: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
 * XAUTOCLAIM, entries-read / lag, XINFO GROUPS / CONSUMERS, pool limits,
 * and the journal snapshot/replay round trip. Time comes from a fake
 * clock the test moves by hand. Portable (runs bare-metal too).
 */
#include <stdio.h>
#include <string.h>

#include "stream_fixture.h"
#include "group.h"
#include "group_impl.h"   /* the ID-list codec (group_idlist.c) */

/* ---- fixture: the shared one (stream_fixture.h), NOR-ish geometry with a
 * 16-byte program unit, pools sized per test ---- */

static fx_t fx;

static runnel_t *open_store(uint32_t groups, uint32_t consumers, uint32_t pending)
{
    int rc;

    fx_setup(&fx, 16, 4096, 32);
    fx.now = 1000000;
    fx.cfg.max_groups = groups;
    fx.cfg.max_consumers = consumers;
    fx.cfg.max_pending = pending;
    fx.cfg.commit_policy = RUNNEL_COMMIT_NONE;
    if (runnel_arena_size(&fx.cfg) > fx.cfg.arena_size) {
        printf("arena too small: need %lu\n", (unsigned long)runnel_arena_size(&fx.cfg));
        return NULL;
    }
    rc = fx_open(&fx);
    if (rc != 0) {
        printf("runnel_format: %d\n", rc);
        return NULL;
    }
    return fx.r;
}

static runnel_str_t S(const char *s)
{
    runnel_str_t v;
    v.p = s;
    v.len = strlen(s);
    return v;
}

static runnel_id_t ID(uint64_t ms, uint64_t seq)
{
    runnel_id_t id;
    id.ms = ms;
    id.seq = seq;
    return id;
}

static int add(runnel_t *r, const char *key, uint64_t ms, uint64_t seq)
{
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_id_t out;
    memset(&a, 0, sizeof a);
    fv[0] = S("f");
    fv[1] = S("v");
    a.key = S(key);
    a.id_mode = RUNNEL_XADD_EXPLICIT;
    a.id = ID(ms, seq);
    a.fv = fv;
    a.nfields = 1;
    return runnel_xadd(r, &a, &out);
}

static int del(runnel_t *r, const char *key, uint64_t ms, uint64_t seq)
{
    runnel_id_t id = ID(ms, seq);
    uint64_t n = 0;
    int rc = runnel_xdel(r, S(key), &id, 1, &n);
    return rc < 0 ? rc : (int)n;
}

/* Collected entries of the last read. */
static struct { runnel_id_t id; bool deleted; uint32_t nfields; } got[64];
static int ngot;

static int collect(void *ctx, const runnel_entry_t *e)
{
    (void)ctx;
    if (ngot < 64) {
        got[ngot].id = e->id;
        got[ngot].deleted = e->deleted;
        got[ngot].nfields = e->nfields;
    }
    ngot++;
    return 0;
}

static int readgroup(runnel_t *r, const char *key, const char *group, const char *consumer,
                     bool gt, runnel_id_t after, int64_t count, bool noack)
{
    runnel_xreadgroup_args_t a;
    memset(&a, 0, sizeof a);
    a.key = S(key);
    a.group = S(group);
    a.consumer = S(consumer);
    a.new_entries = gt;
    a.after = after;
    a.count = count;
    a.noack = noack;
    ngot = 0;
    return runnel_xreadgroup(r, &a, collect, NULL);
}

static runnel_group_info_t ginfo[8];
static char gnames[8][32];
static int ngroups;
static int collect_group(void *ctx, const runnel_group_info_t *g)
{
    (void)ctx;
    if (ngroups < 8) {
        ginfo[ngroups] = *g;
        memcpy(gnames[ngroups], g->name.p, g->name.len < 31 ? g->name.len : 31);
        gnames[ngroups][g->name.len < 31 ? g->name.len : 31] = 0;
    }
    ngroups++;
    return 0;
}

static runnel_group_info_t group_info(runnel_t *r, const char *key, const char *group)
{
    int i;
    runnel_group_info_t none;
    memset(&none, 0, sizeof none);
    memset(gnames, 0, sizeof gnames);
    ngroups = 0;
    runnel_groups(r, S(key), collect_group, NULL);
    for (i = 0; i < ngroups && i < 8; i++)
        if (strcmp(gnames[i], group) == 0)
            return ginfo[i];
    return none;
}

#define CHECK_LAG(r, key, group, er_known, er_val, lag_known, lag_val) \
    do {                                                                 \
        runnel_group_info_t gi_ = group_info(r, key, group);             \
        CHECK_EQ_INT(gi_.has_entries_read, er_known);                    \
        if (er_known) CHECK_EQ_U64(gi_.entries_read, er_val);            \
        CHECK_EQ_INT(gi_.has_lag, lag_known);                            \
        if (lag_known) CHECK_EQ_U64(gi_.lag, lag_val);                   \
    } while (0)

/* ---- tests ---- */

static void test_lag_examples(void)
{
    runnel_t *r = open_store(0, 0, 0);
    int i;
    CHECK(r != NULL);
    if (!r) return;
    for (i = 1; i <= 5; i++)
        CHECK_EQ_INT(add(r, "s", (uint64_t)i, 0), 1);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1), 0);
    CHECK_LAG(r, "s", "g", false, 0, true, 5);
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 1, false), 1);
    CHECK_LAG(r, "s", "g", true, 1, true, 4);
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 0, false), 4);
    CHECK_LAG(r, "s", "g", true, 5, true, 0);
    CHECK_EQ_INT(add(r, "s", 6, 0), 1);
    CHECK_LAG(r, "s", "g", true, 5, true, 1);
    /* ENTRIESREAD given at creation is kept and used. */
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("h"), ID(3, 0), false, false, 3), 0);
    CHECK_LAG(r, "s", "h", true, 3, true, 3);
    /* ENTRIESREAD beyond entries-added: Redis replies a negative lag. */
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("big"), ID(0, 0), false, false, 100), 0);
    CHECK_EQ_INT((int64_t)group_info(r, "s", "big").lag, -94);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("h2"), ID(3, 0), false, false, -2),
                 RUNNEL_ERR_ENTRIESREAD_RANGE);
    /* $ creates at the last ID: lag 0 with unknown entries-read. */
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("last"), ID(0, 0), true, false, -1), 0);
    CHECK_LAG(r, "s", "last", false, 0, true, 0);
}

static void test_lag_with_tombstone(void)
{
    runnel_t *r = open_store(0, 0, 0);
    int i;
    CHECK(r != NULL);
    if (!r) return;
    for (i = 1; i <= 5; i++)
        add(r, "s", (uint64_t)i, 0);
    CHECK_EQ_INT(del(r, "s", 3, 0), 1);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1), 0);
    CHECK_LAG(r, "s", "g", false, 0, false, 0);
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 1, false), 1);
    CHECK_LAG(r, "s", "g", false, 0, false, 0);
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 1, false), 1); /* 2-0 */
    CHECK_LAG(r, "s", "g", false, 0, false, 0);
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 0, false), 2); /* 4-0, 5-0 */
    CHECK_LAG(r, "s", "g", true, 5, true, 0);
}

static void test_xgroup_commands(void)
{
    runnel_t *r = open_store(0, 0, 0);
    uint64_t pending = 99;
    CHECK(r != NULL);
    if (!r) return;
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1),
                 RUNNEL_ERR_XGROUP_NEEDS_KEY);
    CHECK_EQ_INT(runnel_exists(r, S("s")), 0);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), true, true, -1), 0);
    CHECK_EQ_INT(runnel_exists(r, S("s")), 1);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1),
                 RUNNEL_ERR_BUSYGROUP);
    CHECK_EQ_INT(runnel_xgroup_setid(r, S("nokey"), S("g"), ID(0, 0), false, -1),
                 RUNNEL_ERR_XGROUP_NEEDS_KEY);
    CHECK_EQ_INT(runnel_xgroup_setid(r, S("s"), S("nog"), ID(0, 0), false, -1),
                 RUNNEL_ERR_NOGROUP_FOR_KEY);
    CHECK_EQ_INT(runnel_xgroup_createconsumer(r, S("s"), S("nog"), S("c")),
                 RUNNEL_ERR_NOGROUP_FOR_KEY);
    CHECK_EQ_INT(runnel_xgroup_createconsumer(r, S("nokey"), S("g"), S("c")),
                 RUNNEL_ERR_XGROUP_NEEDS_KEY);
    CHECK_EQ_INT(runnel_xgroup_createconsumer(r, S("s"), S("g"), S("c")), 1);
    CHECK_EQ_INT(runnel_xgroup_createconsumer(r, S("s"), S("g"), S("c")), 0);
    CHECK_EQ_INT(runnel_xgroup_delconsumer(r, S("s"), S("g"), S("zz"), &pending), 0);
    CHECK_EQ_U64(pending, 0);
    CHECK_EQ_INT(runnel_xgroup_delconsumer(r, S("s"), S("nog"), S("c"), &pending),
                 RUNNEL_ERR_NOGROUP_FOR_KEY);
    CHECK_EQ_INT(runnel_group_exists(r, S("s"), S("g")), 1);
    CHECK_EQ_INT(runnel_group_exists(r, S("s"), S("x")), 0);
    CHECK_EQ_INT(runnel_group_exists(r, S("x"), S("g")), 0);
    CHECK_EQ_INT(runnel_xgroup_destroy(r, S("s"), S("nog")), 0);
    CHECK_EQ_INT(runnel_xgroup_destroy(r, S("nokey"), S("g")), RUNNEL_ERR_XGROUP_NEEDS_KEY);
    CHECK_EQ_INT(runnel_xgroup_destroy(r, S("s"), S("g")), 1);
    CHECK_EQ_INT(runnel_group_exists(r, S("s"), S("g")), 0);
    /* Name order is byte-wise, shorter prefix first. */
    runnel_xgroup_create(r, S("s"), S("b"), ID(0, 0), false, false, -1);
    runnel_xgroup_create(r, S("s"), S("ab"), ID(0, 0), false, false, -1);
    runnel_xgroup_create(r, S("s"), S("a"), ID(0, 0), false, false, -1);
    runnel_xgroup_create(r, S("s"), S("B"), ID(0, 0), false, false, -1);
    ngroups = 0;
    memset(gnames, 0, sizeof gnames);
    CHECK_EQ_INT(runnel_groups(r, S("s"), collect_group, NULL), 4);
    CHECK_STR(gnames[0], "B");
    CHECK_STR(gnames[1], "a");
    CHECK_STR(gnames[2], "ab");
    CHECK_STR(gnames[3], "b");
    CHECK_EQ_INT(runnel_groups(r, S("nokey"), collect_group, NULL), RUNNEL_ERR_NO_SUCH_KEY);
    /* SETID: '+' accepted (max), entries_read reset to -1 unless given. */
    CHECK_EQ_INT(runnel_xgroup_setid(r, S("s"), S("a"), RUNNEL_ID_MAX, false, -1), 0);
    CHECK(group_info(r, "s", "a").last_id.ms == UINT64_MAX);
    CHECK_EQ_INT(runnel_xgroup_setid(r, S("s"), S("a"), ID(0, 0), false, 7), 0);
    CHECK_LAG(r, "s", "a", true, 7, true, 0);
}

static char cnames[8][32];
static uint64_t cpend[8];
static uint64_t cidle[8];
static int ncons;
static int collect_consumer(void *ctx, const runnel_consumer_info_t *c)
{
    (void)ctx;
    if (ncons < 8) {
        memset(cnames[ncons], 0, 32);
        memcpy(cnames[ncons], c->name.p, c->name.len < 31 ? c->name.len : 31);
        cpend[ncons] = c->pending;
        cidle[ncons] = c->idle_ms;
    }
    ncons++;
    return 0;
}

static void test_readgroup(void)
{
    runnel_t *r = open_store(0, 0, 0);
    uint64_t acked = 0;
    runnel_id_t ids[3];
    int i;
    CHECK(r != NULL);
    if (!r) return;
    runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), true, true, -1);
    CHECK_EQ_INT(readgroup(r, "nokey", "g", "c", true, ID(0, 0), 0, false),
                 RUNNEL_ERR_NOGROUP_XREADGROUP);
    CHECK_EQ_INT(readgroup(r, "s", "nog", "c", true, ID(0, 0), 0, false),
                 RUNNEL_ERR_NOGROUP_XREADGROUP);
    /* Nothing to serve: no consumer created. */
    CHECK_EQ_INT(readgroup(r, "s", "g", "alice", true, ID(0, 0), 0, false), 0);
    ncons = 0;
    CHECK_EQ_INT(runnel_consumers(r, S("s"), S("g"), collect_consumer, NULL), 0);
    for (i = 1; i <= 5; i++)
        add(r, "s", (uint64_t)i, 0);
    CHECK_EQ_INT(readgroup(r, "s", "g", "alice", true, ID(0, 0), 2, false), 2);
    CHECK(runnel_id_cmp(got[0].id, ID(1, 0)) == 0 && runnel_id_cmp(got[1].id, ID(2, 0)) == 0);
    CHECK(!got[0].deleted && got[0].nfields == 1);
    fx.now += 100;
    CHECK_EQ_INT(readgroup(r, "s", "g", "bob", true, ID(0, 0), 0, true), 3); /* NOACK */
    ncons = 0;
    CHECK_EQ_INT(runnel_consumers(r, S("s"), S("g"), collect_consumer, NULL), 2);
    CHECK_STR(cnames[0], "alice");
    CHECK_EQ_U64(cpend[0], 2);
    CHECK_EQ_U64(cidle[0], 100);
    CHECK_STR(cnames[1], "bob");
    CHECK_EQ_U64(cpend[1], 0);
    CHECK_EQ_U64(cidle[1], 0);
    CHECK_EQ_U64(group_info(r, "s", "g").pending, 2);
    /* All read: ">" is not served; last_valid_id must exceed last_id. */
    CHECK_EQ_INT(readgroup(r, "s", "g", "carol", true, ID(0, 0), 0, false), 0);
    CHECK_EQ_INT(runnel_consumers(r, S("s"), S("g"), NULL, NULL), 2);
    /* SETID rewind: already pending 1-0 moves to carol with count 1. */
    runnel_xgroup_setid(r, S("s"), S("g"), ID(0, 0), false, -1);
    CHECK_EQ_INT(readgroup(r, "s", "g", "alice", false, ID(0, 0), 0, false), 2); /* history */
    CHECK_EQ_INT(readgroup(r, "s", "g", "carol", true, ID(0, 0), 1, false), 1);
    CHECK_EQ_INT(readgroup(r, "s", "g", "alice", false, ID(0, 0), 0, false), 1);
    CHECK(runnel_id_cmp(got[0].id, ID(2, 0)) == 0);
    CHECK_EQ_INT(readgroup(r, "s", "g", "carol", false, ID(0, 0), 0, false), 1);
    CHECK(runnel_id_cmp(got[0].id, ID(1, 0)) == 0);
    /* XACK: duplicates once, unknown ignored, missing key/group 0. */
    ids[0] = ID(2, 0);
    ids[1] = ID(2, 0);
    ids[2] = ID(9, 0);
    CHECK_EQ_INT(runnel_xack(r, S("s"), S("g"), ids, 3, &acked), 0);
    CHECK_EQ_U64(acked, 1);
    CHECK_EQ_INT(runnel_xack(r, S("s"), S("nog"), ids, 3, &acked), 0);
    CHECK_EQ_U64(acked, 0);
    CHECK_EQ_INT(runnel_xack(r, S("nokey"), S("g"), ids, 3, &acked), 0);
    CHECK_EQ_U64(acked, 0);
    CHECK_EQ_U64(group_info(r, "s", "g").pending, 1);
}

static runnel_pending_t pend[16];
static char pcons[16][16];
static int npend;
static int collect_pending(void *ctx, const runnel_pending_t *p)
{
    (void)ctx;
    if (npend < 16) {
        pend[npend] = *p;
        memset(pcons[npend], 0, 16);
        memcpy(pcons[npend], p->consumer.p, p->consumer.len < 15 ? p->consumer.len : 15);
    }
    npend++;
    return 0;
}

static void test_history_deleted_and_counts(void)
{
    runnel_t *r = open_store(0, 0, 0);
    runnel_str_t none = { NULL, 0 };
    int i;
    CHECK(r != NULL);
    if (!r) return;
    for (i = 1; i <= 4; i++)
        add(r, "s", (uint64_t)i, 0);
    runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1);
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 0, false), 4);
    CHECK_EQ_INT(del(r, "s", 2, 0), 1);
    fx.now += 50;
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", false, ID(1, 0), 2, false), 2);
    CHECK(runnel_id_cmp(got[0].id, ID(2, 0)) == 0 && got[0].deleted && got[0].nfields == 0);
    CHECK(runnel_id_cmp(got[1].id, ID(3, 0)) == 0 && !got[1].deleted);
    npend = 0;
    CHECK_EQ_INT(runnel_xpending(r, S("s"), S("g"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 10, -1, none,
                                 collect_pending, NULL), 4);
    CHECK_EQ_U64(pend[0].delivery_count, 1); /* 1-0 not > 1-0 */
    CHECK_EQ_U64(pend[0].idle_ms, 50);
    CHECK_EQ_U64(pend[1].delivery_count, 1); /* deleted: untouched */
    CHECK_EQ_U64(pend[1].idle_ms, 50);
    CHECK_EQ_U64(pend[2].delivery_count, 2);
    CHECK_EQ_U64(pend[2].idle_ms, 0);
    CHECK_EQ_U64(pend[3].delivery_count, 1);
    /* IDLE filter does not consume count; consumer filter; count. */
    npend = 0;
    CHECK_EQ_INT(runnel_xpending(r, S("s"), S("g"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 2, 10, none,
                                 collect_pending, NULL), 2);
    CHECK(runnel_id_cmp(pend[0].id, ID(1, 0)) == 0 && runnel_id_cmp(pend[1].id, ID(2, 0)) == 0);
    npend = 0;
    CHECK_EQ_INT(runnel_xpending(r, S("s"), S("g"), ID(3, 0), RUNNEL_ID_MAX, 10, 10, none,
                                 collect_pending, NULL), 1);
    CHECK(runnel_id_cmp(pend[0].id, ID(4, 0)) == 0);
    CHECK_EQ_INT(runnel_xpending(r, S("s"), S("g"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 10, -1,
                                 S("other"), collect_pending, NULL), 0);
    CHECK_EQ_INT(runnel_xpending(r, S("s"), S("g"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 0, -1, none,
                                 collect_pending, NULL), 0);
    CHECK_EQ_INT(runnel_xpending(r, S("s"), S("nog"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 10, -1,
                                 none, collect_pending, NULL), RUNNEL_ERR_NOGROUP_KEY_OR_GROUP);
}

static char snames[4][16];
static uint64_t scounts[4];
static int nsum;
static int collect_summary(void *ctx, runnel_str_t name, uint64_t count)
{
    (void)ctx;
    if (nsum < 4) {
        memset(snames[nsum], 0, 16);
        memcpy(snames[nsum], name.p, name.len < 15 ? name.len : 15);
        scounts[nsum] = count;
    }
    nsum++;
    return 0;
}

static void test_summary_and_delconsumer(void)
{
    runnel_t *r = open_store(0, 0, 0);
    uint64_t total = 0, pending = 0;
    runnel_id_t mn, mx;
    int i;
    CHECK(r != NULL);
    if (!r) return;
    for (i = 1; i <= 6; i++)
        add(r, "s", (uint64_t)i, 0);
    runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1);
    CHECK_EQ_INT(runnel_xpending_summary(r, S("s"), S("g"), &total, &mn, &mx, collect_summary,
                                         NULL), 0);
    CHECK_EQ_U64(total, 0);
    readgroup(r, "s", "g", "zed", true, ID(0, 0), 2, false);
    readgroup(r, "s", "g", "amy", true, ID(0, 0), 3, false);
    runnel_xgroup_createconsumer(r, S("s"), S("g"), S("idle"));
    nsum = 0;
    CHECK_EQ_INT(runnel_xpending_summary(r, S("s"), S("g"), &total, &mn, &mx, collect_summary,
                                         NULL), 2);
    CHECK_EQ_U64(total, 5);
    CHECK(runnel_id_cmp(mn, ID(1, 0)) == 0 && runnel_id_cmp(mx, ID(5, 0)) == 0);
    CHECK_STR(snames[0], "amy");
    CHECK_EQ_U64(scounts[0], 3);
    CHECK_STR(snames[1], "zed");
    CHECK_EQ_U64(scounts[1], 2);
    CHECK_EQ_INT(runnel_xgroup_delconsumer(r, S("s"), S("g"), S("amy"), &pending), 3);
    CHECK_EQ_U64(pending, 3);
    CHECK_EQ_U64(group_info(r, "s", "g").pending, 2);
    CHECK_EQ_U64(group_info(r, "s", "g").consumers, 2);
    CHECK_EQ_INT(runnel_xpending_summary(r, S("nokey"), S("g"), &total, &mn, &mx, NULL, NULL),
                 RUNNEL_ERR_NOGROUP_KEY_OR_GROUP);
}

static void claim_args(runnel_xclaim_args_t *a, const char *consumer, uint64_t min_idle,
                       const runnel_id_t *ids, size_t n)
{
    memset(a, 0, sizeof *a);
    a->key = S("s");
    a->group = S("g");
    a->consumer = S(consumer);
    a->min_idle_ms = min_idle;
    a->ids = ids;
    a->nids = n;
}

static uint64_t pel_count_of(runnel_t *r, runnel_id_t id, uint64_t *time, char *owner)
{
    runnel_str_t none = { NULL, 0 };
    npend = 0;
    runnel_xpending(r, S("s"), S("g"), id, id, 1, -1, none, collect_pending, NULL);
    if (npend == 0)
        return 0;
    if (time)
        *time = pend[0].delivery_time_ms;
    if (owner)
        strcpy(owner, pcons[0]);
    return pend[0].delivery_count;
}

static void test_xclaim(void)
{
    runnel_t *r = open_store(0, 0, 0);
    runnel_xclaim_args_t a;
    runnel_id_t ids[4];
    uint64_t t = 0;
    char owner[16];
    int i;
    CHECK(r != NULL);
    if (!r) return;
    for (i = 1; i <= 5; i++)
        add(r, "s", (uint64_t)i, 0);
    runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1);
    readgroup(r, "s", "g", "c1", true, ID(0, 0), 3, false); /* 1,2,3 at t0 */
    ids[0] = ID(1, 0);
    /* Not idle enough: skipped, and the consumer is not created. */
    fx.now += 10;
    claim_args(&a, "c2", 100, ids, 1);
    ngot = 0;
    CHECK_EQ_INT(runnel_xclaim(r, &a, collect, NULL), 0);
    CHECK_EQ_INT(runnel_consumers(r, S("s"), S("g"), NULL, NULL), 1);
    /* Idle enough: claimed, count+1, time=now, consumer created. */
    fx.now += 100;
    CHECK_EQ_INT(runnel_xclaim(r, &a, collect, NULL), 1);
    CHECK(ngot == 1 && runnel_id_cmp(got[0].id, ID(1, 0)) == 0 && got[0].nfields == 1);
    CHECK_EQ_U64(pel_count_of(r, ID(1, 0), &t, owner), 2);
    CHECK_EQ_U64(t, fx.now);
    CHECK_STR(owner, "c2");
    CHECK_EQ_INT(runnel_consumers(r, S("s"), S("g"), NULL, NULL), 2);
    /* JUSTID leaves the count; IDLE sets time = now - IDLE. */
    ids[0] = ID(2, 0);
    claim_args(&a, "c2", 0, ids, 1);
    a.justid = true;
    a.has_idle = true;
    a.idle_ms = 40;
    ngot = 0;
    CHECK_EQ_INT(runnel_xclaim(r, &a, collect, NULL), 1);
    CHECK(ngot == 1 && got[0].nfields == 0 && !got[0].deleted);
    CHECK_EQ_U64(pel_count_of(r, ID(2, 0), &t, NULL), 1);
    CHECK_EQ_U64(t, fx.now - 40);
    /* IDLE larger than now clamps to now; TIME in the future clamps to now;
     * TIME in the past is taken; RETRYCOUNT sets the count. */
    a.idle_ms = (int64_t)fx.now + 5;
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), 1);
    pel_count_of(r, ID(2, 0), &t, NULL);
    CHECK_EQ_U64(t, fx.now);
    a.has_idle = false;
    a.has_time = true;
    a.time_ms = (int64_t)fx.now + 1000;
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), 1);
    pel_count_of(r, ID(2, 0), &t, NULL);
    CHECK_EQ_U64(t, fx.now);
    a.time_ms = 12345;
    a.has_retrycount = true;
    a.retrycount = 7;
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), 1);
    CHECK_EQ_U64(pel_count_of(r, ID(2, 0), &t, NULL), 7);
    CHECK_EQ_U64(t, 12345);
    /* FORCE on a non-pending existing entry creates it (count 1 -> +1). */
    ids[0] = ID(5, 0);
    claim_args(&a, "c3", 1000000, ids, 1);
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), 0);
    a.force = true;
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), 1);
    CHECK_EQ_U64(pel_count_of(r, ID(5, 0), NULL, owner), 2);
    CHECK_STR(owner, "c3");
    /* FORCE on an ID not in the stream does nothing. */
    ids[0] = ID(9, 0);
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), 0);
    /* Pending but deleted entry: purged, not returned. */
    del(r, "s", 3, 0);
    ids[0] = ID(3, 0);
    claim_args(&a, "c2", 0, ids, 1);
    CHECK_EQ_INT(runnel_xclaim(r, &a, collect, NULL), 0);
    CHECK_EQ_U64(pel_count_of(r, ID(3, 0), NULL, NULL), 0);
    /* LASTID raises the group's last_id only; zero IDs allowed. */
    claim_args(&a, "c2", 0, NULL, 0);
    a.has_lastid = true;
    a.lastid = ID(4, 0);
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), 0);
    CHECK(runnel_id_cmp(group_info(r, "s", "g").last_id, ID(4, 0)) == 0);
    a.lastid = ID(2, 0);
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), 0);
    CHECK(runnel_id_cmp(group_info(r, "s", "g").last_id, ID(4, 0)) == 0);
    a.group = S("nog");
    CHECK_EQ_INT(runnel_xclaim(r, &a, NULL, NULL), RUNNEL_ERR_NOGROUP_KEY_OR_GROUP);
}

static void test_xautoclaim(void)
{
    runnel_t *r = open_store(0, 0, 0);
    runnel_xautoclaim_args_t a;
    runnel_id_t deleted[8], next;
    size_t ndel = 0;
    int i;
    CHECK(r != NULL);
    if (!r) return;
    for (i = 1; i <= 5; i++)
        add(r, "s", (uint64_t)i, 0);
    runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1);
    readgroup(r, "s", "g", "c1", true, ID(0, 0), 0, false);
    del(r, "s", 1, 0);
    memset(&a, 0, sizeof a);
    a.key = S("s");
    a.group = S("g");
    a.consumer = S("c3");
    a.start = RUNNEL_ID_MIN;
    a.count = 1;
    a.deleted = deleted;
    a.deleted_cap = 8;
    ngot = 0;
    CHECK_EQ_INT(runnel_xautoclaim(r, &a, &next, &ndel, collect, NULL), 0);
    CHECK(runnel_id_cmp(next, ID(2, 0)) == 0);
    CHECK_EQ_U64(ndel, 1);
    CHECK(runnel_id_cmp(deleted[0], ID(1, 0)) == 0);
    CHECK_EQ_INT(ngot, 0);
    CHECK_EQ_INT(runnel_consumers(r, S("s"), S("g"), NULL, NULL), 1); /* c3 not created */
    /* Claim two from the cursor; count+1 unless JUSTID. */
    a.start = next;
    a.count = 2;
    ngot = 0;
    CHECK_EQ_INT(runnel_xautoclaim(r, &a, &next, &ndel, collect, NULL), 2);
    CHECK(runnel_id_cmp(next, ID(4, 0)) == 0);
    CHECK(ngot == 2 && runnel_id_cmp(got[1].id, ID(3, 0)) == 0 && got[1].nfields == 1);
    CHECK_EQ_U64(pel_count_of(r, ID(2, 0), NULL, NULL), 2);
    a.start = next;
    a.justid = true;
    CHECK_EQ_INT(runnel_xautoclaim(r, &a, &next, &ndel, collect, NULL), 2);
    CHECK(runnel_id_cmp(next, ID(0, 0)) == 0);
    CHECK_EQ_U64(pel_count_of(r, ID(5, 0), NULL, NULL), 1);
    /* min-idle filters without counting; the scan is bounded by COUNT*10. */
    fx.now += 5;
    a.start = RUNNEL_ID_MIN;
    a.min_idle_ms = 10;
    CHECK_EQ_INT(runnel_xautoclaim(r, &a, &next, &ndel, NULL, NULL), 0);
    CHECK(runnel_id_cmp(next, ID(0, 0)) == 0);
    a.count = 9;
    CHECK_EQ_INT(runnel_xautoclaim(r, &a, &next, &ndel, NULL, NULL), RUNNEL_ERR_COUNT_TOO_HIGH);
    a.count = 0;
    CHECK_EQ_INT(runnel_xautoclaim(r, &a, &next, &ndel, NULL, NULL), RUNNEL_ERR_COUNT_POSITIVE);
}

static void test_pools(void)
{
    runnel_t *r = open_store(2, 3, 3);
    runnel_stats_t st;
    runnel_id_t id;
    uint64_t acked;
    int i;
    CHECK(r != NULL);
    if (!r) return;
    for (i = 1; i <= 5; i++)
        add(r, "s", (uint64_t)i, 0);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1), 0);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("h"), ID(0, 0), false, false, -1), 0);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("s"), S("i"), ID(0, 0), false, false, -1),
                 RUNNEL_ERR_POOL_GROUPS);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("t"), S("i"), ID(0, 0), false, true, -1),
                 RUNNEL_ERR_POOL_GROUPS);
    CHECK_EQ_INT(runnel_exists(r, S("t")), 0); /* MKSTREAM refused before creating */
    /* PEL of 3: a 5-entry read delivers the 3 that fit, then stops. */
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 0, false), 3);
    CHECK(runnel_id_cmp(group_info(r, "s", "g").last_id, ID(3, 0)) == 0);
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 0, false), RUNNEL_ERR_POOL_PEL);
    CHECK(runnel_id_cmp(group_info(r, "s", "g").last_id, ID(3, 0)) == 0);
    /* NOACK needs no PEL slot. */
    CHECK_EQ_INT(readgroup(r, "s", "h", "c", true, ID(0, 0), 0, true), 5);
    /* Consumer pool of 3: g:c, h:c, h:d. */
    CHECK_EQ_INT(runnel_xgroup_createconsumer(r, S("s"), S("h"), S("d")), 1);
    CHECK_EQ_INT(runnel_xgroup_createconsumer(r, S("s"), S("h"), S("e")),
                 RUNNEL_ERR_POOL_CONSUMERS);
    id = ID(1, 0);
    CHECK_EQ_INT(runnel_xack(r, S("s"), S("g"), &id, 1, &acked), 0);
    CHECK_EQ_INT(readgroup(r, "s", "g", "newbie", true, ID(0, 0), 0, false),
                 RUNNEL_ERR_POOL_CONSUMERS);
    CHECK(runnel_id_cmp(group_info(r, "s", "g").last_id, ID(3, 0)) == 0);
    CHECK_EQ_INT(readgroup(r, "s", "g", "c", true, ID(0, 0), 0, false), 1);
    runnel_stats(r, &st);
    CHECK_EQ_U64(st.groups_used, 2);
    CHECK_EQ_U64(st.groups_cap, 2);
    CHECK_EQ_U64(st.consumers_used, 3);
    CHECK_EQ_U64(st.pending_used, 3);
    CHECK_EQ_U64(st.pending_cap, 3);
    /* DEL frees everything of the stream. */
    CHECK_EQ_INT(runnel_del(r, S("s")), 1);
    runnel_stats(r, &st);
    CHECK_EQ_U64(st.groups_used, 0);
    CHECK_EQ_U64(st.consumers_used, 0);
    CHECK_EQ_U64(st.pending_used, 0);
}

/* Snapshot -> drop -> replay gives back the same observable state. */
static uint8_t snap[8192];
static size_t snap_len;
static int snap_emit(void *ctx, uint8_t type, const void *body, size_t len)
{
    (void)ctx;
    if (snap_len + 3 + len > sizeof snap)
        return RUNNEL_ERR_NOMEM;
    snap[snap_len++] = type;
    snap[snap_len++] = (uint8_t)(len & 0xFF);
    snap[snap_len++] = (uint8_t)(len >> 8);
    memcpy(snap + snap_len, body, len);
    snap_len += len;
    return 0;
}

static void test_snapshot_replay(void)
{
    runnel_t *r = open_store(0, 0, 0);
    runnel_str_t none = { NULL, 0 };
    runnel_pending_t before[16];
    int nbefore, i;
    size_t off;
    uint32_t sidx;
    CHECK(r != NULL);
    if (!r) return;
    for (i = 1; i <= 6; i++)
        add(r, "s", (uint64_t)i, 0);
    runnel_xgroup_create(r, S("s"), S("g"), ID(0, 0), false, false, -1);
    runnel_xgroup_create(r, S("s"), S("a"), ID(2, 0), false, false, 2);
    readgroup(r, "s", "g", "c1", true, ID(0, 0), 2, false);
    fx.now += 7;
    readgroup(r, "s", "g", "c2", true, ID(0, 0), 3, false);
    runnel_xgroup_createconsumer(r, S("s"), S("a"), S("lonely"));
    npend = 0;
    nbefore = runnel_xpending(r, S("s"), S("g"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 16, -1, none,
                              collect_pending, NULL);
    CHECK_EQ_INT(nbefore, 5);
    memcpy(before, pend, sizeof before);
    CHECK_EQ_INT(runnel__lookup(r, S("s"), &sidx), 0);
    snap_len = 0;
    CHECK_EQ_INT(runnel__groups_snapshot(r, sidx, snap_emit, NULL), 0);
    runnel__groups_drop_stream(r, sidx);
    CHECK_EQ_INT(runnel_groups(r, S("s"), NULL, NULL), 0);
    for (off = 0; off < snap_len;) {
        uint8_t type = snap[off];
        size_t len = (size_t)snap[off + 1] | ((size_t)snap[off + 2] << 8);
        CHECK_EQ_INT(runnel__groups_replay(r, type, snap + off + 3, len), 0);
        off += 3 + len;
    }
    CHECK_EQ_INT(runnel_groups(r, S("s"), NULL, NULL), 2);
    CHECK_LAG(r, "s", "a", true, 2, true, 4);
    CHECK_EQ_U64(group_info(r, "s", "g").consumers, 2);
    npend = 0;
    CHECK_EQ_INT(runnel_xpending(r, S("s"), S("g"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 16, -1, none,
                                 collect_pending, NULL), 5);
    for (i = 0; i < 5; i++) {
        CHECK(runnel_id_cmp(pend[i].id, before[i].id) == 0);
        CHECK_EQ_U64(pend[i].delivery_time_ms, before[i].delivery_time_ms);
        CHECK_EQ_U64(pend[i].delivery_count, before[i].delivery_count);
    }
    /* A garbage body is CORRUPT, not a crash. */
    CHECK_EQ_INT(runnel__groups_replay(r, RUNNEL_REC_DELIVERY, (const uint8_t *)"\xff", 1),
                 RUNNEL_ERR_CORRUPT);
}

/* XACK removes a batch in one compaction pass: duplicates count once,
 * IDs that are not pending change nothing, another group's entries
 * interleaved in the same PEL order array survive, and every survivor is
 * still found by later lookups (the sort order was kept). */
static int pending_count_fn(void *ctx, const runnel_pending_t *p)
{
    (void)p;
    ++*(int *)ctx;
    return 0;
}

/* The ID lists of group records (group_idlist.c): any sequence of IDs
 * comes back exactly; IDs that keep increasing cost a byte each; tags that
 * would step by nothing or past 2^64 - 1, and cut varints, are refused. */
static void test_idlist(void)
{
    static const runnel_id_t ids[] = {
        { 1, 0 }, { 1, 1 }, { 1, 5 }, { 3, 0 }, { 3, 7 }, { 2, 0 }, { 2, 0 },
        { UINT64_MAX, UINT64_MAX }, { 0, 0 }, { UINT64_MAX, 0 }, { 5, 0 },
        { 5, (1ull << 63) + 9u }, { 5, UINT64_MAX }, { (1ull << 62) + 7u, 1 },
        { 1700000000000ull, 0 }, { 1700000000001ull, 0 }, { 1700000000001ull, 1 },
    };
    uint8_t buf[sizeof ids / sizeof ids[0] * GRP_ID_CODED_MAX], bad[4];
    size_t n = 0, k;
    runnel_id_t prev = RUNNEL_ID_MIN, out, base;
    int used;

    for (k = 0; k < sizeof ids / sizeof ids[0]; k++)
        n += grp_idlist_put(buf + n, &prev, ids[k]);
    prev = RUNNEL_ID_MIN;
    for (k = 0, used = 0; k < sizeof ids / sizeof ids[0]; k++) {
        int m = grp_idlist_get(buf + used, n - (size_t)used, &prev, &out);
        CHECK(m > 0);
        if (m <= 0)
            return;
        used += m;
        CHECK(runnel_id_cmp(out, ids[k]) == 0);
    }
    CHECK_EQ_U64((uint64_t)used, n);

    /* a consumer's IDs: the next seq, or the next ms with seq 0 */
    prev = ID(1700000000000ull, 3);
    CHECK_EQ_U64(grp_idlist_put(buf, &prev, ID(1700000000000ull, 4)), 1);
    CHECK_EQ_U64(grp_idlist_put(buf, &prev, ID(1700000000009ull, 0)), 1);
    CHECK_EQ_U64(grp_idlist_put(buf, &prev, ID(1700000000009ull, 2)), 1);

    /* refused: a step of no ms, past the top, a cut varint */
    base = ID(7, 0);
    bad[0] = 2;                                 /* ms + 0, seq 0 */
    CHECK_EQ_INT(grp_idlist_get(bad, 1, &base, &out), -1);
    bad[0] = 0;                                 /* in full, seq missing */
    bad[1] = 0;
    CHECK_EQ_INT(grp_idlist_get(bad, 2, &base, &out), -1);
    bad[2] = 9;                                 /* in full: 0-9 */
    CHECK_EQ_INT(grp_idlist_get(bad, 3, &base, &out), 3);
    CHECK(runnel_id_cmp(out, ID(0, 9)) == 0);
    base = ID(UINT64_MAX, UINT64_MAX);
    bad[0] = 1;                                 /* seq + 1 */
    CHECK_EQ_INT(grp_idlist_get(bad, 1, &base, &out), -1);
    bad[0] = 6;                                 /* ms + 1, seq 0 */
    CHECK_EQ_INT(grp_idlist_get(bad, 1, &base, &out), -1);
    bad[0] = 0x80;                              /* a varint cut short */
    CHECK_EQ_INT(grp_idlist_get(bad, 1, &base, &out), -1);
    bad[0] = 4;                                 /* ms + 1, seq missing */
    base = ID(7, 0);
    CHECK_EQ_INT(grp_idlist_get(bad, 1, &base, &out), -1);
}

static void test_xack_batch(void)
{
    runnel_t *r = open_store(4, 8, 256);
    runnel_id_t ids[12];
    uint64_t acked = 0, total = 0;
    runnel_id_t mn, mx;
    int n = 0;

    CHECK(r != NULL);
    if (r == NULL)
        return;
    for (uint64_t i = 1; i <= 40; i++)
        CHECK(add(r, "s", i, 0) == 1);
    CHECK(runnel_xgroup_create(r, S("s"), S("a"), ID(0, 0), false, false, -1) == 0);
    CHECK(runnel_xgroup_create(r, S("s"), S("b"), ID(0, 0), false, false, -1) == 0);
    CHECK_EQ_INT(readgroup(r, "s", "a", "c1", true, ID(0, 0), 20, false), 20);
    CHECK_EQ_INT(readgroup(r, "s", "b", "c2", true, ID(0, 0), 40, false), 40);
    CHECK_EQ_INT(readgroup(r, "s", "a", "c3", true, ID(0, 0), 20, false), 20);

    /* out of order, duplicates, not pending (41-0 does not exist, 0-5 never) */
    ids[0] = ID(7, 0);  ids[1] = ID(3, 0);  ids[2] = ID(7, 0);  ids[3] = ID(41, 0);
    ids[4] = ID(25, 0); ids[5] = ID(1, 0);  ids[6] = ID(0, 5);  ids[7] = ID(40, 0);
    ids[8] = ID(3, 0);  ids[9] = ID(21, 0); ids[10] = ID(20, 0); ids[11] = ID(40, 0);
    CHECK(runnel_xack(r, S("s"), S("a"), ids, 12, &acked) == 0);
    CHECK_EQ_U64(acked, 7);   /* 7 3 25 1 40 21 20 are pending, once each */
    CHECK(runnel_xpending_summary(r, S("s"), S("a"), &total, &mn, &mx, NULL, NULL) >= 0);
    CHECK_EQ_U64(total, 40 - acked);
    CHECK(runnel_xpending_summary(r, S("s"), S("b"), &total, &mn, &mx, NULL, NULL) >= 0);
    CHECK_EQ_U64(total, 40);
    /* survivors of group a are all still found: ack them one by one */
    for (uint64_t i = 1; i <= 40; i++) {
        runnel_id_t one = ID(i, 0);
        bool gone = i == 1 || i == 3 || i == 7 || i == 20 || i == 21 || i == 25 || i == 40;
        CHECK(runnel_xack(r, S("s"), S("a"), &one, 1, &acked) == 0);
        CHECK_EQ_U64(acked, gone ? 0 : 1);
    }
    CHECK(runnel_xpending(r, S("s"), S("a"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 100, -1,
                          (runnel_str_t){NULL, 0}, pending_count_fn, &n) == 0);
    CHECK_EQ_INT(n, 0);
    n = 0;
    CHECK(runnel_xpending(r, S("s"), S("b"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 100, -1,
                          (runnel_str_t){NULL, 0}, pending_count_fn, &n) >= 0);
    CHECK_EQ_INT(n, 40);
}

TEST_MAIN(
    RUN(test_lag_examples);
    RUN(test_lag_with_tombstone);
    RUN(test_xgroup_commands);
    RUN(test_readgroup);
    RUN(test_history_deleted_and_counts);
    RUN(test_summary_and_delconsumer);
    RUN(test_xclaim);
    RUN(test_xautoclaim);
    RUN(test_pools);
    RUN(test_snapshot_replay);
    RUN(test_xack_batch);
    RUN(test_idlist);
)
