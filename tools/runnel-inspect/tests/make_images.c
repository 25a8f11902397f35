/*
 * make_images.c - store images for runnel-inspect's tests, written by the
 * real engine on port/emu (the rig's emulated flash, with power cuts).
 *
 *   make_images <dir>
 *
 * writes into <dir>:
 *   clean.img, clean.expect   a committed store (three streams, two groups,
 *                             pending entries, an XDEL, a trim) and what
 *                             the API says it holds, one line each:
 *                               stream <db> <name> <length>
 *                               group <key> <group> <consumers> <pending>
 *   wrapped.img               a store whose ring wrapped several times
 *                             (checkpoints, reclaimed blocks), committed
 *   torn-<model>-<k>.img      the same workload as clean.img with power cut
 *                             during the k-th program or erase (torn prefix
 *                             and torn bits models), inside the first ring
 *                             pass: each must inspect clean, and at least
 *                             one of them leaves a torn tail
 * Geometry of all: 32 blocks of 1 KiB, program unit 1, erase value 0xFF.
 * Exit 0, or 1 if the engine refused the workload.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_bd.h"
#include "runnel.h"

#define BLOCK 1024u
#define COUNT 32u

static uint8_t storage[BLOCK * COUNT];
static uint64_t arena[512u * 1024u / 8u];
static uint64_t now_ms;

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}
static const runnel_clock_t fake_clock = { NULL, clock_now };

static runnel_str_t S(const char *s)
{
    return (runnel_str_t){ s, strlen(s) };
}

static void config_for(runnel_config_t *c, const runnel_bd_t *bd)
{
    memset(c, 0, sizeof *c);
    c->bd = bd;
    c->clock = &fake_clock;
    c->arena = arena;
    c->arena_size = sizeof arena;
    c->max_streams = 8;
    c->max_nodes = 128;
    c->max_groups = 8;
    c->max_consumers = 16;
    c->max_pending = 256;
    c->node_max_entries = 16;
    c->checkpoint_blocks = 8;
    c->commit_policy = RUNNEL_COMMIT_NONE;
    c->full_policy = RUNNEL_FULL_DROP_OLDEST;
    c->durable = &runnel_durability;
}

static int collect(void *ctx, const runnel_entry_t *e)
{
    runnel_id_t *ids = ctx;
    if (ids[0].seq < 8) {
        ids[1 + ids[0].seq] = e->id;
        ids[0].seq++;
    }
    return 0;
}

static void add(runnel_t *r, const char *key, unsigned i, uint64_t maxlen)
{
    char v[40];
    runnel_str_t fv[4] = { S("sensor"), S(key), S("value"), { v, 0 } };
    runnel_xadd_args_t a;
    runnel_id_t id;
    memset(&a, 0, sizeof a);
    fv[3].len = (size_t)snprintf(v, sizeof v, "%u.%u-padding-to-some-length", i, i * 7u % 10u);
    a.key = S(key);
    a.fv = fv;
    a.nfields = 2;
    if (maxlen > 0) {
        a.trim.strategy = RUNNEL_TRIM_MAXLEN;
        a.trim.approx = true;
        a.trim.maxlen = maxlen;
        a.trim.limit = -1;
    }
    now_ms += 3;
    (void)runnel_xadd(r, &a, &id);
}

/* The workload of clean.img and the torn images: about 16 KiB of log. */
static void workload(runnel_t *r)
{
    runnel_xreadgroup_args_t rd;
    runnel_id_t ids[9];
    uint64_t n;

    for (unsigned i = 0; i < 120; i++) {
        add(r, "sensors", i, 0);
        if (i % 3 == 0)
            add(r, "events", i, 0);
        if (i % 10 == 0)
            (void)runnel_commit(r);
    }
    add(r, "tiny", 1, 0);
    (void)runnel_xgroup_create(r, S("sensors"), S("uplink"), RUNNEL_ID_MIN, false, false, -1);
    (void)runnel_xgroup_create(r, S("events"), S("audit"), RUNNEL_ID_MIN, false, false, -1);
    memset(&rd, 0, sizeof rd);
    rd.key = S("sensors");
    rd.group = S("uplink");
    rd.consumer = S("task1");
    rd.new_entries = true;
    rd.count = 8;
    memset(ids, 0, sizeof ids);
    (void)runnel_xreadgroup(r, &rd, collect, ids);
    (void)runnel_xack(r, S("sensors"), S("uplink"), &ids[1], 3, &n);   /* 5 stay pending */
    rd.consumer = S("task2");
    rd.count = 2;
    memset(ids, 0, sizeof ids);
    (void)runnel_xreadgroup(r, &rd, collect, ids);                     /* 2 more */
    rd.key = S("events");
    rd.group = S("audit");
    rd.consumer = S("auditor");
    rd.count = 4;
    memset(ids, 0, sizeof ids);
    (void)runnel_xreadgroup(r, &rd, collect, ids);                     /* 4 pending */
    memset(ids, 0, sizeof ids);
    (void)runnel_xrange(r, S("events"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 8, false, collect, ids);
    (void)runnel_xdel(r, S("events"), &ids[6], 1, &n);
    /* A forwarder got as far as the 8th sensors entry: a sync cursor with
     * a backlog of 112 entries. */
    memset(ids, 0, sizeof ids);
    (void)runnel_xrange(r, S("sensors"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 8, false, collect, ids);
    (void)runnel_stream_cursor_save(r, S("sensors"), ids[8], 8, 0);
    (void)runnel_commit(r);
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    int ok = fwrite(p, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : -1;
}

static FILE *expect;
static runnel_t *cur;
static const char *cur_key;

static int expect_group(void *ctx, const runnel_group_info_t *g)
{
    (void)ctx;
    fprintf(expect, "group %s %.*s %llu %llu\n", cur_key, (int)g->name.len, g->name.p,
            (unsigned long long)g->consumers, (unsigned long long)g->pending);
    return 0;
}

static int expect_key(void *ctx, runnel_str_t key)
{
    char name[64];
    uint64_t len = 0;
    (void)ctx;
    snprintf(name, sizeof name, "%.*s", (int)key.len, key.p);
    (void)runnel_xlen(cur, key, &len);
    fprintf(expect, "stream 0 %s %llu\n", name, (unsigned long long)len);
    runnel_stream_cursor_t c;
    if (runnel_stream_cursor_get(cur, key, &c) == 0 && c.tracked)
        fprintf(expect, "cursor %s %llu-%llu %llu\n", name, (unsigned long long)c.cursor.ms,
                (unsigned long long)c.cursor.seq, (unsigned long long)c.backlog);
    cur_key = name;
    (void)runnel_groups(cur, key, expect_group, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    static runnel_emu_bd_t eb;
    static const runnel_emu_cut_model_t models[2] = { RUNNEL_EMU_CUT_TORN_PREFIX,
                                                      RUNNEL_EMU_CUT_TORN_BITS };
    runnel_bd_geometry_t g = { 1, 1, BLOCK, COUNT, 0xFF, 0 };
    runnel_bd_t bd;
    runnel_config_t cfg;
    runnel_t *r;
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[1024], name[64];
    uint64_t next;

    /* clean.img and what it holds, as the engine says after a mount */
    if (runnel_emu_bd_init(&eb, &bd, &g, storage, NULL, 1) != 0)
        return 1;
    config_for(&cfg, &bd);
    now_ms = 1700000000000ull;
    if (runnel_format(&r, &cfg) != 0)
        return 1;
    workload(r);
    uint64_t ops = eb.mut_ops;
    if (runnel_mount(&r, &cfg) != 0) {
        fprintf(stderr, "make_images: clean.img does not mount\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s/clean.expect", dir);
    expect = fopen(path, "w");
    if (expect == NULL) {
        perror(path);
        return 1;
    }
    cur = r;
    (void)runnel_scan(r, 0, 0, &next, expect_key, NULL);
    if (fclose(expect) != 0 || write_file(dir, "clean.img", storage, sizeof storage) != 0)
        return 1;

    /* power cuts inside the first ring pass */
    for (unsigned m = 0; m < 2; m++) {
        for (uint64_t k = 5; k < ops; k += ops / 6u + 1u) {
            if (runnel_emu_bd_init(&eb, &bd, &g, storage, NULL, (uint32_t)(k * 31u + m)) != 0)
                return 1;
            config_for(&cfg, &bd);
            now_ms = 1700000000000ull;
            if (runnel_format(&r, &cfg) != 0)
                return 1;
            runnel_emu_bd_schedule_cut(&eb, k, models[m]);
            workload(r);
            runnel_emu_bd_power_on(&eb);
            snprintf(name, sizeof name, "torn-%s-%llu.img", runnel_emu_cut_model_name(models[m]),
                     (unsigned long long)k);
            if (write_file(dir, name, storage, sizeof storage) != 0)
                return 1;
        }
    }

    /* a ring that wrapped: many more entries than it holds */
    if (runnel_emu_bd_init(&eb, &bd, &g, storage, NULL, 2) != 0)
        return 1;
    config_for(&cfg, &bd);
    now_ms = 1700000000000ull;
    if (runnel_format(&r, &cfg) != 0)
        return 1;
    workload(r);
    for (unsigned i = 0; i < 1500; i++) {
        add(r, i % 2 ? "sensors" : "events", i, 60);
        if (i % 25 == 0)
            (void)runnel_commit(r);
    }
    if (runnel_commit(r) != 0 || eb.erases < 2u * COUNT) {
        fprintf(stderr, "make_images: the wrapped store erased %llu blocks\n",
                (unsigned long long)eb.erases);
        return 1;
    }
    if (write_file(dir, "wrapped.img", storage, sizeof storage) != 0)
        return 1;

    /* RELOCATE: a stream kept long beside two trimmed ones; the ring
     * copies its oldest nodes forward (RELOC_MASTER, RELOC_DONE) */
    if (runnel_emu_bd_init(&eb, &bd, &g, storage, NULL, 3) != 0)
        return 1;
    config_for(&cfg, &bd);
    cfg.full_policy = RUNNEL_FULL_RELOCATE;
    now_ms = 1700000000000ull;
    if (runnel_format(&r, &cfg) != 0)
        return 1;
    for (unsigned i = 0; i < 1500; i++) {
        add(r, i % 3 == 0 ? "kept" : i % 3 == 1 ? "sensors" : "events", i, i % 3 == 0 ? 100 : 20);
        if (i % 25 == 0)
            (void)runnel_commit(r);
    }
    {
        runnel_stats_t st;
        runnel_stats(r, &st);
        if (runnel_commit(r) != 0 || st.relocated_nodes == 0) {
            fprintf(stderr, "make_images: the RELOCATE store relocated %llu nodes\n",
                    (unsigned long long)st.relocated_nodes);
            return 1;
        }
    }
    return write_file(dir, "relocated.img", storage, sizeof storage) == 0 ? 0 : 1;
}
