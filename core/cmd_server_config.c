/*
 * cmd_server_config.c - CONFIG GET|SET|RESETSTAT|REWRITE|HELP.
 *
 * Parameters come from three places, looked up in this order:
 *   1. the engine's: stream-node-max-entries, stream-node-max-bytes
 *      (runnel_set_node_limits);
 *   2. a few fixed answers clients ask for (save, appendonly, databases,
 *      ...): readable, and immutable as Redis reports for such parameters;
 *   3. the host's own (port, bind, maxclients, timeout, ...), through
 *      ops->config_get / config_set / config_names.
 * CONFIG GET takes glob patterns (case-insensitive, as Redis 7.0) and
 * replies a map of every matching parameter, each listed once.
 */
#include <string.h>

#include "cmd.h"
#include "internal.h"

#define ERR_LIT(cmd, lit) runnel__cmd_error_text((cmd), (lit), sizeof(lit) - 1)

/* Fixed parameters: what this server is, in Redis's terms. */
typedef struct fixed_param {
    const char *name;
    const char *value;
} fixed_param_t;

static const fixed_param_t fixed_params[] = {
    {"appendonly", "no"},
    {"save", ""},
    {"cluster-enabled", "no"},
    {"maxmemory", "0"},
    {"maxmemory-policy", "noeviction"},
    {"notify-keyspace-events", ""},
    {"lua-time-limit", "5000"},
    {"busy-reply-threshold", "5000"},
    {NULL, NULL},
};

static const char *const engine_params[] = {"stream-node-max-entries", "stream-node-max-bytes",
                                            "databases", NULL};

static size_t u64_to_text(uint64_t v, char *out)
{
    char tmp[20];
    size_t k = 0, n = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (k > 0)
        out[n++] = tmp[--k];
    return n;
}

static uint32_t current_entries(const runnel_cmd_t *cmd)
{
    if (cmd->srv->node_max_entries != 0)
        return cmd->srv->node_max_entries;
    return runnel__config(cmd->r)->node_max_entries;
}

static uint32_t current_bytes(const runnel_cmd_t *cmd)
{
    if (cmd->srv->node_max_bytes != 0)
        return cmd->srv->node_max_bytes;
    return runnel__config(cmd->r)->node_max_bytes;
}

/* Value of a parameter by exact (lower-case) name; -1 if unknown. */
static int param_get(runnel_cmd_t *cmd, const char *name, char *buf, size_t cap)
{
    if (strcmp(name, "stream-node-max-entries") == 0)
        return (int)u64_to_text(current_entries(cmd), buf);
    if (strcmp(name, "stream-node-max-bytes") == 0)
        return (int)u64_to_text(current_bytes(cmd), buf);
    if (strcmp(name, "databases") == 0)
        return (int)u64_to_text(runnel__config(cmd->r)->databases, buf);
    for (size_t i = 0; fixed_params[i].name != NULL; i++) {
        if (strcmp(name, fixed_params[i].name) == 0) {
            size_t n = strlen(fixed_params[i].value);
            memcpy(buf, fixed_params[i].value, n);
            return (int)n;
        }
    }
    const runnel_server_ops_t *ops = cmd->srv->ops;
    if (ops != NULL && ops->config_get != NULL)
        return ops->config_get(ops->ctx, name, buf, cap);
    return -1;
}

/* Every known parameter name, in listing order, through fn. */
static void param_names(const runnel_cmd_t *cmd, void (*fn)(void *ctx, const char *name),
                        void *ctx)
{
    for (size_t i = 0; engine_params[i] != NULL; i++)
        fn(ctx, engine_params[i]);
    for (size_t i = 0; fixed_params[i].name != NULL; i++)
        fn(ctx, fixed_params[i].name);
    const runnel_server_ops_t *ops = cmd->srv->ops;
    if (ops != NULL && ops->config_names != NULL)
        for (size_t i = 0; ops->config_names[i] != NULL; i++)
            fn(ctx, ops->config_names[i]);
}

typedef struct get_ctx {
    runnel_cmd_t *cmd;
    size_t pairs;
} get_ctx_t;

/* True if any of the CONFIG GET patterns matches; a name matched by two
 * patterns is still listed once (Redis 7.0 dedups through a dict). */
static bool any_pattern(const runnel_cmd_t *cmd, const char *name)
{
    size_t nl = strlen(name);
    for (int i = 2; i < cmd->argc; i++)
        if (runnel__glob_match(cmd->argv[i].p, cmd->argv[i].len, name, nl, true))
            return true;
    return false;
}

static void get_one(void *arg, const char *name)
{
    get_ctx_t *g = arg;
    if (!any_pattern(g->cmd, name))
        return;
    char val[256];
    int n = param_get(g->cmd, name, val, sizeof val);
    if (n < 0)
        return;
    if ((size_t)n > sizeof val)
        n = (int)sizeof val;
    runnel_resp_bulk(g->cmd->w, name, strlen(name));
    runnel_resp_bulk(g->cmd->w, val, (size_t)n);
    g->pairs++;
}

static void config_get(runnel_cmd_t *cmd)
{
    get_ctx_t g = {cmd, 0};
    size_t mark = runnel_resp_defer(cmd->w);
    param_names(cmd, get_one, &g);
    runnel_resp_defer_map(cmd->w, mark, g.pairs);
}

/* Lower-cases a parameter name into buf (NUL-terminated); false if too long. */
static bool lower_name(runnel_str_t a, char *buf, size_t cap)
{
    if (a.len >= cap)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        char ch = a.p[i];
        buf[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    buf[a.len] = '\0';
    return true;
}

typedef struct known_ctx {
    const char *name;
    bool found;
} known_ctx_t;

static void known_fn(void *arg, const char *name)
{
    known_ctx_t *k = arg;
    if (strcmp(k->name, name) == 0)
        k->found = true;
}

/* "CONFIG SET failed (possibly related to argument '<name>') - <why>" */
static void set_failed(runnel_cmd_t *cmd, const char *name, const char *why)
{
    char buf[256];
    size_t n = 0;
    const char *parts[] = {"ERR CONFIG SET failed (possibly related to argument '", name,
                           "') - ", why};
    for (size_t i = 0; i < 4; i++) {
        size_t l = strlen(parts[i]);
        if (l > sizeof buf - n)
            l = sizeof buf - n;
        memcpy(buf + n, parts[i], l);
        n += l;
    }
    runnel__cmd_error_text(cmd, buf, n);
}

/* Redis's string2ll for config values. */
static bool parse_i64(runnel_str_t v, int64_t *out)
{
    return runnel__arg_i64(v, out);
}

/* Redis's memtoull: <n>[b|k|kb|m|mb|g|gb], case-insensitive. */
static bool parse_memory(runnel_str_t v, uint64_t *out)
{
    size_t i = 0;
    uint64_t n = 0;
    if (v.len == 0)
        return false;
    while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9') {
        uint64_t d = (uint64_t)(v.p[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
        i++;
    }
    if (i == 0)
        return false;
    runnel_str_t unit = {v.p + i, v.len - i};
    uint64_t mul;
    if (unit.len == 0 || runnel__arg_is(unit, "b"))
        mul = 1;
    else if (runnel__arg_is(unit, "k"))
        mul = 1000;
    else if (runnel__arg_is(unit, "kb"))
        mul = 1024;
    else if (runnel__arg_is(unit, "m"))
        mul = 1000 * 1000;
    else if (runnel__arg_is(unit, "mb"))
        mul = 1024 * 1024;
    else if (runnel__arg_is(unit, "g"))
        mul = 1000ull * 1000 * 1000;
    else if (runnel__arg_is(unit, "gb"))
        mul = 1024ull * 1024 * 1024;
    else
        return false;
    if (n != 0 && mul > UINT64_MAX / n)
        return false;
    *out = n * mul;
    return true;
}

/* Validates and applies one pair; false with the error replied. */
static bool set_one(runnel_cmd_t *cmd, const char *name, runnel_str_t val)
{
    if (strcmp(name, "stream-node-max-entries") == 0 ||
        strcmp(name, "stream-node-max-bytes") == 0) {
        bool entries = name[16] == 'e';   /* stream-node-max-[e]ntries */
        uint64_t v;
        if (entries) {
            int64_t s;
            if (!parse_i64(val, &s)) {
                set_failed(cmd, name, "argument couldn't be parsed into an integer");
                return false;
            }
            if (s < 0) {
                set_failed(cmd, name,
                           "argument must be between 0 and 9223372036854775807 inclusive");
                return false;
            }
            v = (uint64_t)s;
        } else {
            if (!parse_memory(val, &v)) {
                set_failed(cmd, name, "argument must be a memory value");
                return false;
            }
            if (v > 9223372036854775807ull) {
                set_failed(cmd, name,
                           "argument must be between 0 and 9223372036854775807 inclusive");
                return false;
            }
        }
        if (v > UINT32_MAX) {
            set_failed(cmd, name, "value is larger than this runnel store supports");
            return false;
        }
        uint32_t e = entries ? (uint32_t)v : current_entries(cmd);
        uint32_t b = entries ? current_bytes(cmd) : (uint32_t)v;
        if (runnel_set_node_limits(cmd->r, e, b) != 0) {
            set_failed(cmd, name,
                       "value is larger than this store's node_entries_cap (set at start-up)");
            return false;
        }
        cmd->srv->node_max_entries = e;
        cmd->srv->node_max_bytes = b;
        return true;
    }
    for (size_t i = 0; fixed_params[i].name != NULL; i++) {
        if (strcmp(name, fixed_params[i].name) == 0) {
            /* Setting what is already true is fine (clients do
             * "CONFIG SET appendonly no"); anything else is not ours. */
            if (runnel__arg_is(val, fixed_params[i].value))
                return true;
            set_failed(cmd, name, "can't set immutable config");
            return false;
        }
    }
    if (strcmp(name, "databases") == 0) {
        set_failed(cmd, name, "can't set immutable config");
        return false;
    }
    const runnel_server_ops_t *ops = cmd->srv->ops;
    int rc = -1;
    if (ops != NULL && ops->config_set != NULL) {
        /* The host gets a NUL-terminated copy only if short; values are
         * counted, so pass the argument as is. */
        rc = ops->config_set(ops->ctx, name, val.p, val.len);
    }
    if (rc == 0)
        return true;
    if (rc == -1) {
        set_failed(cmd, name, "can't set immutable config");
        return false;
    }
    set_failed(cmd, name, "argument couldn't be parsed or is out of range");
    return false;
}

/*
 * CONFIG SET name value [name value ...]
 *
 * As in Redis 7.0: an odd argument count is an arity error; an unknown
 * name is reported before anything is applied; then the pairs are applied
 * in order and the first failing one is reported.
 */
static void config_set(runnel_cmd_t *cmd)
{
    if (cmd->argc < 4) {
        runnel__cmd_error_arity_name(cmd, "config|set");
        return;
    }
    if (cmd->argc % 2 != 0) {
        runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
        return;
    }
    char name[64];
    for (int i = 2; i < cmd->argc; i += 2) {
        known_ctx_t k = {name, false};
        if (lower_name(cmd->argv[i], name, sizeof name))
            param_names(cmd, known_fn, &k);
        if (!k.found) {
            char buf[200];
            size_t n = 0;
            static const char pre[] = "ERR Unknown option or number of arguments for CONFIG SET - '";
            memcpy(buf, pre, sizeof pre - 1);
            n = sizeof pre - 1;
            size_t l = cmd->argv[i].len > 128 ? 128 : cmd->argv[i].len;
            memcpy(buf + n, cmd->argv[i].p, l);
            n += l;
            buf[n++] = '\'';
            runnel__cmd_error_text(cmd, buf, n);
            return;
        }
    }
    for (int i = 2; i < cmd->argc; i += 2) {
        (void)lower_name(cmd->argv[i], name, sizeof name);
        if (!set_one(cmd, name, cmd->argv[i + 1]))
            return;
    }
    runnel_resp_simple(cmd->w, "OK", 2);
}

/* CONFIG RESETSTAT: the counters INFO stats/commandstats/errorstats show. */
static void config_resetstat(runnel_cmd_t *cmd)
{
    runnel_server_t *s = cmd->srv;
    if (s->cmdstats != NULL)
        memset(s->cmdstats, 0, runnel_cmd_count() * sizeof s->cmdstats[0]);
    s->total_commands = 0;
    s->total_connections = 0;
    s->rejected_connections = 0;
    s->total_error_replies = 0;
    memset(s->error_codes, 0, sizeof s->error_codes);
    memset(s->error_counts, 0, sizeof s->error_counts);
    s->keyspace_hits = 0;
    s->keyspace_misses = 0;
    runnel_resp_simple(cmd->w, "OK", 2);
}

/* CONFIG HELP, as Redis 7.0.15 words it (runnel__cmd_reply_help adds the
 * header and the HELP lines). */
static const char *const config_help[] = {
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
};

runnel_cmd_result_t runnel__cmd_config(runnel_cmd_t *cmd)
{
    runnel_str_t sub = cmd->argv[1];
    if (runnel__arg_is(sub, "get")) {
        if (cmd->argc < 3)
            runnel__cmd_error_arity_name(cmd, "config|get");
        else
            config_get(cmd);
    } else if (runnel__arg_is(sub, "set")) {
        config_set(cmd);
    } else if (runnel__arg_is(sub, "resetstat")) {
        if (cmd->argc != 2)
            runnel__cmd_error_arity_name(cmd, "config|resetstat");
        else
            config_resetstat(cmd);
    } else if (runnel__arg_is(sub, "rewrite")) {
        if (cmd->argc != 2)
            runnel__cmd_error_arity_name(cmd, "config|rewrite");
        else
            ERR_LIT(cmd, "ERR The server is running without a config file");
    } else if (runnel__arg_is(sub, "help")) {
        if (cmd->argc != 2)
            runnel__cmd_error_arity_name(cmd, "config|help");
        else
            RUNNEL__CMD_HELP(cmd, "CONFIG", config_help);
    } else {
        runnel__cmd_error_unknown_sub(cmd, "CONFIG");
    }
    return RUNNEL_CMD_DONE;
}
