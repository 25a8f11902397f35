/*
 * cmd_server.c - connection and key-space commands, and the server command
 * table (runnel__server_commands).
 *
 * Connection: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET.
 * Key space:  FLUSHALL, FLUSHDB, DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN,
 *             RENAME, DBSIZE, OBJECT, TIME.
 * The bigger ones live next door: CLIENT (cmd_server_client.c), COMMAND
 * (cmd_server_command.c), CONFIG (cmd_server_config.c), INFO (cmd_info.c).
 *
 * Every reply and error text is Redis 7.0.15's. The only key type this
 * server stores is a stream, so TYPE answers "stream" or "none" and
 * WRONGTYPE never arises here.
 */
#include <string.h>

#include "cmd.h"

#define REDIS_VERSION_TEXT "7.0.15"

/* Error helper for literal texts. */
#define ERR_LIT(cmd, lit) runnel__cmd_error_text((cmd), (lit), sizeof(lit) - 1)

static size_t cstrlen(const char *s)
{
    return strlen(s);
}

/* Appends a counted string to buf at *n (bounded by cap). */
static void buf_put(char *buf, size_t cap, size_t *n, const char *p, size_t len)
{
    if (*n >= cap)
        return;
    if (len > cap - *n)
        len = cap - *n;
    memcpy(buf + *n, p, len);
    *n += len;
}

void runnel__cmd_error_unknown_sub(runnel_cmd_t *cmd, const char *container_upper)
{
    /* Redis: "unknown subcommand '%.128s'. Try %s HELP." - the subcommand
     * is quoted as typed and cut at 128 bytes. */
    char buf[256];
    size_t n = 0;
    runnel_str_t sub = cmd->argc > 1 ? cmd->argv[1] : (runnel_str_t){"", 0};
    buf_put(buf, sizeof buf, &n, "ERR unknown subcommand '", 24);
    buf_put(buf, sizeof buf, &n, sub.p, sub.len > 128 ? 128 : sub.len);
    buf_put(buf, sizeof buf, &n, "'. Try ", 7);
    buf_put(buf, sizeof buf, &n, container_upper, cstrlen(container_upper));
    buf_put(buf, sizeof buf, &n, " HELP.", 6);
    runnel__cmd_error_text(cmd, buf, n);
}

void runnel__cmd_error_arity_name(runnel_cmd_t *cmd, const char *full)
{
    char buf[128];
    size_t n = 0;
    buf_put(buf, sizeof buf, &n, "ERR wrong number of arguments for '", 35);
    buf_put(buf, sizeof buf, &n, full, cstrlen(full));
    buf_put(buf, sizeof buf, &n, "' command", 9);
    runnel__cmd_error_text(cmd, buf, n);
}

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

static runnel_cmd_result_t cmd_ping(runnel_cmd_t *cmd)
{
    if (cmd->argc > 2) {
        runnel__cmd_error_arity_name(cmd, "ping");
        return RUNNEL_CMD_DONE;
    }
    if (cmd->argc == 1)
        runnel_resp_simple(cmd->w, "PONG", 4);
    else
        runnel_resp_bulk(cmd->w, cmd->argv[1].p, cmd->argv[1].len);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_echo(runnel_cmd_t *cmd)
{
    runnel_resp_bulk(cmd->w, cmd->argv[1].p, cmd->argv[1].len);
    return RUNNEL_CMD_DONE;
}

static bool str_eq(runnel_str_t a, const char *b, size_t blen)
{
    return a.len == blen && (blen == 0 || memcmp(a.p, b, blen) == 0);
}

/* Compares a password without an early exit on the first differing byte,
 * so the reply time does not tell an attacker how much of a guess was
 * right (Redis uses a constant-time compare for the same reason). */
static bool password_ok(const runnel_server_t *s, runnel_str_t pass)
{
    if (s->requirepass_len == 0)
        return true;   /* the default user has "nopass": anything goes */
    if (pass.len != s->requirepass_len)
        return false;
    unsigned diff = 0;
    for (size_t i = 0; i < pass.len; i++)
        diff |= (unsigned)((unsigned char)pass.p[i] ^ (unsigned char)s->requirepass[i]);
    return diff == 0;
}

/* ACLAuthenticateUser for the only user we have, "default". */
static bool authenticate(runnel_cmd_t *cmd, runnel_str_t user, runnel_str_t pass)
{
    if (!str_eq(user, "default", 7) || !password_ok(cmd->srv, pass)) {
        ERR_LIT(cmd, "WRONGPASS invalid username-password pair or user is disabled.");
        return false;
    }
    cmd->client->authenticated = true;
    return true;
}

static runnel_cmd_result_t cmd_auth(runnel_cmd_t *cmd)
{
    if (cmd->argc > 3) {
        runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
        return RUNNEL_CMD_DONE;
    }
    if (cmd->argc == 2) {
        if (cmd->srv->requirepass_len == 0) {
            ERR_LIT(cmd, "ERR AUTH <password> called without any password configured for "
                         "the default user. Are you sure your configuration is correct?");
            return RUNNEL_CMD_DONE;
        }
        if (authenticate(cmd, (runnel_str_t){"default", 7}, cmd->argv[1]))
            runnel_resp_simple(cmd->w, "OK", 2);
        return RUNNEL_CMD_DONE;
    }
    if (authenticate(cmd, cmd->argv[1], cmd->argv[2]))
        runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

/* Redis's validateClientName: printable ASCII without spaces. Returns the
 * error text or NULL. */
static const char *client_name_error(runnel_str_t name)
{
    for (size_t i = 0; i < name.len; i++) {
        unsigned char ch = (unsigned char)name.p[i];
        if (ch < '!' || ch > '~')
            return "ERR Client names cannot contain spaces, newlines or special characters.";
    }
    if (name.len >= RUNNEL_CLIENT_NAME_MAX)
        return "ERR Client name is too long (runnel keeps at most 63 bytes)";
    return NULL;
}

/* Sets (or with an empty name clears) the client's name; 0 or an error
 * already replied. Shared with CLIENT SETNAME. */

int runnel__client_setname(runnel_cmd_t *cmd, runnel_str_t name)
{
    const char *err = client_name_error(name);
    if (err != NULL) {
        runnel__cmd_error_text(cmd, err, cstrlen(err));
        return -1;
    }
    memcpy(cmd->client->name, name.p, name.len);
    cmd->client->name[name.len] = '\0';
    cmd->client->name_len = (uint32_t)name.len;
    return 0;
}

static void bulk_cstr(runnel_resp_writer_t *w, const char *s)
{
    runnel_resp_bulk(w, s, cstrlen(s));
}

/*
 * HELLO [protover [AUTH user pass] [SETNAME name]]
 *
 * Checks happen in Redis's order: the version first (non-integer, then out
 * of 2..3), then the options left to right, then the credentials, then the
 * NOAUTH rule, and only then is anything changed.
 */
static runnel_cmd_result_t cmd_hello(runnel_cmd_t *cmd)
{
    runnel_client_t *c = cmd->client;
    int64_t ver = 0;
    int next = 1;
    if (cmd->argc >= 2) {
        if (!runnel__arg_i64(cmd->argv[1], &ver)) {
            ERR_LIT(cmd, "ERR Protocol version is not an integer or out of range");
            return RUNNEL_CMD_DONE;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            ERR_LIT(cmd, "NOPROTO unsupported protocol version");
            return RUNNEL_CMD_DONE;
        }
    }
    const runnel_str_t *user = NULL, *pass = NULL, *name = NULL;
    for (int j = next; j < cmd->argc; j++) {
        int more = cmd->argc - 1 - j;
        if (runnel__arg_is(cmd->argv[j], "auth") && more >= 2) {
            user = &cmd->argv[j + 1];
            pass = &cmd->argv[j + 2];
            j += 2;
        } else if (runnel__arg_is(cmd->argv[j], "setname") && more >= 1) {
            name = &cmd->argv[j + 1];
            const char *err = client_name_error(*name);
            if (err != NULL) {
                runnel__cmd_error_text(cmd, err, cstrlen(err));
                return RUNNEL_CMD_DONE;
            }
            j++;
        } else {
            char buf[200];
            size_t n = 0;
            buf_put(buf, sizeof buf, &n, "ERR Syntax error in HELLO option '", 34);
            buf_put(buf, sizeof buf, &n, cmd->argv[j].p,
                    cmd->argv[j].len > 128 ? 128 : cmd->argv[j].len);
            buf_put(buf, sizeof buf, &n, "'", 1);
            runnel__cmd_error_text(cmd, buf, n);
            return RUNNEL_CMD_DONE;
        }
    }
    if (user != NULL && !authenticate(cmd, *user, *pass))
        return RUNNEL_CMD_DONE;
    if (!c->authenticated) {
        ERR_LIT(cmd, "NOAUTH HELLO must be called with the client already authenticated, "
                     "otherwise the HELLO AUTH <user> <pass> option can be used to "
                     "authenticate the client and select the RESP protocol version at the "
                     "same time");
        return RUNNEL_CMD_DONE;
    }
    if (name != NULL && runnel__client_setname(cmd, *name) != 0)
        return RUNNEL_CMD_DONE;
    if (ver != 0) {
        c->resp = (uint8_t)ver;
        cmd->w->proto = (uint8_t)ver;
    }
    runnel_resp_writer_t *w = cmd->w;
    runnel_resp_map(w, 7);
    bulk_cstr(w, "server");  bulk_cstr(w, "redis");
    bulk_cstr(w, "version"); bulk_cstr(w, REDIS_VERSION_TEXT);
    bulk_cstr(w, "proto");   runnel_resp_int(w, c->resp);
    bulk_cstr(w, "id");      runnel_resp_int(w, (int64_t)c->id);
    bulk_cstr(w, "mode");    bulk_cstr(w, "standalone");
    bulk_cstr(w, "role");    bulk_cstr(w, "master");
    bulk_cstr(w, "modules"); runnel_resp_array(w, 0);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_select(runnel_cmd_t *cmd)
{
    int64_t id;
    /* getIntFromObjectOrReply: must be a long long that fits an int. */
    if (!runnel__arg_i64(cmd->argv[1], &id)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
        return RUNNEL_CMD_DONE;
    }
    if (id < INT32_MIN || id > INT32_MAX) {
        ERR_LIT(cmd, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return RUNNEL_CMD_DONE;
    }
    if (id < 0 || runnel_select(cmd->r, (uint32_t)id) != 0) {
        ERR_LIT(cmd, "ERR DB index is out of range");
        return RUNNEL_CMD_DONE;
    }
    cmd->client->db = (uint32_t)id;
    runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_quit(runnel_cmd_t *cmd)
{
    runnel_resp_simple(cmd->w, "OK", 2);
    cmd->client->close_after_reply = true;
    return RUNNEL_CMD_CLOSE;
}

/*
 * RESET: back to a fresh connection's state - out of MULTI, no WATCHed
 * keys, database 0, RESP2, no name, and not authenticated when a password
 * is required (Redis then needs AUTH again).
 */
static runnel_cmd_result_t cmd_reset(runnel_cmd_t *cmd)
{
    runnel_client_t *c = cmd->client;
    runnel__cmd_multi_discard(cmd->srv, c);
    c->db = 0;
    (void)runnel_select(cmd->r, 0);
    c->resp = 2;
    cmd->w->proto = 2;
    c->name_len = 0;
    c->name[0] = '\0';
    if (cmd->srv->requirepass_len != 0)
        c->authenticated = false;
    /* Redis's RESET also ends MONITOR and CLIENT NO-EVICT. */
    if (c->monitor && cmd->srv->monitors > 0)
        cmd->srv->monitors--;
    c->monitor = false;
    c->no_evict = false;
    runnel_resp_simple(cmd->w, "RESET", 5);
    return RUNNEL_CMD_DONE;
}

/* ------------------------------------------------------------------ */
/* Key space                                                           */
/* ------------------------------------------------------------------ */

/* FLUSHALL/FLUSHDB [ASYNC|SYNC] (getFlushCommandFlags). */
static bool flush_args_ok(runnel_cmd_t *cmd)
{
    if (cmd->argc > 2)
        return false;
    if (cmd->argc == 2)
        return runnel__arg_is(cmd->argv[1], "sync") || runnel__arg_is(cmd->argv[1], "async");
    return true;
}

static void reply_status(runnel_cmd_t *cmd, int rc)
{
    if (rc < 0)
        runnel__cmd_error(cmd, rc);
    else
        runnel_resp_simple(cmd->w, "OK", 2);
}

static runnel_cmd_result_t cmd_flushall(runnel_cmd_t *cmd)
{
    if (!flush_args_ok(cmd)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
        return RUNNEL_CMD_DONE;
    }
    reply_status(cmd, runnel_flushall(cmd->r));
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_flushdb(runnel_cmd_t *cmd)
{
    if (!flush_args_ok(cmd)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
        return RUNNEL_CMD_DONE;
    }
    reply_status(cmd, runnel_flushdb(cmd->r));
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_del(runnel_cmd_t *cmd)
{
    int64_t n = 0;
    for (int i = 1; i < cmd->argc; i++) {
        int rc = runnel_del(cmd->r, cmd->argv[i]);
        if (rc < 0) {
            runnel__cmd_error(cmd, rc);
            return RUNNEL_CMD_DONE;
        }
        n += rc;
    }
    runnel_resp_int(cmd->w, n);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_exists(runnel_cmd_t *cmd)
{
    int64_t n = 0;
    for (int i = 1; i < cmd->argc; i++) {
        int rc = runnel_exists(cmd->r, cmd->argv[i]);
        if (rc < 0) {
            runnel__cmd_error(cmd, rc);
            return RUNNEL_CMD_DONE;
        }
        n += rc;
    }
    runnel_resp_int(cmd->w, n);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_type(runnel_cmd_t *cmd)
{
    int rc = runnel_exists(cmd->r, cmd->argv[1]);
    if (rc < 0)
        runnel__cmd_error(cmd, rc);
    else if (rc > 0)
        runnel_resp_simple(cmd->w, "stream", 6);
    else
        runnel_resp_simple(cmd->w, "none", 4);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_dbsize(runnel_cmd_t *cmd)
{
    runnel_resp_int(cmd->w, (int64_t)runnel_dbsize(cmd->r));
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_rename(runnel_cmd_t *cmd)
{
    reply_status(cmd, runnel_rename(cmd->r, cmd->argv[1], cmd->argv[2]));
    return RUNNEL_CMD_DONE;
}

/* KEYS / SCAN collect matching keys straight into the reply. */
typedef struct key_filter {
    runnel_resp_writer_t *w;
    runnel_str_t pattern;     /* p == NULL: everything */
    bool type_none;           /* TYPE filter that no stream satisfies */
    size_t n;
} key_filter_t;

static int key_filter_fn(void *ctx, runnel_str_t key)
{
    key_filter_t *f = ctx;
    if (f->type_none)
        return 0;
    if (f->pattern.p != NULL &&
        !runnel__glob_match(f->pattern.p, f->pattern.len, key.p, key.len, false))
        return 0;
    runnel_resp_bulk(f->w, key.p, key.len);
    f->n++;
    return 0;
}

static runnel_cmd_result_t cmd_keys(runnel_cmd_t *cmd)
{
    key_filter_t f = {cmd->w, cmd->argv[1], false, 0};
    /* "*" alone matches everything: skip the matcher (Redis does too). */
    if (f.pattern.len == 1 && f.pattern.p[0] == '*')
        f.pattern.p = NULL;
    size_t mark = runnel_resp_defer(cmd->w);
    uint64_t next = 0;
    int rc = runnel_scan(cmd->r, 0, 0, &next, key_filter_fn, &f);
    if (rc < 0) {
        /* Nothing of the half-written array may reach the client. */
        cmd->w->len = mark;
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    runnel_resp_defer_array(cmd->w, mark, f.n);
    return RUNNEL_CMD_DONE;
}

/* parseScanCursorOrReply: an unsigned decimal. */
static bool parse_cursor(runnel_str_t a, uint64_t *out)
{
    if (a.len == 0 || a.len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < a.len; i++) {
        if (a.p[i] < '0' || a.p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(a.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* The reply's cursor is only known after the keys were visited (and
 * written), so it is slid in front of the key array afterwards: one
 * memmove inside the output buffer, no scratch copy of the keys. */
static void insert_cursor(runnel_resp_writer_t *w, size_t at, uint64_t cursor)
{
    char digits[20];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + cursor % 10);
        cursor /= 10;
    } while (cursor != 0);
    char bulk[32];
    size_t n = 0;
    bulk[n++] = '$';
    if (nd >= 10)
        bulk[n++] = (char)('0' + nd / 10);
    bulk[n++] = (char)('0' + nd % 10);
    bulk[n++] = '\r';
    bulk[n++] = '\n';
    while (nd > 0)
        bulk[n++] = digits[--nd];
    bulk[n++] = '\r';
    bulk[n++] = '\n';
    if (w->overflow)
        return;
    if (w->cap - w->len < n) {
        w->overflow = true;
        return;
    }
    memmove(w->buf + at + n, w->buf + at, w->len - at);
    memcpy(w->buf + at, bulk, n);
    w->len += n;
}

/*
 * SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
 *
 * Options are parsed in full before anything is visited, as Redis does, so
 * a syntax error never leaves a half-written reply. The cursor is whatever
 * the engine's runnel_scan hands back.
 */
static runnel_cmd_result_t cmd_scan(runnel_cmd_t *cmd)
{
    uint64_t cursor;
    if (!parse_cursor(cmd->argv[1], &cursor)) {
        ERR_LIT(cmd, "ERR invalid cursor");
        return RUNNEL_CMD_DONE;
    }
    key_filter_t f = {cmd->w, {NULL, 0}, false, 0};
    int64_t count = 10;
    for (int i = 2; i < cmd->argc; i += 2) {
        bool has_val = i + 1 < cmd->argc;
        if (runnel__arg_is(cmd->argv[i], "count") && has_val) {
            if (!runnel__arg_i64(cmd->argv[i + 1], &count)) {
                runnel__cmd_error(cmd, RUNNEL_ERR_NOT_INTEGER);
                return RUNNEL_CMD_DONE;
            }
            if (count < 1) {
                runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
                return RUNNEL_CMD_DONE;
            }
        } else if (runnel__arg_is(cmd->argv[i], "match") && has_val) {
            f.pattern = cmd->argv[i + 1];
            if (f.pattern.len == 1 && f.pattern.p[0] == '*')
                f.pattern.p = NULL;
        } else if (runnel__arg_is(cmd->argv[i], "type") && has_val) {
            f.type_none = !runnel__arg_is(cmd->argv[i + 1], "stream");
        } else {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return RUNNEL_CMD_DONE;
        }
    }
    runnel_resp_writer_t *w = cmd->w;
    size_t start = w->len;
    runnel_resp_array(w, 2);
    size_t mark = runnel_resp_defer(w);
    uint64_t next = 0;
    int rc = runnel_scan(cmd->r, cursor, (uint64_t)count, &next, key_filter_fn, &f);
    if (rc < 0) {
        w->len = start;
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    runnel_resp_defer_array(w, mark, f.n);
    insert_cursor(w, mark, next);
    return RUNNEL_CMD_DONE;
}

/* OBJECT HELP, as Redis 7.0.15 words it (runnel__cmd_reply_help adds the
 * header and the HELP lines). */
static const char *const object_help[] = {
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
};

/* OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP <key> */
static runnel_cmd_result_t cmd_object(runnel_cmd_t *cmd)
{
    runnel_str_t sub = cmd->argv[1];
    const char *full = NULL;
    if (runnel__arg_is(sub, "help")) {
        if (cmd->argc != 2) {
            runnel__cmd_error_arity_name(cmd, "object|help");
            return RUNNEL_CMD_DONE;
        }
        RUNNEL__CMD_HELP(cmd, "OBJECT", object_help);
        return RUNNEL_CMD_DONE;
    }
    if (runnel__arg_is(sub, "encoding"))
        full = "object|encoding";
    else if (runnel__arg_is(sub, "refcount"))
        full = "object|refcount";
    else if (runnel__arg_is(sub, "idletime"))
        full = "object|idletime";
    else if (runnel__arg_is(sub, "freq"))
        full = "object|freq";
    else {
        runnel__cmd_error_unknown_sub(cmd, "OBJECT");
        return RUNNEL_CMD_DONE;
    }
    if (cmd->argc != 3) {
        runnel__cmd_error_arity_name(cmd, full);
        return RUNNEL_CMD_DONE;
    }
    int rc = runnel_exists(cmd->r, cmd->argv[2]);
    if (rc < 0) {
        runnel__cmd_error(cmd, rc);
        return RUNNEL_CMD_DONE;
    }
    if (rc == 0) {
        runnel_resp_null(cmd->w);
        return RUNNEL_CMD_DONE;
    }
    if (full[7] == 'e')
        bulk_cstr(cmd->w, "stream");
    else if (full[7] == 'r')
        runnel_resp_int(cmd->w, 1);
    else if (full[7] == 'i')
        runnel_resp_int(cmd->w, 0);
    else
        ERR_LIT(cmd, "ERR An LFU maxmemory policy is not selected, access frequency not "
                     "tracked. Please note that when switching between policies at runtime "
                     "LRU and LFU data will take some time to adjust.");
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_time(runnel_cmd_t *cmd)
{
    uint64_t ms = cmd->now_ms;
    runnel_resp_array(cmd->w, 2);
    runnel_resp_bulk_u64(cmd->w, ms / 1000);
    runnel_resp_bulk_u64(cmd->w, (ms % 1000) * 1000);
    return RUNNEL_CMD_DONE;
}

/*
 * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], as Redis 7.0 parses it.
 * There is nothing like an RDB save to wait for: the host commits the store
 * and stops, so the modifiers only need to be valid, and ABORT never finds
 * a shutdown in progress. On success Redis sends no reply, it just closes.
 */
static runnel_cmd_result_t cmd_shutdown(runnel_cmd_t *cmd)
{
    bool save = false, nosave = false, abort_req = false;
    for (int i = 1; i < cmd->argc; i++) {
        runnel_str_t a = cmd->argv[i];
        if (runnel__arg_is(a, "nosave"))
            nosave = true;
        else if (runnel__arg_is(a, "save"))
            save = true;
        else if (runnel__arg_is(a, "abort"))
            abort_req = true;
        else if (!runnel__arg_is(a, "now") && !runnel__arg_is(a, "force")) {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return RUNNEL_CMD_DONE;
        }
    }
    if ((save && nosave) || (abort_req && cmd->argc != 2)) {
        runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
        return RUNNEL_CMD_DONE;
    }
    if (abort_req) {
        static const char msg[] = "ERR No shutdown in progress.";
        runnel__cmd_error_text(cmd, msg, sizeof msg - 1);
        return RUNNEL_CMD_DONE;
    }
    const runnel_server_ops_t *ops = cmd->srv->ops;
    if (ops == NULL || ops->shutdown == NULL || ops->shutdown(ops->ctx) != 0) {
        static const char msg[] = "ERR Errors trying to SHUTDOWN. Check logs.";
        runnel__cmd_error_text(cmd, msg, sizeof msg - 1);
        return RUNNEL_CMD_DONE;
    }
    return RUNNEL_CMD_CLOSE;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

#define W RUNNEL_CMDF_WRITE
#define R RUNNEL_CMDF_READONLY
#define NA RUNNEL_CMDF_NOAUTH
#define NM RUNNEL_CMDF_NOMULTI
#define F RUNNEL_CMDF_FAST

static const runnel_cmd_def_t memory_subcommands[] = {
    {"usage",     -3, R,         runnel__cmd_memory,  NULL, 2, 2, 1},
    {"help",       2, 0,         runnel__cmd_memory,  NULL, 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};

const runnel_cmd_def_t runnel__server_commands[] = {
    /* name       arity flags    handler         sub   keys */
    {"ping",      -1, F,         cmd_ping,       NULL, 0, 0, 0},
    {"echo",       2, F,         cmd_echo,       NULL, 0, 0, 0},
    {"hello",     -1, NA | F,    cmd_hello,      NULL, 0, 0, 0},
    {"auth",      -2, NA | F,    cmd_auth,       NULL, 0, 0, 0},
    {"select",     2, F,         cmd_select,     NULL, 0, 0, 0},
    {"quit",      -1, NA | NM | F, cmd_quit,     NULL, 0, 0, 0},
    {"reset",      1, NA | NM | F, cmd_reset,    NULL, 0, 0, 0},
    {"flushall",  -1, W,         cmd_flushall,   NULL, 0, 0, 0},
    {"flushdb",   -1, W,         cmd_flushdb,    NULL, 0, 0, 0},
    {"del",       -2, W,         cmd_del,        NULL, 1, -1, 1},
    {"unlink",    -2, W | F,     cmd_del,        NULL, 1, -1, 1},
    {"exists",    -2, R | F,     cmd_exists,     NULL, 1, -1, 1},
    {"type",       2, R | F,     cmd_type,       NULL, 1, 1, 1},
    {"keys",       2, R,         cmd_keys,       NULL, 0, 0, 0},
    {"scan",      -2, R,         cmd_scan,       NULL, 0, 0, 0},
    {"rename",     3, W,         cmd_rename,     NULL, 1, 2, 1},
    {"dbsize",     1, R | F,     cmd_dbsize,     NULL, 0, 0, 0},
    {"object",    -2, R,         cmd_object,     NULL, 2, 2, 1},
    {"time",       1, F,         cmd_time,       NULL, 0, 0, 0},
    {"shutdown",  -1, NM,        cmd_shutdown,   NULL, 0, 0, 0},
    {"client",    -2, 0,         runnel__cmd_client,  NULL, 0, 0, 0},
    {"command",   -1, 0,         runnel__cmd_command, NULL, 0, 0, 0},
    {"config",    -2, 0,         runnel__cmd_config,  NULL, 0, 0, 0},
    {"info",      -1, 0,         runnel__cmd_info,    NULL, 0, 0, 0},
    {"monitor",    1, 0,         runnel__cmd_monitor, NULL, 0, 0, 0},
    {"wait",       3, 0,         runnel__cmd_wait,    NULL, 0, 0, 0},
    {"debug",     -2, RUNNEL_CMDF_PROTECTED, runnel__cmd_debug, NULL, 0, 0, 0},
    {"memory",    -2, 0,         NULL,  memory_subcommands, 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};
