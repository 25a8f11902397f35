/*
 * hostops.c - what the command layer asks of the broker
 * (runnel_server_ops_t): the client list, CLIENT KILL, wake-ups of blocked
 * clients, and the INFO lines only the process knows (pid, port, memory,
 * client buffers, network counters, cpu).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "rd_sync.h"
#include "runneld.h"

/* CLIENT LIST shows obl = out.len and tot-mem = out.cap + the core's
 * buffers. Every client's writer points at the staging area, so for the
 * visit its fields carry our numbers instead: the bytes waiting and the
 * memory charged. The calling client's writer is in use (the reply being
 * written): it is shown as it is. */
static void foreach_client(void *ctx, void (*fn)(void *arg, runnel_client_t *c), void *arg)
{
    rd_server_t *s = ctx;
    for (uint32_t i = 0; i < s->nclients; i++) {
        rd_client_t *c = s->active[i];
        if (c->close_asap)
            continue;
        if (c == s->stage_owner || c->c.out.len != 0) {
            fn(arg, &c->c);
            continue;
        }
        size_t core_caps = c->c.multi_cap + c->c.watch_cap + c->c.block_cap;
        size_t len = c->c.out.len, cap = c->c.out.cap;
        c->c.out.len = c->olen - c->osent;
        c->c.out.cap = c->mem > core_caps ? c->mem - core_caps : 0;
        fn(arg, &c->c);
        c->c.out.len = len;
        c->c.out.cap = cap;
    }
}

/* Only marks the client: it is closed from the loop, never in the middle of
 * the command that asked for it (which may be iterating the client list). */
static int kill_client(void *ctx, uint64_t id)
{
    rd_server_t *s = ctx;
    for (uint32_t i = 0; i < s->nclients; i++) {
        rd_client_t *c = s->active[i];
        if (!c->close_asap && c->c.id == id) {
            c->close_asap = true;
            rd_client_schedule(s, c);
            return 1;
        }
    }
    return 0;
}

/* SHUTDOWN: the event loop stops after this command, then main() commits
 * the store and exits as after SIGTERM (RD_SHUTDOWN_COMMAND marks who asked). */
static int shutdown_request(void *ctx)
{
    rd_server_t *s = ctx;
    s->shutdown_signal = RD_SHUTDOWN_COMMAND;
    return 0;
}

/* MONITOR: a piece of a line for monitor cc, queued behind what it has
 * not been sent yet (never in staging: another client's reply is there). */
static void monitor_write(void *ctx, runnel_client_t *cc, const void *p, size_t n)
{
    rd_server_t *s = ctx;
    rd_client_t *c = cc->host;
    if (c == NULL || c->close_asap)
        return;
    if (rd_obuf_append(s, c, p, n))
        rd_client_schedule(s, c);
}

static uint64_t now_us(void *ctx)
{
    (void)ctx;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* DEBUG SLEEP stops everything, as it does in Redis; a signal does not cut
 * it short (SIGTERM is acted on after it). */
static void sleep_us(void *ctx, uint64_t us)
{
    (void)ctx;
    struct timespec t = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static void client_woken(void *ctx, runnel_client_t *cc)
{
    rd_net_client_woken(ctx, (rd_client_t *)cc->host);
}

typedef struct out {
    char *buf;
    size_t cap, len;
} out_t;

static void line(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(out_t *o, const char *fmt, ...)
{
    if (o->len >= o->cap) {
        o->len = o->cap;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->len = o->cap;       /* did not fit: the caller sees len == cap */
    else
        o->len += (size_t)n;
}

static void human(char *buf, size_t cap, uint64_t n)
{
    double d = (double)n;
    if (n < 1024)
        snprintf(buf, cap, "%lluB", (unsigned long long)n);
    else if (n < 1024ull * 1024)
        snprintf(buf, cap, "%.2fK", d / 1024);
    else if (n < 1024ull * 1024 * 1024)
        snprintf(buf, cap, "%.2fM", d / (1024 * 1024));
    else
        snprintf(buf, cap, "%.2fG", d / (1024.0 * 1024 * 1024));
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static size_t info(void *ctx, const char *section, char *buf, size_t cap)
{
    rd_server_t *s = ctx;
    out_t o = {buf, cap, 0};
    if (!strcmp(section, "server")) {
        struct utsname u;
        uname(&u);
        struct timeval tv;
        gettimeofday(&tv, NULL);
        line(&o, "os:%s %s %s\r\n", u.sysname, u.release, u.machine);
        line(&o, "arch_bits:%d\r\n", (int)(sizeof(void *) * 8));
        line(&o, "monotonic_clock:POSIX clock_gettime\r\n");
        line(&o, "multiplexing_api:epoll\r\n");
        line(&o, "atomicvar_api:c11-builtin\r\n");
#ifdef __GNUC__
        line(&o, "gcc_version:%d.%d.%d\r\n", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
        line(&o, "process_id:%d\r\n", (int)getpid());
        line(&o, "process_supervised:%s\r\n",
             s->cfg.supervised == RD_SUPERVISED_SYSTEMD ? "systemd" : "no");
        line(&o, "run_id:%s\r\n", s->run_id);
        line(&o, "tcp_port:%d\r\n", s->cfg.port);
        line(&o, "server_time_usec:%llu\r\n",
             (unsigned long long)tv.tv_sec * 1000000ull + (unsigned long long)tv.tv_usec);
        line(&o, "hz:10\r\nconfigured_hz:10\r\n");
        line(&o, "executable:%s\r\n", s->executable);
        line(&o, "config_file:%s\r\n", s->cfg.config_file);
        line(&o, "io_threads_active:0\r\n");
    } else if (!strcmp(section, "clients")) {
        line(&o, "maxclients:%u\r\n", s->cfg.maxclients);
        line(&o, "client_recent_max_input_buffer:%zu\r\nclient_recent_max_output_buffer:%zu\r\n",
             s->recent_max_in, s->recent_max_out);
    } else if (!strcmp(section, "memory")) {
        char h1[32], h2[32], h3[32];
        uint64_t rss = rss_bytes();
        /* used_memory: what is resident now (the store ring, the arena,
         * the clients' buffers and the code): tools that watch used_memory
         * see real numbers. */
        if (rss > s->mem_peak)
            s->mem_peak = rss;
        human(h1, sizeof h1, rss);
        human(h2, sizeof h2, rss);
        human(h3, sizeof h3, s->mem_peak);
        line(&o, "used_memory:%llu\r\nused_memory_human:%s\r\n",
             (unsigned long long)rss, h1);
        line(&o, "used_memory_rss:%llu\r\nused_memory_rss_human:%s\r\n",
             (unsigned long long)rss, h2);
        line(&o, "used_memory_peak:%llu\r\nused_memory_peak_human:%s\r\n",
             (unsigned long long)s->mem_peak, h3);
        line(&o, "mem_clients_slaves:0\r\nmem_clients_normal:%zu\r\n", s->clients_mem);
        line(&o, "maxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n");
        line(&o, "mem_allocator:libc\r\n");
        line(&o, "runnel_memory_store:%llu\r\n", (unsigned long long)s->mem_store);
        line(&o, "runnel_memory_arena:%llu\r\n", (unsigned long long)s->mem_arena);
        line(&o, "runnel_memory_clients_budget:%llu\r\n", (unsigned long long)rd_mem_budget(s));
        line(&o, "runnel_memory_reply_staging:%zu\r\n", s->stage_map);
    } else if (!strcmp(section, "persistence")) {
        /* No rdb_* / aof_* fields: runneld has neither an RDB nor an AOF,
         * and Redis's names would describe files it does not write. What it
         * does have is the store (store.c). */
        if (o.len < o.cap)
            o.len += rd_store_info(s, o.buf + o.len, o.cap - o.len);
    } else if (!strcmp(section, "runnel")) {
        /* The engine's section says runnel_commit_policy:none: runneld
         * syncs on its behalf (store.c), per appendfsync. */
        line(&o, "runnel_commits_by:runneld (appendfsync %s)\r\n",
             s->cfg.store_type == RD_STORE_RAM ? "none: store-type ram"
                                               : rd_appendfsync_name(s->cfg.commit_policy));
        line(&o, "runnel_streamed_replies:%llu\r\n", (unsigned long long)s->ranges_streamed);
        line(&o, "runnel_streamed_replies_written_whole:%llu\r\n",
             (unsigned long long)s->ranges_settled);
        line(&o, "runnel_streamed_replies_cut:%llu\r\n", (unsigned long long)s->ranges_cut);
    } else if (!strcmp(section, "stats")) {
        line(&o, "total_net_input_bytes:%llu\r\n", (unsigned long long)s->net_in);
        line(&o, "total_net_output_bytes:%llu\r\n", (unsigned long long)s->net_out);
        line(&o, "total_reads_processed:%llu\r\n", (unsigned long long)s->reads);
        line(&o, "total_writes_processed:%llu\r\n", (unsigned long long)s->writes);
        line(&o, "client_query_buffer_limit_disconnections:%llu\r\n",
             (unsigned long long)s->qbuf_disconnects);
        line(&o, "client_output_buffer_limit_disconnections:%llu\r\n",
             (unsigned long long)s->obuf_disconnects);
        line(&o, "evicted_clients:%llu\r\n", (unsigned long long)s->evicted_clients);
    } else if (!strcmp(section, "sync")) {
        if (o.len < o.cap)
            o.len += rd_sync_info(s, o.buf + o.len, o.cap - o.len);
    } else if (!strcmp(section, "cpu")) {
        struct rusage self;
        getrusage(RUSAGE_SELF, &self);
        line(&o, "used_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n",
             (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
             (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec);
    }
    return o.len;
}

void rd_hostops_init(rd_server_t *s)
{
    memset(&s->ops, 0, sizeof s->ops);
    s->ops.ctx = s;
    s->ops.foreach_client = foreach_client;
    s->ops.kill_client = kill_client;
    s->ops.client_woken = client_woken;
    s->ops.info = info;
    s->ops.config_get = rd_config_get;
    s->ops.config_set = rd_config_set;
    s->ops.config_names = rd_config_names;
    s->ops.shutdown = shutdown_request;
    s->ops.monitor_write = monitor_write;
    s->ops.now_us = now_us;
    s->ops.sleep_us = sleep_us;
    s->ops.command_docs = runnel_cmd_docs;
    s->ops.reply_range = rd_reply_range;
    s->ops.reply_range_moved = rd_reply_range_moved;
}
