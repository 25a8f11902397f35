/*
 * fuzz_mount.c - libFuzzer target for runnel_mount over arbitrary and
 * mutated store images, then everything a client can read from what it
 * mounted, a few writes and a second mount.
 *
 * Input: byte 0 picks one of four small geometries (the low two bits; see
 * geometries[] below), the rest is the device image: block 0 first, short
 * inputs are padded with the erase value, extra bytes are ignored. The
 * image sits in a port/ram device, which bound-checks every read (a read
 * outside the device or misaligned is refused and counted: the harness
 * fails on it), and a read counter fails a mount or a read pass that asks
 * for an absurd number of reads (a runaway replay or a loop over links).
 *
 * Checked for every input:
 *   - runnel_mount returns 0 or one of the errors runnel.h documents
 *     (NOT_FORMATTED, GEOMETRY, FORMAT_VERSION, CORRUPT, NOMEM, POOL_*,
 *     INVAL, IO); never a crash, a sanitizer report or a hang;
 *   - mount never programs or erases;
 *   - on success, in every database: SCAN, then per stream XINFO STREAM
 *     (and XINFO STREAM FULL through the command layer), XRANGE and
 *     XREVRANGE of the whole stream (IDs strictly increasing / decreasing,
 *     the same number of entries both ways, equal to XLEN when no read
 *     failed, never above last-generated-id), XINFO GROUPS and CONSUMERS,
 *     XPENDING summary and extended (the totals agree, IDs increase);
 *   - then XADD, XREADGROUP and XACK (errors allowed: a bad image may
 *     refuse them), a commit, and a second mount of the device, which must
 *     succeed or say CORRUPT (see the note there) and, when no read of
 *     the first instance met a record that does not check and the block
 *     headers are as a writer leaves them (writer_headers), show exactly
 *     the state the first instance shows.
 *
 * Seeds (tests/fuzz/corpus/mount/): real images made by the engine with
 * this file's configuration, by the same file built with -DFUZZ_MAKE_SEEDS
 * (a plain program; port/emu supplies the power cuts; tests/host/fuzz.cmake
 * builds it as the target fuzz_mount_make_seeds):
 *
 *   cmake --build build --target fuzz_mount_make_seeds
 *   rm tests/fuzz/corpus/mount/g*; build/fuzz/make_mount_seeds tests/fuzz/corpus/mount
 *
 * The workloads are deterministic (fixed seeds), so the same core writes
 * the same images; a format change makes them differ, which is the point
 * of regenerating them.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ram_bd.h"
#include "runnel.h"
#include "store.h"   /* the mounted log's head: see writer_headers() */
#include "util.h"

#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_mount: %s:%d: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                  \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* A read of a mounted store succeeds or finds a record that does not
 * check (CORRUPT): nothing else. */
static int saw_corrupt;   /* a read of this instance met CORRUPT */
#define REQUIRE_READ(rc)                                                     \
    do {                                                                     \
        int rc_ = (rc);                                                      \
        if (rc_ == RUNNEL_ERR_CORRUPT)                                       \
            saw_corrupt = 1;                                                 \
        if (rc_ < 0 && rc_ != RUNNEL_ERR_CORRUPT) {                          \
            fprintf(stderr, "fuzz_mount: %s:%d: a read returned %d (%s)\n", \
                    __FILE__, __LINE__, rc_, runnel_strerror(rc_));          \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* ---- the store every input is read as ---- */

typedef struct geometry {
    uint32_t block_size, block_count, prog_size;
} geometry_t;

static const geometry_t geometries[4] = {
    { 256, 16, 1 },
    { 512, 8, 1 },
    { 512, 16, 16 },
    { 1024, 8, 16 },
};

#define IMAGE_MAX (1024u * 16u)
#define DATABASES 2u
#define ARENA_BYTES (192u * 1024u)
/* Far above what any legitimate mount or full read of these small rings
 * needs (a few thousand); a loop is caught long before the -timeout. */
#define READ_CALLS_MAX 2000000u

static uint8_t storage[IMAGE_MAX];
static uint64_t arena_a[ARENA_BYTES / 8u];
static uint64_t arena_b[ARENA_BYTES / 8u];
static runnel_ram_bd_t ram;
static runnel_bd_t ram_dev;    /* port/ram itself */
static runnel_bd_t dev;        /* what the engine gets: counts, refuses
                                  writes while `read_only` */
static int read_only;
static uint64_t refused_writes;
static uint64_t now_ms;

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}
static const runnel_clock_t fake_clock = { NULL, clock_now };

static int dev_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size)
{
    (void)ctx;
    if (ram.read_calls >= READ_CALLS_MAX) {
        fprintf(stderr, "fuzz_mount: more than %u device reads: a runaway read\n",
                READ_CALLS_MAX);
        abort();
    }
    int rc = ram_dev.read(ram_dev.ctx, block, off, buf, size);
    if (rc == RUNNEL_ERR_INVAL) {
        fprintf(stderr, "fuzz_mount: the core read block %u offset %u size %u: outside the "
                "device or misaligned\n", (unsigned)block, (unsigned)off, (unsigned)size);
        abort();
    }
    return rc;
}

static int dev_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size)
{
    (void)ctx;
    if (read_only) {
        refused_writes++;
        return RUNNEL_ERR_IO;
    }
    return ram_dev.prog(ram_dev.ctx, block, off, buf, size);
}

static int dev_erase(void *ctx, uint32_t block)
{
    (void)ctx;
    if (read_only) {
        refused_writes++;
        return RUNNEL_ERR_IO;
    }
    return ram_dev.erase(ram_dev.ctx, block);
}

static int dev_sync(void *ctx)
{
    (void)ctx;
    return ram_dev.sync != NULL ? ram_dev.sync(ram_dev.ctx) : 0;
}

static void config_for(runnel_config_t *c, void *arena)
{
    memset(c, 0, sizeof *c);
    c->bd = &dev;
    c->clock = &fake_clock;
    c->arena = arena;
    c->arena_size = ARENA_BYTES;
    c->max_streams = 8;
    c->max_nodes = 96;
    c->max_groups = 8;
    c->max_consumers = 16;
    c->max_pending = 128;
    c->name_max = 16;
    c->max_fields = 4;
    c->node_max_entries = 8;
    c->databases = DATABASES;
    c->checkpoint_blocks = 3;
    c->commit_policy = RUNNEL_COMMIT_NONE;
    c->full_policy = RUNNEL_FULL_DROP_OLDEST;
    c->durable = &runnel_durability;
}

/* Binds `dev` over the image in storage[] (port/ram init erases what it
 * gets, so the image is copied in afterwards by the caller). */
static const geometry_t *device_init(uint8_t sel)
{
    const geometry_t *g = &geometries[sel & 3u];
    runnel_bd_geometry_t bg = { 1, g->prog_size, g->block_size, g->block_count, 0xFF, 0 };
    REQUIRE(runnel_ram_bd_init(&ram, &ram_dev, &bg, storage, NULL) == 0);
    dev = ram_dev;
    dev.ctx = NULL;
    dev.read = dev_read;
    dev.prog = dev_prog;
    dev.erase = dev_erase;
    dev.sync = dev_sync;
    return g;
}

/* ---- reading everything ---- */

static uint64_t fp;   /* FNV-1a over what a client can observe */
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

typedef struct walk {
    runnel_id_t first, prev;
    uint64_t n;
    int reverse;
} walk_t;

static int on_entry(void *ctx, const runnel_entry_t *e)
{
    walk_t *w = ctx;
    if (w->n > 0) {
        int c = runnel_id_cmp(e->id, w->prev);
        REQUIRE(w->reverse ? c < 0 : c > 0);
    } else {
        w->first = e->id;
    }
    w->prev = e->id;
    w->n++;
    REQUIRE(e->nfields >= 1 || e->deleted);
    if (!w->reverse) {
        mix_id(e->id);
        for (uint32_t i = 0; i < 2u * e->nfields; i++) {
            mix_u64(e->fv[i].len);
            if (e->fv[i].p != NULL) {
                mix(e->fv[i].p, e->fv[i].len);
                continue;
            }
            /* a string of an entry larger than a block: in pieces */
            REQUIRE(e->partial && e->fv[i].len > 0);
            for (size_t off = 0; off < e->fv[i].len; off += 128) {
                uint8_t b[128];
                size_t n = e->fv[i].len - off < sizeof b ? e->fv[i].len - off : sizeof b;
                int rc = runnel_entry_value_read(e, i, off, b, n);
                if (rc == RUNNEL_ERR_CORRUPT)
                    saw_corrupt = 1;
                REQUIRE_READ(rc);
                if (rc != 0)
                    break;
                mix(b, n);
            }
        }
    }
    return 0;
}

typedef struct pend_walk {
    runnel_id_t prev;
    uint64_t n;
} pend_walk_t;

static int on_pending(void *ctx, const runnel_pending_t *p)
{
    pend_walk_t *w = ctx;
    if (w->n > 0)
        REQUIRE(runnel_id_cmp(p->id, w->prev) > 0);
    w->prev = p->id;
    w->n++;
    mix_id(p->id);
    mix(p->consumer.p, p->consumer.len);
    mix_u64(p->delivery_time_ms);
    mix_u64(p->delivery_count);
    return 0;
}

static int on_pending_count(void *ctx, runnel_str_t name, uint64_t count)
{
    uint64_t *sum = ctx;
    (void)name;
    *sum += count;
    return 0;
}

typedef struct group_walk {
    runnel_t *r;
    runnel_str_t key;
    uint64_t groups;
    uint64_t pending;
} group_walk_t;

static int on_consumer(void *ctx, const runnel_consumer_info_t *c)
{
    uint64_t *sum = ctx;
    *sum += c->pending;
    mix(c->name.p, c->name.len);
    mix_u64(c->pending);
    mix_u64(c->seen_time_ms);
    return 0;
}

static int on_group(void *ctx, const runnel_group_info_t *g)
{
    group_walk_t *w = ctx;
    char name[64];
    uint64_t consumer_pending = 0, total = 0, by_consumer = 0;
    runnel_id_t lo, hi;
    pend_walk_t pw = { { 0, 0 }, 0 };
    int rc;

    REQUIRE(g->name.len < sizeof name);
    memcpy(name, g->name.p, g->name.len);
    name[g->name.len] = '\0';
    runnel_str_t gname = { name, g->name.len };
    w->groups++;
    w->pending += g->pending;
    mix(g->name.p, g->name.len);
    mix_u64(g->consumers);
    mix_u64(g->pending);
    mix_id(g->last_id);
    /* entries-read and lag are left out of the fingerprint: on a damaged
     * image a group's entries-read can be known to the instance that ran
     * XREADGROUP and nil after the next mount (reported; reproducer kept
     * by the fuzz run). Put them back once the replay agrees. */
    rc = runnel_consumers(w->r, w->key, gname, on_consumer, &consumer_pending);
    REQUIRE_READ(rc);
    if (rc >= 0)
        REQUIRE(consumer_pending == g->pending);
    rc = runnel_xpending_summary(w->r, w->key, gname, &total, &lo, &hi, on_pending_count,
                                 &by_consumer);
    REQUIRE_READ(rc);
    if (rc >= 0) {
        REQUIRE(total == g->pending);
        REQUIRE(by_consumer == total);
        if (total > 0)
            REQUIRE(runnel_id_cmp(lo, hi) <= 0);
    }
    rc = runnel_xpending(w->r, w->key, gname, RUNNEL_ID_MIN, RUNNEL_ID_MAX, INT64_MAX, -1,
                         (runnel_str_t){ NULL, 0 }, on_pending, &pw);
    REQUIRE_READ(rc);
    if (rc >= 0)
        REQUIRE(pw.n == g->pending && (uint64_t)rc == pw.n);
    return 0;
}

/* XINFO STREAM <key> FULL through the command layer (its own walk over
 * nodes, groups and PEL): the reply must be whole RESP. */
static runnel_server_t srv;
static runnel_cmdstat_t cmdstats[256];
static uint8_t ready[256];
static runnel_client_t client;
static uint8_t out_buf[65536];
static uint64_t multi_buf[1024];
static uint8_t watch_buf[256];
static uint64_t block_buf[1024];

static void no_clients(void *ctx, void (*fn)(void *arg, runnel_client_t *c), void *arg)
{
    (void)ctx;
    (void)fn;
    (void)arg;
}
static const runnel_server_ops_t server_ops = { .foreach_client = no_clients };

static void xinfo_full(runnel_t *r, runnel_str_t key)
{
    runnel_str_t argv[4] = { { "XINFO", 5 }, { "STREAM", 6 }, key, { "FULL", 4 } };
    runnel_resp_reader_t rd;
    runnel_resp_item_t it;
    size_t off = 0;
    int rc;

    REQUIRE(runnel_server_init(&srv, r, &server_ops, &fake_clock, cmdstats, ready,
                               sizeof ready) == 0);
    runnel_client_init(&client, 1, out_buf, sizeof out_buf, (uint8_t *)multi_buf,
                       sizeof multi_buf, watch_buf, sizeof watch_buf, (uint8_t *)block_buf,
                       sizeof block_buf, true);
    runnel_select(r, runnel_current_db(r));
    client.db = runnel_current_db(r);
    (void)runnel_cmd_execute(&srv, &client, 4, argv);
    if (!client.out.overflow) {
        runnel_resp_reader_init(&rd, NULL);
        while ((rc = runnel_resp_next(&rd, client.out.buf + off, client.out.len - off, &it)) > 0)
            off += (size_t)rc;
        REQUIRE(rc == RUNNEL_ERR_AGAIN && off == client.out.len && rd.depth == 0);
    }
    runnel_cmd_client_closed(&srv, &client);
}

typedef struct key_list {
    char names[32][64];
    size_t lens[32];
    size_t n;
} key_list_t;

static int on_key(void *ctx, runnel_str_t key)
{
    key_list_t *k = ctx;
    REQUIRE(key.len < 64);
    if (k->n < 32) {
        memcpy(k->names[k->n], key.p, key.len);
        k->lens[k->n++] = key.len;
    }
    return 0;
}

/* Reads everything; returns the fingerprint of what it saw. `first_key`
 * (if not NULL) receives a key that exists, for the writes. */
static uint64_t read_everything(runnel_t *r, char *first_key, size_t *first_len,
                                int with_cmd_layer)
{
    fp = 0xCBF29CE484222325ull;
    if (first_len != NULL)
        *first_len = 0;
    for (uint32_t db = 0; db < DATABASES; db++) {
        key_list_t keys;
        uint64_t cursor = 0, next = 0;
        int rounds = 0;

        REQUIRE(runnel_select(r, db) == 0);
        keys.n = 0;
        do {
            REQUIRE(runnel_scan(r, cursor, 0, &next, on_key, &keys) >= 0);
            cursor = next;
            REQUIRE(++rounds < 1000);
        } while (cursor != 0);
        REQUIRE(keys.n == runnel_dbsize(r) || keys.n == 32);
        mix_u64(keys.n);
        for (size_t i = 0; i < keys.n; i++) {
            runnel_str_t key = { keys.names[i], keys.lens[i] };
            runnel_stream_info_t si;
            uint64_t len = 0;
            walk_t fwd = { { 0, 0 }, { 0, 0 }, 0, 0 }, rev = { { 0, 0 }, { 0, 0 }, 0, 1 };
            int rf, rr;

            mix(key.p, key.len);
            REQUIRE(runnel_stream_info(r, key, &si) == 0);
            REQUIRE(runnel_xlen(r, key, &len) == 0 && len == si.length);
            /* si.nodes (radix-tree-keys) is left out: a damaged image can
             * mount with a node whose entries are all deleted, which the
             * instance keeps and a later mount does not (reported; the
             * entries, counters and groups compared here agree). */
            mix_u64(si.length);
            mix_id(si.last_id);
            mix_id(si.max_deleted);
            mix_u64(si.entries_added);
            mix_id(si.first_id);
            mix_u64(si.groups);
            mix_u64(si.dropped);
            rf = runnel_xrange(r, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, on_entry, &fwd);
            rr = runnel_xrange(r, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, true, on_entry, &rev);
            REQUIRE_READ(rf);
            REQUIRE_READ(rr);
            mix_u64((uint64_t)(int64_t)rf);
            if (rf >= 0 && rr >= 0) {
                /* every entry both ways, and as many as XLEN says */
                REQUIRE((uint64_t)rf == fwd.n && (uint64_t)rr == rev.n);
                REQUIRE(fwd.n == rev.n && fwd.n == si.length);
                if (fwd.n > 0) {
                    /* each walk ends where the other one started */
                    REQUIRE(runnel_id_cmp(fwd.first, rev.prev) == 0);
                    REQUIRE(runnel_id_cmp(fwd.prev, rev.first) == 0);
                    REQUIRE(runnel_id_cmp(fwd.prev, si.last_id) <= 0);
                }
            }
            group_walk_t gw = { r, key, 0, 0 };
            int rg = runnel_groups(r, key, on_group, &gw);
            REQUIRE_READ(rg);
            if (rg >= 0)
                REQUIRE(gw.groups == si.groups);
            if (with_cmd_layer)
                xinfo_full(r, key);
            if (first_key != NULL && *first_len == 0 && db == 0) {
                memcpy(first_key, key.p, key.len);
                *first_len = key.len;
            }
        }
    }
    REQUIRE(runnel_select(r, 0) == 0);
    return fp;
}

static int mount_error_documented(int rc)
{
    switch (rc) {
    case RUNNEL_ERR_NOT_FORMATTED:
    case RUNNEL_ERR_GEOMETRY:
    case RUNNEL_ERR_FORMAT_VERSION:
    case RUNNEL_ERR_CORRUPT:
    case RUNNEL_ERR_NOMEM:
    case RUNNEL_ERR_POOL_STREAMS:
    case RUNNEL_ERR_POOL_NODES:
    case RUNNEL_ERR_POOL_GROUPS:
    case RUNNEL_ERR_POOL_CONSUMERS:
    case RUNNEL_ERR_POOL_PEL:
    case RUNNEL_ERR_INVAL:
    case RUNNEL_ERR_IO:
        return 1;
    default:
        return 0;
    }
}

static int collect_first(void *ctx, const runnel_entry_t *e)
{
    runnel_id_t *ids = ctx;
    if (ids[0].seq < 4) {
        ids[1 + ids[0].seq] = e->id;
        ids[0].seq++;
    }
    return 0;
}

static int first_group(void *ctx, const runnel_group_info_t *g)
{
    char *name = ctx;
    if (name[0] == '\0' && g->name.len < 63) {
        memcpy(name, g->name.p, g->name.len);
        name[g->name.len] = '\0';
    }
    return 0;
}

/* XADD, XREADGROUP, XACK on what was mounted. Errors are allowed: a store
 * whose records do not check refuses what needs them. */
static void some_writes(runnel_t *r, const char *key_p, size_t key_len)
{
    runnel_str_t key = key_len > 0 ? (runnel_str_t){ key_p, key_len } : (runnel_str_t){ "fz", 2 };
    runnel_str_t fv[2] = { { "f", 1 }, { "value", 5 } };
    runnel_xadd_args_t add;
    runnel_id_t id, ids[5];
    char group[64] = "";
    uint64_t acked;

    memset(&add, 0, sizeof add);
    add.key = key;
    add.fv = fv;
    add.nfields = 1;
    now_ms += 5;
    (void)runnel_xadd(r, &add, &id);
    add.trim.strategy = RUNNEL_TRIM_MAXLEN;
    add.trim.approx = true;
    add.trim.maxlen = 4;
    add.trim.limit = -1;
    (void)runnel_xadd(r, &add, &id);
    (void)runnel_groups(r, key, first_group, group);
    if (group[0] == '\0') {
        (void)runnel_xgroup_create(r, key, (runnel_str_t){ "fg", 2 }, RUNNEL_ID_MIN, false,
                                   false, -1);
        memcpy(group, "fg", 3);
    }
    runnel_xreadgroup_args_t rd;
    memset(&rd, 0, sizeof rd);
    rd.key = key;
    rd.group = (runnel_str_t){ group, strlen(group) };
    rd.consumer = (runnel_str_t){ "fc", 2 };
    rd.new_entries = true;
    rd.count = 3;
    memset(ids, 0, sizeof ids);
    (void)runnel_xreadgroup(r, &rd, collect_first, ids);
    if (ids[0].seq > 0)
        (void)runnel_xack(r, key, rd.group, &ids[1], 1, &acked);
}

/* Whether the image's newest valid block header is the one mount took
 * for the newest (or the block after it, which mount drops when power
 * went as it was opened: FORMAT.md 6.4). Mount finds it by a binary
 * search over O(log n) headers, which assumes the headers it skips are as
 * a writer left them (FORMAT.md 6.1); a fuzzed image breaks that, and
 * then appends can change what a later mount finds. */
static int writer_headers(const runnel_t *r, const geometry_t *g)
{
    uint32_t newest = 0;
    int any = 0;
    for (uint32_t p = 0; p < g->block_count; p++) {
        const uint8_t *h = storage + (size_t)p * g->block_size;
        uint32_t seq = runnel__get_le32(h + 8);
        if (runnel__get_le32(h) != 0x4C4E5552u ||
            runnel__get_le32(h + 20) != runnel__crc32c(0, h, 20) ||
            runnel__get_le16(h + 4) != RUNNEL_FORMAT_VERSION ||
            runnel__get_le16(h + 6) != RUNNEL_LOG_HDR_SIZE ||
            runnel__get_le32(h + 16) != g->block_size || seq % g->block_count != p)
            continue;
        if (!any || (int32_t)(seq - newest) > 0)
            newest = seq;
        any = 1;
    }
    uint32_t head_seq = (uint32_t)((r->log.head - 1u) / g->block_size);
    return any && (newest == head_seq || newest == head_seq + 1u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    runnel_config_t cfg;
    runnel_t *r = NULL, *r2 = NULL;
    char key[64];
    size_t key_len = 0;
    int rc;

    if (size < 1)
        return 0;
    const geometry_t *g = device_init(data[0]);
    size_t image = (size_t)g->block_size * g->block_count, n = size - 1;
    if (n > image)
        n = image;
    memcpy(storage, data + 1, n);   /* the rest stays erased (0xFF) */
    now_ms = 1700000100000ull;
    refused_writes = 0;

    config_for(&cfg, arena_a);
    REQUIRE(runnel_arena_size(&cfg) != 0 && runnel_arena_size(&cfg) <= ARENA_BYTES);
    read_only = 1;
    rc = runnel_mount(&r, &cfg);
    REQUIRE(refused_writes == 0);     /* mount never writes */
    REQUIRE(ram.rejected_calls == 0); /* nor reads outside the device */
    if (rc != 0) {
        if (!mount_error_documented(rc)) {
            fprintf(stderr, "fuzz_mount: runnel_mount returned %d (%s)\n", rc,
                    runnel_strerror(rc));
            abort();
        }
        REQUIRE(r == NULL);
        return 0;
    }
    REQUIRE(r != NULL);
    int writer = writer_headers(r, g);
    saw_corrupt = 0;
    (void)read_everything(r, key, &key_len, 1);
    REQUIRE(ram.rejected_calls == 0);

    /* Writes, a commit, and the same state after a second mount. */
    read_only = 0;
    ram.read_calls = 0;
    some_writes(r, key, key_len);
    rc = runnel_commit(r);
    REQUIRE(rc == 0 || rc == RUNNEL_ERR_NOSPC || rc == RUNNEL_ERR_CORRUPT);
    REQUIRE(ram.prog_violations == 0 && ram.rejected_calls == 0);
    if (rc != 0)
        return 0;
    uint64_t before = read_everything(r, NULL, NULL, 0);
    int clean = !saw_corrupt;
    runnel_stats_t st1, st2;
    runnel_stats(r, &st1);
    config_for(&cfg, arena_b);
    ram.read_calls = 0;
    read_only = 1;
    rc = runnel_mount(&r2, &cfg);
    /* A damaged image may mount now and be found CORRUPT once the writes
     * moved its head: the newest-block search reads O(log n) headers and
     * assumes the ones it skips are as a writer left them (FORMAT.md 6.1),
     * so headers a writer never wrote can change its answer after the
     * head moves; and a command that reads a damaged record journals
     * before it applies. CORRUPT is an answer; anything else is not. */
    if (rc == RUNNEL_ERR_CORRUPT)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "fuzz_mount: the store mounted, took writes and a commit, and then "
                "does not mount again: %d (%s; the first instance read %s)\n", rc,
                runnel_strerror(rc), clean ? "clean" : "records that do not check");
        abort();
    }
    uint64_t after = read_everything(r2, NULL, NULL, 0);
    /* Compared when the image's headers are a writer's (writer_headers)
     * and the second mount found a log of as many blocks: if it took in
     * blocks the first one had left out, the headers were not a writer's
     * after all (see above). */
    runnel_stats(r2, &st2);
    if (clean && writer && st1.blocks_used == st2.blocks_used && before != after) {
        fprintf(stderr, "fuzz_mount: a second mount shows another state than the instance "
                "that wrote it\n");
        abort();
    }
    REQUIRE(refused_writes == 0 && ram.rejected_calls == 0);
    return 0;
}

#ifdef FUZZ_MAKE_SEEDS
/* ---- seed images: real stores written by the engine ---- */
#include "emu_bd.h"

static uint64_t rng = 1;
static uint32_t rn(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const seed_keys[4] = { "temp", "hum", "log:a", "x" };

/* One random operation of a telemetry-ish workload. */
/* XADD long * t <n> MAXLEN 60: the stream RELOCATE carries along. */
static void seed_long(runnel_t *r)
{
    runnel_str_t fv[2] = { { "t", 1 }, { NULL, 0 } };
    runnel_xadd_args_t a;
    runnel_id_t id;
    char val[24];

    fv[1].p = val;
    fv[1].len = (size_t)snprintf(val, sizeof val, "%u", rn(100000));
    memset(&a, 0, sizeof a);
    a.key.p = "long";
    a.key.len = 4;
    a.fv = fv;
    a.nfields = 1;
    a.trim.strategy = RUNNEL_TRIM_MAXLEN;
    a.trim.maxlen = 60;
    a.trim.limit = -1;
    (void)runnel_xadd(r, &a, &id);
}

/* The block size of the seed being made (0: none): one XADD in 25
 * carries a value of about one, two or three blocks, a spanning entry
 * (FORMAT.md "Spanning records"), refused (and so harmless) when the ring
 * is too small for it. */
static uint32_t seed_block;

static void seed_op(runnel_t *r)
{
    static char span_val[3u * 1024u + 64u];
    runnel_str_t key = { seed_keys[rn(4)], 0 };
    runnel_str_t grp = { rn(2) ? "g1" : "g2", 2 };
    runnel_str_t con = { rn(2) ? "c1" : "c2", 2 };
    uint32_t op = rn(100);
    char val[24];
    runnel_id_t id, ids[5];
    uint64_t n;

    key.len = strlen(key.p);
    now_ms += 1 + rn(5);
    if (op < 55) {
        runnel_str_t fv[4] = { { "t", 1 }, { val, 0 }, { "unit", 4 }, { "C", 1 } };
        runnel_xadd_args_t a;
        memset(&a, 0, sizeof a);
        fv[1].len = (size_t)snprintf(val, sizeof val, "%u", rn(100000));
        if (seed_block != 0 && rn(25) == 0) {
            fv[1].p = span_val;
            fv[1].len = (1u + rn(3)) * (size_t)seed_block - 32u + rn(64);
            memset(span_val, 'a' + (int)rn(26), fv[1].len);
        }
        a.key = key;
        a.fv = fv;
        a.nfields = 1 + rn(2);
        if (rn(8) == 0) {
            a.trim.strategy = RUNNEL_TRIM_MAXLEN;
            a.trim.approx = rn(2);
            a.trim.maxlen = 5 + rn(20);
            a.trim.limit = -1;
        }
        (void)runnel_xadd(r, &a, &id);
    } else if (op < 65) {
        runnel_xreadgroup_args_t a;
        memset(&a, 0, sizeof a);
        a.key = key;
        a.group = grp;
        a.consumer = con;
        a.new_entries = true;
        a.count = 1 + rn(4);
        memset(ids, 0, sizeof ids);
        (void)runnel_xreadgroup(r, &a, collect_first, ids);
        if (ids[0].seq > 0 && rn(3) != 0)
            (void)runnel_xack(r, key, grp, &ids[1], (size_t)ids[0].seq - (rn(2) ? 1 : 0),
                              &n);
    } else if (op < 72) {
        (void)runnel_xgroup_create(r, key, grp, RUNNEL_ID_MIN, rn(2), true, -1);
    } else if (op < 78) {
        memset(ids, 0, sizeof ids);
        (void)runnel_xrange(r, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, 4, false, collect_first, ids);
        if (ids[0].seq > 1)
            (void)runnel_xdel(r, key, &ids[2], 1, &n);
    } else if (op < 82) {
        runnel_trim_t t;
        memset(&t, 0, sizeof t);
        t.strategy = RUNNEL_TRIM_MAXLEN;
        t.maxlen = rn(10);
        t.limit = -1;
        (void)runnel_xtrim(r, key, &t, &n);
    } else if (op < 85) {
        runnel_xclaim_args_t a;
        memset(&a, 0, sizeof a);
        memset(ids, 0, sizeof ids);
        (void)runnel_xrange(r, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, 2, false, collect_first, ids);
        a.key = key;
        a.group = grp;
        a.consumer = con;
        a.ids = &ids[1];
        a.nids = (size_t)ids[0].seq;
        (void)runnel_xclaim(r, &a, NULL, NULL);
    } else if (op < 87) {
        (void)runnel_del(r, key);
    } else if (op < 89) {
        (void)runnel_xgroup_delconsumer(r, key, grp, con, &n);
    } else if (op < 90) {
        (void)runnel_select(r, 1);
        runnel_str_t fv[2] = { { "k", 1 }, { "v", 1 } };
        runnel_xadd_args_t a;
        memset(&a, 0, sizeof a);
        a.key = key;
        a.fv = fv;
        a.nfields = 1;
        (void)runnel_xadd(r, &a, &id);
        (void)runnel_select(r, 0);
    } else if (op < 91) {
        runnel_xsetid_args_t a;
        runnel_stream_info_t si;
        memset(&a, 0, sizeof a);
        if (runnel_stream_info(r, key, &si) == 0) {
            a.key = key;
            a.last_id = si.last_id;
            a.last_id.ms += 10;
            (void)runnel_xsetid(r, &a);
        }
    } else if (op < 92) {
        (void)runnel_rename(r, key, (runnel_str_t){ "renamed", 7 });
    } else {
        (void)runnel_commit(r);
    }
}

static int write_seed(const char *dir, const char *name, uint8_t sel, const uint8_t *img,
                      size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    int ok = fputc(sel, f) != EOF && fwrite(img, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "%s: write failed\n", path);
    return ok ? 0 : -1;
}

/* A store of geometry `sel` after `ops` operations (commits along the
 * way, a last commit); with cut_at > 0 power goes during that program or
 * erase (model `model`) instead. Every seed must mount: it is a real
 * image, and a seed that does not mount seeds nothing past the log
 * layer. */
static int make_one(const char *dir, uint8_t sel, uint32_t ops, uint64_t seed, uint64_t cut_at,
                    runnel_emu_cut_model_t model, runnel_full_policy_t policy)
{
    static runnel_emu_bd_t eb;
    static uint8_t copy[IMAGE_MAX];
    const geometry_t *g = &geometries[sel & 3u];
    runnel_bd_geometry_t bg = { 1, g->prog_size, g->block_size, g->block_count, 0xFF, 0 };
    runnel_config_t cfg;
    runnel_t *r = NULL;
    size_t len = (size_t)g->block_size * g->block_count;
    char name[96];
    runnel_stats_t st;
    uint64_t relocated;

    REQUIRE(runnel_emu_bd_init(&eb, &dev, &bg, storage, NULL, (uint32_t)seed) == 0);
    config_for(&cfg, arena_a);
    cfg.full_policy = policy;
    REQUIRE(runnel_format(&r, &cfg) == 0);
    rng = seed;
    now_ms = 1700000000000ull;
    /* RELOCATE's seeds must relocate: their small rings keep a headroom of
     * about one node, which a spanning entry at the tail would not fit */
    seed_block = policy == RUNNEL_FULL_RELOCATE ? 0 : g->block_size;
    if (cut_at > 0)
        runnel_emu_bd_schedule_cut(&eb, cut_at, model);
    for (uint32_t i = 0; i < ops && !runnel_emu_bd_cut_happened(&eb); i++) {
        seed_op(r);
        /* RELOCATE: a stream kept long, which the ring must copy forward */
        if (policy == RUNNEL_FULL_RELOCATE && !runnel_emu_bd_cut_happened(&eb))
            seed_long(r);
    }
    if (!runnel_emu_bd_cut_happened(&eb))
        REQUIRE(runnel_commit(r) == 0);
    runnel_stats(r, &st);
    relocated = st.relocated_nodes;
    runnel_emu_bd_power_on(&eb);
    memcpy(copy, storage, len);
    snprintf(name, sizeof name, "g%u-%s-ops%u-seed%llu%s%s", (unsigned)(sel & 3u),
             policy == RUNNEL_FULL_DROP_OLDEST ? "drop"
             : policy == RUNNEL_FULL_RELOCATE  ? "relocate"
                                               : "refuse",
             (unsigned)ops,
             (unsigned long long)seed, cut_at > 0 ? "-cut-" : "",
             cut_at > 0 ? runnel_emu_cut_model_name(model) : "");
    /* it mounts (through the harness's own device) */
    device_init(sel);
    memcpy(storage, copy, len);
    config_for(&cfg, arena_b);
    read_only = 1;
    int rc = runnel_mount(&r, &cfg);
    read_only = 0;
    if (rc != 0) {
        fprintf(stderr, "%s: does not mount (%s)\n", name, runnel_strerror(rc));
        return -1;
    }
    runnel_stats(r, &st);
    printf("%s: %u of %u blocks, %u streams, %u groups, %u pending, %llu erases, "
           "%llu relocated\n", name, st.blocks_used, st.block_count, st.streams_used,
           st.groups_used, st.pending_used, (unsigned long long)eb.erases,
           (unsigned long long)relocated);
    if (policy == RUNNEL_FULL_RELOCATE && relocated == 0) {
        fprintf(stderr, "%s: relocated nothing\n", name);
        return -1;
    }
    return write_seed(dir, name, sel, copy, len);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int bad = 0;
    static const runnel_emu_cut_model_t models[4] = {
        RUNNEL_EMU_CUT_ATOMIC, RUNNEL_EMU_CUT_TORN_PREFIX, RUNNEL_EMU_CUT_TORN_BITS,
        RUNNEL_EMU_CUT_INTERRUPTED_ERASE
    };

    /* clean stores: a few operations, a full ring, many passes */
    for (uint8_t sel = 0; sel < 4; sel++) {
        bad |= make_one(dir, sel, 12, 1 + sel, 0, RUNNEL_EMU_CUT_ATOMIC, RUNNEL_FULL_DROP_OLDEST);
        bad |= make_one(dir, sel, 150, 11 + sel, 0, RUNNEL_EMU_CUT_ATOMIC,
                        RUNNEL_FULL_DROP_OLDEST);
        bad |= make_one(dir, sel, 1500, 21 + sel, 0, RUNNEL_EMU_CUT_ATOMIC,
                        RUNNEL_FULL_DROP_OLDEST);
    }
    bad |= make_one(dir, 1, 400, 31, 0, RUNNEL_EMU_CUT_ATOMIC, RUNNEL_FULL_REFUSE);
    bad |= make_one(dir, 3, 400, 32, 0, RUNNEL_EMU_CUT_ATOMIC, RUNNEL_FULL_REFUSE);
    /* RELOCATE (a long stream beside the workload): clean, and cut */
    bad |= make_one(dir, 2, 1500, 61, 0, RUNNEL_EMU_CUT_ATOMIC, RUNNEL_FULL_RELOCATE);
    bad |= make_one(dir, 2, 1500, 63, 1201, RUNNEL_EMU_CUT_TORN_PREFIX, RUNNEL_FULL_RELOCATE);
    /* power cuts, each model, some inside a wrapped ring */
    for (uint32_t m = 0; m < 4; m++) {
        bad |= make_one(dir, (uint8_t)m, 1500, 41 + m, 37 + 13 * m, models[m],
                        RUNNEL_FULL_DROP_OLDEST);
        bad |= make_one(dir, (uint8_t)(3 - m), 1500, 51 + m, 301 + 29 * m, models[m],
                        RUNNEL_FULL_DROP_OLDEST);
    }
    return bad ? 1 : 0;
}
#endif /* FUZZ_MAKE_SEEDS */
