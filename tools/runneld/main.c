/*
 * main.c - runneld: a Redis-protocol broker for runnel streams on Linux.
 *
 *   runneld [/path/to/runneld.conf] [--option value ...]
 *
 * Start-up reads the configuration, sizes every buffer the process will
 * ever use, takes them in ONE mmap() (the store's RAM ring, the engine's
 * arena, the client slots with their query/output/MULTI/WATCH/block
 * buffers, the argv array), and never allocates again: resident memory is
 * bounded by the configuration, whatever the load, backlog or uptime.
 *
 * Layout of the mapping (each part 64-byte aligned):
 *   [ store ring: store-size ][ engine arena ][ client slots ][ free list ]
 *   [ per client: query | output | multi | watch | block ] x maxclients
 *   [ cmdstats ][ ready keys ][ argv ]
 * Pages are mapped lazily by the kernel (MAP_NORESERVE) and a client's
 * pages are given back when it disconnects (net.c).
 *
 * SIGTERM / SIGINT: stop accepting, commit the store, exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "runneld.h"

rd_server_t *rd_server;
static rd_server_t server;

uint64_t rd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return rd_now_ms();
}

static void on_signal(int sig)
{
    server.shutdown_signal = sig;
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: runneld [/path/to/runneld.conf] [options] [-]\n"
"       runneld --help | -h\n"
"       runneld --version | -v\n"
"       runneld [/path/to/runneld.conf] [options] --test-config\n"
"\n"
"A Redis 7.0-compatible broker for runnel streams. Options are config\n"
"directives with two dashes (as redis-server): --port 6380 --requirepass x\n"
"\n"
"Directives (config file: one 'name value' per line; defaults in brackets):\n"
"  port <n>                      TCP port, 0 = no TCP [6379]\n"
"  bind <addr> [addr ...]        listen addresses (* = any IPv4, ::* any IPv6) [127.0.0.1]\n"
"  unixsocket <path>             also listen on a Unix socket\n"
"  unixsocketperm <octal>        its permissions\n"
"  requirepass <password>        password of the 'default' user (AUTH / HELLO AUTH)\n"
"  maxclients <n>                client slots, allocated at start-up [1000]\n"
"  timeout <secs>                close idle clients, 0 = never [0]\n"
"  dir <path>                    working directory [current]\n"
"  store-size <bytes>            RAM ring holding the streams [64mb]\n"
"  store-block-size <bytes>      ring block size (power of two) [64kb]\n"
"  max-streams|max-nodes|max-pending|max-groups|max-consumers <n>\n"
"                                engine pools [derived from store-size]\n"
"  max-key-len <n> / max-fields <n>  longest key name, most fields per entry [256/256]\n"
"  stream-node-max-entries <n>   as Redis [100]\n"
"  stream-node-max-bytes <bytes> as Redis [4096]\n"
"  databases <n>                 SELECT 0..n-1, at most 16 [16]\n"
"  loglevel debug|verbose|notice|warning|nothing [notice]\n"
"  logfile <path>                log file, \"\" = stderr [\"\"]\n"
"  protected-mode yes|no         refuse non-loopback clients without requirepass [yes]\n"
"  client-query-buffer-limit <bytes>   largest command [1mb]\n"
"  client-output-buffer-limit <bytes>  pending replies per client (or Redis's\n"
"                                'normal <hard> <soft> <secs>' form) [4mb]\n"
"  commit-policy always|interval|none  (appendfsync always|everysec|no) [interval]\n"
"  commit-interval-ms <ms>       interval commits [1000]\n"
"  store-full-policy refuse|drop-oldest  when the ring is full [refuse]\n"
"\n"
"Memory: maxclients x (7 x query limit + output limit + 64kb) bytes of address\n"
"space are reserved at start-up; pages become resident only when used and a\n"
"client's are returned when it disconnects. The store ring is resident.\n"
"\n"
"Examples:\n"
"  runneld --port 6380\n"
"  runneld /etc/runneld.conf --loglevel verbose\n");
}

static size_t align64(size_t x)
{
    return (x + 63) & ~(size_t)63;
}

/* Fills the engine configuration from ours. */
static void engine_config(rd_server_t *s, runnel_config_t *rc)
{
    const rd_config_t *c = &s->cfg;
    memset(rc, 0, sizeof *rc);
    rc->bd = &s->bd;
    rc->clock = &s->clock;
    rc->max_streams = c->max_streams;
    rc->max_nodes = c->max_nodes;
    rc->max_groups = c->max_groups;
    rc->max_consumers = c->max_consumers;
    rc->max_pending = c->max_pending;
    rc->name_max = c->max_key_len;
    rc->max_fields = c->max_fields;
    rc->node_max_entries = c->node_max_entries;
    rc->node_max_bytes = c->node_max_bytes;
    rc->node_entries_cap = c->node_max_entries > 128 ? c->node_max_entries : 128;
    rc->databases = c->databases;
    rc->full_policy = c->full_policy;
    rc->commit_policy = c->commit_policy;
    rc->commit_interval_ms = c->commit_interval_ms;
    rc->notify = runnel_cmd_notify;
    rc->notify_ctx = &s->srv;
}

static void geometry(const rd_config_t *c, runnel_bd_geometry_t *g)
{
    memset(g, 0, sizeof *g);
    g->read_size = 1;
    g->prog_size = 1;
    g->block_size = c->store_block_size;
    g->block_count = (uint32_t)(c->store_size / c->store_block_size);
    g->erase_value = 0xFF;
}

/* Sizes of everything; returns the mapping size or 0 on overflow. */
static size_t layout_plan(rd_server_t *s, size_t arena)
{
    rd_config_t *c = &s->cfg;
    size_t q = (size_t)c->query_limit, o = (size_t)c->output_limit;
    s->multi_cap = runnel_cmd_block_buf_size(q);
    s->block_cap = s->multi_cap;
    s->watch_cap = 64 * 1024;
    s->argv_cap = q / 6 + 16 > 32768 + 16 ? q / 6 + 16 : 32768 + 16;
    size_t per = align64(q) + align64(o) + align64(s->multi_cap) + align64(s->watch_cap) +
                 align64(s->block_cap);
    if (s->multi_cap == SIZE_MAX || per / c->maxclients > SIZE_MAX / c->maxclients / 2)
        return 0;
    s->mem_store = align64((size_t)c->store_size);
    s->mem_arena = align64(arena + 8);
    s->mem_clients = align64(c->maxclients * sizeof(rd_client_t)) +
                     2 * align64(c->maxclients * sizeof(uint32_t)) + per * c->maxclients;
    s->mem_misc = align64(runnel_cmd_count() * sizeof(runnel_cmdstat_t)) + align64(64 * 1024) +
                  align64(s->argv_cap * sizeof(runnel_str_t));
    return s->mem_store + s->mem_arena + s->mem_clients + s->mem_misc;
}

static int start(rd_server_t *s, bool test_only, char *err, size_t errcap)
{
    runnel_config_t rc;
    runnel_bd_geometry_t g;
    geometry(&s->cfg, &g);
    s->bd.geometry = g;   /* for runnel_arena_size */
    s->clock.now_ms = clock_now;
    engine_config(s, &rc);
    size_t arena = runnel_arena_size(&rc);
    if (arena == 0) {
        snprintf(err, errcap, "the store configuration is invalid (runnel_arena_size == 0): "
                 "check store-size, store-block-size and the pool sizes");
        return -1;
    }
    size_t total = layout_plan(s, arena);
    if (total == 0) {
        snprintf(err, errcap, "maxclients x buffer limits overflow the address space");
        return -1;
    }
    if (s->cfg.dir[0] != '\0' && chdir(s->cfg.dir) != 0) {
        snprintf(err, errcap, "Can't chdir to '%s': %s", s->cfg.dir, strerror(errno));
        return -1;
    }
    if (test_only)
        return 0;

    uint8_t *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errcap, "can't reserve %zu bytes of memory: %s (lower maxclients or the "
                 "client buffer limits)", total, strerror(errno));
        return -1;
    }
    s->map = p;
    s->map_size = total;
    uint8_t *store_mem = p;
    p += s->mem_store;
    uint8_t *arena_mem = p;
    p += s->mem_arena;
    s->clients = (rd_client_t *)p;
    p += align64(s->cfg.maxclients * sizeof(rd_client_t));
    s->free_slots = (uint32_t *)p;
    p += align64(s->cfg.maxclients * sizeof(uint32_t));
    s->active = (uint32_t *)p;
    p += align64(s->cfg.maxclients * sizeof(uint32_t));
    for (uint32_t i = 0; i < s->cfg.maxclients; i++) {
        rd_client_t *c = &s->clients[i];
        c->slot = i;
        c->qbuf = p;
        p += align64((size_t)s->cfg.query_limit);
        c->c.out.buf = p;
        c->c.out.cap = (size_t)s->cfg.output_limit;
        p += align64((size_t)s->cfg.output_limit);
        c->c.multi_buf = p;
        p += align64(s->multi_cap);
        c->c.watch_buf = p;
        p += align64(s->watch_cap);
        c->c.block_buf = p;
        p += align64(s->block_cap);
        s->free_slots[i] = s->cfg.maxclients - 1 - i;   /* slot 0 first */
    }
    s->nfree = s->cfg.maxclients;
    s->slots = s->cfg.maxclients;
    runnel_cmdstat_t *cmdstats = (runnel_cmdstat_t *)p;
    p += align64(runnel_cmd_count() * sizeof(runnel_cmdstat_t));
    uint8_t *ready = p;
    p += align64(64 * 1024);
    s->argv = (runnel_str_t *)p;
    s->limits.max_args = (uint32_t)s->argv_cap;
    s->limits.max_bulk = s->cfg.query_limit > 64 ? s->cfg.query_limit - 64 : s->cfg.query_limit;
    s->limits.max_inline = 64 * 1024;

    if (runnel_ram_bd_init(&s->ram, &s->bd, &g, store_mem, NULL) != 0) {
        snprintf(err, errcap, "RAM block device init failed");
        return -1;
    }
    engine_config(s, &rc);
    rc.arena = arena_mem;
    rc.arena_size = s->mem_arena;
    int rcode = runnel_format(&s->store, &rc);
    if (rcode != 0) {
        snprintf(err, errcap, "runnel_format failed: %s", runnel_strerror(rcode));
        return -1;
    }
    rd_hostops_init(s);
    rcode = runnel_server_init(&s->srv, s->store, &s->ops, &s->clock, cmdstats, ready, 64 * 1024);
    if (rcode != 0) {
        snprintf(err, errcap, "runnel_server_init failed: %s", runnel_strerror(rcode));
        return -1;
    }
    s->srv.requirepass = s->cfg.requirepass;
    s->srv.requirepass_len = strlen(s->cfg.requirepass);
    s->start_ms = rd_now_ms();
    if (s->srv.start_ms == 0)
        s->srv.start_ms = s->start_ms;
    s->next_client_id = 1;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        snprintf(err, errcap, "epoll_create1: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void make_run_id(rd_server_t *s)
{
    unsigned char rnd[20];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        uint64_t x = rd_now_ms() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof rnd; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            rnd[i] = (unsigned char)(x >> 56);
        }
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(s->run_id + 2 * i, 3, "%02x", rnd[i]);
}

int main(int argc, char **argv)
{
    rd_server_t *s = &server;
    rd_server = s;
    bool test_config = false;
    const char *conf = NULL;
    char *flags[512];
    int nflags = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
            printf("runneld v=%s redis_version 7.0.15 compatible bits=%d format=%u\n",
                   RUNNELD_VERSION, (int)(sizeof(void *) * 8), RUNNEL_FORMAT_VERSION);
            return 0;
        }
        if (!strcmp(a, "--test-config")) {
            test_config = true;
            continue;
        }
        if (i == 1 && strncmp(a, "--", 2) != 0 && strcmp(a, "-") != 0) {
            conf = a;
            continue;
        }
        if (nflags == (int)(sizeof flags / sizeof flags[0])) {
            fprintf(stderr, "runneld: too many arguments\n");
            return 1;
        }
        flags[nflags++] = argv[i];
    }
    rd_config_defaults(&s->cfg);
    char err[2048];
    if (rd_config_load(&s->cfg, conf, nflags, flags, err, sizeof err) != 0 ||
        rd_config_finish(&s->cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (realpath(argv[0], s->executable) == NULL)
        snprintf(s->executable, sizeof s->executable, "%s", argv[0]);
    if (test_config) {
        if (start(s, true, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("OK\n");
        return 0;
    }

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (start(s, false, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rd_log_open(&s->cfg);
    make_run_id(s);
    rd_log(RD_LL_NOTICE, "oO0OoO0OoO0Oo runneld is starting oO0OoO0OoO0Oo");
    rd_log(RD_LL_NOTICE, "runneld version=%s, redis_version 7.0.15 compatible, bits=%d, "
           "pid=%d, just started", RUNNELD_VERSION, (int)(sizeof(void *) * 8), (int)getpid());
    rd_log(RD_LL_NOTICE, conf ? "Configuration loaded" :
           "Warning: no config file specified, using the default config.");
    rd_log(RD_LL_NOTICE, "Memory reserved once: %zu bytes (store %zu, arena %zu, %u client "
           "slots %zu, other %zu)", s->map_size, s->mem_store, s->mem_arena, s->cfg.maxclients,
           s->mem_clients, s->mem_misc);
    if (rd_net_listen(s) != 0)
        return 1;
    rd_log(RD_LL_NOTICE, "Server initialized");
    rd_log(RD_LL_NOTICE, "Ready to accept connections");

    int rc = rd_net_loop(s);
    if (s->shutdown_signal > 0)
        rd_log(RD_LL_WARNING, "Received %s scheduling shutdown...",
               s->shutdown_signal == SIGINT ? "SIGINT" : "SIGTERM");
    rd_log(RD_LL_WARNING, "User requested shutdown...");
    rd_net_close_listeners(s);
    int crc = runnel_commit(s->store);
    if (crc != 0) {
        rd_log(RD_LL_WARNING, "Error committing the store on shutdown: %s", runnel_strerror(crc));
        rc = -1;
    }
    rd_log(RD_LL_WARNING, "runneld is now ready to exit, bye bye...");
    return rc == 0 ? 0 : 1;
}
