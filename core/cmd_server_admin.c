/*
 * cmd_server_admin.c - WAIT, DEBUG SLEEP and MEMORY USAGE|HELP: the admin
 * commands a Redis tool or client library sends, answered as Redis 7.0.15
 * answers them on a primary with no replicas.
 *
 *   WAIT numreplicas timeout   0 replicas acknowledge, ever: with 0 wanted
 *                              it answers :0 at once; otherwise it blocks
 *                              for timeout ms (0 = forever) and answers :0,
 *                              as Redis does (inside MULTI it answers at
 *                              once, Redis's "deny blocking").
 *   DEBUG SLEEP seconds        stops the whole server for that long, as
 *                              Redis does (the host's sleep_us), then +OK.
 *                              Refused unless enable-debug-command allows it
 *                              (the dispatcher checks, as Redis's does).
 *   MEMORY USAGE key [SAMPLES n]  what the key costs: its RAM slots plus its
 *                              bytes in the store (runnel_key_usage, whose
 *                              file says how it counts); nil for no key.
 */
#include <string.h>

#include "cmd.h"

#define ERR_LIT(cmd, lit) runnel__cmd_error_text((cmd), (lit), sizeof(lit) - 1)

runnel_cmd_result_t runnel__cmd_wait(runnel_cmd_t *cmd)
{
    int64_t numreplicas, timeout;
    if (!runnel__arg_i64(cmd->argv[1], &numreplicas)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
        return RUNNEL_CMD_DONE;
    }
    if (!runnel__arg_i64(cmd->argv[2], &timeout)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_TIMEOUT_NOT_INTEGER);
        return RUNNEL_CMD_DONE;
    }
    if (timeout < 0) {
        runnel__cmd_error(cmd, RUNNEL_ERR_TIMEOUT_NEGATIVE);
        return RUNNEL_CMD_DONE;
    }
    if (numreplicas <= 0 || cmd->in_exec) {
        runnel_resp_int(cmd->w, 0);
        return RUNNEL_CMD_DONE;
    }
    return runnel__block_wait(cmd, (uint64_t)timeout);
}

/* strtod's reading of "[+-]digits[.digits]" as microseconds; what does not
 * parse is 0, as Redis's strtod(..., NULL) makes it. Saturates at an hour:
 * nobody means longer, and it keeps the arithmetic in range. */
static uint64_t seconds_to_us(runnel_str_t a)
{
    const uint64_t cap = 3600u * 1000000u;
    size_t i = 0;
    bool neg = false;
    uint64_t us = 0, scale = 1000000u;
    while (i < a.len && (a.p[i] == ' ' || a.p[i] == '\t'))
        i++;
    if (i < a.len && (a.p[i] == '+' || a.p[i] == '-'))
        neg = a.p[i++] == '-';
    for (; i < a.len && a.p[i] >= '0' && a.p[i] <= '9'; i++) {
        us = us * 10u + (uint64_t)(a.p[i] - '0') * 1000000u;
        if (us > cap)
            us = cap;
    }
    if (i < a.len && a.p[i] == '.')
        for (i++; i < a.len && a.p[i] >= '0' && a.p[i] <= '9' && scale > 1; i++) {
            scale /= 10u;
            us += (uint64_t)(a.p[i] - '0') * scale;
        }
    return neg ? 0 : (us > cap ? cap : us);
}

static const char *const debug_help[] = {
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
};

runnel_cmd_result_t runnel__cmd_debug(runnel_cmd_t *cmd)
{
    runnel_str_t sub = cmd->argv[1];
    if (runnel__arg_is(sub, "help") && cmd->argc == 2) {
        RUNNEL__CMD_HELP(cmd, "DEBUG", debug_help);
        return RUNNEL_CMD_DONE;
    }
    const runnel_server_ops_t *ops = cmd->srv->ops;
    if (runnel__arg_is(sub, "sleep") && cmd->argc == 3 && ops != NULL && ops->sleep_us != NULL) {
        ops->sleep_us(ops->ctx, seconds_to_us(cmd->argv[2]));
        runnel_resp_simple(cmd->w, "OK", 2);
        return RUNNEL_CMD_DONE;
    }
    /* Redis's addReplySubcommandSyntaxError: the name as typed, upper-cased. */
    char buf[260];
    size_t n = 0;
    static const char a[] = "ERR unknown subcommand or wrong number of arguments for '";
    static const char b[] = "'. Try DEBUG HELP.";
    memcpy(buf, a, sizeof a - 1);
    n = sizeof a - 1;
    for (size_t i = 0; i < sub.len && i < 128 && sub.p[i] != '\0'; i++)
        buf[n++] = sub.p[i];
    memcpy(buf + n, b, sizeof b - 1);
    n += sizeof b - 1;
    runnel__cmd_error_text(cmd, buf, n);
    return RUNNEL_CMD_DONE;
}

static const char *const memory_help[] = {
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
};

runnel_cmd_result_t runnel__cmd_memory(runnel_cmd_t *cmd)
{
    if (runnel__arg_is(cmd->argv[1], "help")) {
        RUNNEL__CMD_HELP(cmd, "MEMORY", memory_help);
        return RUNNEL_CMD_DONE;
    }
    /* SAMPLES is checked as Redis checks it; the count itself is not
     * needed (runnel_key_usage is exact). */
    for (int j = 3; j < cmd->argc; j++) {
        int64_t samples;
        if (runnel__arg_is(cmd->argv[j], "samples") && j + 1 < cmd->argc) {
            if (!runnel__arg_i64(cmd->argv[j + 1], &samples)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                return RUNNEL_CMD_DONE;
            }
            if (samples < 0) {
                runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
                return RUNNEL_CMD_DONE;
            }
            j++;
        } else {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return RUNNEL_CMD_DONE;
        }
    }
    runnel_key_usage_t u;
    int rc = runnel_key_usage(cmd->r, cmd->argv[2], &u);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY) {
        runnel_resp_null(cmd->w);
        return RUNNEL_CMD_DONE;
    }
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    uint64_t total = u.ram_bytes + u.store_bytes;
    runnel_resp_int(cmd->w, total > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)total);
    return RUNNEL_CMD_DONE;
}
