/*
 * mem.c - every byte a client holds, and the limits on them.
 *
 * A connected client costs its rd_client_t and nothing else until it needs
 * more. What it may need, each malloc'd on demand and charged to it
 * (rd_client_t.mem, summed in rd_server_t.clients_mem):
 *   qbuf        bytes of a command that did not arrive whole, or commands
 *               waiting behind a block or behind backpressure (commands
 *               that arrive whole run straight from the shared read buffer);
 *   obuf        reply bytes the socket has not taken yet;
 *   multi_buf   the MULTI queue (core's layout, see core/cmd.c: records
 *               whose argv pointers point into the buffer itself, so a move
 *               rebases them);
 *   watch_buf   WATCHed keys;
 *   block_buf   a blocked XREAD/XREADGROUP, and the scratch XAUTOCLAIM and
 *               XINFO STREAM FULL use while the client is not blocked.
 * Replies are built in one shared staging area (main.c maps it once, sized
 * by max-reply-size) and leave it right after the command: straight to the
 * socket, and what the socket does not take into obuf. A range read's
 * reply past 64 KiB is not built at all: its entries are read from the log
 * into fbuf as the socket drains (reply.c), one chunk at a time.
 *
 * Limits, checked before memory is taken (rd_mem_admit):
 *   client-max-memory   ours: one client may not hold more; it is closed;
 *   maxmemory-clients   Redis 7's budget for all clients together: when a
 *                       growth would pass it, the clients using the most are
 *                       evicted ("Evicting client: ..." as Redis logs it)
 *                       until it fits, so a greedy client goes and the
 *                       others stay. A client that set CLIENT NO-EVICT on
 *                       is counted but never evicted.
 * Shrinking (rd_mem_cron, once a second, as Redis's clientsCron): a buffer
 * no longer in use is freed; a query buffer much bigger than its recent
 * peak is cut back. Big output buffers are freed as soon as they drain.
 *
 * Sizes are size_t and every sum or product is checked (rd_add, rd_mul):
 * on armhf size_t is 32 bits and configured sizes are 64-bit values.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runneld.h"

#define QBUF_RESIZE_THRESHOLD (32u * 1024)  /* Redis's PROTO_RESIZE_THRESHOLD */
#define OBUF_KEEP (16u * 1024)              /* an empty output buffer kept this big */
#define BLOCKED_XINFO_SCRATCH (1024u * 1024)
#define IDLE_FREE_MS 2000u                  /* Redis frees idle query buffers after 2 s */

void rd_charge(rd_server_t *s, rd_client_t *c, size_t old_bytes, size_t new_bytes)
{
    c->mem = c->mem - old_bytes + new_bytes;
    s->clients_mem = s->clients_mem - old_bytes + new_bytes;
}

rd_client_t *rd_client_new(rd_server_t *s)
{
    rd_client_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->mem = 0;
    rd_charge(s, c, 0, sizeof *c);
    return c;
}

void rd_client_free_memory(rd_server_t *s, rd_client_t *c)
{
    rd_reply_free(s, c);
    free(c->qbuf);
    free(c->obuf);
    free(c->c.multi_buf);
    free(c->c.watch_buf);
    free(c->c.block_buf);
    s->clients_mem -= c->mem;
    free(c);
}

size_t rd_out_pending(const rd_server_t *s, const rd_client_t *c)
{
    (void)s;
    size_t n = c->olen - c->osent;
    size_t total;
    return rd_add(n, c->c.out.len, &total) ? total : SIZE_MAX;
}

/* ------------------------------------------------------------------ */
/* Budget                                                              */
/* ------------------------------------------------------------------ */

/* The machine's RAM: the base of "maxmemory-clients <n>%" (runneld has no
 * maxmemory of its own: its data lives in the fixed store). */
static uint64_t phys_ram(void)
{
    static uint64_t cached;
    if (cached == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        cached = (pages > 0 && size > 0) ? (uint64_t)pages * (uint64_t)size : 0;
    }
    return cached;
}

uint64_t rd_mem_budget(const rd_server_t *s)
{
    uint64_t v = s->cfg.maxmemory_clients;
    if (s->cfg.maxmemory_clients_pct != 0)
        v = phys_ram() / 100 * s->cfg.maxmemory_clients_pct;
    if (v == 0)
        return 0;
    /* As Redis: never so small that nobody can talk to the server. */
    return v < 128 * 1024 ? 128 * 1024 : v;
}

/* What c holds now, plus `extra`, saturating. */
static size_t client_total(const rd_client_t *c, size_t extra)
{
    size_t t;
    if (!rd_add(c->mem, c->c.out.len, &t) || !rd_add(t, extra, &t))
        return SIZE_MAX;
    return t;
}

void rd_client_close_logged(rd_server_t *s, rd_client_t *c, int level, const char *pre,
                            const char *post)
{
    if (c->close_asap)
        return;
    /* The core's description, with the buffer numbers that are ours:
     * obl = bytes waiting, tot-mem = everything charged (out.cap stands in
     * for our buffers, the core adds its multi/watch/block caps). */
    runnel_client_t view = c->c;
    size_t own = client_total(c, 0);
    size_t core_caps = c->c.multi_cap + c->c.watch_cap + c->c.block_cap;
    view.out.len = rd_out_pending(s, c);
    view.out.cap = own > core_caps ? own - core_caps : 0;
    char info[768];
    size_t n = runnel_client_info_string(&view, rd_now_ms(), info, sizeof info - 1);
    info[n] = '\0';
    rd_log(level, "%s%s%s", pre, info, post);
    c->close_asap = true;
    rd_client_schedule(s, c);
}

/* Every client's memory plus c's staged reply and `extra`, saturating
 * (extra can be a size_t near SIZE_MAX: a 64-bit sum could wrap). */
static uint64_t all_clients_plus(const rd_server_t *s, const rd_client_t *c, size_t extra)
{
    size_t t;
    if (!rd_add(s->clients_mem, c->c.out.len, &t) || !rd_add(t, extra, &t))
        return UINT64_MAX;
    return t;
}

/* Over budget: evict the biggest clients first (Redis's order) until the
 * total (with `extra` more for c, which may be NULL) fits. Clients already
 * closing do not count: their memory goes back before the next poll.
 * false = c itself was evicted. */
static bool evict_until_fits(rd_server_t *s, rd_client_t *c, size_t extra, uint64_t budget)
{
    for (;;) {
        uint64_t total = extra;
        rd_client_t *big = NULL;
        size_t bigmem = 0;
        for (uint32_t i = 0; i < s->nclients; i++) {
            rd_client_t *x = s->active[i];
            if (x->close_asap)
                continue;
            size_t m = client_total(x, x == c ? extra : 0);
            uint64_t m0 = client_total(x, 0);
            total = total > UINT64_MAX - m0 ? UINT64_MAX : total + m0;
            /* CLIENT NO-EVICT on: its memory counts, it is never chosen
             * (Redis 7.0 keeps such clients out of its eviction pools). */
            if (x->c.no_evict)
                continue;
            if (big == NULL || m > bigmem) {
                big = x;
                bigmem = m;
            }
        }
        if (total <= budget || big == NULL)
            return true;
        rd_client_close_logged(s, big, RD_LL_NOTICE, "Evicting client: ", "");
        s->evicted_clients++;
        if (big == c)
            return false;
    }
}

bool rd_mem_admit(rd_server_t *s, rd_client_t *c, size_t extra)
{
    if (c->close_asap)
        return false;
    size_t own = client_total(c, extra);
    size_t cap = rd_clamp(s->cfg.client_max_memory);
    if (cap != 0 && own > cap) {
        char post[160];
        snprintf(post, sizeof post, " (it would hold %zu bytes; client-max-memory is %zu)",
                 own, cap);
        rd_client_close_logged(s, c, RD_LL_WARNING,
                               "Closing client that reached client-max-memory: ", post);
        return false;
    }
    uint64_t budget = rd_mem_budget(s);
    if (budget == 0)
        return true;
    if (all_clients_plus(s, c, extra) <= budget)
        return true;
    return evict_until_fits(s, c, extra, budget);
}

/* The size a buffer of `have` bytes grows to for `need`: doubled (fewer
 * reallocs), unless the doubled size would not fit client-max-memory or
 * maxmemory-clients when the exact one does: near a limit, growth is
 * exact, so only a client that really needs more is closed or evicted. */
static size_t grow_size(const rd_server_t *s, const rd_client_t *c, size_t have, size_t need,
                        size_t floor)
{
    size_t cap;
    if (!rd_mul(have, 2, &cap) || cap < need)
        cap = need;
    if (cap < floor)
        cap = floor;
    if (cap == need)
        return cap;
    size_t limit = rd_clamp(s->cfg.client_max_memory);
    uint64_t budget = rd_mem_budget(s);
    bool over = (limit != 0 && client_total(c, cap - have) > limit) ||
                (budget != 0 && all_clients_plus(s, c, cap - have) > budget);
    return over && need >= floor ? need : cap;
}

/* ------------------------------------------------------------------ */
/* Query buffer                                                        */
/* ------------------------------------------------------------------ */

static void oom_close(rd_server_t *s, rd_client_t *c, const char *what, size_t bytes)
{
    char post[160];
    snprintf(post, sizeof post, " (out of memory growing its %s to %zu bytes)", what, bytes);
    rd_client_close_logged(s, c, RD_LL_WARNING, "Closing client ", post);
}

bool rd_qbuf_reserve(rd_server_t *s, rd_client_t *c, size_t need)
{
    if (need <= c->qcap)
        return true;
    /* Exactly what the caller asks (it decides how greedy to be). */
    size_t cap = need < RD_READ_CHUNK ? RD_READ_CHUNK : need;
    if (!rd_mem_admit(s, c, cap - c->qcap))
        return false;
    uint8_t *p = realloc(c->qbuf, cap);
    if (p == NULL) {
        oom_close(s, c, "query buffer", cap);
        return false;
    }
    rd_charge(s, c, c->qcap, cap);
    c->qbuf = p;
    c->qcap = cap;
    return true;
}

void rd_qbuf_release(rd_server_t *s, rd_client_t *c)
{
    if (c->qlen != 0 || c->qbuf == NULL)
        return;
    free(c->qbuf);
    rd_charge(s, c, c->qcap, 0);
    c->qbuf = NULL;
    c->qcap = 0;
    c->qpeak = 0;
}

/* Cuts the query buffer to `size` (at least what it holds). */
static void qbuf_resize(rd_server_t *s, rd_client_t *c, size_t size)
{
    if (size < c->qlen)
        size = c->qlen;
    if (size == 0) {
        rd_qbuf_release(s, c);
        return;
    }
    if (size >= c->qcap)
        return;
    uint8_t *p = realloc(c->qbuf, size);
    if (p == NULL)
        return;   /* keeping the bigger one is fine */
    rd_charge(s, c, c->qcap, size);
    c->qbuf = p;
    c->qcap = size;
}

/* ------------------------------------------------------------------ */
/* Output queue                                                        */
/* ------------------------------------------------------------------ */

/* client-output-buffer-limit normal <hard> <soft> <secs>, as Redis checks
 * it when a reply is added (and, for the soft limit's time, once a second
 * from the cron). */
bool rd_output_limits_ok(rd_server_t *s, rd_client_t *c)
{
    const rd_config_t *cfg = &s->cfg;
    uint64_t used = rd_out_pending(s, c);
    bool hard = cfg->output_hard != 0 && used >= cfg->output_hard;
    bool soft = false;
    if (cfg->output_soft != 0 && used >= cfg->output_soft) {
        uint64_t now = rd_now_ms();
        if (c->soft_since_ms == 0)
            c->soft_since_ms = now;
        else if (now - c->soft_since_ms >= (uint64_t)cfg->output_soft_secs * 1000)
            soft = true;
    } else {
        c->soft_since_ms = 0;
    }
    if (!hard && !soft)
        return true;
    s->obuf_disconnects++;
    rd_client_close_logged(s, c, RD_LL_WARNING, "Client ",
                           " scheduled to be closed ASAP for overcoming of output buffer limits.");
    return false;
}

bool rd_obuf_append(rd_server_t *s, rd_client_t *c, const uint8_t *p, size_t n)
{
    if (n == 0)
        return true;
    if (c->close_asap)
        return false;
    if (c->osent == c->olen)
        c->osent = c->olen = 0;
    if (n > c->ocap - c->olen && c->osent > 0) {
        memmove(c->obuf, c->obuf + c->osent, c->olen - c->osent);
        c->olen -= c->osent;
        c->osent = 0;
    }
    if (n > c->ocap - c->olen) {
        size_t need, cap;
        if (!rd_add(c->olen, n, &need)) {
            oom_close(s, c, "output buffer", SIZE_MAX);
            return false;
        }
        cap = grow_size(s, c, c->ocap, need, OBUF_KEEP);
        if (!rd_mem_admit(s, c, cap - c->ocap))
            return false;
        uint8_t *b = realloc(c->obuf, cap);
        if (b == NULL) {
            oom_close(s, c, "output buffer", cap);
            return false;
        }
        rd_charge(s, c, c->ocap, cap);
        c->obuf = b;
        c->ocap = cap;
    }
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
    if (c->olen - c->osent > s->recent_max_out)
        s->recent_max_out = c->olen - c->osent;
    return rd_output_limits_ok(s, c);
}

void rd_obuf_release(rd_server_t *s, rd_client_t *c)
{
    if (c->olen != c->osent || c->obuf == NULL)
        return;
    free(c->obuf);
    rd_charge(s, c, c->ocap, 0);
    c->obuf = NULL;
    c->ocap = c->olen = c->osent = 0;
}

/* ------------------------------------------------------------------ */
/* MULTI / WATCH / block buffers                                       */
/* ------------------------------------------------------------------ */

static size_t align8_pad(const void *p)
{
    return (size_t)((8u - ((uintptr_t)p & 7u)) & 7u);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Grows multi_buf to `need` bytes, moving the queue. core/cmd.c lays each
 * queued command out as [u32 argc][u32 record bytes][runnel_str_t argv[argc]]
 * [argument bytes] from the first 8-aligned byte, and the argv pointers
 * point into the record: after the copy they are rebased to the new
 * buffer. */
static bool multi_reserve(rd_server_t *s, rd_client_t *c, size_t need)
{
    runnel_client_t *cc = &c->c;
    if (need <= cc->multi_cap)
        return true;
    size_t cap = grow_size(s, c, cc->multi_cap, need, 4096);
    if (!rd_mem_admit(s, c, cap - cc->multi_cap))
        return false;
    uint8_t *nb = malloc(cap);
    if (nb == NULL) {
        oom_close(s, c, "MULTI queue", cap);
        return false;
    }
    if (cc->multi_buf != NULL && cc->multi_len > 0) {
        uint8_t *from = cc->multi_buf + align8_pad(cc->multi_buf);
        uint8_t *to = nb + align8_pad(nb);
        memcpy(to, from, cc->multi_len);
        size_t at = 0;
        while (at + 8 <= cc->multi_len) {
            uint8_t *rec = to + at;
            uint32_t argc = get_le32(rec), size = get_le32(rec + 4);
            runnel_str_t *slots = (runnel_str_t *)(void *)(rec + 8);
            for (uint32_t i = 0; i < argc; i++) {
                uintptr_t off = (uintptr_t)slots[i].p - (uintptr_t)from;
                slots[i].p = (const char *)(to + off);
            }
            if (size == 0)
                break;
            at += size;
        }
    }
    free(cc->multi_buf);
    rd_charge(s, c, cc->multi_cap, cap);
    cc->multi_buf = nb;
    cc->multi_cap = cap;
    return true;
}

static bool watch_reserve(rd_server_t *s, rd_client_t *c, size_t need)
{
    runnel_client_t *cc = &c->c;
    if (need <= cc->watch_cap)
        return true;
    size_t cap = grow_size(s, c, cc->watch_cap, need, 1024);
    if (!rd_mem_admit(s, c, cap - cc->watch_cap))
        return false;
    uint8_t *nb = realloc(cc->watch_buf, cap);
    if (nb == NULL) {
        oom_close(s, c, "WATCH list", cap);
        return false;
    }
    rd_charge(s, c, cc->watch_cap, cap);
    cc->watch_buf = nb;
    cc->watch_cap = cap;
    return true;
}

/* block_buf holds nothing between commands unless the client is blocked
 * (and a blocked client runs no commands), so it is replaced, not copied.
 * `required` false: scratch the command can do without (the core answers
 * its own "limit" error), so no eviction or close for it. */
static bool block_reserve(rd_server_t *s, rd_client_t *c, size_t need, bool required)
{
    runnel_client_t *cc = &c->c;
    if (need <= cc->block_cap || cc->block.active)
        return true;
    if (!required) {
        size_t cap = rd_clamp(s->cfg.client_max_memory);
        uint64_t budget = rd_mem_budget(s);
        size_t extra = need - cc->block_cap;
        if ((cap != 0 && client_total(c, extra) > cap) ||
            (budget != 0 && (uint64_t)s->clients_mem + extra > budget))
            return true;
    } else if (!rd_mem_admit(s, c, need - cc->block_cap)) {
        return false;
    }
    uint8_t *nb = malloc(need);
    if (nb == NULL) {
        if (!required)
            return true;
        oom_close(s, c, "blocking-read state", need);
        return false;
    }
    free(cc->block_buf);
    rd_charge(s, c, cc->block_cap, need);
    cc->block_buf = nb;
    cc->block_cap = need;
    return true;
}

static bool name_is(runnel_str_t a, const char *name)
{
    size_t n = strlen(name);
    return a.len == n && strncasecmp(a.p, name, n) == 0;
}

/* Bytes of block_buf the command may need (0 = none). Over-estimates: a
 * blocked XREAD/XREADGROUP stores group, consumer and each key with 21
 * bytes of overhead (core/cmd_block.c), counted here for every argument. */
static size_t block_need(size_t argc, const runnel_str_t *argv, bool *required)
{
    *required = true;
    if (name_is(argv[0], "xread") || name_is(argv[0], "xreadgroup")) {
        bool blocking = false;
        for (size_t i = 1; i < argc && !blocking; i++)
            blocking = name_is(argv[i], "block");
        if (!blocking)
            return 0;   /* only a blocked request is kept in block_buf */
        size_t need = 64;
        for (size_t i = 1; i < argc; i++)
            if (!rd_add(need, 21, &need) || !rd_add(need, argv[i].len, &need))
                return SIZE_MAX;
        return need;
    }
    *required = false;
    if (name_is(argv[0], "xautoclaim")) {
        /* COUNT n (default 100) deleted IDs of 16 bytes, 8-aligned. */
        uint64_t count = 100;
        for (size_t i = 5; i + 1 < argc; i++) {
            if (name_is(argv[i], "count")) {
                char num[24];
                size_t l = argv[i + 1].len < sizeof num - 1 ? argv[i + 1].len : sizeof num - 1;
                memcpy(num, argv[i + 1].p, l);
                num[l] = '\0';
                char *end;
                unsigned long long v = strtoull(num, &end, 10);
                if (*end == '\0' && l > 0 && num[0] != '-')
                    count = v;
            }
        }
        size_t need;
        if (count > SIZE_MAX / 16 || !rd_mul((size_t)count, 16, &need) || !rd_add(need, 8, &need))
            return SIZE_MAX;
        return need;
    }
    if (name_is(argv[0], "xinfo") && argc >= 4 && name_is(argv[1], "stream") &&
        name_is(argv[3], "full"))
        return BLOCKED_XINFO_SCRATCH;
    return 0;
}

bool rd_prepare_command(rd_server_t *s, rd_client_t *c, size_t argc, const runnel_str_t *argv)
{
    runnel_client_t *cc = &c->c;
    if (argc == 0)
        return true;
    bool required;
    size_t bneed = block_need(argc, argv, &required);
    if (cc->in_multi && !name_is(argv[0], "exec") && !name_is(argv[0], "discard")) {
        /* The record core/cmd.c queues: 8 + argc argv slots + the bytes,
         * rounded to 8, after up to 7 bytes of alignment. */
        size_t need = 8, slots;
        bool ok = rd_mul(argc, sizeof(runnel_str_t), &slots) && rd_add(need, slots, &need);
        for (size_t i = 0; ok && i < argc; i++)
            ok = rd_add(need, argv[i].len, &need);
        ok = ok && rd_add(need, 16, &need) && rd_add(need, cc->multi_len, &need);
        if (!ok) {
            oom_close(s, c, "MULTI queue", SIZE_MAX);
            return false;
        }
        if (!multi_reserve(s, c, need))
            return false;
        if (bneed > c->multi_block_need && bneed != SIZE_MAX)
            c->multi_block_need = bneed;
        return true;
    }
    if (name_is(argv[0], "exec") && cc->in_multi) {
        bneed = c->multi_block_need;
        required = false;
        c->multi_block_need = 0;
    }
    if (name_is(argv[0], "watch") && !cc->in_multi) {
        size_t need = cc->watch_len;
        bool ok = true;
        for (size_t i = 1; ok && i < argc; i++)
            ok = rd_add(need, 8, &need) && rd_add(need, argv[i].len, &need);
        if (!ok) {
            oom_close(s, c, "WATCH list", SIZE_MAX);
            return false;
        }
        if (!watch_reserve(s, c, need))
            return false;
    }
    if (bneed != 0 && bneed != SIZE_MAX)
        return block_reserve(s, c, bneed, required);
    return true;
}

/* ------------------------------------------------------------------ */
/* Shared buffers                                                      */
/* ------------------------------------------------------------------ */

bool rd_argv_reserve(rd_server_t *s, size_t count)
{
    if (count <= s->argv_cap)
        return true;
    size_t bytes;
    if (!rd_mul(count, sizeof(runnel_str_t), &bytes))
        return false;
    runnel_str_t *a = realloc(s->argv, bytes);
    if (a == NULL)
        return false;
    s->argv = a;
    s->argv_cap = count;
    return true;
}

void rd_stage_trim(rd_server_t *s)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t ps = page > 0 ? (size_t)page : 4096;
    size_t keep = (RD_STAGE_BATCH + ps - 1) / ps * ps;
    if (s->stage_dirty <= keep)
        return;
    size_t end = s->stage_dirty > s->stage_map - ps ? s->stage_map : (s->stage_dirty + ps - 1) / ps * ps;
    if (end > keep)
        madvise(s->stage + keep, end - keep, MADV_DONTNEED);
    s->stage_dirty = keep;
}

/* ------------------------------------------------------------------ */
/* Cron                                                                */
/* ------------------------------------------------------------------ */

void rd_mem_cron(rd_server_t *s, uint64_t now)
{
    bool partial = false;
    /* A budget lowered by CONFIG SET applies now, as Redis's evictClients(). */
    uint64_t budget = rd_mem_budget(s);
    if (budget != 0 && s->clients_mem > budget)
        (void)evict_until_fits(s, NULL, 0, budget);
    for (uint32_t i = 0; i < s->nclients; i++) {
        rd_client_t *c = s->active[i];
        runnel_client_t *cc = &c->c;
        if (c->close_asap)
            continue;
        bool idle = now - c->last_io_ms >= IDLE_FREE_MS;
        /* Query buffer, as Redis's clientsCronResizeQueryBuffer: only when
         * it wastes a few KB; all of it when idle, else down to the recent
         * peak (never below a bulk that is arriving). */
        if (c->qlen > 0)
            partial = true;
        if (c->qbuf != NULL && c->qcap - c->qlen > 4096) {
            if (c->qlen == 0 && (idle || c->qcap > QBUF_RESIZE_THRESHOLD)) {
                rd_qbuf_release(s, c);
            } else if (idle) {
                qbuf_resize(s, c, c->qlen);
            } else if (c->qcap > QBUF_RESIZE_THRESHOLD && c->qcap / 2 > c->qpeak) {
                size_t size = c->qpeak;
                size_t bulk = rd_clamp(c->pst.need);
                if (bulk > size && bulk <= c->qcap)
                    size = bulk;
                qbuf_resize(s, c, size);
            }
        }
        c->qpeak = c->qlen;
        /* Output: an empty queue is freed when idle (or big). */
        if (c->obuf != NULL && c->olen == c->osent && (idle || c->ocap > OBUF_KEEP))
            rd_obuf_release(s, c);
        if (c->olen != c->osent)
            (void)rd_output_limits_ok(s, c);
        /* MULTI/WATCH/block: free when not in use. */
        if (!cc->in_multi && cc->multi_buf != NULL) {
            free(cc->multi_buf);
            rd_charge(s, c, cc->multi_cap, 0);
            cc->multi_buf = NULL;
            cc->multi_cap = cc->multi_len = 0;
        }
        if (cc->watch_len == 0 && cc->watch_buf != NULL) {
            free(cc->watch_buf);
            rd_charge(s, c, cc->watch_cap, 0);
            cc->watch_buf = NULL;
            cc->watch_cap = 0;
        }
        if (!cc->block.active && cc->block_buf != NULL) {
            free(cc->block_buf);
            rd_charge(s, c, cc->block_cap, 0);
            cc->block_buf = NULL;
            cc->block_cap = 0;
        }
    }
    /* The shared argv array back to its minimum once no client has a
     * command half-parsed (the parser checked its count against the
     * capacity it had then). */
    if (!partial && s->argv_cap > RD_ARGV_MIN) {
        runnel_str_t *a = realloc(s->argv, RD_ARGV_MIN * sizeof(runnel_str_t));
        if (a != NULL) {
            s->argv = a;
            s->argv_cap = RD_ARGV_MIN;
        }
    }
    rd_stage_trim(s);
    s->recent_max_in = s->recent_max_out = 0;
    for (uint32_t i = 0; i < s->nclients; i++) {
        const rd_client_t *c = s->active[i];
        if (c->qcap > s->recent_max_in)
            s->recent_max_in = c->qcap;
        if (c->olen - c->osent > s->recent_max_out)
            s->recent_max_out = c->olen - c->osent;
    }
}
