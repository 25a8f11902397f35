/*
 * runneld.h - the Linux broker: shared types of its files.
 *
 *   main.c    command line, start-up (one allocation), signals, shutdown
 *   config.c  the configuration table: Redis-style "key value" file and
 *             --key value flags, validation, CONFIG GET/SET of our params
 *   log.c     Redis-format log lines to stderr or the logfile
 *   net.c     the epoll event loop: listeners, clients, read -> parse ->
 *             execute -> write, limits, backpressure, timeouts
 *   hostops.c runnel_server_ops_t: client list, kill, wake-ups, INFO lines
 *
 * Memory: everything is carved from one mmap() made at start-up and sized
 * from the configuration (see layout_plan() in main.c); after that the
 * daemon never allocates.
 */
#ifndef RUNNELD_H
#define RUNNELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "ram_bd.h"

#define RUNNELD_VERSION RUNNEL_VERSION_STRING
#define RUNNELD_MAX_BIND 16
#define RUNNELD_PATH_MAX 1024

enum rd_loglevel { RD_LL_DEBUG = 0, RD_LL_VERBOSE, RD_LL_NOTICE, RD_LL_WARNING, RD_LL_NOTHING };

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
    uint32_t max_streams, max_pending, max_groups, max_consumers, max_nodes;
    uint32_t max_key_len, max_fields;
    uint32_t node_max_entries, node_max_bytes;
    uint32_t databases;
    int loglevel;
    char logfile[RUNNELD_PATH_MAX];
    bool protected_mode;
    uint64_t query_limit;                     /* client-query-buffer-limit */
    uint64_t output_limit;                    /* client-output-buffer-limit (normal) */
    runnel_commit_policy_t commit_policy;
    uint32_t commit_interval_ms;
    runnel_full_policy_t full_policy;
    char config_file[RUNNELD_PATH_MAX];       /* absolute, "" = none */
} rd_config_t;

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
void rd_log_set_level(int level);
void rd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One connection. */
typedef struct rd_client {
    runnel_client_t c;                        /* the command layer's view */
    bool used;
    bool is_unix;
    bool close_asap;                          /* close without flushing */
    bool close_after_flush;
    bool paused;                              /* input not read: output backlog */
    bool want_write;                          /* EPOLLOUT armed */
    bool pending;                             /* on the work list */
    bool more_input;                          /* stopped at the output high-water mark */
    uint8_t *qbuf;
    size_t qlen, qpos;
    runnel_resp_cmd_state_t pst;
    size_t out_sent;
    uint64_t last_io_ms;
    struct rd_client *next_pending;
    uint32_t slot;
    uint32_t active_pos;                      /* index in rd_server_t.active */
} rd_client_t;

typedef struct rd_server {
    rd_config_t cfg;
    runnel_server_t srv;
    runnel_server_ops_t ops;
    runnel_clock_t clock;
    runnel_t *store;
    runnel_ram_bd_t ram;
    runnel_bd_t bd;
    int epfd;
    int listen_fds[RUNNELD_MAX_BIND + 1];
    bool listen_unix[RUNNELD_MAX_BIND + 1];
    int nlisten;
    rd_client_t *clients;                     /* maxclients slots */
    uint32_t *free_slots;
    uint32_t nfree;
    uint32_t *active;                         /* slots in use, dense (foreach is O(clients)) */
    uint32_t nclients;
    uint32_t slots;                           /* client slots allocated at start-up */
    uint64_t next_client_id;
    rd_client_t *pending_head, *pending_tail;
    runnel_str_t *argv;
    size_t argv_cap;
    runnel_resp_limits_t limits;
    size_t multi_cap, watch_cap, block_cap;
    /* memory layout */
    void *map;
    size_t map_size;
    size_t mem_store, mem_arena, mem_clients, mem_misc;
    uint64_t mem_peak;  /* highest RSS INFO has seen (used_memory_peak) */
    /* stats */
    uint64_t net_in, net_out, reads, writes;
    uint64_t qbuf_disconnects, obuf_disconnects;
    uint64_t start_ms;
    uint64_t loop_now;                        /* clock read once per loop turn */
    char run_id[41];
    char executable[RUNNELD_PATH_MAX];
    volatile int shutdown_signal;   /* a signal number, or RD_SHUTDOWN_COMMAND */
} rd_server_t;

extern rd_server_t *rd_server;

uint64_t rd_now_ms(void);

/* net.c */
int rd_net_listen(rd_server_t *s);
int rd_net_loop(rd_server_t *s);
void rd_net_close_listeners(rd_server_t *s);
void rd_client_schedule(rd_server_t *s, rd_client_t *c);

/* hostops.c */
void rd_hostops_init(rd_server_t *s);

#endif /* RUNNELD_H */
