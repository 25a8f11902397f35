/*
 * smoke.c - the one test that runs on the Cortex-M0 micro:bit (16 KiB RAM).
 *
 * The unit tests need more RAM than this board has, so this proves the
 * essentials instead: the library links for ARMv6-M, a small configuration
 * fits in a few KiB, and format + XADD + XRANGE work on a core that faults
 * on any unaligned access. Store: 4 blocks of 1 KiB in RAM (port/ram), NOR
 * semantics (erase value 0xFF, program unit 1). Enough entries are appended
 * to cross block boundaries, then read back in full and by window, and
 * every field and value is compared byte for byte.
 *
 * Exit status 0 = pass; anything else names the step that failed.
 */
#include <stdio.h>
#include <string.h>

#include "runnel.h"
#include "ram_bd.h"

#define BLOCK_SIZE 1024u
#define BLOCK_COUNT 4u
#define ENTRIES 40u

static uint8_t flash[BLOCK_SIZE * BLOCK_COUNT];
static uint32_t wear[BLOCK_COUNT];
static uint64_t arena_words[8192 / 8];

static uint64_t fake_now;
static uint64_t smoke_now_ms(void *ctx)
{
    (void)ctx;
    return ++fake_now;
}

typedef struct check_ctx {
    uint32_t seen;
    uint32_t next_index;   /* the value index the next entry must carry */
    runnel_id_t last;
    int bad;
} check_ctx_t;

/* The value of entry i: "reading-<i>" padded so entries differ in length. */
static size_t make_value(uint32_t i, char *buf)
{
    int n = snprintf(buf, 32, "reading-%lu-%.*s", (unsigned long)i, (int)(i % 7u), "xxxxxxx");
    return (size_t)n;
}

static int check_entry(void *vctx, const runnel_entry_t *e)
{
    check_ctx_t *c = vctx;
    char want[32];
    size_t n = make_value(c->next_index, want);
    if (e->nfields != 1 || e->fv[0].len != 1 || e->fv[0].p[0] != 't' ||
        e->fv[1].len != n || memcmp(e->fv[1].p, want, n) != 0) {
        printf("entry %lu: wrong content\n", (unsigned long)c->next_index);
        c->bad++;
    }
    if (c->seen > 0 && runnel_id_cmp(e->id, c->last) <= 0) {
        printf("entry %lu: IDs not increasing\n", (unsigned long)c->next_index);
        c->bad++;
    }
    c->last = e->id;
    c->seen++;
    c->next_index++;
    return 0;
}

int main(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = {
        .read_size = 1, .prog_size = 1, .block_size = BLOCK_SIZE,
        .block_count = BLOCK_COUNT, .erase_value = 0xFF, .flags = 0,
    };
    if (runnel_ram_bd_init(&rb, &bd, &g, flash, wear) != 0) {
        printf("ram bd init failed\n");
        return 2;
    }
    runnel_clock_t clock = { .ctx = NULL, .now_ms = smoke_now_ms };
    runnel_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.bd = &bd;
    cfg.clock = &clock;
    cfg.max_streams = 2;
    cfg.max_nodes = 8;          /* 40 entries of 16 per node take 3 */
    cfg.max_groups = 1;
    cfg.max_consumers = 1;
    cfg.max_pending = 8;
    cfg.name_max = 16;
    cfg.max_fields = 4;
    cfg.node_max_entries = 16;
    cfg.node_entries_cap = 16;  /* the deletion bitmap per node is sized by this */
    cfg.names_cache_bytes = 8;  /* field "t": XADD compares names in RAM */
    cfg.mount_window_bytes = 64; /* not a whole 1 KiB block of RAM for mount */
    cfg.commit_policy = RUNNEL_COMMIT_ALWAYS;
    cfg.full_policy = RUNNEL_FULL_REFUSE;

    size_t need = runnel_arena_size(&cfg);
    printf("arena needed: %lu bytes (have %lu)\n", (unsigned long)need,
           (unsigned long)sizeof arena_words);
    if (need == 0 || need > sizeof arena_words) {
        printf("arena does not fit\n");
        return 3;
    }
    cfg.arena = arena_words;
    cfg.arena_size = sizeof arena_words;

    runnel_t *r = NULL;
    int rc = runnel_format(&r, &cfg);
    if (rc != 0) {
        printf("format: %d\n", rc);
        return 4;
    }

    runnel_id_t ids[ENTRIES];
    for (uint32_t i = 0; i < ENTRIES; i++) {
        char value[32];
        size_t n = make_value(i, value);
        runnel_str_t fv[2] = { { "t", 1 }, { value, n } };
        runnel_xadd_args_t a;
        memset(&a, 0, sizeof a);
        a.key.p = "telemetry";
        a.key.len = 9;
        a.id_mode = RUNNEL_XADD_AUTO;
        a.fv = fv;
        a.nfields = 1;
        rc = runnel_xadd(r, &a, &ids[i]);
        if (rc != 1) {
            printf("xadd %lu: %d\n", (unsigned long)i, rc);
            return 5;
        }
    }

    uint64_t len = 0;
    rc = runnel_xlen(r, (runnel_str_t){ "telemetry", 9 }, &len);
    if (rc != 0 || len != ENTRIES) {
        printf("xlen: rc %d len %lu\n", rc, (unsigned long)len);
        return 6;
    }

    check_ctx_t all = { 0 };
    rc = runnel_xrange(r, (runnel_str_t){ "telemetry", 9 }, RUNNEL_ID_MIN, RUNNEL_ID_MAX,
                       -1, false, check_entry, &all);
    if (rc != (int)ENTRIES || all.seen != ENTRIES || all.bad) {
        printf("full xrange: rc %d seen %lu bad %d\n", rc, (unsigned long)all.seen, all.bad);
        return 7;
    }

    /* A COUNT window from the middle must start exactly at its start ID. */
    check_ctx_t win = { 0 };
    win.next_index = 17;
    rc = runnel_xrange(r, (runnel_str_t){ "telemetry", 9 }, ids[17], RUNNEL_ID_MAX,
                       5, false, check_entry, &win);
    if (rc != 5 || win.seen != 5 || win.bad) {
        printf("window xrange: rc %d seen %lu bad %d\n", rc, (unsigned long)win.seen, win.bad);
        return 8;
    }

    runnel_stats_t st;
    runnel_stats(r, &st);
    printf("smoke ok: %lu entries, %lu bytes programmed, %lu blocks used of %lu, %lu prog violations\n",
           (unsigned long)ENTRIES, (unsigned long)st.bytes_programmed,
           (unsigned long)st.blocks_used, (unsigned long)st.block_count,
           (unsigned long)rb.prog_violations);
    return rb.prog_violations == 0 ? 0 : 9;
}
