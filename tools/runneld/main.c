/*
 * main.c - runneld: a Redis-protocol broker for runnel streams on Linux.
 *
 *   runneld [/path/to/runneld.conf] [--option value ...]
 *
 * Start-up reads the configuration and takes what is sized by it alone:
 * the engine's arena (and, with store-type ram, the store's RAM ring, in
 * the same mapping; the engine never allocates), and the reply staging area (address space of
 * max-reply-size, pages touched only by replies being built and given
 * back after big ones; range reads only write their first 64 KiB there,
 * the rest streams from the log: reply.c). Nothing is sized by maxclients except 16 bytes of
 * slot table per client: a client's buffers are malloc'd when it needs
 * them and bounded by client-max-memory and maxmemory-clients (mem.c).
 * The open-files limit is raised for maxclients as redis-server does.
 *
 * The store is a file in dir (store.c): mounted when it exists, formatted
 * when it does not; a file that does not mount stops the start, untouched.
 *
 * SIGTERM / SIGINT / SHUTDOWN: stop accepting, commit and sync the store,
 * exit 0. SIGHUP: re-open the logfile (logrotate). `supervised systemd`
 * (or auto with $NOTIFY_SOCKET set): READY=1 once listening (notify.c).
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
#include <sys/resource.h>
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

/* Only a flag: the event loop re-opens the log (rd_net_loop). */
static void on_sighup(int sig)
{
    (void)sig;
    server.reopen_log = 1;
}

/* supervised systemd: a STATUS= line (and READY=1 etc.) to systemd. */
static void notify_systemd(const rd_server_t *s, const char *state)
{
    if (s->cfg.supervised == RD_SUPERVISED_SYSTEMD)
        rd_notify(state);
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
"  maxclients <n>                most clients at once; as redis-server, lowered to what\n"
"                                ulimit -n allows (needs n + 32 descriptors) [10000]\n"
"  timeout <secs>                close idle clients, 0 = never [0]\n"
"  dir <path>                    working directory; the store file lives there [current]\n"
"  store-type file|ram           the store: a file in dir, or a RAM ring that a restart\n"
"                                loses (tests, demos) [file]\n"
"  store-filename <name>         the store file's name in dir (as Redis's dbfilename)\n"
"                                [runnel.store]\n"
"  store-size <bytes>            size of the store (the file) [64mb]\n"
"  store-block-size <bytes>      ring block size (power of two) [64kb]\n"
"  format-store yes|no           (or --format-store) erase the store file at start and\n"
"                                start empty: the only way runneld erases a store that\n"
"                                does not mount [no]\n"
"  max-streams|max-nodes|max-pending|max-groups|max-consumers <n>\n"
"                                engine pools; a slot costs RAM only once used\n"
"                                [131072 / 196608 / 131072 / 16384 / 65536, more for a\n"
"                                store over 8gb: a stream per 64kb, a node per kb]\n"
"  max-key-len <n> / max-fields <n>  longest key name, most fields per entry\n"
"                                [256 / 65536: an entry's size is the real bound]\n"
"  stream-node-max-entries <n>   as Redis [100]\n"
"  stream-node-max-bytes <bytes> as Redis [4096]\n"
"  databases <n>                 SELECT 0..n-1, at most 16 [16]\n"
"  loglevel debug|verbose|notice|warning|nothing [notice]\n"
"  logfile <path>                log file, \"\" = stderr; SIGHUP re-opens it [\"\"]\n"
"  supervised no|systemd|auto    as Redis: systemd = READY=1 and STATUS= to\n"
"                                $NOTIFY_SOCKET (Type=notify); auto = systemd when\n"
"                                NOTIFY_SOCKET is set [no]\n"
"  protected-mode yes|no         refuse non-loopback clients without requirepass [yes]\n"
"  client-query-buffer-limit <bytes>  as Redis: a longer pending query closes the client [1gb]\n"
"  proto-max-bulk-len <bytes>    as Redis: longest bulk argument [512mb]\n"
"  client-output-buffer-limit normal <hard> <soft> <secs>  as Redis, 0 = none [normal 0 0 0]\n"
"                                (or one size: the hard limit)\n"
"  maxmemory-clients <bytes>|<n>%%  as Redis 7: budget for all clients' buffers; past it\n"
"                                the biggest clients are evicted; n%% of the machine's RAM\n"
"                                (runneld has no maxmemory); 0 = none [0]\n"
"  client-max-memory <bytes>     runneld's cap on one client's buffers, 0 = none\n"
"                                [1gb on 64-bit, 256mb on 32-bit]\n"
"  max-reply-size <bytes>        largest reply built whole (EXEC, XREADGROUP of history,\n"
"                                XINFO, XCLAIM; address space reserved once). XRANGE,\n"
"                                XREVRANGE, XREAD and XREADGROUP > of any size stream from\n"
"                                the log instead [128mb / 64mb on 32-bit]\n"
"  appendfsync always|everysec|no  as Redis: when writes are fsync'ed; every reply\n"
"                                leaves only after its writes reached the kernel (kill -9\n"
"                                loses nothing); always: fsync before replying; everysec:\n"
"                                a power cut loses at most ~1 s; no: the kernel decides\n"
"                                (alias commit-policy always|interval|none) [everysec]\n"
"  commit-interval-ms <ms>       the everysec period [1000]\n"
"  store-full-policy refuse|drop-oldest|relocate  when the ring is full [refuse]\n""  enable-debug-command no|yes|local  as Redis: DEBUG (SLEEP) allowed [no]\n"
"  upstream redis://[[user]:password@]host:port[/db]  forward streams to this Redis,\n"
"                                each entry once, in order, with its ID; CONFIG SET\n"
"                                upstream \"\" stops; INFO sync [\"\" = none]\n"
"  sync-keys <glob>              local keys forwarded (SCAN MATCH syntax) [*]\n"
"  sync-prefix <prefix>          upstream key = prefix + local key [\"\"]\n"
"  sync-db <n>                   local database forwarded [0]\n"
"  sync-batch <n> / sync-inflight-entries <n> / sync-inflight-bytes <bytes>\n"
"                                entries read per batch; sent and unanswered at most\n"
"                                [1000 / 16384 / 4mb]\n"
"  sync-backoff-min-ms / sync-backoff-max-ms <ms>  reconnect waits [100 / 30000]\n"
"  sync-reply-timeout-ms <ms>    no reply for this long drops the link [5000]\n"
"  sync-max-streams <n>          streams forwarded at most [1024]\n"
"\n"
"Memory: the engine arena (and a RAM store) are taken at start-up;\n"
"clients hold only what they use, freed when idle (tools/runneld/mem.c).\n"
"\n"
"Examples:\n"
"  runneld --port 6380\n"
"  runneld /etc/runneld.conf --loglevel verbose\n");
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
    /* Redis bounds each bulk by proto-max-bulk-len; we bound the entry's
     * field and value bytes by it too (and by the ring: store-size) */
    rc->max_entry_bytes = c->proto_max_bulk_len;
    rc->node_max_entries = c->node_max_entries;
    rc->node_max_bytes = c->node_max_bytes;
    rc->node_entries_cap = c->node_max_entries > 128 ? c->node_max_entries : 128;
    rc->databases = c->databases;
    rc->full_policy = c->full_policy;
    /* runneld decides when to sync (store.c: appendfsync); the engine
     * only programs full pages on its own. */
    rc->commit_policy = RUNNEL_COMMIT_NONE;
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

/* Redis's adjustOpenFilesLimit(): maxclients needs maxclients + 32
 * descriptors; raise the soft limit as far as allowed, else lower
 * maxclients, with redis-server's log lines. */
#define RESERVED_FDS 32
static void adjust_open_files(rd_server_t *s)
{
    rlim_t want = (rlim_t)s->cfg.maxclients + RESERVED_FDS;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        rd_log(RD_LL_WARNING, "Unable to obtain the current NOFILE limit (%s), assuming 1024 "
               "and setting the max clients configuration accordingly.", strerror(errno));
        s->cfg.maxclients = 1024 - RESERVED_FDS;
        return;
    }
    rlim_t old = lim.rlim_cur;
    if (old >= want)
        return;
    /* As Redis: try the full amount, then step down 16 at a time; but an
     * unprivileged process cannot pass the hard limit, so go there first. */
    rlim_t best = want;
    int err = 0;
    while (best > old) {
        struct rlimit nl = {best, lim.rlim_max > best ? lim.rlim_max : best};
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            break;
        err = errno;
        if (best > lim.rlim_max && lim.rlim_max > old)
            best = lim.rlim_max;
        else if (best < 16)
            best = old;
        else
            best -= 16;
    }
    if (best < old)
        best = old;
    if (best < want) {
        uint32_t before = s->cfg.maxclients;
        s->cfg.maxclients = best > RESERVED_FDS ? (uint32_t)(best - RESERVED_FDS) : 1;
        rd_log(RD_LL_WARNING, "You requested maxclients of %u requiring at least %llu max "
               "file descriptors.", before, (unsigned long long)want);
        rd_log(RD_LL_WARNING, "Server can't set maximum open files to %llu because of OS "
               "error: %s.", (unsigned long long)want, strerror(err ? err : EPERM));
        rd_log(RD_LL_WARNING, "Current maximum open files is %llu. maxclients has been "
               "reduced to %u to compensate for low ulimit. If you need higher maxclients "
               "increase 'ulimit -n'.", (unsigned long long)best, s->cfg.maxclients);
    } else {
        rd_log(RD_LL_NOTICE, "Increased maximum number of open files to %llu (it was "
               "originally set to %llu).", (unsigned long long)best, (unsigned long long)old);
    }
}

/* CONFIG SET maxclients: as Redis, raising it needs descriptors too. */
int rd_set_maxclients(rd_server_t *s, uint32_t n, char *err, size_t errcap)
{
    rlim_t want = (rlim_t)n + RESERVED_FDS;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < want) {
        struct rlimit nl = lim;
        nl.rlim_cur = want;
        if (nl.rlim_max < want || setrlimit(RLIMIT_NOFILE, &nl) != 0) {
            snprintf(err, errcap, "The operating system is not able to handle the specified "
                     "number of clients, try with %llu",
                     (unsigned long long)(lim.rlim_cur > RESERVED_FDS ? lim.rlim_cur - RESERVED_FDS : 1));
            return -1;
        }
    }
    if (rd_net_reserve_slots(s, n) != 0) {
        snprintf(err, errcap, "out of memory for %u client slots", n);
        return -1;
    }
    return 0;
}

static int start(rd_server_t *s, bool test_only, char *err, size_t errcap)
{
    runnel_config_t rc;
    runnel_bd_geometry_t g;
    geometry(&s->cfg, &g);
    s->bd.geometry = g;   /* for runnel_arena_size */
    s->clock.now_ms = clock_now;
    engine_config(s, &rc);
    /* sized as the store opens it: a durable store also keeps its head
     * block's summary (core/stream_summary.c) */
    rc.durable = &runnel_durability;
    size_t arena = runnel_arena_size(&rc);
    if (arena == 0) {
        snprintf(err, errcap, "the store configuration is invalid (runnel_arena_size == 0): "
                 "check store-size, store-block-size and the pool sizes");
        return -1;
    }
    /* Store + arena in one mapping, 64-byte aligned parts; staging:
     * max-reply-size plus the pipelined batch. All sums checked: on a
     * 32-bit build these are 32-bit numbers. */
    size_t store = s->cfg.store_type == RD_STORE_RAM ? rd_clamp(s->cfg.store_size) : 0;
    size_t total, stage;
    if (store == SIZE_MAX || !rd_add(arena, 64 + 8, &s->mem_arena) ||
        !rd_add(store, s->mem_arena, &total)) {
        snprintf(err, errcap, "store-size %llu bytes does not fit this %d-bit address space",
                 (unsigned long long)s->cfg.store_size, (int)(sizeof(void *) * 8));
        return -1;
    }
    s->mem_store = store;
    if (!rd_add(rd_clamp(s->cfg.max_reply_size), RD_STAGE_BATCH, &stage) ||
        s->cfg.max_reply_size > SIZE_MAX / 2) {
        snprintf(err, errcap, "max-reply-size %llu bytes does not fit this %d-bit address space",
                 (unsigned long long)s->cfg.max_reply_size, (int)(sizeof(void *) * 8));
        return -1;
    }
    if (s->cfg.dir[0] != '\0' && chdir(s->cfg.dir) != 0) {
        snprintf(err, errcap, "Can't chdir to '%s': %s", s->cfg.dir, strerror(errno));
        return -1;
    }
    if (test_only)
        return 0;

    uint8_t *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errcap, "can't allocate %zu bytes for the store and the engine: %s "
                 "(lower store-size)", total, strerror(errno));
        return -1;
    }
    s->store_map = p;
    uint8_t *store_mem = p;
    uint8_t *arena_mem = p + store;
    arena_mem += (size_t)((64u - ((uintptr_t)arena_mem & 63u)) & 63u);
    /* The store first: a store that does not open stops the start before
     * anything else is taken. */
    engine_config(s, &rc);
    rc.arena = arena_mem;
    rc.arena_size = arena;
    if (rd_store_open(s, &rc, store_mem, err, errcap) != 0)
        return -1;
    /* MAP_NORESERVE: address space, not memory; only the pages a reply
     * touches become resident (rd_stage_trim gives them back). */
    uint8_t *st = mmap(NULL, stage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (st == MAP_FAILED) {
        snprintf(err, errcap, "can't map %zu bytes for replies: %s (lower max-reply-size)", stage,
                 strerror(errno));
        return -1;
    }
    s->stage = st;
    s->stage_map = stage;
    s->stage_cap = stage;
    s->rbuf = malloc(RD_READ_CHUNK);
    s->argv = malloc(RD_ARGV_MIN * sizeof(runnel_str_t));
    s->argv_cap = RD_ARGV_MIN;
    runnel_cmdstat_t *cmdstats = calloc(runnel_cmd_count(), sizeof(runnel_cmdstat_t));
    uint8_t *ready = malloc(64 * 1024);
    if (s->rbuf == NULL || s->argv == NULL || cmdstats == NULL || ready == NULL ||
        rd_net_reserve_slots(s, s->cfg.maxclients) != 0) {
        snprintf(err, errcap, "out of memory at start-up");
        return -1;
    }
    s->limits.max_args = 1024 * 1024;   /* Redis's multibulk limit */
    /* The reader returns a command's length as an int. */
    s->limits.max_bulk = s->cfg.proto_max_bulk_len < (uint64_t)INT32_MAX - 1024
                       ? s->cfg.proto_max_bulk_len : (uint64_t)INT32_MAX - 1024;
    s->limits.max_inline = 64 * 1024;   /* Redis's PROTO_INLINE_MAX_SIZE */

    rd_hostops_init(s);
    int rcode;
    rcode = runnel_server_init(&s->srv, s->store, &s->ops, &s->clock, cmdstats, ready, 64 * 1024);
    if (rcode != 0) {
        snprintf(err, errcap, "runnel_server_init failed: %s", runnel_strerror(rcode));
        return -1;
    }
    s->srv.requirepass = s->cfg.requirepass;
    s->srv.requirepass_len = strlen(s->cfg.requirepass);
    s->srv.enable_debug_command = s->cfg.enable_debug_command;
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
    /* INFO server's executable. realpath() into the field itself would need
     * PATH_MAX bytes (glibc's _FORTIFY_SOURCE aborts the start otherwise,
     * as in the Debian package's hardened build); a longer path is cut. */
    char *exe = realpath(argv[0], NULL);
    const char *exe_name = exe != NULL ? exe : argv[0];
    size_t exe_len = strlen(exe_name);
    if (exe_len >= sizeof s->executable)
        exe_len = sizeof s->executable - 1;
    memcpy(s->executable, exe_name, exe_len);
    s->executable[exe_len] = '\0';
    free(exe);
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
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_sighup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rd_log_open(&s->cfg);
    if (s->cfg.supervised == RD_SUPERVISED_AUTO)
        s->cfg.supervised = rd_notify_available() ? RD_SUPERVISED_SYSTEMD : RD_SUPERVISED_NO;
    if (s->cfg.supervised == RD_SUPERVISED_SYSTEMD)
        rd_log(RD_LL_NOTICE, "Supervised by systemd. Please make sure you set appropriate "
               "values for TimeoutStartSec and TimeoutStopSec in your service unit.");
    notify_systemd(s, "STATUS=Mounting the store\n");
    adjust_open_files(s);
    if (start(s, false, err, sizeof err) != 0) {
        rd_log(RD_LL_WARNING, "%s", err);
        return 1;
    }
    make_run_id(s);
    rd_log(RD_LL_NOTICE, "oO0OoO0OoO0Oo runneld is starting oO0OoO0OoO0Oo");
    rd_log(RD_LL_NOTICE, "runneld version=%s, redis_version 7.0.15 compatible, bits=%d, "
           "pid=%d, just started", RUNNELD_VERSION, (int)(sizeof(void *) * 8), (int)getpid());
    rd_log(RD_LL_NOTICE, conf ? "Configuration loaded" :
           "Warning: no config file specified, using the default config.");
    char budget[48];
    if (s->cfg.maxmemory_clients_pct != 0)
        snprintf(budget, sizeof budget, "%u%% of RAM", s->cfg.maxmemory_clients_pct);
    else
        snprintf(budget, sizeof budget, "%llu", (unsigned long long)s->cfg.maxmemory_clients);
    rd_log(RD_LL_NOTICE, "Memory: store %zu bytes %s, engine arena %zu, reply staging "
           "%zu of address space; clients on demand (maxclients %u, client-max-memory %llu, "
           "maxmemory-clients %s)", s->mem_store,
           s->cfg.store_type == RD_STORE_RAM ? "(RAM ring)" : "in RAM (the store is its file)",
           s->mem_arena, s->stage_map, s->cfg.maxclients,
           (unsigned long long)s->cfg.client_max_memory, budget);
    if (rd_net_listen(s) != 0)
        return 1;
    rd_log(RD_LL_NOTICE, "Server initialized");
    rd_log(RD_LL_NOTICE, "Ready to accept connections");
    notify_systemd(s, "STATUS=Ready to accept connections\nREADY=1\n");

    int rc = rd_net_loop(s);
    if (s->shutdown_signal > 0)
        rd_log(RD_LL_WARNING, "Received %s scheduling shutdown...",
               s->shutdown_signal == SIGINT ? "SIGINT" : "SIGTERM");
    rd_log(RD_LL_WARNING, "User requested shutdown...");
    notify_systemd(s, "STOPPING=1\nSTATUS=Committing the store and exiting\n");
    rd_net_close_listeners(s);
    if (s->cfg.store_type == RD_STORE_FILE) {
        rd_log(RD_LL_NOTICE, "Committing the store (%s)...", s->store_path);
        if (rd_store_commit(s, "shutdown") != 0)
            rc = -1;
        else
            rd_log(RD_LL_NOTICE, "The store is committed and synced.");
        rd_store_close(s);
    }
    rd_log(RD_LL_WARNING, "runneld is now ready to exit, bye bye...");
    return rc == 0 ? 0 : 1;
}
