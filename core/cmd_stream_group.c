/*
 * cmd_stream_group.c - consumer-group commands: XGROUP (CREATE, SETID,
 * DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK, XPENDING, XCLAIM,
 * XAUTOCLAIM.
 *
 * As everywhere in the command layer, the work here is Redis's argument
 * order and error precedence (docs/redis-streams-7.0.md, section 7); the
 * semantics (PEL, consumers, lag, journal) belong to the engine's group
 * half. Existence checks the engine would also make are made here first
 * when Redis makes them before parsing something else (e.g. XCLAIM's
 * NOGROUP comes before its min-idle-time error, XGROUP CREATE's
 * "requires the key to exist" before its ID error).
 */
#include <string.h>

#include "cmd_stream.h"

/* ------------------------------------------------------------------ */
/* XGROUP                                                              */
/* ------------------------------------------------------------------ */

static const char *const xgroup_help[] = {
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
};

runnel_cmd_result_t runnel__cmd_xgroup_help(runnel_cmd_t *cmd)
{
    RUNNEL__CMD_HELP(cmd, "XGROUP", xgroup_help);
    return RUNNEL_CMD_DONE;
}

typedef enum xgroup_op { XG_CREATE, XG_SETID, XG_DESTROY, XG_CREATECONSUMER, XG_DELCONSUMER } xgroup_op_t;

typedef struct xgroup_args {
    bool mkstream;
    int64_t entries_read;   /* -1 = not given */
} xgroup_args_t;

/* The part of Redis's xgroupCommand every subcommand shares: options
 * (CREATE: MKSTREAM, ENTRIESREAD; SETID: ENTRIESREAD), then the key must
 * exist (unless MKSTREAM), then SETID / CREATECONSUMER / DELCONSUMER need
 * the group. Returns false with the error written. */
static bool xgroup_prologue(runnel_cmd_t *cmd, xgroup_op_t op, xgroup_args_t *a)
{
    runnel_str_t key = cmd->argv[2], group = cmd->argv[3];
    int rc;

    a->mkstream = false;
    a->entries_read = -1;
    if (op == XG_CREATE || op == XG_SETID) {
        for (int i = 5; i < cmd->argc;) {
            if (op == XG_CREATE && runnel__arg_is(cmd->argv[i], "MKSTREAM")) {
                a->mkstream = true;
                i++;
            } else if (runnel__arg_is(cmd->argv[i], "ENTRIESREAD") && i + 1 < cmd->argc) {
                if (!runnel__arg_i64(cmd->argv[i + 1], &a->entries_read)) {
                    runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                    return false;
                }
                if (a->entries_read < 0 && a->entries_read != -1) {
                    runnel__cmd_error(cmd, RUNNEL_ERR_ENTRIESREAD_RANGE);
                    return false;
                }
                i += 2;
            } else {
                runnel__sub_syntax_error(cmd, "XGROUP");
                return false;
            }
        }
    }
    if (a->mkstream)
        return true;
    rc = runnel_exists(cmd->r, key);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return false;
    }
    if (rc == 0) {
        runnel__cmd_error(cmd, RUNNEL_ERR_XGROUP_NEEDS_KEY);
        return false;
    }
    if (op == XG_SETID || op == XG_CREATECONSUMER || op == XG_DELCONSUMER) {
        rc = runnel_group_exists(cmd->r, key, group);
        if (rc < 0) {
            runnel__cmd_error(cmd, rc);
            return false;
        }
        if (rc == 0) {
            runnel__cmd_error_fmt(cmd, RUNNEL_ERR_NOGROUP_FOR_KEY, group, key);
            return false;
        }
    }
    return true;
}

/* Engine errors of the XGROUP family; the NOGROUP text names the group
 * first, then the key. */
static void xgroup_engine_error(runnel_cmd_t *cmd, int rc)
{
    if (rc == RUNNEL_ERR_NOGROUP_FOR_KEY)
        runnel__cmd_error_fmt(cmd, rc, cmd->argv[3], cmd->argv[2]);
    else
        runnel__cmd_error(cmd, rc);
}

static bool is_dollar(runnel_str_t a)
{
    return a.len == 1 && a.p[0] == '$';
}

runnel_cmd_result_t runnel__cmd_xgroup_create(runnel_cmd_t *cmd)
{
    xgroup_args_t a;
    runnel_id_t id = {0, 0};
    bool use_last = false;

    if (!xgroup_prologue(cmd, XG_CREATE, &a))
        return RUNNEL_CMD_DONE;
    if (cmd->argc < 5 || cmd->argc > 8) {
        runnel__sub_syntax_error(cmd, "XGROUP");
        return RUNNEL_CMD_DONE;
    }
    if (is_dollar(cmd->argv[4]))
        use_last = true;
    else if (!runnel__parse_strict_id(cmd->argv[4], &id)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
        return RUNNEL_CMD_DONE;
    }
    int rc = runnel_xgroup_create(cmd->r, cmd->argv[2], cmd->argv[3], id, use_last, a.mkstream,
                                  a.entries_read);
    if (rc < 0)
        xgroup_engine_error(cmd, rc);
    else
        runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

runnel_cmd_result_t runnel__cmd_xgroup_setid(runnel_cmd_t *cmd)
{
    xgroup_args_t a;
    runnel_id_t id = {0, 0};
    bool use_last = false;

    if (!xgroup_prologue(cmd, XG_SETID, &a))
        return RUNNEL_CMD_DONE;
    if (cmd->argc != 5 && cmd->argc != 7) {
        runnel__sub_syntax_error(cmd, "XGROUP");
        return RUNNEL_CMD_DONE;
    }
    /* SETID takes "-" and "+" (non-strict), unlike CREATE. */
    if (is_dollar(cmd->argv[4]))
        use_last = true;
    else if (runnel_id_parse(cmd->argv[4].p, cmd->argv[4].len, RUNNEL_ID_ALLOW_MINMAX, &id,
                             NULL) != 0) {
        runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
        return RUNNEL_CMD_DONE;
    }
    int rc = runnel_xgroup_setid(cmd->r, cmd->argv[2], cmd->argv[3], id, use_last,
                                 a.entries_read);
    if (rc < 0)
        xgroup_engine_error(cmd, rc);
    else
        runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

runnel_cmd_result_t runnel__cmd_xgroup_destroy(runnel_cmd_t *cmd)
{
    xgroup_args_t a;
    if (!xgroup_prologue(cmd, XG_DESTROY, &a))
        return RUNNEL_CMD_DONE;
    int rc = runnel_xgroup_destroy(cmd->r, cmd->argv[2], cmd->argv[3]);
    if (rc < 0)
        xgroup_engine_error(cmd, rc);
    else
        runnel_resp_int(cmd->w, rc);
    return RUNNEL_CMD_DONE;
}

runnel_cmd_result_t runnel__cmd_xgroup_createconsumer(runnel_cmd_t *cmd)
{
    xgroup_args_t a;
    if (!xgroup_prologue(cmd, XG_CREATECONSUMER, &a))
        return RUNNEL_CMD_DONE;
    int rc = runnel_xgroup_createconsumer(cmd->r, cmd->argv[2], cmd->argv[3], cmd->argv[4]);
    if (rc < 0)
        xgroup_engine_error(cmd, rc);
    else
        runnel_resp_int(cmd->w, rc);
    return RUNNEL_CMD_DONE;
}

runnel_cmd_result_t runnel__cmd_xgroup_delconsumer(runnel_cmd_t *cmd)
{
    xgroup_args_t a;
    uint64_t pending = 0;
    if (!xgroup_prologue(cmd, XG_DELCONSUMER, &a))
        return RUNNEL_CMD_DONE;
    int rc = runnel_xgroup_delconsumer(cmd->r, cmd->argv[2], cmd->argv[3], cmd->argv[4],
                                       &pending);
    if (rc < 0)
        xgroup_engine_error(cmd, rc);
    else
        runnel_resp_int(cmd->w, (int64_t)pending);
    return RUNNEL_CMD_DONE;
}

/* ------------------------------------------------------------------ */
/* XACK                                                                */
/* ------------------------------------------------------------------ */

static int xack_batch(runnel_cmd_t *cmd, const runnel_id_t *ids, size_t n, uint64_t *count)
{
    return runnel_xack(cmd->r, cmd->argv[1], cmd->argv[2], ids, n, count);
}

/* Missing key or group: :0 without looking at the IDs; otherwise every ID
 * is validated before anything is acknowledged. */
runnel_cmd_result_t runnel__cmd_xack(runnel_cmd_t *cmd)
{
    int rc = runnel_group_exists(cmd->r, cmd->argv[1], cmd->argv[2]);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if (rc == 0) {
        runnel_resp_int(cmd->w, 0);
        return RUNNEL_CMD_DONE;
    }
    return runnel__cmd_id_batches(cmd, 3, xack_batch);
}

/* ------------------------------------------------------------------ */
/* XPENDING                                                            */
/* ------------------------------------------------------------------ */

static int pending_nop(void *ctx, runnel_str_t name, uint64_t count)
{
    (void)ctx;
    (void)name;
    (void)count;
    return 0;
}

typedef struct consumer_list {
    runnel_resp_writer_t *w;
    size_t n;
} consumer_list_t;

static int pending_consumer_fn(void *ctx, runnel_str_t name, uint64_t count)
{
    consumer_list_t *cl = ctx;
    runnel_resp_writer_t *w = cl->w;
    cl->n++;
    runnel_resp_array(w, 2);
    runnel_resp_bulk(w, name.p, name.len);
    runnel_resp_bulk_u64(w, count);
    return 0;
}

typedef struct pending_ctx {
    runnel_resp_writer_t *w;
} pending_ctx_t;

static int pending_entry_fn(void *ctx, const runnel_pending_t *p)
{
    runnel_resp_writer_t *w = ((pending_ctx_t *)ctx)->w;
    runnel_resp_array(w, 4);
    runnel_resp_bulk_id(w, p->id);
    runnel_resp_bulk(w, p->consumer.p, p->consumer.len);
    runnel_resp_int(w, (int64_t)p->idle_ms);
    runnel_resp_int(w, (int64_t)p->delivery_count);
    return 0;
}

static void nogroup_key_or_group(runnel_cmd_t *cmd)
{
    runnel__cmd_error_fmt(cmd, RUNNEL_ERR_NOGROUP_KEY_OR_GROUP, cmd->argv[1], cmd->argv[2]);
}

static void group_engine_error(runnel_cmd_t *cmd, int rc)
{
    if (rc == RUNNEL_ERR_NOGROUP_KEY_OR_GROUP)
        nogroup_key_or_group(cmd);
    else
        runnel__cmd_error(cmd, rc);
}

runnel_cmd_result_t runnel__cmd_xpending(runnel_cmd_t *cmd)
{
    int argc = cmd->argc;
    const runnel_str_t *argv = cmd->argv;
    runnel_id_t start = RUNNEL_ID_MIN, end = RUNNEL_ID_MAX;
    int64_t count = 0, minidle = 0;
    runnel_str_t consumer = {NULL, 0};
    int rc;

    if (argc != 3 && (argc < 6 || argc > 9)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
        return RUNNEL_CMD_DONE;
    }
    if (argc >= 6) {
        int si = 3;
        if (runnel__arg_is(argv[3], "IDLE")) {
            if (!runnel__arg_i64(argv[4], &minidle)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                return RUNNEL_CMD_DONE;
            }
            if (argc < 8) {
                runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
                return RUNNEL_CMD_DONE;
            }
            si += 2;
        }
        if (!runnel__arg_i64(argv[si + 2], &count)) {
            runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
            return RUNNEL_CMD_DONE;
        }
        if (count < 0)
            count = 0;
        if ((rc = runnel_id_parse_start(argv[si].p, argv[si].len, &start)) != 0) {
            runnel__cmd_error(cmd, rc);
            return RUNNEL_CMD_DONE;
        }
        if ((rc = runnel_id_parse_end(argv[si + 1].p, argv[si + 1].len, &end)) != 0) {
            runnel__cmd_error(cmd, rc);
            return RUNNEL_CMD_DONE;
        }
        if (si + 3 < argc)
            consumer = argv[si + 3];
    }

    rc = runnel_group_exists(cmd->r, argv[1], argv[2]);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if (rc == 0) {
        nogroup_key_or_group(cmd);
        return RUNNEL_CMD_DONE;
    }

    runnel_resp_writer_t *w = cmd->w;
    if (argc == 3) {
        /* The totals come first in the reply but only out of the call that
         * also lists the consumers, so the engine is asked twice. */
        uint64_t total = 0;
        runnel_id_t lo, hi;
        rc = runnel_xpending_summary(cmd->r, argv[1], argv[2], &total, &lo, &hi, pending_nop,
                                     NULL);
        if (rc < 0) {
            group_engine_error(cmd, rc);
            return RUNNEL_CMD_DONE;
        }
        runnel_resp_array(w, 4);
        runnel_resp_int(w, (int64_t)total);
        if (total == 0) {
            runnel_resp_null(w);
            runnel_resp_null(w);
            runnel_resp_null_array(w);
            return RUNNEL_CMD_DONE;
        }
        runnel_resp_bulk_id(w, lo);
        runnel_resp_bulk_id(w, hi);
        size_t start_len = w->len;
        size_t mark = runnel_resp_defer(w);
        consumer_list_t cl = {w, 0};
        rc = runnel_xpending_summary(cmd->r, argv[1], argv[2], &total, &lo, &hi,
                                     pending_consumer_fn, &cl);
        if (rc < 0) {
            runnel__rollback(w, start_len);
            runnel_resp_array(w, 0);
            return RUNNEL_CMD_DONE;
        }
        runnel_resp_defer_array(w, mark, cl.n);
        return RUNNEL_CMD_DONE;
    }

    if (count == 0) {
        runnel_resp_array(w, 0);
        return RUNNEL_CMD_DONE;
    }
    pending_ctx_t pc = {w};
    size_t before = w->len;
    size_t mark = runnel_resp_defer(w);
    rc = runnel_xpending(cmd->r, argv[1], argv[2], start, end, count, minidle, consumer,
                         pending_entry_fn, &pc);
    if (rc < 0) {
        runnel__rollback(w, before);
        group_engine_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    runnel_resp_defer_array(w, mark, (size_t)rc);
    return RUNNEL_CMD_DONE;
}

/* ------------------------------------------------------------------ */
/* XCLAIM / XAUTOCLAIM                                                 */
/* ------------------------------------------------------------------ */

typedef struct claim_ctx {
    runnel_resp_writer_t *w;
    bool justid;
    size_t n;
} claim_ctx_t;

static int claim_entry_fn(void *ctx, const runnel_entry_t *e)
{
    claim_ctx_t *cc = ctx;
    cc->n++;
    if (cc->justid)
        runnel_resp_bulk_id(cc->w, e->id);
    else
        runnel_resp_entry(cc->w, e);
    return 0;
}

/* Redis's XCLAIM: NOGROUP, then min-idle-time, then IDs for as long as
 * arguments parse as strict IDs; the first one that does not starts the
 * options, so a malformed ID is reported as an unrecognised option. */
runnel_cmd_result_t runnel__cmd_xclaim(runnel_cmd_t *cmd)
{
    int argc = cmd->argc;
    const runnel_str_t *argv = cmd->argv;
    runnel_xclaim_args_t a;
    int64_t minidle;
    int rc, j;

    memset(&a, 0, sizeof a);
    rc = runnel_group_exists(cmd->r, argv[1], argv[2]);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if (rc == 0) {
        nogroup_key_or_group(cmd);
        return RUNNEL_CMD_DONE;
    }
    if (!runnel__arg_i64(argv[4], &minidle)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_XCLAIM_MIN_IDLE);
        return RUNNEL_CMD_DONE;
    }
    if (minidle < 0)
        minidle = 0;

    runnel_id_t tmp;
    for (j = 5; j < argc; j++)
        if (!runnel__parse_strict_id(argv[j], &tmp))
            break;
    int ids_end = j;

    for (; j < argc; j++) {
        int more = argc - 1 - j;
        runnel_str_t opt = argv[j];
        int64_t v;
        if (runnel__arg_is(opt, "FORCE")) {
            a.force = true;
        } else if (runnel__arg_is(opt, "JUSTID")) {
            a.justid = true;
        } else if (runnel__arg_is(opt, "IDLE") && more) {
            j++;
            if (!runnel__arg_i64(argv[j], &v)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_XCLAIM_IDLE);
                return RUNNEL_CMD_DONE;
            }
            /* IDLE and TIME both set the delivery time: the last wins. */
            a.has_idle = true;
            a.idle_ms = v;
            a.has_time = false;
        } else if (runnel__arg_is(opt, "TIME") && more) {
            j++;
            if (!runnel__arg_i64(argv[j], &v)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_XCLAIM_TIME);
                return RUNNEL_CMD_DONE;
            }
            a.has_time = true;
            a.time_ms = v;
            a.has_idle = false;
        } else if (runnel__arg_is(opt, "RETRYCOUNT") && more) {
            j++;
            if (!runnel__arg_i64(argv[j], &v)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_XCLAIM_RETRYCOUNT);
                return RUNNEL_CMD_DONE;
            }
            a.has_retrycount = true;
            a.retrycount = v;
        } else if (runnel__arg_is(opt, "LASTID") && more) {
            j++;
            if (!runnel__parse_strict_id(argv[j], &a.lastid)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
                return RUNNEL_CMD_DONE;
            }
            a.has_lastid = true;
        } else {
            runnel__cmd_error_fmt(cmd, RUNNEL_ERR_XCLAIM_UNRECOGNIZED, opt, (runnel_str_t){NULL, 0});
            return RUNNEL_CMD_DONE;
        }
    }

    a.key = argv[1];
    a.group = argv[2];
    a.consumer = argv[3];
    a.min_idle_ms = (uint64_t)minidle;

    runnel_resp_writer_t *w = cmd->w;
    claim_ctx_t cc = {w, a.justid, 0};
    size_t before = w->len;
    size_t mark = runnel_resp_defer(w);
    /* The IDs go to the engine in chunks (options identical in each), so
     * memory does not grow with argc. Claiming is per ID anyway. */
    runnel_id_t ids[RUNNEL__CMD_ID_CHUNK];
    j = 5;
    do {
        size_t n = 0;
        while (j < ids_end && n < RUNNEL__CMD_ID_CHUNK)
            (void)runnel__parse_strict_id(argv[j++], &ids[n++]);
        a.ids = ids;
        a.nids = n;
        rc = runnel_xclaim(cmd->r, &a, claim_entry_fn, &cc);
        if (rc < 0) {
            runnel__rollback(w, before);
            group_engine_error(cmd, rc);
            return RUNNEL_CMD_DONE;
        }
    } while (j < ids_end);
    runnel_resp_defer_array(w, mark, cc.n);
    return RUNNEL_CMD_DONE;
}

/* Inserts n bytes at offset `at` of the reply (the XAUTOCLAIM cursor,
 * which comes first but is known only after the claim ran). */
static void insert_bytes(runnel_resp_writer_t *w, size_t at, const char *p, size_t n)
{
    if (w->overflow)
        return;
    if (n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memmove(w->buf + at + n, w->buf + at, w->len - at);
    memcpy(w->buf + at, p, n);
    w->len += n;
}

static size_t put_dec(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0, i = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out[i++] = tmp[--n];
    return i;
}

/* Largest COUNT Redis accepts: LONG_MAX / max(sizeof(streamID), 10) on a
 * 64-bit server. */
#define XAUTOCLAIM_COUNT_MAX 576460752303423487LL

runnel_cmd_result_t runnel__cmd_xautoclaim(runnel_cmd_t *cmd)
{
    int argc = cmd->argc;
    const runnel_str_t *argv = cmd->argv;
    runnel_xautoclaim_args_t a;
    int64_t minidle, count = 100;
    int rc;

    memset(&a, 0, sizeof a);
    if (!runnel__arg_i64(argv[4], &minidle)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_XAUTOCLAIM_MIN_IDLE);
        return RUNNEL_CMD_DONE;
    }
    if (minidle < 0)
        minidle = 0;
    if ((rc = runnel_id_parse_start(argv[5].p, argv[5].len, &a.start)) != 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    for (int j = 6; j < argc; j++) {
        int more = argc - 1 - j;
        if (runnel__arg_is(argv[j], "COUNT") && more) {
            if (!runnel__arg_i64(argv[j + 1], &count) || count < 1 ||
                count > XAUTOCLAIM_COUNT_MAX) {
                runnel__cmd_error(cmd, RUNNEL_ERR_COUNT_POSITIVE);
                return RUNNEL_CMD_DONE;
            }
            j++;
        } else if (runnel__arg_is(argv[j], "JUSTID")) {
            a.justid = true;
        } else {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return RUNNEL_CMD_DONE;
        }
    }
    rc = runnel_group_exists(cmd->r, argv[1], argv[2]);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if (rc == 0) {
        nogroup_key_or_group(cmd);
        return RUNNEL_CMD_DONE;
    }

    /* The deleted IDs (third reply element) need COUNT slots of scratch.
     * Redis allocates COUNT*16 bytes and answers "Insufficient memory" when
     * that fails; our scratch is the client's block_buf (free while the
     * client is not blocked), so a COUNT beyond what it holds gets the same
     * error. That limit is ours: about block_buf/16 (256 with the default
     * 4 KiB fixed part). */
    runnel_client_t *c = cmd->client;
    uintptr_t base = (uintptr_t)c->block_buf;
    size_t pad = (size_t)((8u - (base & 7u)) & 7u);
    size_t cap = (c->block_buf && c->block_cap > pad) ? (c->block_cap - pad) / sizeof(runnel_id_t) : 0;
    if ((uint64_t)count > cap) {
        runnel__cmd_error(cmd, RUNNEL_ERR_COUNT_TOO_HIGH);
        return RUNNEL_CMD_DONE;
    }
    a.key = argv[1];
    a.group = argv[2];
    a.consumer = argv[3];
    a.min_idle_ms = (uint64_t)minidle;
    a.count = (uint64_t)count;
    a.deleted = (runnel_id_t *)(void *)(c->block_buf + pad);
    a.deleted_cap = cap;

    runnel_resp_writer_t *w = cmd->w;
    size_t before = w->len;
    size_t mark = runnel_resp_defer(w);
    claim_ctx_t cc = {w, a.justid, 0};
    runnel_id_t next = {0, 0};
    size_t ndeleted = 0;
    rc = runnel_xautoclaim(cmd->r, &a, &next, &ndeleted, claim_entry_fn, &cc);
    if (rc < 0) {
        runnel__rollback(w, before);
        group_engine_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    runnel_resp_defer_array(w, mark, cc.n);

    /* "*3\r\n$<len>\r\n<cursor>\r\n" goes in front of the claimed list. */
    char head[16 + RUNNEL_ID_STRLEN];
    char idtxt[RUNNEL_ID_STRLEN];
    size_t idlen = runnel_id_format(next, idtxt);
    size_t h = 0;
    memcpy(head, "*3\r\n$", 5);
    h = 5;
    h += put_dec(head + h, idlen);
    head[h++] = '\r';
    head[h++] = '\n';
    memcpy(head + h, idtxt, idlen);
    h += idlen;
    head[h++] = '\r';
    head[h++] = '\n';
    insert_bytes(w, before, head, h);

    runnel_resp_array(w, ndeleted);
    for (size_t i = 0; i < ndeleted; i++)
        runnel_resp_bulk_id(w, a.deleted[i]);
    return RUNNEL_CMD_DONE;
}
