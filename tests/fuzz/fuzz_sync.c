/*
 * fuzz_sync.c - libFuzzer target for the upstream forwarder (core/sync.c):
 * whatever bytes the "upstream" sends back, in whatever pieces, the
 * forwarder never crashes, never reads or writes outside its buffers, and
 * its reports stay within bounds.
 *
 * Input layout: byte 0 picks the configuration (AUTH, SELECT, buffer
 * sizes), then a list of events, each a control byte and, for "deliver",
 * a length byte and that many reply bytes:
 *   ctl % 8 == 0..3  deliver the next bytes to recv (in pieces of ctl/8+1)
 *   4                the link breaks (send/recv fail until reconnected)
 *   5                connects fail once
 *   6                time jumps by ctl * 40 ms (timeouts, backoff); with
 *                    bit 7, a commit mark (runnel_sync_committed)
 *   7                a producer adds an entry
 * After each event the forwarder is polled. Checked after every poll:
 * in-flight counts within the tables, lag never above the local entries,
 * state names valid, the last error NUL-terminated within its buffer.
 *
 * Seeds (tests/fuzz/corpus/sync) are well-formed conversations: +OK to
 * AUTH, *0 to XREVRANGE, bulk IDs to XADDs, an "equal or smaller" error,
 * and the transaction shapes each stream's batch gets: +OK to MULTI,
 * +QUEUED or a queuing error (OOM) per XADD, EXEC's array of IDs and
 * errors, -EXECABORT, -OOM or *-1 for EXEC, MULTI refused (NOPERM) with
 * plain XADD replies and "EXEC without MULTI" after it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ram_bd.h"
#include "runnel.h"
#include "sync.h"

#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_sync: %s:%d: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                  \
            abort();                                                         \
        }                                                                    \
    } while (0)

static uint8_t storage[64 * 1024];
static uint64_t arena[256 * 1024 / 8];
static uint64_t now_ms = 1700000000000ull;

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}

/* The scripted link. */
static struct {
    bool up;
    bool fail_connect;
    const uint8_t *pending;
    size_t pending_len;
    size_t piece;
    uint64_t sent;
} link_;

static int n_connect(void *ctx, const char *host, uint16_t port)
{
    (void)ctx;
    REQUIRE(host != NULL && port != 0);
    if (link_.fail_connect) {
        link_.fail_connect = false;
        return RUNNEL_ERR_IO;
    }
    link_.up = true;
    return 0;
}

static int n_send(void *ctx, const void *buf, size_t n)
{
    (void)ctx;
    REQUIRE(buf != NULL && n > 0);
    if (!link_.up)
        return RUNNEL_ERR_IO;
    link_.sent += n;
    return n > 3000 ? 3000 : (int)n;
}

static int n_recv(void *ctx, void *buf, size_t cap)
{
    (void)ctx;
    REQUIRE(buf != NULL && cap > 0);
    if (!link_.up)
        return RUNNEL_ERR_IO;
    if (link_.pending_len == 0)
        return RUNNEL_ERR_AGAIN;
    size_t n = link_.pending_len < link_.piece ? link_.pending_len : link_.piece;
    if (n > cap)
        n = cap;
    memcpy(buf, link_.pending, n);
    link_.pending += n;
    link_.pending_len -= n;
    return (int)n;
}

static void n_close(void *ctx)
{
    (void)ctx;
    link_.up = false;
    link_.pending_len = 0;
}

static const runnel_net_t net = {NULL, n_connect, n_send, n_recv, n_close, NULL};

static void add_entry(runnel_t *r, const char *key, unsigned i)
{
    char v[24];
    runnel_str_t fv[2] = {{"f", 1}, {v, (size_t)snprintf(v, sizeof v, "value-%u", i)}};
    runnel_xadd_args_t a;
    runnel_id_t id;
    memset(&a, 0, sizeof a);
    a.key.p = key;
    a.key.len = strlen(key);
    a.fv = fv;
    a.nfields = 1;
    (void)runnel_xadd(r, &a, &id);
    now_ms += 1;
}

static void check_reports(runnel_sync_t *s, runnel_t *r, uint32_t inflight_cap)
{
    runnel_sync_stats_t st;
    runnel_sync_stats(s, &st);
    REQUIRE(st.inflight_entries <= inflight_cap);
    REQUIRE(strlen(runnel_sync_state_name(st.state)) > 0);
    REQUIRE(strcmp(runnel_sync_state_name(st.state), "unknown") != 0);
    REQUIRE(memchr(st.last_error, '\0', RUNNEL_SYNC_ERR_MAX) != NULL);
    uint64_t total = 0, len;
    runnel_str_t k1 = {"s1", 2}, k2 = {"s2", 2};
    if (runnel_xlen(r, k1, &len) == 0)
        total += len;
    if (runnel_xlen(r, k2, &len) == 0)
        total += len;
    REQUIRE(st.lag_entries <= total);
    for (uint32_t i = 0; i < 4; i++) {
        runnel_sync_stream_stats_t ss;
        if (runnel_sync_stream_stats(s, i, &ss) != 0)
            continue;
        REQUIRE(ss.key.len == 2);
        REQUIRE(memchr(ss.error, '\0', RUNNEL_SYNC_ERR_MAX) != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t tx[4096 + 512], rx[1024 + 256];
    static runnel_sync_stream_t slots[4];
    static runnel_sync_inflight_t inflight[64];
    static runnel_sync_t s;
    if (size < 1)
        return 0;
    uint8_t conf = data[0];
    data++;
    size--;

    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = {1, 1, 4096, 16, 0xff, 0};
    runnel_ram_bd_init(&rb, &bd, &g, storage, NULL);
    runnel_clock_t clock = {NULL, clock_now};
    runnel_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.bd = &bd;
    cfg.clock = &clock;
    cfg.arena = arena;
    cfg.arena_size = sizeof arena;
    cfg.max_streams = 4;
    runnel_t *r = NULL;
    REQUIRE(runnel_format(&r, &cfg) == 0);
    for (unsigned i = 0; i < 20; i++)
        add_entry(r, i % 3 ? "s1" : "s2", i);

    memset(&link_, 0, sizeof link_);
    runnel_sync_config_t sc;
    memset(&sc, 0, sizeof sc);
    sc.net = &net;
    sc.host = "upstream";
    sc.port = 6379;
    sc.password = (conf & 1) ? "pw" : NULL;
    sc.user = (conf & 2) ? "edge" : NULL;
    sc.upstream_db = (conf & 4) ? 3 : 0;
    sc.key_prefix = (conf & 8) ? "p:" : NULL;
    sc.tx_buf = tx;
    sc.tx_size = 4096 + (conf & 16 ? 512 : 0);
    sc.rx_buf = rx;
    sc.rx_size = 1024 + (conf & 32 ? 256 : 0);
    sc.streams = slots;
    sc.streams_cap = (conf & 64) ? 1 : 4;   /* 1: the second stream finds no slot */
    sc.inflight = inflight;
    sc.inflight_cap = (conf & 128) ? 3 : 64;
    sc.batch_entries = 5;
    sc.reply_timeout_ms = 200;
    sc.backoff_min_ms = 10;
    sc.backoff_max_ms = 100;
    sc.forward_committed_only = (conf & 16) != 0;   /* with the bigger tx buffer */
    REQUIRE(runnel_sync_init(&s, r, &sc) == 0);

    size_t i = 0;
    unsigned added = 0;
    while (i < size) {
        uint8_t ctl = data[i++];
        switch (ctl % 8) {
        case 0: case 1: case 2: case 3: {
            if (i >= size)
                break;
            size_t n = data[i++];
            if (n > size - i)
                n = size - i;
            link_.pending = data + i;
            link_.pending_len = link_.up ? n : 0;
            link_.piece = (size_t)(ctl / 8) + 1;
            i += n;
            break;
        }
        case 4:
            link_.up = false;
            break;
        case 5:
            link_.fail_connect = true;
            break;
        case 6:
            now_ms += (uint64_t)ctl * 40;
            if (ctl & 0x80)
                runnel_sync_committed(&s);   /* forward_committed_only's mark */
            break;
        default:
            add_entry(r, added % 2 ? "s1" : "s2", 100 + added);
            added++;
            break;
        }
        for (int k = 0; k < 4; k++) {
            now_ms += 1;
            REQUIRE(runnel_sync_poll(&s, now_ms) == 0);
            check_reports(&s, r, sc.inflight_cap);
        }
    }
    runnel_sync_stop(&s);
    return 0;
}
