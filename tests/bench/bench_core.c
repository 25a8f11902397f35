/*
 * bench_core.c - the engine's own numbers: speed, write amplification, wear
 * and RAM, on a RAM block device (port/ram) that counts every program and
 * erase the core asks for.
 *
 *   cmake --build build --target bench_core && build/bench_core [--quick]
 *
 * Store: 4 MiB of 4 KiB blocks (1024 blocks), NOR semantics (erase value
 * 0xFF), program unit 1, 16 and 256 bytes. Payload = field + value bytes:
 * field "v" plus a 31- or 127-byte value gives the 32 B and 128 B rows, the
 * record sizes peers.md measured FlashDB and littlefs with.
 *
 * For each payload x program unit x commit policy (NONE: a page is
 * programmed when it fills; ALWAYS: every XADD is committed before it
 * returns, which pads the page tail to the program unit):
 *   1. fill   XADD to one stream until 60% of the ring is in use
 *             -> XADD entries/s, bytes programmed per payload byte
 *   2. read   XRANGE - + over everything, and XRANGE <random id> + COUNT 10
 *             -> entries/s
 *   3. group  XREADGROUP GROUP g c COUNT 100 > then XACK of those 100, until
 *             the stream is drained -> entries/s (each = delivery + ack)
 *   4. wrap   a fresh store; XADD MAXLEN ~ <40% of the ring> until the payload
 *             appended is 4x the store -> erases per MiB of payload, bytes
 *             programmed per payload byte in steady state, wear max-min
 * and, once, the arena bytes one more stream / group / consumer / pending
 * entry / node costs (runnel_arena_size differences), and the interleaved
 * streams table (bench_interleaved.c: 1 to 1,000 streams written in turn).
 *
 * This is a benchmark, not a test: it fails only if an engine call fails.
 * Host CPU numbers depend on the machine; the byte and erase counts do not.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runnel.h"
#include "ram_bd.h"
#include "bench_interleaved.h"

#define STORE_BYTES (4u * 1024u * 1024u)
#define BLOCK_SIZE 4096u
#define BLOCK_COUNT (STORE_BYTES / BLOCK_SIZE)
#define GROUP_BATCH 100
#define WINDOWS 20000u

static uint8_t storage[STORE_BYTES];
static uint32_t wear[BLOCK_COUNT];

static int quick;

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t clock_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const runnel_clock_t bench_clock = { NULL, clock_ms };

/* xorshift64*: reproducible random window starts. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_core: %s failed: %d (%s)\n", what, rc,
            rc < 0 ? runnel_strerror(rc) : "");
    exit(1);
}

static runnel_str_t S(const char *s)
{
    runnel_str_t r = { s, strlen(s) };
    return r;
}

/* One store under test: device, config, arena. */
typedef struct bench_store {
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_config_t cfg;
    void *arena;
    runnel_t *r;
} bench_store_t;

static void base_config(runnel_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_streams = 4;
    cfg->max_nodes = 8192;
    cfg->max_groups = 4;
    cfg->max_consumers = 4;
    cfg->max_pending = 4 * GROUP_BATCH;
    cfg->max_fields = 4;
}

static void store_open(bench_store_t *s, uint32_t prog_size, runnel_commit_policy_t commit)
{
    runnel_bd_geometry_t g = {
        .read_size = 1, .prog_size = prog_size, .block_size = BLOCK_SIZE,
        .block_count = BLOCK_COUNT, .erase_value = 0xFF, .flags = 0,
    };
    int rc = runnel_ram_bd_init(&s->rb, &s->bd, &g, storage, wear);
    if (rc != 0)
        die("runnel_ram_bd_init", rc);
    base_config(&s->cfg);
    s->cfg.bd = &s->bd;
    s->cfg.clock = &bench_clock;
    s->cfg.commit_policy = commit;
    s->cfg.full_policy = RUNNEL_FULL_REFUSE;
    size_t need = runnel_arena_size(&s->cfg);
    if (need == 0)
        die("runnel_arena_size", 0);
    s->arena = malloc(need);
    if (s->arena == NULL)
        die("malloc", 0);
    s->cfg.arena = s->arena;
    s->cfg.arena_size = need;
    rc = runnel_format(&s->r, &s->cfg);
    if (rc != 0)
        die("runnel_format", rc);
    /* Formatting erases and programs headers; count only the workload. */
    runnel_ram_bd_reset_counters(&s->rb);
}

static void store_close(bench_store_t *s)
{
    free(s->arena);
    s->arena = NULL;
    s->r = NULL;
}

/* ------------------------------------------------------------------ */
/* Workloads                                                            */
/* ------------------------------------------------------------------ */

typedef struct payload {
    char value[256];
    runnel_str_t fv[2];
    size_t bytes;          /* field + value */
} payload_t;

static void payload_init(payload_t *p, size_t bytes)
{
    for (size_t i = 0; i < sizeof p->value; i++)
        p->value[i] = (char)('a' + (i * 7u) % 26u);
    p->fv[0] = S("v");
    p->fv[1].p = p->value;
    p->fv[1].len = bytes - 1;
    p->bytes = bytes;
}

static int xadd(bench_store_t *s, payload_t *p, uint64_t maxlen, runnel_id_t *id)
{
    runnel_xadd_args_t a;
    memset(&a, 0, sizeof a);
    a.key = S("bench");
    a.id_mode = RUNNEL_XADD_AUTO;
    a.fv = p->fv;
    a.nfields = 1;
    if (maxlen) {
        a.trim.strategy = RUNNEL_TRIM_MAXLEN;
        a.trim.approx = true;
        a.trim.maxlen = maxlen;
        a.trim.limit = -1;
    }
    /* Vary the value a little so no layer can dedupe or compress it. */
    p->value[0] = (char)('a' + (rng_next() % 26u));
    return runnel_xadd(s->r, &a, id);
}

typedef struct scan_ctx {
    uint64_t entries, bytes;
} scan_ctx_t;

static int scan_entry(void *vctx, const runnel_entry_t *e)
{
    scan_ctx_t *c = vctx;
    c->entries++;
    for (uint32_t i = 0; i < 2 * e->nfields; i++)
        c->bytes += e->fv[i].len + (uint8_t)e->fv[i].p[0];
    return 0;
}

typedef struct group_ctx {
    runnel_id_t ids[GROUP_BATCH];
    size_t n;
} group_ctx_t;

static int group_entry(void *vctx, const runnel_entry_t *e)
{
    group_ctx_t *c = vctx;
    if (c->n < GROUP_BATCH)
        c->ids[c->n++] = e->id;
    return 0;
}

typedef struct result {
    size_t payload;
    uint32_t prog_size;
    runnel_commit_policy_t commit;
    uint64_t entries;
    double xadd_per_s;
    double prog_per_payload_fill;
    double syncs_per_xadd;
    double xrange_full_per_s;
    double xrange_win_per_s;
    double group_per_s;
    double prog_per_payload_wrap;
    double erases_per_mib;
    uint32_t wear_min, wear_max;
    uint64_t wrap_payload_bytes;
} result_t;

static void run_fill_read_group(result_t *res, payload_t *p)
{
    bench_store_t s;
    store_open(&s, res->prog_size, res->commit);

    size_t cap = STORE_BYTES / p->bytes + 1;
    runnel_id_t *ids = malloc(cap * sizeof *ids);
    if (ids == NULL)
        die("malloc", 0);

    /* 1. fill to 60% of the ring (checked every 256 appends). */
    uint32_t target_blocks = BLOCK_COUNT * 6u / 10u;
    if (quick)
        target_blocks = BLOCK_COUNT / 10u;
    uint64_t n = 0;
    double t0 = now_s();
    for (;;) {
        int rc = xadd(&s, p, 0, &ids[n]);
        if (rc != 1)
            die("XADD (fill)", rc);
        n++;
        if ((n & 255u) == 0 || n == cap) {
            runnel_stats_t st;
            runnel_stats(s.r, &st);
            if (st.blocks_used >= target_blocks || n == cap)
                break;
        }
    }
    double t1 = now_s();
    int rc = runnel_commit(s.r);
    if (rc != 0)
        die("runnel_commit", rc);
    res->entries = n;
    res->xadd_per_s = (double)n / (t1 - t0);
    res->prog_per_payload_fill = (double)s.rb.bytes_programmed / ((double)n * (double)p->bytes);
    res->syncs_per_xadd = (double)s.rb.sync_calls / (double)n;

    /* 2a. full scans: at least ~1 s worth, at least one. */
    scan_ctx_t sc = { 0, 0 };
    uint64_t scanned = 0;
    int rounds = 0;
    t0 = now_s();
    do {
        rc = runnel_xrange(s.r, S("bench"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                           scan_entry, &sc);
        if (rc < 0)
            die("XRANGE - +", rc);
        if ((uint64_t)rc != n)
            die("XRANGE - + count", rc);
        scanned += (uint64_t)rc;
        rounds++;
        t1 = now_s();
    } while (!quick && rounds < 20 && t1 - t0 < 0.5);
    res->xrange_full_per_s = (double)scanned / (t1 - t0);

    /* 2b. COUNT 10 windows from random points. */
    uint32_t windows = quick ? WINDOWS / 20u : WINDOWS;
    scanned = 0;
    t0 = now_s();
    for (uint32_t w = 0; w < windows; w++) {
        runnel_id_t start = ids[rng_next() % n];
        rc = runnel_xrange(s.r, S("bench"), start, RUNNEL_ID_MAX, 10, false, scan_entry, &sc);
        if (rc < 0)
            die("XRANGE COUNT 10", rc);
        scanned += (uint64_t)rc;
    }
    t1 = now_s();
    res->xrange_win_per_s = (double)scanned / (t1 - t0);

    /* 3. consumer group drain: XREADGROUP COUNT 100 >, XACK the batch. */
    rc = runnel_xgroup_create(s.r, S("bench"), S("g"), RUNNEL_ID_MIN, false, false, -1);
    if (rc < 0)
        die("XGROUP CREATE", rc);
    uint64_t consumed = 0;
    t0 = now_s();
    for (;;) {
        group_ctx_t gc;
        gc.n = 0;
        runnel_xreadgroup_args_t a;
        memset(&a, 0, sizeof a);
        a.key = S("bench");
        a.group = S("g");
        a.consumer = S("c");
        a.new_entries = true;
        a.count = GROUP_BATCH;
        rc = runnel_xreadgroup(s.r, &a, group_entry, &gc);
        if (rc < 0)
            die("XREADGROUP", rc);
        if (rc == 0)
            break;
        uint64_t acked = 0;
        rc = runnel_xack(s.r, S("bench"), S("g"), gc.ids, gc.n, &acked);
        if (rc < 0)
            die("XACK", rc);
        if (acked != gc.n)
            die("XACK count", (int)acked);
        consumed += acked;
    }
    t1 = now_s();
    if (consumed != n)
        die("group drain count", (int)consumed);
    res->group_per_s = (double)consumed / (t1 - t0);

    if (sc.entries == 0)
        die("scan", 0);
    free(ids);
    store_close(&s);
}

/* 4. Wrap the ring several times with MAXLEN ~ keeping about half of it. */
static void run_wrap(result_t *res, payload_t *p)
{
    bench_store_t s;
    store_open(&s, res->prog_size, res->commit);
    /* Phase 1 measured how many entries fill 60% of the ring; MAXLEN ~ at
     * 2/3 of that keeps about 40% of the ring live. */
    uint64_t maxlen = res->entries * 2u / 3u;
    if (maxlen < 1000)
        maxlen = 1000;
    uint64_t target = (uint64_t)STORE_BYTES * (quick ? 1u : 4u);
    uint64_t appended = 0;
    runnel_id_t id;
    while (appended < target) {
        int rc = xadd(&s, p, maxlen, &id);
        if (rc != 1)
            die("XADD MAXLEN ~ (wrap)", rc);
        appended += p->bytes;
    }
    int rc = runnel_commit(s.r);
    if (rc != 0)
        die("runnel_commit", rc);
    res->wrap_payload_bytes = appended;
    res->prog_per_payload_wrap = (double)s.rb.bytes_programmed / (double)appended;
    res->erases_per_mib = (double)s.rb.erases / ((double)appended / (1024.0 * 1024.0));
    runnel_ram_bd_wear(&s.rb, &res->wear_min, &res->wear_max);
    store_close(&s);
}

/* ------------------------------------------------------------------ */
/* RAM per object                                                       */
/* ------------------------------------------------------------------ */

typedef struct ram_row {
    const char *what;
    size_t offset;     /* offsetof the uint32_t pool field in runnel_config_t */
    uint32_t base, more;
} ram_row_t;

static size_t arena_for(const runnel_config_t *base, size_t off, uint32_t value)
{
    runnel_config_t c = *base;
    memcpy((char *)&c + off, &value, sizeof value);
    return runnel_arena_size(&c);
}

static void print_ram(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = { 1, 1, BLOCK_SIZE, BLOCK_COUNT, 0xFF, 0 };
    if (runnel_ram_bd_init(&rb, &bd, &g, storage, NULL) != 0)
        die("runnel_ram_bd_init", 0);
    runnel_config_t c;
    memset(&c, 0, sizeof c);
    c.bd = &bd;
    c.clock = &bench_clock;
    /* Library defaults (zero = default) for everything. */
    size_t def = runnel_arena_size(&c);

    static const ram_row_t rows[] = {
        { "stream (max_streams)", offsetof(runnel_config_t, max_streams), 16, 1040 },
        { "node of up to 100 entries (max_nodes)", offsetof(runnel_config_t, max_nodes), 256, 1280 },
        { "consumer group (max_groups)", offsetof(runnel_config_t, max_groups), 16, 1040 },
        { "consumer (max_consumers)", offsetof(runnel_config_t, max_consumers), 64, 1088 },
        { "pending entry (max_pending)", offsetof(runnel_config_t, max_pending), 1024, 2048 },
    };
    printf("\nRAM (arena bytes; library defaults need %lu bytes for a 4 MiB ring of 4 KiB blocks):\n\n",
           (unsigned long)def);
    printf("| one more ... | arena bytes |\n| --- | ---: |\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t a = arena_for(&c, rows[i].offset, rows[i].base);
        size_t b = arena_for(&c, rows[i].offset, rows[i].more);
        if (a == 0 || b == 0) {
            printf("| %s | (config rejected) |\n", rows[i].what);
            continue;
        }
        printf("| %s | %.1f |\n", rows[i].what,
               ((double)b - (double)a) / (double)(rows[i].more - rows[i].base));
    }
}

/* ------------------------------------------------------------------ */

static const char *policy_name(runnel_commit_policy_t p)
{
    return p == RUNNEL_COMMIT_ALWAYS ? "always" : p == RUNNEL_COMMIT_NONE ? "none" : "interval";
}

static void fmt_rate(char *buf, size_t n, double v)
{
    if (v >= 1e6)
        snprintf(buf, n, "%.2f M", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, n, "%.0f k", v / 1e3);
    else
        snprintf(buf, n, "%.0f", v);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    static const size_t payloads[] = { 32, 128 };
    static const uint32_t progs[] = { 1, 16, 256 };
    static const runnel_commit_policy_t policies[] = { RUNNEL_COMMIT_NONE, RUNNEL_COMMIT_ALWAYS };
    result_t results[2 * 3 * 2];
    size_t nres = 0;

    printf("runnel %s bench_core%s: RAM block device, %u KiB store of %u B blocks\n\n",
           RUNNEL_VERSION_STRING, quick ? " --quick" : "", STORE_BYTES / 1024u, BLOCK_SIZE);
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (size_t ci = 0; ci < 2; ci++) {
                result_t *res = &results[nres++];
                memset(res, 0, sizeof *res);
                res->payload = payloads[pi];
                res->prog_size = progs[gi];
                res->commit = policies[ci];
                payload_t p;
                payload_init(&p, payloads[pi]);
                run_fill_read_group(res, &p);
                run_wrap(res, &p);
                fprintf(stderr, "  done: %lu B, prog %lu, commit %s\n",
                        (unsigned long)res->payload, (unsigned long)res->prog_size,
                        policy_name(res->commit));
            }
        }
    }

    fflush(stderr);
    printf("| payload | prog unit | commit | XADD/s | XRANGE - + entries/s | XRANGE COUNT 10 entries/s | "
           "XREADGROUP+XACK entries/s | syncs per XADD | programmed B per payload B (fill) | same, ring wrapping | "
           "erases per MiB | wear max-min |\n");
    printf("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < nres; i++) {
        const result_t *r = &results[i];
        char a[32], b[32], c[32], d[32];
        fmt_rate(a, sizeof a, r->xadd_per_s);
        fmt_rate(b, sizeof b, r->xrange_full_per_s);
        fmt_rate(c, sizeof c, r->xrange_win_per_s);
        fmt_rate(d, sizeof d, r->group_per_s);
        printf("| %lu B | %lu | %s | %s | %s | %s | %s | %.3f | %.3f | %.3f | %.0f | %lu |\n",
               (unsigned long)r->payload, (unsigned long)r->prog_size, policy_name(r->commit),
               a, b, c, d, r->syncs_per_xadd, r->prog_per_payload_fill, r->prog_per_payload_wrap, r->erases_per_mib,
               (unsigned long)(r->wear_max - r->wear_min));
    }
    printf("\nfill: one stream filled to 60%% of the ring (%lu entries of 32 B at prog 1); "
           "wrap: XADD MAXLEN ~ (about 40%% of the ring live) until %lu MiB of payload went through "
           "the %u MiB ring.\n",
           (unsigned long)results[0].entries,
           (unsigned long)(results[0].wrap_payload_bytes >> 20), STORE_BYTES >> 20);
    printf("Peers (docs/peers.md, same 4 MiB / 4 KiB geometry): FlashDB TSDB 32 B: 1.445 B/B, "
           "390 erases/MiB; 128 B: 1.115 B/B, 293 erases/MiB; 3-17 M appends/s. "
           "littlefs 32 B sync each record: 66.2 B/B, 33,239 erases/MiB.\n");
    print_ram();
    bench_interleaved_table(quick);
    return 0;
}
