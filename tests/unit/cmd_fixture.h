/*
 * cmd_fixture.h - a command server on a RAM store with a fake clock, and a
 * few clients, for the command-layer tests (test_cmd_stream.c,
 * test_cmd_block.c). Commands are written as one string split on spaces
 * ("''" stands for an empty argument); replies are compared byte for byte
 * with the RESP Redis 7.0.15 sends.
 *
 * Portable: static buffers only, nothing big on the stack.
 */
#ifndef CMD_FIXTURE_H
#define CMD_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "ram_bd.h"
#include "testing.h"

#define CF_BLOCK_SIZE 4096u
#define CF_BLOCK_COUNT 64u
#define CF_CLIENTS 3
#define CF_OUT 16384u
#define CF_BUF 8192u

static uint8_t cf_storage[CF_BLOCK_SIZE * CF_BLOCK_COUNT];
/* Ring size and full-ring policy for the next cf_setup() (tests that fill
 * the ring shrink it; cf_setup() restores the defaults afterwards). */
static uint32_t cf_blocks = CF_BLOCK_COUNT;
static runnel_full_policy_t cf_policy = RUNNEL_FULL_REFUSE;
static uint64_t cf_arena[256 * 1024 / 8];
static runnel_ram_bd_t cf_ram;
static runnel_bd_t cf_bd;
static uint64_t cf_now = 1700000000000ull;
static uint64_t cf_clock_now(void *ctx) { (void)ctx; return cf_now; }
static const runnel_clock_t cf_clock = {NULL, cf_clock_now};

static runnel_t *cf_store;
static runnel_server_t cf_srv;
static runnel_cmdstat_t cf_stats[128];
static uint8_t cf_ready[1024];
static runnel_client_t cf_clients[CF_CLIENTS];
static uint8_t cf_out[CF_CLIENTS][CF_OUT];
static uint64_t cf_multi[CF_CLIENTS][CF_BUF / 8];
static uint8_t cf_watch[CF_CLIENTS][512];
static uint64_t cf_blockbuf[CF_CLIENTS][CF_BUF / 8];
static unsigned cf_woken[CF_CLIENTS];
static int cf_wake_order[16];
static unsigned cf_nwakes;

static void cf_foreach(void *ctx, void (*fn)(void *arg, runnel_client_t *c), void *arg)
{
    (void)ctx;
    for (int i = 0; i < CF_CLIENTS; i++)
        fn(arg, &cf_clients[i]);
}

static void cf_client_woken(void *ctx, runnel_client_t *c)
{
    (void)ctx;
    cf_woken[c - cf_clients]++;
    if (cf_nwakes < 16)
        cf_wake_order[cf_nwakes++] = (int)(c - cf_clients);
}

static unsigned cf_shutdowns;
static int cf_shutdown(void *ctx)
{
    (void)ctx;
    cf_shutdowns++;
    return 0;
}

/* MONITOR output: what the host would queue for monitor clients (all of
 * them into one buffer, which is enough for one monitor), and a clock in
 * microseconds that follows cf_now. */
static char cf_mon[4096];
static size_t cf_mon_len;
static void cf_monitor_write(void *ctx, runnel_client_t *c, const void *p, size_t n)
{
    (void)ctx;
    (void)c;
    if (n > sizeof cf_mon - 1 - cf_mon_len)
        n = sizeof cf_mon - 1 - cf_mon_len;
    memcpy(cf_mon + cf_mon_len, p, n);
    cf_mon_len += n;
    cf_mon[cf_mon_len] = '\0';
}
static uint64_t cf_now_us(void *ctx) { (void)ctx; return cf_now * 1000u + 42u; }

static const runnel_server_ops_t cf_ops = {
    .foreach_client = cf_foreach,
    .client_woken = cf_client_woken,
    .shutdown = cf_shutdown,
    .now_us = cf_now_us,
    .monitor_write = cf_monitor_write,
};

/* Fresh store, server and clients. */
static inline int cf_setup(void)
{
    runnel_bd_geometry_t geo = {1, 16, CF_BLOCK_SIZE, cf_blocks, 0xFF, 0};
    runnel_config_t cfg;

    cf_now = 1700000000000ull;
    memset(&cfg, 0, sizeof cfg);
    if (runnel_ram_bd_init(&cf_ram, &cf_bd, &geo, cf_storage, NULL) != 0)
        return -1;
    cfg.bd = &cf_bd;
    cfg.clock = &cf_clock;
    cfg.arena = cf_arena;
    cfg.arena_size = sizeof cf_arena;
    cfg.commit_policy = RUNNEL_COMMIT_NONE;
    cfg.full_policy = cf_policy;
    cf_blocks = CF_BLOCK_COUNT;
    cf_policy = RUNNEL_FULL_REFUSE;
    cfg.databases = 16;
    cfg.notify = runnel_cmd_notify;
    cfg.notify_ctx = &cf_srv;
    if (runnel_arena_size(&cfg) == 0 || runnel_arena_size(&cfg) > sizeof cf_arena) {
        printf("arena: need %lu\n", (unsigned long)runnel_arena_size(&cfg));
        return -1;
    }
    int rc = runnel_format(&cf_store, &cfg);
    if (rc != 0) {
        printf("runnel_format: %d\n", rc);
        return -1;
    }
    if (runnel_cmd_count() > sizeof cf_stats / sizeof cf_stats[0])
        return -1;
    rc = runnel_server_init(&cf_srv, cf_store, &cf_ops, &cf_clock, cf_stats, cf_ready,
                            sizeof cf_ready);
    if (rc != 0)
        return -1;
    for (int i = 0; i < CF_CLIENTS; i++) {
        runnel_client_init(&cf_clients[i], (uint64_t)i + 1, cf_out[i], CF_OUT,
                           (uint8_t *)cf_multi[i], CF_BUF, cf_watch[i], sizeof cf_watch[i],
                           (uint8_t *)cf_blockbuf[i], CF_BUF, true);
        cf_woken[i] = 0;
    }
    cf_nwakes = 0;
    return 0;
}

/* Splits `line` on spaces into argv (static storage). */
#define CF_MAX_ARGS 64
static char cf_line[2048];
static runnel_str_t cf_argv[CF_MAX_ARGS];

static inline int cf_split(const char *line)
{
    size_t n = strlen(line);
    int argc = 0;
    if (n >= sizeof cf_line)
        return 0;
    memcpy(cf_line, line, n + 1);
    size_t i = 0;
    while (i < n && argc < CF_MAX_ARGS) {
        size_t j = i;
        while (j < n && cf_line[j] != ' ')
            j++;
        cf_argv[argc].p = cf_line + i;
        cf_argv[argc].len = j - i;
        if (j - i == 2 && cf_line[i] == '\'' && cf_line[i + 1] == '\'')
            cf_argv[argc].len = 0;
        argc++;
        i = j + 1;
    }
    return argc;
}

static runnel_cmd_result_t cf_last_result;

/* Runs a command on client ci and returns its reply as a NUL-terminated
 * string (replies in these tests contain no NUL bytes). Blocked clients
 * are served afterwards as a host would. */
static inline const char *cf_run(int ci, const char *line)
{
    static char reply[CF_OUT + 1];
    runnel_client_t *c = &cf_clients[ci];
    int argc = cf_split(line);
    c->out.len = 0;
    c->out.overflow = false;
    cf_last_result = runnel_cmd_execute(&cf_srv, c, argc, cf_argv);
    size_t n = c->out.len;
    memcpy(reply, c->out.buf, n);
    reply[n] = '\0';
    c->out.len = 0;
    runnel_cmd_serve_ready(&cf_srv);
    return reply;
}

/* The pending output of client ci (e.g. after a wake-up), then cleared. */
static inline const char *cf_take(int ci)
{
    static char reply[CF_OUT + 1];
    runnel_client_t *c = &cf_clients[ci];
    size_t n = c->out.len;
    memcpy(reply, c->out.buf, n);
    reply[n] = '\0';
    c->out.len = 0;
    return reply;
}

/* Prints a RESP string with CR/LF visible. */
static inline void cf_print_escaped(const char *s)
{
    for (; *s; s++) {
        if (*s == '\r')
            printf("\\r");
        else if (*s == '\n')
            printf("\\n");
        else
            putchar(*s);
    }
    printf("\n");
}

static inline int cf_expect_at(const char *file, int line, int ci, const char *cmd, const char *expected)
{
    const char *got = cf_run(ci, cmd);
    ++*testing_checks();
    if (strcmp(got, expected) != 0) {
        ++*testing_failures();
        printf("%s:%d: %s\n    got      ", file, line, cmd);
        cf_print_escaped(got);
        printf("    expected ");
        cf_print_escaped(expected);
        return 0;
    }
    return 1;
}

#define EXPECT(cmd, expected) cf_expect_at(__FILE__, __LINE__, 0, (cmd), (expected))
#define EXPECT_C(ci, cmd, expected) cf_expect_at(__FILE__, __LINE__, (ci), (cmd), (expected))

#define CHECK_REPLY(got, expected)                                            \
    do {                                                                      \
        const char *cf_g_ = (got);                                            \
        ++*testing_checks();                                                  \
        if (strcmp(cf_g_, (expected)) != 0) {                                 \
            ++*testing_failures();                                            \
            printf("%s:%d: reply mismatch\n    got      ", __FILE__, __LINE__); \
            cf_print_escaped(cf_g_);                                          \
            printf("    expected ");                                          \
            cf_print_escaped(expected);                                       \
        }                                                                     \
    } while (0)

#endif /* CMD_FIXTURE_H */
