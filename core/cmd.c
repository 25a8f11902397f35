/*
 * cmd.c - the command dispatcher: table lookup, arity, authentication,
 * MULTI/EXEC/DISCARD/WATCH/UNWATCH, command and error statistics, and the
 * small argument helpers every command file shares.
 *
 * One command goes through runnel_cmd_execute() in the order Redis 7.0's
 * processCommand() uses: existence (unknown command / unknown subcommand),
 * arity, authentication, then either queueing (inside MULTI) or the call.
 * A rejection at any of the first three steps is a "rejected call" in
 * INFO commandstats and, inside MULTI, makes the transaction fail with
 * EXECABORT. A call whose handler wrote an error reply is a "failed call".
 *
 * Command statistics are indexed by a flat numbering of every command and
 * subcommand across the tables (stream commands, transaction commands,
 * server commands), in table order, each container immediately followed by
 * its subcommands. runnel_cmd_count() is the size of that numbering and
 * runnel__cmd_at() maps an index back to its definition.
 *
 * MULTI queue: each queued command is one record in client->multi_buf, laid
 * out so that EXEC can hand the handler an argv array without copying:
 *     [u32 argc][u32 record bytes][runnel_str_t argv[argc]][argument bytes]
 * aligned to 8 bytes from an 8-aligned base. The argv pointers point into
 * the same record, which never moves until EXEC or DISCARD.
 *
 * WATCH: client->watch_buf holds (db, key) pairs as [u32 db][u32 len][key].
 * A watched key becomes dirty when a WRITE command that names it succeeds
 * (any client, including the watcher itself, as in Redis) or when the engine
 * reports an event for it (runnel_cmd_notify: DEL, FLUSH*, RENAME, ...).
 */
#include <string.h>

#include "cmd.h"
#include "resp_impl.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static char lower_ascii(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static char upper_ascii(char ch)
{
    return (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
}

bool runnel__arg_is(runnel_str_t arg, const char *keyword)
{
    size_t n = strlen(keyword);
    if (arg.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower_ascii(arg.p[i]) != lower_ascii(keyword[i]))
            return false;
    return true;
}

/* Redis's string2ll rules (resp_num.c has the one implementation). */
bool runnel__arg_i64(runnel_str_t arg, int64_t *out)
{
    return runnel__resp_str2ll((const uint8_t *)arg.p, arg.len, out);
}

/* A bounded text builder on the stack for error messages. */
typedef struct textbuf {
    char *buf;
    size_t cap, len;
} textbuf_t;

static void tb_put(textbuf_t *t, const char *p, size_t n)
{
    if (t->len >= t->cap)
        return;
    if (n > t->cap - t->len)
        n = t->cap - t->len;
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static void tb_str(textbuf_t *t, const char *s)
{
    tb_put(t, s, strlen(s));
}

/* Like printf's "%.<max>s" of a C string: stops at a NUL byte. */
static void tb_cstr_max(textbuf_t *t, runnel_str_t s, size_t max)
{
    size_t n = 0;
    while (n < s.len && n < max && s.p[n] != '\0')
        n++;
    tb_put(t, s.p, n);
}

/* ------------------------------------------------------------------ */
/* Error replies and error statistics                                  */
/* ------------------------------------------------------------------ */

/* INFO errorstats: the code is the first word of the error text. Redis
 * stops tracking new codes past its limit; so do we (RUNNEL_MAX_ERROR_CODES). */
static void count_error(runnel_server_t *s, const char *text, size_t n)
{
    size_t code_len = 0;
    while (code_len < n && text[code_len] != ' ')
        code_len++;
    if (code_len >= sizeof s->error_codes[0])
        code_len = sizeof s->error_codes[0] - 1;
    s->total_error_replies++;
    for (size_t i = 0; i < RUNNEL_MAX_ERROR_CODES; i++) {
        char *slot = s->error_codes[i];
        if (slot[0] == '\0') {
            memcpy(slot, text, code_len);
            slot[code_len] = '\0';
            s->error_counts[i] = 1;
            return;
        }
        if (strlen(slot) == code_len && memcmp(slot, text, code_len) == 0) {
            s->error_counts[i]++;
            return;
        }
    }
}

/* Redis turns CR and LF inside an error text into spaces so a user-supplied
 * name cannot break the protocol. We fix the bytes in place, right after
 * the writer appended "-<text>\r\n" at offset `at`. */
static void sanitize_error(runnel_resp_writer_t *w, size_t at)
{
    if (w->overflow || w->len < at + 3)
        return;
    for (size_t i = at + 1; i < w->len - 2; i++)
        if (w->buf[i] == '\r' || w->buf[i] == '\n')
            w->buf[i] = ' ';
}

/* Writes an error reply to any writer and counts it (blocked-client
 * replies go through here too: they belong to no runnel_cmd_t). */
void runnel__server_error_reply(runnel_server_t *s, runnel_resp_writer_t *w,
                                const char *text, size_t n)
{
    size_t at = w->len;
    runnel_resp_error(w, text, n);
    sanitize_error(w, at);
    count_error(s, text, n);
}

void runnel__cmd_error_text(runnel_cmd_t *cmd, const char *text, size_t n)
{
    runnel__server_error_reply(cmd->srv, cmd->w, text, n);
    cmd->error_written = true;
}

void runnel__cmd_error(runnel_cmd_t *cmd, int code)
{
    const char *t = runnel_strerror(code);
    runnel__cmd_error_text(cmd, t, strlen(t));
}

/* The text may embed names of any length (a key typed by the user), so it
 * is formatted straight into the output buffer rather than a stack copy. */
void runnel__cmd_error_fmt(runnel_cmd_t *cmd, int code, runnel_str_t a, runnel_str_t b)
{
    runnel_resp_writer_t *w = cmd->w;
    size_t n = runnel_format_error(NULL, 0, code, a.p, a.len, b.p, b.len);

    cmd->error_written = true;
    if (w->overflow || w->cap - w->len < n + 3) {
        w->overflow = true;
        count_error(cmd->srv, runnel_strerror(code), strlen(runnel_strerror(code)));
        return;
    }
    size_t at = w->len;
    char *p = (char *)w->buf + at;
    p[0] = '-';
    runnel_format_error(p + 1, n + 1, code, a.p, a.len, b.p, b.len);
    p[1 + n] = '\r';
    p[2 + n] = '\n';
    w->len += n + 3;
    sanitize_error(w, at);
    count_error(cmd->srv, p + 1, n);
}

void runnel_cmd_protocol_error(runnel_server_t *s, runnel_client_t *c, const char *msg)
{
    runnel__server_error_reply(s, &c->out, msg, strlen(msg));
    c->close_after_reply = true;
}

/* ------------------------------------------------------------------ */
/* Command tables                                                      */
/* ------------------------------------------------------------------ */

static runnel_cmd_result_t cmd_multi(runnel_cmd_t *cmd);
static runnel_cmd_result_t cmd_exec(runnel_cmd_t *cmd);
static runnel_cmd_result_t cmd_discard(runnel_cmd_t *cmd);
static runnel_cmd_result_t cmd_watch(runnel_cmd_t *cmd);
static runnel_cmd_result_t cmd_unwatch(runnel_cmd_t *cmd);

#define NM RUNNEL_CMDF_NOMULTI
#define FA RUNNEL_CMDF_FAST
static const runnel_cmd_def_t txn_commands[] = {
    /* name      arity flags    handler      sub   keys */
    {"multi",     1, NM | FA,   cmd_multi,   NULL, 0, 0, 0},
    {"exec",      1, NM,        cmd_exec,    NULL, 0, 0, 0},
    {"discard",   1, NM | FA,   cmd_discard, NULL, 0, 0, 0},
    {"watch",    -2, NM | FA,   cmd_watch,   NULL, 1, -1, 1},
    {"unwatch",   1, FA,        cmd_unwatch, NULL, 0, 0, 0},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0},
};
#undef NM
#undef FA

static const runnel_cmd_def_t *const all_tables[] = {
    runnel__stream_commands,
    txn_commands,
    runnel__server_commands,
};
#define NTABLES (sizeof all_tables / sizeof all_tables[0])

static size_t sub_count(const runnel_cmd_def_t *d)
{
    size_t n = 0;
    if (d->subcommands)
        while (d->subcommands[n].name)
            n++;
    return n;
}

size_t runnel_cmd_count(void)
{
    size_t n = 0;
    for (size_t t = 0; t < NTABLES; t++)
        for (const runnel_cmd_def_t *d = all_tables[t]; d->name; d++)
            n += 1 + sub_count(d);
    return n;
}

static bool name_eq(runnel_str_t a, const char *lower)
{
    return runnel__arg_is(a, lower);
}

const runnel_cmd_def_t *runnel__cmd_lookup(runnel_str_t name, size_t *index)
{
    size_t idx = 0;
    for (size_t t = 0; t < NTABLES; t++) {
        for (const runnel_cmd_def_t *d = all_tables[t]; d->name; d++) {
            if (name_eq(name, d->name)) {
                if (index)
                    *index = idx;
                return d;
            }
            idx += 1 + sub_count(d);
        }
    }
    return NULL;
}

const runnel_cmd_def_t *runnel__cmd_lookup_sub(const runnel_cmd_def_t *parent, size_t parent_index,
                                               runnel_str_t name, size_t *index)
{
    if (parent == NULL || parent->subcommands == NULL)
        return NULL;
    for (size_t i = 0; parent->subcommands[i].name; i++) {
        if (name_eq(name, parent->subcommands[i].name)) {
            if (index)
                *index = parent_index + 1 + i;
            return &parent->subcommands[i];
        }
    }
    return NULL;
}

const runnel_cmd_def_t *runnel__cmd_at(size_t index, const runnel_cmd_def_t **parent)
{
    size_t idx = 0;
    for (size_t t = 0; t < NTABLES; t++) {
        for (const runnel_cmd_def_t *d = all_tables[t]; d->name; d++) {
            size_t subs = sub_count(d);
            if (index == idx) {
                if (parent)
                    *parent = NULL;
                return d;
            }
            if (index > idx && index <= idx + subs) {
                if (parent)
                    *parent = d;
                return &d->subcommands[index - idx - 1];
            }
            idx += 1 + subs;
        }
    }
    return NULL;
}

void runnel__cmd_foreach(void (*fn)(void *ctx, const runnel_cmd_def_t *d), void *ctx)
{
    for (size_t t = 0; t < NTABLES; t++)
        for (const runnel_cmd_def_t *d = all_tables[t]; d->name; d++)
            fn(ctx, d);
}

/* ------------------------------------------------------------------ */
/* Init                                                                */
/* ------------------------------------------------------------------ */

size_t runnel_cmd_block_buf_size(size_t query_max)
{
    /* A queued argument costs 16 bytes of argv slot plus its bytes; in the
     * RESP multibulk form it costs at least 6 bytes of header plus its bytes,
     * so 3x the query covers any multibulk query. A blocked request stores
     * each key with 21 bytes of overhead, which its key and ID arguments
     * (at least 12 bytes of RESP) cover at 3x as well. The fixed part leaves
     * room for XAUTOCLAIM's default COUNT 100 of deleted IDs (1600 bytes)
     * and XINFO FULL's name lists. */
    if (query_max > (SIZE_MAX - 4096) / 3)
        return SIZE_MAX;
    return 3 * query_max + 4096;
}

int runnel_server_init(runnel_server_t *s, runnel_t *store, const runnel_server_ops_t *ops,
                       const runnel_clock_t *clock, runnel_cmdstat_t *cmdstats,
                       uint8_t *ready_buf, size_t ready_cap)
{
    static const runnel_server_ops_t no_ops = {0};
    if (s == NULL || store == NULL || clock == NULL || clock->now_ms == NULL ||
        cmdstats == NULL)
        return RUNNEL_ERR_INVAL;
    memset(s, 0, sizeof *s);
    s->store = store;
    s->ops = ops ? ops : &no_ops;
    s->clock = clock;
    s->cmdstats = cmdstats;
    memset(cmdstats, 0, runnel_cmd_count() * sizeof *cmdstats);
    s->ready_buf = ready_buf;
    s->ready_cap = ready_buf ? ready_cap : 0;
    s->start_ms = clock->now_ms(clock->ctx);
    return 0;
}

void runnel_client_init(runnel_client_t *c, uint64_t id, uint8_t *out_buf, size_t out_cap,
                        uint8_t *multi_buf, size_t multi_cap, uint8_t *watch_buf,
                        size_t watch_cap, uint8_t *block_buf, size_t block_cap,
                        bool authenticated)
{
    memset(c, 0, sizeof *c);   /* host pointer too: the host sets it after */
    c->id = id;
    c->resp = 2;
    c->fd = -1;
    c->authenticated = authenticated;
    runnel_resp_writer_init(&c->out, out_buf, out_cap, 2);
    c->multi_buf = multi_buf;
    c->multi_cap = multi_buf ? multi_cap : 0;
    c->watch_buf = watch_buf;
    c->watch_cap = watch_buf ? watch_cap : 0;
    c->block_buf = block_buf;
    c->block_cap = block_buf ? block_cap : 0;
}

/* ------------------------------------------------------------------ */
/* WATCH bookkeeping                                                   */
/* ------------------------------------------------------------------ */

static bool watch_has(const runnel_client_t *c, uint32_t db, runnel_str_t key)
{
    size_t at = 0;
    while (at + 8 <= c->watch_len) {
        uint32_t kdb = runnel__get_le32(c->watch_buf + at);
        uint32_t klen = runnel__get_le32(c->watch_buf + at + 4);
        if (kdb == db && klen == key.len && memcmp(c->watch_buf + at + 8, key.p, klen) == 0)
            return true;
        at += 8 + (size_t)klen;
    }
    return false;
}

typedef struct touch_ctx {
    uint32_t db;
    runnel_str_t key;
} touch_ctx_t;

static void touch_one(void *arg, runnel_client_t *c)
{
    const touch_ctx_t *t = arg;
    if (c->watch_len > 0 && !c->watch_dirty && watch_has(c, t->db, t->key))
        c->watch_dirty = true;
}

/* Marks every client watching (db, key) dirty. Without a client list (a
 * firmware console) only `self` can be watching. */
static void touch_key(runnel_server_t *s, runnel_client_t *self, uint32_t db, runnel_str_t key)
{
    touch_ctx_t t = {db, key};
    if (s->watching_clients == 0)
        return;
    if (s->ops && s->ops->foreach_client)
        s->ops->foreach_client(s->ops->ctx, touch_one, &t);
    else if (self)
        touch_one(&t, self);
}

void runnel__cmd_unwatch(runnel_server_t *s, runnel_client_t *c)
{
    if (c->watch_len > 0 && s->watching_clients > 0)
        s->watching_clients--;
    c->watch_len = 0;
    c->watch_dirty = false;
}

void runnel__cmd_multi_discard(runnel_server_t *s, runnel_client_t *c)
{
    c->in_multi = false;
    c->multi_dirty = false;
    c->multi_len = 0;
    c->multi_count = 0;
    runnel__cmd_unwatch(s, c);
}

/* The keys a successful WRITE command modified, for WATCH. The key specs
 * (first, last, step; negative last counts from the end as in Redis) cover
 * every command except XREADGROUP, whose keys follow STREAMS. */
static void touch_command_keys(runnel_server_t *s, runnel_client_t *c, const runnel_cmd_def_t *d,
                               int argc, const runnel_str_t *argv)
{
    int first = d->first_key, last = d->last_key, step = d->key_step;

    if (strcmp(d->name, "xreadgroup") == 0 || strcmp(d->name, "xread") == 0) {
        int i = 1;
        first = 0;
        while (i < argc) {
            if (runnel__arg_is(argv[i], "GROUP")) {
                i += 3;
            } else if (runnel__arg_is(argv[i], "COUNT") || runnel__arg_is(argv[i], "BLOCK")) {
                i += 2;
            } else if (runnel__arg_is(argv[i], "STREAMS")) {
                first = i + 1;
                break;
            } else {
                i++;
            }
        }
        if (first == 0)
            return;
        last = first + (argc - first) / 2 - 1;
        step = 1;
    }
    if (first <= 0 || step <= 0)
        return;
    if (last < 0)
        last = argc + last;
    if (last >= argc)
        last = argc - 1;
    for (int i = first; i <= last; i += step)
        touch_key(s, c, c->db, argv[i]);
}

/* ------------------------------------------------------------------ */
/* Ready keys (blocked clients) and the engine's notify hook            */
/* ------------------------------------------------------------------ */

/* ready_buf holds [u32 db][u32 len][key] records, each (db, key) once, in
 * the order the engine signalled them. When a key does not fit, the flag
 * ready_overflow makes runnel_cmd_serve_ready re-check every blocked
 * client instead: nothing is lost, only slower. */
static void ready_add(runnel_server_t *s, uint32_t db, runnel_str_t key)
{
    size_t at = 0;
    while (at + 8 <= s->ready_len) {
        uint32_t kdb = runnel__get_le32(s->ready_buf + at);
        uint32_t klen = runnel__get_le32(s->ready_buf + at + 4);
        if (kdb == db && klen == key.len && memcmp(s->ready_buf + at + 8, key.p, klen) == 0)
            return;
        at += 8 + (size_t)klen;
    }
    if (key.len > UINT32_MAX || s->ready_cap - s->ready_len < 8 || 
        s->ready_cap - s->ready_len - 8 < key.len) {
        s->ready_overflow = true;
        return;
    }
    runnel__put_le32(s->ready_buf + s->ready_len, db);
    runnel__put_le32(s->ready_buf + s->ready_len + 4, (uint32_t)key.len);
    memcpy(s->ready_buf + s->ready_len + 8, key.p, key.len);
    s->ready_len += 8 + key.len;
}

void runnel_cmd_notify(void *server, uint32_t db, runnel_str_t key, runnel_key_event_t ev)
{
    runnel_server_t *s = server;
    if (s == NULL)
        return;
    switch (ev) {
    case RUNNEL_EV_XADD:
    case RUNNEL_EV_CREATED:
    case RUNNEL_EV_DELETED:
    case RUNNEL_EV_GROUP_DESTROYED:
        if (s->blocked_count > 0)
            ready_add(s, db, key);
        break;
    default:
        break;
    }
    touch_key(s, NULL, db, key);
}

/* ------------------------------------------------------------------ */
/* Dispatcher                                                          */
/* ------------------------------------------------------------------ */

static uint64_t now_ms(const runnel_server_t *s)
{
    return s->clock->now_ms(s->clock->ctx);
}

static void set_last_cmd(runnel_client_t *c, const runnel_cmd_def_t *parent,
                         const runnel_cmd_def_t *d, uint64_t now)
{
    textbuf_t t = {c->last_cmd, sizeof c->last_cmd - 1, 0};
    if (parent) {
        tb_str(&t, parent->name);
        tb_put(&t, "|", 1);
    }
    tb_str(&t, d->name);
    c->last_cmd[t.len] = '\0';
    c->last_cmd_ms = now;
}

/* Runs one command through its handler and accounts for it. A blocked
 * command is counted when it is served or times out (cmd_block.c), as
 * Redis 7.0 counts it on unblock. usec comes from the port's millisecond
 * clock, so it has millisecond resolution. */
static runnel_cmd_result_t call(runnel_server_t *s, runnel_client_t *c,
                                const runnel_cmd_def_t *parent, const runnel_cmd_def_t *d,
                                size_t idx, int argc, const runnel_str_t *argv, bool in_exec)
{
    runnel_cmd_t cmd;
    uint64_t start = now_ms(s);

    memset(&cmd, 0, sizeof cmd);
    cmd.srv = s;
    cmd.client = c;
    cmd.r = s->store;
    cmd.w = &c->out;
    cmd.argc = argc;
    cmd.argv = argv;
    cmd.in_exec = in_exec;
    cmd.now_ms = start;
    cmd.reply_start = c->out.len;
    c->out.proto = c->resp == 3 ? 3 : 2;
    (void)runnel_select(s->store, c->db);
    set_last_cmd(c, parent, d, start);

    cmd.stat_index = idx;
    runnel_cmd_result_t res = d->handler(&cmd);
    /* After the call, as Redis 7.0 feeds monitors: SELECT shows its new
     * db, EXEC comes after the commands it ran, a block shows when it
     * blocks. */
    if (s->monitors > 0)
        runnel__monitor_feed(s, c, parent ? parent : d, argc, argv);

    uint64_t end = now_ms(s);
    if (res != RUNNEL_CMD_BLOCKED) {
        runnel_cmdstat_t *st = &s->cmdstats[idx];
        st->calls++;
        st->usec += (end >= start ? end - start : 0) * 1000u;
        if (cmd.error_written)
            st->failed_calls++;
        s->total_commands++;
        if ((d->flags & RUNNEL_CMDF_WRITE) && !cmd.error_written)
            touch_command_keys(s, c, d, argc, argv);
    }
    if (res == RUNNEL_CMD_CLOSE)
        c->close_after_reply = true;
    return res;
}

/* "ERR unknown command 'foo', with args beginning with: 'a' 'b' " - the
 * name cut at 128 bytes, then quoted arguments while the list is shorter
 * than 128 bytes, each cut to what is left of those 128. */
static void reject_unknown_command(runnel_cmd_t *cmd, int argc, const runnel_str_t *argv)
{
    char buf[400];
    textbuf_t t = {buf, sizeof buf, 0};
    tb_str(&t, "ERR unknown command '");
    tb_cstr_max(&t, argv[0], 128);
    tb_str(&t, "', with args beginning with: ");
    size_t args_start = t.len;
    for (int i = 1; i < argc && t.len - args_start < 128; i++) {
        tb_put(&t, "'", 1);
        tb_cstr_max(&t, argv[i], 128 - (t.len - 1 - args_start));
        tb_put(&t, "' ", 2);
    }
    runnel__cmd_error_text(cmd, buf, t.len);
}

static void reject_unknown_sub(runnel_cmd_t *cmd, const runnel_cmd_def_t *d, const runnel_str_t *argv)
{
    char buf[300];
    char upper[32];
    size_t n = strlen(d->name);
    if (n >= sizeof upper)
        n = sizeof upper - 1;
    for (size_t i = 0; i < n; i++)
        upper[i] = upper_ascii(d->name[i]);
    upper[n] = '\0';
    textbuf_t t = {buf, sizeof buf, 0};
    tb_str(&t, "ERR unknown subcommand '");
    tb_cstr_max(&t, argv[1], 128);
    tb_str(&t, "'. Try ");
    tb_str(&t, upper);
    tb_str(&t, " HELP.");
    runnel__cmd_error_text(cmd, buf, t.len);
}

static void reject_arity(runnel_cmd_t *cmd, const runnel_cmd_def_t *parent, const runnel_cmd_def_t *d)
{
    char buf[128];
    textbuf_t t = {buf, sizeof buf, 0};
    tb_str(&t, "ERR wrong number of arguments for '");
    if (parent) {
        tb_str(&t, parent->name);
        tb_put(&t, "|", 1);
    }
    tb_str(&t, d->name);
    tb_str(&t, "' command");
    runnel__cmd_error_text(cmd, buf, t.len);
}

/* Redis's islocalClient: a Unix socket ("<path>:0" here), 127.x.x.x or ::1. */
static bool client_is_local(const runnel_client_t *c)
{
    const char *a = c->addr;
    return a[0] == '/' || strncmp(a, "127.", 4) == 0 || strncmp(a, "::1:", 4) == 0 ||
           strncmp(a, "[::1]:", 6) == 0;
}

/* enable-debug-command: no (Redis's default), yes, or local. */
static bool protected_allowed(const runnel_server_t *s, const runnel_client_t *c)
{
    return s->enable_debug_command == 1 || (s->enable_debug_command == 2 && client_is_local(c));
}

static bool arity_ok(int arity, int argc)
{
    return arity >= 0 ? argc == arity : argc >= -arity;
}

/* Appends one command to the MULTI queue; false when multi_buf is full. */
static bool queue_command(runnel_client_t *c, int argc, const runnel_str_t *argv)
{
    uintptr_t base = (uintptr_t)c->multi_buf;
    size_t pad = (size_t)((8u - (base & 7u)) & 7u);
    if (c->multi_buf == NULL || c->multi_cap < pad)
        return false;
    size_t usable = c->multi_cap - pad;
    uint8_t *start = c->multi_buf + pad;

    size_t need = 8 + (size_t)argc * sizeof(runnel_str_t);
    for (int i = 0; i < argc; i++) {
        if (argv[i].len > usable)
            return false;
        need += argv[i].len;
    }
    need = (need + 7u) & ~(size_t)7u;
    if (need > usable - c->multi_len || need > UINT32_MAX)
        return false;

    uint8_t *rec = start + c->multi_len;
    runnel__put_le32(rec, (uint32_t)argc);
    runnel__put_le32(rec + 4, (uint32_t)need);
    runnel_str_t *slots = (runnel_str_t *)(void *)(rec + 8);
    char *bytes = (char *)(rec + 8 + (size_t)argc * sizeof(runnel_str_t));
    for (int i = 0; i < argc; i++) {
        if (argv[i].len)
            memcpy(bytes, argv[i].p, argv[i].len);
        slots[i].p = bytes;
        slots[i].len = argv[i].len;
        bytes += argv[i].len;
    }
    c->multi_len += need;
    c->multi_count++;
    return true;
}

/* Looks up argv[0] (and argv[1] for a container): existence, then arity.
 * On rejection the error is written and NULL returned. */
static const runnel_cmd_def_t *resolve(runnel_cmd_t *cmd, int argc, const runnel_str_t *argv,
                                       const runnel_cmd_def_t **parent, size_t *idx)
{
    runnel_server_t *s = cmd->srv;
    size_t pidx = 0;
    const runnel_cmd_def_t *d = runnel__cmd_lookup(argv[0], &pidx);
    *parent = NULL;
    *idx = pidx;
    if (d == NULL) {
        reject_unknown_command(cmd, argc, argv);
        return NULL;
    }
    if (d->subcommands && argc >= 2) {
        size_t sidx = 0;
        const runnel_cmd_def_t *sub = runnel__cmd_lookup_sub(d, pidx, argv[1], &sidx);
        if (sub == NULL) {
            reject_unknown_sub(cmd, d, argv);
            return NULL;
        }
        *parent = d;
        d = sub;
        *idx = sidx;
    }
    if (!arity_ok(d->arity, argc)) {
        reject_arity(cmd, *parent, d);
        s->cmdstats[*idx].rejected_calls++;
        return NULL;
    }
    return d;
}

runnel_cmd_result_t runnel_cmd_execute(runnel_server_t *s, runnel_client_t *c,
                                       int argc, const runnel_str_t *argv)
{
    runnel_cmd_t rej;
    const runnel_cmd_def_t *parent, *d;
    size_t idx;

    if (s == NULL || c == NULL || argc <= 0 || argv == NULL)
        return RUNNEL_CMD_DONE;
    c->out.proto = c->resp == 3 ? 3 : 2;

    memset(&rej, 0, sizeof rej);
    rej.srv = s;
    rej.client = c;
    rej.r = s->store;
    rej.w = &c->out;
    rej.argc = argc;
    rej.argv = argv;

    d = resolve(&rej, argc, argv, &parent, &idx);
    if (d == NULL) {
        if (c->in_multi)
            c->multi_dirty = true;
        return RUNNEL_CMD_DONE;
    }
    const runnel_cmd_def_t *top = parent ? parent : d;
    if ((top->flags & RUNNEL_CMDF_PROTECTED) && !protected_allowed(s, c)) {
        static const char denied[] =
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
            "you can run it from a local connection, otherwise you need to set this option in the "
            "configuration file, and then restart the server.";
        runnel__cmd_error_text(&rej, denied, sizeof denied - 1);
        s->cmdstats[idx].rejected_calls++;
        if (c->in_multi)
            c->multi_dirty = true;
        return RUNNEL_CMD_DONE;
    }
    if (s->requirepass_len > 0 && !c->authenticated && !(d->flags & RUNNEL_CMDF_NOAUTH) &&
        !(parent && (parent->flags & RUNNEL_CMDF_NOAUTH))) {
        static const char noauth[] = "NOAUTH Authentication required.";
        runnel__cmd_error_text(&rej, noauth, sizeof noauth - 1);
        s->cmdstats[idx].rejected_calls++;
        if (c->in_multi)
            c->multi_dirty = true;
        return RUNNEL_CMD_DONE;
    }
    if (c->monitor && (d->flags & (RUNNEL_CMDF_READONLY | RUNNEL_CMDF_WRITE))) {
        /* Redis makes a monitor a replica: it may not touch keys. */
        static const char replica[] = "ERR Replica can't interact with the keyspace";
        runnel__cmd_error_text(&rej, replica, sizeof replica - 1);
        s->cmdstats[idx].rejected_calls++;
        if (c->in_multi)
            c->multi_dirty = true;
        return RUNNEL_CMD_DONE;
    }
    if (c->in_multi && !(top->flags & RUNNEL_CMDF_NOMULTI)) {
        if (!queue_command(c, argc, argv)) {
            static const char full[] =
                "ERR runnel limit reached: MULTI queue is full (client-max-memory, maxmemory-clients), transaction discarded at EXEC";
            runnel__cmd_error_text(&rej, full, sizeof full - 1);
            c->multi_dirty = true;
            return RUNNEL_CMD_DONE;
        }
        runnel_resp_simple(&c->out, "QUEUED", 6);
        return RUNNEL_CMD_DONE;
    }
    if (d->handler == NULL) {
        /* A container reached with no subcommand can only mean a table
         * without the arity rule; answer as Redis would for argc 1. */
        reject_arity(&rej, parent, d);
        return RUNNEL_CMD_DONE;
    }
    return call(s, c, parent, d, idx, argc, argv, false);
}

/* ------------------------------------------------------------------ */
/* MULTI / EXEC / DISCARD / WATCH / UNWATCH                            */
/* ------------------------------------------------------------------ */

#define ERR_LIT(cmd, lit) runnel__cmd_error_text((cmd), (lit), sizeof(lit) - 1)

static runnel_cmd_result_t cmd_multi(runnel_cmd_t *cmd)
{
    runnel_client_t *c = cmd->client;
    if (c->in_multi) {
        ERR_LIT(cmd, "ERR MULTI calls can not be nested");
        return RUNNEL_CMD_DONE;
    }
    c->in_multi = true;
    c->multi_dirty = false;
    c->multi_len = 0;
    c->multi_count = 0;
    runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_discard(runnel_cmd_t *cmd)
{
    runnel_client_t *c = cmd->client;
    if (!c->in_multi) {
        ERR_LIT(cmd, "ERR DISCARD without MULTI");
        return RUNNEL_CMD_DONE;
    }
    runnel__cmd_multi_discard(cmd->srv, c);
    runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

/* EXEC replays the queue through the same resolve + call path a direct
 * command takes (minus queueing), so statistics, WATCH touching and
 * errors are identical; in_exec makes BLOCK behave as an immediate timeout.
 * An EXECABORT (an error while queueing) wins over a dirty WATCH. */
static runnel_cmd_result_t cmd_exec(runnel_cmd_t *cmd)
{
    runnel_server_t *s = cmd->srv;
    runnel_client_t *c = cmd->client;

    if (!c->in_multi) {
        ERR_LIT(cmd, "ERR EXEC without MULTI");
        return RUNNEL_CMD_DONE;
    }
    if (c->multi_dirty) {
        runnel__cmd_multi_discard(s, c);
        ERR_LIT(cmd, "EXECABORT Transaction discarded because of previous errors.");
        return RUNNEL_CMD_DONE;
    }
    if (c->watch_dirty) {
        runnel__cmd_multi_discard(s, c);
        runnel_resp_null_array(cmd->w);
        return RUNNEL_CMD_DONE;
    }

    uint32_t count = c->multi_count;
    uintptr_t base = (uintptr_t)c->multi_buf;
    size_t pad = (size_t)((8u - (base & 7u)) & 7u);
    const uint8_t *start = c->multi_buf ? c->multi_buf + pad : NULL;
    size_t len = c->multi_len;

    /* Leave MULTI before running the queue: a queued command sees a
     * normal client. Watches end with EXEC whatever happens. */
    c->in_multi = false;
    c->multi_count = 0;
    runnel__cmd_unwatch(cmd->srv, c);

    runnel_resp_array(cmd->w, count);
    size_t at = 0;
    for (uint32_t i = 0; i < count && at + 8 <= len; i++) {
        const uint8_t *rec = start + at;
        int argc = (int)runnel__get_le32(rec);
        size_t size = runnel__get_le32(rec + 4);
        const runnel_str_t *argv = (const runnel_str_t *)(const void *)(rec + 8);
        const runnel_cmd_def_t *parent, *d;
        size_t idx;
        runnel_cmd_t rej = *cmd;
        rej.argc = argc;
        rej.argv = argv;
        rej.error_written = false;
        d = resolve(&rej, argc, argv, &parent, &idx);
        if (d != NULL && d->handler != NULL) {
            runnel_cmd_result_t r = call(s, c, parent, d, idx, argc, argv, true);
            if (r == RUNNEL_CMD_BLOCKED) /* cannot happen: in_exec never blocks */
                runnel_resp_null_array(cmd->w);
        }
        at += size;
        /* A command inside the queue may not switch the exec'ing client
         * back into MULTI (MULTI is not queued), so nothing else to do. */
    }
    c->multi_len = 0;
    /* The EXEC's own stats are counted by the caller; the clock for the
     * store must be the client's database again after SELECTs inside. */
    (void)runnel_select(s->store, c->db);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_watch(runnel_cmd_t *cmd)
{
    runnel_client_t *c = cmd->client;
    if (c->in_multi) {
        ERR_LIT(cmd, "ERR WATCH inside MULTI is not allowed");
        return RUNNEL_CMD_DONE;
    }
    for (int i = 1; i < cmd->argc; i++) {
        runnel_str_t key = cmd->argv[i];
        if (watch_has(c, c->db, key))
            continue;
        if (c->watch_buf == NULL || key.len > UINT32_MAX || c->watch_cap - c->watch_len < 8 ||
            c->watch_cap - c->watch_len - 8 < key.len) {
            ERR_LIT(cmd, "ERR runnel limit reached: too many WATCHed keys (client-max-memory, maxmemory-clients)");
            return RUNNEL_CMD_DONE;
        }
        if (c->watch_len == 0)
            cmd->srv->watching_clients++;
        runnel__put_le32(c->watch_buf + c->watch_len, c->db);
        runnel__put_le32(c->watch_buf + c->watch_len + 4, (uint32_t)key.len);
        memcpy(c->watch_buf + c->watch_len + 8, key.p, key.len);
        c->watch_len += 8 + key.len;
    }
    runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

static runnel_cmd_result_t cmd_unwatch(runnel_cmd_t *cmd)
{
    runnel__cmd_unwatch(cmd->srv, cmd->client);
    runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}
