/*
 * engine.c - runnel-inspect's logical pass: the real engine mounts the
 * image and every stream, group, consumer and pending entry is read back.
 *
 * The engine gets a block device over the image that reads with pread
 * (bounds-checked) and refuses every program and erase with RUNNEL_ERR_IO,
 * counting them: runnel_mount never writes (runnel.h), and the reads done
 * here journal nothing, so a refused write would be an engine bug and is
 * reported as one. The image is never changed.
 *
 * The pools (streams, nodes, groups, consumers, pending entries) must hold
 * what the store holds, which only the mount finds out: they start from
 * runneld's defaults for a store of this size and the failing one is
 * doubled until the mount fits (the arena is malloc'ed, as runneld does).
 *
 * Reading every entry of every stream (XRANGE) reads each entry record
 * whole with its CRC checked: a record the physical pass could frame but
 * the engine cannot decode shows up here.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inspect.h"

typedef struct ro_dev {
    const insp_image_t *img;
    uint64_t refused;
} ro_dev_t;

static int ro_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size)
{
    ro_dev_t *d = ctx;
    if (block >= d->img->block_count || off > d->img->block_size ||
        size > d->img->block_size - off)
        return RUNNEL_ERR_INVAL;
    return insp_image_read(d->img, block, off, buf, size) == 0 ? 0 : RUNNEL_ERR_IO;
}

static int ro_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size)
{
    ro_dev_t *d = ctx;
    (void)block, (void)off, (void)buf, (void)size;
    d->refused++;
    return RUNNEL_ERR_IO;
}

static int ro_erase(void *ctx, uint32_t block)
{
    ro_dev_t *d = ctx;
    (void)block;
    d->refused++;
    return RUNNEL_ERR_IO;
}

static uint64_t wall_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A name as redis-cli shows one: printable bytes as they are, the rest
 * escaped. */
static void put_name(runnel_str_t s)
{
    putchar('"');
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c >= 0x20 && c < 0x7F)
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('"');
}

static void put_id(runnel_id_t id)
{
    char b[RUNNEL_ID_STRLEN];
    runnel_id_format(id, b);
    fputs(b, stdout);
}

/* ---- keys of one database ---- */

typedef struct keys {
    char **names;
    size_t *lens;
    size_t n, cap;
} keys_t;

static int on_key(void *ctx, runnel_str_t key)
{
    keys_t *k = ctx;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        char **nn = realloc(k->names, cap * sizeof *nn);
        size_t *nl = realloc(k->lens, cap * sizeof *nl);
        if (nn == NULL || nl == NULL) {
            free(nn != NULL ? nn : k->names);
            fprintf(stderr, "runnel-inspect: out of memory\n");
            exit(INSP_EXIT_USAGE);
        }
        k->names = nn;
        k->lens = nl;
        k->cap = cap;
    }
    k->names[k->n] = malloc(key.len + 1u);
    if (k->names[k->n] == NULL) {
        fprintf(stderr, "runnel-inspect: out of memory\n");
        exit(INSP_EXIT_USAGE);
    }
    memcpy(k->names[k->n], key.p, key.len);
    k->lens[k->n++] = key.len;
    return 0;
}

/* ---- one stream ---- */

typedef struct entry_walk {
    uint64_t n;
    runnel_id_t first, last;
    bool disorder;
} entry_walk_t;

static int on_entry(void *ctx, const runnel_entry_t *e)
{
    entry_walk_t *w = ctx;
    if (w->n == 0)
        w->first = e->id;
    else if (runnel_id_cmp(e->id, w->last) <= 0)
        w->disorder = true;
    w->last = e->id;
    w->n++;
    return 0;
}

/* The sync backlog's bytes: field and value bytes after the cursor. */
static int on_backlog(void *ctx, const runnel_entry_t *e)
{
    uint64_t *bytes = ctx;
    for (uint32_t i = 0; i < 2 * e->nfields; i++)
        *bytes += e->fv[i].len;
    return 0;
}

/* A stream a forwarder follows: its persisted cursor and what is not
 * forwarded yet (entries and their field/value bytes). */
static void one_cursor(runnel_t *r, runnel_str_t key, uint64_t length, insp_engine_t *out)
{
    runnel_stream_cursor_t c;
    uint64_t bytes = 0;
    int rc = runnel_stream_cursor_get(r, key, &c);

    if (rc != 0 || !c.tracked)
        return;
    rc = runnel_xread(r, key, c.cursor, -1, on_backlog, &bytes);
    out->sync_streams++;
    out->sync_backlog_entries += c.backlog;
    out->sync_backlog_bytes += bytes;
    printf("    sync cursor ");
    put_id(c.cursor);
    printf(": backlog %llu entries (%llu bytes), forwarded %llu, skipped %llu, dropped %llu\n",
           (unsigned long long)c.backlog, (unsigned long long)bytes,
           (unsigned long long)c.forwarded, (unsigned long long)c.skipped,
           (unsigned long long)c.dropped);
    if (rc < 0)
        insp_report(INSP_CORRUPT, -1, -1, -1, "stream %.*s: reading the sync backlog: %s",
                    (int)key.len, key.p, runnel_strerror(rc));
    else if ((uint64_t)rc != c.backlog || c.backlog > length)
        insp_report(INSP_WARN, -1, -1, -1, "stream %.*s: the sync cursor counts %llu "
                    "entries after it, %d are there", (int)key.len, key.p,
                    (unsigned long long)c.backlog, rc);
}

typedef struct group_ctx {
    runnel_t *r;
    runnel_str_t key;
    insp_engine_t *out;
    uint64_t now;
} group_ctx_t;

static int on_consumer(void *ctx, const runnel_consumer_info_t *c)
{
    (void)ctx;
    printf("        consumer ");
    put_name(c->name);
    printf(": pending %llu, seen %llu ms ago\n", (unsigned long long)c->pending,
           (unsigned long long)c->idle_ms);
    return 0;
}

static int on_group(void *ctx, const runnel_group_info_t *g)
{
    group_ctx_t *gc = ctx;
    uint64_t total = 0;
    runnel_id_t lo, hi;

    gc->out->groups++;
    gc->out->consumers += g->consumers;
    gc->out->pending += g->pending;
    printf("      group ");
    put_name(g->name);
    printf(": consumers %llu, pending %llu, last-delivered ", (unsigned long long)g->consumers,
           (unsigned long long)g->pending);
    put_id(g->last_id);
    if (g->has_entries_read)
        printf(", entries-read %llu", (unsigned long long)g->entries_read);
    else
        printf(", entries-read nil");
    if (g->has_lag)
        printf(", lag %lld\n", (long long)g->lag);
    else
        printf(", lag nil\n");
    int rc = runnel_xpending_summary(gc->r, gc->key, g->name, &total, &lo, &hi, NULL, NULL);
    if (rc == 0 && total > 0) {
        printf("        pending IDs ");
        put_id(lo);
        printf(" .. ");
        put_id(hi);
        printf("\n");
    }
    if (rc == 0 && total != g->pending)
        insp_report(INSP_CORRUPT, -1, -1, -1, "group %.*s: XPENDING counts %llu, XINFO %llu",
                    (int)g->name.len, g->name.p, (unsigned long long)total,
                    (unsigned long long)g->pending);
    rc = runnel_consumers(gc->r, gc->key, g->name, on_consumer, NULL);
    if (rc < 0)
        insp_report(INSP_CORRUPT, -1, -1, -1, "XINFO CONSUMERS of group %.*s: %s",
                    (int)g->name.len, g->name.p, runnel_strerror(rc));
    return 0;
}

static void one_stream(runnel_t *r, uint32_t db, runnel_str_t key, insp_engine_t *out)
{
    runnel_stream_info_t si;
    entry_walk_t w;
    int rc;

    out->streams++;
    printf("  db %u stream ", db);
    put_name(key);
    rc = runnel_stream_info(r, key, &si);
    if (rc != 0) {
        printf("\n");
        insp_report(INSP_CORRUPT, -1, -1, -1, "XINFO STREAM of a key SCAN listed: %s",
                    runnel_strerror(rc));
        return;
    }
    memset(&w, 0, sizeof w);
    rc = runnel_xrange(r, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, on_entry, &w);
    printf(": length %llu", (unsigned long long)si.length);
    if (w.n > 0) {
        printf(", first ");
        put_id(w.first);
        printf(", last ");
        put_id(w.last);
    }
    printf(", last-generated ");
    put_id(si.last_id);
    printf(", entries-added %llu, max-deleted ", (unsigned long long)si.entries_added);
    put_id(si.max_deleted);
    printf(", nodes %llu, groups %llu", (unsigned long long)si.nodes,
           (unsigned long long)si.groups);
    if (si.dropped > 0)
        printf(", dropped by the full ring %llu", (unsigned long long)si.dropped);
    printf("\n");
    out->entries += w.n;
    if (rc < 0)
        insp_report(INSP_CORRUPT, -1, -1, -1, "stream %.*s: reading its entries stops after "
                    "%llu of %llu: %s", (int)key.len, key.p, (unsigned long long)w.n,
                    (unsigned long long)si.length, runnel_strerror(rc));
    else if (w.n != si.length)
        insp_report(INSP_CORRUPT, -1, -1, -1, "stream %.*s: XRANGE returns %llu entries, its "
                    "length is %llu", (int)key.len, key.p, (unsigned long long)w.n,
                    (unsigned long long)si.length);
    if (w.disorder)
        insp_report(INSP_CORRUPT, -1, -1, -1, "stream %.*s: XRANGE returns IDs out of order",
                    (int)key.len, key.p);
    if (w.n > 0 && runnel_id_cmp(w.last, si.last_id) > 0)
        insp_report(INSP_CORRUPT, -1, -1, -1, "stream %.*s: an entry above its "
                    "last-generated ID", (int)key.len, key.p);
    one_cursor(r, key, si.length, out);
    group_ctx_t gc = { r, key, out, 0 };
    rc = runnel_groups(r, key, on_group, &gc);
    if (rc < 0)
        insp_report(INSP_CORRUPT, -1, -1, -1, "stream %.*s: XINFO GROUPS: %s", (int)key.len,
                    key.p, runnel_strerror(rc));
}

/* ---- mount ---- */

static void config_for(runnel_config_t *c, const insp_image_t *img)
{
    uint64_t kib = (uint64_t)img->block_size * img->block_count / 1024u;
    memset(c, 0, sizeof *c);
    /* runneld's defaults for a store of this size (tools/runneld/config.c) */
    c->max_nodes = (uint32_t)(kib < 256 ? 256 : kib > 4000000 ? 4000000 : kib);
    c->max_pending = (uint32_t)(kib < 1024 ? 1024 : kib > 4000000 ? 4000000 : kib);
    c->max_streams = (uint32_t)(kib / 64 < 64 ? 64 : kib / 64 > 1000000 ? 1000000 : kib / 64);
    c->max_groups = c->max_streams < 256 ? 256 : c->max_streams;
    c->max_consumers = c->max_groups * 4u;
    /* runneld allows up to 65536-byte names and fields; a store written
     * with more than these fails with a clear error below */
    c->name_max = 1024;
    c->max_fields = 1024;
    c->node_max_entries = 100;
    c->node_entries_cap = 1024;
    c->databases = 16;
    c->commit_policy = RUNNEL_COMMIT_NONE;
    c->durable = &runnel_durability;
}

/* Grows the pool a POOL_* error names; false when it cannot grow. */
static bool grow(runnel_config_t *c, int rc)
{
    uint32_t *p = rc == RUNNEL_ERR_POOL_STREAMS     ? &c->max_streams
                  : rc == RUNNEL_ERR_POOL_NODES     ? &c->max_nodes
                  : rc == RUNNEL_ERR_POOL_GROUPS    ? &c->max_groups
                  : rc == RUNNEL_ERR_POOL_CONSUMERS ? &c->max_consumers
                  : rc == RUNNEL_ERR_POOL_PEL       ? &c->max_pending
                                                    : NULL;
    if (p == NULL || *p > UINT32_MAX / 2u || *p >= 64u * 1024u * 1024u)
        return false;
    *p *= 2u;
    return true;
}

void insp_engine(const insp_image_t *img, insp_engine_t *out)
{
    static ro_dev_t dev;
    runnel_bd_t bd;
    runnel_clock_t clk = { NULL, wall_ms };
    runnel_config_t cfg;
    runnel_t *r = NULL;
    void *arena = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    dev.img = img;
    dev.refused = 0;
    memset(&bd, 0, sizeof bd);
    bd.ctx = &dev;
    bd.geometry.read_size = 1;
    bd.geometry.prog_size = img->prog_size;
    bd.geometry.block_size = img->block_size;
    bd.geometry.block_count = img->block_count;
    bd.geometry.erase_value = img->erase_value;
    bd.read = ro_read;
    bd.prog = ro_prog;
    bd.erase = ro_erase;
    config_for(&cfg, img);
    cfg.bd = &bd;
    cfg.clock = &clk;
    for (int tries = 0;; tries++) {
        size_t need = runnel_arena_size(&cfg);
        if (need == 0) {
            /* runnel_format could never have made it: the headers lie */
            insp_report(INSP_CORRUPT, -1, -1, -1, "the engine opens no store of this geometry "
                        "(%u blocks of %u bytes, program unit %u): the block headers' block "
                        "size is not one a store was formatted with", img->block_count,
                        img->block_size, img->prog_size);
            out->mount_rc = RUNNEL_ERR_INVAL;
            free(arena);
            return;
        }
        free(arena);
        arena = aligned_alloc(64, (need + 63u) / 64u * 64u);
        if (arena == NULL) {
            fprintf(stderr, "runnel-inspect: cannot allocate %zu bytes of engine arena\n", need);
            out->mount_rc = RUNNEL_ERR_NOMEM;
            return;
        }
        cfg.arena = arena;
        cfg.arena_size = need;
        rc = runnel_mount(&r, &cfg);
        if (rc == 0 || tries >= 40 || !grow(&cfg, rc))
            break;
    }
    out->mount_rc = rc;
    out->refused_writes = dev.refused;
    if (rc != 0) {
        const char *e = runnel_strerror(rc);
        insp_report(rc == RUNNEL_ERR_NOMEM ? INSP_WARN : INSP_CORRUPT, -1, -1, -1,
                    "the engine does not mount it: %s (%d)", e, rc);
        free(arena);
        return;
    }
    runnel_stats(r, &out->stats);
    printf("\nEngine: mounted read-only (%" PRIu64 " bytes in %u reads; %u blocks in use)\n",
           out->stats.mount_bytes_read, out->stats.mount_read_calls, out->stats.blocks_used);
    printf("Streams:\n");
    for (uint32_t db = 0; db < cfg.databases; db++) {
        keys_t k;
        uint64_t cursor = 0, next = 0;
        memset(&k, 0, sizeof k);
        if (runnel_select(r, db) != 0)
            break;
        do {
            rc = runnel_scan(r, cursor, 0, &next, on_key, &k);
            if (rc < 0)
                break;
            cursor = next;
        } while (cursor != 0);
        for (size_t i = 0; i < k.n; i++) {
            one_stream(r, db, (runnel_str_t){ k.names[i], k.lens[i] }, out);
            free(k.names[i]);
        }
        free(k.names);
        free(k.lens);
    }
    if (out->streams == 0)
        printf("  (none)\n");
    out->refused_writes = dev.refused;
    if (dev.refused > 0)
        insp_report(INSP_WARN, -1, -1, -1, "the engine tried %llu program/erase operations "
                    "while only reading (refused; the image is unchanged): an engine bug",
                    (unsigned long long)dev.refused);
    free(arena);
}
