/*
 * sync_upstream.h - a fake upstream Redis behind a scripted runnel_net_t,
 * for the forwarder's tests (test_sync.c, test_sync_powercut.c).
 *
 * It parses the commands the forwarder sends with the server-side RESP
 * reader and answers them as Redis 7.0 does for the few commands the
 * forwarder uses (AUTH, SELECT, XREVRANGE key + - COUNT 1, XADD key <id>
 * f v ..., MULTI / EXEC: commands queued, a command refused while queuing
 * makes EXEC answer EXECABORT, EXEC answers an array of the replies),
 * keeping the IDs it accepted and a checksum of each entry's
 * fields: a record of what arrived, compared with the local stream entry
 * by entry (up_mirror). A script decides the faults: refused connects,
 * connects that take several polls, sends and receives in random small
 * pieces, connections cut mid-batch (some commands executed, their replies
 * lost) and mid-reply, a stalled link (bytes taken, nothing answered), a
 * wrong password, WRONGTYPE keys, XADDs refused with OOM by arrival
 * number (as a real Redis near maxmemory refuses one command of a pipeline
 * and accepts the next), EXEC refused with OOM, MULTI refused. The upstream is another machine: a power
 * cut of the device leaves it as it was.
 *
 * Portable (static buffers): it runs on the host and on the Cortex-M3.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#ifndef SYNC_UPSTREAM_H
#define SYNC_UPSTREAM_H

#include <stdio.h>
#include <string.h>

#include "resp.h"
#include "runnel.h"
#include "runnel_port.h"
static inline runnel_str_t up_str(const char *s)
{
    runnel_str_t r = {s, strlen(s)};
    return r;
}

/* ------------------------------------------------------------------ */
/* The fake upstream                                                   */
/* ------------------------------------------------------------------ */

#define UP_KEYS 4
#define UP_ENTRIES 3000
#define UP_IN 8192
#define UP_OUT 8192
#define UP_MULTI_QUEUE 32768

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
    /* XADD commands (counted from 1 in arrival order, queued or not)
     * oom_from .. oom_from + oom_count - 1 are refused with OOM. */
    uint32_t oom_from, oom_count;
    uint32_t oom_execs;            /* the next N EXECs are refused with OOM */
    uint32_t refuse_multis;        /* the next N MULTIs are refused (NOPERM) */
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
    /* an open MULTI: the queued commands' bytes, re-parsed by EXEC */
    bool in_multi, multi_dirty;
    uint8_t mq[UP_MULTI_QUEUE];
    size_t mq_len;
    uint32_t mq_n;
    /* what happened */
    uint32_t connects, cuts, auth_fails, protocol_errors, over_capacity;
    uint32_t xadds_seen, oom_refused, execs, execaborts;
    char last_auth_user[32];
    /* data */
    up_key_t keys[UP_KEYS];
    uint32_t nkeys;
} fake_up_t;

static fake_up_t up;

static inline uint32_t up_rand(void)
{
    uint32_t x = up.rng != 0 ? up.rng : 12345u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    up.rng = x;
    return x;
}

static inline uint32_t fnv(uint32_t h, const void *p, size_t n)
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

static inline up_key_t *up_key(runnel_str_t k, bool create)
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

static inline bool arg_is(runnel_str_t a, const char *s)
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

static inline void up_exec(runnel_resp_writer_t *w, runnel_str_t *argv, size_t argc)
{
    if (argc >= 2 && arg_is(argv[0], "AUTH")) {
        runnel_str_t user = argc == 3 ? argv[1] : up_str("default");
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

#define UP_OOM_TEXT "OOM command not allowed when used memory > 'maxmemory'."

/* The maxmemory check Redis makes before running or queuing a command:
 * true (and the OOM error written) when the script refuses this XADD. */
static inline bool up_refuse_oom(runnel_resp_writer_t *w, runnel_str_t *argv, size_t argc)
{
    if (argc == 0 || !arg_is(argv[0], "XADD"))
        return false;
    up.xadds_seen++;
    if (up.oom_count == 0 || up.xadds_seen < up.oom_from ||
        up.xadds_seen - up.oom_from >= up.oom_count)
        return false;
    up.oom_refused++;
    runnel_resp_error(w, UP_OOM_TEXT, strlen(UP_OOM_TEXT));
    return true;
}

/* EXEC: every queued command run in order, their replies as one array. */
static inline void up_exec_queue(runnel_resp_writer_t *w)
{
    static runnel_str_t qargv[64];
    runnel_resp_cmd_state_t qst;
    size_t off = 0;
    up.execs++;
    runnel_resp_array(w, up.mq_n);
    for (uint32_t i = 0; i < up.mq_n; i++) {
        size_t argc = 0;
        const char *err = NULL;
        runnel_resp_cmd_reset(&qst);
        int rc = runnel_resp_parse_command(&qst, NULL, up.mq + off, up.mq_len - off, qargv, 64,
                                           &argc, &err);
        if (rc <= 0) {
            up.protocol_errors++;
            runnel_resp_error(w, "ERR fake queue corrupt", 22);
            continue;
        }
        off += (size_t)rc;
        up_exec(w, qargv, argc);
    }
    up.mq_len = 0;
    up.mq_n = 0;
}

/* MULTI, EXEC, and any command while MULTI is open (queued, or refused
 * while queuing, which dooms the EXEC); false = not ours, run it. */
static inline bool up_transaction(runnel_resp_writer_t *w, runnel_str_t *argv, size_t argc,
                                  const uint8_t *raw, size_t rawlen)
{
    if (arg_is(argv[0], "MULTI")) {
        if (up.refuse_multis > 0) {
            up.refuse_multis--;
            const char *e = "NOPERM this user has no permissions to run the 'multi' command";
            runnel_resp_error(w, e, strlen(e));
        } else if (up.in_multi) {
            runnel_resp_error(w, "ERR MULTI calls can not be nested", 33);
        } else {
            up.in_multi = true;
            up.multi_dirty = false;
            up.mq_len = 0;
            up.mq_n = 0;
            runnel_resp_simple(w, "OK", 2);
        }
        return true;
    }
    if (arg_is(argv[0], "EXEC")) {
        if (!up.in_multi) {
            runnel_resp_error(w, "ERR EXEC without MULTI", 22);
        } else if (up.multi_dirty) {
            up.execaborts++;
            const char *e = "EXECABORT Transaction discarded because of previous errors.";
            runnel_resp_error(w, e, strlen(e));
        } else if (up.oom_execs > 0) {
            up.oom_execs--;
            runnel_resp_error(w, UP_OOM_TEXT, strlen(UP_OOM_TEXT));
        } else {
            up_exec_queue(w);
        }
        up.in_multi = false;
        up.mq_len = 0;
        up.mq_n = 0;
        return true;
    }
    if (!up.in_multi)
        return false;
    if (up_refuse_oom(w, argv, argc)) {
        up.multi_dirty = true;
    } else if (rawlen > sizeof up.mq - up.mq_len) {
        up.multi_dirty = true;
        runnel_resp_error(w, "ERR fake MULTI queue full", 25);
    } else {
        memcpy(up.mq + up.mq_len, raw, rawlen);
        up.mq_len += rawlen;
        up.mq_n++;
        runnel_resp_simple(w, "QUEUED", 6);
    }
    return true;
}

/* Executes every complete command in `in`. */
static inline void up_process(void)
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
        if (argc != 0 && arg_is(argv[0], "EXEC") && up.in_multi && up.out_len != 0 &&
            up.out_len + 512 + 48 * (size_t)up.mq_n > UP_OUT)
            break;   /* EXEC's array needs room: like a socket, later */
        off += (size_t)rc;
        if (argc == 0)
            continue;
        runnel_resp_writer_t w;
        runnel_resp_writer_init(&w, up.out + up.out_len, UP_OUT - up.out_len, 2);
        if (!up_transaction(&w, argv, argc, up.in + off - (size_t)rc, (size_t)rc) &&
            !up_refuse_oom(&w, argv, argc))
            up_exec(&w, argv, argc);
        if (w.overflow)
            up.protocol_errors++;
        else
            up.out_len += w.len;
    }
    memmove(up.in, up.in + off, up.in_len - off);
    up.in_len -= off;
}

static inline void up_cut(void)
{
    up.connected = false;
    up.cuts++;
}

static inline bool maybe_cut(void)
{
    if (up.cut_permille != 0 && up_rand() % 1000 < up.cut_permille) {
        up_cut();
        return true;
    }
    return false;
}

static inline int net_connect(void *ctx, const char *host, uint16_t port)
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
    up.in_multi = false;   /* a transaction dies with its connection */
    up.db = 0;
    up.in_len = 0;
    up.out_len = up.out_off = 0;
    runnel_resp_cmd_reset(&up.pst);
    return 0;
}

static inline int net_send(void *ctx, const void *buf, size_t n)
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

static inline int net_recv(void *ctx, void *buf, size_t cap)
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

static inline void net_close(void *ctx)
{
    (void)ctx;
    up.connected = false;
}

static inline const char *net_strerror(void *ctx)
{
    (void)ctx;
    return "scripted fault";
}

static const runnel_net_t fake_net = {NULL, net_connect, net_send, net_recv, net_close,
                                      net_strerror};


typedef struct cmp_ctx {
    up_key_t *u;
    uint32_t i;
    uint32_t mismatches;
} cmp_ctx_t;

static inline int cmp_entry(void *ctx, const runnel_entry_t *e)
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

/* Compares the upstream key (prefix + key, in db) with the local stream of
 * r, entry by entry: IDs, order, fields. Returns the mismatches (a missing,
 * extra, duplicated or reordered entry counts) and sets *local to the
 * local entries. */
static inline uint32_t up_mirror(runnel_t *r, const char *key, const char *prefix, uint32_t db,
                          uint64_t *local)
{
    char uk[64];
    snprintf(uk, sizeof uk, "%s%s", prefix, key);
    uint32_t saved = up.db;
    up.db = db;
    runnel_str_t k = {uk, strlen(uk)}, lk = {key, strlen(key)};
    cmp_ctx_t c = {up_key(k, false), 0, 0};
    up.db = saved;
    int n = runnel_xrange(r, lk, RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, cmp_entry, &c);
    *local = n > 0 ? (uint64_t)n : 0;
    if (n < 0)
        c.mismatches++;
    if (c.u == NULL ? n > 0 : c.u->n != *local)
        c.mismatches++;
    return c.mismatches;
}

#endif /* SYNC_UPSTREAM_H */
