/*
 * test_sync.c - the upstream forwarder (core/sync.c) driven through a
 * scripted network port.
 *
 * The port is a fake upstream living in this file: it parses the commands
 * the forwarder sends with the server-side RESP reader and answers them as
 * Redis 7.0 does for the few commands the forwarder uses (AUTH, SELECT,
 * XREVRANGE key + - COUNT 1, XADD key <id> f v ...), keeping the IDs it
 * accepted and a checksum of each entry's fields. A script decides the
 * faults: refused connects, connects that take several polls, sends and
 * receives in random small pieces, connections cut mid-batch (some
 * commands executed, their replies lost) and mid-reply, a stalled link
 * (bytes taken, nothing answered), a wrong password, WRONGTYPE keys.
 *
 * Every scenario ends by comparing the upstream with the local streams
 * entry by entry: same IDs in the same order, same fields, no duplicate,
 * no gap. Portable (static buffers): it runs on the host and on the
 * Cortex-M3 under QEMU as every unit test does.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdio.h>
#include <string.h>

#include "resp.h"
#include "stream_fixture.h"
#include "sync.h"
#include "testing.h"

/* ------------------------------------------------------------------ */
/* The fake upstream                                                   */
/* ------------------------------------------------------------------ */

#define UP_KEYS 4
#define UP_ENTRIES 3000
#define UP_IN 8192
#define UP_OUT 8192

typedef struct up_key {
    char name[40];
    size_t len;
    uint32_t db;
    bool wrongtype;
    /* XREVRANGE answers the entry this many before the top (as after an
     * XDEL of the top upstream): the forwarder re-sends what is there. */
    uint32_t top_behind;
    uint32_t n;
    runnel_id_t ids[UP_ENTRIES];
    uint32_t sums[UP_ENTRIES];
} up_key_t;

typedef struct fake_up {
    /* script */
    const char *user, *password;   /* required AUTH (password NULL = none) */
    uint32_t refuse_connects;      /* the next N connects fail */
    uint32_t connect_polls;        /* a connect takes this many calls */
    uint32_t cut_permille;         /* chance per send/recv call of a cut */
    bool stall;                    /* take bytes, answer nothing */
    bool small_chunks;             /* send/recv move 1..7 bytes at a time */
    uint32_t rng;
    /* connection */
    bool connected;
    uint32_t connect_calls_left;
    bool authed;
    uint32_t db;
    uint8_t in[UP_IN];
    size_t in_len;
    uint8_t out[UP_OUT];
    size_t out_len, out_off;
    runnel_resp_cmd_state_t pst;
    /* what happened */
    uint32_t connects, cuts, auth_fails, protocol_errors, over_capacity;
    char last_auth_user[32];
    /* data */
    up_key_t keys[UP_KEYS];
    uint32_t nkeys;
} fake_up_t;

static fake_up_t up;

static uint32_t up_rand(void)
{
    uint32_t x = up.rng != 0 ? up.rng : 12345u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    up.rng = x;
    return x;
}

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    h ^= 0xff;     /* field separator */
    h *= 16777619u;
    return h;
}

static up_key_t *up_key(runnel_str_t k, bool create)
{
    for (uint32_t i = 0; i < up.nkeys; i++)
        if (up.keys[i].len == k.len && up.keys[i].db == up.db &&
            memcmp(up.keys[i].name, k.p, k.len) == 0)
            return &up.keys[i];
    if (!create || up.nkeys == UP_KEYS || k.len >= sizeof up.keys[0].name)
        return NULL;
    up_key_t *u = &up.keys[up.nkeys++];
    memset(u, 0, sizeof *u);
    memcpy(u->name, k.p, k.len);
    u->len = k.len;
    u->db = up.db;
    return u;
}

static bool arg_is(runnel_str_t a, const char *s)
{
    size_t n = strlen(s);
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a.p[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != s[i])
            return false;
    }
    return true;
}

static void up_exec(runnel_resp_writer_t *w, runnel_str_t *argv, size_t argc)
{
    if (argc >= 2 && arg_is(argv[0], "AUTH")) {
        runnel_str_t user = argc == 3 ? argv[1] : fx_s("default");
        runnel_str_t pass = argv[argc - 1];
        const char *wu = up.user != NULL ? up.user : "default";
        size_t ul = user.len < sizeof up.last_auth_user - 1 ? user.len : sizeof up.last_auth_user - 1;
        memcpy(up.last_auth_user, user.p, ul);
        up.last_auth_user[ul] = '\0';
        if (up.password != NULL && user.len == strlen(wu) && memcmp(user.p, wu, user.len) == 0 &&
            pass.len == strlen(up.password) && memcmp(pass.p, up.password, pass.len) == 0) {
            up.authed = true;
            runnel_resp_simple(w, "OK", 2);
        } else {
            up.auth_fails++;
            const char *e = "WRONGPASS invalid username-password pair or user is disabled.";
            runnel_resp_error(w, e, strlen(e));
        }
        return;
    }
    if (up.password != NULL && !up.authed) {
        runnel_resp_error(w, "NOAUTH Authentication required.", 31);
        return;
    }
    if (argc == 2 && arg_is(argv[0], "SELECT")) {
        up.db = (uint32_t)(argv[1].p[0] - '0');
        runnel_resp_simple(w, "OK", 2);
        return;
    }
    if (argc == 6 && arg_is(argv[0], "XREVRANGE")) {
        up_key_t *u = up_key(argv[1], false);
        if (u != NULL && u->wrongtype) {
            const char *e = "WRONGTYPE Operation against a key holding the wrong kind of value";
            runnel_resp_error(w, e, strlen(e));
            return;
        }
        if (u == NULL || u->n <= u->top_behind) {
            runnel_resp_array(w, 0);
            return;
        }
        /* The top entry, with a field big enough to cross chunks. */
        runnel_resp_array(w, 1);
        runnel_resp_array(w, 2);
        runnel_resp_bulk_id(w, u->ids[u->n - 1 - u->top_behind]);
        runnel_resp_array(w, 2);
        runnel_resp_bulk(w, "field", 5);
        runnel_resp_bulk(w, "a somewhat longer value than usual", 34);
        return;
    }
    if (argc >= 5 && (argc % 2) == 1 && arg_is(argv[0], "XADD")) {
        up_key_t *u = up_key(argv[1], true);
        runnel_id_t id;
        if (u == NULL) {
            up.over_capacity++;
            runnel_resp_error(w, "ERR fake upstream full", 22);
            return;
        }
        if (u->wrongtype) {
            const char *e = "WRONGTYPE Operation against a key holding the wrong kind of value";
            runnel_resp_error(w, e, strlen(e));
            return;
        }
        if (runnel_id_parse(argv[2].p, argv[2].len, RUNNEL_ID_STRICT, &id, NULL) != 0) {
            up.protocol_errors++;
            runnel_resp_error(w, "ERR Invalid stream ID", 21);
            return;
        }
        if (u->n > 0 && runnel_id_cmp(id, u->ids[u->n - 1]) <= 0) {
            const char *e =
                "ERR The ID specified in XADD is equal or smaller than the target stream top item";
            runnel_resp_error(w, e, strlen(e));
            return;
        }
        if (u->n == UP_ENTRIES) {
            up.over_capacity++;
            runnel_resp_error(w, "OOM command not allowed when used memory > 'maxmemory'.", 55);
            return;
        }
        uint32_t h = 2166136261u;
        for (size_t i = 3; i < argc; i++)
            h = fnv(h, argv[i].p, argv[i].len);
        u->ids[u->n] = id;
        u->sums[u->n] = h;
        u->n++;
        runnel_resp_bulk_id(w, id);
        return;
    }
    up.protocol_errors++;
    runnel_resp_error(w, "ERR unknown command", 19);
}

/* Executes every complete command in `in`. */
static void up_process(void)
{
    static runnel_str_t argv[64];
    size_t off = 0;
    if (up.out_off == up.out_len)
        up.out_off = up.out_len = 0;
    for (;;) {
        size_t argc = 0;
        const char *err = NULL;
        if (up.out_len + 512 > UP_OUT)
            break;   /* our output is full: like a socket, stop reading */
        int rc = runnel_resp_parse_command(&up.pst, NULL, up.in + off, up.in_len - off, argv, 64,
                                           &argc, &err);
        if (rc == RUNNEL_ERR_AGAIN)
            break;
        if (rc < 0) {
            up.protocol_errors++;
            up.in_len = 0;
            return;
        }
        runnel_resp_cmd_reset(&up.pst);
        off += (size_t)rc;
        if (argc == 0)
            continue;
        runnel_resp_writer_t w;
        runnel_resp_writer_init(&w, up.out + up.out_len, UP_OUT - up.out_len, 2);
        up_exec(&w, argv, argc);
        if (w.overflow)
            up.protocol_errors++;
        else
            up.out_len += w.len;
    }
    memmove(up.in, up.in + off, up.in_len - off);
    up.in_len -= off;
}

static void up_cut(void)
{
    up.connected = false;
    up.cuts++;
}

static bool maybe_cut(void)
{
    if (up.cut_permille != 0 && up_rand() % 1000 < up.cut_permille) {
        up_cut();
        return true;
    }
    return false;
}

static int net_connect(void *ctx, const char *host, uint16_t port)
{
    (void)ctx;
    if (strcmp(host, "upstream.test") != 0 || port != 6379)
        return RUNNEL_ERR_INVAL;
    if (up.connected)
        return 0;
    if (up.refuse_connects > 0) {
        up.refuse_connects--;
        return RUNNEL_ERR_IO;
    }
    if (up.connect_calls_left == 0)
        up.connect_calls_left = up.connect_polls + 1;
    if (--up.connect_calls_left > 0)
        return RUNNEL_ERR_AGAIN;
    up.connected = true;
    up.connects++;
    up.authed = false;
    up.db = 0;
    up.in_len = 0;
    up.out_len = up.out_off = 0;
    runnel_resp_cmd_reset(&up.pst);
    return 0;
}

static int net_send(void *ctx, const void *buf, size_t n)
{
    (void)ctx;
    if (!up.connected)
        return RUNNEL_ERR_IO;
    if (up.small_chunks && n > 1)
        n = 1 + up_rand() % (n < 7 ? n : 7);
    else if (n > 1)
        n = 1 + up_rand() % n;   /* partial sends */
    if (n > UP_IN - up.in_len)
        n = UP_IN - up.in_len;
    if (n == 0) {
        up_process();
        return RUNNEL_ERR_AGAIN;
    }
    if (up.stall)
        return (int)n;   /* taken, never answered */
    memcpy(up.in + up.in_len, buf, n);
    up.in_len += n;
    up_process();
    /* A cut here is mid-batch: what arrived complete was executed, its
     * replies are lost with the connection. */
    if (maybe_cut())
        return RUNNEL_ERR_IO;
    return (int)n;
}

static int net_recv(void *ctx, void *buf, size_t cap)
{
    (void)ctx;
    if (!up.connected)
        return RUNNEL_ERR_IO;
    up_process();
    size_t avail = up.out_len - up.out_off;
    if (avail == 0)
        return RUNNEL_ERR_AGAIN;
    size_t n = avail < cap ? avail : cap;
    if (up.small_chunks && n > 1)
        n = 1 + up_rand() % (n < 7 ? n : 7);
    else if (n > 1)
        n = 1 + up_rand() % n;
    memcpy(buf, up.out + up.out_off, n);
    up.out_off += n;
    /* A cut here is mid-reply: part of the replies delivered. */
    if (maybe_cut())
        return (int)n;   /* the next call sees the broken link */
    return (int)n;
}

static void net_close(void *ctx)
{
    (void)ctx;
    up.connected = false;
}

static const char *net_strerror(void *ctx)
{
    (void)ctx;
    return "scripted fault";
}

static const runnel_net_t fake_net = {NULL, net_connect, net_send, net_recv, net_close,
                                      net_strerror};

/* ------------------------------------------------------------------ */
/* The forwarder under test                                            */
/* ------------------------------------------------------------------ */

static fx_t fx;
static runnel_sync_t sy;
static uint8_t tx_buf[8192], rx_buf[2048];
static runnel_sync_stream_t slots[4];
static runnel_sync_inflight_t inflight[64];
static runnel_sync_config_t scfg;

static void reset_up(void)
{
    memset(&up, 0, sizeof up);
    up.rng = 777;
}

static void setup_sync_only(void);

static void setup(void)
{
    reset_up();
    fx_setup(&fx, 1, 4096, 64);
    fx.cfg.max_streams = 8;
    CHECK_EQ_INT(fx_open(&fx), 0);
    setup_sync_only();
}

/* The forwarder's configuration over the fake upstream. */
static void setup_sync_only(void)
{
    memset(&scfg, 0, sizeof scfg);
    scfg.net = &fake_net;
    scfg.host = "upstream.test";
    scfg.port = 6379;
    scfg.tx_buf = tx_buf;
    scfg.tx_size = sizeof tx_buf;
    scfg.rx_buf = rx_buf;
    scfg.rx_size = sizeof rx_buf;
    scfg.streams = slots;
    scfg.streams_cap = 4;
    scfg.inflight = inflight;
    scfg.inflight_cap = 64;
    scfg.batch_entries = 50;
    scfg.max_inflight_bytes = 4096;
    scfg.backoff_min_ms = 10;
    scfg.backoff_max_ms = 200;
    scfg.reply_timeout_ms = 500;
    scfg.scan_interval_ms = 50;
    scfg.seed = 99;
}

static uint32_t added_seq;

/* XADD key * t <n> v <n as text, some longer>. */
static void produce(const char *key, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char val[48];
        runnel_id_t id;
        added_seq++;
        snprintf(val, sizeof val, "v%lu-%s", (unsigned long)added_seq,
                 (added_seq % 7) == 0 ? "padding padding padding" : "x");
        fx.now += (added_seq % 3) == 0 ? 1 : 0;
        CHECK(fx_add(&fx, key, RUNNEL_XADD_AUTO, 0, 0, "t", val, &id) >= 0);
    }
}

static void poll_for(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t++) {
        fx.now++;
        CHECK_EQ_INT(runnel_sync_poll(&sy, fx.now), 0);
    }
}

/* Polls until every slot has no lag and nothing is in flight, or the
 * deadline (fake milliseconds) passes. */
static bool drain(uint64_t deadline_ms)
{
    for (uint64_t t = 0; t < deadline_ms; t++) {
        fx.now++;
        CHECK_EQ_INT(runnel_sync_poll(&sy, fx.now), 0);
        runnel_sync_stats_t st;
        runnel_sync_stats(&sy, &st);
        if (st.state == RUNNEL_SYNC_SYNCING && st.lag_entries == 0 && st.inflight_entries == 0 &&
            st.streams_stopped == 0)
            return true;
    }
    return false;
}

typedef struct cmp_ctx {
    up_key_t *u;
    uint32_t i;
    uint32_t mismatches;
} cmp_ctx_t;

static int cmp_entry(void *ctx, const runnel_entry_t *e)
{
    cmp_ctx_t *c = ctx;
    uint32_t h = 2166136261u;
    for (uint32_t k = 0; k < 2 * e->nfields; k++)
        h = fnv(h, e->fv[k].p, e->fv[k].len);
    if (c->u == NULL || c->i >= c->u->n || runnel_id_cmp(c->u->ids[c->i], e->id) != 0 ||
        c->u->sums[c->i] != h)
        c->mismatches++;
    c->i++;
    return 0;
}

/* The upstream key (prefix + key, in db) holds exactly the local stream. */
static void check_mirror(const char *key, const char *prefix, uint32_t db)
{
    char uk[64];
    snprintf(uk, sizeof uk, "%s%s", prefix, key);
    uint32_t saved = up.db;
    up.db = db;
    cmp_ctx_t c = {up_key(fx_s(uk), false), 0, 0};
    up.db = saved;
    int n = runnel_xrange(fx.r, fx_s(key), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, cmp_entry, &c);
    CHECK(n > 0);
    CHECK_EQ_U64(c.mismatches, 0);
    CHECK(c.u != NULL);
    if (c.u != NULL)
        CHECK_EQ_U64(c.u->n, (uint64_t)n);
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

static void test_steady(void)
{
    setup();
    scfg.key_prefix = "dev1:";
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("a", 300);
    produce("b", 200);
    for (int round = 0; round < 20; round++) {
        produce(round % 2 ? "a" : "b", 37);
        poll_for(3);
    }
    CHECK(drain(20000));
    check_mirror("a", "dev1:", 0);
    check_mirror("b", "dev1:", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 300 + 200 + 20 * 37);
    CHECK_EQ_U64(st.duplicates, 0);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.reconnects, 0);
    CHECK_EQ_U64(up.protocol_errors, 0);
    CHECK_STR(runnel_sync_state_name(st.state), "syncing");
    runnel_id_t cur;
    runnel_stream_info_t info;
    CHECK_EQ_INT(runnel_sync_cursor(&sy, fx_s("a"), &cur), 0);
    CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("a"), &info), 0);
    CHECK(runnel_id_cmp(cur, info.last_id) == 0);
}

/* Cuts at random points (mid-batch on send, mid-reply on recv), refused
 * and slow connects, tiny chunks, producers writing throughout. */
static void test_faults(void)
{
    setup();
    up.cut_permille = 15;
    up.connect_polls = 3;
    up.small_chunks = false;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    for (int round = 0; round < 60; round++) {
        produce(round % 3 == 0 ? "s1" : round % 3 == 1 ? "s2" : "s3", 30);
        if (round % 10 == 5)
            up.refuse_connects = 2;
        up.small_chunks = (round % 4) == 1;
        poll_for(40);
    }
    up.cut_permille = 0;
    up.small_chunks = false;
    CHECK(drain(60000));
    check_mirror("s1", "", 0);
    check_mirror("s2", "", 0);
    check_mirror("s3", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    printf("  faults: %lu cuts, %lu connects, %lu duplicates acknowledged\n",
           (unsigned long)up.cuts, (unsigned long)up.connects, (unsigned long)st.duplicates);
    CHECK(up.cuts >= 10);
    CHECK(st.reconnects >= up.cuts);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(up.protocol_errors, 0);
}

/* A link that takes bytes and never answers is dropped after the reply
 * timeout and the entries go through on the next connection. */
static void test_half_open(void)
{
    setup();
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("h", 100);
    CHECK(drain(5000));
    up.stall = true;
    produce("h", 100);
    poll_for(100);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK(st.inflight_entries > 0);
    poll_for(scfg.reply_timeout_ms + 10);
    runnel_sync_stats(&sy, &st);
    CHECK(st.reconnects >= 1);
    CHECK(strstr(st.last_error, "no reply") != NULL);
    up.stall = false;
    CHECK(drain(10000));
    check_mirror("h", "", 0);
}

/* The upstream already holds the first entries (a cursor lost with a
 * power cut): only the rest is sent, nothing twice. */
static int preload_fn(void *ctx, const runnel_entry_t *e)
{
    up_key_t *u = ctx;
    uint32_t h = 2166136261u;
    for (uint32_t k = 0; k < 2 * e->nfields; k++)
        h = fnv(h, e->fv[k].p, e->fv[k].len);
    u->ids[u->n] = e->id;
    u->sums[u->n] = h;
    u->n++;
    return 0;
}

static void test_resume_from_upstream(void)
{
    setup();
    produce("r", 120);
    /* The upstream already holds the first 70 entries, as Redis would. */
    up_key_t *u = up_key(fx_s("r"), true);
    CHECK_EQ_INT(runnel_xrange(fx.r, fx_s("r"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 70, false,
                               preload_fn, u), 70);
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    CHECK(drain(5000));
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 50);
    CHECK_EQ_U64(st.duplicates, 0);
    check_mirror("r", "", 0);

    /* The upstream's top entry reads 3 behind its last ID (deleted there):
     * the 3 re-sent entries are refused as "equal or smaller" and count as
     * duplicates acknowledged, not as errors and not as second copies. */
    setup();
    produce("r", 120);
    u = up_key(fx_s("r"), true);
    CHECK_EQ_INT(runnel_xrange(fx.r, fx_s("r"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, 70, false,
                               preload_fn, u), 70);
    u->top_behind = 3;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    CHECK(drain(5000));
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 50);
    CHECK_EQ_U64(st.duplicates, 3);
    CHECK_EQ_U64(st.streams_stopped, 0);
    CHECK_EQ_U64(st.lag_entries, 0);
    check_mirror("r", "", 0);
}

/* Entries deleted locally before they were forwarded are skipped and
 * counted, never invented. */
static void test_skipped(void)
{
    setup();
    produce("k", 50);
    fx_collect_t *col = &fx_col;
    memset(col, 0, sizeof *col);
    CHECK_EQ_INT(runnel_xrange(fx.r, fx_s("k"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                               fx_collect_fn, col), 50);
    up.connect_polls = 20;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    poll_for(1);   /* the slot is taken now, still connecting; deletes come after */
    uint64_t del = 0;
    runnel_id_t ids[5] = {col->ids[3], col->ids[10], col->ids[11], col->ids[30], col->ids[49]};
    CHECK_EQ_INT(runnel_xdel(fx.r, fx_s("k"), ids, 5, &del), 0);
    CHECK_EQ_U64(del, 5);
    CHECK(drain(5000));
    check_mirror("k", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 45);
    CHECK_EQ_U64(st.skipped, 5);
}

/* The full ring drops the oldest entries (DROP_OLDEST) while the link is
 * down: they are counted as dropped, not skipped, and the upstream gets
 * exactly what is left. */
static void test_dropped(void)
{
    reset_up();
    fx_setup(&fx, 1, 4096, 8);
    fx.cfg.max_streams = 8;
    fx.cfg.full_policy = RUNNEL_FULL_DROP_OLDEST;
    CHECK_EQ_INT(fx_open(&fx), 0);
    setup_sync_only();
    up.refuse_connects = 1000000;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("d", 1);
    poll_for(1);   /* the slot is taken before anything is dropped */
    runnel_stream_info_t info;
    for (int i = 0; i < 400; i++) {
        produce("d", 10);
        CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("d"), &info), 0);
        if (info.dropped > 100)
            break;
    }
    CHECK(info.dropped > 100);
    poll_for(50);
    up.refuse_connects = 0;
    CHECK(drain(20000));
    check_mirror("d", "", 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_INT(runnel_stream_info(fx.r, fx_s("d"), &info), 0);
    CHECK_EQ_U64(st.dropped, info.dropped);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(st.forwarded, info.length);
}

/* forward_committed_only: nothing goes upstream before the application
 * says the store committed it. */
static void test_committed_only(void)
{
    setup();
    scfg.forward_committed_only = true;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("c", 50);
    poll_for(500);
    up_key_t *u = up_key(fx_s("c"), false);
    CHECK(u == NULL || u->n == 0);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.lag_entries, 50);
    runnel_sync_committed(&sy);
    produce("c", 20);            /* appended after the commit: held back */
    poll_for(500);
    u = up_key(fx_s("c"), false);
    CHECK(u != NULL && u->n == 50);
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.lag_entries, 20);
    CHECK_EQ_U64(st.skipped, 0);
    runnel_sync_committed(&sy);
    CHECK(drain(5000));
    check_mirror("c", "", 0);
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.forwarded, 70);
    CHECK_EQ_U64(st.skipped, 0);
}

static void test_auth_and_select(void)
{
    setup();
    up.user = "edge";
    up.password = "s3cret";
    scfg.user = "edge";
    scfg.password = "s3cret";
    scfg.upstream_db = 3;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("x", 40);
    CHECK(drain(5000));
    CHECK_STR(up.last_auth_user, "edge");
    check_mirror("x", "", 3);
    CHECK_EQ_U64(up.auth_fails, 0);

    /* A wrong password: the error is visible, the state says so, and the
     * retries back off (no reconnect storm). */
    setup();
    up.password = "right";
    scfg.password = "wrong";
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("y", 5);
    poll_for(2000);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK(strstr(st.last_error, "WRONGPASS") != NULL);
    CHECK(st.state == RUNNEL_SYNC_ERROR || st.state == RUNNEL_SYNC_CONNECTING ||
          st.state == RUNNEL_SYNC_AUTHENTICATING);
    /* 10 ms doubling to 200 ms, jittered: about a dozen tries in 2 s,
     * never hundreds. */
    CHECK(up.auth_fails >= 5 && up.auth_fails <= 30);
    CHECK_EQ_U64(st.forwarded, 0);
    CHECK_EQ_U64(st.lag_entries, 5);
}

/* WRONGTYPE on one key stops that stream with the error shown and skips
 * nothing; the other stream goes on; once the key is fixed it resumes. */
static void test_error_reply(void)
{
    setup();
    up_key_t *bad = up_key(fx_s("bad"), true);
    bad->wrongtype = true;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &scfg), 0);
    produce("good", 80);
    produce("bad", 80);
    poll_for(3000);
    runnel_sync_stats_t st;
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.streams_stopped, 1);
    CHECK(strstr(st.last_error, "WRONGTYPE") != NULL);
    CHECK_EQ_U64(st.lag_entries, 80);
    CHECK_EQ_U64(st.skipped, 0);
    check_mirror("good", "", 0);
    bool found = false;
    for (uint32_t i = 0; i < 4; i++) {
        runnel_sync_stream_stats_t ss;
        if (runnel_sync_stream_stats(&sy, i, &ss) == 0 && ss.key.len == 3) {
            found = true;
            CHECK(ss.stopped);
            CHECK(strstr(ss.error, "WRONGTYPE") != NULL);
            CHECK_EQ_U64(ss.lag_entries, 80);
            CHECK_EQ_U64(ss.forwarded, 0);
        }
    }
    CHECK(found);
    bad->wrongtype = false;   /* the operator fixed the key */
    CHECK(drain(5000));
    check_mirror("bad", "", 0);
    runnel_sync_stats(&sy, &st);
    CHECK_EQ_U64(st.skipped, 0);
    CHECK_EQ_U64(st.gaps, 0);
}

static void test_bad_config(void)
{
    setup();
    runnel_sync_config_t c = scfg;
    c.net = NULL;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &c), RUNNEL_ERR_INVAL);
    c = scfg;
    c.tx_size = 100;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &c), RUNNEL_ERR_INVAL);
    c = scfg;
    c.port = 0;
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &c), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(runnel_sync_poll(NULL, 1), RUNNEL_ERR_INVAL);
    /* A glob that matches nothing: nothing is forwarded. */
    c = scfg;
    c.match = "sensor:*";
    CHECK_EQ_INT(runnel_sync_init(&sy, fx.r, &c), 0);
    produce("other", 10);
    produce("sensor:1", 10);
    CHECK(drain(3000));
    CHECK(up_key(fx_s("other"), false) == NULL);
    check_mirror("sensor:1", "", 0);
}

TEST_MAIN(
    RUN(test_steady);
    RUN(test_faults);
    RUN(test_half_open);
    RUN(test_resume_from_upstream);
    RUN(test_skipped);
    RUN(test_dropped);
    RUN(test_committed_only);
    RUN(test_auth_and_select);
    RUN(test_error_reply);
    RUN(test_bad_config);
)
