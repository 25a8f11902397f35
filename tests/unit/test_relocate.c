/*
 * test_relocate.c - the RELOCATE full-ring policy (core/relocate.c).
 *
 *   invisible   the mixed-retention shape (one stream kept long, nine
 *               trimmed '~' short, a consumer group with pending entries
 *               on the long one) on a small ring that must relocate, next
 *               to the same calls on a ring big enough never to reclaim:
 *               every observable (store_workload.h's fingerprint: XINFO,
 *               every entry, groups, consumers, the PEL) is the same, at
 *               every checkpoint of the run and after a remount; nothing
 *               is dropped and nothing refused; wear stays even.
 *   full        one stream that is never trimmed: the ring relocates until
 *               the live data no longer fits, then refuses with NOSPC
 *               exactly as REFUSE does (nothing changed, the state mounts
 *               the same); the live data it held by then is most of the
 *               ring; an XTRIM frees it and appends work again.
 *   random      the shared random workload (every command of the rig)
 *               beside a long-retention stream, under RELOCATE, with
 *               restarts: mount always gives back the state, and the ring
 *               relocated.
 */
#include <stdio.h>
#include <string.h>

#include "runnel.h"
#include "ram_bd.h"
#include "testing.h"
#include "store_workload.h"

#define BLOCK 4096u
#define SMALL_BLOCKS 32u
#define BIG_BLOCKS 256u
#define ARENA_BYTES (640u * 1024u)

static uint8_t small_store[BLOCK * SMALL_BLOCKS];
static uint8_t big_store[BLOCK * BIG_BLOCKS];
static uint64_t arena_small[ARENA_BYTES / 8u];
static uint64_t arena_big[ARENA_BYTES / 8u];
static uint32_t erases[BIG_BLOCKS];

struct store {
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t cfg;
    runnel_t *r;
};

static void open_store(struct store *s, uint8_t *mem, uint32_t blocks, uint64_t *arena,
                       runnel_full_policy_t policy, uint32_t *erase_counts)
{
    runnel_bd_geometry_t g = { 1, 1, BLOCK, blocks, 0xFF, 0 };

    CHECK_EQ_INT(runnel_ram_bd_init(&s->rb, &s->bd, &g, mem, erase_counts), 0);
    wl_config(&s->cfg, &s->bd, arena, ARENA_BYTES, 1024, 1024);
    s->cfg.full_policy = policy;
    s->cfg.node_max_entries = 20;
    s->r = NULL;
    CHECK_EQ_INT(runnel_format(&s->r, &s->cfg), 0);
}

/* XADD key * temp <32-byte value> [MAXLEN [~] n]: 0 and the new ID, or
 * the error. */
static int add(runnel_t *r, const char *key, uint32_t i, int64_t maxlen, bool approx,
               runnel_id_t *id)
{
    char val[33];
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    int rc;

    snprintf(val, sizeof val, "%032u", (unsigned)i);
    fv[0] = S("temp");
    fv[1] = S(val);
    memset(&a, 0, sizeof a);
    a.key = S(key);
    a.fv = fv;
    a.nfields = 1;
    a.id_mode = RUNNEL_XADD_AUTO;
    if (maxlen >= 0) {
        a.trim.strategy = RUNNEL_TRIM_MAXLEN;
        a.trim.maxlen = (uint64_t)maxlen;
        a.trim.approx = approx;
        a.trim.limit = -1;
    }
    rc = runnel_xadd(r, &a, id);
    return rc == 1 ? 0 : rc < 0 ? rc : RUNNEL_ERR_INVAL;
}

/* A consumer reads a few new entries of the long stream and acks some, and
 * an XDEL hits it now and then: relocated nodes carry deletion marks and
 * PEL entries point at relocated entries. */
static void consume(runnel_t *r, uint32_t i)
{
    runnel_xreadgroup_args_t a;
    runnel_id_t ids[17];
    uint64_t n;

    memset(&a, 0, sizeof a);
    memset(ids, 0, sizeof ids);
    a.key = S("s0");
    a.group = S("ga");
    a.consumer = S(i % 3u == 0 ? "c1" : "c2");
    a.new_entries = true;
    a.count = 4;
    /* most are acked, one now and then stays pending */
    if (runnel_xreadgroup(r, &a, wl_ack_ids_fn, ids) > 0 && ids[0].seq > 0)
        (void)runnel_xack(r, S("s0"), S("ga"), ids + 1, ids[0].seq - (i % 50u == 0), &n);
    if (i % 7u == 0 && ids[0].seq > 2)
        (void)runnel_xdel(r, S("s0"), ids + 2, 1, &n);
}

static void test_invisible(void)
{
    static struct store small, big;
    runnel_stats_t st;
    uint32_t i, k, compared = 0, max_e = 0, min_e = UINT32_MAX;
    runnel_id_t id_small, id_big;

    wl_now_ms = 1700000000000ull;
    memset(erases, 0, sizeof erases);
    open_store(&small, small_store, SMALL_BLOCKS, arena_small, RUNNEL_FULL_RELOCATE, erases);
    open_store(&big, big_store, BIG_BLOCKS, arena_big, RUNNEL_FULL_REFUSE, NULL);
    CHECK_EQ_INT(runnel_xgroup_create(small.r, S("s0"), S("ga"), RUNNEL_ID_MIN, true, true, -1), 0);
    CHECK_EQ_INT(runnel_xgroup_create(big.r, S("s0"), S("ga"), RUNNEL_ID_MIN, true, true, -1), 0);
    for (i = 0; i < 12000; i++) {
        const char *key = wl_keys[i % WL_KEYS];
        bool long_one = i % WL_KEYS == 0;
        int rs, rb;

        wl_now_ms++;
        rs = add(small.r, key, i, long_one ? 500 : 30, !long_one, &id_small);
        rb = add(big.r, key, i, long_one ? 500 : 30, !long_one, &id_big);
        CHECK_EQ_INT(rs, rb);
        CHECK_EQ_INT(rs, 0);
        if (rs != 0)
            break;
        if (i % 5u == 0) {
            consume(small.r, i);
            consume(big.r, i);
        }
        if (i % 997u == 0) {
            CHECK_EQ_U64(wl_fingerprint(small.r), wl_fingerprint(big.r));
            compared++;
        }
    }
    runnel_stats(small.r, &st);
    printf("    relocated %llu nodes, %llu entries, %llu bytes; %llu erases; %u compares\n",
           (unsigned long long)st.relocated_nodes, (unsigned long long)st.relocated_entries,
           (unsigned long long)st.relocated_bytes, (unsigned long long)st.blocks_erased,
           (unsigned)compared);
    CHECK(st.relocated_nodes > 50);
    CHECK_EQ_U64(st.dropped_entries, 0);
    CHECK(st.blocks_erased > 4u * SMALL_BLOCKS);
    CHECK_EQ_U64(wl_fingerprint(small.r), wl_fingerprint(big.r));
    /* every relocated node comes back from flash after a remount */
    CHECK_EQ_INT(runnel_commit(small.r), 0);
    CHECK_EQ_INT(runnel_mount(&small.r, &small.cfg), 0);
    CHECK_EQ_U64(wl_fingerprint(small.r), wl_fingerprint(big.r));
    /* and it goes on relocating after the mount */
    for (i = 12000; i < 14000; i++) {
        const char *key = wl_keys[i % WL_KEYS];
        wl_now_ms++;
        CHECK_EQ_INT(add(small.r, key, i, i % WL_KEYS == 0 ? 500 : 30, i % WL_KEYS != 0, &id_small),
                     0);
        CHECK_EQ_INT(add(big.r, key, i, i % WL_KEYS == 0 ? 500 : 30, i % WL_KEYS != 0, &id_big), 0);
    }
    CHECK_EQ_U64(wl_fingerprint(small.r), wl_fingerprint(big.r));
    for (k = 0; k < SMALL_BLOCKS; k++) {
        max_e = erases[k] > max_e ? erases[k] : max_e;
        min_e = erases[k] < min_e ? erases[k] : min_e;
    }
    printf("    wear: erases per block %u..%u\n", (unsigned)min_e, (unsigned)max_e);
    CHECK(max_e - min_e <= 1u);
    CHECK_EQ_U64(small.rb.prog_violations, 0);
}

static void test_full(void)
{
    static struct store s;
    runnel_stats_t st;
    runnel_stream_info_t si;
    runnel_trim_t t;
    runnel_id_t id;
    uint64_t before, del;
    uint32_t i;
    int rc = 0;

    wl_now_ms = 1700000000000ull;
    open_store(&s, small_store, SMALL_BLOCKS, arena_small, RUNNEL_FULL_RELOCATE, NULL);
    for (i = 0; i < 100000 && rc == 0; i++) {
        wl_now_ms++;
        /* a short stream beside it keeps the ring turning */
        rc = add(s.r, i % 4u == 0 ? "s1" : "s0", i, i % 4u == 0 ? 10 : -1, true, &id);
    }
    CHECK_EQ_INT(rc, RUNNEL_ERR_NOSPC);
    runnel_stats(s.r, &st);
    CHECK_EQ_INT(runnel_stream_info(s.r, S("s0"), &si), 0);
    printf("    refused after %u XADDs: s0 holds %llu entries (%llu bytes appended of "
           "%u KiB ring), %llu nodes relocated\n",
           (unsigned)i, (unsigned long long)si.length,
           (unsigned long long)st.bytes_appended, (unsigned)(BLOCK * SMALL_BLOCKS / 1024u),
           (unsigned long long)st.relocated_nodes);
    CHECK(st.relocated_nodes > 0);
    CHECK_EQ_U64(st.dropped_entries, 0);
    /* ~54 bytes of record per entry: refused only once the live entries
     * fill most of the ring (less the checkpoint reserve and headroom) */
    CHECK(si.length * 54u > (uint64_t)BLOCK * SMALL_BLOCKS / 2u);
    /* refused as REFUSE refuses: nothing changed, and it stays refused */
    before = wl_fingerprint(s.r);
    CHECK_EQ_INT(add(s.r, "s0", i, -1, false, &id), RUNNEL_ERR_NOSPC);
    CHECK_EQ_U64(wl_fingerprint(s.r), before);
    CHECK_EQ_INT(runnel_commit(s.r), 0);
    CHECK_EQ_INT(runnel_mount(&s.r, &s.cfg), 0);
    CHECK_EQ_U64(wl_fingerprint(s.r), before);
    /* Trimming the long stream makes room again. The refused ring sits
     * with its head a headroom past the usual limit and the stream's
     * newest node in its oldest block, which only a copy empties; the
     * copy borrows a block of the checkpoint reserve's slack (relocate.c).
     * Before that, this held only while the smaller state shrank the
     * reserve by a block. */
    memset(&t, 0, sizeof t);
    t.strategy = RUNNEL_TRIM_MAXLEN;
    t.maxlen = 100;
    t.limit = -1;
    CHECK_EQ_INT(runnel_xtrim(s.r, S("s0"), &t, &del), 0);
    CHECK(del > 0);
    for (i = 0, rc = 0; i < 2000 && rc == 0; i++) {
        wl_now_ms++;
        rc = add(s.r, "s0", i, 100, false, &id);
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(runnel_stream_info(s.r, S("s0"), &si), 0);
    CHECK_EQ_U64(si.length, 100);
    /* and the ring it turned mounts the same */
    before = wl_fingerprint(s.r);
    CHECK_EQ_INT(runnel_commit(s.r), 0);
    CHECK_EQ_INT(runnel_mount(&s.r, &s.cfg), 0);
    CHECK_EQ_U64(wl_fingerprint(s.r), before);
}

/* The workload's fingerprint and the stream "long" it does not know. */
static uint64_t fingerprint_with_long(runnel_t *r)
{
    runnel_stream_info_t si;

    wl_fp = wl_fingerprint(r);
    if (runnel_stream_info(r, S("long"), &si) == 0) {
        mix_u64(si.length);
        mix_u64(si.nodes);
        mix_id(si.first_id);
        mix_u64(si.entries_added);
    }
    runnel_xrange(r, S("long"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, fp_entry, NULL);
    return wl_fp;
}

static void test_random(void)
{
    static struct store s;
    runnel_stats_t st;
    uint32_t i, mounts = 0, mismatches = 0;
    uint64_t relocated = 0;     /* a mount starts the counters again */

    wl_rng = 21;
    wl_now_ms = 1700000000000ull;
    open_store(&s, small_store, SMALL_BLOCKS, arena_small, RUNNEL_FULL_RELOCATE, NULL);
    for (i = 0; i < 30000; i++) {
        runnel_id_t id;

        (void)wl_op(s.r, 39);
        /* and the long-retention stream the ring must carry along */
        if (i % 2u == 0)
            (void)add(s.r, "long", i, 600, false, &id);
        if (rn(300) == 0) {
            uint64_t before;

            CHECK_EQ_INT(runnel_commit(s.r), 0);
            before = fingerprint_with_long(s.r);
            runnel_stats(s.r, &st);
            relocated += st.relocated_nodes;
            CHECK_EQ_INT(runnel_mount(&s.r, &s.cfg), 0);
            mounts++;
            if (fingerprint_with_long(s.r) != before && ++mismatches < 3)
                printf("    restart %u (op %u): state differs after mount\n", (unsigned)mounts,
                       (unsigned)i);
        }
    }
    runnel_stats(s.r, &st);
    relocated += st.relocated_nodes;
    printf("    %u restarts, %u mismatches, %llu nodes relocated, %llu dropped\n",
           (unsigned)mounts, (unsigned)mismatches, (unsigned long long)relocated,
           (unsigned long long)st.dropped_entries);
    CHECK(mounts > 50);
    CHECK_EQ_U64(mismatches, 0);
    CHECK_EQ_U64(st.dropped_entries, 0);
    CHECK(relocated > 0);
}

TEST_MAIN(
    RUN(test_invisible);
    RUN(test_full);
    RUN(test_random);
)
