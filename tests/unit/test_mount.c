/*
 * test_mount.c - runnel_mount: the whole engine state back after a restart
 * or a power cut, across ring wraps, checkpoints and the full-ring drop.
 *
 *   restarts   the shared random workload (store_workload.h: ten streams,
 *              every ID form, XDEL, exact and '~' trims, XSETID, DEL,
 *              groups with XREADGROUP, XACK, XCLAIM, XAUTOCLAIM) on a small
 *              ring that wraps many times, under DROP_OLDEST and REFUSE: at
 *              random points commit, mount into a fresh arena, and compare a
 *              fingerprint of everything a client can observe before and
 *              after. Three geometries.
 *              Every checkpoint's BEGIN is the first record of its block
 *              (FORMAT.md, format 3), and finding the newest one reads at
 *              most a small frame per block (no walk of the records).
 *   reserve    the checkpoint reserve is measured from the state as a
 *              checkpoint codes it: with 2,000 pending entries of two
 *              groups and five consumers, the checkpoint written right
 *              after fits the blocks measured, and the measure is not
 *              far above them (it sizes the reserve and the checkpoint
 *              interval, so mount's replay).
 *   errors     a blank device, another block size: their own errors, and
 *              mount never changes a byte of the device.
 *   ghost_first  a stream's first ID while the replay still holds a node
 *              whose records the ring reused: that node's first entry.
 *   stubs      a long stream's older nodes in node runs a checkpoint names
 *              (checkpoint_stub.c): reads, XDEL and trims load only the
 *              runs they need, a second checkpoint names the unchanged
 *              ones again (also those reads loaded), mount reads none, a
 *              damaged one fails only the reads that need it.
 *   dir_refs   a checkpoint names the last one's directory records again
 *              (CKPT_DIR_REF) when none of their runs changed.
 * Power cuts are test_powercut.c's.
 */
#include <stdio.h>
#include <string.h>

#include "runnel.h"
#include "ram_bd.h"
#include "testing.h"
#include "store_workload.h"
#include "store.h"      /* the log, and mount's read counts per step */

#define STORE_MAX (256u * 1024u)
#define ARENA_BYTES (640u * 1024u)

static uint8_t storage[STORE_MAX];
static uint8_t shadow[STORE_MAX];
static uint64_t arena_a[ARENA_BYTES / 8u];
static uint64_t arena_b[ARENA_BYTES / 8u];
static uint32_t erases[64];

static void config_for(runnel_config_t *c, runnel_bd_t *bd, runnel_full_policy_t policy)
{
    wl_config(c, bd, arena_a, sizeof arena_a, 512, 1024);
    c->full_policy = policy;
}

/* ---- restarts ---- */

/* Checkpoints (BEGIN records) that do not open their block, from the
 * tail to the head: a BEGIN opens it when it is the block's first record
 * or only its checkpoint's node runs come before it (checkpoint_stub.c). */
static uint32_t begins_inside_blocks(runnel_t *r, uint32_t *begins)
{
    runnel__rec_t rec;
    runnel_pos_t pos = r->log.tail;
    uint64_t block = UINT64_MAX;
    uint32_t bad = 0;
    bool only_runs = false;
    int got;

    *begins = 0;
    while ((got = runnel__log_next(&r->log, pos, &rec)) == 1) {
        if (rec.pos / r->log.block_size != block)
            only_runs = true;
        block = rec.pos / r->log.block_size;
        if (rec.type == RUNNEL_REC_CKPT_BEGIN) {
            (*begins)++;
            bad += only_runs ? 0u : 1u;
        }
        only_runs = only_runs && (rec.type == RUNNEL_REC_CKPT_NODE_RUN ||
                                 rec.type == RUNNEL_REC_CKPT_NODE_MORE);
        pos = rec.next;
    }
    CHECK_EQ_INT(got, 0);
    return bad;
}

/* Differences between two mounted engines' stream tables and node
 * descriptors, field by field (XINFO STREAM FULL's state and what reads
 * and XADD use), node by node in index order; the tail caches of
 * stream_add.c are left out (keyed by position, rebuilt on demand), and
 * node slots are compared by what they hold, not by their number. The
 * node runs mount left on flash are loaded first (their CRCs and sums
 * checked): two mounts may have loaded different ones. */
static uint32_t state_diff(runnel_t *a, runnel_t *b)
{
    uint32_t i, d = 0;

    CHECK_EQ_INT(runnel__stubs_load_all(a), 0);
    CHECK_EQ_INT(runnel__stubs_load_all(b), 0);
    if (a->streams_used != b->streams_used || a->nodes_used != b->nodes_used ||
        a->stats.dropped_entries != b->stats.dropped_entries)
        return 1;
    for (i = 0; i < a->streams_cap; i++) {
        const struct runnel__stream *x = &a->streams[i], *y = &b->streams[i];
        if (x->used != y->used)
            d++;
        if (!x->used || !y->used)
            continue;
        d += runnel_id_cmp(x->last_id, y->last_id) != 0;
        d += runnel_id_cmp(x->first_id, y->first_id) != 0 && !x->first_stale;
        d += x->first_stale != y->first_stale;
        d += runnel_id_cmp(x->max_deleted, y->max_deleted) != 0;
        d += runnel_id_cmp(x->last_valid, y->last_valid) != 0;
        d += x->entries_added != y->entries_added || x->length != y->length;
        d += x->dropped != y->dropped || x->db != y->db || x->name_len != y->name_len;
        d += memcmp(&x->sync, &y->sync, sizeof x->sync) != 0;
        d += (x->tail_node == RUNNEL__NONE) != (y->tail_node == RUNNEL__NONE);
        if (x->tail_node != RUNNEL__NONE && y->tail_node != RUNNEL__NONE)
            d += a->nodes[x->tail_node].first_pos != b->nodes[y->tail_node].first_pos;
    }
    for (i = 0; i < a->nodes_used; i++) {
        uint32_t sa = a->node_order[i], sb = b->node_order[i];
        const struct runnel__node *x = &a->nodes[sa], *y = &b->nodes[sb];
        d += runnel_id_cmp(x->first, y->first) != 0 || runnel_id_cmp(x->last, y->last) != 0;
        d += x->first_pos != y->first_pos || x->last_pos != y->last_pos;
        d += x->sidx != y->sidx || x->count != y->count || x->live != y->live;
        d += x->lp_rest != y->lp_rest || x->fields_hash != y->fields_hash;
        d += x->first_size != y->first_size || x->unordered != y->unordered;
        d += x->read_at != y->read_at;
        d += memcmp(a->bitmaps + (size_t)sa * a->bitmap_bytes,
                    b->bitmaps + (size_t)sb * b->bitmap_bytes, a->bitmap_bytes) != 0;
    }
    return d;
}

/* The store mounted a second time into arena_b with every record replayed
 * (summaries ignored): it must be the state the mount through the
 * summaries built. Returns the differences. */
static uint32_t summaries_agree(runnel_t *r, const runnel_config_t *c0)
{
    runnel_config_t c = *c0;
    runnel_t *full = NULL;
    uint32_t d;

    c.arena = arena_b;
    c.arena_size = sizeof arena_b;
    if (runnel__mount_no_summaries(&full, &c) != 0)
        return 1;
    d = state_diff(r, full);
    if (full->mount_summaries != 0 || wl_fingerprint(full) != wl_fingerprint(r))
        d++;
    return d;
}

static void restarts(uint32_t prog, uint32_t block, uint32_t count, runnel_full_policy_t policy,
                     uint64_t seed)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = { 1, prog, block, count, 0xFF, 0 };
    runnel_config_t c;
    runnel_t *r = NULL;
    runnel_stats_t st;
    uint32_t i, mounts = 0, mismatches = 0, begins = 0, n, slow_finds = 0, unequal = 0;
    uint64_t by_summary = 0, stubs = 0, loads = 0;

    wl_rng = seed;
    wl_now_ms = 1700000000000ull;
    memset(erases, 0, sizeof erases);
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erases), 0);
    config_for(&c, &bd, policy);
    CHECK_EQ_INT(runnel_format(&r, &c), 0);
    for (i = 0; i < 40000; i++) {
        (void)wl_op(r, 39);
        if (rn(300) == 0) {
            uint64_t before, after;
            int rc;

            CHECK_EQ_INT(runnel_commit(r), 0);
            before = wl_fingerprint(r);
            rc = runnel_mount(&r, &c);
            CHECK_EQ_INT(rc, 0);
            if (rc != 0)
                return;
            stubs += r->stubs + r->stats.stub_loads;   /* before reads load them */
            loads += r->stats.stub_loads;
            after = wl_fingerprint(r);
            mounts++;
            by_summary += r->mount_summaries;
            if (summaries_agree(r, &c) != 0 && ++unequal < 3)
                printf("    restart %u (op %u): summaries and full replay differ\n",
                       (unsigned)mounts, (unsigned)i);
            /* one frame of the first record per block (a few reads when a
             * fence or a header-only commit comes first), never a walk */
            if (r->mount_phase_bytes[RUNNEL__MOUNT_FIND] > 64u * count)
                slow_finds++;
            CHECK_EQ_U64(begins_inside_blocks(r, &n), 0);
            begins += n;
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
        printf("    prog %u, block %u x %u, %s: %u restarts, %u mismatches; %.1f ring passes; "
               "%lu blocks by summary, %u differ from a full replay; %lu node runs named by "
               "the checkpoints mounted, %lu of them loaded by the mounts\n",
               (unsigned)prog, (unsigned)block, (unsigned)count,
               policy == RUNNEL_FULL_DROP_OLDEST ? "drop-oldest" : "refuse", (unsigned)mounts,
               (unsigned)mismatches, (double)blocks / count, (unsigned long)by_summary,
               (unsigned)unequal, (unsigned long)stubs, (unsigned long)loads);
        /* the ring wrapped (reclaim and checkpoints ran); how often depends
         * on how often a consumer's reads make a checkpoint due first */
        CHECK(blocks > count + count / 4u);
    }
    CHECK(mounts > 50);
    CHECK(begins > 0);
    CHECK(stubs > mounts);      /* runs named, and loaded by the reads */
    CHECK_EQ_U64(slow_finds, 0);
    CHECK_EQ_U64(mismatches, 0);
    CHECK_EQ_U64(unequal, 0);
    /* the summaries were used (on 16 KiB blocks this workload's summaries
     * outgrow their 1 KiB buffer: those blocks are replayed in full) */
    CHECK(by_summary > mounts || block > 4096u);
    CHECK_EQ_U64(rb.prog_violations, 0);
}

static void test_restarts(void)
{
    restarts(1, 4096, 24, RUNNEL_FULL_DROP_OLDEST, 11);
    restarts(16, 2048, 48, RUNNEL_FULL_DROP_OLDEST, 12);
    restarts(1, 4096, 24, RUNNEL_FULL_REFUSE, 13);
    restarts(256, 16384, 12, RUNNEL_FULL_DROP_OLDEST, 14);
}

/* ---- reserve ---- */

static int count_entry(void *ctx, const runnel_entry_t *e)
{
    (void)e;
    (*(uint32_t *)ctx)++;
    return 0;
}

static void test_reserve(void)
{
    static const char *const cons[] = { "c0", "consumer-one", "c2", "x", "a-longer-consumer" };
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = { 1, 1, 4096, 56, 0xFF, 0 };
    runnel_config_t c;
    runnel_t *r = NULL;
    runnel_id_t id;
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    char val[40];
    uint32_t i, got = 0, need, bs = 4096, used;
    uint64_t before;

    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, NULL), 0);
    wl_config(&c, &bd, arena_a, sizeof arena_a, 512, 4096);
    c.checkpoint_blocks = 1000;     /* only the one written below */
    CHECK_EQ_INT(runnel_format(&r, &c), 0);
    wl_now_ms = 1700000000000ull;
    memset(&a, 0, sizeof a);
    a.key = S("k");
    a.fv = fv;
    a.nfields = 1;
    a.id_mode = RUNNEL_XADD_AUTO;
    fv[0] = S("temp");
    for (i = 0; i < 1200; i++) {
        snprintf(val, sizeof val, "%u", (unsigned)(i * 7919u));
        fv[1] = S(val);
        wl_now_ms += 1u + i % 3u;
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
    }
    CHECK_EQ_INT(runnel_xgroup_create(r, S("k"), S("g1"), RUNNEL_ID_MIN, false, false, -1), 0);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("k"), S("group-two"), RUNNEL_ID_MIN, false, false, -1), 0);
    /* consumers take turns, the clock moves between reads */
    for (i = 0; i < 400; i++) {
        runnel_xreadgroup_args_t ra;

        memset(&ra, 0, sizeof ra);
        ra.key = S("k");
        ra.group = i % 2u == 0 ? S("g1") : S("group-two");
        ra.consumer = S(cons[i % 5u]);
        ra.new_entries = true;
        ra.count = 1u + i % 9u;
        wl_now_ms += 1u + (i * 37u) % 1000u;
        CHECK(runnel_xreadgroup(r, &ra, count_entry, &got) >= 0);
    }
    CHECK(got > 1500);
    /* measure now, then write the checkpoint it is for */
    r->ckpt_sized_blk = 0;
    runnel__checkpoint_maybe(r);
    need = r->ckpt_need;
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    used = (uint32_t)((r->log.head - 1u) / bs - r->ckpt_pos / bs + 1u);
    printf("    %u pending: checkpoint takes %u blocks, measured %u\n", (unsigned)got,
           (unsigned)used, (unsigned)need);
    CHECK(used <= need);
    CHECK(need <= 2u * used + 2u);
    /* and it is the state */
    before = wl_fingerprint(r);
    CHECK_EQ_INT(runnel_commit(r), 0);
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK_EQ_U64(wl_fingerprint(r), before);
}

/* ---- node runs left on flash (checkpoint_stub.c) ---- */

#define STUB_ENTRIES 8000u
static runnel_id_t stub_ids[STUB_ENTRIES + 64u];

typedef struct id_list {
    runnel_id_t ids[64];
    uint32_t n;
} id_list_t;

static int list_ids(void *ctx, const runnel_entry_t *e)
{
    id_list_t *l = ctx;

    if (l->n < 64u)
        l->ids[l->n] = e->id;
    l->n++;
    return 0;
}

/* XRANGE [ids[a], ids[b]] of "k" gives exactly ids[a..b] (b - a < 64). */
static bool range_is(runnel_t *r, uint32_t a, uint32_t b)
{
    id_list_t l;
    uint32_t i;

    memset(&l, 0, sizeof l);
    if (runnel_xrange(r, S("k"), stub_ids[a], stub_ids[b], -1, false, list_ids, &l) < 0 ||
        l.n != b - a + 1u)
        return false;
    for (i = 0; i < l.n; i++)
        if (runnel_id_cmp(l.ids[i], stub_ids[a + i]) != 0)
            return false;
    return true;
}

static int fp_mix_entry(void *ctx, const runnel_entry_t *e)
{
    uint64_t *h = ctx;
    uint32_t i;

    *h = (*h ^ e->id.ms) * 0x100000001B3ull;
    *h = (*h ^ e->id.seq) * 0x100000001B3ull;
    for (i = 0; i < 2u * e->nfields; i++) {
        size_t k;
        for (k = 0; k < e->fv[i].len; k++)
            *h = (*h ^ (uint8_t)e->fv[i].p[k]) * 0x100000001B3ull;
    }
    return 0;
}

/* Everything of a stream a client sees: XINFO STREAM's numbers, every
 * entry both ways. */
static uint64_t stream_fp(runnel_t *r, const char *key)
{
    runnel_stream_info_t si;
    uint64_t h = 0xCBF29CE484222325ull;

    if (runnel_stream_info(r, S(key), &si) != 0)
        return 0;
    h = (h ^ si.length) * 0x100000001B3ull;
    h = (h ^ si.nodes) * 0x100000001B3ull;
    h = (h ^ si.entries_added) * 0x100000001B3ull;
    h = (h ^ si.first_id.ms ^ si.last_id.ms ^ si.max_deleted.ms) * 0x100000001B3ull;
    if (runnel_xrange(r, S(key), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, fp_mix_entry, &h) < 0 ||
        runnel_xrange(r, S(key), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, true, fp_mix_entry, &h) < 0)
        return 1;
    return h;
}

static uint64_t nodes_of(runnel_t *r, const char *key)
{
    runnel_stream_info_t si;

    return runnel_stream_info(r, S(key), &si) == 0 ? si.nodes : UINT64_MAX;
}

/* The store of the node-run tests: 64 blocks of 4 KiB (NOR) that get a
 * checkpoint only when a test writes one, max_streams if not 0, and XADD
 * arguments of one field "v" (its value set by the caller) with IDs
 * from the clock. */
/* After the fill: checkpoints every 8 blocks from now on, as a store
 * has them (the tests write fewer blocks than that between theirs). A
 * loaded run is named again only beyond where the tail reaches before the
 * next checkpoint, which without an interval is everywhere. */
static void stub_interval(runnel_config_t *c, runnel_t *r)
{
    c->checkpoint_blocks = 8;
    r->cfg.checkpoint_blocks = 8;
}

static void stub_store_on(runnel_ram_bd_t *rb, runnel_bd_t *bd, runnel_config_t *c, runnel_t **r,
                          uint32_t max_streams, runnel_xadd_args_t *a, runnel_str_t fv[2],
                          uint32_t block, uint32_t count)
{
    runnel_bd_geometry_t g = { 1, 1, block, count, 0xFF, 0 };

    CHECK_EQ_INT(runnel_ram_bd_init(rb, bd, &g, storage, NULL), 0);
    wl_config(c, bd, arena_a, sizeof arena_a, 512, 64);
    if (max_streams > 0)
        c->max_streams = max_streams;
    c->checkpoint_blocks = UINT32_MAX;  /* none while the test fills it */
    CHECK_EQ_INT(runnel_format(r, c), 0);
    wl_now_ms = 1700000000000ull;
    memset(a, 0, sizeof *a);
    a->fv = fv;
    a->nfields = 1;
    a->id_mode = RUNNEL_XADD_AUTO;
    fv[0] = S("v");
}

/* stub_store_on with 64 blocks of 4 KiB. */
static void stub_store(runnel_ram_bd_t *rb, runnel_bd_t *bd, runnel_config_t *c, runnel_t **r,
                       uint32_t max_streams, runnel_xadd_args_t *a, runnel_str_t fv[2])
{
    stub_store_on(rb, bd, c, r, max_streams, a, fv, 4096, 64);
}

/* A long stream's older nodes go into node runs a checkpoint names (its
 * CKPT_NODE_DIR) and leave RAM; mount reads none of them; a read, an XDEL,
 * a trim loads only the runs they need; a later checkpoint names the
 * unchanged runs again instead of writing them; a damaged run fails the
 * reads that need it, with CORRUPT, and nothing else. */
static void test_stubs(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_t *r = NULL;
    runnel_stats_t st, st2;
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_trim_t t;
    char val[24];
    uint64_t nodes, fp_k, fp_short, first_ckpt, second_ckpt, third_ckpt, appended, loads, deleted;
    uint64_t reuses;
    uint32_t i, n_k, sidx = 0;
    runnel_pos_t run = RUNNEL__NO_POS, ckpt, floor1;
    runnel_id_t in_run = RUNNEL_ID_MIN;
    uint8_t *byte;

    stub_store(&rb, &bd, &c, &r, 0, &a, fv);
    for (i = 0; i < STUB_ENTRIES; i++) {
        snprintf(val, sizeof val, "%u", (unsigned)(i * 7919u));
        fv[1] = S(val);
        wl_now_ms += 1u + i % 2u;
        a.key = S(i % 40u == 0 ? "short" : "k");
        CHECK_EQ_INT(runnel_xadd(r, &a, &stub_ids[i]), 1);
    }
    /* the IDs of "k" alone, in order */
    for (i = 0, n_k = 0; i < STUB_ENTRIES; i++)
        if (i % 40u != 0)
            stub_ids[n_k++] = stub_ids[i];
    nodes = nodes_of(r, "k");
    CHECK(nodes > 300u);
    stub_interval(&c, r);
    runnel_stats(r, &st);

    /* the first checkpoint writes the runs, and their nodes leave RAM */
    appended = r->stats.bytes_appended;
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    first_ckpt = r->stats.bytes_appended - appended;
    floor1 = r->ckpt_floor;
    CHECK(floor1 < r->ckpt_pos);                    /* runs ahead of the BEGIN */
    CHECK(r->stubs > 0);
    CHECK_EQ_U64(nodes_of(r, "k"), nodes);          /* radix-tree-keys */
    runnel_stats(r, &st2);
    CHECK_EQ_U64(st2.nodes_used, st.nodes_used);
    CHECK(r->nodes_used < st.nodes_used / 2u);      /* slots given back */
    loads = r->stats.stub_loads;
    CHECK(range_is(r, 5000, 5030));
    CHECK(r->stats.stub_loads - loads <= 2u);       /* one run, two at a seam */

    /* mount reads the directory, not the runs */
    CHECK_EQ_INT(runnel_commit(r), 0);
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK(r->stubs > 0);
    CHECK_EQ_U64(r->stats.stub_loads, 0);
    CHECK(r->log.bytes_read < 16u * 1024u);
    CHECK_EQ_U64(nodes_of(r, "k"), nodes);

    /* XADDs touch the tail node only, and the next checkpoint names the
     * runs again rather than writing them */
    for (i = 0; i < 50; i++) {
        fv[1] = S("after");
        wl_now_ms++;
        a.key = S("k");
        CHECK_EQ_INT(runnel_xadd(r, &a, &stub_ids[n_k + i]), 1);
    }
    CHECK_EQ_U64(r->stats.stub_loads, 0);
    appended = r->stats.bytes_appended;
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    second_ckpt = r->stats.bytes_appended - appended;
    printf("    %u nodes of one stream: the checkpoint writing its runs takes %lu B, the "
           "next one %lu B (%u runs named again; the rest is the nodes below the horizon)\n", (unsigned)nodes,
           (unsigned long)first_ckpt, (unsigned long)second_ckpt, (unsigned)r->stubs);
    /* no run written: the floor is still the first checkpoint's runs */
    CHECK_EQ_U64(r->ckpt_floor, floor1);
    CHECK(second_ckpt < first_ckpt);
    CHECK_EQ_INT(runnel_commit(r), 0);

    /* a damaged run, in a block before its checkpoint's BEGIN (the search
     * for the newest checkpoint reads the runs of the BEGIN's block): the
     * mount uses the same checkpoint, and only the reads that need the run
     * fail */
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    ckpt = r->ckpt_pos;
    CHECK_EQ_INT(runnel__find(r, 0, S("k"), &sidx), 0);
    for (i = 0; i < r->nodes_used && run == RUNNEL__NO_POS; i++) {
        const struct runnel__node *n = &r->nodes[r->node_order[i]];
        if (n->stub && n->sidx == sidx && n->last_pos / 4096u < ckpt / 4096u) {
            run = n->last_pos;
            in_run = n->first;
        }
    }
    CHECK(run != RUNNEL__NO_POS);
    if (run == RUNNEL__NO_POS)
        return;
    byte = runnel_ram_bd_data(&rb, (uint32_t)(run / 4096u % 64u), (uint32_t)(run % 4096u + 8u));
    *byte ^= 0x10u;
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK_EQ_U64(r->ckpt_pos, ckpt);
    CHECK_EQ_INT(runnel_xrange(r, S("k"), in_run, in_run, -1, false, NULL, NULL),
                 RUNNEL_ERR_CORRUPT);
    CHECK(range_is(r, n_k + 20u, n_k + 49u));
    CHECK_EQ_INT(runnel_xlen(r, S("k"), &deleted), 0);
    CHECK_EQ_U64(deleted, n_k + 50u);
    *byte ^= 0x10u;
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK_EQ_U64(r->ckpt_floor, floor1);


    /* runs that reads loaded are named again where they are, their nodes
     * unchanged: the next checkpoint writes none of them (a consumer
     * reading history does not make checkpoints rewrite it) */
    loads = r->stats.stub_loads;
    reuses = r->stats.stub_reuses;
    CHECK(range_is(r, 6500, 6520));
    CHECK(range_is(r, 10, 40));
    CHECK(range_is(r, n_k + 20u, n_k + 49u));
    CHECK(r->stats.stub_loads - loads >= 1u);    /* the last run grew in parts */
    appended = r->stats.bytes_appended;
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    third_ckpt = r->stats.bytes_appended - appended;
    CHECK_EQ_U64(r->stats.stub_reuses - reuses, r->stats.stub_loads - loads);
    CHECK_EQ_U64(r->ckpt_floor, floor1);
    CHECK(third_ckpt <= second_ckpt + 64u);
    printf("    after reads loaded %lu runs, the checkpoint names them again: %lu B\n",
           (unsigned long)(r->stats.stub_loads - loads), (unsigned long)third_ckpt);

    /* reads, an XDEL inside a run, an exact trim through one: those runs
     * change, and are written again */
    CHECK(range_is(r, 6500, 6520));
    CHECK(range_is(r, 10, 40));
    CHECK(range_is(r, n_k + 20u, n_k + 49u));
    CHECK_EQ_INT(runnel_xdel(r, S("k"), &stub_ids[5222], 1, &deleted), 0);
    CHECK_EQ_U64(deleted, 1);
    CHECK(!range_is(r, 5221, 5223));
    memset(&t, 0, sizeof t);
    t.strategy = RUNNEL_TRIM_MAXLEN;
    t.maxlen = n_k + 50u - 1001u;                   /* the first 1,000 go */
    CHECK_EQ_INT(runnel_xtrim(r, S("k"), &t, &deleted), 0);
    CHECK_EQ_U64(deleted, 1000);
    CHECK(range_is(r, 1000, 1010));
    fp_k = stream_fp(r, "k");
    fp_short = stream_fp(r, "short");
    CHECK(fp_k > 1u && fp_short > 1u);
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK_EQ_INT(runnel_commit(r), 0);
    reuses = r->stats.stub_reuses;
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK(r->stats.stub_reuses == reuses);          /* its runs were just written */
    CHECK_EQ_INT(runnel_commit(r), 0);
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK(!range_is(r, 5221, 5223));
    CHECK(range_is(r, 1000, 1010));
    CHECK_EQ_U64(stream_fp(r, "k"), fp_k);
    CHECK_EQ_U64(stream_fp(r, "short"), fp_short);
    /* everything loaded (a mount counts from 0) and unchanged: named again */
    CHECK_EQ_U64(r->stats.stub_reuses, 0);
    CHECK(r->stats.stub_loads > 2u);
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK_EQ_U64(r->stats.stub_reuses, r->stats.stub_loads);
    CHECK_EQ_INT(runnel_commit(r), 0);
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK_EQ_U64(stream_fp(r, "k"), fp_k);
    CHECK_EQ_U64(stream_fp(r, "short"), fp_short);

}

/* Records of one type in the newest checkpoint, BEGIN to END: how many,
 * and their bytes in *bytes. */
static uint32_t ckpt_records(runnel_t *r, uint8_t type, uint64_t *bytes)
{
    runnel__rec_t rec;
    runnel_pos_t p = r->ckpt_pos;
    uint32_t n = 0;

    *bytes = 0;
    while (p != RUNNEL__NO_POS && runnel__log_next(&r->log, p, &rec) == 1) {
        if (rec.type == type) {
            n++;
            *bytes += rec.next - rec.pos;
        }
        p = rec.type == RUNNEL_REC_CKPT_END ? RUNNEL__NO_POS : rec.next;
    }
    return n;
}

/* A checkpoint names again the directory records of the last one whose
 * every entry still names a run as it was (CKPT_DIR_REF) instead of
 * writing their entries again; a record one of whose runs changed is
 * written again; a mount after either loads the same stubs. */
static void test_dir_refs(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_t *r = NULL;
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_id_t ids[40][90];
    char key[8], val[16], big[200];
    uint64_t fp[40], dir1, dir2, bytes, deleted;
    uint32_t i, k, stubs;

    stub_store(&rb, &bd, &c, &r, 48, &a, fv);
    /* 20 blocks first, past the horizon (a quarter of the ring from the
     * tail: its nodes stay in the checkpoint's body) */
    memset(big, 'f', sizeof big);
    a.key = S("fill");
    fv[1].p = big;
    fv[1].len = sizeof big;
    for (i = 0; i < 400; i++) {
        wl_now_ms++;
        CHECK_EQ_INT(runnel_xadd(r, &a, NULL), 1);
    }
    /* 40 streams of 5 nodes: 4 of each in a run, 40 DIR entries, and a
     * tail node with room (a new node after a short run would have the
     * run loaded to merge them) */
    for (i = 0; i < 90; i++)
        for (k = 0; k < 40; k++) {
            snprintf(key, sizeof key, "d%u", (unsigned)k);
            snprintf(val, sizeof val, "%u", (unsigned)(i * 40u + k));
            a.key = S(key);
            fv[1] = S(val);
            wl_now_ms++;
            CHECK_EQ_INT(runnel_xadd(r, &a, &ids[k][i]), 1);
        }
    stub_interval(&c, r);
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK(ckpt_records(r, RUNNEL_REC_CKPT_NODE_DIR, &dir1) >= 1u);
    CHECK_EQ_U64(ckpt_records(r, RUNNEL_REC_CKPT_DIR_REF, &bytes), 0);
    CHECK(dir1 > 512u);                 /* at least half a record: reusable */
    stubs = r->stubs;
    CHECK(stubs >= 40u);

    /* entries into tail nodes only: the directory is named again */
    for (k = 0; k < 40; k += 8) {
        snprintf(key, sizeof key, "d%u", (unsigned)k);
        a.key = S(key);
        fv[1] = S("x");
        wl_now_ms++;
        CHECK_EQ_INT(runnel_xadd(r, &a, NULL), 1);
    }
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK(ckpt_records(r, RUNNEL_REC_CKPT_DIR_REF, &bytes) >= 1u);
    CHECK(bytes < 32u);
    (void)ckpt_records(r, RUNNEL_REC_CKPT_NODE_DIR, &dir2);
    CHECK(dir2 < dir1 / 4u);
    printf("    40 streams: the first checkpoint's directory %lu B, the next one names it "
           "again in %lu B (and writes %lu B of entries)\n", (unsigned long)dir1,
           (unsigned long)bytes, (unsigned long)dir2);
    for (k = 0; k < 40; k++) {
        snprintf(key, sizeof key, "d%u", (unsigned)k);
        fp[k] = stream_fp(r, key);      /* loads every run */
    }
    /* runs that reads loaded, unchanged, keep their DIR record named */
    CHECK(r->stubs <= 1u);              /* "fill"'s, not read */
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK(ckpt_records(r, RUNNEL_REC_CKPT_DIR_REF, &bytes) >= 1u);
    (void)ckpt_records(r, RUNNEL_REC_CKPT_NODE_DIR, &dir2);
    CHECK(dir2 < dir1 / 4u);
    CHECK_EQ_U64(r->stubs, stubs);
    CHECK_EQ_INT(runnel_commit(r), 0);

    /* mount loads the stubs through the DIR_REF; all equal */
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK_EQ_U64(r->stubs, stubs);
    for (k = 0; k < 40; k++) {
        snprintf(key, sizeof key, "d%u", (unsigned)k);
        CHECK_EQ_U64(stream_fp(r, key), fp[k]);
    }
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);

    /* an XDEL inside one run: its DIR record is written again, and the
     * deleted entry stays deleted across a mount */
    CHECK_EQ_INT(runnel_xdel(r, S("d5"), &ids[5][10], 1, &deleted), 0);
    CHECK_EQ_U64(deleted, 1);
    fp[5] = stream_fp(r, "d5");
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK(ckpt_records(r, RUNNEL_REC_CKPT_NODE_DIR, &dir2) >= 1u);
    CHECK(dir2 > 64u);                  /* d5's record, written again */
    CHECK_EQ_INT(runnel_commit(r), 0);
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    for (k = 0; k < 40; k++) {
        snprintf(key, sizeof key, "d%u", (unsigned)k);
        CHECK_EQ_U64(stream_fp(r, key), fp[k]);
    }
}

/* ---- ghost nodes ---- */

/* Mount's replay meets nodes whose records lie before the log's final
 * tail (ghosts: the ring reused their block, the full-ring drop that
 * removes them comes later in the replay). Until that drop they are live
 * as they were in the run, so the stream's first entry is still theirs:
 * a delivery replayed in between estimates the group's entries-read from
 * that first ID (group_lag.c), and a first ID taken from the next node
 * gave a different entries-read and lag after mount (power-cut rig, ECC
 * seed 100141 before block summaries: 22 / lag 21 where the run had 36 /
 * 7). A ghost whose entry 0 is live gives its node's own first ID, which
 * RAM keeps. */
/* A NOR store of `blocks` 4 KiB blocks (DROP_OLDEST, the clock at its
 * start) and an XADD of one field "f" "v" to key k, auto IDs. */
static runnel_t *entry_store(runnel_ram_bd_t *rb, runnel_bd_t *bd, runnel_config_t *c,
                             uint32_t blocks, runnel_xadd_args_t *a, runnel_str_t fv[2])
{
    runnel_bd_geometry_t g = { 1, 1, 4096, 0, 0xFF, 0 };
    runnel_t *r = NULL;

    g.block_count = blocks;
    CHECK_EQ_INT(runnel_ram_bd_init(rb, bd, &g, storage, NULL), 0);
    config_for(c, bd, RUNNEL_FULL_DROP_OLDEST);
    CHECK_EQ_INT(runnel_format(&r, c), 0);
    wl_now_ms = 1700000000000ull;
    memset(a, 0, sizeof *a);
    a->key = S("k");
    a->fv = fv;
    a->nfields = 1;
    a->id_mode = RUNNEL_XADD_AUTO;
    fv[0] = S("f");
    fv[1] = S("v");
    return r;
}

static void test_ghost_first(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_id_t id, first = RUNNEL_ID_MIN, second_node = RUNNEL_ID_MIN;
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_t *r = entry_store(&rb, &bd, &c, 16, &a, fv);
    runnel_pos_t tail;
    uint32_t i, sidx, lo, hi;

    for (i = 0; i < 60; i++) {      /* three nodes of 20 */
        wl_now_ms++;
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
        if (i == 0)
            first = id;
        if (i == 20)
            second_node = id;
    }
    CHECK_EQ_INT(runnel__lookup(r, S("k"), &sidx), 0);
    runnel__stream_nodes(r, sidx, &lo, &hi);
    CHECK_EQ_U64(hi - lo, 3);
    CHECK(runnel_id_cmp(r->nodes[r->node_order[lo + 1u]].first, second_node) == 0);
    /* as the replay sees it: the first node's records before the tail */
    tail = r->log.tail;
    r->replaying = true;
    r->log.tail = r->nodes[r->node_order[lo + 1u]].first_pos;
    CHECK(runnel__node_ghost(r, r->node_order[lo]));
    CHECK(!runnel__node_ghost(r, r->node_order[lo + 1u]));
    r->streams[sidx].first_stale = true;
    id = runnel__first_id(r, sidx);
    CHECK(runnel_id_cmp(id, first) == 0);
    r->replaying = false;
    r->log.tail = tail;
}

/* ---- deliveries that list their IDs ---- */

static uint64_t pending_of(runnel_t *r, const char *key)
{
    uint64_t total = 0;
    runnel_id_t lo, hi;
    CHECK(runnel_xpending_summary(r, S(key), S("g"), &total, &lo, &hi, NULL, NULL) >= 0);
    return total;
}

/* Commits, mounts again, and checks that everything observable is as it
 * was. */
static void remount_same(runnel_t **r, runnel_config_t *c)
{
    uint64_t fp;
    CHECK_EQ_INT(runnel_commit(*r), 0);
    fp = wl_fingerprint(*r);
    CHECK_EQ_INT(runnel_mount(r, c), 0);
    CHECK_EQ_U64(wl_fingerprint(*r), fp);
}

static int xreadgroup_args(runnel_t *r, const char *key, int64_t count, bool noack,
                           uint32_t *handed)
{
    runnel_xreadgroup_args_t ra;
    memset(&ra, 0, sizeof ra);
    ra.key = S(key);
    ra.group = S("g");
    ra.consumer = S("c");
    ra.new_entries = true;
    ra.count = count;
    ra.noack = noack;
    *handed = 0;
    return runnel_xreadgroup(r, &ra, count_entry, handed);
}

static int xreadgroup_new(runnel_t *r, const char *key, int64_t count, uint32_t *handed)
{
    return xreadgroup_args(r, key, count, false, handed);
}

/* all new entries, NOACK */
static int xreadgroup_new_noack(runnel_t *r, const char *key, uint32_t *handed)
{
    return xreadgroup_args(r, key, 0, true, handed);
}

/* ---- entries whose links were planned for the next block ---- */

/* Entry links are coded against the node's spacing (runnel__link_code),
 * so an entry that does not fit the rest of a block can come out short
 * enough to fit once planned for the next block: it then opens that block
 * anyway (the log's seal), where its links lead right. It is rare (a
 * record one byte too long for the rest of its block): 12 streams in turn
 * with values of random length, until it happened four times (about
 * 110,000 XADDs): every entry reads back (the fingerprint reads them all
 * through their links) and a mount every 5,000 XADDs replays the same. */
static void test_sealed_links(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_id_t id;
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_t *r = entry_store(&rb, &bd, &c, 48, &a, fv);
    char key[8], val[128];
    uint32_t i, seed = 12345u, mounts = 0;
    uint64_t seals = 0;

    memset(val, 'v', sizeof val);
    for (i = 0; i < 200000u && (seals + r->link_seals < 4u || mounts < 3u); i++) {
        seed = seed * 1103515245u + 12345u;
        snprintf(key, sizeof key, "s%u", (unsigned)(i % 12u));
        a.key = S(key);
        fv[1].p = val;
        fv[1].len = 1u + (seed >> 16) % 120u;
        if (i % 64u == 0)
            wl_now_ms++;
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
        if (i % 5000u == 4999u) {
            seals += r->link_seals;     /* a mount starts counting again */
            remount_same(&r, &c);
            mounts++;
        }
    }
    seals += r->link_seals;
    printf("    %u XADDs, %llu opened the block their links were planned for, %u mounts\n",
           (unsigned)i, (unsigned long long)seals, (unsigned)mounts);
    CHECK(seals >= 4u);
    remount_same(&r, &c);
}

/* ---- node runs that grow in parts ---- */

/* The key and stub of a run of at least `parts` records, if any. */
/* The name "s0".."s7" of the stream in slot sidx. */
static bool key_of(runnel_t *r, uint32_t sidx, char key[8])
{
    uint32_t k, found;

    for (k = 0; k < 8u; k++) {
        snprintf(key, 8, "s%u", (unsigned)k);
        if (runnel__find(r, 0, S(key), &found) == 0 && found == sidx)
            return true;
    }
    return false;
}

static bool stub_of_parts(runnel_t *r, uint32_t parts, char key[8], const struct runnel__node **out)
{
    uint32_t i;

    for (i = 0; i < r->nodes_used; i++) {
        const struct runnel__node *n = &r->nodes[r->node_order[i]];

        if (n->stub && n->run_parts >= parts && key_of(r, n->sidx, key)) {
            *out = n;
            return true;
        }
    }
    return false;
}

/* XADD number i of 8 streams written in turn (s0 .. s7), a value of its
 * own, the clock a millisecond or two on. */
static void xadd_in_turn(runnel_t *r, runnel_xadd_args_t *a, runnel_str_t fv[2], uint32_t i)
{
    char key[8], val[24];
    runnel_id_t id;

    snprintf(key, sizeof key, "s%u", (unsigned)(i % 8u));
    snprintf(val, sizeof val, "%u", (unsigned)(i * 7919u));
    a->key = S(key);
    fv[1] = S(val);
    wl_now_ms += 1u + i % 2u;
    CHECK_EQ_INT(runnel_xadd(r, a, &id), 1);
}

/* Body bytes of the node runs written from `from` to the head: the
 * CKPT_NODE_MOREs and the CKPT_NODE_RUNs ahead of a BEGIN (a checkpoint's
 * body holds CKPT_NODE_RUNs of its own nodes too); *more counts the
 * CKPT_NODE_MOREs (may be NULL). */
static uint64_t runs_written(runnel_t *r, runnel_pos_t from, uint32_t *more)
{
    runnel__rec_t rec;
    runnel_pos_t pos;
    uint64_t bytes = 0;
    bool in_body = false;

    for (pos = from; runnel__log_next(&r->log, pos, &rec) == 1; pos = rec.next) {
        in_body = rec.type == RUNNEL_REC_CKPT_BEGIN ? true
                  : rec.type == RUNNEL_REC_CKPT_END ? false : in_body;
        if (more != NULL && rec.type == RUNNEL_REC_CKPT_NODE_MORE)
            (*more)++;
        if (rec.type == RUNNEL_REC_CKPT_NODE_MORE ||
            (rec.type == RUNNEL_REC_CKPT_NODE_RUN && !in_body))
            bytes += rec.len;
    }
    return bytes;
}

/* Streams written in turn gain a node or two each between checkpoints:
 * the newest run of each grows by a part (CKPT_NODE_MORE, naming the
 * record before it) instead of being written again whole, so every
 * descriptor is written about once. Mounts see the same state; a read
 * loads every part of its run, and the next checkpoint names that run
 * again where it is; a damaged part fails the reads that need it and
 * nothing else. */
static void test_run_parts(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_t *r = NULL;
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel__rec_t rec;
    runnel_pos_t part;
    const struct runnel__node *n;
    char key[8];
    uint64_t written = 0, named = 0, loads, reuses, len;
    uint32_t i, more = 0, parts_max = 0;
    runnel_id_t first, last;
    uint8_t *byte;

    stub_store(&rb, &bd, &c, &r, 0, &a, fv);
    stub_interval(&c, r);
    for (i = 0; i < 6000u; i++) {
        xadd_in_turn(r, &a, fv, i);
        if (i % 400u == 399u)   /* about 3 blocks apart */
            CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    }
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK(r->log.tail < r->log.block_size);         /* nothing reclaimed yet */
    written = runs_written(r, r->log.tail, &more);
    for (i = 0; i < r->nodes_used; i++) {
        n = &r->nodes[r->node_order[i]];
        if (n->stub) {
            named += n->first_size;
            parts_max = n->run_parts > parts_max ? n->run_parts : parts_max;
        }
    }
    printf("    8 streams in turn: %u parts written; %lu B of runs written for %lu B the last "
           "checkpoint names, %u parts in the longest run\n", (unsigned)more,
           (unsigned long)written, (unsigned long)named, (unsigned)parts_max);
    CHECK(more >= 16u);
    CHECK(parts_max >= 3u);
    CHECK(written < named * 2u);

    /* the same after a mount (which loads every run to compare), and a
     * read loads every part of a run; the checkpoint names it again */
    remount_same(&r, &c);
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK(stub_of_parts(r, 3, key, &n));
    first = n->first;
    last = n->last;
    loads = r->stats.stub_loads;
    reuses = r->stats.stub_reuses;
    CHECK(runnel_xrange(r, S(key), first, last, -1, false, NULL, NULL) > 0);
    CHECK_EQ_U64(r->stats.stub_loads - loads, 1);
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK(r->stats.stub_reuses - reuses >= 1u);
    remount_same(&r, &c);

    /* a damaged part: mount is the same, reads of its run fail */
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK(stub_of_parts(r, 2, key, &n));
    part = n->last_pos;
    first = n->first;
    last = n->last;
    CHECK_EQ_INT(runnel__log_header(&r->log, part, &rec), 0);
    CHECK_EQ_INT(rec.type, RUNNEL_REC_CKPT_NODE_MORE);
    byte = runnel_ram_bd_data(&rb, (uint32_t)(rec.pos / 4096u % 64u),
                              (uint32_t)(rec.next - rec.len / 2u - 1u) % 4096u);
    CHECK_EQ_INT(runnel_xlen(r, S(key), &len), 0);
    *byte ^= 0x10u;
    CHECK_EQ_INT(runnel_mount(&r, &c), 0);
    CHECK_EQ_INT(runnel_xrange(r, S(key), first, last, -1, false, NULL, NULL), RUNNEL_ERR_CORRUPT);
    CHECK_EQ_INT(runnel_xlen(r, S(key), &named), 0);
    CHECK_EQ_U64(named, len);
    *byte ^= 0x10u;
    remount_same(&r, &c);
}

/* Is n a stub whose run starts at a CKPT_NODE_MORE (named from a later
 * part)? */
static bool stub_cut(runnel_t *r, const struct runnel__node *n)
{
    runnel__rec_t rec;

    return n->stub && runnel__log_header(&r->log, n->last_pos - n->run_origin, &rec) == 0 &&
           rec.type == RUNNEL_REC_CKPT_NODE_MORE;
}

static uint32_t stubs_cut(runnel_t *r)
{
    uint32_t i, cut = 0;

    for (i = 0; i < r->nodes_used; i++)
        cut += stub_cut(r, &r->nodes[r->node_order[i]]) ? 1u : 0u;
    return cut;
}

/* Mounts r (the engine and the mount must be the same), loads a run
 * named from a later part by reading it (its floor's part before is not
 * read), and checks that the next checkpoint names it again. */
static void check_cut_run(runnel_t **rp, runnel_config_t *c)
{
    const struct runnel__node *n = NULL;
    runnel_id_t first, last;
    uint64_t loads, reuses;
    char key[8];
    uint32_t i;

    remount_same(rp, c);
    CHECK_EQ_INT(runnel_mount(rp, c), 0);      /* the fingerprint loaded every run */
    for (i = 0; i < (*rp)->nodes_used; i++) {
        n = &(*rp)->nodes[(*rp)->node_order[i]];
        if (stub_cut(*rp, n))
            break;
    }
    CHECK(i < (*rp)->nodes_used);
    if (i == (*rp)->nodes_used)
        return;
    first = n->first;
    last = n->last;
    CHECK(key_of(*rp, n->sidx, key));
    loads = (*rp)->stats.stub_loads;
    reuses = (*rp)->stats.stub_reuses;
    CHECK(runnel_xrange(*rp, S(key), first, last, -1, false, NULL, NULL) > 0);
    CHECK_EQ_U64((*rp)->stats.stub_loads - loads, 1);
    CHECK_EQ_INT(runnel__checkpoint_write(*rp), 0);
    CHECK((*rp)->stats.stub_reuses - reuses >= 1u);
    remount_same(rp, c);
}

/* Past the ring's first pass the horizon reaches the first record of
 * runs grown in parts while their later parts' nodes are live: those
 * parts are named again from a later floor (a CKPT_NODE_MORE whose part
 * before is no longer the run's) instead of being written again, and the
 * nodes of the part the horizon is in go in the checkpoint's body. */
static void test_run_suffix(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_t *r = NULL;
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    uint64_t written = 0, named = 0, reuses = 0, runs = 0;
    uint32_t i, k, cut = 0, cut_max = 0;

    /* 1 KiB blocks: a ring of 256 is four times the tail's reach between
     * checkpoints, so runs span an eighth of it (on 64 blocks of 4 KiB
     * the horizon is capped, and each checkpoint writes the runs it
     * reaches again whole: test_stubs) */
    stub_store_on(&rb, &bd, &c, &r, 0, &a, fv, 1024, 256);
    stub_interval(&c, r);
    for (i = 0; r->stats.blocks_erased < 256u * 3u; i++) {
        xadd_in_turn(r, &a, fv, i);
        if (i % 100u == 99u) {
            uint64_t before = r->stats.stub_reuses;
            runnel_pos_t from = r->log.head;

            CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
            if (r->stats.blocks_erased > 256u)
                runs += runs_written(r, from, NULL);
            k = stubs_cut(r);
            cut += k > 0 ? 1u : 0u;
            if (k > 0 && cut == 8u)
                check_cut_run(&r, &c);  /* once, where there is one */
            cut_max = k > cut_max ? k : cut_max;
            if (r->stats.blocks_erased > 256u)
                reuses += r->stats.stub_reuses - before;
        }
    }
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    /* the runs the ring holds (one pass) against what the checkpoint names */
    written = runs_written(r, r->log.tail, NULL);
    for (i = 0; i < r->nodes_used; i++)
        if (r->nodes[r->node_order[i]].stub)
            named += r->nodes[r->node_order[i]].first_size;
    /* Measured when it came: 14,672 B of runs written past the first
     * pass, 6,872 B in the ring for 4,816 B named; naming only whole runs
     * (a temporary edit) wrote 28,376 B, and 13,398 B for 4,584 B */
    printf("    8 streams, the ring turned twice: runs named from a later part after %u "
           "checkpoints (at most %u at once), %lu runs named again and %lu B of runs written "
           "past the first pass; the ring holds %lu B of runs for %lu B named\n", (unsigned)cut,
           (unsigned)cut_max, (unsigned long)reuses, (unsigned long)runs, (unsigned long)written,
           (unsigned long)named);
    CHECK(cut >= 8u);
    CHECK(reuses >= 64u);
    CHECK(runs < named * 4u);
    CHECK(written < named * 2u);

    remount_same(&r, &c);
}

/* A ">" read lists the IDs it delivers in its record (group_read.c), so
 * mount replays it without reading the entries; one too long to list is
 * walked again, as before. And when the record's own append drops the
 * block holding the entries it planned (DROP_OLDEST, a consumer far
 * behind), they stay pending as the record says - live and after mount. */
static void test_listed_deliveries(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_id_t id;
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_t *r = entry_store(&rb, &bd, &c, 64, &a, fv);
    uint64_t walked_bytes, listed_bytes, seq;
    runnel_pos_t tail;
    uint32_t i, handed, bs = 4096;
    int rc;

    /* more nodes and pending entries, and no periodic checkpoint */
    c.max_nodes = 2048;
    c.max_pending = 4096;
    c.checkpoint_blocks = 0;
    CHECK_EQ_INT(runnel_format(&r, &c), 0);
    for (i = 0; i < 600; i++) {
        if (i % 3 == 0)
            wl_now_ms++;
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
    }
    CHECK_EQ_INT(runnel_xgroup_create(r, S("k"), S("g"), RUNNEL_ID_MIN, false, false, -1), 0);
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);

    /* 500 IDs listed: about a byte each */
    CHECK_EQ_INT(xreadgroup_new(r, "k", 500, &handed), 500);
    CHECK_EQ_U64(handed, 500);
    remount_same(&r, &c);
    CHECK_EQ_U64(pending_of(r, "k"), 500);
    listed_bytes = r->mount_phase_bytes[RUNNEL__MOUNT_REPLAY];
    printf("    a delivery of 500 listed: mount replays %lu B\n", (unsigned long)listed_bytes);
    CHECK(listed_bytes < 500u * 4u);

    /* COUNT 3,050 of 3,100 with room in the PEL: too many to list, so the
     * record carries COUNT (the planning walk stops where the list
     * overflowed) and replay walks again; the checkpoint that makes due
     * goes before the next append */
    for (i = 0; i < 3000; i++) {
        if (i % 3 == 0)
            wl_now_ms++;
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
    }
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK_EQ_INT(xreadgroup_new(r, "k", 3050, &handed), 3050);
    seq = r->ckpt_seq;
    CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
    CHECK(r->ckpt_seq > seq);
    remount_same(&r, &c);
    CHECK_EQ_U64(pending_of(r, "k"), 3550);
    CHECK(r->mount_phase_bytes[RUNNEL__MOUNT_REPLAY] < 2000u);

    /* claims look their entries up again at replay: 300 of them make the
     * checkpoint due too */
    {
        static runnel_id_t deleted[300];
        runnel_xautoclaim_args_t ac;
        runnel_id_t next;
        size_t ndeleted = 0;
        memset(&ac, 0, sizeof ac);
        ac.key = S("k");
        ac.group = S("g");
        ac.consumer = S("d");
        ac.count = 300;
        ac.justid = true;
        ac.deleted = deleted;
        ac.deleted_cap = 300;
        CHECK_EQ_INT(runnel_xautoclaim(r, &ac, &next, &ndeleted, NULL, NULL), 300);
        seq = r->ckpt_seq;
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
        CHECK(r->ckpt_seq > seq);
        remount_same(&r, &c);
    }

    /* the same read without NOACK's PEL, and a mount before the next
     * append: mount replays it walking, and the debt it finds makes the
     * checkpoint due as well */
    for (i = 0; i < 3000; i++) {
        if (i % 3 == 0)
            wl_now_ms++;
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
    }
    CHECK_EQ_INT(runnel__checkpoint_write(r), 0);
    CHECK_EQ_INT(xreadgroup_new_noack(r, "k", &handed), 3052);
    remount_same(&r, &c);
    walked_bytes = r->mount_phase_bytes[RUNNEL__MOUNT_REPLAY];
    printf("    a delivery of 3,052 walked: mount replays %lu B\n", (unsigned long)walked_bytes);
    CHECK(walked_bytes > 3052u * 4u);
    seq = r->ckpt_seq;
    CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
    CHECK(r->ckpt_seq > seq);
    remount_same(&r, &c);
    CHECK(r->mount_phase_bytes[RUNNEL__MOUNT_REPLAY] < 2000u);

    /* A consumer far behind, on a store of its own: a group at the start
     * of a ring that has turned. */
    r = entry_store(&rb, &bd, &c, 48, &a, fv);
    c.max_nodes = 2048;
    CHECK_EQ_INT(runnel_format(&r, &c), 0);
    for (i = 0; i < 8000; i++) {
        if (i % 3 == 0)
            wl_now_ms++;
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
    }
    CHECK_EQ_INT(runnel_xgroup_create(r, S("k"), S("g"), RUNNEL_ID_MIN, false, false, -1), 0);
    /* fill the head block until the record cannot fit: its append switches
     * blocks, and the ring, full, drops the oldest - k's first entries,
     * the ones the read planned */
    a.key = S("pad");
    tail = r->log.tail;
    rc = 1;
    while (rc == 1 && r->log.tail == tail)  /* until a block switch drops the oldest */
        rc = runnel_xadd(r, &a, &id);
    while (rc == 1 && (bs - r->log.head % bs > 24u || bs - r->log.head % bs < 8u))
        rc = runnel_xadd(r, &a, &id);
    CHECK_EQ_INT(rc, 1);
    tail = r->log.tail;
    rc = xreadgroup_new(r, "k", 60, &handed);
    CHECK(r->log.tail != tail);
    printf("    a read whose record dropped its first entries: %d delivered, %u handed over\n",
           rc, (unsigned)handed);
    CHECK_EQ_INT(rc, 60);
    CHECK(handed < 60u);
    CHECK_EQ_U64(pending_of(r, "k"), 60);
    remount_same(&r, &c);
    CHECK_EQ_U64(pending_of(r, "k"), 60);
}

static int read_as(runnel_t *r, const char *group, const char *consumer, int64_t count)
{
    runnel_xreadgroup_args_t ra;
    uint32_t handed = 0;
    memset(&ra, 0, sizeof ra);
    ra.key = S("k");
    ra.group = S(group);
    ra.consumer = S(consumer);
    ra.new_entries = true;
    ra.count = count;
    return runnel_xreadgroup(r, &ra, count_entry, &handed);
}

/* XACK's record names runs of PEL neighbours (group_ack.c): acks in
 * order cost a few bytes however many, and every shape of ack - runs
 * across consumers, reversed, duplicated, not pending, next to another
 * group's entries - leaves the same PEL after mount. */
static void test_ack_runs(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_id_t id, ids[128];
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_t *r = entry_store(&rb, &bd, &c, 32, &a, fv);
    uint64_t acked, before;
    uint32_t i, n;

    a.id_mode = RUNNEL_XADD_EXPLICIT;
    for (i = 1; i <= 300; i++) {
        a.id = (runnel_id_t){ 1000u + i / 4u, i % 4u };
        CHECK_EQ_INT(runnel_xadd(r, &a, &id), 1);
    }
    CHECK_EQ_INT(runnel_xgroup_create(r, S("k"), S("g"), RUNNEL_ID_MIN, false, false, -1), 0);
    CHECK_EQ_INT(runnel_xgroup_create(r, S("k"), S("h"), RUNNEL_ID_MIN, false, false, -1), 0);
    CHECK_EQ_INT(read_as(r, "g", "c1", 100), 100);
    CHECK_EQ_INT(read_as(r, "g", "c2", 100), 100);
    CHECK_EQ_INT(read_as(r, "g", "c1", 100), 100);
    CHECK_EQ_INT(read_as(r, "h", "c1", 300), 300);
#define ACK_ID(k) ((runnel_id_t){ 1000u + (k) / 4u, (k) % 4u })
    /* 1..100 in order: one run */
    for (n = 0; n < 100; n++)
        ids[n] = ACK_ID(n + 1u);
    before = r->stats.bytes_appended;
    CHECK_EQ_INT(runnel_xack(r, S("k"), S("g"), ids, n, &acked), 0);
    CHECK_EQ_U64(acked, 100);
    printf("    an XACK of 100 IDs in order: a %lu-byte record\n",
           (unsigned long)(r->stats.bytes_appended - before));
    CHECK(r->stats.bytes_appended - before < 40u);
    /* reversed */
    for (n = 0; n < 10; n++)
        ids[n] = ACK_ID(130u - n);
    CHECK_EQ_INT(runnel_xack(r, S("k"), S("g"), ids, n, &acked), 0);
    CHECK_EQ_U64(acked, 10);
    /* a run across consumers (c2's 131..200, c1's 201..210), duplicates,
     * IDs not pending (acked, never delivered, above the stream) */
    n = 0;
    ids[n++] = ACK_ID(5u);
    for (i = 131; i <= 210; i++)
        ids[n++] = ACK_ID(i);
    ids[n++] = ACK_ID(150u);
    ids[n++] = ACK_ID(150u);
    ids[n++] = (runnel_id_t){ 9999u, 0u };
    ids[n++] = ACK_ID(211u);
    CHECK_EQ_INT(runnel_xack(r, S("k"), S("g"), ids, n, &acked), 0);
    CHECK_EQ_U64(acked, 81);
    /* g's last entries: the run stops where h's part of the PEL begins */
    for (n = 0; n < 80; n++)
        ids[n] = ACK_ID(221u + n);
    ids[n++] = ACK_ID(1u);
    CHECK_EQ_INT(runnel_xack(r, S("k"), S("g"), ids, n, &acked), 0);
    CHECK_EQ_U64(acked, 80);
    /* h: every other ID (no runs), then the rest */
    for (n = 0, i = 1; i <= 300 && n < 128; i += 3)
        ids[n++] = ACK_ID(i);
    CHECK_EQ_INT(runnel_xack(r, S("k"), S("h"), ids, n, &acked), 0);
    CHECK_EQ_U64(acked, n);
#undef ACK_ID
    remount_same(&r, &c);
    {
        uint64_t total = 0;
        runnel_id_t lo, hi;
        CHECK(runnel_xpending_summary(r, S("k"), S("g"), &total, &lo, &hi, NULL, NULL) >= 0);
        CHECK_EQ_U64(total, 300u - 100u - 10u - 81u - 80u);
        CHECK(runnel_xpending_summary(r, S("k"), S("h"), &total, &lo, &hi, NULL, NULL) >= 0);
        CHECK_EQ_U64(total, 200);
    }
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
    wl_now_ms = 1700000000000ull;
    wl_rng = 5;
    {
        int i;
        for (i = 0; i < 500; i++)
            (void)wl_op(r, 39);
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

TEST_MAIN(
    RUN(test_errors);
    RUN(test_reserve);
    RUN(test_restarts);
    RUN(test_ghost_first);
    RUN(test_sealed_links);
    RUN(test_run_parts);
    RUN(test_run_suffix);
    RUN(test_stubs);
    RUN(test_dir_refs);
    RUN(test_listed_deliveries);
    RUN(test_ack_runs);
)
