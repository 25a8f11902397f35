/*
 * test_log_mount.c - runnel__log_mount on the emulated flash (port/emu):
 * mount errors (blank, geometry, version), the state a mount restores,
 * what it reads (bounded), leftovers of an older generation, and the
 * power-cut test of the log layer:
 *
 *   for every program/erase index of a workload (appends and commits over
 *   more than a full ring, so the ring wraps and reclaims) and every cut
 *   model, run until the cut, mount, and check the durability contract:
 *   every record committed before the cut (and not reclaimed) is there,
 *   byte-exact, in order, at its position; nothing appears that was never
 *   appended. Then append across 3 more block switches, remount and check
 *   again; every other run cuts power a second time during those writes.
 *
 * One line per geometry: "powercut-log: <geometry>: N cuts, M failures".
 * A failure prints the seed, cut index and model to replay it.
 */
#include <stdint.h>
#include <string.h>

#include "emu_bd.h"
#include "log.h"
#include "testing.h"

/* Every POWERCUT_STRIDE-th cut index is run (1 = all of them). Bare-metal
 * boards take every 5th so the run stays well inside their timeout; the
 * printed line says so. */
#ifndef POWERCUT_STRIDE
#ifdef RUNNEL_TARGET_SMALL
#define POWERCUT_STRIDE 5u
#else
#define POWERCUT_STRIDE 1u
#endif
#endif

#define IMAGE_MAX (256u * 1024u)
#define PAGE_MAX 4096u
#define BODY_MAX 65536u
#define MODEL_MAX 4096u

static uint8_t image[IMAGE_MAX];
static uint8_t base_image[IMAGE_MAX];
static uint8_t page[PAGE_MAX];
static uint8_t body[BODY_MAX];
static uint8_t expect[BODY_MAX];

static runnel_emu_bd_t eb;
static runnel_bd_t bd;
static runnel_log_t lg;
static runnel_stats_t stats;

/* ---- deterministic workload ---- */

static uint32_t wl_rng;

static uint32_t rnd(void)
{
    uint32_t x = wl_rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return wl_rng = x;
}

static void fill_body(uint8_t *p, uint32_t len, uint32_t seed)
{
    uint32_t i, x = seed * 2654435761u + 1u;
    for (i = 0; i < len; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* ---- reference model: every record appended, oldest first ---- */

typedef struct {
    runnel_pos_t pos;
    uint32_t len, seed;
    uint8_t type;
} mrec_t;

static mrec_t model[MODEL_MAX];
static uint32_t n_app;       /* records appended */
static uint32_t n_committed; /* records appended before the last good commit */
static uint32_t live_from;   /* first record not reclaimed */

static int reclaim_cb(void *ctx, runnel_pos_t start, runnel_pos_t end)
{
    (void)ctx;
    (void)start;
    while (live_from < n_app && model[live_from].pos < end)
        live_from++;
    return 0;
}

typedef struct {
    const char *name;
    uint32_t read_size, prog_size, block_size, block_count;
    uint8_t erase_value;
    uint32_t page_size;
    uint32_t big;          /* largest record body the workload appends */
} geo_t;

static int bd_setup(const geo_t *g, uint32_t seed)
{
    runnel_bd_geometry_t bg;
    memset(&bg, 0, sizeof bg);
    bg.read_size = g->read_size;
    bg.prog_size = g->prog_size;
    bg.block_size = g->block_size;
    bg.block_count = g->block_count;
    bg.erase_value = g->erase_value;
    if ((uint64_t)g->block_size * g->block_count > IMAGE_MAX || g->page_size > PAGE_MAX)
        return -1;
    return runnel_emu_bd_init(&eb, &bd, &bg, image, NULL, seed);
}

static int log_open(const geo_t *g)
{
    int err = runnel__log_init(&lg, &bd, page, g->page_size, reclaim_cb, NULL, &stats);
    return err ? err : runnel__log_mount(&lg);
}

static uint32_t pick_len(const geo_t *g)
{
    uint32_t r = rnd() % 100u;
    if (r < 55)
        return rnd() % 48u;
    if (r < 90)
        return 48u + rnd() % 400u;
    return rnd() % (g->big + 1u);
}

/* Appends one record; the model learns it only when the append succeeded. */
static int append_one(const geo_t *g)
{
    mrec_t m;
    runnel__iov_t iov[2];
    uint32_t a;
    int err;

    m.len = pick_len(g);
    m.seed = rnd();
    m.type = (uint8_t)(0x10u + rnd() % 0x30u);
    fill_body(body, m.len, m.seed);
    a = m.len ? rnd() % (m.len + 1u) : 0;
    iov[0].p = body;
    iov[0].len = a;
    iov[1].p = body + a;
    iov[1].len = m.len - a;
    if (n_app >= MODEL_MAX)
        return -1000;
    m.pos = UINT64_MAX;
    err = runnel__log_append(&lg, m.type, iov, 2, &m.pos);
    /* An append that failed after it was placed (power went while it was
     * programmed) may or may not be on flash: it was appended, not
     * committed, and the oracle allows it either way. */
    if (err == 0 || m.pos != UINT64_MAX)
        model[n_app++] = m;
    return err;
}

static int commit(void)
{
    int err = runnel__log_commit(&lg);
    if (err == 0)
        n_committed = n_app;
    return err;
}

/* Appends (committing now and then) until the head is `blocks` blocks
 * further, then commits. Stops at the first error (a cut). */
static int run_blocks(const geo_t *g, uint32_t blocks)
{
    uint64_t until = lg.head / g->block_size + blocks;
    int err = 0;

    while (err == 0 && lg.head / g->block_size < until) {
        err = append_one(g);
        if (err == 0 && rnd() % 4u == 0)
            err = commit();
    }
    if (err == 0)
        err = commit();
    return err;
}

/* The oracle. The walk must be model[k .. e) for some k and e, each record
 * at its position with its type and exact bytes, where no committed record
 * that was not reclaimed is missing (k <= live_from or nothing committed
 * is live; e >= n_committed). Afterwards the model is what is on flash. */
static int verify(const char **why)
{
    runnel__rec_t rec;
    runnel_pos_t pos = lg.tail;
    uint32_t k = 0, i = 0, lo, hi;
    int r, first = 1;

    *why = NULL;
    while ((r = runnel__log_next(&lg, pos, &rec)) == 1) {
        if (first) {
            lo = 0;
            hi = n_app;
            while (lo < hi) { /* positions increase along the model */
                uint32_t mid = lo + (hi - lo) / 2u;
                if (model[mid].pos < rec.pos)
                    lo = mid + 1u;
                else
                    hi = mid;
            }
            if (lo >= n_app || model[lo].pos != rec.pos) {
                *why = "a record that was never appended";
                return 0;
            }
            k = lo;
            i = k;
            first = 0;
            if (k > live_from && live_from < n_committed) {
                *why = "committed records missing at the tail";
                return 0;
            }
        }
        /* Records the owner released (reclaim) may be partly there: a
         * half-erased tail block read up to an erased byte. Skipping them
         * is allowed, skipping a committed live one is not. */
        while (i < live_from && i < n_app && model[i].pos < rec.pos)
            i++;
        if (i >= n_app || model[i].pos != rec.pos) {
            *why = "a record that was never appended (or one missing)";
            return 0;
        }
        if (rec.type != model[i].type || rec.len != model[i].len) {
            *why = "record type/length differ";
            return 0;
        }
        if (runnel__log_read_body(&lg, &rec, body, BODY_MAX) != 0) {
            *why = "record body does not read back (CRC)";
            return 0;
        }
        fill_body(expect, model[i].len, model[i].seed);
        if (memcmp(body, expect, model[i].len) != 0) {
            *why = "record bytes differ";
            return 0;
        }
        pos = rec.next;
        i++;
    }
    if (r != 0) {
        *why = "log_next failed";
        return 0;
    }
    if (first) {
        if (live_from < n_committed) {
            *why = "committed records missing (empty log)";
            return 0;
        }
        n_app = n_committed = live_from = 0; /* nothing is on flash */
        return 1;
    }
    if (i < n_committed) {
        *why = "committed records missing at the head";
        return 0;
    }
    n_app = n_committed = i;
    live_from = k;
    return 1;
}

/* ---- small tests ---- */

static const geo_t geo_small = {"small", 1, 16, 2048, 8, 0xFF, 128, 600};

static void test_mount_errors(void)
{
    uint8_t *h;
    uint32_t b, crc_ok = 0;

    CHECK_EQ_INT(bd_setup(&geo_small, 1), 0);
    CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, 128, reclaim_cb, NULL, &stats), 0);
    CHECK_EQ_INT(runnel__log_mount(&lg), RUNNEL_ERR_NOT_FORMATTED);
    CHECK_EQ_U64(stats.mount_read_calls, 2 + 8); /* blank: blocks 0 and 1, then every header */
    CHECK_EQ_U64(eb.prog_calls + eb.erases, 0);

    /* formatted with another block size: 1 KiB blocks on the same chip */
    {
        runnel_bd_t bd2;
        runnel_emu_bd_t eb2;
        runnel_bd_geometry_t g2;
        memset(&g2, 0, sizeof g2);
        g2.read_size = 1;
        g2.prog_size = 16;
        g2.block_size = 1024;
        g2.block_count = 16;
        g2.erase_value = 0xFF;
        CHECK_EQ_INT(runnel_emu_bd_init(&eb2, &bd2, &g2, image, NULL, 2), 0);
        CHECK_EQ_INT(runnel__log_init(&lg, &bd2, page, 128, NULL, NULL, NULL), 0);
        CHECK_EQ_INT(runnel__log_format(&lg), 0);
        /* the same bytes seen through the 2 KiB geometry */
        CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, 128, NULL, NULL, NULL), 0);
        CHECK_EQ_INT(runnel__log_mount(&lg), RUNNEL_ERR_GEOMETRY);
    }

    /* an older (the version before: FORMAT.md says it is not opened)
     * and a newer format version, with a valid CRC */
    for (b = 0; b < 2u; b++) {
        CHECK_EQ_INT(bd_setup(&geo_small, 1), 0);
        CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, 128, NULL, NULL, NULL), 0);
        CHECK_EQ_INT(runnel__log_format(&lg), 0);
        h = runnel_emu_bd_data(&eb, 0, 0);
        h[4] = (uint8_t)(b == 0 ? RUNNEL_FORMAT_VERSION - 1u : RUNNEL_FORMAT_VERSION + 1u);
        {
            /* recompute the header CRC the way FORMAT.md says */
            uint32_t c = runnel__crc32c(0, h, 20);
            h[20] = (uint8_t)c;
            h[21] = (uint8_t)(c >> 8);
            h[22] = (uint8_t)(c >> 16);
            h[23] = (uint8_t)(c >> 24);
            crc_ok = 1;
        }
        CHECK(crc_ok);
        CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, 128, NULL, NULL, NULL), 0);
        CHECK_EQ_INT(runnel__log_mount(&lg), RUNNEL_ERR_FORMAT_VERSION);
    }

    /* garbage everywhere: not a store, never a crash */
    for (b = 0; b < 8u * 2048u; b++)
        image[b] = (uint8_t)(b * 7u + (b >> 5));
    CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, 128, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(runnel__log_mount(&lg), RUNNEL_ERR_NOT_FORMATTED);
}

/* After clean runs (no cut), mount restores exactly the writer's state at
 * many points of the ring, reads little, and programs nothing. */
static void test_mount_restores_state(void)
{
    static const geo_t g = {"state", 1, 16, 2048, 16, 0x00, 128, 900};
    runnel_pos_t head, tail;
    uint32_t step;
    const char *why;

    CHECK_EQ_INT(bd_setup(&g, 3), 0);
    CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g.page_size, reclaim_cb, NULL, &stats), 0);
    CHECK_EQ_INT(runnel__log_format(&lg), 0);
    wl_rng = 12345;
    n_app = n_committed = live_from = 0;
    for (step = 0; step < 60; step++) {
        uint64_t progs, erases;
        CHECK_EQ_INT(run_blocks(&g, 1 + step % 2), 0);
        head = lg.head;
        tail = lg.tail;
        progs = eb.prog_calls;
        erases = eb.erases;
        CHECK_EQ_INT(log_open(&g), 0);
        CHECK_EQ_U64(eb.prog_calls, progs);
        CHECK_EQ_U64(eb.erases, erases);
        CHECK_EQ_U64(lg.head, head);
        CHECK_EQ_U64(lg.tail, tail);
        CHECK_EQ_U64(lg.committed, head);
        CHECK(!lg.fence_pending);
        /* bounded: at most ~log2(16)+5 headers, the newest block walked
         * and its rest checked, and (full ring) the tail block walked */
        CHECK(stats.mount_read_calls <= 12u + 3u * (2048u / 64u) * 2u + 4u);
        CHECK(stats.mount_bytes_read <= 12u * 24u + 3u * 2048u + 64u);
        if (step == 59)
            printf("    mount of a full 16 x 2 KiB ring: %lu reads, %lu bytes\n",
                   (unsigned long)stats.mount_read_calls, (unsigned long)stats.mount_bytes_read);
        CHECK(verify(&why));
        if (why)
            printf("    step %lu: %s\n", (unsigned long)step, why);
    }
    CHECK(lg.head / 2048u > 3u * 16u); /* the ring turned three times */
    CHECK_EQ_U64(eb.prog_violations, 0);
}

/* 128 blocks: the search reads O(log2 128) headers, not 128, wherever
 * the head is in the ring. */
static void test_mount_cost(void)
{
    static const geo_t g = {"cost", 1, 1, 1024, 128, 0xFF, 64, 200};
    const char *why;
    uint32_t step, max_calls = 0;
    uint64_t max_bytes = 0;

    CHECK_EQ_INT(bd_setup(&g, 9), 0);
    CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g.page_size, reclaim_cb, NULL, &stats), 0);
    CHECK_EQ_INT(runnel__log_format(&lg), 0);
    wl_rng = 2024;
    n_app = n_committed = live_from = 0;
    for (step = 0; step < 60; step++) {
        uint64_t reads;
        CHECK_EQ_INT(run_blocks(&g, 1 + step % 11), 0);
        reads = eb.read_calls;
        CHECK_EQ_INT(log_open(&g), 0);
        CHECK_EQ_U64(eb.read_calls - reads, stats.mount_read_calls);
        if (stats.mount_read_calls > max_calls)
            max_calls = stats.mount_read_calls;
        if (stats.mount_bytes_read > max_bytes)
            max_bytes = stats.mount_bytes_read;
        /* headers: 2 + log2(128) + 4 at most; walks: 3 blocks */
        CHECK(stats.mount_bytes_read <= 13u * 24u + 3u * 1024u + 128u);
    }
    CHECK(verify(&why));
    CHECK(lg.head / 1024u > 2u * 128u);
    printf("    128 x 1 KiB blocks: mount read at most %lu bytes in %lu calls "
           "(a scan of all headers alone: 128 calls)\n",
           (unsigned long)max_bytes, (unsigned long)max_calls);
    CHECK(max_calls < 40u);
}

/* Formatting over an older store leaves its blocks where the new ring has
 * not reached yet; the search must not take them for the newest. */
static void test_mount_over_old_generation(void)
{
    static const geo_t g = {"gen", 1, 1, 2048, 8, 0xFF, 64, 300};
    const char *why;
    uint32_t round;

    CHECK_EQ_INT(bd_setup(&g, 4), 0);
    CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g.page_size, reclaim_cb, NULL, &stats), 0);
    CHECK_EQ_INT(runnel__log_format(&lg), 0);
    wl_rng = 99;
    n_app = n_committed = live_from = 0;
    CHECK_EQ_INT(run_blocks(&g, 13), 0); /* old store: wrapped, head mid-ring */
    for (round = 0; round < 8; round++) {
        CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g.page_size, reclaim_cb, NULL, &stats), 0);
        CHECK_EQ_INT(runnel__log_format(&lg), 0);
        n_app = n_committed = live_from = 0;
        CHECK_EQ_INT(run_blocks(&g, round + 1u), 0);
        CHECK_EQ_INT(log_open(&g), 0);
        CHECK(verify(&why));
        CHECK(n_app > 0);
        if (why)
            printf("    round %lu: %s\n", (unsigned long)round, why);
    }
}

/* A damaged header inside the chain, or bits flipping on read, are not
 * what a power cut makes, but mount must still answer (an error or a log
 * whose walk ends), never crash or hang. */
static void test_mount_damaged_headers(void)
{
    static const geo_t g = {"dmg", 1, 16, 2048, 8, 0xFF, 128, 500};
    uint32_t b, k;

    for (b = 0; b < 8; b++) {
        CHECK_EQ_INT(bd_setup(&g, 5), 0);
        CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g.page_size, reclaim_cb, NULL, &stats), 0);
        CHECK_EQ_INT(runnel__log_format(&lg), 0);
        wl_rng = 7 + b;
        n_app = n_committed = live_from = 0;
        CHECK_EQ_INT(run_blocks(&g, 11), 0);
        runnel_emu_bd_data(&eb, b, 0)[9] ^= 0x40; /* sequence byte: CRC fails */
        if (b % 2u == 1u)
            runnel_emu_bd_set_read_flips(&eb, 0x00800000u); /* and ~1 flip per 512 bytes read */
        k = (uint32_t)log_open(&g);
        if (k == 0) {
            runnel__rec_t rec;
            runnel_pos_t pos = lg.tail;
            int r, steps = 0;
            while ((r = runnel__log_next(&lg, pos, &rec)) == 1 && steps++ < 100000)
                pos = rec.next;
            CHECK(r == 0 || r == RUNNEL_ERR_CORRUPT);
        }
    }
}

/* A full ring whose tail block was released and then only partly erased
 * (header intact, records damaged): mount leaves it out, and keeps an
 * intact tail. */
static void test_mount_half_erased_tail(void)
{
    static const geo_t g = {"tail", 1, 16, 2048, 8, 0xFF, 128, 500};
    runnel_pos_t tail;
    const char *why;
    uint32_t phys, i, round;

    for (round = 0; round < 2; round++) {
        CHECK_EQ_INT(bd_setup(&g, 6), 0);
        CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g.page_size, reclaim_cb, NULL, &stats), 0);
        CHECK_EQ_INT(runnel__log_format(&lg), 0);
        wl_rng = 4321;
        n_app = n_committed = live_from = 0;
        CHECK_EQ_INT(run_blocks(&g, 12), 0);
        CHECK_EQ_U64(runnel__log_blocks_used(&lg), 8);
        tail = lg.tail;
        phys = (uint32_t)((tail / 2048u) % 8u);
        if (round == 0) {
            /* what the writer does before erasing: the owner releases it */
            CHECK_EQ_INT(reclaim_cb(NULL, tail, tail + 2048u), 0);
            for (i = 100; i < 2048u; i += 2)
                runnel_emu_bd_data(&eb, phys, i)[0] = 0xFF;
        } /* round 1: the intact tail of a full ring is kept */
        CHECK_EQ_INT(log_open(&g), 0);
        CHECK_EQ_U64(lg.tail, round == 0 ? tail + 2048u : tail);
        CHECK(verify(&why));
        if (why)
            printf("    round %lu: %s\n", (unsigned long)round, why);
    }
}

/* A record whose first page reached flash but whose rest did not: mount
 * moves the writer to the next block and owes a fence; place() predicts
 * where the next append lands (after the fence), readers never see the
 * fence nor the torn record, and a remount after the fence landed finds
 * the same log. */
static void test_mount_fence(void)
{
    static const geo_t g = {"fence", 1, 16, 2048, 8, 0xFF, 64, 500};
    runnel__iov_t iov;
    runnel__rec_t rec;
    runnel_pos_t p, want, torn;
    const char *why;
    uint32_t i;

    CHECK_EQ_INT(bd_setup(&g, 8), 0);
    CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g.page_size, reclaim_cb, NULL, &stats), 0);
    CHECK_EQ_INT(runnel__log_format(&lg), 0);
    wl_rng = 5;
    n_app = n_committed = live_from = 0;
    for (i = 0; i < 5; i++)
        CHECK_EQ_INT(append_one(&g), 0);
    CHECK_EQ_INT(commit(), 0);
    fill_body(body, 300, 77);
    iov.p = body;
    iov.len = 300;
    CHECK_EQ_INT(runnel__log_append(&lg, 0x33, &iov, 1, &torn), 0); /* pages of it programmed */
    CHECK(eb.bytes_programmed > torn % 2048u);
    /* power goes here: the record is only partly on flash */
    CHECK_EQ_INT(log_open(&g), 0);
    CHECK(lg.fence_pending);
    CHECK_EQ_U64(lg.fence_seq, torn / 2048u);
    CHECK_EQ_U64(lg.fence_off, torn % 2048u);
    CHECK_EQ_U64(lg.head, (torn / 2048u + 1u) * 2048u);
    CHECK(verify(&why));
    want = runnel__log_place(&lg, 40);
    fill_body(body, 40, 78);
    iov.len = 40;
    CHECK_EQ_INT(runnel__log_append(&lg, 0x34, &iov, 1, &p), 0);
    CHECK_EQ_U64(p, want);
    CHECK(p > lg.head - 60u && p / 2048u == torn / 2048u + 1u && p % 2048u > 24u);
    CHECK(!lg.fence_pending);
    CHECK_EQ_INT(runnel__log_header(&lg, model[n_app - 1].pos, &rec), 0);
    CHECK_EQ_INT(runnel__log_next(&lg, rec.next, &rec), 1);
    CHECK_EQ_U64(rec.pos, p); /* the torn record and the fence are skipped */
    CHECK(rec.type == 0x34);
    CHECK_EQ_INT(runnel__log_commit(&lg), 0);
    CHECK_EQ_INT(log_open(&g), 0);
    CHECK(!lg.fence_pending);
    CHECK_EQ_U64(lg.head % 16u, 0);
    CHECK_EQ_INT(runnel__log_header(&lg, model[n_app - 1].pos, &rec), 0);
    CHECK_EQ_INT(runnel__log_next(&lg, rec.next, &rec), 1);
    CHECK_EQ_U64(rec.pos, p);
    CHECK_EQ_INT(runnel__log_next(&lg, rec.next, &rec), 0);
    CHECK_EQ_U64(eb.prog_violations, 0);
}

/* Random damage anywhere (headers included): mount answers, a walk ends,
 * and writing after a successful mount never programs a byte twice. */
static void test_mount_random_damage(void)
{
    static const geo_t g = {"rnd", 1, 16, 1024, 8, 0xFF, 64, 300};
    uint32_t round, k, mounted = 0;

    for (round = 0; round < 300; round++) {
        runnel__rec_t rec;
        runnel_pos_t pos;
        int r, steps = 0;

        CHECK_EQ_INT(bd_setup(&g, 10 + round), 0);
        CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g.page_size, reclaim_cb, NULL, &stats), 0);
        CHECK_EQ_INT(runnel__log_format(&lg), 0);
        wl_rng = 77 + round;
        n_app = n_committed = live_from = 0;
        CHECK_EQ_INT(run_blocks(&g, round % 13u), 0);
        for (k = 0; k < 1u + round % 16u; k++) {
            uint32_t b = rnd() % 8u, off = rnd() % 1024u;
            if (rnd() % 3u == 0)
                off %= 24u; /* a header */
            runnel_emu_bd_data(&eb, b, off)[0] = (uint8_t)rnd();
        }
        if (log_open(&g) != 0)
            continue;
        mounted++;
        pos = lg.tail;
        while ((r = runnel__log_next(&lg, pos, &rec)) == 1 && steps++ < 100000)
            pos = rec.next;
        CHECK(r == 0 || r == RUNNEL_ERR_CORRUPT);
        for (k = 0; k < 40; k++)
            if (append_one(&g) != 0)
                break;
        (void)runnel__log_commit(&lg);
        CHECK_EQ_U64(eb.prog_violations, 0);
    }
    CHECK(mounted > 200);
}

/* ---- the power-cut test ---- */

typedef struct {
    uint32_t cuts, failures, doubles;
} pc_result_t;

static void report_fail(pc_result_t *res, const geo_t *g, uint32_t seed, uint32_t cut,
                        uint32_t model_id, uint32_t cut2, uint32_t model2, const char *stage,
                        const char *why)
{
    res->failures++;
    if (res->failures <= 5) {
        printf("    FAIL %s seed=%lu cut=%lu model=%s", g->name, (unsigned long)seed,
               (unsigned long)cut, runnel_emu_cut_model_name((runnel_emu_cut_model_t)model_id));
        if (cut2)
            printf(" cut2=%lu model2=%s", (unsigned long)cut2,
                   runnel_emu_cut_model_name((runnel_emu_cut_model_t)model2));
        printf(": %s: %s\n", stage, why ? why : "?");
    }
}

/* One run: workload up to the cut, mount, check, 3 more block switches
 * (maybe with a second cut), mount, check. Returns 1 when all held. */
static int powercut_run(const geo_t *g, uint32_t seed, uint32_t cut, uint32_t model_id,
                        uint32_t cut2, uint32_t model2, pc_result_t *res, uint64_t *ops_out)
{
    size_t size = (size_t)g->block_size * g->block_count;
    const char *why = NULL;
    int err;

    CHECK_EQ_INT(runnel_emu_bd_restore(&eb, base_image, size), 0);
    runnel_emu_bd_seed(&eb, seed ^ (cut * 2654435761u) ^ model_id);
    eb.mut_ops = 0;
    wl_rng = seed;
    n_app = n_committed = live_from = 0;
    if (log_open(g) != 0) {
        report_fail(res, g, seed, cut, model_id, 0, 0, "mount of the formatted image", "error");
        return 0;
    }
    runnel_emu_bd_schedule_cut(&eb, cut, (runnel_emu_cut_model_t)model_id);
    err = run_blocks(g, g->block_count + 3u);
    if (ops_out)
        *ops_out = eb.mut_ops;
    if (cut == 0)
        return err == 0;
    if (!runnel_emu_bd_cut_happened(&eb)) {
        report_fail(res, g, seed, cut, model_id, 0, 0, "workload", "the cut never happened");
        return 0;
    }
    runnel_emu_bd_power_on(&eb);
    err = log_open(g);
    if (err != 0 || !verify(&why)) {
        report_fail(res, g, seed, cut, model_id, 0, 0, "first mount", err ? "mount error" : why);
        return 0;
    }
    if (cut2)
        runnel_emu_bd_schedule_cut(&eb, cut2, (runnel_emu_cut_model_t)model2);
    err = run_blocks(g, 3);
    if (cut2 && runnel_emu_bd_cut_happened(&eb)) {
        res->doubles++;
        runnel_emu_bd_power_on(&eb);
        err = log_open(g);
        if (err != 0 || !verify(&why)) {
            report_fail(res, g, seed, cut, model_id, cut2, model2, "mount after the second cut",
                        err ? "mount error" : why);
            return 0;
        }
        err = run_blocks(g, 1);
    } else {
        runnel_emu_bd_schedule_cut(&eb, 0, RUNNEL_EMU_CUT_ATOMIC);
    }
    if (err != 0) {
        report_fail(res, g, seed, cut, model_id, cut2, model2, "writes after recovery",
                    "append/commit failed");
        return 0;
    }
    err = log_open(g);
    if (err != 0 || !verify(&why)) {
        report_fail(res, g, seed, cut, model_id, cut2, model2, "final mount",
                    err ? "mount error" : why);
        return 0;
    }
    if (n_committed != n_app || eb.prog_violations != 0) {
        report_fail(res, g, seed, cut, model_id, cut2, model2, "final state",
                    "records lost after a clean commit, or a program-once violation");
        return 0;
    }
    return 1;
}

/* Seeds per geometry (1 in ctest; more for a longer soak, e.g.
 * -DPOWERCUT_SEEDS=8). */
#ifndef POWERCUT_SEEDS
#define POWERCUT_SEEDS 1u
#endif

static void powercut_geometry_seed(const geo_t *g, uint32_t seed);

static void powercut_geometry(const geo_t *g, uint32_t seed)
{
    uint32_t k;
    for (k = 0; k < POWERCUT_SEEDS; k++)
        powercut_geometry_seed(g, seed + k * 0x9E3779B9u);
}

static void powercut_geometry_seed(const geo_t *g, uint32_t seed)
{
    pc_result_t res;
    uint64_t total_ops = 0;
    uint32_t cut, m, stride = POWERCUT_STRIDE;

    memset(&res, 0, sizeof res);
    CHECK_EQ_INT(bd_setup(g, seed), 0);
    CHECK_EQ_INT(runnel__log_init(&lg, &bd, page, g->page_size, reclaim_cb, NULL, &stats), 0);
    CHECK_EQ_INT(runnel__log_format(&lg), 0);
    CHECK_EQ_INT(runnel_emu_bd_snapshot(&eb, base_image, sizeof base_image), 0);

    /* The dry run counts the workload's program/erase operations. */
    CHECK(powercut_run(g, seed, 0, 0, 0, 0, &res, &total_ops));
    CHECK(total_ops > 3u * g->block_count);
    for (cut = 1; cut <= total_ops; cut += stride) {
        for (m = 0; m < RUNNEL_EMU_CUT_MODELS; m++) {
            /* every other run cuts again during the writes after recovery,
             * somewhere in the next ~3 blocks' worth of operations */
            uint32_t cut2 = 0, m2 = 0;
            if ((cut + m) % 2u == 1u) {
                cut2 = 1u + (cut * 7919u + m * 104729u) % (uint32_t)(3u * total_ops /
                                                                  (g->block_count + 3u) + 1u);
                m2 = (cut + m / 2u) % RUNNEL_EMU_CUT_MODELS;
            }
            res.cuts++;
            if (powercut_run(g, seed, cut, m, cut2, m2, &res, NULL))
                continue;
        }
    }
    printf("powercut-log: %s: %lu cuts, %lu failures (%lu ops x %d models", g->name,
           (unsigned long)(res.cuts + res.doubles), (unsigned long)res.failures,
           (unsigned long)total_ops, RUNNEL_EMU_CUT_MODELS);
    if (stride > 1)
        printf(", sampled: every %luth op only", (unsigned long)stride);
    printf(", %lu second cuts, seed %lu)\n", (unsigned long)res.doubles, (unsigned long)seed);
    CHECK_EQ_U64(res.failures, 0);
}

static void test_powercut_nor(void)
{
    static const geo_t g = {"prog 1 B / 4 KiB x 8 (NOR, erase 0xFF)", 1, 1, 4096, 8, 0xFF, 64, 1500};
    powercut_geometry(&g, 0x1234u);
}

static void test_powercut_prog16(void)
{
    static const geo_t g = {"prog 16 B / 2 KiB x 8 (erase 0x00)", 4, 16, 2048, 8, 0x00, 128, 700};
    powercut_geometry(&g, 0x5678u);
}

static void test_powercut_prog256(void)
{
    static const geo_t g = {"prog 256 B / 64 KiB x 4 (erase 0xFF)", 1, 256, 65536, 4, 0xFF, 4096,
                            16000};
    powercut_geometry(&g, 0x9ABCu);
}

/* Program units of 8 bytes and an 8-byte page: a block header reaches
 * flash in three operations of its own, so a cut can leave a block with a
 * valid header and nothing else (the case where the fence owed to the
 * previous block is still to be written). */
static void test_powercut_tiny_pages(void)
{
    static const geo_t g = {"prog 8 B / 1 KiB x 8, 8-byte page (erase 0xFF)", 8, 8, 1024, 8, 0xFF,
                            8, 300};
    powercut_geometry(&g, 0xDEF0u);
}

/* The smallest rings: 2 and 3 blocks (every block switch reclaims). */
static void test_powercut_small_rings(void)
{
    static const geo_t g2 = {"prog 4 B / 512 B x 2 (erase 0xFF)", 1, 4, 512, 2, 0xFF, 32, 150};
    static const geo_t g3 = {"prog 1 B / 512 B x 3 (erase 0x00)", 1, 1, 512, 3, 0x00, 16, 150};
    powercut_geometry(&g2, 0x2222u);
    powercut_geometry(&g3, 0x3333u);
}

TEST_MAIN(
    RUN(test_mount_errors);
    RUN(test_mount_restores_state);
    RUN(test_mount_cost);
    RUN(test_mount_over_old_generation);
    RUN(test_mount_damaged_headers);
    RUN(test_mount_half_erased_tail);
    RUN(test_mount_fence);
    RUN(test_mount_random_damage);
    RUN(test_powercut_nor);
    RUN(test_powercut_prog16);
    RUN(test_powercut_prog256);
    RUN(test_powercut_tiny_pages);
    RUN(test_powercut_small_rings);
)
