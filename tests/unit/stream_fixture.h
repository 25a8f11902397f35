/*
 * stream_fixture.h - a store on the RAM block device with a fake clock, and
 * collectors for read callbacks, shared by the stream-half unit tests
 * (test_stream.c, test_trim.c, test_keyspace.c).
 *
 * Portable: static buffers only (no malloc, nothing big on the stack), so
 * the tests run bare-metal too. One store at a time.
 */
#ifndef STREAM_FIXTURE_H
#define STREAM_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "runnel.h"
#include "ram_bd.h"
#include "testing.h"

#define FX_STORAGE_BYTES (512u * 1024u)
#define FX_ARENA_BYTES (448u * 1024u)

static uint8_t fx_storage[FX_STORAGE_BYTES];
static uint64_t fx_arena[FX_ARENA_BYTES / 8u];
static uint32_t fx_erase_counts[1024];

typedef struct fx_event {
    uint32_t db;
    char key[32];
    runnel_key_event_t ev;
} fx_event_t;

typedef struct fx {
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_clock_t clock;
    uint64_t now;
    runnel_config_t cfg;
    runnel_t *r;
    fx_event_t events[64];
    unsigned nevents;
} fx_t;

static inline uint64_t fx_now(void *ctx)
{
    return ((fx_t *)ctx)->now;
}

static inline void fx_notify(void *ctx, uint32_t db, runnel_str_t key, runnel_key_event_t ev)
{
    fx_t *f = ctx;
    if (f->nevents < 64) {
        fx_event_t *e = &f->events[f->nevents++];
        size_t n = key.len < 31 ? key.len : 31;
        e->db = db;
        memcpy(e->key, key.p, n);
        e->key[n] = '\0';
        e->ev = ev;
    }
}

/* Fills f->cfg with a geometry and defaults; the caller may tweak cfg and
 * then call fx_open. */
static inline void fx_setup(fx_t *f, uint32_t prog, uint32_t block, uint32_t count)
{
    runnel_bd_geometry_t g;

    memset(f, 0, sizeof(*f));
    memset(&g, 0, sizeof(g));
    g.read_size = 1;
    g.prog_size = prog;
    g.block_size = block;
    g.block_count = count;
    g.erase_value = 0xff;
    if ((size_t)block * count > sizeof(fx_storage))
        printf("fixture: geometry too big\n");
    runnel_ram_bd_init(&f->rb, &f->bd, &g, fx_storage, fx_erase_counts);
    f->now = 1000;
    f->clock.ctx = f;
    f->clock.now_ms = fx_now;
    f->cfg.bd = &f->bd;
    f->cfg.clock = &f->clock;
    f->cfg.arena = fx_arena;
    f->cfg.arena_size = sizeof(fx_arena);
    f->cfg.notify = fx_notify;
    f->cfg.notify_ctx = f;
}

static inline int fx_open(fx_t *f)
{
    return runnel_format(&f->r, &f->cfg);
}

static inline runnel_str_t fx_s(const char *s)
{
    runnel_str_t r;
    r.p = s;
    r.len = strlen(s);
    return r;
}

/* XADD key <mode/id> f v (one pair). */
static inline int fx_add(fx_t *f, const char *key, runnel_xadd_id_mode_t mode, uint64_t ms,
                  uint64_t seq, const char *field, const char *value, runnel_id_t *out)
{
    runnel_xadd_args_t a;
    runnel_str_t fv[2];

    memset(&a, 0, sizeof(a));
    a.key = fx_s(key);
    a.id_mode = mode;
    a.id.ms = ms;
    a.id.seq = seq;
    fv[0] = fx_s(field);
    fv[1] = fx_s(value);
    a.fv = fv;
    a.nfields = 1;
    return runnel_xadd(f->r, &a, out);
}

static inline int fx_add_id(fx_t *f, const char *key, uint64_t ms, uint64_t seq)
{
    runnel_id_t id;
    return fx_add(f, key, RUNNEL_XADD_EXPLICIT, ms, seq, "f", "v", &id);
}

/* Collector: IDs and "field=value;..." text of each entry. */
#define FX_MAX_COLLECT 2048
typedef struct fx_collect {
    runnel_id_t ids[FX_MAX_COLLECT];
    char text[64][64];
    unsigned n;
    int stop_after;   /* >0: return -1234 after that many */
} fx_collect_t;

static fx_collect_t fx_col;

static inline int fx_collect_fn(void *ctx, const runnel_entry_t *e)
{
    fx_collect_t *c = ctx;
    if (c->n < FX_MAX_COLLECT)
        c->ids[c->n] = e->id;
    if (c->n < 64) {
        size_t off = 0;
        uint32_t i;
        c->text[c->n][0] = '\0';
        for (i = 0; i < 2u * e->nfields && off + e->fv[i].len + 2 < 64; i++) {
            memcpy(c->text[c->n] + off, e->fv[i].p, e->fv[i].len);
            off += e->fv[i].len;
            c->text[c->n][off++] = (i & 1u) ? ';' : '=';
            c->text[c->n][off] = '\0';
        }
    }
    c->n++;
    if (c->stop_after > 0 && (int)c->n >= c->stop_after)
        return -1234;
    return 0;
}

static inline fx_collect_t *fx_reset_col(void)
{
    memset(&fx_col, 0, sizeof(fx_col));
    return &fx_col;
}

static inline runnel_id_t fx_id(uint64_t ms, uint64_t seq)
{
    runnel_id_t id;
    id.ms = ms;
    id.seq = seq;
    return id;
}

static inline int fx_range(fx_t *f, const char *key, runnel_id_t a, runnel_id_t b, int64_t count,
                    bool rev)
{
    fx_collect_t *c = fx_reset_col();
    return runnel_xrange(f->r, fx_s(key), a, b, count, rev, fx_collect_fn, c);
}

static inline uint64_t fx_len(fx_t *f, const char *key)
{
    uint64_t n = 0;
    runnel_xlen(f->r, fx_s(key), &n);
    return n;
}

static inline runnel_stream_info_t fx_info(fx_t *f, const char *key)
{
    runnel_stream_info_t si;
    memset(&si, 0, sizeof(si));
    runnel_stream_info(f->r, fx_s(key), &si);
    return si;
}

#define CHECK_ID(actual, ems, eseq)                                   \
    do {                                                              \
        runnel_id_t fx_a_ = (actual);                                 \
        CHECK_EQ_U64(fx_a_.ms, (ems));                                \
        CHECK_EQ_U64(fx_a_.seq, (eseq));                              \
    } while (0)

#endif /* STREAM_FIXTURE_H */
