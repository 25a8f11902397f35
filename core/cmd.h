/*
 * cmd.h - the Redis command layer: argv in, engine calls, RESP replies out.
 *
 * Shared by the Linux broker (tools/runneld) and any firmware console, so
 * everything with Redis semantics lives here, in core: argument parsing
 * with Redis 7.0.15's option order and error precedence, reply shapes,
 * MULTI/EXEC, blocking XREAD/XREADGROUP bookkeeping, command and error
 * statistics, and the connection/server commands (PING, HELLO, AUTH, SELECT,
 * CLIENT, COMMAND, CONFIG, INFO, ...).
 *
 * What only the hosting program knows (its client list, sockets, uptime,
 * memory, its own configuration) is reached through runnel_server_ops_t.
 *
 * Memory: runnel_server_t and runnel_client_t are allocated by the host
 * (once, at start-up, for a fixed number of client slots), together with
 * the per-client buffers they point to. The command layer never allocates.
 *
 * Files: cmd.c (dispatcher, table lookup, MULTI, stats), cmd_stream*.c
 * (X* commands), cmd_block.c (blocking reads), cmd_server*.c (connection,
 * keyspace and server commands), cmd_info.c (INFO).
 */
#ifndef RUNNEL_CMD_H
#define RUNNEL_CMD_H

#include "runnel.h"
#include "resp.h"

typedef struct runnel_server runnel_server_t;
typedef struct runnel_client runnel_client_t;

/* Result of executing a command. */
typedef enum runnel_cmd_result {
    RUNNEL_CMD_DONE = 0,     /* reply written to client->out */
    RUNNEL_CMD_BLOCKED = 1,  /* client is now blocked; no reply yet */
    RUNNEL_CMD_CLOSE = 2     /* reply written; close after flushing (QUIT) */
} runnel_cmd_result_t;

#define RUNNEL_CLIENT_NAME_MAX 64

/* A blocked XREAD / XREADGROUP, kept until served, timed out or cancelled.
 * Keys, group and consumer names are copied into client->block_buf so the
 * host may reuse its query buffer. */
typedef struct runnel_block {
    bool active;
    bool group_read;         /* XREADGROUP */
    bool noack;
    int64_t count;
    uint64_t deadline_ms;    /* 0 = forever */
    uint64_t since_ms;       /* block start (FIFO order) */
    uint32_t db;
    uint32_t nkeys;
    uint32_t stat_index;     /* cmdstats slot, counted when the block ends */
    /* Layout inside block_buf is private to cmd_block.c. */
} runnel_block_t;

struct runnel_client {
    uint64_t id;
    uint32_t db;
    uint8_t resp;               /* 2 or 3 */
    bool authenticated;
    bool close_after_reply;
    char name[RUNNEL_CLIENT_NAME_MAX];
    uint32_t name_len;
    uint64_t created_ms;
    uint64_t last_cmd_ms;
    char last_cmd[24];          /* lower-case name of the last command (CLIENT LIST cmd=) */
    char addr[64];              /* "ip:port" or "path:0" for CLIENT LIST */
    char laddr[64];
    int fd;                     /* for CLIENT LIST only */

    runnel_resp_writer_t out;   /* replies accumulate here; host flushes */

    /* MULTI/EXEC: queued commands serialised into multi_buf. */
    bool in_multi;
    bool multi_dirty;           /* an error while queueing -> EXECABORT */
    bool watch_dirty;           /* a WATCHed key was modified -> EXEC returns nil */
    uint8_t *multi_buf;
    size_t multi_cap, multi_len;
    uint32_t multi_count;
    /* WATCH: watched keys serialised into watch_buf. */
    uint8_t *watch_buf;
    size_t watch_cap, watch_len;

    /* Blocking reads. */
    runnel_block_t block;
    uint8_t *block_buf;
    size_t block_cap;
    runnel_client_t *block_prev, *block_next;  /* FIFO of blocked clients */

    void *host;                 /* host's own per-connection data */
};

/* Services the host provides. Any pointer may be NULL when the host has no
 * such thing (a firmware console has one client and no sockets). */
typedef struct runnel_server_ops {
    void *ctx;
    /* Visit every connected client (CLIENT LIST, INFO clients). */
    void (*foreach_client)(void *ctx, void (*fn)(void *arg, runnel_client_t *c), void *arg);
    /* CLIENT KILL ID <id>: close that client after the current command; 1 if found. */
    int (*kill_client)(void *ctx, uint64_t id);
    /* A blocked client was served (or errored/timed out): flush its output. */
    void (*client_woken)(void *ctx, runnel_client_t *c);
    /* Append host-specific INFO lines for `section` ("server", "clients",
     * "memory", "persistence", "stats") to w as raw "key:value\r\n" text;
     * returns bytes written. */
    size_t (*info)(void *ctx, const char *section, char *buf, size_t cap);
    /* CONFIG GET/SET of host-owned parameters (port, bind, maxclients,
     * timeout, requirepass, dir, ...). get: writes the value into buf and
     * returns its length, or -1 if unknown. set: 0 ok, -1 unknown,
     * RUNNEL_ERR_INVAL bad value. The names are lower-case. */
    int (*config_get)(void *ctx, const char *name, char *buf, size_t cap);
    int (*config_set)(void *ctx, const char *name, const char *value, size_t vlen);
    /* Names of host-owned parameters for CONFIG GET patterns; NULL-terminated. */
    const char *const *config_names;
    /* SHUTDOWN: commit the store and stop after the current command. 0 when
     * the host will stop; negative when it cannot (the client gets an error). */
    int (*shutdown)(void *ctx);
} runnel_server_ops_t;

/* Per-command statistics (INFO commandstats). */
typedef struct runnel_cmdstat {
    uint64_t calls, usec, rejected_calls, failed_calls;
} runnel_cmdstat_t;

#define RUNNEL_MAX_ERROR_CODES 16

struct runnel_server {
    runnel_t *store;
    const runnel_server_ops_t *ops;
    /* requirepass; len 0 = no password. Points into host memory. */
    const char *requirepass;
    size_t requirepass_len;
    uint64_t start_ms;
    /* Blocked clients in block order (FIFO). */
    runnel_client_t *blocked_head, *blocked_tail;
    uint32_t blocked_count;
    /* Clients with at least one WATCHed key: a write walks the client list
     * to mark watchers dirty only when this is non-zero (the common case,
     * no WATCH at all, then costs nothing per write). */
    uint32_t watching_clients;
    /* Keys signalled ready by the engine during the current command, served
     * after it (runnel_cmd_serve_ready). Fixed ring in host memory. */
    uint8_t *ready_buf;
    size_t ready_cap, ready_len;
    bool ready_overflow;       /* too many: every blocked client is re-checked */
    /* Stats. Indexed by the command table index (runnel_cmd_count()). */
    runnel_cmdstat_t *cmdstats;
    uint64_t total_commands, total_connections, rejected_connections;
    uint64_t total_error_replies;
    char error_codes[RUNNEL_MAX_ERROR_CODES][16];
    uint64_t error_counts[RUNNEL_MAX_ERROR_CODES];
    uint64_t keyspace_hits, keyspace_misses;
    /* Clock. */
    const runnel_clock_t *clock;
    /* Current stream-node-max-entries / -bytes as CONFIG SET left them
     * (cmd_server_config.c); 0 = the store's configured value. */
    uint32_t node_max_entries, node_max_bytes;
};

/* Bytes the host must give each client for block_buf and multi_buf to
 * allow `query_max` bytes of arguments (a blocked command or a MULTI queue
 * can hold at most that much). */
size_t runnel_cmd_block_buf_size(size_t query_max);

/* Initialises server state. cmdstats must have runnel_cmd_count() entries;
 * ready_buf holds signalled keys. The notify hook of the store's config
 * must point at runnel_cmd_notify with ctx = the server. */
int runnel_server_init(runnel_server_t *s, runnel_t *store, const runnel_server_ops_t *ops,
                       const runnel_clock_t *clock, runnel_cmdstat_t *cmdstats,
                       uint8_t *ready_buf, size_t ready_cap);

/* The store's notify callback (runnel_config.notify) for a server. */
void runnel_cmd_notify(void *server, uint32_t db, runnel_str_t key, runnel_key_event_t ev);

/* Resets a client slot for a new connection. */
void runnel_client_init(runnel_client_t *c, uint64_t id, uint8_t *out_buf, size_t out_cap,
                        uint8_t *multi_buf, size_t multi_cap, uint8_t *watch_buf,
                        size_t watch_cap, uint8_t *block_buf, size_t block_cap,
                        bool authenticated);

/* Executes one command for a client. The reply goes to c->out. After it
 * the host must call runnel_cmd_serve_ready() to wake blocked clients. */
runnel_cmd_result_t runnel_cmd_execute(runnel_server_t *s, runnel_client_t *c,
                                       int argc, const runnel_str_t *argv);

/* Serves blocked clients whose keys were signalled ready (FIFO), calling
 * ops->client_woken for each one that got a reply. */
void runnel_cmd_serve_ready(runnel_server_t *s);

/* Times out blocked clients whose deadline passed (reply: null array). */
void runnel_cmd_expire_blocked(runnel_server_t *s, uint64_t now_ms);

/* Earliest deadline among blocked clients, 0 if none. */
uint64_t runnel_cmd_next_deadline(const runnel_server_t *s);

/* The connection is going away: drop it from blocked lists. */
void runnel_cmd_client_closed(runnel_server_t *s, runnel_client_t *c);

/* Replies with a protocol error as Redis does before closing. */
void runnel_cmd_protocol_error(runnel_server_t *s, runnel_client_t *c, const char *msg);

/* Redis's one-line client description (CLIENT LIST, and the server log
 * when a client is dropped): "id=.. addr=.. laddr=.. fd=.. name=.. ...".
 * Writes at most cap bytes (no NUL) and returns the length written. */
size_t runnel_client_info_string(const runnel_client_t *c, uint64_t now_ms, char *buf,
                                 size_t cap);

/* Number of commands in the table (for cmdstats sizing). */
size_t runnel_cmd_count(void);

/* ---- internal to the command layer (shared by its files) ---- */

/* One command invocation handed to a handler. */
typedef struct runnel_cmd {
    runnel_server_t *srv;
    runnel_client_t *client;
    runnel_t *r;
    runnel_resp_writer_t *w;
    int argc;
    const runnel_str_t *argv;
    bool in_exec;        /* inside EXEC: BLOCK is ignored */
    bool error_written;  /* set by runnel__cmd_error* (failed_calls, errorstats) */
    uint64_t now_ms;
    size_t stat_index;   /* this command's cmdstats slot (set by the dispatcher) */
} runnel_cmd_t;

typedef runnel_cmd_result_t (*runnel_cmd_handler_t)(runnel_cmd_t *cmd);

/* Command flags (COMMAND INFO and dispatcher rules). */
#define RUNNEL_CMDF_WRITE     0x01u
#define RUNNEL_CMDF_READONLY  0x02u
#define RUNNEL_CMDF_NOAUTH    0x04u  /* allowed before AUTH (AUTH, HELLO, QUIT, RESET) */
#define RUNNEL_CMDF_NOMULTI   0x08u  /* executed immediately inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET) */
#define RUNNEL_CMDF_BLOCKING  0x10u
#define RUNNEL_CMDF_FAST      0x20u

typedef struct runnel_cmd_def {
    const char *name;              /* lower case */
    int arity;                     /* Redis arity: n exact, -n at least n */
    uint32_t flags;
    runnel_cmd_handler_t handler;  /* NULL for a container with subcommands */
    const struct runnel_cmd_def *subcommands; /* NULL-name-terminated */
    int first_key, last_key, key_step;        /* COMMAND INFO key specs */
} runnel_cmd_def_t;

/* Tables, each terminated by an entry with name == NULL. */
extern const runnel_cmd_def_t runnel__stream_commands[];  /* cmd_stream*.c */
extern const runnel_cmd_def_t runnel__server_commands[];  /* cmd_server*.c */

/* Looks a command up in all tables, case-insensitively; NULL if unknown.
 * *index receives its cmdstats index. */
const runnel_cmd_def_t *runnel__cmd_lookup(runnel_str_t name, size_t *index);
/* Subcommand of a container (case-insensitive); *index its cmdstats slot. */
const runnel_cmd_def_t *runnel__cmd_lookup_sub(const runnel_cmd_def_t *parent, size_t parent_index,
                                               runnel_str_t name, size_t *index);
/* The command at cmdstats slot `index` (0 .. runnel_cmd_count()-1): slots
 * number every table entry in table order, each container followed by its
 * subcommands. *parent is the container for a subcommand (INFO names it
 * "cmdstat_<parent>|<name>"), NULL otherwise. NULL past the end. */
const runnel_cmd_def_t *runnel__cmd_at(size_t index, const runnel_cmd_def_t **parent);
/* MULTI/WATCH state reset (RESET): leaves MULTI, drops the queue, unwatches. */
void runnel__cmd_multi_discard(runnel_server_t *s, runnel_client_t *c);
/* Forgets c's WATCHed keys (keeps s->watching_clients in step). */
void runnel__cmd_unwatch(runnel_server_t *s, runnel_client_t *c);
/* Writes an error to any writer and counts it in errorstats (replies to
 * blocked clients, which have no runnel_cmd_t). */
void runnel__server_error_reply(runnel_server_t *s, runnel_resp_writer_t *w,
                                const char *text, size_t n);
/* Visits every top-level command (COMMAND, COMMAND COUNT/INFO/DOCS);
 * subcommands hang off d->subcommands. */
void runnel__cmd_foreach(void (*fn)(void *ctx, const runnel_cmd_def_t *d), void *ctx);

/* Writes an error reply for code (runnel_strerror text; name arguments as
 * runnel_format_error) and records errorstats/failed_calls. */
void runnel__cmd_error(runnel_cmd_t *cmd, int code);
void runnel__cmd_error_fmt(runnel_cmd_t *cmd, int code, runnel_str_t a, runnel_str_t b);
/* Writes an arbitrary error text (without '-'), e.g. arity or unknown-command. */
void runnel__cmd_error_text(runnel_cmd_t *cmd, const char *text, size_t n);

/* Case-insensitive compare of an argument with a keyword. */
bool runnel__arg_is(runnel_str_t arg, const char *keyword);
/* Redis's string2ll / getLongLongFromObject: strict base-10 int64. */
bool runnel__arg_i64(runnel_str_t arg, int64_t *out);

/* ---- server command handlers shared between cmd_server*.c and cmd_info.c ---- */
runnel_cmd_result_t runnel__cmd_info(runnel_cmd_t *cmd);          /* cmd_info.c */
runnel_cmd_result_t runnel__cmd_client(runnel_cmd_t *cmd);        /* cmd_server_client.c */
runnel_cmd_result_t runnel__cmd_command(runnel_cmd_t *cmd);       /* cmd_server_command.c */
runnel_cmd_result_t runnel__cmd_config(runnel_cmd_t *cmd);        /* cmd_server_config.c */
/* Redis's stringmatchlen (glob: * ? [...] [^...] ranges, \ escapes). */
bool runnel__glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase);
/* Sets or (empty) clears the client name after Redis's checks; 0, or -1
 * with the error already replied (HELLO SETNAME, CLIENT SETNAME). */
int runnel__client_setname(runnel_cmd_t *cmd, runnel_str_t name);
/* "ERR unknown subcommand '<sub as typed>'. Try <CONTAINER> HELP." */
void runnel__cmd_error_unknown_sub(runnel_cmd_t *cmd, const char *container_upper);
/* "ERR wrong number of arguments for '<full>' command" (full = "client|setname"). */
void runnel__cmd_error_arity_name(runnel_cmd_t *cmd, const char *full);

/* "<CMD> HELP" (cmd_help.c): Redis's addReplyHelp frame - the header line
 * "<NAME> <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", then
 * `lines`, then "HELP" / "    Prints this help." - as simple strings.
 * A command supplies only its own lines (a static table, no header, no
 * trailer); RUNNEL__CMD_HELP passes a table with its length. */
void runnel__cmd_reply_help(runnel_cmd_t *cmd, const char *name_upper, const char *const *lines,
                            size_t n);
#define RUNNEL__CMD_HELP(cmd, name_upper, table) \
    runnel__cmd_reply_help((cmd), (name_upper), (table), sizeof(table) / sizeof((table)[0]))

/* Text replies (INFO, CLIENT LIST) composed in place in the output buffer:
 * the text is written after a gap big enough for the bulk/verbatim header,
 * then moved down once its length is known. No scratch memory needed. */
typedef struct runnel__text {
    runnel_resp_writer_t *w;
    size_t start;      /* offset of the text in w->buf */
    size_t len;        /* text bytes so far */
    bool overflow;
} runnel__text_t;
void runnel__text_begin(runnel__text_t *t, runnel_resp_writer_t *w);
void runnel__text_put(runnel__text_t *t, const void *p, size_t n);
void runnel__text_str(runnel__text_t *t, const char *s);
void runnel__text_u64(runnel__text_t *t, uint64_t v);
void runnel__text_i64(runnel__text_t *t, int64_t v);
/* Free room after the text (for a host callback to write into) and commit. */
char *runnel__text_room(runnel__text_t *t, size_t *cap);
void runnel__text_commit(runnel__text_t *t, size_t n);
/* Finishes the reply: a bulk string, or with verbatim and RESP3 "=n\r\ntxt:". */
void runnel__text_end(runnel__text_t *t, bool verbatim);

#endif /* RUNNEL_CMD_H */
