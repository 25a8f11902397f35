/*
 * test_mount.c - runnel_mount: the whole engine state back after a restart
 * or a power cut, across ring wraps, checkpoints and the full-ring drop.
 *
 *   restarts   a random workload (10 streams written in turn, XDEL, exact
 *              and '~' trims, XSETID, DEL, groups: XREADGROUP, XACK,
 *              XCLAIM, XAUTOCLAIM, DELCONSUMER) on a small ring that wraps
 *              many times, under DROP_OLDEST and REFUSE: at random points
 *              commit, mount into a fresh arena, and compare a fingerprint
 *              of everything a client can observe (XINFO STREAM, every
 *              entry with its fields, XINFO GROUPS and CONSUMERS, the full
 *              PEL) before and after. Three geometries.
 *   errors     a blank device, another block size: their own errors, and
 *              mount never changes a byte of the device.
 *   power cuts port/emu cuts the power at every k-th program or erase of
 *              a workload committing every mutation (COMMIT_ALWAYS), with
 *              every cut model; mount must succeed and show the state after
 *              the last completed operation or after the one in flight -
 *              never anything else - and keep working after it.
 */
#include <string.h>

#include "runnel.h"
#include "ram_bd.h"
#include "emu_bd.h"
#include "testing.h"

#define NKEYS 10
#define STORE_MAX (256u * 1024u)
#define ARENA_BYTES (640u * 1024u)

static uint8_t storage[STORE_MAX];
static uint8_t shadow[STORE_MAX];
static uint64_t arena_a[ARENA_BYTES / 8u];
static uint64_t now_ms;
static uint32_t erases[64];
static uint64_t rng;

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}
static const runnel_clock_t fake_clock = { NULL, clock_now };

static uint32_t rn(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static runnel_str_t S(const char *s)
{
    runnel_str_t r;
    r.p = s;
    r.len = strlen(s);
    return r;
}

static const char *const keys[NKEYS] = { "s0", "s1", "s2", "s3", "s4",
                                         "s5", "s6", "s7", "s8", "s9" };
static const char *const groups[2] = { "ga", "gb" };
static const char *const consumers[3] = { "c1", "c2", "c3" };

/* ---- fingerprint: FNV-1a over everything observable ---- */

static uint64_t fp;
static void mix(const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n--) {
        fp ^= *b++;
        fp *= 0x100000001B3ull;
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
        mix(e->fv[i].p, e->fv[i].len);
    }
    return 0;
}

static runnel_t *FR;
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
    runnel_consumers(FR, S(fp_key), S(name), fp_consumer, NULL);
    runnel_xpending(FR, S(fp_key), S(name), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, -1,
                    (runnel_str_t){NULL, 0}, fp_pending, NULL);
    return 0;
}

static uint64_t fingerprint(runnel_t *r)
{
    int k;

    fp = 0xCBF29CE484222325ull;
    FR = r;
    mix_u64(runnel_dbsize(r));
    for (k = 0; k < NKEYS; k++) {
        runnel_stream_info_t si;

        fp_key = keys[k];
        if (runnel_stream_info(r, S(keys[k]), &si) != 0) {
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
        runnel_xrange(r, S(keys[k]), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, fp_entry, NULL);
        runnel_groups(r, S(keys[k]), fp_group, NULL);
    }
    return fp;
}

/* ---- the workload ---- */

static int ack_ids_fn(void *ctx, const runnel_entry_t *e)
{
    runnel_id_t *ids = ctx;
    if (ids[0].seq < 16) {
        ids[1 + ids[0].seq] = e->id;
        ids[0].seq++;
    }
    return 0;
}

/* One random operation; its result code is not the point (errors such as
 * NOSPC under REFUSE are part of the workload), the state is. */
static bool xadd_trims = true;  /* the power-cut runs: one record per op */

static runnel_id_t pend[4];
static size_t pend_n;
static int pend_fn(void *ctx, const runnel_pending_t *p)
{
    (void)ctx;
    if (pend_n < 4)
        pend[pend_n++] = p->id;
    return 0;
}

static int one_op(runnel_t *r)
{
    const char *key = keys[rn(NKEYS)];
    uint32_t op = rn(100);
    char val[48];
    int n;

    now_ms += rn(3);
    if (op < 55) {
        runnel_xadd_args_t a;
        runnel_str_t fv[4];
        runnel_id_t id;

        memset(&a, 0, sizeof a);
        n = (int)rn(40);
        memset(val, 'a' + (int)rn(26), (size_t)n);
        fv[0] = S("temp");
        fv[1].p = val;
        fv[1].len = (size_t)n;
        fv[2] = S(rn(4) == 0 ? "humidity" : "rh");
        fv[3] = S("42");
        a.key = S(key);
        a.id_mode = RUNNEL_XADD_AUTO;
        a.fv = fv;
        a.nfields = rn(5) == 0 ? 2 : 1;
        if (rn(8) == 0 && xadd_trims) {
            a.trim.strategy = RUNNEL_TRIM_MAXLEN;
            a.trim.approx = rn(2) == 0;
            a.trim.maxlen = rn(200);
            a.trim.limit = -1;
        }
        return runnel_xadd(r, &a, &id);
    }
    if (op < 60) {
        runnel_id_t ids[2];
        uint64_t del;
        ids[0].ms = now_ms - rn(400);
        ids[0].seq = 0;
        ids[1].ms = now_ms - rn(50);
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
        t.minid.ms = now_ms - rn(300);
        t.limit = -1;
        return runnel_xtrim(r, S(key), &t, &del);
    }
    if (op < 64) {
        runnel_xsetid_args_t a;
        memset(&a, 0, sizeof a);
        a.key = S(key);
        a.last_id.ms = now_ms + rn(5);
        return runnel_xsetid(r, &a);
    }
    if (op < 65)
        return rn(3) == 0 ? runnel_del(r, S(key)) : 0;
    if (op < 70)
        return runnel_xgroup_create(r, S(key), S(groups[rn(2)]), RUNNEL_ID_MIN, rn(2) == 0,
                                    true, -1);
    if (op < 85) {
        runnel_xreadgroup_args_t a;
        runnel_id_t ids[17];
        uint64_t acked;
        int rc;

        memset(&a, 0, sizeof a);
        memset(ids, 0, sizeof ids);
        a.key = S(key);
        a.group = S(groups[rn(2)]);
        a.consumer = S(consumers[rn(3)]);
        a.new_entries = rn(5) != 0;
        a.count = 1 + (int64_t)rn(8);
        rc = runnel_xreadgroup(r, &a, ack_ids_fn, ids);
        /* the power-cut runs want one command per operation: they ack in
         * an operation of their own, below */
        if (rc > 0 && rn(2) == 0 && ids[0].seq > 0 && xadd_trims)
            (void)runnel_xack(r, a.key, a.group, ids + 1, (size_t)ids[0].seq - rn(2), &acked);
        return rc;
    }
    if (op < 88 && !xadd_trims) {
        runnel_id_t ids[4];
        uint64_t acked;
        pend_n = 0;
        memset(pend, 0, sizeof pend);
        (void)runnel_xpending(r, S(key), S(groups[rn(2)]), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 3, -1,
                              (runnel_str_t){NULL, 0}, pend_fn, NULL);
        memcpy(ids, pend, sizeof ids);
        return runnel_xack(r, S(key), S(groups[op & 1u]), ids, pend_n, &acked);
    }
    if (op < 92) {
        runnel_xautoclaim_args_t a;
        runnel_id_t next, deleted[8];
        size_t nd;

        memset(&a, 0, sizeof a);
        a.key = S(key);
        a.group = S(groups[rn(2)]);
        a.consumer = S(consumers[rn(3)]);
        a.min_idle_ms = rn(20);
        a.start = RUNNEL_ID_MIN;
        a.count = 4;
        a.deleted = deleted;
        a.deleted_cap = 8;
        return runnel_xautoclaim(r, &a, &next, &nd, NULL, NULL);
    }
    if (op < 94) {
        uint64_t pending_count;
        return runnel_xgroup_delconsumer(r, S(key), S(groups[rn(2)]), S(consumers[rn(3)]),
                                         &pending_count);
    }
    if (op < 95)
        return runnel_xgroup_destroy(r, S(key), S(groups[rn(2)]));
    return 0;
}

static void config_for(runnel_config_t *c, runnel_bd_t *bd, runnel_full_policy_t policy)
{
    memset(c, 0, sizeof *c);
    c->bd = bd;
    c->clock = &fake_clock;
    c->arena = arena_a;
    c->arena_size = sizeof arena_a;
    c->max_streams = NKEYS + 2;
    c->max_nodes = 512;
    c->max_groups = 2 * NKEYS;
    c->max_consumers = 6 * NKEYS;
    c->max_pending = 1024;
    c->max_fields = 4;
    c->node_max_entries = 20;
    c->full_policy = policy;
    c->commit_policy = RUNNEL_COMMIT_NONE;
    c->checkpoint_blocks = 6;
    c->durable = &runnel_durability;
}

/* ---- restarts ---- */

static void restarts(uint32_t prog, uint32_t block, uint32_t count, runnel_full_policy_t policy,
                     uint64_t seed)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = { 1, prog, block, count, 0xFF, 0 };
    runnel_config_t c;
    runnel_t *r = NULL;
    runnel_stats_t st;
    uint32_t i, mounts = 0, mismatches = 0;

    rng = seed;
    now_ms = 1700000000000ull;
    memset(erases, 0, sizeof erases);
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erases), 0);
    config_for(&c, &bd, policy);
    CHECK_EQ_INT(runnel_format(&r, &c), 0);
    for (i = 0; i < 40000; i++) {
        (void)one_op(r);
        if (rn(300) == 0) {
            uint64_t before, after;
            int rc;

            CHECK_EQ_INT(runnel_commit(r), 0);
            before = fingerprint(r);
            rc = runnel_mount(&r, &c);
            CHECK_EQ_INT(rc, 0);
            if (rc != 0)
                return;
            after = fingerprint(r);
            mounts++;
            if (before != after) {
                mismatches++;
                if (mismatches < 3)
                    printf("    restart %u (op %u): state differs after mount\n",
                           (unsigned)mounts, (unsigned)i);
            }
        }
    }
    runnel_stats(r, &st);
    {
        uint64_t blocks = 0, k;
        for (k = 0; k < count; k++)
            blocks += erases[k];
        printf("    prog %u, block %u x %u, %s: %u restarts, %u mismatches; %.1f ring passes\n",
               (unsigned)prog, (unsigned)block, (unsigned)count,
               policy == RUNNEL_FULL_DROP_OLDEST ? "drop-oldest" : "refuse", (unsigned)mounts,
               (unsigned)mismatches, (double)blocks / count);
        /* the ring wrapped (reclaim and checkpoints ran); how often depends
         * on how often a consumer's reads make a checkpoint due first */
        CHECK(blocks > count + count / 4u);
    }
    CHECK(mounts > 50);
    CHECK_EQ_U64(mismatches, 0);
    CHECK_EQ_U64(rb.prog_violations, 0);
}

static void test_restarts(void)
{
    restarts(1, 4096, 24, RUNNEL_FULL_DROP_OLDEST, 11);
    restarts(16, 2048, 48, RUNNEL_FULL_DROP_OLDEST, 12);
    restarts(1, 4096, 24, RUNNEL_FULL_REFUSE, 13);
    restarts(256, 16384, 12, RUNNEL_FULL_DROP_OLDEST, 14);
}

/* ---- errors ---- */

static void test_errors(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = { 1, 1, 4096, 16, 0xFF, 0 };
    runnel_config_t c;
    runnel_t *r = NULL;

    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, NULL), 0);
    memset(storage, 0xFF, 4096u * 16u);
    config_for(&c, &bd, RUNNEL_FULL_REFUSE);
    CHECK_EQ_INT(runnel_mount(&r, &c), RUNNEL_ERR_NOT_FORMATTED);
    CHECK(r == NULL);

    /* A store, its image, then mount: not a byte changes. */
    CHECK_EQ_INT(runnel_format(&r, &c), 0);
    now_ms = 1700000000000ull;
    rng = 5;
    {
        int i;
        for (i = 0; i < 500; i++)
            (void)one_op(r);
    }
    CHECK_EQ_INT(runnel_commit(r), 0);
    memcpy(shadow, storage, 4096u * 16u);
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK(memcmp(shadow, storage, 4096u * 16u) == 0);

    /* The same image read as 8 KiB blocks: another geometry, untouched. */
    {
        runnel_bd_geometry_t g8 = { 1, 1, 8192, 8, 0xFF, 0 };
        CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g8, storage, NULL), 0);
        memcpy(storage, shadow, 4096u * 16u);   /* init erased it */
        config_for(&c, &bd, RUNNEL_FULL_REFUSE);
        CHECK_EQ_INT(runnel_mount(&r, &c), RUNNEL_ERR_GEOMETRY);
        CHECK(memcmp(shadow, storage, 4096u * 16u) == 0);
    }
}

/* ---- power cuts ---- */

static uint64_t fps[4096];

static void power_cuts(uint32_t prog, uint32_t block, uint32_t count, uint32_t stride)
{
    static runnel_emu_bd_t eb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = { 1, prog, block, count, 0xFF, 0 };
    runnel_config_t c;
    runnel_t *r = NULL;
    uint64_t total_ops = 0, cut, cuts = 0, failures = 0, base, dry_erases;
    uint32_t nops = 700, i, m;

    /* A dry run: how many program/erase operations, and the fingerprint
     * after every operation (fps[i] = after op i; fps[0] = empty). */
    CHECK_EQ_INT(runnel_emu_bd_init(&eb, &bd, &g, storage, NULL, 1), 0);
    config_for(&c, &bd, RUNNEL_FULL_DROP_OLDEST);
    c.commit_policy = RUNNEL_COMMIT_ALWAYS;
    rng = 77;
    now_ms = 1700000000000ull;
    CHECK_EQ_INT(runnel_format(&r, &c), 0);
    base = eb.mut_ops;
    fps[0] = fingerprint(r);
    for (i = 1; i <= nops; i++) {
        (void)one_op(r);
        fps[i] = fingerprint(r);
    }
    total_ops = eb.mut_ops - base;
    dry_erases = eb.erases;

    for (m = 0; m < 4; m++) {
        for (cut = 1 + (m * 7u) % stride; cut <= total_ops; cut += stride) {
            uint64_t got;
            bool ok = false;

            CHECK_EQ_INT(runnel_emu_bd_init(&eb, &bd, &g, storage, NULL, (uint32_t)cut), 0);
            config_for(&c, &bd, RUNNEL_FULL_DROP_OLDEST);
            c.commit_policy = RUNNEL_COMMIT_ALWAYS;
            rng = 77;
            now_ms = 1700000000000ull;
            if (runnel_format(&r, &c) != 0) {
                failures++;
                continue;
            }
            runnel_emu_bd_schedule_cut(&eb, eb.mut_ops + cut, (runnel_emu_cut_model_t)m);
            /* the same reads as the dry run: reads decide when checkpoints
             * are written (reclaim.c), so the runs must not differ there */
            (void)fingerprint(r);
            for (i = 1; i <= nops && !runnel_emu_bd_cut_happened(&eb); i++) {
                (void)one_op(r);
                if (!runnel_emu_bd_cut_happened(&eb))
                    (void)fingerprint(r);
            }
            cuts++;
            /* i - 1 ops ran; op i - 1 was in flight when power went (or
             * the workload ended) */
            runnel_emu_bd_power_on(&eb);
            if (runnel_mount(&r, &c) != 0) {
                if (failures++ < 3)
                    printf("    cut %llu (%s): mount failed\n", (unsigned long long)cut,
                           runnel_emu_cut_model_name((runnel_emu_cut_model_t)m));
                continue;
            }
            got = fingerprint(r);
            ok = got == fps[i - 1] || (i >= 2 && got == fps[i - 2]);
            if (ok) {
                /* and it goes on: more operations, another mount */
                uint32_t j;
                for (j = 0; j < 60; j++)
                    (void)one_op(r);
                got = fingerprint(r);
                ok = runnel_commit(r) == 0 && runnel_mount(&r, &c) == 0 && fingerprint(r) == got;
            }
            if (!ok && failures++ < 3)
                printf("    cut %llu (%s) at op %u: state is neither before nor after it\n",
                       (unsigned long long)cut,
                       runnel_emu_cut_model_name((runnel_emu_cut_model_t)m), (unsigned)(i - 1));
        }
    }
    printf("powercut: engine prog %u / %u B blocks x %u: %llu cuts, %llu failures (%u commands "
           "and %llu program/erase operations per run, %.1f ring passes, every %u-th cut "
           "point, 4 cut models)\n",
           (unsigned)prog, (unsigned)block, (unsigned)count, (unsigned long long)cuts,
           (unsigned long long)failures, (unsigned)nops, (unsigned long long)total_ops,
           (double)dry_erases / count, (unsigned)stride);
    /* These runs stay inside one pass of the ring: cuts while the ring
     * wraps (checkpoint renewal, reclaim, drops) are not yet survived in
     * every case (see the issue note), and this test does not claim them. */
    CHECK(cuts > 0);
    CHECK_EQ_U64(failures, 0);
}

#ifndef MOUNT_CUT_STRIDE
#define MOUNT_CUT_STRIDE 11u
#endif

static void test_power_cuts(void)
{
    /* Every operation of this workload is one record (XADD without a
     * trim: an XADD that trims writes the entry and the TRIM record, and a
     * cut between them leaves the entry without the trim, a state between
     * "before" and "after" that this oracle does not accept). A stream's
     * creation with its first entry is two records, which mount treats as
     * one (mount.c). */
    xadd_trims = false;
    power_cuts(1, 4096, 12, MOUNT_CUT_STRIDE);
    power_cuts(16, 2048, 24, MOUNT_CUT_STRIDE);
}

TEST_MAIN(
    RUN(test_errors);
    RUN(test_restarts);
    RUN(test_power_cuts);
)
