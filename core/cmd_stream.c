/*
 * cmd_stream.c - the stream command table and the single-stream commands:
 * XADD, XTRIM, XRANGE, XREVRANGE, XLEN, XDEL, XSETID; plus the helpers the
 * other cmd_stream*.c files share (ID parsing, entry replies, rollback,
 * subcommand syntax errors; HELP replies come from cmd_help.c).
 *
 * Each handler parses its arguments in exactly the order Redis 7.0.15's
 * t_stream.c does, because the order decides which error a bad command
 * gets (docs/redis-streams-7.0.md, sections 3-5 and 9): option errors
 * before arity before key lookup, and so on. Only then is the engine
 * called; its RUNNEL_ERR_* codes map to reply texts via runnel_strerror.
 */
#include <string.h>

#include "cmd_stream.h"

/* ------------------------------------------------------------------ */
/* Shared helpers                                                      */
/* ------------------------------------------------------------------ */

bool runnel__parse_strict_id(runnel_str_t a, runnel_id_t *id)
{
    return runnel_id_parse(a.p, a.len, RUNNEL_ID_STRICT, id, NULL) == 0;
}

int runnel__write_entry(void *w, const runnel_entry_t *e)
{
    runnel_resp_entry((runnel_resp_writer_t *)w, e);
    return 0;
}

void runnel__rollback(runnel_resp_writer_t *w, size_t len)
{
    if (!w->overflow && len <= w->len)
        w->len = len;
}

void runnel__sub_syntax_error(runnel_cmd_t *cmd, const char *container_upper)
{
    /* The subcommand as typed, cut at 128 bytes (Redis's "%.128s"). */
    static const char a[] = "ERR unknown subcommand or wrong number of arguments for '";
    static const char b[] = "'. Try ";
    char buf[sizeof a + 128 + sizeof b + 32 + 8];
    size_t n = 0;
    runnel_str_t sub = cmd->argc > 1 ? cmd->argv[1] : (runnel_str_t){"", 0};
    size_t sl = 0;
    while (sl < sub.len && sl < 128 && sub.p[sl] != '\0')
        sl++;
    size_t cl = strlen(container_upper);
    if (cl > 32)
        cl = 32;
    memcpy(buf + n, a, sizeof a - 1);
    n += sizeof a - 1;
    memcpy(buf + n, sub.p, sl);
    n += sl;
    memcpy(buf + n, b, sizeof b - 1);
    n += sizeof b - 1;
    memcpy(buf + n, container_upper, cl);
    n += cl;
    memcpy(buf + n, " HELP.", 6);
    n += 6;
    runnel__cmd_error_text(cmd, buf, n);
}

/* ------------------------------------------------------------------ */
/* XADD / XTRIM argument parsing                                       */
/* ------------------------------------------------------------------ */

typedef struct add_trim_args {
    runnel_trim_t trim;
    bool nomkstream;
    runnel_xadd_id_mode_t id_mode;
    runnel_id_t id;
} add_trim_args_t;

static bool is_literal(runnel_str_t a, char ch)
{
    return a.len == 1 && a.p[0] == ch;
}

/* The option loop shared by XADD (options, then the ID) and XTRIM
 * (options only). Returns the index of XADD's ID argument (argc when the
 * options ran to the end), XTRIM's argc, or -1 with the error written.
 *
 * Quirks kept from Redis: "MAXLEN"/"MINID"/"LIMIT" with nothing after them
 * is not an option (XADD then parses it as the ID); '~' and '=' are only
 * recognised with two arguments left; LIMIT 0 alone slips past the "no
 * strategy" check (it only tests a non-zero LIMIT) and is caught by the
 * "without ~" check instead. */
static int parse_add_trim(runnel_cmd_t *cmd, add_trim_args_t *a, bool xadd)
{
    int argc = cmd->argc;
    const runnel_str_t *argv = cmd->argv;
    int64_t limit = 0;
    bool limit_given = false;
    int i = 2; /* after the key, for XADD and XTRIM alike */

    memset(a, 0, sizeof *a);
    a->trim.strategy = RUNNEL_TRIM_NONE;
    a->trim.limit = -1;
    a->id_mode = RUNNEL_XADD_AUTO;

    for (; i < argc; i++) {
        int more = argc - 1 - i;
        runnel_str_t opt = argv[i];
        if (xadd && is_literal(opt, '*')) {
            break;
        } else if ((runnel__arg_is(opt, "MAXLEN") || runnel__arg_is(opt, "MINID")) && more) {
            bool maxlen = runnel__arg_is(opt, "MAXLEN");
            if (a->trim.strategy != RUNNEL_TRIM_NONE) {
                runnel__cmd_error(cmd, RUNNEL_ERR_MAXLEN_MINID_BOTH);
                return -1;
            }
            a->trim.approx = false;
            if (more >= 2 && is_literal(argv[i + 1], '~')) {
                a->trim.approx = true;
                i++;
            } else if (more >= 2 && is_literal(argv[i + 1], '=')) {
                i++;
            }
            if (maxlen) {
                int64_t v;
                if (!runnel__arg_i64(argv[i + 1], &v)) {
                    runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                    return -1;
                }
                if (v < 0) {
                    runnel__cmd_error(cmd, RUNNEL_ERR_MAXLEN_NEGATIVE);
                    return -1;
                }
                a->trim.maxlen = (uint64_t)v;
                a->trim.strategy = RUNNEL_TRIM_MAXLEN;
            } else {
                if (!runnel__parse_strict_id(argv[i + 1], &a->trim.minid)) {
                    runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
                    return -1;
                }
                a->trim.strategy = RUNNEL_TRIM_MINID;
            }
            i++;
        } else if (runnel__arg_is(opt, "LIMIT") && more) {
            if (!runnel__arg_i64(argv[i + 1], &limit)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                return -1;
            }
            if (limit < 0) {
                runnel__cmd_error(cmd, RUNNEL_ERR_LIMIT_NEGATIVE);
                return -1;
            }
            limit_given = true;
            i++;
        } else if (xadd && runnel__arg_is(opt, "NOMKSTREAM")) {
            a->nomkstream = true;
        } else if (xadd) {
            bool seq_auto = false;
            if (runnel_id_parse(opt.p, opt.len, RUNNEL_ID_ALLOW_SEQ_AUTO, &a->id, &seq_auto) != 0) {
                runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
                return -1;
            }
            a->id_mode = seq_auto ? RUNNEL_XADD_SEQ_AUTO : RUNNEL_XADD_EXPLICIT;
            break;
        } else {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return -1;
        }
    }

    if (limit != 0 && a->trim.strategy == RUNNEL_TRIM_NONE) {
        runnel__cmd_error(cmd, RUNNEL_ERR_LIMIT_NO_STRATEGY);
        return -1;
    }
    if (!xadd && a->trim.strategy == RUNNEL_TRIM_NONE) {
        runnel__cmd_error(cmd, RUNNEL_ERR_XTRIM_NO_STRATEGY);
        return -1;
    }
    if (limit_given) {
        if (!a->trim.approx) {
            runnel__cmd_error(cmd, RUNNEL_ERR_LIMIT_NO_APPROX);
            return -1;
        }
        a->trim.limit = limit;
    } else {
        a->trim.limit = -1; /* engine default: 100 * node_max_entries, clamped */
    }
    return i;
}

static runnel_cmd_result_t cmd_xadd(runnel_cmd_t *cmd)
{
    add_trim_args_t a;
    int idpos = parse_add_trim(cmd, &a, true);
    if (idpos < 0)
        return RUNNEL_CMD_DONE;

    int field_pos = idpos + 1;
    int nfv = cmd->argc - field_pos;
    if (nfv < 2 || (nfv % 2) != 0) {
        runnel__cmd_error_arity_name(cmd, "xadd");
        return RUNNEL_CMD_DONE;
    }
    /* Checked before the key is looked up, so no key is ever created. */
    if (a.id_mode == RUNNEL_XADD_EXPLICIT && a.id.ms == 0 && a.id.seq == 0) {
        runnel__cmd_error(cmd, RUNNEL_ERR_XADD_ID_ZERO);
        return RUNNEL_CMD_DONE;
    }

    runnel_xadd_args_t xa;
    memset(&xa, 0, sizeof xa);
    xa.key = cmd->argv[1];
    xa.id_mode = a.id_mode;
    xa.id = a.id;
    xa.nomkstream = a.nomkstream;
    xa.trim = a.trim;
    xa.fv = cmd->argv + field_pos;
    xa.nfields = (uint32_t)(nfv / 2);

    runnel_id_t id;
    int rc = runnel_xadd(cmd->r, &xa, &id);
    if (rc < 0)
        runnel__cmd_error(cmd, rc);
    else if (rc == 0)
        runnel_resp_null(cmd->w);
    else
        runnel_resp_bulk_id(cmd->w, id);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_xtrim(runnel_cmd_t *cmd)
{
    add_trim_args_t a;
    if (parse_add_trim(cmd, &a, false) < 0)
        return RUNNEL_CMD_DONE;
    uint64_t deleted = 0;
    int rc = runnel_xtrim(cmd->r, cmd->argv[1], &a.trim, &deleted);
    if (rc < 0)
        runnel__cmd_error(cmd, rc);
    else
        runnel_resp_int(cmd->w, (int64_t)deleted);
    return RUNNEL_CMD_DONE;
}

/* ------------------------------------------------------------------ */
/* XRANGE / XREVRANGE / XLEN / XDEL / XSETID                           */
/* ------------------------------------------------------------------ */

static runnel_cmd_result_t range_generic(runnel_cmd_t *cmd, bool rev)
{
    runnel_str_t start_arg = rev ? cmd->argv[3] : cmd->argv[2];
    runnel_str_t end_arg = rev ? cmd->argv[2] : cmd->argv[3];
    runnel_id_t start, end;
    int64_t count = -1;
    int rc;

    if ((rc = runnel_id_parse_start(start_arg.p, start_arg.len, &start)) != 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if ((rc = runnel_id_parse_end(end_arg.p, end_arg.len, &end)) != 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    for (int j = 4; j < cmd->argc; j++) {
        if (runnel__arg_is(cmd->argv[j], "COUNT") && cmd->argc - j - 1 >= 1) {
            if (!runnel__arg_i64(cmd->argv[j + 1], &count)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                return RUNNEL_CMD_DONE;
            }
            if (count < 0)
                count = 0;
            j++;
        } else {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return RUNNEL_CMD_DONE;
        }
    }

    rc = runnel_exists(cmd->r, cmd->argv[1]);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if (rc == 0) {
        runnel_resp_array(cmd->w, 0);
        return RUNNEL_CMD_DONE;
    }
    if (count == 0) {
        runnel_resp_null_array(cmd->w);
        return RUNNEL_CMD_DONE;
    }
    /* Written whole up to RUNNEL_REPLY_INLINE_MAX, the rest streamed
     * (cmd_reply_range.c). */
    size_t before = cmd->w->len;
    size_t mark = runnel_resp_defer(cmd->w);
    runnel__ranged_t rg;
    uint64_t total;
    runnel__ranged_begin(&rg, cmd, cmd->argv[1], start, end, count, rev, true);
    rc = runnel_xrange(cmd->r, cmd->argv[1], start, end, count, rev, runnel__ranged_entry, &rg);
    rc = runnel__ranged_end(&rg, rc, &total);
    if (rc == 0) {
        runnel_resp_defer_array(cmd->w, mark, (size_t)total);
        rc = runnel__ranged_commit(&rg);
    }
    if (rc < 0) {
        runnel__ranged_moved(cmd, before, SIZE_MAX);
        runnel__rollback(cmd->w, before);
        runnel__cmd_error(cmd, rc);
    }
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_xrange(runnel_cmd_t *cmd)
{
    return range_generic(cmd, false);
}

static runnel_cmd_result_t cmd_xrevrange(runnel_cmd_t *cmd)
{
    return range_generic(cmd, true);
}

static runnel_cmd_result_t cmd_xlen(runnel_cmd_t *cmd)
{
    uint64_t len = 0;
    int rc = runnel_xlen(cmd->r, cmd->argv[1], &len);
    if (rc < 0)
        runnel__cmd_error(cmd, rc);
    else
        runnel_resp_int(cmd->w, (int64_t)len);
    return RUNNEL_CMD_DONE;
}

/* IDs go to the engine in chunks from a small stack array, after all of
 * them were validated: the command stays all-or-nothing for bad input
 * without needing memory proportional to argc. */
runnel_cmd_result_t runnel__cmd_id_batches(runnel_cmd_t *cmd, int first, runnel__id_batch_fn fn)
{
    runnel_id_t ids[RUNNEL__CMD_ID_CHUNK];
    uint64_t total = 0;

    for (int j = first; j < cmd->argc; j++) {
        if (!runnel__parse_strict_id(cmd->argv[j], &ids[0])) {
            runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
            return RUNNEL_CMD_DONE;
        }
    }
    for (int j = first; j < cmd->argc;) {
        size_t n = 0;
        uint64_t count = 0;
        while (j < cmd->argc && n < RUNNEL__CMD_ID_CHUNK)
            (void)runnel__parse_strict_id(cmd->argv[j++], &ids[n++]);
        int rc = fn(cmd, ids, n, &count);
        if (rc < 0) {
            runnel__cmd_error(cmd, rc);
            return RUNNEL_CMD_DONE;
        }
        total += count;
    }
    runnel_resp_int(cmd->w, (int64_t)total);
    return RUNNEL_CMD_DONE;
}

static int xdel_batch(runnel_cmd_t *cmd, const runnel_id_t *ids, size_t n, uint64_t *count)
{
    return runnel_xdel(cmd->r, cmd->argv[1], ids, n, count);
}

static runnel_cmd_result_t cmd_xdel(runnel_cmd_t *cmd)
{
    /* Missing key: 0 without validating the IDs, as Redis. */
    int rc = runnel_exists(cmd->r, cmd->argv[1]);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if (rc == 0) {
        runnel_resp_int(cmd->w, 0);
        return RUNNEL_CMD_DONE;
    }
    return runnel__cmd_id_batches(cmd, 2, xdel_batch);
}

static runnel_cmd_result_t cmd_xsetid(runnel_cmd_t *cmd)
{
    runnel_xsetid_args_t a;
    memset(&a, 0, sizeof a);
    a.key = cmd->argv[1];
    if (!runnel__parse_strict_id(cmd->argv[2], &a.last_id)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
        return RUNNEL_CMD_DONE;
    }
    for (int i = 3; i < cmd->argc;) {
        int more = cmd->argc - 1 - i;
        if (runnel__arg_is(cmd->argv[i], "ENTRIESADDED") && more) {
            int64_t v;
            if (!runnel__arg_i64(cmd->argv[i + 1], &v)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                return RUNNEL_CMD_DONE;
            }
            if (v < 0) {
                runnel__cmd_error(cmd, RUNNEL_ERR_ENTRIES_ADDED_NEGATIVE);
                return RUNNEL_CMD_DONE;
            }
            a.has_entries_added = true;
            a.entries_added = (uint64_t)v;
            i += 2;
        } else if (runnel__arg_is(cmd->argv[i], "MAXDELETEDID") && more) {
            if (!runnel__parse_strict_id(cmd->argv[i + 1], &a.max_deleted)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
                return RUNNEL_CMD_DONE;
            }
            if (runnel_id_cmp(a.last_id, a.max_deleted) < 0) {
                runnel__cmd_error(cmd, RUNNEL_ERR_XSETID_MAXDELETED);
                return RUNNEL_CMD_DONE;
            }
            a.has_max_deleted = true;
            i += 2;
        } else {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return RUNNEL_CMD_DONE;
        }
    }
    int rc = runnel_xsetid(cmd->r, &a);
    if (rc < 0)
        runnel__cmd_error(cmd, rc);
    else
        runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

#define W RUNNEL_CMDF_WRITE
#define R RUNNEL_CMDF_READONLY
#define F RUNNEL_CMDF_FAST
#define B RUNNEL_CMDF_BLOCKING

static const runnel_cmd_def_t xgroup_subcommands[] = {
    {"create",         -5, W,     runnel__cmd_xgroup_create,         NULL, 2, 2, 1},
    {"setid",          -5, W,     runnel__cmd_xgroup_setid,          NULL, 2, 2, 1},
    {"destroy",         4, W,     runnel__cmd_xgroup_destroy,        NULL, 2, 2, 1},
    {"createconsumer",  5, W,     runnel__cmd_xgroup_createconsumer, NULL, 2, 2, 1},
    {"delconsumer",     5, W,     runnel__cmd_xgroup_delconsumer,    NULL, 2, 2, 1},
    {"help",            2, 0,     runnel__cmd_xgroup_help,           NULL, 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

static const runnel_cmd_def_t xinfo_subcommands[] = {
    {"stream",         -3, R,     runnel__cmd_xinfo_stream,          NULL, 2, 2, 1},
    {"groups",          3, R,     runnel__cmd_xinfo_groups,          NULL, 2, 2, 1},
    {"consumers",       4, R,     runnel__cmd_xinfo_consumers,       NULL, 2, 2, 1},
    {"help",            2, 0,     runnel__cmd_xinfo_help,            NULL, 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

const runnel_cmd_def_t runnel__stream_commands[] = {
    /* name        arity flags   handler                   sub                 keys */
    {"xadd",        -5, W | F,   cmd_xadd,                 NULL,               1, 1, 1},
    {"xrange",      -4, R,       cmd_xrange,               NULL,               1, 1, 1},
    {"xrevrange",   -4, R,       cmd_xrevrange,            NULL,               1, 1, 1},
    {"xlen",         2, R | F,   cmd_xlen,                 NULL,               1, 1, 1},
    {"xdel",        -3, W | F,   cmd_xdel,                 NULL,               1, 1, 1},
    {"xtrim",       -4, W,       cmd_xtrim,                NULL,               1, 1, 1},
    {"xsetid",      -3, W | F,   cmd_xsetid,               NULL,               1, 1, 1},
    {"xread",       -4, R | B,   runnel__cmd_xread,        NULL,               0, 0, 0},
    {"xreadgroup",  -7, W | B,   runnel__cmd_xreadgroup,   NULL,               0, 0, 0},
    {"xack",        -4, W | F,   runnel__cmd_xack,         NULL,               1, 1, 1},
    {"xpending",    -3, R,       runnel__cmd_xpending,     NULL,               1, 1, 1},
    {"xclaim",      -6, W | F,   runnel__cmd_xclaim,       NULL,               1, 1, 1},
    {"xautoclaim",  -6, W | F,   runnel__cmd_xautoclaim,   NULL,               1, 1, 1},
    {"xgroup",      -2, 0,       NULL,                     xgroup_subcommands, 0, 0, 0},
    {"xinfo",       -2, 0,       NULL,                     xinfo_subcommands,  0, 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};
