/*
 * fuzz_cmd.c - libFuzzer target for the command layer (core/cmd*.c) on a
 * RAM store: arbitrary argv, in any order, from two clients.
 *
 * Input: commands separated by '\n', arguments by ' ' (a dictionary of
 * command and option names, tests/fuzz/cmd.dict, helps the fuzzer find
 * real commands quickly). Byte 0 chooses the protocol of the two clients
 * (RESP2/RESP3) and how far the fake clock jumps between commands, so
 * blocking reads time out or are served by a later XADD of the other
 * client. After every command the host's duties are done as runneld does
 * them: serve ready keys, expire blocked clients, flush output.
 *
 * Checked on every command: no crash, no sanitizer report, and every reply
 * the layer writes is well-formed RESP made of whole values (read back with
 * runnel_resp_next), unless the output buffer overflowed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ram_bd.h"

#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_cmd: %s:%d: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                  \
            abort();                                                         \
        }                                                                    \
    } while (0)

#define BLOCK_SIZE 4096u
#define BLOCK_COUNT 32u
#define CLIENTS 2
#define OUT_CAP 65536u
#define BUF_CAP 8192u
#define MAX_ARGS 64

static uint8_t storage[BLOCK_SIZE * BLOCK_COUNT];
static uint64_t arena[512 * 1024 / 8];
static runnel_ram_bd_t ram;
static runnel_bd_t bd;
static uint64_t now_ms;
static runnel_t *store;
static runnel_server_t srv;
static runnel_cmdstat_t stats[256];
static uint8_t ready[1024];
static runnel_client_t clients[CLIENTS];
static uint8_t out[CLIENTS][OUT_CAP];
static uint64_t multi[CLIENTS][BUF_CAP / 8];
static uint8_t watch[CLIENTS][512];
static uint64_t blockbuf[CLIENTS][BUF_CAP / 8];

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}
static const runnel_clock_t fake_clock = { NULL, clock_now };

static void check_reply(runnel_client_t *c);

static void foreach_client(void *ctx, void (*fn)(void *arg, runnel_client_t *c), void *arg)
{
    (void)ctx;
    for (int i = 0; i < CLIENTS; i++)
        fn(arg, &clients[i]);
}

static void client_woken(void *ctx, runnel_client_t *c)
{
    (void)ctx;
    check_reply(c);
}

/* SHUTDOWN asks the host to stop: here it just closes like QUIT. */
static int shutdown_host(void *ctx)
{
    (void)ctx;
    return 0;
}

static const runnel_server_ops_t ops = {
    .foreach_client = foreach_client,
    .client_woken = client_woken,
    .shutdown = shutdown_host,
};

/* Reads the client's output back as RESP: only whole values. */
static void check_reply(runnel_client_t *c)
{
    if (!c->out.overflow && c->out.len > 0) {
        runnel_resp_reader_t rd;
        runnel_resp_item_t it;
        size_t off = 0;
        int rc;
        runnel_resp_reader_init(&rd, NULL);
        while ((rc = runnel_resp_next(&rd, c->out.buf + off, c->out.len - off, &it)) > 0)
            off += (size_t)rc;
        if (rc != RUNNEL_ERR_AGAIN || off != c->out.len || rd.depth != 0) {
            fprintf(stderr, "fuzz_cmd: malformed reply (rc %d, %zu of %zu bytes, depth %u): %.*s\n",
                    rc, off, c->out.len, rd.depth, (int)c->out.len, (const char *)c->out.buf);
            abort();
        }
    }
    c->out.len = 0;
    c->out.overflow = false;
}

static int setup(uint8_t ctl)
{
    runnel_bd_geometry_t geo = { 1, 16, BLOCK_SIZE, BLOCK_COUNT, 0xFF, 0 };
    runnel_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    now_ms = 1700000000000ull;
    if (runnel_ram_bd_init(&ram, &bd, &geo, storage, NULL) != 0)
        return -1;
    cfg.bd = &bd;
    cfg.clock = &fake_clock;
    cfg.arena = arena;
    cfg.arena_size = sizeof(arena);
    cfg.commit_policy = RUNNEL_COMMIT_NONE;
    cfg.databases = 16;
    cfg.notify = runnel_cmd_notify;
    cfg.notify_ctx = &srv;
    size_t need = runnel_arena_size(&cfg);
    if (need == 0 || need > sizeof(arena)) {
        fprintf(stderr, "fuzz_cmd: arena needs %zu\n", need);
        abort();
    }
    REQUIRE(runnel_format(&store, &cfg) == 0);
    REQUIRE(runnel_cmd_count() <= sizeof(stats) / sizeof(stats[0]));
    REQUIRE(runnel_server_init(&srv, store, &ops, &fake_clock, stats, ready, sizeof(ready)) == 0);
    for (int i = 0; i < CLIENTS; i++) {
        runnel_client_init(&clients[i], (uint64_t)i + 1, out[i], OUT_CAP, (uint8_t *)multi[i],
                           BUF_CAP, watch[i], sizeof(watch[i]), (uint8_t *)blockbuf[i], BUF_CAP,
                           true);
        clients[i].resp = (ctl >> i) & 1 ? 3 : 2;
        clients[i].out.proto = clients[i].resp;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char line[4096];
    static runnel_str_t argv[MAX_ARGS];
    if (size < 1 || size > 16384)
        return 0;
    uint8_t ctl = data[0];
    if (setup(ctl) != 0)
        return 0;
    size_t pos = 1, cmdno = 0;
    while (pos < size && cmdno < 200) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t n = end - pos;
        if (n > sizeof(line))
            n = sizeof(line);
        memcpy(line, data + pos, n);
        pos = end + 1;

        int argc = 0;
        size_t i = 0;
        while (i <= n && argc < MAX_ARGS) {
            size_t j = i;
            while (j < n && line[j] != ' ')
                j++;
            argv[argc].p = line + i;
            argv[argc].len = j - i;
            argc++;
            i = j + 1;
        }
        runnel_client_t *c = &clients[cmdno % CLIENTS];
        cmdno++;
        if (c->block.active)
            continue; /* a blocked client sends nothing until served */
        runnel_cmd_result_t r = runnel_cmd_execute(&srv, c, argc, argv);
        if (r == RUNNEL_CMD_BLOCKED)
            REQUIRE(c->block.active);
        check_reply(c);
        runnel_cmd_serve_ready(&srv);
        now_ms += (uint64_t)(ctl >> 2) * 7;
        runnel_cmd_expire_blocked(&srv, now_ms);
        for (int k = 0; k < CLIENTS; k++)
            check_reply(&clients[k]);
        if (r == RUNNEL_CMD_CLOSE) {
            runnel_cmd_client_closed(&srv, c);
            runnel_client_init(c, c->id + 10, c->out.buf, OUT_CAP, c->multi_buf, BUF_CAP,
                               c->watch_buf, 512, c->block_buf, BUF_CAP, true);
        }
    }
    for (int k = 0; k < CLIENTS; k++)
        runnel_cmd_client_closed(&srv, &clients[k]);
    return 0;
}
