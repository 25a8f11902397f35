/*
 * cmd_server_command.c - COMMAND, COMMAND COUNT|INFO|DOCS|LIST|HELP.
 *
 * Client libraries use COMMAND to learn arities, flags and key positions
 * (cluster routing, read-only detection) and redis-cli uses COMMAND DOCS
 * for its hints. Everything but DOCS is derived from the command tables,
 * so a new command shows up here without being listed twice. DOCS gives
 * Redis 7.0.15's own docs (summary, since, group, complexity, history,
 * arguments, subcommands) when the host links them (ops->command_docs,
 * cmd_server_docs.c), else each command's group, "since" and an empty
 * summary: clients treat missing arguments as "no hints".
 */
#include <string.h>

#include "cmd.h"

#define ERR_LIT(cmd, lit) runnel__cmd_error_text((cmd), (lit), sizeof(lit) - 1)

static void status(runnel_resp_writer_t *w, const char *s)
{
    runnel_resp_simple(w, s, strlen(s));
}

static void bulk(runnel_resp_writer_t *w, const char *s)
{
    runnel_resp_bulk(w, s, strlen(s));
}

/* Redis's command groups, for DOCS and the ACL categories. */
static const char *command_group(const char *name)
{
    static const char *const connection[] = {"ping", "echo", "hello", "auth", "select",
                                             "quit", "reset", "client", NULL};
    static const char *const generic[] = {"del", "unlink", "exists", "type", "keys",
                                          "scan", "rename", "object", NULL};
    static const char *const transactions[] = {"multi", "exec", "discard", "watch",
                                               "unwatch", NULL};
    if (name[0] == 'x')
        return "stream";
    for (size_t i = 0; connection[i] != NULL; i++)
        if (strcmp(name, connection[i]) == 0)
            return "connection";
    for (size_t i = 0; generic[i] != NULL; i++)
        if (strcmp(name, generic[i]) == 0)
            return "generic";
    for (size_t i = 0; transactions[i] != NULL; i++)
        if (strcmp(name, transactions[i]) == 0)
            return "transactions";
    return "server";
}

static size_t count_flags(const runnel_cmd_def_t *d)
{
    size_t n = 0;
    uint32_t f = d->flags;
    n += (f & RUNNEL_CMDF_WRITE) != 0;
    n += (f & RUNNEL_CMDF_WRITE) != 0;    /* denyoom */
    n += (f & RUNNEL_CMDF_READONLY) != 0;
    n += (f & RUNNEL_CMDF_NOAUTH) != 0;
    n += (f & RUNNEL_CMDF_BLOCKING) != 0;
    n += (f & RUNNEL_CMDF_FAST) != 0;
    return n;
}

static void write_flags(runnel_resp_writer_t *w, const runnel_cmd_def_t *d)
{
    uint32_t f = d->flags;
    runnel_resp_set(w, count_flags(d));
    if (f & RUNNEL_CMDF_WRITE) {
        status(w, "write");
        status(w, "denyoom");
    }
    if (f & RUNNEL_CMDF_READONLY)
        status(w, "readonly");
    if (f & RUNNEL_CMDF_NOAUTH)
        status(w, "no_auth");
    if (f & RUNNEL_CMDF_BLOCKING)
        status(w, "blocking");
    if (f & RUNNEL_CMDF_FAST)
        status(w, "fast");
}

static void write_categories(runnel_resp_writer_t *w, const runnel_cmd_def_t *d)
{
    const char *g = command_group(d->name);
    const char *cat = strcmp(g, "stream") == 0        ? "@stream"
                      : strcmp(g, "generic") == 0     ? "@keyspace"
                      : strcmp(g, "connection") == 0  ? "@connection"
                      : strcmp(g, "transactions") == 0 ? "@transaction"
                                                        : "@admin";
    uint32_t f = d->flags;
    size_t n = 2 + ((f & (RUNNEL_CMDF_WRITE | RUNNEL_CMDF_READONLY)) != 0) +
               ((f & RUNNEL_CMDF_BLOCKING) != 0);
    runnel_resp_set(w, n);
    if (f & RUNNEL_CMDF_WRITE)
        status(w, "@write");
    else if (f & RUNNEL_CMDF_READONLY)
        status(w, "@read");
    status(w, cat);
    status(w, (f & RUNNEL_CMDF_FAST) ? "@fast" : "@slow");
    if (f & RUNNEL_CMDF_BLOCKING)
        status(w, "@blocking");
}

static void write_info(runnel_resp_writer_t *w, const runnel_cmd_def_t *d, const char *parent);

static size_t count_subs(const runnel_cmd_def_t *d)
{
    size_t n = 0;
    if (d->subcommands != NULL)
        while (d->subcommands[n].name != NULL)
            n++;
    return n;
}

/* One COMMAND INFO element, Redis 7.0 shape: name, arity, flags, first key,
 * last key, step, ACL categories, tips, key specs, subcommands. */
static void write_info(runnel_resp_writer_t *w, const runnel_cmd_def_t *d, const char *parent)
{
    runnel_resp_array(w, 10);
    if (parent != NULL) {
        char full[64];
        size_t pl = strlen(parent), nl = strlen(d->name);
        if (pl + 1 + nl > sizeof full)
            nl = sizeof full - pl - 1;
        memcpy(full, parent, pl);
        full[pl] = '|';
        memcpy(full + pl + 1, d->name, nl);
        runnel_resp_bulk(w, full, pl + 1 + nl);
    } else {
        bulk(w, d->name);
    }
    runnel_resp_int(w, d->arity);
    write_flags(w, d);
    runnel_resp_int(w, d->first_key);
    runnel_resp_int(w, d->last_key);
    runnel_resp_int(w, d->key_step);
    write_categories(w, d);
    runnel_resp_array(w, 0);    /* tips */
    runnel_resp_array(w, 0);    /* key specs */
    size_t ns = count_subs(d);
    runnel_resp_array(w, ns);
    for (size_t i = 0; i < ns; i++)
        write_info(w, &d->subcommands[i], d->name);
}

/* Reads a decimal count from a RESP header line. */
static size_t header_count(const char *p, size_t n)
{
    size_t v = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10u + (size_t)(p[i] - '0');
    return v;
}

/* Redis's docs as stored (RESP3), re-encoded for this client: maps and
 * sets go through the writer (RESP2: arrays, a map's count doubled, as
 * Redis answers a RESP2 client); every other token is copied. The bytes
 * are the generated table's, so they are well formed. */
static void write_stored_doc(runnel_resp_writer_t *w, const runnel_cmd_doc_t *doc)
{
    const char *p = doc->resp3, *end = doc->resp3 + doc->len;
    while (p < end) {
        const char *eol = p;
        while (eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'))
            eol++;
        if (eol + 1 >= end)
            return;
        size_t count = header_count(p + 1, (size_t)(eol - p - 1));
        const char *next = eol + 2;
        if (*p == '%') {
            runnel_resp_map(w, count);
        } else if (*p == '~') {
            runnel_resp_set(w, count);
        } else if (*p == '*') {
            runnel_resp_array(w, count);
        } else {
            if (*p == '$' && count <= (size_t)(end - next) - 2u)
                next += count + 2u;
            runnel_resp_raw(w, p, (size_t)(next - p));
        }
        p = next;
    }
}

static const runnel_cmd_doc_t *find_doc(const runnel_cmd_doc_t *docs, const char *name)
{
    for (; docs != NULL && docs->name != NULL; docs++)
        if (strcmp(docs->name, name) == 0)
            return docs;
    return NULL;
}

static void write_docs(runnel_resp_writer_t *w, const runnel_cmd_def_t *d,
                       const runnel_cmd_doc_t *docs)
{
    bulk(w, d->name);
    const runnel_cmd_doc_t *doc = find_doc(docs, d->name);
    if (doc != NULL) {
        write_stored_doc(w, doc);
        return;
    }
    runnel_resp_map(w, 4);
    bulk(w, "summary");
    bulk(w, "");
    bulk(w, "since");
    bulk(w, d->name[0] == 'x' ? "5.0.0" : "1.0.0");
    bulk(w, "group");
    bulk(w, command_group(d->name));
    bulk(w, "complexity");
    bulk(w, "");
}

typedef struct visit {
    runnel_resp_writer_t *w;
    const runnel_cmd_doc_t *docs;
    size_t n;
    int mode;            /* 0 count, 1 info, 2 docs, 3 names */
    runnel_str_t pattern;
} visit_t;

static void visit_fn(void *ctx, const runnel_cmd_def_t *d)
{
    visit_t *v = ctx;
    if (v->mode == 3 && v->pattern.p != NULL &&
        !runnel__glob_match(v->pattern.p, v->pattern.len, d->name, strlen(d->name), true))
        return;
    v->n++;
    if (v->mode == 1)
        write_info(v->w, d, NULL);
    else if (v->mode == 2)
        write_docs(v->w, d, v->docs);
    else if (v->mode == 3)
        bulk(v->w, d->name);
}

static const runnel_cmd_doc_t *docs_of(const runnel_cmd_t *cmd)
{
    return cmd->srv->ops != NULL ? cmd->srv->ops->command_docs : NULL;
}

static size_t command_count(void)
{
    visit_t v = {NULL, NULL, 0, 0, {NULL, 0}};
    runnel__cmd_foreach(visit_fn, &v);
    return v.n;
}

static void all_commands(runnel_cmd_t *cmd, int mode, runnel_str_t pattern)
{
    size_t n = command_count();
    visit_t v = {cmd->w, docs_of(cmd), 0, mode, pattern};
    if (mode == 2) {
        runnel_resp_map(cmd->w, n);
    } else if (mode == 3 && pattern.p != NULL) {
        size_t mark = runnel_resp_defer(cmd->w);
        runnel__cmd_foreach(visit_fn, &v);
        runnel_resp_defer_array(cmd->w, mark, v.n);
        return;
    } else {
        runnel_resp_array(cmd->w, n);
    }
    runnel__cmd_foreach(visit_fn, &v);
}

/* COMMAND HELP (runnel__cmd_reply_help adds the header and the HELP lines).
 * Redis 7.0.15's text without GETKEYS / GETKEYSANDFLAGS, which runneld does
 * not have; cases/92_extra_commands.txt shows the difference. */
static const char *const command_help[] = {
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
};

runnel_cmd_result_t runnel__cmd_command(runnel_cmd_t *cmd)
{
    runnel_resp_writer_t *w = cmd->w;
    if (cmd->argc == 1) {
        all_commands(cmd, 1, (runnel_str_t){NULL, 0});
        return RUNNEL_CMD_DONE;
    }
    runnel_str_t sub = cmd->argv[1];
    if (runnel__arg_is(sub, "count")) {
        if (cmd->argc != 2) {
            runnel__cmd_error_arity_name(cmd, "command|count");
            return RUNNEL_CMD_DONE;
        }
        runnel_resp_int(w, (int64_t)command_count());
    } else if (runnel__arg_is(sub, "help")) {
        if (cmd->argc != 2) {
            runnel__cmd_error_arity_name(cmd, "command|help");
            return RUNNEL_CMD_DONE;
        }
        RUNNEL__CMD_HELP(cmd, "COMMAND", command_help);
    } else if (runnel__arg_is(sub, "info") || runnel__arg_is(sub, "docs")) {
        bool docs = runnel__arg_is(sub, "docs");
        if (cmd->argc == 2) {
            all_commands(cmd, docs ? 2 : 1, (runnel_str_t){NULL, 0});
            return RUNNEL_CMD_DONE;
        }
        if (!docs) {
            runnel_resp_array(w, (size_t)(cmd->argc - 2));
            for (int i = 2; i < cmd->argc; i++) {
                size_t idx;
                const runnel_cmd_def_t *d = runnel__cmd_lookup(cmd->argv[i], &idx);
                if (d == NULL)
                    runnel_resp_null_array(w);
                else
                    write_info(w, d, NULL);
            }
        } else {
            /* Unknown names are left out of the map. */
            size_t n = 0;
            for (int i = 2; i < cmd->argc; i++) {
                size_t idx;
                if (runnel__cmd_lookup(cmd->argv[i], &idx) != NULL)
                    n++;
            }
            runnel_resp_map(w, n);
            for (int i = 2; i < cmd->argc; i++) {
                size_t idx;
                const runnel_cmd_def_t *d = runnel__cmd_lookup(cmd->argv[i], &idx);
                if (d != NULL)
                    write_docs(w, d, docs_of(cmd));
            }
        }
    } else if (runnel__arg_is(sub, "list")) {
        runnel_str_t pattern = {NULL, 0};
        if (cmd->argc == 5 && runnel__arg_is(cmd->argv[2], "filterby")) {
            if (runnel__arg_is(cmd->argv[3], "pattern")) {
                pattern = cmd->argv[4];
            } else if (runnel__arg_is(cmd->argv[3], "aclcat") ||
                       runnel__arg_is(cmd->argv[3], "module")) {
                /* No modules; ACL categories are not modelled: nothing matches. */
                runnel_resp_array(w, 0);
                return RUNNEL_CMD_DONE;
            } else {
                runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
                return RUNNEL_CMD_DONE;
            }
        } else if (cmd->argc != 2) {
            runnel__cmd_error(cmd, RUNNEL_ERR_SYNTAX);
            return RUNNEL_CMD_DONE;
        }
        all_commands(cmd, 3, pattern);
    } else {
        runnel__cmd_error_unknown_sub(cmd, "COMMAND");
    }
    return RUNNEL_CMD_DONE;
}
