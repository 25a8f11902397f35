/*
 * bench_interleaved.c - the gateway shape: many streams written in turn.
 *
 * A gateway writes one stream per sensor, round-robin, so every stream's
 * entries are spread over the whole log among the others'. This part of
 * bench_core writes 100,000 entries of 32 B (field "v" + 31-byte value)
 * over 1, 10, 100 and 1,000 streams round-robin into an 8 MiB RAM ring of
 * 4 KiB blocks (read unit 1, program unit 1; 4 MiB does not hold 100,000
 * such entries), and reports per stream count:
 *
 *   XADD/s and flash bytes read per XADD (appending should read nothing)
 *   first touch: XRANGE <an ID in the middle> + COUNT 10 over 100 streams,
 *                then XREADGROUP COUNT 10 > with a new group on 100 other
 *                streams: flash bytes read, read calls, bytes read per
 *                payload byte returned
 *   drain: every stream through one consumer group (XREADGROUP COUNT 100
 *          then XACK), entries/s and bytes read per payload byte
 *
 * With fewer than 100 (or 200) streams the reads cycle over the streams
 * with other IDs, so "first touch" then means first touch of that range.
 * Byte and call counts come from port/ram and do not depend on the host.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runnel.h"
#include "ram_bd.h"
#include "bench_interleaved.h"

#define IL_STORE_BYTES (8u * 1024u * 1024u)
#define IL_BLOCK_SIZE 4096u
#define IL_BLOCK_COUNT (IL_STORE_BYTES / IL_BLOCK_SIZE)
#define IL_TOTAL 100000u
#define IL_READS 100u
#define IL_COUNT 10

static uint8_t il_storage[IL_STORE_BYTES];

static double il_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A clock that advances 1 ms per call: IDs like a sensor's, new ms each. */
static uint64_t il_clock_ms(void *ctx)
{
    uint64_t *t = ctx;
    return ++*t;
}

static void il_die(const char *what, int rc)
{
    fprintf(stderr, "bench_interleaved: %s failed: %d (%s)\n", what, rc,
            rc < 0 ? runnel_strerror(rc) : "");
    exit(1);
}

typedef struct il_store {
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_clock_t clock;
    uint64_t t;
    runnel_config_t cfg;
    void *arena;
    runnel_t *r;
} il_store_t;

static void il_open(il_store_t *s, uint32_t streams)
{
    runnel_bd_geometry_t g = {
        .read_size = 1, .prog_size = 1, .block_size = IL_BLOCK_SIZE,
        .block_count = IL_BLOCK_COUNT, .erase_value = 0xFF, .flags = 0,
    };
    size_t need;
    int rc = runnel_ram_bd_init(&s->rb, &s->bd, &g, il_storage, NULL);

    if (rc != 0)
        il_die("runnel_ram_bd_init", rc);
    s->t = 1700000000000ull;
    s->clock.ctx = &s->t;
    s->clock.now_ms = il_clock_ms;
    memset(&s->cfg, 0, sizeof s->cfg);
    s->cfg.bd = &s->bd;
    s->cfg.clock = &s->clock;
    s->cfg.max_streams = streams;
    s->cfg.max_nodes = IL_TOTAL / 50u + 2u * streams + 16u;  /* nodes may close early (listpack bytes) */
    s->cfg.max_groups = streams + IL_READS + 16u;
    s->cfg.max_consumers = streams + IL_READS + 16u;
    s->cfg.max_pending = 4096;
    s->cfg.max_fields = 4;
    s->cfg.commit_policy = RUNNEL_COMMIT_NONE;
    s->cfg.full_policy = RUNNEL_FULL_REFUSE;
    need = runnel_arena_size(&s->cfg);
    if (need == 0)
        il_die("runnel_arena_size", 0);
    s->arena = malloc(need);
    if (s->arena == NULL)
        il_die("malloc", 0);
    s->cfg.arena = s->arena;
    s->cfg.arena_size = need;
    rc = runnel_format(&s->r, &s->cfg);
    if (rc != 0)
        il_die("runnel_format", rc);
}

static runnel_str_t il_key(char *buf, uint32_t i)
{
    runnel_str_t k;
    k.len = (size_t)snprintf(buf, 16, "dev%05u", (unsigned)i);
    k.p = buf;
    return k;
}

typedef struct il_read {
    uint64_t entries, payload;
    runnel_id_t ids[100];
    size_t n;
} il_read_t;

static int il_entry(void *vctx, const runnel_entry_t *e)
{
    il_read_t *c = vctx;
    uint32_t i;

    c->entries++;
    for (i = 0; i < 2u * e->nfields; i++)
        c->payload += e->fv[i].len;
    if (c->n < 100)
        c->ids[c->n++] = e->id;
    return 0;
}

typedef struct il_result {
    uint32_t streams;
    double xadd_per_s, read_per_xadd;
    uint64_t xr_bytes, xr_calls, xr_payload;
    uint64_t rg_bytes, rg_calls, rg_payload;
    double drain_per_s, drain_bpp;
} il_result_t;

static void il_run(il_result_t *res, uint32_t streams)
{
    il_store_t s;
    char kb[16], value[32];
    runnel_str_t fv[2];
    uint64_t per = IL_TOTAL / streams, i, r0, c0, base;
    uint32_t k;
    double t0;
    il_read_t rd;

    il_open(&s, streams);
    base = s.t;     /* XADD number i (from 0) gets ms base + 1 + i */
    memset(value, 'x', sizeof value);
    fv[0].p = "v";
    fv[0].len = 1;
    fv[1].p = value;
    fv[1].len = 31;
    runnel_ram_bd_reset_counters(&s.rb);
    t0 = il_now();
    for (i = 0; i < per * streams; i++) {
        runnel_xadd_args_t a;
        runnel_id_t id;
        int rc;

        memset(&a, 0, sizeof a);
        a.key = il_key(kb, (uint32_t)(i % streams));
        a.id_mode = RUNNEL_XADD_AUTO;
        a.fv = fv;
        a.nfields = 1;
        value[0] = (char)('a' + i % 26u);
        rc = runnel_xadd(s.r, &a, &id);
        if (rc < 0)
            il_die("runnel_xadd", rc);
    }
    res->xadd_per_s = (double)(per * streams) / (il_now() - t0);
    res->read_per_xadd = (double)s.rb.bytes_read / (double)(per * streams);

    /* first touch: XRANGE <mid> + COUNT 10 over 100 streams */
    memset(&rd, 0, sizeof rd);
    r0 = s.rb.bytes_read;
    c0 = s.rb.read_calls;
    for (k = 0; k < IL_READS; k++) {
        uint32_t sidx = (uint32_t)(((uint64_t)k * 7919u) % streams);
        runnel_id_t mid;
        size_t before = rd.n;
        int rc;

        /* The clock advances 1 ms per XADD, so entry j of stream sidx has
         * ms = start + 1 + j * streams + sidx: an ID in the middle of the
         * stream without reading anything. */
        mid.ms = base + 1u + (per / 2u + k % (per / 4u + 1u)) * streams + sidx;
        mid.seq = 0;
        rd.n = 0;
        rc = runnel_xrange(s.r, il_key(kb, sidx), mid, RUNNEL_ID_MAX, IL_COUNT, false,
                           il_entry, &rd);
        if (rc != IL_COUNT || runnel_id_cmp(rd.ids[0], mid) != 0)
            il_die("runnel_xrange <mid> (unexpected entries)", rc);
        rd.n = before;
    }
    res->xr_bytes = s.rb.bytes_read - r0;
    res->xr_calls = s.rb.read_calls - c0;
    res->xr_payload = rd.payload;

    /* first touch: XREADGROUP COUNT 10 > with a new group, 100 other streams */
    memset(&rd, 0, sizeof rd);
    r0 = s.rb.bytes_read;
    c0 = s.rb.read_calls;
    for (k = 0; k < IL_READS; k++) {
        uint32_t sidx = (uint32_t)(((uint64_t)k * 7919u + 5003u) % streams);
        runnel_xreadgroup_args_t a;
        char gname[16];
        int rc;

        snprintf(gname, sizeof gname, "g%u", (unsigned)k);
        rc = runnel_xgroup_create(s.r, il_key(kb, sidx), (runnel_str_t){gname, strlen(gname)},
                                  RUNNEL_ID_MIN, false, false, -1);
        if (rc < 0)
            il_die("runnel_xgroup_create", rc);
        memset(&a, 0, sizeof a);
        a.key = il_key(kb, sidx);
        a.group = (runnel_str_t){gname, strlen(gname)};
        a.consumer = (runnel_str_t){"c", 1};
        a.new_entries = true;
        a.count = IL_COUNT;
        a.noack = true;
        rc = runnel_xreadgroup(s.r, &a, il_entry, &rd);
        if (rc < 0)
            il_die("runnel_xreadgroup", rc);
    }
    res->rg_bytes = s.rb.bytes_read - r0;
    res->rg_calls = s.rb.read_calls - c0;
    res->rg_payload = rd.payload;

    /* drain every stream through one group, COUNT 100 + XACK */
    memset(&rd, 0, sizeof rd);
    r0 = s.rb.bytes_read;
    t0 = il_now();
    for (k = 0; k < streams; k++) {
        int rc = runnel_xgroup_create(s.r, il_key(kb, k), (runnel_str_t){"drain", 5},
                                      RUNNEL_ID_MIN, false, false, -1);
        if (rc < 0)
            il_die("runnel_xgroup_create drain", rc);
    }
    for (;;) {
        uint64_t got = 0;

        for (k = 0; k < streams; k++) {
            runnel_xreadgroup_args_t a;
            uint64_t acked;
            int rc;

            memset(&a, 0, sizeof a);
            a.key = il_key(kb, k);
            a.group = (runnel_str_t){"drain", 5};
            a.consumer = (runnel_str_t){"c", 1};
            a.new_entries = true;
            a.count = 100;
            rd.n = 0;
            rc = runnel_xreadgroup(s.r, &a, il_entry, &rd);
            if (rc < 0)
                il_die("runnel_xreadgroup drain", rc);
            got += (uint64_t)rc;
            rc = runnel_xack(s.r, a.key, a.group, rd.ids, rd.n, &acked);
            if (rc < 0)
                il_die("runnel_xack", rc);
        }
        if (got == 0)
            break;
    }
    res->drain_per_s = (double)rd.entries / (il_now() - t0);
    res->drain_bpp = (double)(s.rb.bytes_read - r0) / (double)(rd.payload ? rd.payload : 1);
    free(s.arena);
}

void bench_interleaved_table(int quick)
{
    static const uint32_t counts[] = { 1, 10, 100, 1000 };
    il_result_t res[4];
    size_t i, n = quick ? 2u : 4u;

    for (i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof res[i]);
        res[i].streams = counts[quick ? i * 3u : i];
        il_run(&res[i], res[i].streams);
        fprintf(stderr, "  done: interleaved %u streams\n", (unsigned)res[i].streams);
    }
    printf("\nInterleaved streams: %u entries of 32 B written round-robin, %u MiB ring of %u B "
           "blocks, read unit 1; first-touch reads of %u streams, COUNT %d each.\n\n",
           IL_TOTAL, IL_STORE_BYTES >> 20, IL_BLOCK_SIZE, IL_READS, IL_COUNT);
    printf("| streams | XADD/s | flash B read per XADD | XRANGE <mid> + COUNT 10: B read | read calls | "
           "B read per payload B | XREADGROUP COUNT 10 >: B read | read calls | B read per payload B | "
           "drain (XREADGROUP+XACK) entries/s | drain B read per payload B |\n");
    printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (i = 0; i < n; i++) {
        const il_result_t *r = &res[i];
        printf("| %u | %.2f M | %.2f | %llu | %llu | %.2f | %llu | %llu | %.2f | %.2f M | %.2f |\n",
               (unsigned)r->streams, r->xadd_per_s / 1e6, r->read_per_xadd,
               (unsigned long long)r->xr_bytes, (unsigned long long)r->xr_calls,
               (double)r->xr_bytes / (double)(r->xr_payload ? r->xr_payload : 1),
               (unsigned long long)r->rg_bytes, (unsigned long long)r->rg_calls,
               (double)r->rg_bytes / (double)(r->rg_payload ? r->rg_payload : 1),
               r->drain_per_s / 1e6, r->drain_bpp);
    }
}
