/*
 * cmd_block.c - blocked XREAD / XREADGROUP: parking a client, waking it
 * when one of its keys becomes ready, timing it out, and forgetting it when
 * its connection closes (docs/redis-streams-7.0.md, section 10).
 *
 * A blocked request is copied into the client's block_buf, so the host may
 * reuse its query buffer at once:
 *     [u32 group len][group][u32 consumer len][consumer]
 *     nkeys x [u32 key len][key][u64 after.ms][u64 after.seq][u8 new_entries]
 * (little-endian, byte codecs: block_buf has no alignment promise).
 *
 * Blocked clients form one FIFO in block order (server->blocked_head ...).
 * The engine reports key events through runnel_cmd_notify, which records
 * the ready keys; after each command (or whole EXEC) the host calls
 * runnel_cmd_serve_ready, which visits, for each ready key in signal
 * order, the blocked clients waiting on it, oldest first. As in Redis 7.0:
 *   - key is a stream: an XREADGROUP client whose group is gone gets
 *     NOGROUP; otherwise the client is served iff the stream's last_id (the
 *     last generated ID, not the newest live one) is greater than its
 *     threshold ("$" resolved at block time, ">" = the group's last
 *     delivered ID now). Serving a group reader advances the group, so one
 *     XADD usually wakes one reader per group.
 *   - key is gone: XREADGROUP clients get UNBLOCKED, XREAD clients wait on.
 * A served client gets a reply for that one key only.
 */
#include <string.h>

#include "cmd_stream.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* The request in block_buf                                            */
/* ------------------------------------------------------------------ */

typedef struct block_key {
    runnel_str_t key;
    runnel_id_t after;
    bool new_entries;
} block_key_t;

static runnel_str_t get_name(const uint8_t *buf, size_t *at)
{
    runnel_str_t s;
    s.len = runnel__get_le32(buf + *at);
    s.p = (const char *)buf + *at + 4;
    *at += 4 + s.len;
    return s;
}

static void get_names(const runnel_client_t *c, runnel_str_t *group, runnel_str_t *consumer,
                      size_t *keys_at)
{
    size_t at = 0;
    *group = get_name(c->block_buf, &at);
    *consumer = get_name(c->block_buf, &at);
    *keys_at = at;
}

static void get_key(const runnel_client_t *c, size_t *at, block_key_t *k)
{
    k->key = get_name(c->block_buf, at);
    k->after.ms = runnel__get_le64(c->block_buf + *at);
    k->after.seq = runnel__get_le64(c->block_buf + *at + 8);
    k->new_entries = c->block_buf[*at + 16] != 0;
    *at += 17;
}

static void put_name(uint8_t *buf, size_t *at, runnel_str_t s)
{
    runnel__put_le32(buf + *at, (uint32_t)s.len);
    if (s.len)
        memcpy(buf + *at + 4, s.p, s.len);
    *at += 4 + s.len;
}

/* ------------------------------------------------------------------ */
/* FIFO                                                                */
/* ------------------------------------------------------------------ */

static void fifo_append(runnel_server_t *s, runnel_client_t *c)
{
    c->block_next = NULL;
    c->block_prev = s->blocked_tail;
    if (s->blocked_tail)
        s->blocked_tail->block_next = c;
    else
        s->blocked_head = c;
    s->blocked_tail = c;
    s->blocked_count++;
}

static void unblock(runnel_server_t *s, runnel_client_t *c)
{
    if (!c->block.active)
        return;
    if (c->block_prev)
        c->block_prev->block_next = c->block_next;
    else
        s->blocked_head = c->block_next;
    if (c->block_next)
        c->block_next->block_prev = c->block_prev;
    else
        s->blocked_tail = c->block_prev;
    c->block_prev = c->block_next = NULL;
    c->block.active = false;
    if (s->blocked_count)
        s->blocked_count--;
}

/* Redis 7.0 counts a blocked command's call when it unblocks. */
static void finish(runnel_server_t *s, runnel_client_t *c, bool failed)
{
    size_t n = runnel_cmd_count();
    if (c->block.stat_index < n) {
        runnel_cmdstat_t *st = &s->cmdstats[c->block.stat_index];
        st->calls++;
        if (failed)
            st->failed_calls++;
    }
    s->total_commands++;
    unblock(s, c);
    if (s->ops && s->ops->client_woken)
        s->ops->client_woken(s->ops->ctx, c);
}

/* ------------------------------------------------------------------ */
/* Blocking                                                            */
/* ------------------------------------------------------------------ */

runnel_cmd_result_t runnel__block_client(runnel_cmd_t *cmd, int streams_arg, int nkeys,
                                         bool group_read, runnel_str_t group,
                                         runnel_str_t consumer, int64_t count, bool noack,
                                         uint64_t timeout_ms)
{
    runnel_client_t *c = cmd->client;
    runnel_server_t *s = cmd->srv;
    size_t need = 8 + group.len + consumer.len;

    for (int k = 0; k < nkeys; k++) {
        size_t klen = cmd->argv[streams_arg + k].len;
        if (klen > UINT32_MAX || need > SIZE_MAX - 21 - klen)
            need = SIZE_MAX;
        else
            need += 21 + klen;
    }
    if (c->block_buf == NULL || need > c->block_cap || group.len > UINT32_MAX ||
        consumer.len > UINT32_MAX) {
        CMD_ERR_LIT(cmd, "ERR runnel limit reached: blocking request larger than a client may hold (client-max-memory, maxmemory-clients)");
        return RUNNEL_CMD_DONE;
    }

    size_t at = 0;
    put_name(c->block_buf, &at, group);
    put_name(c->block_buf, &at, consumer);
    for (int k = 0; k < nkeys; k++) {
        runnel_str_t key = cmd->argv[streams_arg + k];
        runnel_str_t ida = cmd->argv[streams_arg + nkeys + k];
        runnel_id_t after = {0, 0};
        bool gt = false;
        if (ida.len == 1 && ida.p[0] == '$') {
            runnel_stream_info_t info;
            if (runnel_stream_info(cmd->r, key, &info) == 0)
                after = info.last_id;
        } else if (group_read && runnel__xreadgroup_wants_new(ida)) {
            gt = true;
        } else {
            (void)runnel__parse_strict_id(ida, &after);
        }
        put_name(c->block_buf, &at, key);
        runnel__put_le64(c->block_buf + at, after.ms);
        runnel__put_le64(c->block_buf + at + 8, after.seq);
        c->block_buf[at + 16] = gt ? 1 : 0;
        at += 17;
    }

    memset(&c->block, 0, sizeof c->block);
    c->block.active = true;
    c->block.group_read = group_read;
    c->block.noack = noack;
    c->block.count = count;
    c->block.since_ms = cmd->now_ms;
    c->block.deadline_ms = timeout_ms == 0 ? 0
                         : (cmd->now_ms > UINT64_MAX - timeout_ms ? UINT64_MAX
                                                                  : cmd->now_ms + timeout_ms);
    c->block.db = c->db;
    c->block.nkeys = (uint32_t)nkeys;
    c->block.stat_index = (uint32_t)cmd->stat_index;
    fifo_append(s, c);
    return RUNNEL_CMD_BLOCKED;
}

/* WAIT numreplicas timeout with replicas wanted and none to ask: Redis
 * blocks the client until the timeout (forever for 0) and then answers the
 * number that acknowledged, 0 here. No keys, so nothing serves it early. */
runnel_cmd_result_t runnel__block_wait(runnel_cmd_t *cmd, uint64_t timeout_ms)
{
    runnel_client_t *c = cmd->client;
    memset(&c->block, 0, sizeof c->block);
    c->block.active = true;
    c->block.wait_replicas = true;
    c->block.since_ms = cmd->now_ms;
    c->block.deadline_ms = timeout_ms == 0 ? 0
                         : (cmd->now_ms > UINT64_MAX - timeout_ms ? UINT64_MAX
                                                                  : cmd->now_ms + timeout_ms);
    c->block.db = c->db;
    c->block.stat_index = (uint32_t)cmd->stat_index;
    fifo_append(cmd->srv, c);
    return RUNNEL_CMD_BLOCKED;
}

/* ------------------------------------------------------------------ */
/* Serving                                                             */
/* ------------------------------------------------------------------ */

typedef struct group_find {
    runnel_str_t name;
    bool found;
    runnel_id_t last_id;
} group_find_t;

static int group_find_fn(void *ctx, const runnel_group_info_t *g)
{
    group_find_t *f = ctx;
    if (g->name.len == f->name.len && memcmp(g->name.p, f->name.p, g->name.len) == 0) {
        f->found = true;
        f->last_id = g->last_id;
    }
    return 0;
}

static void error_reply(runnel_server_t *s, runnel_client_t *c, int code)
{
    const char *t = runnel_strerror(code);
    runnel__server_error_reply(s, &c->out, t, strlen(t));
}

/* Tries to serve client c from one of its keys. Returns true when the
 * client got a reply (served or errored) and left the FIFO. */
static bool try_serve_key(runnel_server_t *s, runnel_client_t *c, const block_key_t *k)
{
    runnel_t *r = s->store;
    runnel_stream_info_t info;
    runnel_str_t group, consumer;
    size_t keys_at;
    runnel_resp_writer_t *w = &c->out;

    get_names(c, &group, &consumer, &keys_at);
    (void)runnel_select(r, c->block.db);
    int rc = runnel_stream_info(r, k->key, &info);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY) {
        if (!c->block.group_read)
            return false;
        error_reply(s, c, RUNNEL_ERR_UNBLOCKED);
        finish(s, c, true);
        return true;
    }
    if (rc < 0)
        return false;

    runnel_id_t threshold = k->after;
    if (c->block.group_read) {
        group_find_t f;
        memset(&f, 0, sizeof f);
        f.name = group;
        rc = runnel_groups(r, k->key, group_find_fn, &f);
        if (rc < 0)
            return false;
        if (!f.found) {
            error_reply(s, c, RUNNEL_ERR_NOGROUP_BLOCKED);
            finish(s, c, true);
            return true;
        }
        if (k->new_entries)
            threshold = f.last_id;
    }
    if (runnel_id_cmp(info.last_id, threshold) <= 0)
        return false;

    int64_t count = c->block.count > 0 ? c->block.count : 1000;
    size_t start = w->len;
    if (w->proto == 3)
        runnel_resp_map(w, 1);
    else
        runnel_resp_array(w, 1);
    runnel__read_key_header(w, k->key);
    size_t mark = runnel_resp_defer(w);
    if (c->block.group_read) {
        runnel_xreadgroup_args_t ga;
        memset(&ga, 0, sizeof ga);
        ga.key = k->key;
        ga.group = group;
        ga.consumer = consumer;
        ga.new_entries = k->new_entries;
        ga.after = k->after;
        ga.count = count;
        ga.noack = c->block.noack;
        rc = runnel_xreadgroup(r, &ga, runnel__write_entry, w);
    } else {
        rc = runnel_xread(r, k->key, threshold, count, runnel__write_entry, w);
    }
    if (rc < 0) {
        runnel__rollback(w, start);
        error_reply(s, c, rc);
        finish(s, c, true);
        return true;
    }
    runnel_resp_defer_array(w, mark, (size_t)rc);
    finish(s, c, false);
    return true;
}

static bool client_waits_on(const runnel_client_t *c, uint32_t db, runnel_str_t key,
                            block_key_t *out)
{
    runnel_str_t g, cons;
    size_t at;
    if (c->block.db != db || c->block.wait_replicas)
        return false;
    get_names(c, &g, &cons, &at);
    for (uint32_t i = 0; i < c->block.nkeys; i++) {
        block_key_t k;
        get_key(c, &at, &k);
        if (k.key.len == key.len && memcmp(k.key.p, key.p, key.len) == 0) {
            *out = k;
            return true;
        }
    }
    return false;
}

/* Ready keys lost to a full ready_buf: every blocked client tries each of
 * its keys, in FIFO order. Slower, same outcome. */
static void serve_all(runnel_server_t *s)
{
    runnel_client_t *c = s->blocked_head;
    while (c) {
        runnel_client_t *next = c->block_next;
        runnel_str_t g, cons;
        size_t at;
        if (c->block.wait_replicas) {
            c = next;
            continue;
        }
        get_names(c, &g, &cons, &at);
        for (uint32_t i = 0; i < c->block.nkeys; i++) {
            block_key_t k;
            get_key(c, &at, &k);
            if (try_serve_key(s, c, &k))
                break;
        }
        c = next;
    }
}

void runnel_cmd_serve_ready(runnel_server_t *s)
{
    if (s == NULL)
        return;
    uint32_t db_before = runnel_current_db(s->store);
    size_t at = 0;
    while (s->blocked_count > 0) {
        if (s->ready_overflow) {
            s->ready_overflow = false;
            serve_all(s);
            continue;
        }
        if (at + 8 > s->ready_len)
            break;
        uint32_t db = runnel__get_le32(s->ready_buf + at);
        runnel_str_t key;
        key.len = runnel__get_le32(s->ready_buf + at + 4);
        key.p = (const char *)s->ready_buf + at + 8;
        at += 8 + key.len;

        runnel_client_t *c = s->blocked_head;
        while (c) {
            runnel_client_t *next = c->block_next;
            block_key_t k;
            if (client_waits_on(c, db, key, &k))
                (void)try_serve_key(s, c, &k);
            c = next;
        }
    }
    s->ready_len = 0;
    s->ready_overflow = false;
    (void)runnel_select(s->store, db_before);
}

/* ------------------------------------------------------------------ */
/* Timeouts and disconnects                                            */
/* ------------------------------------------------------------------ */

void runnel_cmd_expire_blocked(runnel_server_t *s, uint64_t now_ms)
{
    if (s == NULL)
        return;
    runnel_client_t *c = s->blocked_head;
    while (c) {
        runnel_client_t *next = c->block_next;
        if (c->block.deadline_ms != 0 && c->block.deadline_ms <= now_ms) {
            if (c->block.wait_replicas)
                runnel_resp_int(&c->out, 0);
            else
                runnel_resp_null_array(&c->out);
            finish(s, c, false);
        }
        c = next;
    }
}

uint64_t runnel_cmd_next_deadline(const runnel_server_t *s)
{
    uint64_t best = 0;
    if (s == NULL)
        return 0;
    for (const runnel_client_t *c = s->blocked_head; c; c = c->block_next)
        if (c->block.deadline_ms != 0 && (best == 0 || c->block.deadline_ms < best))
            best = c->block.deadline_ms;
    return best;
}

void runnel_cmd_client_closed(runnel_server_t *s, runnel_client_t *c)
{
    if (s == NULL || c == NULL)
        return;
    unblock(s, c);
    runnel__cmd_unwatch(s, c);
    if (c->monitor && s->monitors > 0)
        s->monitors--;
    c->monitor = false;
}
