/*
 * cmd_stream_read.c - XREAD and XREADGROUP: argument parsing, validation
 * and the synchronous part. When nothing can be served and BLOCK was
 * given, the request is handed to cmd_block.c.
 *
 * Order (Redis 7.0.15 xreadCommand, docs section 6/7): options until
 * STREAMS (BLOCK / COUNT / STREAMS / GROUP / NOACK, any order), STREAMS
 * mandatory, GROUP mandatory for XREADGROUP, then per key in argument
 * order: NOGROUP (XREADGROUP), "$" / ">" misuse, ID syntax. Only when every
 * key passed is anything served, so a bad last ID never half-serves.
 *
 * Reply: the served keys only, in argument order, RESP2 as
 * *[ *[key, *[entries]] ... ], RESP3 as a map key -> entries; nothing
 * served and no BLOCK -> null array. The outer count is unknown until the
 * end, and whether a key is served is known only after the engine was
 * asked, so each key's header is written optimistically and rolled back
 * when the engine delivered nothing (except XREADGROUP history reads,
 * which are always served, even empty).
 */
#include <string.h>

#include "cmd_stream.h"

void runnel__read_key_header(runnel_resp_writer_t *w, runnel_str_t key)
{
    if (w->proto != 3)
        runnel_resp_array(w, 2);
    runnel_resp_bulk(w, key.p, key.len);
}

static bool is_exact(runnel_str_t a, const char *lit)
{
    return a.len == strlen(lit) && memcmp(a.p, lit, a.len) == 0;
}

bool runnel__xreadgroup_wants_new(runnel_str_t ida)
{
    runnel_id_t id;
    if (is_exact(ida, ">"))
        return true;
    return runnel__parse_strict_id(ida, &id) && id.ms == UINT64_MAX && id.seq == UINT64_MAX;
}

/* The options of XREAD / XREADGROUP, checked in Redis's order: 0, or the
 * error to reply with. */
struct read_opts {
    int64_t timeout;            /* -1: no BLOCK */
    int64_t count;
    int streams_arg, nkeys;
    bool noack, have_group;
    runnel_str_t group, consumer;
};

static int parse_read_options(const runnel_cmd_t *cmd, bool xreadgroup, struct read_opts *opt)
{
    int argc = cmd->argc;
    const runnel_str_t *argv = cmd->argv;

    memset(opt, 0, sizeof(*opt));
    opt->timeout = -1;
    for (int i = 1; i < argc; i++) {
        int more = argc - i - 1;
        runnel_str_t o = argv[i];
        if (runnel__arg_is(o, "BLOCK") && more) {
            i++;
            if (!runnel__arg_i64(argv[i], &opt->timeout))
                return RUNNEL_ERR_TIMEOUT_NOT_INTEGER;
            if (opt->timeout < 0)
                return RUNNEL_ERR_TIMEOUT_NEGATIVE;
        } else if (runnel__arg_is(o, "COUNT") && more) {
            i++;
            if (!runnel__arg_i64(argv[i], &opt->count))
                return RUNNEL_ERR_NOT_INTEGER;
            if (opt->count < 0)
                opt->count = 0;
        } else if (runnel__arg_is(o, "STREAMS") && more) {
            opt->streams_arg = i + 1;
            int n = argc - opt->streams_arg;
            if (n % 2 != 0)
                return RUNNEL_ERR_XREAD_UNBALANCED;
            opt->nkeys = n / 2;
            break;
        } else if (runnel__arg_is(o, "GROUP") && more >= 2) {
            if (!xreadgroup)
                return RUNNEL_ERR_XREAD_GROUP_OPTION;
            opt->group = argv[i + 1];
            opt->consumer = argv[i + 2];
            opt->have_group = true;
            i += 2;
        } else if (runnel__arg_is(o, "NOACK")) {
            if (!xreadgroup)
                return RUNNEL_ERR_XREAD_NOACK_OPTION;
            opt->noack = true;
        } else
            return RUNNEL_ERR_SYNTAX;
    }
    if (opt->streams_arg == 0)
        return RUNNEL_ERR_SYNTAX;
    if (xreadgroup && !opt->have_group)
        return RUNNEL_ERR_XREADGROUP_MISSING_GROUP;
    return 0;
}

static runnel_cmd_result_t read_generic(runnel_cmd_t *cmd, bool xreadgroup)
{
    const runnel_str_t *argv = cmd->argv;
    int64_t timeout = -1;    /* -1: no BLOCK */
    int64_t count = 0;
    int streams_arg = 0, nkeys = 0;
    bool noack = false, have_group = false;
    runnel_str_t group = {NULL, 0}, consumer = {NULL, 0};
    struct read_opts opts;
    int rc;

    rc = parse_read_options(cmd, xreadgroup, &opts);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    timeout = opts.timeout;
    count = opts.count;
    streams_arg = opts.streams_arg;
    nkeys = opts.nkeys;
    noack = opts.noack;
    have_group = opts.have_group;
    group = opts.group;
    consumer = opts.consumer;

    /* Validate every key before serving any. */
    for (int k = 0; k < nkeys; k++) {
        runnel_str_t key = argv[streams_arg + k];
        runnel_str_t ida = argv[streams_arg + nkeys + k];
        runnel_id_t id;
        if (have_group) {
            rc = runnel_group_exists(cmd->r, key, group);
            if (rc < 0) {
                runnel__cmd_error(cmd, rc);
                return RUNNEL_CMD_DONE;
            }
            if (rc == 0) {
                runnel__cmd_error_fmt(cmd, RUNNEL_ERR_NOGROUP_XREADGROUP, key, group);
                return RUNNEL_CMD_DONE;
            }
        }
        if (is_exact(ida, "$")) {
            if (xreadgroup) {
                runnel__cmd_error(cmd, RUNNEL_ERR_XREADGROUP_DOLLAR);
                return RUNNEL_CMD_DONE;
            }
            continue;
        }
        if (is_exact(ida, ">")) {
            if (!xreadgroup) {
                runnel__cmd_error(cmd, RUNNEL_ERR_XREAD_GT_ID);
                return RUNNEL_CMD_DONE;
            }
            continue;
        }
        if (!runnel__parse_strict_id(ida, &id)) {
            runnel__cmd_error(cmd, RUNNEL_ERR_ID_INVALID);
            return RUNNEL_CMD_DONE;
        }
    }

    /* Serve synchronously what is there. */
    runnel_resp_writer_t *w = cmd->w;
    size_t start = w->len;
    size_t outer = runnel_resp_defer(w);
    size_t served = 0;
    for (int k = 0; k < nkeys; k++) {
        runnel_str_t key = argv[streams_arg + k];
        runnel_str_t ida = argv[streams_arg + nkeys + k];
        size_t key_start = w->len;
        bool always = false;

        runnel__read_key_header(w, key);
        size_t inner = runnel_resp_defer(w);
        runnel__ranged_t rg;
        uint64_t total = 0;
        if (xreadgroup) {
            runnel_xreadgroup_args_t ga;
            memset(&ga, 0, sizeof ga);
            ga.key = key;
            ga.group = group;
            ga.consumer = consumer;
            ga.count = count;
            ga.noack = noack;
            ga.new_entries = runnel__xreadgroup_wants_new(ida);
            if (!ga.new_entries) {
                (void)runnel__parse_strict_id(ida, &ga.after);
                always = true;
            }
            /* The engine delivers (and puts in the PEL) every entry; past
             * the inline size the rest is only counted, then streamed. A
             * history read comes from the PEL, not a range: written whole. */
            runnel__ranged_begin(&rg, cmd, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, count, false, false);
            rg.enabled = rg.enabled && ga.new_entries;
            rc = runnel_xreadgroup(cmd->r, &ga, runnel__ranged_entry, &rg);
        } else {
            runnel_id_t after, lo;
            if (is_exact(ida, "$")) {
                /* Nothing can be newer than the last ID right now. */
                runnel__rollback(w, key_start);
                continue;
            }
            (void)runnel__parse_strict_id(ida, &after);
            lo = after;
            if (++lo.seq == 0)
                lo.ms++;   /* after the maximum ID nothing is read: lo unused */
            runnel__ranged_begin(&rg, cmd, key, lo, RUNNEL_ID_MAX, count > 0 ? count : -1,
                                 false, true);
            rc = runnel_xread(cmd->r, key, after, count, runnel__ranged_entry, &rg);
        }
        rc = runnel__ranged_end(&rg, rc, &total);
        if (rc == 0 && (total > 0 || always)) {
            runnel_resp_defer_array(w, inner, (size_t)total);
            rc = runnel__ranged_commit(&rg);
        }
        if (rc < 0) {
            runnel__ranged_moved(cmd, start, SIZE_MAX);
            runnel__rollback(w, start);
            if (rc == RUNNEL_ERR_NOGROUP_XREADGROUP)
                runnel__cmd_error_fmt(cmd, rc, key, group);
            else
                runnel__cmd_error(cmd, rc);
            return RUNNEL_CMD_DONE;
        }
        if (total == 0 && !always) {
            runnel__rollback(w, key_start);
            continue;
        }
        served++;
    }

    if (served > 0) {
        /* Streamed ranges recorded after the header move with its gap. */
        size_t gone = w->proto == 3 ? runnel_resp_defer_map(w, outer, served)
                                    : runnel_resp_defer_array(w, outer, served);
        if (gone > 0)
            runnel__ranged_moved(cmd, outer, gone);
        return RUNNEL_CMD_DONE;
    }
    runnel__rollback(w, start);
    if (timeout < 0 || cmd->in_exec) {
        /* No BLOCK, or BLOCK inside MULTI/EXEC: an immediate timeout. */
        runnel_resp_null_array(w);
        return RUNNEL_CMD_DONE;
    }
    return runnel__block_client(cmd, streams_arg, nkeys, xreadgroup, group, consumer, count,
                                noack, (uint64_t)timeout);
}

runnel_cmd_result_t runnel__cmd_xread(runnel_cmd_t *cmd)
{
    return read_generic(cmd, false);
}

runnel_cmd_result_t runnel__cmd_xreadgroup(runnel_cmd_t *cmd)
{
    return read_generic(cmd, true);
}
