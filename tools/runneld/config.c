/*
 * config.c - runneld's configuration: one table of directives shared by the
 * config file ("key value" lines, as redis.conf), the command line
 * ("--key value", as redis-server) and CONFIG GET/SET.
 *
 * A file line is split with Redis's quoting rules ("..." with \n \r \t \b
 * \a \\ \" \xHH escapes, '...' with \' ). Unknown directives and bad values
 * are errors with the line they came from, in redis-server's words.
 *
 * Defaults (documented in --help), Redis's where Redis has the directive:
 *   port 6379, bind 127.0.0.1, maxclients 10000, timeout 0,
 *   store-type file: store-filename runnel.store in dir (.), store-size
 *   64mb of 64kb blocks, pools for 100,000 keys and 10,000 groups (more
 *   with a bigger store; rd_config_finish),
 *   client-query-buffer-limit 1gb, proto-max-bulk-len 512mb,
 *   client-output-buffer-limit normal 0 0 0 (none), maxmemory-clients 0,
 *   appendfsync everysec (commit-interval-ms 1000), store-full-policy refuse.
 * Ours: client-max-memory (1gb, 256mb on 32-bit) caps one client's
 * buffers; max-reply-size (128mb, 64mb on 32-bit) is the staging area a
 * reply that is built whole is built in (EXEC's, a history XREADGROUP,
 * XINFO, XCLAIM...; range reads stream from the log past 64 KiB and never
 * meet it: reply.c). No client buffer is reserved up front (mem.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "rd_sync.h"
#include "runneld.h"

void rd_config_defaults(rd_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->port = 6379;
    strcpy(cfg->bind[0], "127.0.0.1");
    cfg->nbind = 1;
    cfg->maxclients = 10000;
    cfg->timeout = 0;
    cfg->store_size = 64ull * 1024 * 1024;
    cfg->store_block_size = 64 * 1024;
    cfg->store_type = RD_STORE_FILE;
    strcpy(cfg->store_filename, "runnel.store");
    cfg->max_key_len = 256;
    /* No fixed field count: 65536 (the most the engine takes) is more than
     * a 64 KiB block holds, so an entry's size is the only bound, as
     * Redis has none. The table it sizes (16 B a field on 64-bit) is only
     * touched as far as an entry uses it. */
    cfg->max_fields = 65536;
    cfg->node_max_entries = 100;
    cfg->node_max_bytes = 4096;
    cfg->databases = 16;
    cfg->loglevel = RD_LL_NOTICE;
    cfg->protected_mode = true;
    cfg->query_limit = 1024ull * 1024 * 1024;
    cfg->proto_max_bulk_len = 512ull * 1024 * 1024;
    /* A 32-bit board has 2-3 GB of address space and often 512 MB of RAM. */
    bool small = sizeof(size_t) < 8;
    cfg->client_max_memory = (small ? 256ull : 1024ull) * 1024 * 1024;
    cfg->max_reply_size = (small ? 64ull : 128ull) * 1024 * 1024;
    cfg->commit_policy = RUNNEL_COMMIT_INTERVAL;
    cfg->commit_interval_ms = 1000;
    cfg->full_policy = RUNNEL_FULL_REFUSE;
}

/* Redis's memtoull: <n>[b|k|kb|m|mb|g|gb]. */
bool rd_parse_memory(const char *s, uint64_t *out)
{
    char *end;
    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return false;
    unsigned long long mul;
    if (*end == '\0' || !strcasecmp(end, "b"))
        mul = 1;
    else if (!strcasecmp(end, "k"))
        mul = 1000;
    else if (!strcasecmp(end, "kb"))
        mul = 1024;
    else if (!strcasecmp(end, "m"))
        mul = 1000 * 1000;
    else if (!strcasecmp(end, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(end, "g"))
        mul = 1000ull * 1000 * 1000;
    else if (!strcasecmp(end, "gb"))
        mul = 1024ull * 1024 * 1024;
    else
        return false;
    if (v != 0 && mul > UINT64_MAX / v)
        return false;
    *out = v * mul;
    return true;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_yesno(const char *s)
{
    if (!strcasecmp(s, "yes"))
        return 1;
    if (!strcasecmp(s, "no"))
        return 0;
    return -1;
}

/*
 * Directives. apply() takes one (a config-file line, a --flag or a CONFIG
 * SET) and returns NULL or the error text a user sees. Plain numbers and
 * memory values are rows of a table; the others are grouped by topic, each
 * group returning NOT_MINE for a name it does not know.
 */
static const char NOT_MINE[] = "";

#define NEED(n) do { if (argc != (n)) return "wrong number of arguments"; } while (0)

typedef struct {
    const char *name;
    size_t offset;      /* of a uint32_t (memory=false) or uint64_t field */
    bool memory;        /* "4mb"-style memory value, else a decimal number */
    uint64_t lo, hi;
    const char *error;
} number_directive_t;

#define U32_FIELD(f) offsetof(rd_config_t, f), false
#define MEM_FIELD(f) offsetof(rd_config_t, f), true
static const number_directive_t number_directives[] = {
    {"timeout", U32_FIELD(timeout), 0, INT_MAX, "Invalid timeout value"},
    {"store-size", MEM_FIELD(store_size), 4 * 4096, UINT64_MAX,
     "Invalid store-size (a memory value of at least 16kb)"},
    {"max-streams", U32_FIELD(max_streams), 1, UINT32_MAX, "Invalid max-streams"},
    {"max-pending", U32_FIELD(max_pending), 1, UINT32_MAX, "Invalid max-pending"},
    {"max-groups", U32_FIELD(max_groups), 1, UINT32_MAX, "Invalid max-groups"},
    {"max-consumers", U32_FIELD(max_consumers), 1, UINT32_MAX, "Invalid max-consumers"},
    {"max-nodes", U32_FIELD(max_nodes), 1, UINT32_MAX, "Invalid max-nodes"},
    {"max-key-len", U32_FIELD(max_key_len), 1, 65536, "Invalid max-key-len"},
    {"max-fields", U32_FIELD(max_fields), 1, 65536, "Invalid max-fields"},
    {"stream-node-max-entries", U32_FIELD(node_max_entries), 0, UINT32_MAX,
     "Invalid stream-node-max-entries"},
    {"databases", U32_FIELD(databases), 1, 16, "Invalid number of databases (1..16)"},
    {"client-query-buffer-limit", MEM_FIELD(query_limit), 1024, UINT64_MAX,
     "Invalid client-query-buffer-limit (at least 1kb)"},
    {"proto-max-bulk-len", MEM_FIELD(proto_max_bulk_len), 1024, UINT64_MAX,
     "Invalid proto-max-bulk-len (at least 1kb)"},
    {"client-max-memory", MEM_FIELD(client_max_memory), 0, UINT64_MAX,
     "Invalid client-max-memory"},
    {"max-reply-size", MEM_FIELD(max_reply_size), 64 * 1024, UINT64_MAX,
     "Invalid max-reply-size (at least 64kb)"},
    {"commit-interval-ms", U32_FIELD(commit_interval_ms), 1, 86400000,
     "Invalid commit-interval-ms"},
};
#undef U32_FIELD
#undef MEM_FIELD

static const char *apply_number(rd_config_t *cfg, int argc, char **argv, bool at_runtime)
{
    uint64_t v;
    for (size_t i = 0; i < sizeof number_directives / sizeof number_directives[0]; i++) {
        const number_directive_t *d = &number_directives[i];
        if (strcasecmp(argv[0], d->name))
            continue;
        if (at_runtime && !strcmp(d->name, "max-reply-size"))
            return "max-reply-size is fixed at start-up";
        NEED(2);
        bool ok = d->memory ? rd_parse_memory(argv[1], &v) : parse_u64(argv[1], d->hi, &v);
        if (!ok || v < d->lo || v > d->hi)
            return d->error;
        if (d->memory)
            memcpy((char *)cfg + d->offset, &v, sizeof v);
        else {
            uint32_t v32 = (uint32_t)v;
            memcpy((char *)cfg + d->offset, &v32, sizeof v32);
        }
        return NULL;
    }
    return NOT_MINE;
}

/* Listening, authentication and client count. */
static const char *apply_network(rd_config_t *cfg, int argc, char **argv, bool at_runtime)
{
    const char *k = argv[0];
    uint64_t v;
    if (!strcasecmp(k, "port")) {
        NEED(2);
        if (!parse_u64(argv[1], 65535, &v))
            return "Invalid port";
        cfg->port = (int)v;
        return NULL;
    }
    if (!strcasecmp(k, "bind")) {
        if (argc < 2 || argc - 1 > RUNNELD_MAX_BIND)
            return "Too many bind addresses specified.";
        for (int i = 1; i < argc; i++) {
            if (strlen(argv[i]) >= sizeof cfg->bind[0])
                return "Invalid bind address";
            strcpy(cfg->bind[i - 1], argv[i]);
        }
        cfg->nbind = argc - 1;
        return NULL;
    }
    if (!strcasecmp(k, "unixsocket")) {
        NEED(2);
        if (strlen(argv[1]) >= 108)
            return "unixsocket path too long";
        strcpy(cfg->unixsocket, argv[1]);
        return NULL;
    }
    if (!strcasecmp(k, "unixsocketperm")) {
        NEED(2);
        char *end;
        errno = 0;
        long p = strtol(argv[1], &end, 8);
        if (errno != 0 || *end != '\0' || p < 0 || p > 0777)
            return "Invalid socket file permissions";
        cfg->unixsocketperm = (unsigned)p;
        return NULL;
    }
    if (!strcasecmp(k, "requirepass")) {
        NEED(2);
        if (strlen(argv[1]) >= sizeof cfg->requirepass)
            return "Password is longer than 511 bytes";
        strcpy(cfg->requirepass, argv[1]);
        return NULL;
    }
    if (!strcasecmp(k, "maxclients")) {
        NEED(2);
        if (!parse_u64(argv[1], 1000000, &v) || v < 1)
            return "Invalid max clients limit";
        if (at_runtime && v > cfg->maxclients) {
            static char why[160];
            if (rd_set_maxclients(rd_server, (uint32_t)v, why, sizeof why) != 0)
                return why;
        }
        cfg->maxclients = (uint32_t)v;
        return NULL;
    }
    return NOT_MINE;
}

/* Where the store lives, its geometry, when it commits, what a full ring does. */
static const char *apply_store(rd_config_t *cfg, int argc, char **argv)
{
    const char *k = argv[0];
    uint64_t v;
    if (!strcasecmp(k, "dir")) {
        NEED(2);
        if (strlen(argv[1]) >= sizeof cfg->dir)
            return "dir path too long";
        strcpy(cfg->dir, argv[1]);
        return NULL;
    }
    if (!strcasecmp(k, "store-type")) {
        NEED(2);
        if (!strcasecmp(argv[1], "file"))
            cfg->store_type = RD_STORE_FILE;
        else if (!strcasecmp(argv[1], "ram"))
            cfg->store_type = RD_STORE_RAM;
        else
            return "argument must be 'file' or 'ram'";
        return NULL;
    }
    if (!strcasecmp(k, "store-filename")) {
        /* As Redis's dbfilename: a name inside dir, not a path. */
        NEED(2);
        if (strchr(argv[1], '/') != NULL)
            return "store-filename can't be a path, just a filename";
        if (argv[1][0] == '\0' || strlen(argv[1]) >= sizeof cfg->store_filename)
            return "Invalid store-filename";
        strcpy(cfg->store_filename, argv[1]);
        return NULL;
    }
    if (!strcasecmp(k, "format-store")) {
        /* "--format-store" alone on the command line means yes. */
        if (argc == 1) {
            cfg->format_store = true;
            return NULL;
        }
        NEED(2);
        int yn = parse_yesno(argv[1]);
        if (yn < 0)
            return "argument must be 'yes' or 'no'";
        cfg->format_store = yn != 0;
        return NULL;
    }
    if (!strcasecmp(k, "store-block-size")) {
        NEED(2);
        if (!rd_parse_memory(argv[1], &v) || v < 512 || v > (1u << 30) || (v & (v - 1)) != 0)
            return "Invalid store-block-size (a power of two between 512 and 1gb)";
        cfg->store_block_size = (uint32_t)v;
        return NULL;
    }
    if (!strcasecmp(k, "stream-node-max-bytes")) {
        NEED(2);
        if (!rd_parse_memory(argv[1], &v) || v > UINT32_MAX)
            return "Invalid stream-node-max-bytes";
        cfg->node_max_bytes = (uint32_t)v;
        return NULL;
    }
    if (!strcasecmp(k, "commit-policy") || !strcasecmp(k, "appendfsync")) {
        NEED(2);
        if (!strcasecmp(argv[1], "always"))
            cfg->commit_policy = RUNNEL_COMMIT_ALWAYS;
        else if (!strcasecmp(argv[1], "interval") || !strcasecmp(argv[1], "everysec"))
            cfg->commit_policy = RUNNEL_COMMIT_INTERVAL;
        else if (!strcasecmp(argv[1], "none") || !strcasecmp(argv[1], "no"))
            cfg->commit_policy = RUNNEL_COMMIT_NONE;
        else if (!strcasecmp(k, "appendfsync"))
            return "argument(s) must be one of the following: always, everysec, no";
        else
            return "argument must be 'always', 'interval' or 'none'";
        return NULL;
    }
    if (!strcasecmp(k, "store-full-policy")) {
        NEED(2);
        if (!strcasecmp(argv[1], "refuse"))
            cfg->full_policy = RUNNEL_FULL_REFUSE;
        else if (!strcasecmp(argv[1], "drop-oldest"))
            cfg->full_policy = RUNNEL_FULL_DROP_OLDEST;
        else if (!strcasecmp(argv[1], "relocate"))
            cfg->full_policy = RUNNEL_FULL_RELOCATE;
        else
            return "argument must be 'refuse', 'drop-oldest' or 'relocate'";
        return NULL;
    }
    return NOT_MINE;
}

/* Logging, supervision and the debug command. */
static const char *apply_process(rd_config_t *cfg, int argc, char **argv)
{
    const char *k = argv[0];
    if (!strcasecmp(k, "loglevel")) {
        NEED(2);
        static const char *const names[] = {"debug", "verbose", "notice", "warning", "nothing"};
        for (int i = 0; i < 5; i++) {
            if (!strcasecmp(argv[1], names[i])) {
                cfg->loglevel = i;
                return NULL;
            }
        }
        return "Invalid log level. Must be one of debug, verbose, notice, warning, nothing";
    }
    if (!strcasecmp(k, "logfile")) {
        NEED(2);
        if (strlen(argv[1]) >= sizeof cfg->logfile)
            return "logfile path too long";
        strcpy(cfg->logfile, argv[1]);
        return NULL;
    }
    if (!strcasecmp(k, "enable-debug-command")) {
        /* Redis 7's protected config: no (default), yes, or local. */
        NEED(2);
        if (!strcasecmp(argv[1], "local")) {
            cfg->enable_debug_command = 2;
            return NULL;
        }
        int yn = parse_yesno(argv[1]);
        if (yn < 0)
            return "argument must be one of the following: no, yes, local";
        cfg->enable_debug_command = yn ? 1 : 0;
        return NULL;
    }
    if (!strcasecmp(k, "protected-mode")) {
        NEED(2);
        int yn = parse_yesno(argv[1]);
        if (yn < 0)
            return "argument must be 'yes' or 'no'";
        cfg->protected_mode = yn != 0;
        return NULL;
    }
    if (!strcasecmp(k, "supervised")) {
        NEED(2);
        if (!strcasecmp(argv[1], "no"))
            cfg->supervised = RD_SUPERVISED_NO;
        else if (!strcasecmp(argv[1], "systemd"))
            cfg->supervised = RD_SUPERVISED_SYSTEMD;
        else if (!strcasecmp(argv[1], "auto"))
            cfg->supervised = RD_SUPERVISED_AUTO;
        else if (!strcasecmp(argv[1], "upstart"))
            return "runneld supports 'supervised systemd', 'auto' or 'no', not upstart";
        else
            return "argument must be 'no', 'systemd' or 'auto'";
        return NULL;
    }
    return NOT_MINE;
}

/* Client memory: the budget of all clients and the output limits. */
static const char *apply_client_memory(rd_config_t *cfg, int argc, char **argv)
{
    const char *k = argv[0];
    uint64_t v;
    if (!strcasecmp(k, "maxmemory-clients")) {
        /* As Redis: bytes, or "<n>%" (here of the machine's RAM). */
        NEED(2);
        size_t l = strlen(argv[1]);
        if (l > 1 && argv[1][l - 1] == '%') {
            char num[32];
            if (l - 1 >= sizeof num)
                return "argument must be a memory or percent value";
            memcpy(num, argv[1], l - 1);
            num[l - 1] = '\0';
            if (!parse_u64(num, UINT64_MAX, &v))
                return "argument must be a memory or percent value";
            if (v > 100)
                return "percentage argument must be less or equal to 100";
            cfg->maxmemory_clients_pct = (uint32_t)v;
            cfg->maxmemory_clients = 0;
            return NULL;
        }
        if (!rd_parse_memory(argv[1], &v))
            return "argument must be a memory or percent value";
        cfg->maxmemory_clients = v;
        cfg->maxmemory_clients_pct = 0;
        return NULL;
    }
    if (!strcasecmp(k, "client-output-buffer-limit")) {
        /* Redis's "<class> <hard> <soft> <secs>" groups (only the normal
         * class means anything here), or one size: the normal hard limit. */
        if (argc == 2) {
            NEED(2);
            if (!rd_parse_memory(argv[1], &v))
                return "Invalid client-output-buffer-limit";
            cfg->output_hard = v;
            cfg->output_soft = 0;
            cfg->output_soft_secs = 0;
            return NULL;
        }
        if (argc < 5 || (argc - 1) % 4 != 0)
            return "wrong number of arguments";
        for (int i = 1; i < argc; i += 4) {
            if (strcasecmp(argv[i], "normal") && strcasecmp(argv[i], "replica") &&
                strcasecmp(argv[i], "slave") && strcasecmp(argv[i], "pubsub"))
                return "Invalid client class specified in buffer limit configuration.";
            uint64_t hard, soft, secs;
            if (!rd_parse_memory(argv[i + 1], &hard) || !rd_parse_memory(argv[i + 2], &soft) ||
                !parse_u64(argv[i + 3], INT_MAX, &secs))
                return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            if (!strcasecmp(argv[i], "normal")) {
                cfg->output_hard = hard;
                cfg->output_soft = soft;
                cfg->output_soft_secs = (uint32_t)secs;
            }
        }
        return NULL;
    }
    return NOT_MINE;
}

/* redis.conf directives that mean "what runneld does anyway". */
static const char *apply_redis_compat(int argc, char **argv)
{
    const char *k = argv[0];
    if (!strcasecmp(k, "daemonize")) {
        NEED(2);
        if (parse_yesno(argv[1]) != 0)
            return "runneld does not daemonize: run it under systemd (daemonize no)";
        return NULL;
    }
    if (!strcasecmp(k, "appendonly")) {
        NEED(2);
        if (parse_yesno(argv[1]) < 0)
            return "argument must be 'yes' or 'no'";
        return NULL;
    }
    if (!strcasecmp(k, "save") || !strcasecmp(k, "tcp-backlog") ||
        !strcasecmp(k, "tcp-keepalive") || !strcasecmp(k, "hz") ||
        !strcasecmp(k, "pidfile"))
        return NULL;
    return NOT_MINE;
}

/* Applies one directive. Returns NULL or the error text. */
static const char *apply(rd_config_t *cfg, int argc, char **argv, bool at_runtime)
{
    const char *e;
    if (rd_sync_is_directive(argv[0]))
        return rd_sync_directive(argc, argv);   /* sync.c */
    if ((e = apply_number(cfg, argc, argv, at_runtime)) != NOT_MINE)
        return e;
    if ((e = apply_network(cfg, argc, argv, at_runtime)) != NOT_MINE)
        return e;
    if ((e = apply_store(cfg, argc, argv)) != NOT_MINE)
        return e;
    if ((e = apply_process(cfg, argc, argv)) != NOT_MINE)
        return e;
    if ((e = apply_client_memory(cfg, argc, argv)) != NOT_MINE)
        return e;
    if ((e = apply_redis_compat(argc, argv)) != NOT_MINE)
        return e;
    return "Bad directive or wrong number of arguments";
}
#undef NEED

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Splits a config line in place (sdssplitargs rules). Returns argc or -1
 * for unbalanced quotes. */
static int split_line(char *line, char **argv, int max)
{
    int argc = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p == '\0')
            return argc;
        if (argc == max)
            return -1;
        char *out = p, *start = p;
        bool inq = false, insq = false;
        for (;;) {
            if (inq) {
                if (*p == '\0')
                    return -1;
                if (p[0] == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
                    *out++ = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                    p += 4;
                } else if (p[0] == '\\' && p[1] != '\0') {
                    p++;
                    char c = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t'
                           : *p == 'b' ? '\b' : *p == 'a' ? '\a' : *p;
                    *out++ = c;
                    p++;
                } else if (*p == '"') {
                    p++;
                    if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                        return -1;
                    break;
                } else {
                    *out++ = *p++;
                }
            } else if (insq) {
                if (*p == '\0')
                    return -1;
                if (p[0] == '\\' && p[1] == '\'') {
                    *out++ = '\'';
                    p += 2;
                } else if (*p == '\'') {
                    p++;
                    if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                        return -1;
                    break;
                } else {
                    *out++ = *p++;
                }
            } else {
                if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\0')
                    break;
                if (*p == '"' && out == start) {
                    inq = true;
                    p++;
                } else if (*p == '\'' && out == start) {
                    insq = true;
                    p++;
                } else {
                    *out++ = *p++;
                }
            }
        }
        bool at_end = *p == '\0';
        *out = '\0';
        argv[argc++] = start;
        if (at_end)
            return argc;
        p++;
    }
}

static void format_error(char *err, size_t cap, const char *where, int line, const char *text,
                         const char *msg)
{
    snprintf(err, cap,
             "\n*** FATAL CONFIG FILE ERROR (runneld %s) ***\n"
             "Reading the configuration file%s%s, at line %d\n"
             ">>> '%s'\n%s",
             RUNNELD_VERSION, where[0] ? " " : "", where, line, text, msg);
}

int rd_config_load(rd_config_t *cfg, const char *path, int argc, char **argv, char *err,
                   size_t errcap)
{
    char line[8192];
    char *args[64];
    if (path != NULL) {
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            snprintf(err, errcap, "Fatal error, can't open config file '%s': %s", path,
                     strerror(errno));
            return -1;
        }
        if (realpath(path, cfg->config_file) == NULL)
            snprintf(cfg->config_file, sizeof cfg->config_file, "%s", path);
        int lineno = 0;
        while (fgets(line, sizeof line, f) != NULL) {
            lineno++;
            char shown[sizeof line];
            snprintf(shown, sizeof shown, "%s", line);
            shown[strcspn(shown, "\r\n")] = '\0';
            char *p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '#' || *p == '\0' || *p == '\n' || *p == '\r')
                continue;
            int n = split_line(p, args, 64);
            if (n < 0) {
                format_error(err, errcap, path, lineno, shown, "Unbalanced quotes in configuration line");
                fclose(f);
                return -1;
            }
            if (n == 0)
                continue;
            const char *e = apply(cfg, n, args, false);
            if (e != NULL) {
                format_error(err, errcap, path, lineno, shown, e);
                fclose(f);
                return -1;
            }
        }
        fclose(f);
    }
    /* Flags: "--name v1 v2 --other v" as redis-server; each --name starts
     * a directive, the following non-"--" words are its arguments. Lines
     * are numbered after the file's, as redis-server does. */
    int i = 0, lineno = 0;
    while (i < argc) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            snprintf(err, errcap, "Invalid option '%s': options start with -- (see --help)",
                     argv[i]);
            return -1;
        }
        int n = 0;
        args[n++] = argv[i] + 2;
        i++;
        while (i < argc && n < 64 && strncmp(argv[i], "--", 2) != 0)
            args[n++] = argv[i++];
        lineno++;
        const char *e = apply(cfg, n, args, false);
        if (e != NULL) {
            char shown[1024];
            size_t off = 0;
            for (int k = 0; k < n && off < sizeof shown; k++)
                off += (size_t)snprintf(shown + off, sizeof shown - off, "%s%s", k ? " " : "",
                                        args[k]);
            format_error(err, errcap, "(command line)", lineno, shown, e);
            return -1;
        }
    }
    return 0;
}

int rd_config_finish(rd_config_t *cfg, char *err, size_t errcap)
{
    if (cfg->store_size % cfg->store_block_size != 0 ||
        cfg->store_size / cfg->store_block_size < 4 ||
        cfg->store_size / cfg->store_block_size > UINT32_MAX) {
        snprintf(err, errcap,
                 "store-size must be a multiple of store-block-size and hold at least 4 blocks");
        return -1;
    }
    /* Pools left at 0: room for 100,000 keys (a key is a stream of at
     * least one node) and 10,000 groups with four consumers each, which is
     * what an SBC broker is asked for, growing with a bigger store (a node
     * per KiB, a PEL slot per KiB, a stream per 64 KiB). The arena that
     * holds them is mapped once, but a slot is only touched when it is
     * first used (core/util_arena.c, node.c, group.c): these cost address
     * space, not RAM. Per slot (64-bit, default max-key-len 256): a stream
     * about 490 B, a node 112, a group 300, a consumer 284, a pending entry
     * 48; the defaults map about 116 MB, and with max-reply-size's 128 MB
     * runneld's VSZ stays under 256 MB. */
    uint64_t kib = cfg->store_size / 1024;
    if (cfg->max_nodes == 0)
        cfg->max_nodes = (uint32_t)(kib < 196608 ? 196608 : kib > 4000000 ? 4000000 : kib);
    if (cfg->max_pending == 0)
        cfg->max_pending = (uint32_t)(kib < 131072 ? 131072 : kib > 4000000 ? 4000000 : kib);
    if (cfg->max_streams == 0)
        cfg->max_streams = (uint32_t)(kib / 64 < 131072 ? 131072 : kib / 64 > 1000000 ? 1000000 : kib / 64);
    if (cfg->max_groups == 0)
        cfg->max_groups = cfg->max_streams / 8;
    if (cfg->max_consumers == 0)
        cfg->max_consumers = cfg->max_groups * 4;
    return 0;
}

/* ---- CONFIG GET / SET of the host's parameters ---- */

const char *const rd_config_names[] = {
    "port", "bind", "unixsocket", "unixsocketperm", "requirepass", "maxclients", "timeout",
    "dir", "store-type", "store-filename", "store-size", "store-block-size", "max-streams", "max-pending", "max-groups",
    "max-consumers", "max-nodes", "max-key-len", "max-fields", "loglevel", "logfile",
    "protected-mode", "enable-debug-command", "client-query-buffer-limit", "client-output-buffer-limit",
    "proto-max-bulk-len", "maxmemory-clients", "client-max-memory", "max-reply-size",
    "commit-policy", "appendfsync", "commit-interval-ms", "store-full-policy",
    "upstream", "sync-keys", "sync-prefix", "sync-db", "sync-batch", "sync-inflight-entries",
    "sync-inflight-bytes", "sync-backoff-min-ms", "sync-backoff-max-ms", "sync-reply-timeout-ms",
    "sync-max-streams", NULL,
};

int rd_config_get(void *ctx, const char *name, char *buf, size_t cap)
{
    rd_server_t *s = ctx;
    const rd_config_t *c = &s->cfg;
    int n = -1;
    if (rd_sync_is_directive(name))
        return rd_sync_config_get(name, buf, cap);
#define OUT(...) n = snprintf(buf, cap, __VA_ARGS__)
    if (!strcmp(name, "port")) OUT("%d", c->port);
    else if (!strcmp(name, "bind")) {
        size_t off = 0;
        buf[0] = '\0';
        for (int i = 0; i < c->nbind && off < cap; i++)
            off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? " " : "", c->bind[i]);
        n = (int)(off < cap ? off : cap);
    }
    else if (!strcmp(name, "unixsocket")) OUT("%s", c->unixsocket);
    else if (!strcmp(name, "unixsocketperm")) OUT("%o", c->unixsocketperm);
    else if (!strcmp(name, "requirepass")) OUT("%s", c->requirepass);
    else if (!strcmp(name, "maxclients")) OUT("%u", c->maxclients);
    else if (!strcmp(name, "timeout")) OUT("%u", c->timeout);
    else if (!strcmp(name, "dir")) {
        char cwd[RUNNELD_PATH_MAX];
        OUT("%s", getcwd(cwd, sizeof cwd) ? cwd : c->dir);
    }
    else if (!strcmp(name, "store-type")) OUT("%s", c->store_type == RD_STORE_RAM ? "ram" : "file");
    else if (!strcmp(name, "store-filename")) OUT("%s", c->store_filename);
    else if (!strcmp(name, "store-size")) OUT("%llu", (unsigned long long)c->store_size);
    else if (!strcmp(name, "store-block-size")) OUT("%u", c->store_block_size);
    else if (!strcmp(name, "max-streams")) OUT("%u", c->max_streams);
    else if (!strcmp(name, "max-pending")) OUT("%u", c->max_pending);
    else if (!strcmp(name, "max-groups")) OUT("%u", c->max_groups);
    else if (!strcmp(name, "max-consumers")) OUT("%u", c->max_consumers);
    else if (!strcmp(name, "max-nodes")) OUT("%u", c->max_nodes);
    else if (!strcmp(name, "max-key-len")) OUT("%u", c->max_key_len);
    else if (!strcmp(name, "max-fields")) OUT("%u", c->max_fields);
    else if (!strcmp(name, "loglevel")) {
        static const char *const names[] = {"debug", "verbose", "notice", "warning", "nothing"};
        OUT("%s", names[c->loglevel]);
    }
    else if (!strcmp(name, "logfile")) OUT("%s", c->logfile);
    else if (!strcmp(name, "protected-mode")) OUT("%s", c->protected_mode ? "yes" : "no");
    else if (!strcmp(name, "enable-debug-command"))
        OUT("%s", c->enable_debug_command == 1 ? "yes" : c->enable_debug_command == 2 ? "local" : "no");
    else if (!strcmp(name, "client-query-buffer-limit")) OUT("%llu", (unsigned long long)c->query_limit);
    else if (!strcmp(name, "client-output-buffer-limit"))
        OUT("normal %llu %llu %u slave 0 0 0 pubsub 0 0 0", (unsigned long long)c->output_hard,
            (unsigned long long)c->output_soft, c->output_soft_secs);
    else if (!strcmp(name, "proto-max-bulk-len"))
        OUT("%llu", (unsigned long long)c->proto_max_bulk_len);
    else if (!strcmp(name, "maxmemory-clients")) {
        if (c->maxmemory_clients_pct != 0)
            OUT("%u%%", c->maxmemory_clients_pct);
        else
            OUT("%llu", (unsigned long long)c->maxmemory_clients);
    }
    else if (!strcmp(name, "client-max-memory"))
        OUT("%llu", (unsigned long long)c->client_max_memory);
    else if (!strcmp(name, "max-reply-size"))
        OUT("%llu", (unsigned long long)c->max_reply_size);
    else if (!strcmp(name, "commit-policy"))
        OUT("%s", c->commit_policy == RUNNEL_COMMIT_ALWAYS ? "always"
                  : c->commit_policy == RUNNEL_COMMIT_INTERVAL ? "interval" : "none");
    else if (!strcmp(name, "appendfsync"))
        OUT("%s", c->commit_policy == RUNNEL_COMMIT_ALWAYS ? "always"
                  : c->commit_policy == RUNNEL_COMMIT_INTERVAL ? "everysec" : "no");
    else if (!strcmp(name, "commit-interval-ms")) OUT("%u", c->commit_interval_ms);
    else if (!strcmp(name, "store-full-policy"))
        OUT("%s", c->full_policy == RUNNEL_FULL_DROP_OLDEST ? "drop-oldest"
                  : c->full_policy == RUNNEL_FULL_RELOCATE  ? "relocate"
                                                            : "refuse");
#undef OUT
    if (n < 0)
        return -1;
    return (size_t)n < cap ? n : (int)cap;
}

/* Parameters that can change while running; the rest size the store or
 * the staging area, fixed at start-up (CONFIG SET answers "can't set
 * immutable config"). */
int rd_config_set(void *ctx, const char *name, const char *value, size_t vlen)
{
    rd_server_t *s = ctx;
    static const char *const mutable_names[] = {
        "requirepass", "maxclients", "timeout", "loglevel", "protected-mode",
        "client-query-buffer-limit", "proto-max-bulk-len", "client-output-buffer-limit",
        "maxmemory-clients", "client-max-memory", "appendfsync", "commit-policy",
        "commit-interval-ms", NULL};
    bool ok = false;
    if (rd_sync_is_directive(name))
        return rd_sync_config_set(name, value, vlen);
    for (int i = 0; mutable_names[i] != NULL; i++)
        if (!strcmp(name, mutable_names[i]))
            ok = true;
    if (!ok)
        return -1;
    char val[600];
    if (vlen >= sizeof val || memchr(value, '\0', vlen) != NULL)
        return RUNNEL_ERR_INVAL;
    memcpy(val, value, vlen);
    val[vlen] = '\0';
    rd_config_t tmp = s->cfg;
    char namebuf[64];
    snprintf(namebuf, sizeof namebuf, "%s", name);
    /* Multi-word values (client-output-buffer-limit) split as in a file. */
    char *args[64];
    args[0] = namebuf;
    int n = 1;
    args[1] = val;
    if (!strcmp(name, "client-output-buffer-limit"))
        n = split_line(val, args + 1, 63);
    if (n < 1 || apply(&tmp, n + 1, args, true) != NULL)
        return RUNNEL_ERR_INVAL;
    s->cfg = tmp;
    s->limits.max_bulk = s->cfg.proto_max_bulk_len < (uint64_t)INT32_MAX - 1024
                       ? s->cfg.proto_max_bulk_len : (uint64_t)INT32_MAX - 1024;
    if (s->store != NULL)
        (void)runnel_set_max_entry_bytes(s->store, s->cfg.proto_max_bulk_len);
    s->srv.requirepass = s->cfg.requirepass;
    s->srv.requirepass_len = strlen(s->cfg.requirepass);
    rd_log_set_level(s->cfg.loglevel);
    return 0;
}
