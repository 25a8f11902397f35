/*
 * test_cmd_reply_range.c - streamed replies (core/cmd_reply_range.c)
 * through runnel_cmd_execute with a host that takes ranges: the bytes
 * written inline, then the ranges filled chunk by chunk, must be exactly
 * the reply written whole (which test_cmd_stream.c and the interop suite
 * hold to Redis's bytes), for XRANGE, XREVRANGE, XREAD (RESP2 and RESP3:
 * a range moves when the outer header closes its gap) and XREADGROUP;
 * entries larger than a store block go out in parts, a fill resuming inside
 * one; a fill whose entries were deleted underneath fails instead of cutting
 * silently; runnel_cmd_may_remove_entries says which commands a host must
 * settle ranges before.
 */
#include "cmd_fixture.h"

#define RR_BUF (112u * 1024)
#define RR_MAX 8

static uint8_t rr_out[RR_BUF];      /* client 0's writer: room for a whole reply */
static uint8_t rr_whole[RR_BUF];    /* the reply written whole */
static uint8_t rr_got[RR_BUF];      /* inline bytes + filled ranges */
static size_t rr_whole_len, rr_got_len;

/* The host: ranges as handed out, with their positions in the reply. */
static runnel_reply_range_t rr_tab[RR_MAX];
static size_t rr_at[RR_MAX];
static char rr_keys[RR_MAX][16];
static unsigned rr_n;
static bool rr_refuse;

static int host_range(void *ctx, runnel_client_t *c, const runnel_reply_range_t *rr)
{
    (void)ctx;
    if (rr_refuse || rr_n == RR_MAX || rr->key.len > sizeof rr_keys[0])
        return -1;
    rr_tab[rr_n] = *rr;
    memcpy(rr_keys[rr_n], rr->key.p, rr->key.len);
    rr_tab[rr_n].key.p = rr_keys[rr_n];
    rr_at[rr_n] = c->out.len;
    rr_n++;
    return 0;
}

static void host_moved(void *ctx, runnel_client_t *c, size_t from, size_t removed)
{
    (void)ctx;
    (void)c;
    for (unsigned i = 0; i < rr_n; i++) {
        if (removed == SIZE_MAX && rr_at[i] >= from)
            rr_n = i;   /* dropped, and every later one */
        else if (removed != SIZE_MAX && rr_at[i] >= from + removed)
            rr_at[i] -= removed;
    }
}

static runnel_server_ops_t rr_ops;

static void use_ranges(bool on)
{
    rr_ops = cf_ops;
    if (on) {
        rr_ops.reply_range = host_range;
        rr_ops.reply_range_moved = host_moved;
    }
    cf_srv.ops = &rr_ops;
}

static int setup(void)
{
    if (cf_setup() != 0)
        return -1;
    runnel_client_init(&cf_clients[0], 1, rr_out, sizeof rr_out, (uint8_t *)cf_multi[0], CF_BUF,
                       cf_watch[0], sizeof cf_watch[0], (uint8_t *)cf_blockbuf[0], CF_BUF, true);
    rr_n = 0;
    rr_refuse = false;
    return 0;
}

static runnel_cmd_result_t run_raw(const char *line)
{
    runnel_client_t *c = &cf_clients[0];
    int argc = cf_split(line);
    c->out.len = 0;
    c->out.overflow = false;
    runnel_cmd_result_t res = runnel_cmd_execute(&cf_srv, c, argc, cf_argv);
    runnel_cmd_serve_ready(&cf_srv);
    return res;
}

/* The reply to `line` written whole (no ranges taken). */
static void whole(const char *line)
{
    use_ranges(false);
    (void)run_raw(line);
    rr_whole_len = cf_clients[0].out.len;
    memcpy(rr_whole, rr_out, rr_whole_len);
}

/* The reply to `line` with ranges, assembled as a host sends it: inline
 * bytes up to each range, the range filled `chunk` bytes at a time. Returns
 * the ranges handed out; -1 if a fill failed (rr_got holds what came). */
static int streamed(const char *line, size_t chunk)
{
    static uint8_t buf[8192];
    size_t pos = 0;

    use_ranges(true);
    rr_n = 0;
    (void)run_raw(line);
    rr_got_len = 0;
    for (unsigned i = 0; i < rr_n; i++) {
        if (rr_at[i] < pos || rr_at[i] - pos > sizeof rr_got - rr_got_len)
            return -1;
        memcpy(rr_got + rr_got_len, rr_out + pos, rr_at[i] - pos);
        rr_got_len += rr_at[i] - pos;
        pos = rr_at[i];
        while (rr_tab[i].left > 0) {
            size_t len = 0, need = 0, cap = chunk;
            int rc = runnel_cmd_range_fill(&cf_srv, &rr_tab[i], buf, cap, &len, &need);
            if (rc < 0)
                return -1;
            if (need > 0) {
                /* One entry alone is bigger than the chunk: as a host,
                 * give it a buffer its size. */
                if (need > sizeof buf || len != 0)
                    return -1;
                cap = need;
                rc = runnel_cmd_range_fill(&cf_srv, &rr_tab[i], buf, cap, &len, &need);
                if (rc < 0 || need != 0 || len == 0)
                    return -1;
            }
            if (len > sizeof rr_got - rr_got_len)
                return -1;
            memcpy(rr_got + rr_got_len, buf, len);
            rr_got_len += len;
        }
    }
    if (cf_clients[0].out.len - pos > sizeof rr_got - rr_got_len)
        return -1;
    memcpy(rr_got + rr_got_len, rr_out + pos, cf_clients[0].out.len - pos);
    rr_got_len += cf_clients[0].out.len - pos;
    return (int)rr_n;
}

static bool same(void)
{
    return rr_got_len == rr_whole_len && memcmp(rr_got, rr_whole, rr_whole_len) == 0;
}

/* 160 entries of ~430 bytes: about 70 KB of reply, past the inline 64 KiB. */
static void fill(const char *key, unsigned n)
{
    char line[600];
    for (unsigned i = 1; i <= n; i++) {
        int k = snprintf(line, sizeof line, "XADD %s %u-1 f ", key, i);
        for (int j = 0; j < 400; j++)
            line[k + j] = (char)('a' + (i + (unsigned)j) % 26);
        line[k + 400] = '\0';
        (void)run_raw(line);
    }
}

static void test_xrange_streams_exact_bytes(void)
{
    CHECK(setup() == 0);
    fill("s", 160);
    static const char *const cmds[] = {
        "XRANGE s - +", "XREVRANGE s + -", "XRANGE s 3 150 COUNT 155", "XREVRANGE s (160 (2",
        "XRANGE s 100 +", "XREVRANGE s + - COUNT 159",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        whole(cmds[i]);
        int n = streamed(cmds[i], 1000);
        CHECK(n == 1 || (n == 0 && rr_whole_len < RUNNEL_REPLY_INLINE_MAX));
        CHECK(same());
        if (!same())
            printf("  %s: %zu vs %zu bytes\n", cmds[i], rr_got_len, rr_whole_len);
        /* The inline part stayed under the inline size. */
        CHECK(n == 0 || rr_at[0] <= RUNNEL_REPLY_INLINE_MAX);
    }
    /* Chunks smaller than one entry: every fill asks for a bigger buffer. */
    whole("XRANGE s - +");
    CHECK(streamed("XRANGE s - +", 100) == 1);
    CHECK(same());
    /* A host that refuses: the reply is written whole after all. */
    rr_refuse = true;
    use_ranges(true);
    rr_n = 0;
    (void)run_raw("XRANGE s - +");
    CHECK(rr_n == 0 && cf_clients[0].out.len == rr_whole_len &&
          memcmp(rr_out, rr_whole, rr_whole_len) == 0);
    /* Inside EXEC replies are written whole. */
    rr_refuse = false;
    (void)run_raw("MULTI");
    (void)run_raw("XRANGE s - +");
    rr_n = 0;
    (void)run_raw("EXEC");
    CHECK(rr_n == 0 && cf_clients[0].out.len > rr_whole_len);
}

static void test_xread_moves_ranges_with_its_header(void)
{
    CHECK(setup() == 0);
    fill("a", 160);
    fill("b", 60);   /* a range of its own only when it comes after a */
    (void)run_raw("XADD c 1-1 x y");
    static const char *const cmds[] = {
        "XREAD STREAMS a c b nokey 0 0 0 0", "XREAD COUNT 158 STREAMS c a b 0 1 2",
        "XREAD STREAMS b a 159 0",
    };
    for (int proto = 2; proto <= 3; proto++) {
        (void)run_raw(proto == 3 ? "HELLO 3" : "HELLO 2");
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
            whole(cmds[i]);
            int n = streamed(cmds[i], 4096);
            CHECK(n >= 1);
            CHECK(same());
            if (!same())
                printf("  RESP%d %s: %zu vs %zu bytes, %d ranges\n", proto, cmds[i], rr_got_len,
                       rr_whole_len, n);
        }
    }
}

static void test_xreadgroup_pel_holds_what_streams(void)
{
    CHECK(setup() == 0);
    fill("s", 160);
    (void)run_raw("XGROUP CREATE s whole 0");
    (void)run_raw("XGROUP CREATE s g 0");
    whole("XREADGROUP GROUP whole c STREAMS s >");
    CHECK(streamed("XREADGROUP GROUP g c STREAMS s >", 2000) == 1);
    CHECK(same());
    CHECK_REPLY(cf_run(1, "XPENDING s g"),
                "*4\r\n:160\r\n$3\r\n1-1\r\n$5\r\n160-1\r\n*1\r\n*2\r\n$1\r\nc\r\n$3\r\n160\r\n");
    /* A history read comes from the PEL: written whole. */
    use_ranges(true);
    rr_n = 0;
    (void)run_raw("XREADGROUP GROUP g c STREAMS s 0");
    CHECK(rr_n == 0 && cf_clients[0].out.len > RUNNEL_REPLY_INLINE_MAX);
}

/* Entries larger than a store block (partial entries) among small ones:
 * a range streams such an entry in parts, each fill resuming inside it,
 * and the bytes are the reply written whole. */
static void add_big(const char *key, uint64_t ms, size_t n)
{
    static char v[70000];
    runnel_xadd_args_t a;
    runnel_str_t fv[4];
    runnel_id_t id;

    for (size_t j = 0; j < n; j++)
        v[j] = (char)('a' + (ms * 7u + j) % 26u);
    memset(&a, 0, sizeof a);
    a.key.p = key;
    a.key.len = strlen(key);
    a.id_mode = RUNNEL_XADD_EXPLICIT;
    a.id.ms = ms;
    a.id.seq = 1;
    fv[0].p = "f";
    fv[0].len = 1;
    fv[1].p = v;
    fv[1].len = n;
    fv[2].p = "tail";
    fv[2].len = 4;
    fv[3].p = "x";
    fv[3].len = 1;
    a.fv = fv;
    a.nfields = 2;
    CHECK(runnel_xadd(cf_store, &a, &id) == 1);
}

static void test_partial_entries_stream_in_parts(void)
{
    CHECK(setup() == 0);
    (void)run_raw("XADD p 1-1 f small");
    add_big("p", 2, 69000);
    (void)run_raw("XADD p 3-1 f small");
    add_big("p", 4, 5000);
    add_big("p", 5, 4090);
    static const char *const cmds[] = { "XRANGE p - +", "XREVRANGE p + -", "XRANGE p 2 2" };
    static const size_t chunks[] = { 100, 1000, 4096, 8192 };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            whole(cmds[i]);
            CHECK(rr_whole_len > 69000u);
            int n = streamed(cmds[i], chunks[k]);
            CHECK(n == 1);
            CHECK(same());
            if (!same())
                printf("  %s / %zu: %zu vs %zu bytes\n", cmds[i], chunks[k], rr_got_len,
                       rr_whole_len);
        }
    }
    (void)run_raw("XGROUP CREATE p whole 0");
    (void)run_raw("XGROUP CREATE p g 0");
    whole("XREADGROUP GROUP whole c STREAMS p >");
    CHECK(streamed("XREADGROUP GROUP g c STREAMS p >", 1000) == 1);
    CHECK(same());
}

static void test_fill_fails_when_entries_are_gone(void)
{
    CHECK(setup() == 0);
    fill("s", 160);
    whole("XRANGE s - +");
    use_ranges(true);
    rr_n = 0;
    (void)run_raw("XRANGE s - +");
    CHECK(rr_n == 1);
    size_t pos = rr_at[0];
    memcpy(rr_got, rr_out, pos);
    /* What a host must prevent (it settles ranges before an XDEL): here the
     * engine deletes an entry ahead of the fill directly. */
    runnel_id_t id = {159, 1};
    uint64_t deleted = 0;
    CHECK(runnel_xdel(cf_store, (runnel_str_t){"s", 1}, &id, 1, &deleted) == 0 && deleted == 1);
    static uint8_t buf[4096];
    int rc = 0;
    while (rc == 0 && rr_tab[0].left > 0) {
        size_t len = 0, need = 0;
        rc = runnel_cmd_range_fill(&cf_srv, &rr_tab[0], buf, sizeof buf, &len, &need);
        memcpy(rr_got + pos, buf, len);
        pos += len;
    }
    CHECK(rc < 0);
    /* What came before the failure is a prefix of the right reply. */
    CHECK(pos < rr_whole_len && memcmp(rr_got, rr_whole, pos) == 0);
    /* The key gone: the same. */
    rr_n = 0;
    (void)run_raw("XRANGE s - +");
    CHECK(rr_n == 1);
    (void)run_raw("DEL s");
    size_t len = 0, need = 0;
    CHECK(runnel_cmd_range_fill(&cf_srv, &rr_tab[0], buf, sizeof buf, &len, &need) < 0);
}

static bool may_remove(const char *line)
{
    int argc = cf_split(line);
    return runnel_cmd_may_remove_entries(&cf_clients[0], argc, cf_argv);
}

static void test_which_commands_may_remove(void)
{
    CHECK(setup() == 0);
    CHECK(!may_remove("XADD s * f v"));
    CHECK(may_remove("XADD s MAXLEN 5 * f v"));
    CHECK(may_remove("XADD s NOMKSTREAM minid ~ 5 * f v"));
    CHECK(may_remove("XDEL s 1-1"));
    CHECK(may_remove("XTRIM s MAXLEN 0"));
    CHECK(may_remove("XSETID s 5-5"));
    CHECK(may_remove("DEL s"));
    CHECK(may_remove("UNLINK s"));
    CHECK(may_remove("RENAME s t"));
    CHECK(may_remove("FLUSHALL"));
    CHECK(may_remove("FLUSHDB"));
    CHECK(may_remove("DEBUG SLEEP 0"));
    CHECK(!may_remove("XRANGE s - +"));
    CHECK(!may_remove("XREADGROUP GROUP g c STREAMS s >"));
    CHECK(!may_remove("XACK s g 1-1"));
    CHECK(!may_remove("XGROUP DESTROY s g"));
    CHECK(!may_remove("XCLAIM s g c 0 1-1"));
    CHECK(!may_remove("PING"));
    CHECK(!may_remove("NOSUCHCOMMAND x"));
    /* EXEC: what its queue holds. */
    (void)run_raw("MULTI");
    (void)run_raw("XADD s * f v");
    CHECK(!may_remove("XDEL s 1-1"));   /* queued, not run */
    CHECK(!may_remove("EXEC"));
    (void)run_raw("XDEL s 1-1");
    CHECK(may_remove("EXEC"));
    (void)run_raw("DISCARD");
    CHECK(!may_remove("EXEC"));
}

TEST_MAIN(
    RUN(test_xrange_streams_exact_bytes);
    RUN(test_xread_moves_ranges_with_its_header);
    RUN(test_xreadgroup_pel_holds_what_streams);
    RUN(test_partial_entries_stream_in_parts);
    RUN(test_fill_fails_when_entries_are_gone);
    RUN(test_which_commands_may_remove);
)
