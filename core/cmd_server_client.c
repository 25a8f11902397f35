/*
 * cmd_server_client.c - CLIENT ID|INFO|LIST|GETNAME|SETNAME|KILL|GETREDIR|NO-EVICT|HELP
 * and the one-line client description Redis prints for CLIENT LIST and in
 * its log when it drops a client (runnel_client_info_string).
 *
 * The client list itself belongs to the host (ops->foreach_client); a
 * firmware console without one shows just the calling client. Subcommands
 * Redis has but a stream broker does not need (PAUSE, TRACKING, REPLY,
 * ...) get the unknown-subcommand error, so a client library that
 * probes them falls back as it does against any server that lacks them.
 */
#include <string.h>

#include "cmd.h"

#define ERR_LIT(cmd, lit) runnel__cmd_error_text((cmd), (lit), sizeof(lit) - 1)


/* A bounded char sink for the info line. */
typedef struct sink {
    char *buf;
    size_t cap, len;
} sink_t;

static void sk_put(sink_t *s, const char *p, size_t n)
{
    if (s->len >= s->cap)
        return;
    if (n > s->cap - s->len)
        n = s->cap - s->len;
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void sk_str(sink_t *s, const char *p)
{
    sk_put(s, p, strlen(p));
}

static void sk_i64(sink_t *s, int64_t v)
{
    char tmp[21];
    size_t k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[k++] = '-';
    while (k > 0)
        sk_put(s, &tmp[--k], 1);
}

static void sk_bounded(sink_t *s, const char *p, size_t max)
{
    size_t n = 0;
    while (n < max && p[n] != '\0')
        n++;
    sk_put(s, p, n);
}

size_t runnel_client_info_string(const runnel_client_t *c, uint64_t now_ms, char *buf,
                                 size_t cap)
{
    sink_t s = {buf, cap, 0};
    uint64_t age = now_ms > c->created_ms ? (now_ms - c->created_ms) / 1000 : 0;
    uint64_t idle = now_ms > c->last_cmd_ms ? (now_ms - c->last_cmd_ms) / 1000 : 0;
    char flags[8];
    size_t nf = 0;
    /* Redis's order: O (monitor), x, b, d, ..., e (no-evict). */
    if (c->monitor)
        flags[nf++] = 'O';
    if (c->in_multi)
        flags[nf++] = 'x';
    if (c->block.active)
        flags[nf++] = 'b';
    if (c->watch_dirty)
        flags[nf++] = 'd';
    if (c->no_evict)
        flags[nf++] = 'e';
    if (nf == 0)
        flags[nf++] = 'N';
    sk_str(&s, "id=");        sk_i64(&s, (int64_t)c->id);
    sk_str(&s, " addr=");     sk_bounded(&s, c->addr, sizeof c->addr);
    sk_str(&s, " laddr=");    sk_bounded(&s, c->laddr, sizeof c->laddr);
    sk_str(&s, " fd=");       sk_i64(&s, c->fd);
    sk_str(&s, " name=");     sk_put(&s, c->name, c->name_len);
    sk_str(&s, " age=");      sk_i64(&s, (int64_t)age);
    sk_str(&s, " idle=");     sk_i64(&s, (int64_t)idle);
    sk_str(&s, " flags=");    sk_put(&s, flags, nf);
    sk_str(&s, " db=");       sk_i64(&s, c->db);
    sk_str(&s, " sub=0 psub=0 ssub=0 multi=");
    sk_i64(&s, c->in_multi ? (int64_t)c->multi_count : -1);
    sk_str(&s, " qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=");
    sk_i64(&s, (int64_t)c->multi_len);
    sk_str(&s, " obl=");      sk_i64(&s, (int64_t)c->out.len);
    sk_str(&s, " oll=0 omem=0 tot-mem=");
    sk_i64(&s, (int64_t)(c->out.cap + c->multi_cap + c->watch_cap + c->block_cap));
    sk_str(&s, " events=r cmd=");
    if (c->last_cmd[0] != '\0')
        sk_bounded(&s, c->last_cmd, sizeof c->last_cmd);
    else
        sk_str(&s, "NULL");
    sk_str(&s, " user=default redir=-1 resp=");
    sk_i64(&s, c->resp);
    return s.len;
}

/* Appends one client's line (and "\n") to a text reply. */
static void text_client_line(runnel__text_t *t, const runnel_client_t *c, uint64_t now)
{
    size_t cap;
    char *room = runnel__text_room(t, &cap);
    if (room == NULL)
        return;
    size_t n = runnel_client_info_string(c, now, room, cap);
    if (n >= cap) {          /* may have been cut: treat as not fitting */
        t->overflow = true;
        return;
    }
    runnel__text_commit(t, n);
    runnel__text_put(t, "\n", 1);
}

/* CLIENT LIST filter: only TYPE normal (everyone here) and ID lists. */
typedef struct list_ctx {
    runnel__text_t *t;
    uint64_t now;
    const runnel_str_t *ids;   /* argv of IDs, or NULL */
    int nids;
    bool none;                 /* TYPE other than normal: empty list */
} list_ctx_t;

static bool id_listed(const list_ctx_t *lc, uint64_t id)
{
    if (lc->ids == NULL)
        return true;
    for (int i = 0; i < lc->nids; i++) {
        int64_t v;
        if (runnel__arg_i64(lc->ids[i], &v) && (uint64_t)v == id)
            return true;
    }
    return false;
}

static void list_one(void *arg, runnel_client_t *c)
{
    list_ctx_t *lc = arg;
    if (!lc->none && id_listed(lc, c->id))
        text_client_line(lc->t, c, lc->now);
}

static void client_list(runnel_cmd_t *cmd)
{
    list_ctx_t lc = {NULL, cmd->now_ms, NULL, 0, false};
    if (cmd->argc > 2) {
        if (cmd->argc == 4 && runnel__arg_is(cmd->argv[2], "type")) {
            runnel_str_t ty = cmd->argv[3];
            if (runnel__arg_is(ty, "normal")) {
                lc.none = false;
            } else if (runnel__arg_is(ty, "master") || runnel__arg_is(ty, "replica") ||
                       runnel__arg_is(ty, "slave") || runnel__arg_is(ty, "pubsub")) {
                lc.none = true;
            } else {
                char buf[200];
                size_t n = 0;
                memcpy(buf, "ERR Unknown client type '", 25);
                n = 25;
                size_t l = ty.len > 128 ? 128 : ty.len;
                memcpy(buf + n, ty.p, l);
                n += l;
                buf[n++] = '\'';
                runnel__cmd_error_text(cmd, buf, n);
                return;
            }
        } else if (cmd->argc >= 4 && runnel__arg_is(cmd->argv[2], "id")) {
            for (int i = 3; i < cmd->argc; i++) {
                int64_t v;
                if (!runnel__arg_i64(cmd->argv[i], &v) || v <= 0) {
                    ERR_LIT(cmd, "ERR Invalid client ID");
                    return;
                }
            }
            lc.ids = &cmd->argv[3];
            lc.nids = cmd->argc - 3;
        } else {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return;
        }
    }
    runnel__text_t t;
    runnel__text_begin(&t, cmd->w);
    lc.t = &t;
    const runnel_server_ops_t *ops = cmd->srv->ops;
    if (ops != NULL && ops->foreach_client != NULL)
        ops->foreach_client(ops->ctx, list_one, &lc);
    else
        list_one(&lc, cmd->client);
    runnel__text_end(&t, true);
}

/* CLIENT KILL, both forms. */
typedef struct kill_ctx {
    runnel_cmd_t *cmd;
    bool has_id;
    uint64_t id;
    runnel_str_t addr, laddr;   /* p == NULL: no filter */
    bool skipme;
    bool type_none;
    bool user_none;
    int64_t killed;
} kill_ctx_t;

static bool cstr_eq(const char *field, size_t fcap, runnel_str_t want)
{
    size_t n = 0;
    while (n < fcap && field[n] != '\0')
        n++;
    return n == want.len && memcmp(field, want.p, n) == 0;
}

static void kill_one(void *arg, runnel_client_t *c)
{
    kill_ctx_t *k = arg;
    if (k->type_none || k->user_none)
        return;
    if (k->has_id && c->id != k->id)
        return;
    if (k->addr.p != NULL && !cstr_eq(c->addr, sizeof c->addr, k->addr))
        return;
    if (k->laddr.p != NULL && !cstr_eq(c->laddr, sizeof c->laddr, k->laddr))
        return;
    if (k->skipme && c == k->cmd->client)
        return;
    const runnel_server_ops_t *ops = k->cmd->srv->ops;
    if (c == k->cmd->client) {
        c->close_after_reply = true;
        k->killed++;
    } else if (ops->kill_client != NULL && ops->kill_client(ops->ctx, c->id) > 0) {
        k->killed++;
    }
}

static void client_kill(runnel_cmd_t *cmd)
{
    kill_ctx_t k;
    memset(&k, 0, sizeof k);
    k.cmd = cmd;
    bool legacy = cmd->argc == 3;
    if (legacy) {
        k.addr = cmd->argv[2];
        k.skipme = false;
    } else {
        if ((cmd->argc - 2) % 2 != 0) {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return;
        }
        k.skipme = true;
        for (int i = 2; i < cmd->argc; i += 2) {
            runnel_str_t opt = cmd->argv[i], val = cmd->argv[i + 1];
            if (runnel__arg_is(opt, "id")) {
                int64_t v;
                if (!runnel__arg_i64(val, &v) || v <= 0) {
                    ERR_LIT(cmd, "ERR client-id should be greater than 0");
                    return;
                }
                k.has_id = true;
                k.id = (uint64_t)v;
            } else if (runnel__arg_is(opt, "type")) {
                if (runnel__arg_is(val, "normal")) {
                    k.type_none = false;
                } else if (runnel__arg_is(val, "master") || runnel__arg_is(val, "replica") ||
                           runnel__arg_is(val, "slave") || runnel__arg_is(val, "pubsub")) {
                    k.type_none = true;
                } else {
                    char buf[200];
                    size_t n = 25, l = val.len > 128 ? 128 : val.len;
                    memcpy(buf, "ERR Unknown client type '", 25);
                    memcpy(buf + n, val.p, l);
                    n += l;
                    buf[n++] = '\'';
                    runnel__cmd_error_text(cmd, buf, n);
                    return;
                }
            } else if (runnel__arg_is(opt, "addr")) {
                k.addr = val;
            } else if (runnel__arg_is(opt, "laddr")) {
                k.laddr = val;
            } else if (runnel__arg_is(opt, "user")) {
                if (!(val.len == 7 && memcmp(val.p, "default", 7) == 0)) {
                    char buf[200];
                    size_t n = 21, l = val.len > 128 ? 128 : val.len;
                    memcpy(buf, "ERR No such user '", 18);
                    n = 18;
                    memcpy(buf + n, val.p, l);
                    n += l;
                    buf[n++] = '\'';
                    runnel__cmd_error_text(cmd, buf, n);
                    return;
                }
            } else if (runnel__arg_is(opt, "skipme")) {
                if (runnel__arg_is(val, "yes")) {
                    k.skipme = true;
                } else if (runnel__arg_is(val, "no")) {
                    k.skipme = false;
                } else {
                    runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
                    return;
                }
            } else {
                runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
                return;
            }
        }
    }
    const runnel_server_ops_t *ops = cmd->srv->ops;
    if (ops != NULL && ops->foreach_client != NULL)
        ops->foreach_client(ops->ctx, kill_one, &k);
    else
        kill_one(&k, cmd->client);
    if (legacy) {
        if (k.killed == 0)
            ERR_LIT(cmd, "ERR No such client");
        else
            runnel_resp_simple(cmd->w, "OK", 2);
    } else {
        runnel_resp_int(cmd->w, k.killed);
    }
}

/* CLIENT HELP (runnel__cmd_reply_help adds the header and the HELP lines).
 * Not Redis 7.0.15's text: it lists only the subcommands runneld has, and
 * its KILL options follow a later Redis (lower-case TYPE values, ID); see
 * cases/92_extra_commands.txt for the difference. */
static const char *const client_help[] = {
    "GETNAME",
    "    Return the name of the current connection.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (normal|master|replica|pubsub)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
};

/* Subcommand table: name, arity (Redis's, counting CLIENT itself). */
typedef struct client_sub {
    const char *name;
    const char *full;
    int arity;
} client_sub_t;

static const client_sub_t client_subs[] = {
    {"id", "client|id", 2},
    {"info", "client|info", 2},
    {"list", "client|list", -2},
    {"getname", "client|getname", 2},
    {"setname", "client|setname", 3},
    {"kill", "client|kill", -3},
    {"getredir", "client|getredir", 2},
    {"no-evict", "client|no-evict", 3},
    {"help", "client|help", 2},
};

runnel_cmd_result_t runnel__cmd_client(runnel_cmd_t *cmd)
{
    const client_sub_t *sub = NULL;
    for (size_t i = 0; i < sizeof client_subs / sizeof client_subs[0]; i++) {
        if (runnel__arg_is(cmd->argv[1], client_subs[i].name)) {
            sub = &client_subs[i];
            break;
        }
    }
    if (sub == NULL) {
        runnel__cmd_error_unknown_sub(cmd, "CLIENT");
        return RUNNEL_CMD_DONE;
    }
    if ((sub->arity > 0 && cmd->argc != sub->arity) ||
        (sub->arity < 0 && cmd->argc < -sub->arity)) {
        runnel__cmd_error_arity_name(cmd, sub->full);
        return RUNNEL_CMD_DONE;
    }
    runnel_client_t *c = cmd->client;
    /* CLIENT LIST shows "cmd=client|list", as Redis 7.0 names subcommands. */
    size_t fl = strlen(sub->full);
    if (fl < sizeof c->last_cmd) {
        memcpy(c->last_cmd, sub->full, fl);
        c->last_cmd[fl] = '\0';
    }
    switch (sub->name[0] == 'g' ? (sub->name[3] == 'n' ? 'N' : 'R') : sub->name[0]) {
    case 'i':
        if (sub->name[1] == 'd') {
            runnel_resp_int(cmd->w, (int64_t)c->id);
        } else {
            runnel__text_t t;
            runnel__text_begin(&t, cmd->w);
            text_client_line(&t, c, cmd->now_ms);
            runnel__text_end(&t, true);
        }
        break;
    case 'l':
        client_list(cmd);
        break;
    case 'N':   /* getname */
        if (c->name_len == 0)
            runnel_resp_null(cmd->w);
        else
            runnel_resp_bulk(cmd->w, c->name, c->name_len);
        break;
    case 'R':   /* getredir */
        runnel_resp_int(cmd->w, -1);
        break;
    case 's':
        if (runnel__client_setname(cmd, cmd->argv[2]) == 0)
            runnel_resp_simple(cmd->w, "OK", 2);
        break;
    case 'k':
        client_kill(cmd);
        break;
    case 'n':   /* no-evict on|off: maxmemory-clients never evicts it */
        if (runnel__arg_is(cmd->argv[2], "on")) {
            c->no_evict = true;
        } else if (runnel__arg_is(cmd->argv[2], "off")) {
            c->no_evict = false;
        } else {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            break;
        }
        runnel_resp_simple(cmd->w, "OK", 2);
        break;
    default:
        RUNNEL__CMD_HELP(cmd, "CLIENT", client_help);
        break;
    }
    return RUNNEL_CMD_DONE;
}
