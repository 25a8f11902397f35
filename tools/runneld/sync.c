/*
 * sync.c - runneld's upstream forwarding: the sync-* directives, the
 * forwarder (core/sync.h) over a posix socket (port/posix/posix_net.h),
 * driven from the event loop, INFO sync, and the progress log lines.
 *
 * Directives (config file, --flag, CONFIG GET/SET):
 *   upstream <url>            redis://[[user]:password@]host:port[/db]
 *                             (redis-cli -u's form; rediss:// is refused:
 *                             no TLS yet); "" = no forwarding. Settable at
 *                             run time: the forwarder restarts with it.
 *   sync-keys <glob>          local keys forwarded (SCAN MATCH syntax), *
 *   sync-prefix <prefix>      upstream key = prefix + local key, ""
 *   sync-db <n>               local database whose keys are forwarded, 0
 *   sync-batch <n>            entries read per stream per batch, 1000
 *   sync-inflight-entries <n> XADDs awaiting replies at most, 16384
 *   sync-inflight-bytes <mem> their bytes at most, 4mb
 *   sync-backoff-min-ms <n>   first reconnect wait, 100
 *   sync-backoff-max-ms <n>   longest reconnect wait, 30000
 *   sync-reply-timeout-ms <n> a reply later than this drops the link, 5000
 *   sync-max-streams <n>      streams forwarded at most, 1024
 * Every directive but upstream takes effect at the next CONFIG SET
 * upstream (or start).
 *
 * Memory: the forwarder's buffers (a 1 MiB transmit buffer, a receive
 * buffer of 2 x max-key-len + 1 MiB, the slot and in-flight tables) are
 * malloc'd when forwarding starts and kept until exit.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "posix_net.h"
#include "runneld.h"
#include "sync.h"
#include "rd_sync.h"

typedef struct rd_sync_conf {
    char url[600];
    char host[256];
    uint16_t port;
    char user[128];
    char password[256];
    uint32_t upstream_db;
    char keys[256];
    char prefix[128];
    uint32_t local_db;
    uint32_t batch, inflight_entries, backoff_min, backoff_max, reply_timeout, max_streams;
    uint64_t inflight_bytes;
} rd_sync_conf_t;

static struct {
    bool defaults_set;
    rd_sync_conf_t conf;     /* as configured */
    rd_sync_conf_t live;     /* what the running forwarder was started with */
    bool active;
    bool restart;            /* CONFIG SET upstream: restart at the next tick */
    runnel_posix_net_t pn;
    runnel_net_t net;
    runnel_sync_t sync;
    uint8_t *tx, *rx;
    size_t tx_size, rx_size;
    runnel_sync_stream_t *slots;
    uint32_t slots_cap;
    runnel_sync_inflight_t *inflight;
    uint32_t inflight_cap;
    uint64_t registered_gen;
    uint64_t commits_seen;   /* the engine's commit count at the last mark */
    uint64_t dbsize_seen;    /* the forwarder's key count at the last mark */
    /* progress log */
    uint64_t prog_ms, prog_forwarded;
    bool draining;
    runnel_sync_state_t logged_state;
    char logged_error[RUNNEL_SYNC_ERR_MAX];
} g;

static void conf_defaults(rd_sync_conf_t *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->keys, "*");
    c->batch = 1000;
    c->inflight_entries = 16384;
    c->inflight_bytes = 4u << 20;
    c->backoff_min = 100;
    c->backoff_max = 30000;
    c->reply_timeout = 5000;
    c->max_streams = 1024;
}

static rd_sync_conf_t *conf(void)
{
    if (!g.defaults_set) {
        conf_defaults(&g.conf);
        g.defaults_set = true;
    }
    return &g.conf;
}

static bool parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Percent-decoding as redis-cli does for the user and password of -u. */
static bool url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end != '\0')
                return false;
            c = (char)v;
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* redis://[[user]:password@]host[:port][/db] into c. NULL or the error. */
static const char *parse_url(const char *url, rd_sync_conf_t *c)
{
    c->host[0] = c->user[0] = c->password[0] = '\0';
    c->port = 6379;
    c->upstream_db = 0;
    if (url[0] == '\0')
        return NULL;
    const char *p = url;
    if (!strncasecmp(p, "rediss://", 9))
        return "upstream: rediss:// (TLS) is not supported yet";
    if (!strncasecmp(p, "redis://", 8))
        p += 8;
    const char *at = strrchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL) {
            /* redis-cli: "redis://password@host" is a password alone. */
            if (!url_decode(p, (size_t)(at - p), c->password, sizeof c->password))
                return "upstream: password too long or badly encoded";
        } else {
            if (!url_decode(p, (size_t)(colon - p), c->user, sizeof c->user) ||
                !url_decode(colon + 1, (size_t)(at - colon - 1), c->password,
                            sizeof c->password))
                return "upstream: user or password too long or badly encoded";
        }
        p = at + 1;
    }
    const char *host_end;
    const char *rest;
    if (*p == '[') {   /* [v6 literal] */
        host_end = strchr(p, ']');
        if (host_end == NULL)
            return "upstream: unterminated [IPv6 address]";
        if ((size_t)(host_end - p - 1) >= sizeof c->host || host_end == p + 1)
            return "upstream: bad host";
        memcpy(c->host, p + 1, (size_t)(host_end - p - 1));
        c->host[host_end - p - 1] = '\0';
        rest = host_end + 1;
    } else {
        size_t hl = strcspn(p, ":/");
        if (hl == 0 || hl >= sizeof c->host)
            return "upstream: bad host";
        memcpy(c->host, p, hl);
        c->host[hl] = '\0';
        rest = p + hl;
    }
    if (*rest == ':') {
        char num[16];
        size_t nl = strcspn(rest + 1, "/");
        uint64_t v;
        if (nl == 0 || nl >= sizeof num)
            return "upstream: bad port";
        memcpy(num, rest + 1, nl);
        num[nl] = '\0';
        if (!parse_uint(num, 1, 65535, &v))
            return "upstream: bad port";
        c->port = (uint16_t)v;
        rest += 1 + nl;
    }
    if (*rest == '/') {
        uint64_t v;
        if (rest[1] != '\0') {
            if (!parse_uint(rest + 1, 0, 1000000, &v))
                return "upstream: bad database number";
            c->upstream_db = (uint32_t)v;
        }
    } else if (*rest != '\0') {
        return "upstream: expected redis://[[user]:password@]host:port[/db]";
    }
    return NULL;
}

bool rd_sync_is_directive(const char *name)
{
    return !strcasecmp(name, "upstream") || !strncasecmp(name, "sync-", 5);
}

const char *rd_sync_directive(int argc, char **argv)
{
    rd_sync_conf_t *c = conf();
    rd_sync_conf_t t = *c;
    const char *k = argv[0];
    uint64_t v;
    if (argc != 2)
        return "wrong number of arguments";
    const char *a = argv[1];
    if (!strcasecmp(k, "upstream")) {
        if (strlen(a) >= sizeof t.url)
            return "upstream: URL too long";
        const char *e = parse_url(a, &t);
        if (e != NULL)
            return e;
        strcpy(t.url, a);
    } else if (!strcasecmp(k, "sync-keys")) {
        if (strlen(a) >= sizeof t.keys)
            return "sync-keys: pattern too long";
        strcpy(t.keys, a);
    } else if (!strcasecmp(k, "sync-prefix")) {
        if (strlen(a) >= sizeof t.prefix)
            return "sync-prefix: too long";
        strcpy(t.prefix, a);
    } else if (!strcasecmp(k, "sync-db")) {
        if (!parse_uint(a, 0, 1000000, &v))
            return "Invalid sync-db";
        t.local_db = (uint32_t)v;
    } else if (!strcasecmp(k, "sync-batch")) {
        if (!parse_uint(a, 1, 1000000, &v))
            return "Invalid sync-batch";
        t.batch = (uint32_t)v;
    } else if (!strcasecmp(k, "sync-inflight-entries")) {
        if (!parse_uint(a, 3, 10000000, &v))
            return "Invalid sync-inflight-entries";
        t.inflight_entries = (uint32_t)v;
    } else if (!strcasecmp(k, "sync-inflight-bytes")) {
        if (!rd_parse_memory(a, &v) || v < 1024 || v > (1u << 30))
            return "Invalid sync-inflight-bytes";
        t.inflight_bytes = v;
    } else if (!strcasecmp(k, "sync-backoff-min-ms")) {
        if (!parse_uint(a, 1, 3600000, &v))
            return "Invalid sync-backoff-min-ms";
        t.backoff_min = (uint32_t)v;
    } else if (!strcasecmp(k, "sync-backoff-max-ms")) {
        if (!parse_uint(a, 1, 86400000, &v))
            return "Invalid sync-backoff-max-ms";
        t.backoff_max = (uint32_t)v;
    } else if (!strcasecmp(k, "sync-reply-timeout-ms")) {
        if (!parse_uint(a, 10, 3600000, &v))
            return "Invalid sync-reply-timeout-ms";
        t.reply_timeout = (uint32_t)v;
    } else if (!strcasecmp(k, "sync-max-streams")) {
        if (!parse_uint(a, 1, 65535, &v))
            return "Invalid sync-max-streams";
        t.max_streams = (uint32_t)v;
    } else {
        return "Bad directive or wrong number of arguments";
    }
    *c = t;
    return NULL;
}

const char *const rd_sync_names[] = {
    "upstream", "sync-keys", "sync-prefix", "sync-db", "sync-batch", "sync-inflight-entries",
    "sync-inflight-bytes", "sync-backoff-min-ms", "sync-backoff-max-ms", "sync-reply-timeout-ms",
    "sync-max-streams", NULL,
};

int rd_sync_config_get(const char *name, char *buf, size_t cap)
{
    const rd_sync_conf_t *c = conf();
    int n = -1;
    if (!strcmp(name, "upstream")) {
        /* Never the password: redis://user:***@host:port/db. */
        bool v6 = strchr(c->host, ':') != NULL;
        if (c->url[0] == '\0')
            n = snprintf(buf, cap, "%s", "");
        else
            n = snprintf(buf, cap, "redis://%s%s%s%s%s%s:%u/%u", c->user,
                         c->password[0] ? ":***" : "", c->user[0] || c->password[0] ? "@" : "",
                         v6 ? "[" : "", c->host, v6 ? "]" : "", (unsigned)c->port,
                         c->upstream_db);
    } else if (!strcmp(name, "sync-keys"))
        n = snprintf(buf, cap, "%s", c->keys);
    else if (!strcmp(name, "sync-prefix"))
        n = snprintf(buf, cap, "%s", c->prefix);
    else if (!strcmp(name, "sync-db"))
        n = snprintf(buf, cap, "%u", c->local_db);
    else if (!strcmp(name, "sync-batch"))
        n = snprintf(buf, cap, "%u", c->batch);
    else if (!strcmp(name, "sync-inflight-entries"))
        n = snprintf(buf, cap, "%u", c->inflight_entries);
    else if (!strcmp(name, "sync-inflight-bytes"))
        n = snprintf(buf, cap, "%llu", (unsigned long long)c->inflight_bytes);
    else if (!strcmp(name, "sync-backoff-min-ms"))
        n = snprintf(buf, cap, "%u", c->backoff_min);
    else if (!strcmp(name, "sync-backoff-max-ms"))
        n = snprintf(buf, cap, "%u", c->backoff_max);
    else if (!strcmp(name, "sync-reply-timeout-ms"))
        n = snprintf(buf, cap, "%u", c->reply_timeout);
    else if (!strcmp(name, "sync-max-streams"))
        n = snprintf(buf, cap, "%u", c->max_streams);
    if (n < 0)
        return -1;
    return (size_t)n < cap ? n : (int)cap;
}

int rd_sync_config_set(const char *name, const char *value, size_t vlen)
{
    char val[700];
    char namebuf[64];
    if (vlen >= sizeof val || memchr(value, '\0', vlen) != NULL)
        return RUNNEL_ERR_INVAL;
    memcpy(val, value, vlen);
    val[vlen] = '\0';
    snprintf(namebuf, sizeof namebuf, "%s", name);
    char *argv[2] = {namebuf, val};
    if (rd_sync_directive(2, argv) != NULL)
        return RUNNEL_ERR_INVAL;
    if (!strcmp(name, "upstream"))
        g.restart = true;
    return 0;
}

static void stop_forwarder(void)
{
    if (g.active) {
        runnel_sync_stop(&g.sync);
        g.active = false;
        rd_log(RD_LL_NOTICE, "Sync: forwarding stopped");
    }
}

static bool start_forwarder(rd_server_t *s)
{
    const rd_sync_conf_t *c = conf();
    g.live = *c;
    size_t rx = (size_t)s->cfg.max_key_len * 2 + (1u << 20);
    size_t tx = 1u << 20;
    if (g.tx == NULL || g.tx_size < tx) {
        free(g.tx);
        g.tx = malloc(tx);
        g.tx_size = tx;
    }
    if (g.rx == NULL || g.rx_size < rx) {
        free(g.rx);
        g.rx = malloc(rx);
        g.rx_size = rx;
    }
    if (g.slots == NULL || g.slots_cap < c->max_streams) {
        free(g.slots);
        g.slots = calloc(c->max_streams, sizeof *g.slots);
        g.slots_cap = c->max_streams;
    }
    if (g.inflight == NULL || g.inflight_cap < c->inflight_entries) {
        free(g.inflight);
        g.inflight = calloc(c->inflight_entries, sizeof *g.inflight);
        g.inflight_cap = c->inflight_entries;
    }
    if (g.tx == NULL || g.rx == NULL || g.slots == NULL || g.inflight == NULL) {
        rd_log(RD_LL_WARNING, "Sync: out of memory for the forwarder's buffers");
        return false;
    }
    runnel_posix_net_init(&g.pn, &g.net);
    g.registered_gen = 0;
    runnel_sync_config_t sc;
    memset(&sc, 0, sizeof sc);
    sc.net = &g.net;
    sc.host = g.live.host;
    sc.port = g.live.port;
    sc.user = g.live.user;
    sc.password = g.live.password;
    sc.upstream_db = g.live.upstream_db;
    sc.local_db = g.live.local_db;
    sc.match = g.live.keys;
    sc.key_prefix = g.live.prefix;
    sc.batch_entries = g.live.batch;
    sc.max_inflight_bytes = (uint32_t)g.live.inflight_bytes;
    sc.backoff_min_ms = g.live.backoff_min;
    sc.backoff_max_ms = g.live.backoff_max;
    sc.reply_timeout_ms = g.live.reply_timeout;
    sc.tx_buf = g.tx;
    sc.tx_size = g.tx_size;
    sc.rx_buf = g.rx;
    sc.rx_size = g.rx_size;
    sc.streams = g.slots;
    sc.streams_cap = g.live.max_streams;
    sc.inflight = g.inflight;
    sc.inflight_cap = g.live.inflight_entries;
    sc.seed = (uint32_t)rd_now_ms() ^ (uint32_t)getpid();
    /* A store file: forward only what it has synced (rd_sync_after_turn),
     * so a power cut cannot take back locally what the upstream holds. */
    sc.forward_committed_only = s->cfg.store_type == RD_STORE_FILE;
    g.commits_seen = UINT64_MAX;
    int rc = runnel_sync_init(&g.sync, s->store, &sc);
    if (rc != 0) {
        rd_log(RD_LL_WARNING, "Sync: the forwarder refused its configuration (%s)",
               runnel_strerror(rc));
        return false;
    }
    g.active = true;
    g.logged_state = RUNNEL_SYNC_IDLE;
    g.logged_error[0] = '\0';
    g.prog_ms = rd_now_ms();
    g.prog_forwarded = 0;
    g.draining = false;
    rd_log(RD_LL_NOTICE, "Sync: forwarding streams matching '%s' of db %u to %s:%u/%u%s%s",
           g.live.keys, g.live.local_db, g.live.host, (unsigned)g.live.port, g.live.upstream_db,
           g.live.prefix[0] ? " with key prefix " : "", g.live.prefix);
    return true;
}

/* State changes and errors once each, not once per retry. */
static void log_changes(void)
{
    runnel_sync_stats_t st;
    runnel_sync_stats(&g.sync, &st);
    if (st.state != g.logged_state) {
        if (st.state == RUNNEL_SYNC_SYNCING)
            rd_log(RD_LL_NOTICE, "Sync: connected to %s:%u", g.live.host, (unsigned)g.live.port);
        else if ((st.state == RUNNEL_SYNC_BACKOFF || st.state == RUNNEL_SYNC_ERROR) &&
                 strcmp(st.last_error, g.logged_error) != 0)
            rd_log(RD_LL_WARNING, "Sync: %s (retrying with backoff)", st.last_error);
        g.logged_state = st.state;
    }
    if (strcmp(st.last_error, g.logged_error) != 0) {
        if (st.state == RUNNEL_SYNC_SYNCING && st.last_error[0] != '\0')
            rd_log(RD_LL_WARNING, "Sync: %s", st.last_error);
        snprintf(g.logged_error, sizeof g.logged_error, "%s", st.last_error);
    }
    /* Progress while a backlog drains: every 5 s when something moved and
     * something is left. */
    uint64_t now = rd_now_ms();
    if (now - g.prog_ms >= 5000) {
        uint64_t moved = st.forwarded + st.duplicates - g.prog_forwarded;
        double secs = (double)(now - g.prog_ms) / 1000.0;
        double rate = (double)moved / secs;
        if (moved != 0 && st.lag_entries != 0) {
            g.draining = true;
            rd_log(RD_LL_NOTICE,
                   "Sync: %llu entries forwarded in %.1f s (%.0f/s), lag %llu entries "
                   "(~%llu bytes), about %.0f s left",
                   (unsigned long long)moved, secs, rate, (unsigned long long)st.lag_entries,
                   (unsigned long long)st.lag_bytes, rate > 0 ? (double)st.lag_entries / rate : 0.0);
        } else if (g.draining && st.lag_entries == 0) {
            g.draining = false;
            rd_log(RD_LL_NOTICE, "Sync: caught up (%llu entries forwarded in total)",
                   (unsigned long long)st.forwarded);
        }
        g.prog_ms = now;
        g.prog_forwarded = st.forwarded + st.duplicates;
    }
}

/* The socket in the event loop: a new connection's fd is added (edge
 * triggered, in and out), so replies and room to send wake the loop. */
static void register_fd(rd_server_t *s)
{
    int fd = runnel_posix_net_fd(&g.pn);
    if (fd < 0 || g.pn.generation == g.registered_gen)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
                             .data.u64 = RD_SYNC_TAG};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
        (void)epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
    g.registered_gen = g.pn.generation;
}

bool rd_sync_tick(rd_server_t *s, uint64_t now)
{
    if (g.restart) {
        g.restart = false;
        stop_forwarder();
    }
    if (!g.active) {
        if (conf()->url[0] == '\0' || s->store == NULL)
            return false;
        if (!start_forwarder(s)) {
            conf()->url[0] = '\0';   /* reported; do not retry every turn */
            return false;
        }
    }
    (void)runnel_sync_poll(&g.sync, now);
    register_fd(s);
    log_changes();
    return runnel_sync_more(&g.sync);
}

void rd_sync_after_turn(rd_server_t *s)
{
    if (!g.active || s->cfg.store_type != RD_STORE_FILE)
        return;
    /* The loop turn ends with the store's syncs (appendfsync always: after
     * the replies' writes; everysec: rd_store_tick). A commit in this turn
     * with nothing unsynced after it: every entry appended is durable. With
     * appendfsync no runneld never syncs and claims nothing: everything
     * appended is forwarded. */
    /* Nothing unsynced is what makes a mark true; a new commit or a new
     * stream is what makes it worth taking. */
    runnel_stats_t st;
    runnel_stats(s->store, &st);
    bool mark = s->cfg.commit_policy == RUNNEL_COMMIT_NONE ||
                (!s->unsynced && (st.commits != g.commits_seen ||
                                  g.sync.scan_dbsize != g.dbsize_seen));
    if (mark) {
        g.commits_seen = st.commits;
        runnel_sync_committed(&g.sync);
        g.dbsize_seen = g.sync.scan_dbsize;
    }
}

static void sanitize(char *dst, size_t cap, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = src[i];
        dst[o++] = (c == '\r' || c == '\n' || c == ',' || c == ':' || c == '=') ? '_' : c;
    }
    dst[o] = '\0';
}

size_t rd_sync_info(rd_server_t *s, char *buf, size_t cap)
{
    (void)s;
    size_t o = 0;
#define LINE(...)                                                           \
    do {                                                                    \
        if (o < cap) {                                                      \
            int n_ = snprintf(buf + o, cap - o, __VA_ARGS__);               \
            o += n_ > 0 ? (size_t)n_ : 0;                                   \
        }                                                                   \
    } while (0)
    if (!g.active) {
        LINE("sync_state:%s\r\nsync_upstream:\r\n", conf()->url[0] ? "idle" : "off");
        return o < cap ? o : cap;
    }
    runnel_sync_stats_t st;
    runnel_sync_stats(&g.sync, &st);
    LINE("sync_state:%s\r\n", runnel_sync_state_name(st.state));
    LINE("sync_upstream:%s:%u/%u\r\n", g.live.host, (unsigned)g.live.port, g.live.upstream_db);
    LINE("sync_streams:%u\r\nsync_streams_stopped:%u\r\n", st.streams, st.streams_stopped);
    LINE("sync_lag_entries:%llu\r\nsync_lag_bytes:%llu\r\n", (unsigned long long)st.lag_entries,
         (unsigned long long)st.lag_bytes);
    LINE("sync_forwarded_entries:%llu\r\nsync_forwarded_bytes:%llu\r\n",
         (unsigned long long)st.forwarded, (unsigned long long)st.forwarded_bytes);
    LINE("sync_duplicates_acked:%llu\r\nsync_skipped_entries:%llu\r\n"
         "sync_dropped_entries:%llu\r\nsync_gap_entries:%llu\r\n",
         (unsigned long long)st.duplicates, (unsigned long long)st.skipped,
         (unsigned long long)st.dropped, (unsigned long long)st.gaps);
    LINE("sync_inflight_entries:%llu\r\nsync_inflight_bytes:%llu\r\n",
         (unsigned long long)st.inflight_entries, (unsigned long long)st.inflight_bytes);
    LINE("sync_connects:%llu\r\nsync_reconnects:%llu\r\nsync_bytes_sent:%llu\r\n",
         (unsigned long long)st.connects, (unsigned long long)st.reconnects,
         (unsigned long long)st.bytes_sent);
    LINE("sync_rtt_ms:%llu\r\nsync_cursor_saves:%llu\r\n", (unsigned long long)st.rtt_ms,
         (unsigned long long)st.cursor_saves);
    LINE("sync_cursor_save_failures:%llu\r\nsync_cursor_save_last_failure:%s\r\n",
         (unsigned long long)st.cursor_save_failures,
         st.cursor_save_error != 0 ? runnel_strerror(st.cursor_save_error) : "");
    LINE("sync_last_error:%s\r\nsync_last_error_time:%llu\r\n", st.last_error,
         (unsigned long long)(st.last_error_ms / 1000));
    /* One line per stream (the first 64): key, cursor, lag, counters and
     * its own error. */
    uint32_t shown = 0;
    for (uint32_t i = 0; i < g.live.max_streams && shown < 64; i++) {
        runnel_sync_stream_stats_t ss;
        if (runnel_sync_stream_stats(&g.sync, i, &ss) != 0)
            continue;
        char key[RUNNEL_SYNC_KEY_MAX + 1], serr[RUNNEL_SYNC_ERR_MAX];
        sanitize(key, sizeof key, ss.key.p, ss.key.len);
        sanitize(serr, sizeof serr, ss.error, strlen(ss.error));
        LINE("sync_stream%u:key=%s,cursor=%llu-%llu,saved=%llu-%llu,restored=%d,lag=%llu,"
             "forwarded=%llu,duplicates=%llu,skipped=%llu,dropped=%llu,stopped=%d,error=%s\r\n",
             shown, key, (unsigned long long)ss.cursor.ms, (unsigned long long)ss.cursor.seq,
             (unsigned long long)ss.saved_cursor.ms, (unsigned long long)ss.saved_cursor.seq,
             ss.restored ? 1 : 0, (unsigned long long)ss.lag_entries,
             (unsigned long long)ss.forwarded, (unsigned long long)ss.duplicates,
             (unsigned long long)ss.skipped, (unsigned long long)ss.dropped, ss.stopped ? 1 : 0,
             serr);
        shown++;
    }
#undef LINE
    return o < cap ? o : cap;
}
