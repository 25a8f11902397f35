/*
 * bench_store.h - what the store benchmarks (bench_mount.c,
 * bench_retention.c) share: a clock the benchmark moves by hand, wall
 * time, a fatal error, and a runnel_str_t from a C string. Each program
 * sets bench_name before anything can fail.
 */
#ifndef RUNNEL_BENCH_STORE_H
#define RUNNEL_BENCH_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runnel.h"
#include "ram_bd.h"

#define BLOCK 4096u

static const char *bench_name = "bench";

static uint64_t clock_ms;
static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return clock_ms;
}
static const runnel_clock_t bench_clock = { NULL, now_ms };

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", bench_name, what, runnel_strerror(rc));
    exit(1);
}

static runnel_str_t str(const char *s)
{
    runnel_str_t r;
    r.p = s;
    r.len = strlen(s);
    return r;
}

/* A durable store of `mib` MiB on a RAM device formatted as NOR flash
 * (4 KiB blocks, program unit 1 B), commit policy NONE: tune() sets the
 * pools and the policy, the arena is sized for them. */
typedef struct bench_store {
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t c;
    runnel_t *r;
    uint8_t *storage;
    void *arena;
    size_t arena_size;
    uint32_t blocks;
} bench_store_t;

typedef void (*bench_tune_fn)(runnel_config_t *c, uint32_t blocks, const void *ctx);

static void bench_config(bench_store_t *b, bench_tune_fn tune, const void *ctx)
{
    memset(&b->c, 0, sizeof b->c);
    b->c.bd = &b->bd;
    b->c.clock = &bench_clock;
    b->c.arena = b->arena;
    b->c.arena_size = b->arena_size;
    b->c.commit_policy = RUNNEL_COMMIT_NONE;
    b->c.durable = &runnel_durability;
    tune(&b->c, b->blocks, ctx);
}

static void bench_open(bench_store_t *b, uint32_t mib, uint32_t *erases, bench_tune_fn tune,
                       const void *ctx)
{
    int rc;

    memset(b, 0, sizeof *b);
    b->blocks = mib * 1024u * 1024u / BLOCK;
    {
        runnel_bd_geometry_t g = { 1, 1, BLOCK, b->blocks, 0xFF, 0 };
        b->storage = malloc((size_t)BLOCK * b->blocks);
        if (b->storage == NULL)
            die("malloc", RUNNEL_ERR_NOMEM);
        if ((rc = runnel_ram_bd_init(&b->rb, &b->bd, &g, b->storage, erases)) < 0)
            die("ram bd", rc);
    }
    bench_config(b, tune, ctx);
    b->arena_size = runnel_arena_size(&b->c);
    b->arena = malloc(b->arena_size);
    if (b->arena == NULL)
        die("malloc", RUNNEL_ERR_NOMEM);
    bench_config(b, tune, ctx);
    clock_ms = 1700000000000ull;
    if ((rc = runnel_format(&b->r, &b->c)) < 0)
        die("format", rc);
}

static void bench_close(bench_store_t *b)
{
    free(b->arena);
    free(b->storage);
}

/* XADD arguments for 32-byte entries: field "t", a 31-byte value. */
static void bench_entry(runnel_xadd_args_t *a, runnel_str_t fv[2], char val[31])
{
    memset(val, 'v', 31);
    fv[0] = str("t");
    fv[1].p = val;
    fv[1].len = 31;
    memset(a, 0, sizeof *a);
    a->fv = fv;
    a->nfields = 1;
    a->id_mode = RUNNEL_XADD_AUTO;
}

#endif /* RUNNEL_BENCH_STORE_H */
