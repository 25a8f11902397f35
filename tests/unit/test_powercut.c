/*
 * test_powercut.c - the power-cut rig: the engine on port/emu's flash,
 * power cut at every program and erase of a workload that wraps the ring,
 * under every cut model, and an oracle that accepts only the state before
 * or after the call in flight.
 *
 * Workload: store_workload.h with one API call per step, each committed
 * at once (COMMIT_ALWAYS) - XADD with the three ID forms, with and without
 * MAXLEN/MINID trims (exact and '~'), XDEL, XTRIM, XSETID, DEL, XGROUP CREATE /
 * SETID / DESTROY / CREATECONSUMER / DELCONSUMER, XREADGROUP, XACK,
 * XCLAIM, XAUTOCLAIM - on a ring small enough to wrap several times
 * under DROP_OLDEST, so block switches, reclaims, drops and the
 * checkpoints that release the tail all happen under the cuts.
 *
 * Exhaustive single cuts. Before each call the whole world is saved: the
 * flash image, the emulator, the engine's arena (all of its state lives
 * there, at the same address) and the workload's generator and clock.
 * The call runs once to count its program/erase operations and to take
 * the fingerprint after it; then, for every one of those operations and
 * every cut model, the world is restored, the cut is scheduled at that
 * operation and the call runs into it. Then:
 *   1. mount (never a format) must succeed, reading no more than a
 *      watchdog allows, and show the fingerprint before or after the call
 *      - or one of two states between them: an XADD that trims writes the
 *      entry, then the trim, and a cut between leaves the entry untrimmed;
 *      and when the ring turned for the call (DROP_OLDEST erased a block),
 *      the drop is durable with the erase while the call's record may not
 *      be, so "before (or untrimmed) less the nodes the mounted log no
 *      longer holds" is the other;
 *   2. every other cut gets a second cut: the world after the first
 *      recovery is saved, writes that cross three block switches run once
 *      to record their fingerprints, and run again with a cut at a random
 *      operation among them; mount must show the fingerprint before or
 *      after the write in flight;
 *   3. writes across three more block switches, commit, mount again: the
 *      same fingerprint.
 * Random multi-cut runs: a fresh store per run, a random workload, and a
 * cut at a random point, three times in a row, each checked as above.
 *
 * RELOCATE. Each geometry runs again under the RELOCATE policy with the
 * mixed-retention shape (store_workload.h, wl_long: half of the calls
 * keep "long" at a fixed length, the ten streams are trimmed at every
 * XADD), on a ring twice as long (the policy keeps a headroom of free
 * blocks for its copies, about the checkpoint reserve again, which the
 * smallest rings cannot spare) and over fewer calls, enough for the ring
 * to turn at least once and relocate (each costs what DROP_OLDEST's run
 * on its geometry costs, or less). The oracle is the
 * same: a relocation is invisible, so a cut in the middle of one leaves
 * the state before or after the call. "after" is trimmed by every fourth
 * of the writes after a recovery (XTRIM, one record: a state of its own),
 * since nothing drops it. The summary lines count the nodes relocated,
 * and a RELOCATE run that relocated nothing fails.
 *
 * Entries larger than a block. On every geometry one XADD in 40 (in 80
 * with 64 KiB blocks) carries a value of about one, two or three blocks (store_workload.h,
 * wl_span_block), so cuts land in the middle of spanning records (FORMAT.md
 * "Spanning records"): the fingerprint reads every byte of such an entry
 * (runnel_entry_value_read), so one acknowledged comes back bit-exact and
 * one cut short never appears. A ring too small for a span refuses it
 * (ENTRY_TOO_LARGE), which changes nothing, as any refused call.
 *
 * One line per geometry: "powercut: <geometry>: N cuts, M failures".
 * A failure prints the geometry, seed, call, cut index and model to replay
 * it. How much runs is set at compile time (the Cortex-M3 build runs a
 * slice) and, on the host, by the environment:
 *   RUNNEL_POWERCUT_STRIDE  cut every k-th operation (1 = all, 0 = none)
 *   RUNNEL_POWERCUT_RELOCATE_STRIDE  the same for the RELOCATE runs
 *                           (default: 5 x RUNNEL_POWERCUT_STRIDE)
 *   RUNNEL_POWERCUT_RANDOM  random multi-cut runs per geometry
 *   RUNNEL_POWERCUT_SEED    first seed of the random runs
 * A round whose cut call writes nothing (an error, a read) is not cut.
 * The long run (over 100,000 random runs in all):
 *   RUNNEL_POWERCUT_STRIDE=0 RUNNEL_POWERCUT_RANDOM=34000 build/test_powercut
 * Replaying a failure: RUNNEL_POWERCUT_STRIDE=0 RUNNEL_POWERCUT_RANDOM=1
 * RUNNEL_POWERCUT_SEED=<seed of the run, less 100000 or 200000 for the
 * second and third geometry>.
 */
#include <stdlib.h>
#include <string.h>

#include "runnel.h"
#include "emu_bd.h"
#include "testing.h"

#ifndef POWERCUT_BIG_GEOMETRY
#define POWERCUT_BIG_GEOMETRY 1
#endif
/* spanning entries of up to three blocks (and some) of the largest
 * geometry */
#if POWERCUT_BIG_GEOMETRY
#define WL_VAL_MAX (3u * 65536u + 128u)
#else
#define WL_VAL_MAX (3u * 4096u + 128u)
#endif
#include "store_workload.h"
#include "store.h"      /* the log's tail and the drop it implies */

#ifndef POWERCUT_STRIDE
#define POWERCUT_STRIDE 1u
#endif
#ifndef POWERCUT_RANDOM_RUNS
#define POWERCUT_RANDOM_RUNS 300u
#endif
#if POWERCUT_BIG_GEOMETRY
#define STORE_MAX (768u * 1024u)
/* three record buffers of a 64 KiB block, and the block summary's
 * buffer and runs (core/stream_summary.c) */
#define ARENA_BYTES (264u * 1024u)
#else
#define STORE_MAX (96u * 1024u)
#define ARENA_BYTES (256u * 1024u)
#endif

typedef struct geo {
    const char *name;
    uint32_t prog, block, count;
    uint32_t value_max;     /* XADD payload bound: the ring must turn */
    uint32_t calls;         /* calls in the exhaustive run */
    uint32_t long_keep;     /* RELOCATE runs: entries "long" keeps, */
    uint32_t reloc_count;   /* ... on a ring of this many blocks: the
                               policy keeps about twice the checkpoint
                               reserve free for its copies, more than
                               the smallest rings can spare; */
    uint32_t reloc_value_max; /* ... and this payload bound for "long",
                               so that reloc_calls turn the ring twice */
    uint32_t reloc_calls;
    const char *reloc_name;
} geo_t;

/* The full-ring policy of the run: DROP_OLDEST, then RELOCATE with the
 * mixed-retention workload (store_workload.h: wl_long). */
static runnel_full_policy_t policy = RUNNEL_FULL_DROP_OLDEST;

/* The world: everything a cut must be replayed from. */
static uint8_t storage[STORE_MAX];
static uint64_t arena[ARENA_BYTES / 8u];
static runnel_emu_bd_t eb;
static runnel_bd_t bd;
static runnel_t *store;

typedef struct world {
    uint8_t storage[STORE_MAX];
    uint64_t arena[ARENA_BYTES / 8u];
    runnel_emu_bd_t eb;
    runnel_t *store;
    uint64_t rng, now;
} world_t;

static world_t saved_call, saved_recovery, saved_mounted, saved_middle;

/* An XADD that trims journals two records, the entry and then the trim: a
 * cut between them leaves the entry without the trim. has_middle says
 * the call in flight is one; saved_middle and middle_fp hold that state,
 * made by running the call again with its trim left out. */
static bool has_middle;
static uint64_t middle_fp;
static const geo_t *geo;

static size_t image_bytes(void)
{
    return (size_t)geo->block * geo->count;
}

static void world_save(world_t *w)
{
    memcpy(w->storage, storage, image_bytes());
    memcpy(w->arena, arena, sizeof arena);
    w->eb = eb;
    w->store = store;
    w->rng = wl_rng;
    w->now = wl_now_ms;
}

static void world_restore(const world_t *w)
{
    memcpy(storage, w->storage, image_bytes());
    memcpy(arena, w->arena, sizeof arena);
    eb = w->eb;
    store = w->store;
    wl_rng = w->rng;
    wl_now_ms = w->now;
}

/* Every call committed at once: a cut never loses a finished call. */
static void config(runnel_config_t *c)
{
    wl_config(c, &bd, arena, sizeof arena, 256, 256);
    c->commit_policy = RUNNEL_COMMIT_ALWAYS;
    c->full_policy = policy;
}

/* Mount after a cut. The watchdog: a mount reads block headers, the
 * newest checkpoint and what follows it - never more than a few passes
 * over the ring; a runaway loop shows as reads without end. */
static uint64_t by_summary;     /* closed blocks the cut mounts applied
                                   through their summaries (FORMAT.md) */
static uint64_t stubs_made;     /* node runs the cut mounts left on flash
                                   (checkpoint_stub.c), summed */
static uint64_t dir_refs;       /* directory records the cut mounts read
                                   through a DIR_REF (checkpoint_dir.c) */

static int mount_checked(void)
{
    runnel_config_t c;
    uint64_t calls0 = eb.read_calls, bytes0 = eb.bytes_read;
    int rc;

    config(&c);
    runnel_emu_bd_power_on(&eb);
    rc = runnel_mount(&store, &c);
    if (rc == 0) {
        by_summary += store->mount_summaries;
        stubs_made += store->stubs + store->stats.stub_loads;
        dir_refs += store->mount_dir_refs;
    }
    if (rc == 0 && (eb.bytes_read - bytes0 > 4u * image_bytes() ||
                    eb.read_calls - calls0 > 64u * geo->count + 200000u))
        return -1000;
    return rc;
}

/* The one state besides "before" and "after" a cut may leave: the ring
 * turned for the call in flight - DROP_OLDEST erased the oldest block and
 * dropped the nodes starting there - but the call's record never landed.
 * The drop is durable once the erase is; the record is not. Rebuilt from
 * the world before the call (`rerun` big writes into it) by dropping what
 * the mounted log no longer holds, and compared with what mount shows. */
static uint64_t rig_fingerprint(void);
static uint32_t big_writes(uint32_t switches, uint64_t *fps, uint32_t cap);

static bool ring_turned(const world_t *before, uint32_t rerun, uint64_t got)
{
    runnel_pos_t tail = store->log.tail;
    uint64_t fp;

    world_save(&saved_mounted);
    world_restore(before);
    if (rerun > 0)
        (void)big_writes(UINT32_MAX, NULL, rerun);
    runnel__drop_before(store, tail);
    fp = rig_fingerprint();
    world_restore(&saved_mounted);
    return fp == got;
}

/* What the rig compares: the workload's fingerprint, and the length and
 * last ID of "after", the stream the writes after a recovery go to (once
 * a random run has recovered, it exists in every later state). */
static uint64_t rig_fingerprint(void)
{
    runnel_stream_info_t si;
    uint64_t fp = wl_fingerprint(store);

    if (runnel_stream_info(store, S("after"), &si) == 0)
        fp ^= (si.length * 0x9E3779B97F4A7C15ull) ^ (si.last_id.ms << 7) ^ si.last_id.seq;
    return fp;
}

/* Writes of block_size/4 bytes to "after" until the log has opened
 * `switches` more blocks; fps[i] = the fingerprint after write i, fps[0]
 * before them. Returns the number of writes (at most cap). Under
 * DROP_OLDEST these writes drop the workload's oldest nodes, so each one
 * changes more than its own stream. */
static uint32_t big_writes(uint32_t switches, uint64_t *fps, uint32_t cap)
{
    static char val[16384];
    uint64_t erases0 = eb.erases;
    uint32_t i = 0, len = geo->block / 4u < sizeof val ? geo->block / 4u : (uint32_t)sizeof val;
    runnel_xadd_args_t a;
    runnel_str_t fv[2];
    runnel_id_t id;

    memset(val, 'z', len);
    memset(&a, 0, sizeof a);
    fv[0] = S("blob");
    fv[1].p = val;
    fv[1].len = len;
    a.key = S("after");
    a.fv = fv;
    a.nfields = 1;
    if (fps)
        fps[0] = rig_fingerprint();
    while (eb.erases - erases0 < switches && i < cap && !runnel_emu_bd_cut_happened(&eb)) {
        wl_now_ms++;
        /* Under RELOCATE nothing is dropped: every fourth write is an
         * XTRIM of "after" (one record, a state of its own), or these
         * writes alone would fill the ring. */
        if (policy == RUNNEL_FULL_RELOCATE && i % 4u == 3u) {
            runnel_trim_t t;
            uint64_t del;

            memset(&t, 0, sizeof t);
            t.strategy = RUNNEL_TRIM_MAXLEN;
            t.maxlen = 2;
            t.limit = -1;
            (void)runnel_xtrim(store, S("after"), &t, &del);
        } else {
            (void)runnel_xadd(store, &a, &id);
        }
        i++;
        if (fps && !runnel_emu_bd_cut_happened(&eb))
            fps[i] = rig_fingerprint();
    }
    return i;
}

/* Step 3: the recovered store goes on across three block switches, and a
 * mount after a commit shows exactly what it showed before. */
static bool goes_on(void)
{
    uint64_t fp;

    (void)big_writes(3, NULL, 64);
    fp = rig_fingerprint();
    return runnel_commit(store) == 0 && mount_checked() == 0 && rig_fingerprint() == fp;
}


/* Step 2: a second cut somewhere in the writes after the first recovery:
 * the state before or after the write in flight. */
static bool second_cut(uint32_t pick)
{
    static uint64_t fps[65];
    uint64_t base, ops, got;
    uint32_t n, i;
    runnel_emu_cut_model_t m = (runnel_emu_cut_model_t)(pick % RUNNEL_EMU_CUT_MODELS);

    world_save(&saved_recovery);
    base = eb.mut_ops;
    n = big_writes(3, fps, 64);
    ops = eb.mut_ops - base;
    world_restore(&saved_recovery);
    if (ops == 0 || n == 0)
        return true;
    runnel_emu_bd_schedule_cut(&eb, 1u + pick / 4u % ops, m);
    i = big_writes(3, NULL, 64);
    if (mount_checked() != 0)
        return false;
    got = rig_fingerprint();
    /* write i was in flight, or none if the cut came after the last one */
    return got == fps[i] || (i >= 1 && got == fps[i - 1]) ||
           (i >= 1 && ring_turned(&saved_recovery, i - 1, got));
}

static uint64_t cuts, failures, relocated;

/* The geometry as the summary lines name it. */
static const char *run_name(const geo_t *g)
{
    return policy == RUNNEL_FULL_RELOCATE ? g->reloc_name : g->name;
}

/* Nodes the run's store relocated so far (its stats live in the arena, so
 * a restored world brings its own count back). */
static uint64_t store_relocated(void)
{
    runnel_stats_t st;

    runnel_stats(store, &st);
    return st.relocated_nodes;
}
static uint64_t seen[4];        /* which state mounts showed: before, after,
                                   untrimmed, turned (see cut_call) */
static uint32_t run_seed;

/* After the call saved in saved_call ran (uncut): was it an XADD that
 * trims? Then make its middle state. Leaves the world as it found it. */
static void measure_middle(uint32_t value_max)
{
    has_middle = wl_last_trimmed;
    if (!has_middle)
        return;
    world_save(&saved_mounted);
    world_restore(&saved_call);
    wl_skip_trim = true;
    (void)wl_op(store, value_max);
    wl_skip_trim = false;
    middle_fp = rig_fingerprint();
    world_save(&saved_middle);
    world_restore(&saved_mounted);
}

static void report(const char *what, uint32_t call, uint64_t cut, runnel_emu_cut_model_t m)
{
    if (failures++ < 5)
        printf("    FAIL %s: seed %lu, call %lu, cut at operation %lu of the call (%s)\n", what,
               (unsigned long)run_seed, (unsigned long)call, (unsigned long)cut,
               runnel_emu_cut_model_name(m));
}

/* Cuts the power at operation `cut` (1-based) of the call that the world
 * saved in saved_call is about to make; checks steps 1-3. */
static void cut_call(uint32_t call, uint64_t cut, runnel_emu_cut_model_t m, uint64_t before,
                     uint64_t after, bool twice, uint32_t value_max)
{
    uint64_t got;

    world_restore(&saved_call);
    runnel_emu_bd_seed(&eb, (uint32_t)(cut * 2654435761u) ^ run_seed ^ (uint32_t)m);
    runnel_emu_bd_schedule_cut(&eb, cut, m);
    (void)wl_op(store, value_max);
    cuts++;
    if (!runnel_emu_bd_cut_happened(&eb)) {
        report("the cut never came", call, cut, m);
        return;
    }
    if (mount_checked() != 0) {
        report("mount failed", call, cut, m);
        return;
    }
    got = rig_fingerprint();
    if (got == before)
        seen[0]++;
    else if (got == after)
        seen[1]++;
    else if (has_middle && got == middle_fp)
        seen[2]++;
    else if (ring_turned(&saved_call, 0, got) ||
             (has_middle && ring_turned(&saved_middle, 0, got)))
        seen[3]++;
    else {
        report("state is neither before nor after the call", call, cut, m);
        return;
    }
    if (twice && !second_cut((uint32_t)(cut * 7u + call))) {
        report("second cut: state is neither before nor after the write", call, cut, m);
        return;
    }
    if (!goes_on())
        report("writes and a mount after recovery differ", call, cut, m);
}

static bool fresh_store(uint32_t seed)
{
    runnel_bd_geometry_t g;
    runnel_config_t c;

    memset(&g, 0, sizeof g);
    g.read_size = 1;
    g.prog_size = geo->prog;
    g.block_size = geo->block;
    g.block_count = geo->count;
    g.erase_value = 0xFF;
    if (runnel_emu_bd_init(&eb, &bd, &g, storage, NULL, seed | 1u) != 0)
        return false;
    config(&c);
    wl_rng = 0x9E3779B97F4A7C15ull ^ seed;
    wl_now_ms = 1700000000000ull;
    wl_single_call = true;
    return runnel_format(&store, &c) == 0;
}

static uint32_t env_u32(const char *name, uint32_t dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v ? (uint32_t)strtoul(v, NULL, 10) : dflt;
}

static void exhaustive(const geo_t *g, uint32_t seed, uint32_t calls)
{
    uint32_t stride = env_u32("RUNNEL_POWERCUT_STRIDE", POWERCUT_STRIDE), call, k = 0;
    uint64_t before, after, ops_total = 0, erases;
    uint32_t spans[4] = { 0, 0, 0, 0 }, spans_refused = 0;
    runnel_emu_cut_model_t m;

    /* RELOCATE's runs cut every 5th operation unless told otherwise: at
     * every one they would double what ctest spends here */
    if (policy == RUNNEL_FULL_RELOCATE)
        stride = env_u32("RUNNEL_POWERCUT_RELOCATE_STRIDE", 5u * stride);

    geo = g;
    run_seed = seed;
    cuts = failures = 0;
    by_summary = 0;
    stubs_made = 0;
    dir_refs = 0;
    memset(seen, 0, sizeof seen);
    if (stride == 0)
        return;                 /* RUNNEL_POWERCUT_STRIDE=0: random runs only */
    CHECK(fresh_store(seed));
    before = rig_fingerprint();
    for (call = 1; call <= calls; call++) {
        uint64_t base, ops, cut;

        world_save(&saved_call);
        base = eb.mut_ops;
        (void)wl_op(store, g->value_max);
        ops = eb.mut_ops - base;
        after = rig_fingerprint();
        measure_middle(g->value_max);
        ops_total += ops;
        for (cut = 1; cut <= ops; cut++) {
            for (m = 0; m < RUNNEL_EMU_CUT_MODELS; m++) {
                if (k++ % stride != 0)
                    continue;
                cut_call(call, cut, m, before, after, (k & 1u) != 0, g->value_max);
            }
        }
        /* back to the world after the call, uncut */
        world_restore(&saved_call);
        (void)wl_op(store, g->value_max);
        CHECK(rig_fingerprint() == after);
        if (wl_last_span > 0)
            spans[wl_last_span]++;
        else if (wl_last_span < 0)
            spans_refused++;
        before = after;
    }
    erases = eb.erases;
    relocated = store_relocated();
    printf("powercut: %s: %lu cuts, %lu failures (exhaustive: %lu calls, %lu program/erase "
           "operations, every %lu-th cut x 4 models, %lu.%lu ring passes, %lu nodes "
           "relocated; mount showed the state before %lu, after %lu, untrimmed %lu, ring "
           "turned %lu times; %lu blocks mounted by summary, %lu node runs left on flash, "
           "%lu directory records named again)\n",
           run_name(g), (unsigned long)cuts, (unsigned long)failures, (unsigned long)calls,
           (unsigned long)ops_total, (unsigned long)stride, (unsigned long)(erases / g->count),
           (unsigned long)(erases * 10u / g->count % 10u), (unsigned long)relocated,
           (unsigned long)seen[0], (unsigned long)seen[1], (unsigned long)seen[2],
           (unsigned long)seen[3], (unsigned long)by_summary, (unsigned long)stubs_made,
           (unsigned long)dir_refs);
    printf("powercut: %s: spanning XADDs stored: %lu of about 1 block, %lu of 2, %lu of 3; "
           "%lu refused (ENTRY_TOO_LARGE or full ring)\n",
           run_name(g), (unsigned long)spans[1], (unsigned long)spans[2],
           (unsigned long)spans[3], (unsigned long)spans_refused);
    /* the cuts fell inside spanning records of 1, 2 and 3 blocks */
    if (policy == RUNNEL_FULL_DROP_OLDEST)
        CHECK(spans[1] > 0 && spans[2] > 0 && spans[3] > 0);
    /* every block was reused, twice (RELOCATE's longer rings: once) */
    CHECK(erases >= (policy == RUNNEL_FULL_RELOCATE ? 1u : 2u) * g->count);
    CHECK(cuts > 0);
    CHECK_EQ_U64(failures, 0);
    /* the mixed-retention shape made the ring relocate under the cuts */
    if (policy == RUNNEL_FULL_RELOCATE)
        CHECK(relocated > 0);
}

/* Random multi-cut runs: per run a fresh store and three rounds of "a
 * random stretch of calls, one of them cut at a random operation". */
static void random_runs(const geo_t *g, uint32_t first_seed, uint32_t runs)
{
    uint32_t run, round;

    geo = g;
    cuts = failures = relocated = 0;
    by_summary = 0;
    stubs_made = 0;
    dir_refs = 0;
    for (run = 0; run < runs; run++) {
        /* a mount starts the store's counters again: what they held
         * before a cut's mount, and since it, is added up */
        uint64_t counted = 0;

        run_seed = first_seed + run;
        if (!fresh_store(run_seed)) {
            report("format failed", 0, 0, RUNNEL_EMU_CUT_ATOMIC);
            continue;
        }
        for (round = 0; round < 3; round++) {
            uint32_t calls = 1u + rn(g->calls / 2u), call;
            uint64_t before = rig_fingerprint(), after, ops, base;
            runnel_emu_cut_model_t m = (runnel_emu_cut_model_t)rn(RUNNEL_EMU_CUT_MODELS);

            for (call = 1; call < calls; call++)
                (void)wl_op(store, g->value_max);
            before = rig_fingerprint();
            relocated += store_relocated() - counted;
            counted = store_relocated();
            world_save(&saved_call);
            base = eb.mut_ops;
            (void)wl_op(store, g->value_max);
            ops = eb.mut_ops - base;
            after = rig_fingerprint();
            measure_middle(g->value_max);
            if (ops == 0) {
                world_restore(&saved_call);
                (void)wl_op(store, g->value_max);
                continue;
            }
            cut_call(calls, 1u + rn((uint32_t)ops), m, before, after, round == 1, g->value_max);
            relocated += store_relocated();
            counted = store_relocated();
            if (failures)
                break;
        }
    }
    printf("powercut: %s: %lu cuts, %lu failures (random: %lu runs of up to 3 cuts, seeds "
           "%lu.., %lu nodes relocated, %lu blocks mounted by summary, %lu node runs left "
           "on flash, %lu directory records named again)\n",
           run_name(g), (unsigned long)cuts, (unsigned long)failures, (unsigned long)runs,
           (unsigned long)first_seed, (unsigned long)relocated, (unsigned long)by_summary,
           (unsigned long)stubs_made, (unsigned long)dir_refs);
    CHECK_EQ_U64(failures, 0);
    if (policy == RUNNEL_FULL_RELOCATE && runs >= 3u)
        CHECK(relocated > 0);
}

static const geo_t geos[] = {
    { "nor 1 B / 4 KiB x 12", 1, 4096, 12, 80, 2000, 12, 24, 3000, 200,
      "nor 1 B / 4 KiB x 24 relocate" },
    { "ecc 16 B / 2 KiB x 24", 16, 2048, 24, 100, 1600, 20, 48, 1500, 300,
      "ecc 16 B / 2 KiB x 48 relocate" },
    { "256 B / 64 KiB x 12", 256, 65536, 12, 2500, 1200, 8, 12, 24000, 120,
      "256 B / 64 KiB x 12 relocate" },
};

/* Both policies on geometry g: DROP_OLDEST with the workload as it is,
 * then RELOCATE with the mixed-retention shape (store_workload.h: wl_long)
 * on a ring twice as long, over fewer calls (reloc_calls) and a third of
 * the random runs: enough for the ring to turn twice and relocate under
 * the cuts; more would mostly repeat what DROP_OLDEST's runs cover. Seeds
 * of the RELOCATE runs are the DROP_OLDEST ones plus 50000. */
static void both_policies(const geo_t *g, uint32_t seed)
{
    uint32_t runs = env_u32("RUNNEL_POWERCUT_RANDOM", POWERCUT_RANDOM_RUNS);
    static geo_t reloc;

    policy = RUNNEL_FULL_DROP_OLDEST;
    wl_long = 0;
    wl_span_block = g->block;
    /* a 64 KiB span costs 256 programs a block, each cut four ways: fewer
     * of them keep the big geometry's run near its old length */
    wl_span_one_in = g->block >= 65536u ? 80u : 40u;
    exhaustive(g, seed, g->calls);
    random_runs(g, seed, runs);
    policy = RUNNEL_FULL_RELOCATE;
    wl_long = g->long_keep;
    reloc = *g;
    reloc.count = g->reloc_count;
    wl_long_value_max = g->reloc_value_max;
    exhaustive(&reloc, seed + 50000u, g->reloc_calls);
    random_runs(&reloc, seed + 50000u, (runs + 2u) / 3u);
    policy = RUNNEL_FULL_DROP_OLDEST;
    wl_long = 0;
    wl_long_value_max = 0;
    wl_span_block = 0;
}

static void test_nor(void)
{
    both_policies(&geos[0], env_u32("RUNNEL_POWERCUT_SEED", 1));
}

static void test_ecc(void)
{
    both_policies(&geos[1], env_u32("RUNNEL_POWERCUT_SEED", 1) + 100000u);
}

#if POWERCUT_BIG_GEOMETRY
static void test_big_blocks(void)
{
    both_policies(&geos[2], env_u32("RUNNEL_POWERCUT_SEED", 1) + 200000u);
}
#endif

TEST_MAIN(
    RUN(test_nor);
    RUN(test_ecc);
#if POWERCUT_BIG_GEOMETRY
    RUN(test_big_blocks);
#endif
)
