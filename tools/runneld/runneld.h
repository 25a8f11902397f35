/*
 * runneld.h - the Linux broker: shared types of its files.
 *
 *   main.c    command line, start-up (store, engine arena, reply staging),
 *             open-files limit, signals, shutdown
 *   config.c  the configuration table: Redis-style "key value" file and
 *             --key value flags, validation, CONFIG GET/SET of our params
 *   log.c     Redis-format log lines to stderr or the logfile (SIGHUP re-opens)
 *   notify.c  supervised systemd: READY=1 / STATUS= over $NOTIFY_SOCKET
 *   mem.c     client memory: growable query/output/MULTI/WATCH/block
 *             buffers, the per-client cap and the maxmemory-clients budget
 *             (eviction), shrinking idle buffers, size arithmetic helpers
 *   net.c     the epoll event loop: listeners, clients, read -> parse ->
 *             execute -> write, limits, backpressure, timeouts
 *   reply.c   streamed replies: range reads' entries read from the log
 *             as the client's socket drains, settled before removals
 *   hostops.c runnel_server_ops_t: client list, kill, wake-ups, INFO lines
 *   store.c   the store file (open, mount or format), appendfsync (flush
 *             before replies, syncs), SAVE/BGSAVE/LASTSAVE, INFO persistence
 *
 * Memory: the store ring and the engine arena are sized from the
 * configuration and taken once at start-up; so is the reply staging area
 * (address space only: max-reply-size). Everything a client uses is
 * malloc'd when it needs it, charged to it, bounded by client-max-memory
 * and maxmemory-clients, and given back when it is idle or gone (mem.c).
 */
#ifndef RUNNELD_H
#define RUNNELD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "posix_bd.h"
#include "ram_bd.h"

#define RUNNELD_VERSION RUNNEL_VERSION_STRING
#define RUNNELD_MAX_BIND 16
#define RUNNELD_PATH_MAX 1024

enum rd_loglevel { RD_LL_DEBUG = 0, RD_LL_VERBOSE, RD_LL_NOTICE, RD_LL_WARNING, RD_LL_NOTHING };

/* store-type */
enum rd_store_type { RD_STORE_FILE = 0, RD_STORE_RAM = 1 };

/* shutdown_signal value when a client sent SHUTDOWN (not a signal). */
#define RD_SHUTDOWN_COMMAND (-1)

typedef struct rd_config {
    int port;                                 /* 0 = no TCP */
    char bind[RUNNELD_MAX_BIND][64];
    int nbind;
    char unixsocket[RUNNELD_PATH_MAX];
    unsigned unixsocketperm;                  /* 0 = leave umask's */
    char requirepass[512];
    uint32_t maxclients;
    uint32_t timeout;                         /* idle seconds, 0 = never */
    char dir[RUNNELD_PATH_MAX];
    uint64_t store_size;
    uint32_t store_block_size;
    int store_type;                           /* enum rd_store_type */
    char store_filename[RUNNELD_PATH_MAX];    /* in dir, as Redis's dbfilename */
    bool format_store;                        /* --format-store: erase at start */
    uint32_t max_streams, max_pending, max_groups, max_consumers, max_nodes;
    uint32_t max_key_len, max_fields;
    uint32_t node_max_entries, node_max_bytes;
    uint32_t databases;
    int loglevel;
    char logfile[RUNNELD_PATH_MAX];
    int supervised;                           /* enum rd_supervised */
    bool protected_mode;
    uint8_t enable_debug_command;   /* Redis's: 0 no, 1 yes, 2 local */
    uint64_t query_limit;                     /* client-query-buffer-limit */
    uint64_t proto_max_bulk_len;              /* proto-max-bulk-len */
    /* client-output-buffer-limit normal <hard> <soft> <soft-seconds>; 0 = none */
    uint64_t output_hard, output_soft;
    uint32_t output_soft_secs;
    /* maxmemory-clients: bytes, or a percentage of the machine's RAM when
     * maxmemory_clients_pct != 0; 0 = no budget (Redis's default). */
    uint64_t maxmemory_clients;
    uint32_t maxmemory_clients_pct;
    uint64_t client_max_memory;               /* our per-client cap, 0 = none */
    uint64_t max_reply_size;                  /* largest reply built whole (not range reads) */
    /* appendfsync: ALWAYS = always, INTERVAL = everysec, NONE = no. What
     * runneld does (store.c); the engine itself runs with NONE. */
    runnel_commit_policy_t commit_policy;
    uint32_t commit_interval_ms;
    runnel_full_policy_t full_policy;
    char config_file[RUNNELD_PATH_MAX];       /* absolute, "" = none */
} rd_config_t;

/* supervised: as redis-server's directive. AUTO = systemd when
 * $NOTIFY_SOCKET is set. Resolved to NO or SYSTEMD at start (main.c). */
enum rd_supervised { RD_SUPERVISED_NO, RD_SUPERVISED_SYSTEMD, RD_SUPERVISED_AUTO };

/* notify.c: sd_notify over $NOTIFY_SOCKET, no libsystemd. */
bool rd_notify_available(void);
int rd_notify(const char *state);

/* config.c */
void rd_config_defaults(rd_config_t *cfg);
/* Loads the file (if path != NULL) then the flag arguments; on error
 * writes a Redis-style message (with the line) into err and returns -1. */
int rd_config_load(rd_config_t *cfg, const char *path, int argc, char **argv, char *err,
                   size_t errcap);
/* Derives the pool sizes left at 0 from store-size; checks the result. */
int rd_config_finish(rd_config_t *cfg, char *err, size_t errcap);
extern const char *const rd_config_names[];
int rd_config_get(void *ctx, const char *name, char *buf, size_t cap);
int rd_config_set(void *ctx, const char *name, const char *value, size_t vlen);
bool rd_parse_memory(const char *s, uint64_t *out);

/* log.c */
void rd_log_open(const rd_config_t *cfg);
/* Closes and opens the logfile again (SIGHUP, after logrotate moved it). */
void rd_log_reopen(void);
void rd_log_set_level(int level);
void rd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A streamed reply's range in a client's output (reply.c). */
typedef struct rd_range {
    runnel_reply_range_t rr;                  /* rr.key points at key */
    char *key;
    uint64_t at;      /* the out_in value its entries follow (staged: offset in staging) */
    bool staged;      /* handed out by the command running, still in staging */
} rd_range_t;

/* One connection: malloc'd at accept, freed at close. Its buffers are
 * NULL until used (mem.c). */
typedef struct rd_client {
    runnel_client_t c;                        /* the command layer's view */
    uint32_t slot;                            /* epoll tag: index in rd_server_t.slot_tab */
    uint32_t active_pos;                      /* index in rd_server_t.active */
    bool is_unix;
    bool close_asap;                          /* close without flushing */
    bool close_after_flush;
    bool out_paused;                          /* output backlog: input not executed */
    bool more_input;                          /* commands wait in qbuf for output room */
    bool pending;                             /* on the work list */
    uint32_t armed;                           /* epoll events registered now */
    /* Query buffer: only holds bytes that could not be executed straight
     * from the shared read buffer (a partial command, or commands waiting
     * behind a block or backpressure). */
    uint8_t *qbuf;
    size_t qcap, qlen, qpeak;
    runnel_resp_cmd_state_t pst;
    /* Output queue: reply bytes the socket did not take yet. */
    uint8_t *obuf;
    size_t ocap, olen, osent;
    uint64_t out_in, out_done;                /* bytes ever queued / sent, ranges' entries aside */
    /* Streamed replies (reply.c): ranges in output order, and the chunk of
     * entries read for the first one. */
    rd_range_t *ranges;
    uint32_t nranges, rcap;
    uint8_t *fbuf;
    size_t fcap, flen, fsent;
    uint64_t soft_since_ms;                   /* over the soft output limit since */
    uint64_t last_io_ms;
    size_t mem;                               /* bytes charged to this client */
    size_t multi_block_need;                  /* block_buf EXEC's queue needs */
    struct rd_client *next_pending;
    /* appendfsync always: its queued replies wait for the store's sync. */
    bool await_sync;
    struct rd_client *next_sync;
} rd_client_t;

typedef struct rd_server {
    rd_config_t cfg;
    runnel_server_t srv;
    runnel_server_ops_t ops;
    runnel_clock_t clock;
    runnel_t *store;
    runnel_ram_bd_t ram;
    runnel_bd_t bd;
    /* store.c: the store file and its durability. */
    runnel_posix_bd_t pbd;
    char store_path[RUNNELD_PATH_MAX + 64];
    uint64_t last_sync_ms;                    /* last successful sync (LASTSAVE) */
    uint64_t sync_try_ms;                     /* last sync attempt (everysec timer) */
    bool unsynced;                            /* flushed records wait for a sync */
    bool commit_ok, flush_ok;                 /* last commit / flush succeeded */
    char store_error[512];
    uint64_t mount_us;
    uint64_t mount_bytes_read, mount_read_calls;  /* the file's counters */
    uint64_t mount_engine_bytes_read;             /* runnel_stats' count */
    bool wear_scanned, wear_found;
    uint64_t wear_newest_seq, wear_erases_at_scan;
    /* appendfsync always: clients whose replies wait for the next sync. */
    struct rd_client *sync_head;
    int epfd;
    int listen_fds[RUNNELD_MAX_BIND + 1];
    bool listen_unix[RUNNELD_MAX_BIND + 1];
    int nlisten;
    bool listen_paused;                       /* out of file descriptors */
    /* Clients: slot_tab[slot] is the client or NULL; slots are reused
     * through free_slots, fresh ones taken from next_slot. */
    rd_client_t **slot_tab;
    uint32_t slot_cap;
    uint32_t *free_slots;
    uint32_t nfree, next_slot;
    rd_client_t **active;                     /* dense list (foreach is O(clients)) */
    uint32_t nclients;
    uint64_t next_client_id;
    rd_client_t *pending_head, *pending_tail;
    /* Shared scratch, used by one client at a time (single thread). */
    runnel_str_t *argv;
    size_t argv_cap;
    uint8_t *rbuf;                            /* read buffer (RD_READ_CHUNK) */
    uint8_t *stage;                           /* reply staging (main.c, mem.c) */
    size_t stage_cap;                         /* writer capacity */
    size_t stage_map;                         /* bytes mapped */
    size_t stage_dirty;                       /* high-water of bytes written */
    rd_client_t *stage_owner;                 /* client whose input is executing */
    runnel_resp_limits_t limits;
    /* memory */
    void *store_map;
    size_t mem_store, mem_arena;
    size_t clients_mem;                       /* sum of rd_client_t.mem */
    uint32_t range_clients;                   /* clients with streamed replies in flight */
    /* INFO runnel: ranges streamed, written out whole before a removal,
     * and cut (their entries were dropped: the client was closed). */
    uint64_t ranges_streamed, ranges_settled, ranges_cut;
    uint64_t mem_peak;  /* highest RSS INFO has seen (used_memory_peak) */
    size_t recent_max_in, recent_max_out;     /* INFO client_recent_max_*_buffer */
    /* stats */
    uint64_t net_in, net_out, reads, writes;
    uint64_t qbuf_disconnects, obuf_disconnects, evicted_clients;
    uint64_t start_ms;
    uint64_t loop_now;                        /* clock read once per loop turn */
    char run_id[41];
    char executable[RUNNELD_PATH_MAX];
    volatile int shutdown_signal;   /* a signal number, or RD_SHUTDOWN_COMMAND */
    volatile sig_atomic_t reopen_log;   /* SIGHUP seen: re-open the logfile */
} rd_server_t;

extern rd_server_t *rd_server;

uint64_t rd_now_ms(void);
/* main.c: CONFIG SET maxclients above the current value (descriptors and
 * slot table); -1 with Redis's message in err. */
int rd_set_maxclients(rd_server_t *s, uint32_t n, char *err, size_t errcap);

/* net.c */
int rd_net_listen(rd_server_t *s);
int rd_net_loop(rd_server_t *s);
void rd_net_close_listeners(rd_server_t *s);
void rd_client_schedule(rd_server_t *s, rd_client_t *c);
/* Re-arms epoll for what the client can do now (read, write). */
void rd_client_refresh(rd_server_t *s, rd_client_t *c);
/* Grows the client slot arrays to n entries; -1 out of memory. */
int rd_net_reserve_slots(rd_server_t *s, uint32_t n);
/* ops->client_woken: a blocked client's reply is in staging. */
void rd_net_client_woken(rd_server_t *s, rd_client_t *c);

/* mem.c - sizes, and every byte a client holds */
#define RD_READ_CHUNK (16u * 1024)            /* one read(), Redis's PROTO_IOBUF_LEN */
#define RD_STAGE_BATCH (64u * 1024)           /* pipelined replies gathered before sending */
#define RD_OUT_HIGH_WATER (256u * 1024)       /* queued output that stops execution */
#define RD_ARGV_MIN 1024u

/* Overflow-checked size arithmetic (size_t is 32 bits on armhf). */
static inline bool rd_add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return false;
    *out = a + b;
    return true;
}
static inline bool rd_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}
/* A configured 64-bit size as size_t: SIZE_MAX when it does not fit. */
static inline size_t rd_clamp(uint64_t v)
{
    return v > (uint64_t)SIZE_MAX ? SIZE_MAX : (size_t)v;
}

#define RD_FILL_CHUNK (64u * 1024)            /* a streamed reply's entries read at once */

/* Moves c's charged memory from old_bytes to new_bytes. */
void rd_charge(rd_server_t *s, rd_client_t *c, size_t old_bytes, size_t new_bytes);
rd_client_t *rd_client_new(rd_server_t *s);
void rd_client_free_memory(rd_server_t *s, rd_client_t *c);
/* The maxmemory-clients budget in bytes now (0 = none). */
uint64_t rd_mem_budget(const rd_server_t *s);
/* May c hold `extra` more bytes (beyond c->mem and its staged reply)? Past
 * client-max-memory c is closed; past maxmemory-clients the biggest clients
 * are evicted (c itself if it is the biggest). false = c is closing. */
bool rd_mem_admit(rd_server_t *s, rd_client_t *c, size_t extra);
/* Makes qbuf hold at least `need` bytes. false = c is closing. */
bool rd_qbuf_reserve(rd_server_t *s, rd_client_t *c, size_t need);
void rd_qbuf_release(rd_server_t *s, rd_client_t *c);
/* Queues reply bytes. false = c is closing. */
bool rd_obuf_append(rd_server_t *s, rd_client_t *c, const uint8_t *p, size_t n);
void rd_obuf_release(rd_server_t *s, rd_client_t *c);
/* client-output-buffer-limit on what waits for c, its staged reply
 * included (Redis counts a reply as it is added). false = c is closing. */
bool rd_output_limits_ok(rd_server_t *s, rd_client_t *c);
/* Grows the MULTI/WATCH/block buffers a command is about to need.
 * false = c is closing. */
bool rd_prepare_command(rd_server_t *s, rd_client_t *c, size_t argc, const runnel_str_t *argv);
/* Once a second: shrink or free idle clients' buffers (clientsCron). */
void rd_mem_cron(rd_server_t *s, uint64_t now);
/* Gives back staging pages past the first RD_STAGE_BATCH. */
void rd_stage_trim(rd_server_t *s);
/* Makes argv hold `count` entries. */
bool rd_argv_reserve(rd_server_t *s, size_t count);
/* Queued output that stops executing a client's commands: RD_OUT_HIGH_WATER,
 * or half the hard output limit when one is set (so a pipelining client is
 * slowed down, not dropped; only a single reply over the limit drops it). */
static inline size_t rd_out_high_water(const rd_config_t *cfg)
{
    if (cfg->output_hard != 0 && cfg->output_hard / 2 < RD_OUT_HIGH_WATER)
        return cfg->output_hard / 2 > 0 ? (size_t)(cfg->output_hard / 2) : 1;
    return RD_OUT_HIGH_WATER;
}
/* Bytes queued for c that the socket has not taken (incl. its staged reply). */
size_t rd_out_pending(const rd_server_t *s, const rd_client_t *c);
/* Closes c ASAP with a log line (level, "pre <client info> post"). */
void rd_client_close_logged(rd_server_t *s, rd_client_t *c, int level, const char *pre,
                            const char *post);

/* reply.c - streamed replies */
int rd_reply_range(void *ctx, runnel_client_t *cc, const runnel_reply_range_t *rr);
void rd_reply_range_moved(void *ctx, runnel_client_t *cc, size_t from, size_t removed);
/* The first range the running command handed out still in staging, or NULL. */
rd_range_t *rd_reply_next_staged(rd_client_t *c);
/* Its staged bytes before it are queued: it follows out_in now. */
void rd_reply_place(rd_client_t *c, rd_range_t *r);
/* Is a range queued (not staged) in c's output? */
bool rd_reply_placed(const rd_client_t *c);
/* When the socket has taken everything before the first range: its next
 * bytes (fbuf + fsent, *avail of them; reads the log when needed; pops
 * finished ranges). false = c is closing (the range cannot be completed). */
bool rd_reply_ready(rd_server_t *s, rd_client_t *c, size_t *avail);
/* Before a command that may remove entries: every range in flight is
 * written out whole into its client's obuf. */
void rd_reply_settle_all(rd_server_t *s);
void rd_reply_free(rd_server_t *s, rd_client_t *c);

/* hostops.c */
void rd_hostops_init(rd_server_t *s);

/* store.c */
const char *rd_appendfsync_name(runnel_commit_policy_t p);
/* Opens the store (RAM ring at `ram`, or the file: mount, or format when
 * absent or --format-store). -1 with the operator's message in err. */
int rd_store_open(rd_server_t *s, const runnel_config_t *rc, uint8_t *ram, char *err,
                  size_t errcap);
void rd_store_close(rd_server_t *s);
/* runnel_commit (flush + fdatasync); logs a failure. why: what asked. */
int rd_store_commit(rd_server_t *s, const char *why);
/* Before a reply leaves: programs the engine's write page into the file.
 * 1 = something waits for a sync, 0 = all synced, -1 = the write failed. */
int rd_store_before_reply(rd_server_t *s);
/* Once per loop turn: everysec syncs. */
void rd_store_tick(rd_server_t *s, uint64_t now);
/* SAVE / BGSAVE / LASTSAVE; true when it answered. */
bool rd_store_command(rd_server_t *s, rd_client_t *c, size_t argc, const runnel_str_t *argv);
size_t rd_store_info(rd_server_t *s, char *buf, size_t cap);

#endif /* RUNNELD_H */
