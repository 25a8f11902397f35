/*
 * cmd_stream_info.c - XINFO STREAM [FULL [COUNT n]], XINFO GROUPS,
 * XINFO CONSUMERS, XINFO HELP (docs/redis-streams-7.0.md, section 9).
 *
 * Replies are maps (RESP3) that degrade to flat name/value arrays (RESP2),
 * field names and order as in Redis 7.0.15.
 *
 * XINFO STREAM FULL nests groups -> consumers -> pending entries. Rather
 * than calling back into the engine from inside its own callbacks, the
 * group list (and then each group's consumer list) is first copied into
 * the client's block_buf (free while the client is not blocked), and the
 * nested lists are fetched one call at a time.
 */
#include <string.h>

#include "cmd_stream.h"
#include "util.h"

static const char *const xinfo_help[] = {
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
};

runnel_cmd_result_t runnel__cmd_xinfo_help(runnel_cmd_t *cmd)
{
    RUNNEL__CMD_HELP(cmd, "XINFO", xinfo_help);
    return RUNNEL_CMD_DONE;
}

static void field(runnel_resp_writer_t *w, const char *name)
{
    runnel_resp_bulk(w, name, strlen(name));
}

static void engine_error(runnel_cmd_t *cmd, int rc)
{
    if (rc == RUNNEL_ERR_NOGROUP_FOR_KEY && cmd->argc > 3)
        runnel__cmd_error_fmt(cmd, rc, cmd->argv[3], cmd->argv[2]);
    else
        runnel__cmd_error(cmd, rc);
}

/* ------------------------------------------------------------------ */
/* XINFO GROUPS / CONSUMERS                                            */
/* ------------------------------------------------------------------ */

typedef struct list_ctx {
    runnel_resp_writer_t *w;
    size_t n;
} list_ctx_t;

static void entries_read_or_nil(runnel_resp_writer_t *w, bool has, uint64_t v)
{
    if (has)
        runnel_resp_int(w, (int64_t)v);
    else
        runnel_resp_null(w);
}

static int group_fn(void *ctx, const runnel_group_info_t *g)
{
    list_ctx_t *l = ctx;
    runnel_resp_writer_t *w = l->w;
    l->n++;
    runnel_resp_map(w, 6);
    field(w, "name");
    runnel_resp_bulk(w, g->name.p, g->name.len);
    field(w, "consumers");
    runnel_resp_int(w, (int64_t)g->consumers);
    field(w, "pending");
    runnel_resp_int(w, (int64_t)g->pending);
    field(w, "last-delivered-id");
    runnel_resp_bulk_id(w, g->last_id);
    field(w, "entries-read");
    entries_read_or_nil(w, g->has_entries_read, g->entries_read);
    field(w, "lag");
    entries_read_or_nil(w, g->has_lag, g->lag);
    return 0;
}

runnel_cmd_result_t runnel__cmd_xinfo_groups(runnel_cmd_t *cmd)
{
    runnel_resp_writer_t *w = cmd->w;
    size_t before = w->len;
    size_t mark = runnel_resp_defer(w);
    list_ctx_t l = {w, 0};
    int rc = runnel_groups(cmd->r, cmd->argv[2], group_fn, &l);
    if (rc < 0) {
        runnel__rollback(w, before);
        engine_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    runnel_resp_defer_array(w, mark, l.n);
    return RUNNEL_CMD_DONE;
}

static int consumer_fn(void *ctx, const runnel_consumer_info_t *c)
{
    list_ctx_t *l = ctx;
    runnel_resp_writer_t *w = l->w;
    l->n++;
    runnel_resp_map(w, 3);
    field(w, "name");
    runnel_resp_bulk(w, c->name.p, c->name.len);
    field(w, "pending");
    runnel_resp_int(w, (int64_t)c->pending);
    field(w, "idle");
    runnel_resp_int(w, (int64_t)c->idle_ms);
    return 0;
}

runnel_cmd_result_t runnel__cmd_xinfo_consumers(runnel_cmd_t *cmd)
{
    runnel_resp_writer_t *w = cmd->w;
    size_t before = w->len;
    size_t mark = runnel_resp_defer(w);
    list_ctx_t l = {w, 0};
    int rc = runnel_consumers(cmd->r, cmd->argv[2], cmd->argv[3], consumer_fn, &l);
    if (rc < 0) {
        runnel__rollback(w, before);
        engine_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    runnel_resp_defer_array(w, mark, l.n);
    return RUNNEL_CMD_DONE;
}

/* ------------------------------------------------------------------ */
/* XINFO STREAM                                                        */
/* ------------------------------------------------------------------ */

/* Writes the one entry it is given without an array around it
 * (first-entry / last-entry). */
static int single_entry_fn(void *ctx, const runnel_entry_t *e)
{
    runnel_resp_entry((runnel_resp_writer_t *)ctx, e);
    return 0;
}

static int count_entry_fn(void *ctx, const runnel_entry_t *e)
{
    list_ctx_t *l = ctx;
    l->n++;
    runnel_resp_entry(l->w, e);
    return 0;
}

static void stream_head(runnel_resp_writer_t *w, const runnel_stream_info_t *si)
{
    field(w, "length");
    runnel_resp_int(w, (int64_t)si->length);
    field(w, "radix-tree-keys");
    runnel_resp_int(w, (int64_t)si->nodes);
    /* rax-internal in Redis; keys + 1 matches it for small streams. */
    field(w, "radix-tree-nodes");
    runnel_resp_int(w, (int64_t)si->nodes + 1);
    field(w, "last-generated-id");
    runnel_resp_bulk_id(w, si->last_id);
    field(w, "max-deleted-entry-id");
    runnel_resp_bulk_id(w, si->max_deleted);
    field(w, "entries-added");
    runnel_resp_int(w, (int64_t)si->entries_added);
    field(w, "recorded-first-entry-id");
    runnel_resp_bulk_id(w, si->first_id);
    /* Ours, not Redis's: entries the full-ring DROP_OLDEST policy removed.
     * Shown only once something was dropped, so a stream that never lost
     * data replies exactly as Redis does (clients read these as maps). */
    if (si->dropped > 0) {
        field(w, "dropped-entries");
        runnel_resp_int(w, (int64_t)si->dropped);
    }
}

/* Pairs stream_head() adds beyond Redis's fixed set. */
static size_t extra_pairs(const runnel_stream_info_t *si)
{
    return si->dropped > 0 ? 1 : 0;
}

/* ---- scratch list of names (+ fixed fields) in block_buf ---- */

typedef struct scratch {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
    size_t n;
} scratch_t;

static void sc_put(scratch_t *s, const void *p, size_t n)
{
    if (s->overflow || n > s->cap - s->len) {
        s->overflow = true;
        return;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void sc_u64(scratch_t *s, uint64_t v)
{
    uint8_t b[8];
    runnel__put_le64(b, v);
    sc_put(s, b, 8);
}

static void sc_str(scratch_t *s, runnel_str_t str)
{
    sc_u64(s, str.len);
    sc_put(s, str.p, str.len);
}

static uint64_t sc_get_u64(const uint8_t *buf, size_t *at)
{
    uint64_t v = runnel__get_le64(buf + *at);
    *at += 8;
    return v;
}

static runnel_str_t sc_get_str(const uint8_t *buf, size_t *at)
{
    runnel_str_t s;
    s.len = (size_t)sc_get_u64(buf, at);
    s.p = (const char *)buf + *at;
    *at += s.len;
    return s;
}

/* Group record: name, last_id.ms, last_id.seq, has_er, er, has_lag, lag, pending */
static int collect_group_fn(void *ctx, const runnel_group_info_t *g)
{
    scratch_t *s = ctx;
    sc_str(s, g->name);
    sc_u64(s, g->last_id.ms);
    sc_u64(s, g->last_id.seq);
    sc_u64(s, g->has_entries_read);
    sc_u64(s, g->entries_read);
    sc_u64(s, g->has_lag);
    sc_u64(s, g->lag);
    sc_u64(s, g->pending);
    s->n++;
    return 0;
}

/* Consumer record: name, seen_time, pending */
static int collect_consumer_fn(void *ctx, const runnel_consumer_info_t *c)
{
    scratch_t *s = ctx;
    sc_str(s, c->name);
    sc_u64(s, c->seen_time_ms);
    sc_u64(s, c->pending);
    s->n++;
    return 0;
}

typedef struct pel_ctx {
    runnel_resp_writer_t *w;
    size_t n;
    bool with_consumer;
} pel_ctx_t;

static int pel_fn(void *ctx, const runnel_pending_t *p)
{
    pel_ctx_t *pc = ctx;
    runnel_resp_writer_t *w = pc->w;
    pc->n++;
    runnel_resp_array(w, pc->with_consumer ? 4 : 3);
    runnel_resp_bulk_id(w, p->id);
    if (pc->with_consumer)
        runnel_resp_bulk(w, p->consumer.p, p->consumer.len);
    runnel_resp_int(w, (int64_t)p->delivery_time_ms);
    runnel_resp_int(w, (int64_t)p->delivery_count);
    return 0;
}

static int pel_list(runnel_cmd_t *cmd, runnel_str_t group, runnel_str_t consumer, int64_t count,
                    bool with_consumer)
{
    runnel_resp_writer_t *w = cmd->w;
    size_t mark = runnel_resp_defer(w);
    pel_ctx_t pc = {w, 0, with_consumer};
    int rc = runnel_xpending(cmd->r, cmd->argv[2], group, RUNNEL_ID_MIN, RUNNEL_ID_MAX, count, -1,
                             consumer, pel_fn, &pc);
    if (rc < 0)
        return rc;
    runnel_resp_defer_array(w, mark, pc.n);
    return 0;
}

static const char scratch_full[] =
    "ERR runnel limit reached: XINFO STREAM FULL needs more memory than a client may hold (client-max-memory, maxmemory-clients)";

static int stream_full(runnel_cmd_t *cmd, const runnel_stream_info_t *si, int64_t count)
{
    runnel_resp_writer_t *w = cmd->w;
    runnel_str_t key = cmd->argv[2];
    int64_t limit = count == 0 ? INT64_MAX : count;
    int rc;

    runnel_resp_map(w, 9 + extra_pairs(si));
    stream_head(w, si);

    field(w, "entries");
    size_t mark = runnel_resp_defer(w);
    list_ctx_t l = {w, 0};
    rc = runnel_xrange(cmd->r, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, limit, false, count_entry_fn, &l);
    if (rc < 0)
        return rc;
    runnel_resp_defer_array(w, mark, l.n);

    scratch_t gs = {cmd->client->block_buf, cmd->client->block_cap, 0, false, 0};
    if (gs.buf == NULL)
        gs.cap = 0;
    rc = runnel_groups(cmd->r, key, collect_group_fn, &gs);
    if (rc < 0)
        return rc;
    if (gs.overflow)
        return 1;

    field(w, "groups");
    runnel_resp_array(w, gs.n);
    size_t at = 0;
    for (size_t g = 0; g < gs.n; g++) {
        runnel_str_t name = sc_get_str(gs.buf, &at);
        runnel_id_t last;
        last.ms = sc_get_u64(gs.buf, &at);
        last.seq = sc_get_u64(gs.buf, &at);
        bool has_er = sc_get_u64(gs.buf, &at) != 0;
        uint64_t er = sc_get_u64(gs.buf, &at);
        bool has_lag = sc_get_u64(gs.buf, &at) != 0;
        uint64_t lag = sc_get_u64(gs.buf, &at);
        uint64_t pending = sc_get_u64(gs.buf, &at);

        runnel_resp_map(w, 7);
        field(w, "name");
        runnel_resp_bulk(w, name.p, name.len);
        field(w, "last-delivered-id");
        runnel_resp_bulk_id(w, last);
        field(w, "entries-read");
        entries_read_or_nil(w, has_er, er);
        field(w, "lag");
        entries_read_or_nil(w, has_lag, lag);
        field(w, "pel-count");
        runnel_resp_int(w, (int64_t)pending);
        field(w, "pending");
        rc = pel_list(cmd, name, (runnel_str_t){NULL, 0}, limit, true);
        if (rc < 0)
            return rc;

        /* This group's consumers go after the group list in scratch. */
        scratch_t cs = {gs.buf + gs.len, gs.cap - gs.len, 0, false, 0};
        rc = runnel_consumers(cmd->r, key, name, collect_consumer_fn, &cs);
        if (rc < 0)
            return rc;
        if (cs.overflow)
            return 1;
        field(w, "consumers");
        runnel_resp_array(w, cs.n);
        size_t cat = 0;
        for (size_t c = 0; c < cs.n; c++) {
            runnel_str_t cname = sc_get_str(cs.buf, &cat);
            uint64_t seen = sc_get_u64(cs.buf, &cat);
            uint64_t cpending = sc_get_u64(cs.buf, &cat);
            runnel_resp_map(w, 4);
            field(w, "name");
            runnel_resp_bulk(w, cname.p, cname.len);
            field(w, "seen-time");
            runnel_resp_int(w, (int64_t)seen);
            field(w, "pel-count");
            runnel_resp_int(w, (int64_t)cpending);
            field(w, "pending");
            rc = pel_list(cmd, name, cname, limit, false);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

runnel_cmd_result_t runnel__cmd_xinfo_stream(runnel_cmd_t *cmd)
{
    runnel_resp_writer_t *w = cmd->w;
    runnel_stream_info_t si;
    int64_t count = 10;
    bool full = false;
    int rc;

    rc = runnel_stream_info(cmd->r, cmd->argv[2], &si);
    if (rc < 0) {
        engine_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if (cmd->argc > 3) {
        if (!runnel__arg_is(cmd->argv[3], "FULL")) {
            runnel__sub_syntax_error(cmd, "XINFO");
            return RUNNEL_CMD_DONE;
        }
        full = true;
        if (cmd->argc > 4) {
            if (cmd->argc != 6 || !runnel__arg_is(cmd->argv[4], "COUNT")) {
                runnel__sub_syntax_error(cmd, "XINFO");
                return RUNNEL_CMD_DONE;
            }
            if (!runnel__arg_i64(cmd->argv[5], &count)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                return RUNNEL_CMD_DONE;
            }
            if (count < 0)
                count = 10;
        }
    }

    size_t before = w->len;
    if (full) {
        rc = stream_full(cmd, &si, count);
        if (rc != 0) {
            runnel__rollback(w, before);
            if (rc > 0)
                CMD_ERR_LIT(cmd, scratch_full);
            else
                engine_error(cmd, rc);
        }
        return RUNNEL_CMD_DONE;
    }

    runnel_resp_map(w, 10 + extra_pairs(&si));
    stream_head(w, &si);
    field(w, "groups");
    runnel_resp_int(w, (int64_t)si.groups);
    field(w, "first-entry");
    rc = runnel_xrange(cmd->r, cmd->argv[2], RUNNEL_ID_MIN, RUNNEL_ID_MAX, 1, false,
                       single_entry_fn, w);
    if (rc == 0)
        runnel_resp_null(w);
    field(w, "last-entry");
    if (rc >= 0)
        rc = runnel_xrange(cmd->r, cmd->argv[2], RUNNEL_ID_MIN, RUNNEL_ID_MAX, 1, true,
                           single_entry_fn, w);
    if (rc == 0)
        runnel_resp_null(w);
    if (rc < 0) {
        runnel__rollback(w, before);
        engine_error(cmd, rc);
    }
    return RUNNEL_CMD_DONE;
}
