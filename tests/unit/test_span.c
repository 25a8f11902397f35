/*
 * test_span.c - entries larger than a block (FORMAT.md "Spanning records"):
 * written across blocks by XADD, read back whole through
 * runnel_entry_value_read in small pieces, replayed by mount, and an
 * append cut short never seen.
 *
 *   boundaries   entry bodies of max_body - 1, max_body, max_body + 1 (the
 *                first spanning size), and spans that end one byte before,
 *                at and after each block boundary for 2 and 3 blocks, plus
 *                1 B and a few hundred KiB; each round-trips through
 *                XRANGE, XREVRANGE and XREADGROUP, before and after mount
 *   head place   runnel__log_span_place names the block the last piece of
 *                the next span goes to, whatever the head's position
 *   value read   runnel_entry_value_read's argument checks; a resident
 *                string of a partial entry; reads of 1 byte at a time
 *   limits       max_entry_bytes and the ring bound refuse with
 *                ENTRY_TOO_LARGE and write nothing
 *   cut short    a span whose last piece is lost (as a power cut leaves it)
 *                is not there after mount, and later writes do not make it
 *                appear
 *   policies     DROP_OLDEST and RELOCATE rings turned by spanning entries
 *   block-sized links  an entry of about a block added to a node reads
 *                back, wherever its links' plan settles or not
 */
#include <string.h>

#include "stream_fixture.h"
#include "store.h"

static fx_t F;

#define BIG_MAX (300u * 1024u)
static char big[BIG_MAX];
static char got[BIG_MAX];

static void pattern(char *p, size_t n, uint32_t seed)
{
    size_t i;
    uint32_t x = seed * 2654435761u + 1u;

    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (char)(x >> 24);
    }
}

/* The body XADD writes for one field "f" with an n-byte value under a
 * millisecond ID of 1000..(6 varint bytes) in slot 0: slot, ms, seq,
 * nfields, "f", value. */
static uint64_t body_of(uint64_t ms, size_t n)
{
    uint8_t v[RUNNEL_VARINT_MAX];
    return 1u + runnel__varint_put(v, ms) + 1u + 1u + 2u + runnel__varint_put(v, n) + n;
}

/* Value size whose body is exactly `body` bytes (or the nearest below). */
static size_t value_for(uint64_t ms, uint64_t body)
{
    size_t n = (size_t)body;

    while (n > 0 && body_of(ms, n) > body)
        n--;
    return n;
}

typedef struct reader {
    size_t want_len;
    uint32_t seed;
    uint32_t chunk;
    unsigned entries, ok, partial;
} reader_t;

/* Reads every entry's value through runnel_entry_value_read in pieces of
 * rd->chunk bytes and compares it with the pattern. */
static int check_entry(void *ctx, const runnel_entry_t *e)
{
    reader_t *rd = ctx;
    uint64_t off = 0;
    size_t n;

    rd->entries++;
    if (e->nfields != 1 || e->fv[0].len != 1 || e->fv[0].p == NULL || e->fv[0].p[0] != 'f')
        return 0;
    n = e->fv[1].len;
    if (n != rd->want_len || n > BIG_MAX)
        return 0;
    if (e->partial)
        rd->partial++;
    while (off < n) {
        size_t take = n - off < rd->chunk ? n - off : rd->chunk;
        if (runnel_entry_value_read(e, 1, off, got + off, take) != 0)
            return 0;
        off += take;
    }
    pattern(big, n, rd->seed);
    if (memcmp(got, big, n) == 0)
        rd->ok++;
    return 0;
}

static void open_store(uint32_t block, uint32_t count, runnel_full_policy_t policy)
{
    fx_setup(&F, 1, block, count);
    F.cfg.durable = &runnel_durability;
    F.cfg.full_policy = policy;
    F.cfg.commit_policy = RUNNEL_COMMIT_ALWAYS;
    CHECK_EQ_INT(fx_open(&F), 0);
}

static int add_value(const char *key, size_t n, uint32_t seed, runnel_id_t *id)
{
    runnel_xadd_args_t a;
    runnel_str_t fv[2];

    pattern(big, n, seed);
    memset(&a, 0, sizeof a);
    a.key = fx_s(key);
    a.id_mode = RUNNEL_XADD_AUTO;
    fv[0] = fx_s("f");
    fv[1].p = big;
    fv[1].len = n;
    a.fv = fv;
    a.nfields = 1;
    return runnel_xadd(F.r, &a, id);
}

/* XRANGE, XREVRANGE and XREADGROUP of the one entry of `key`. */
static void check_reads(const char *key, size_t n, uint32_t seed, bool spans)
{
    reader_t rd;
    runnel_xreadgroup_args_t g;

    memset(&rd, 0, sizeof rd);
    rd.want_len = n;
    rd.seed = seed;
    rd.chunk = 1000;
    CHECK_EQ_INT(runnel_xrange(F.r, fx_s(key), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                               check_entry, &rd), 1);
    rd.chunk = 4093;
    CHECK_EQ_INT(runnel_xrange(F.r, fx_s(key), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, true,
                               check_entry, &rd), 1);
    memset(&g, 0, sizeof g);
    g.key = fx_s(key);
    g.group = fx_s("g");
    g.consumer = fx_s("c");
    g.new_entries = false;      /* history: the PEL's entry */
    rd.chunk = 65536;
    CHECK_EQ_INT(runnel_xreadgroup(F.r, &g, check_entry, &rd), 1);
    CHECK_EQ_U64(rd.entries, 3);
    CHECK_EQ_U64(rd.ok, 3);
    CHECK_EQ_U64(rd.partial, spans ? 3 : 0);
}

static void round_trip(uint64_t body, uint32_t seed)
{
    runnel_xreadgroup_args_t g;
    reader_t rd;
    runnel_id_t id;
    char key[16];
    size_t n;
    uint64_t max = runnel__log_max_body(&F.r->log);

    snprintf(key, sizeof key, "k%u", (unsigned)seed);
    n = value_for(F.now, body);
    CHECK_EQ_INT(add_value(key, n, seed, &id), 1);
    CHECK_EQ_INT(runnel_xgroup_create(F.r, fx_s(key), fx_s("g"), RUNNEL_ID_MIN, false, false, -1),
                 0);
    memset(&g, 0, sizeof g);
    memset(&rd, 0, sizeof rd);
    g.key = fx_s(key);
    g.group = fx_s("g");
    g.consumer = fx_s("c");
    g.new_entries = true;
    rd.want_len = n;
    rd.seed = seed;
    rd.chunk = 7;
    CHECK_EQ_INT(runnel_xreadgroup(F.r, &g, check_entry, &rd), 1);
    CHECK_EQ_U64(rd.ok, 1);
    check_reads(key, n, seed, body_of(F.now, n) > max);
    F.now++;
}

static void test_boundaries(void)
{
    uint64_t max, sizes[16];
    uint32_t i, ns = 0, seed = 1;

    open_store(4096, 96, RUNNEL_FULL_REFUSE);
    max = runnel__log_max_body(&F.r->log);
    CHECK_EQ_U64(max, 4096u - 24u - 1u - 2u - 4u);
    sizes[ns++] = body_of(F.now, 1);    /* 1 B */
    sizes[ns++] = max - 1u;
    sizes[ns++] = max;
    sizes[ns++] = max + 1u;
    /* a span's head starts a fresh block here (the previous span ended
     * its block early), so it carries max - prefix bytes and each piece
     * max: 2 and 3 blocks end at these sizes */
    for (i = 2; i <= 3; i++) {
        uint64_t edge = (uint64_t)i * max - 5u;
        sizes[ns++] = edge - 1u;
        sizes[ns++] = edge;
        sizes[ns++] = edge + 1u;
    }
    sizes[ns++] = 10u * 1000u;
    sizes[ns++] = 256u * 1024u;
    for (i = 0; i < ns; i++)
        round_trip(sizes[i], seed++);

    /* a restart: every entry again, bit for bit */
    CHECK_EQ_INT(runnel_mount(&F.r, &F.cfg), 0);
    for (i = 0, seed = 1; i < ns; i++, seed++) {
        char key[16];
        snprintf(key, sizeof key, "k%u", (unsigned)seed);
        check_reads(key, value_for(1000u + i, sizes[i]), seed, sizes[i] > max);
    }
}

/* An entry of about a block added to a node (ECC flash: 16 B program
 * unit, 2 KiB blocks) after small ones spread among another stream's:
 * its links are distances from where it lands, coded against what the
 * node's spacing predicts, so their length depends on the place, and the
 * place on the length. Where the plan does not settle - one byte too long
 * for the next block's start, short enough there when coded for the block
 * after - the entry starts a node instead (stream_add.c plan_entry).
 * Before, it went to the next block with links coded for the block after
 * it, and its node read CORRUPT (the power-cut rig's seed 718681). Every
 * entry must read back, before and after mount. */
static int count_entry(void *ctx, const runnel_entry_t *e)
{
    (void)e;
    (*(uint32_t *)ctx)++;
    return 0;
}

static void test_block_sized_links(void)
{
    uint32_t small, gap, delta, k, tried = 0, bad = 0, split = 0;
    runnel_id_t id;

    for (small = 1; small <= 9; small++) {
        for (gap = 0; gap < 6; gap++) {
            for (delta = 0; delta < 24; delta++) {
                runnel_stream_info_t si;
                uint32_t seen = 0;
                uint64_t max;
                int rc;

                fx_setup(&F, 16, 2048, 24);
                F.cfg.durable = &runnel_durability;
                F.cfg.full_policy = RUNNEL_FULL_REFUSE;
                CHECK_EQ_INT(fx_open(&F), 0);
                max = runnel__log_max_body(&F.r->log);
                for (k = 0; k < small; k++) {
                    F.now += 1u + k % 3u;
                    CHECK_EQ_INT(add_value("s", 10u + 7u * k, k, &id), 1);
                    CHECK_EQ_INT(add_value("o", 60u + 97u * gap + 13u * k, k, &id), 1);
                }
                F.now++;
                CHECK_EQ_INT(add_value("s", (size_t)(max - 16u - delta), 99, &id), 1);
                tried++;
                rc = runnel_xrange(F.r, fx_s("s"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                                   count_entry, &seen);
                bad += rc != (int)small + 1 || seen != small + 1u;
                CHECK_EQ_INT(runnel_stream_info(F.r, fx_s("s"), &si), 0);
                split += si.nodes > 1u;
                CHECK_EQ_INT(runnel_mount(&F.r, &F.cfg), 0);
                seen = 0;
                rc = runnel_xrange(F.r, fx_s("s"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                                   count_entry, &seen);
                bad += rc != (int)small + 1 || seen != small + 1u;
            }
        }
    }
    printf("    %u entries of about a block added to a node: %u started a node, %u read "
           "wrong\n", (unsigned)tried, (unsigned)split, (unsigned)bad);
    CHECK_EQ_U64(bad, 0);
}

/* Where the next span's last piece goes, for heads at every offset of a
 * block: the log's append puts it exactly there, and the head parses back
 * with the end the append left. */
static int big_src(void *ctx, uint64_t off, uint8_t *dst, uint32_t n)
{
    (void)ctx;
    memcpy(dst, big + off, n);
    return 0;
}

static void test_head_place(void)
{
    runnel_log_t *log;
    uint32_t fill;

    /* not durable: nothing here journals, so nothing pins the ring */
    fx_setup(&F, 1, 2048, 64);
    F.cfg.full_policy = RUNNEL_FULL_DROP_OLDEST;
    CHECK_EQ_INT(fx_open(&F), 0);
    log = &F.r->log;
    pattern(big, BIG_MAX, 3);
    for (fill = 0; fill < 60; fill++) {
        uint64_t total = runnel__log_max_body(log) * (1u + fill % 3u) + fill * 37u + 1u;
        runnel_pos_t planned = runnel__log_span_place(log, total), pos;
        runnel__iov_t iov;
        runnel__span_t sp;
        uint64_t off;

        int rc = runnel__log_append_span(log, 0x10, total, big_src, NULL, &pos);

        CHECK_EQ_INT(rc, 0);
        if (rc != 0)
            break;
        /* the span ends in the block planned for its last piece */
        CHECK_EQ_U64((log->head - 1u) / 2048u, planned / 2048u);
        CHECK_EQ_INT(runnel__log_span_open(log, pos, &sp, F.r->scratch, F.r->scratch_cap), 0);
        CHECK_EQ_U64(sp.end, log->head);
        CHECK_EQ_U64(sp.total, total);
        CHECK_EQ_U64(sp.type, 0x10);
        CHECK_EQ_INT(runnel__log_span_complete(log, &sp, F.r->master, F.r->scratch_cap), 0);
        for (off = 0; off < total; off += 1000u) {
            uint32_t n = total - off < 1000u ? (uint32_t)(total - off) : 1000u;
            CHECK_EQ_INT(runnel__log_span_read(log, &sp, off, got, n, F.r->master,
                                               F.r->scratch_cap), 0);
            CHECK(memcmp(got, big + off, n) == 0);
        }
        /* a small record moves the next head inside the block */
        iov.p = big;
        iov.len = 1u + fill * 31u;
        CHECK_EQ_INT(runnel__log_append(log, 0x40, &iov, 1, &pos), 0);
    }
    CHECK_EQ_INT(runnel__log_commit(log), 0);
}

static runnel_str_t keep_fv[4];
static int keep_entry(void *ctx, const runnel_entry_t *e)
{
    int *rc = ctx;
    char b[8];

    keep_fv[0] = e->fv[0];
    /* argument checks */
    rc[0] = runnel_entry_value_read(e, 4, 0, b, 1);           /* no such string */
    rc[1] = runnel_entry_value_read(e, 1, e->fv[1].len, b, 1); /* past the end */
    rc[2] = runnel_entry_value_read(e, 1, e->fv[1].len - 1u, b, 1);
    rc[3] = runnel_entry_value_read(e, 0, 0, b, 1);           /* resident: copied */
    rc[4] = e->partial && e->fv[1].p == NULL && e->fv[3].p != NULL; /* "g" in the head */
    rc[5] = runnel_entry_value_read(e, 3, 0, b, 2);
    rc[6] = b[0] == 'h' && b[1] == 'i';
    rc[7] = runnel_entry_value_read(e, 1, 0, NULL, 1);
    return 0;
}

static void test_value_read(void)
{
    runnel_xadd_args_t a;
    runnel_str_t fv[4];
    runnel_id_t id;
    int rc[8];
    runnel_entry_t none;

    open_store(4096, 32, RUNNEL_FULL_REFUSE);
    pattern(big, 9000, 5);
    memset(&a, 0, sizeof a);
    a.key = fx_s("v");
    fv[0] = fx_s("f");
    fv[1].p = big;
    fv[1].len = 9000;
    fv[2] = fx_s("g");
    fv[3] = fx_s("hi");
    a.fv = fv;
    a.nfields = 2;
    CHECK_EQ_INT(runnel_xadd(F.r, &a, &id), 1);
    memset(rc, 0x55, sizeof rc);
    CHECK_EQ_INT(runnel_xrange(F.r, fx_s("v"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                               keep_entry, rc), 1);
    CHECK_EQ_INT(rc[0], RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(rc[1], RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(rc[2], 0);
    CHECK_EQ_INT(rc[3], 0);
    CHECK_EQ_INT(rc[4], 0);     /* "g" lies after the value: not in the head */
    CHECK_EQ_INT(rc[5], 0);
    CHECK_EQ_INT(rc[6], 1);
    CHECK_EQ_INT(rc[7], RUNNEL_ERR_INVAL);
    memset(&none, 0, sizeof none);
    CHECK_EQ_INT(runnel_entry_value_read(NULL, 0, 0, NULL, 0), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(runnel_entry_value_read(&none, 0, 0, NULL, 0), RUNNEL_ERR_INVAL);
}

static void test_limits(void)
{
    runnel_id_t id;
    uint64_t span_max;
    size_t n;

    /* max_entry_bytes counts field and value bytes */
    fx_setup(&F, 1, 4096, 32);
    F.cfg.max_entry_bytes = 5000;
    CHECK_EQ_INT(fx_open(&F), 0);
    CHECK_EQ_INT(add_value("m", 4999, 1, &id), 1);    /* + "f" = 5000 */
    CHECK_EQ_INT(add_value("m", 5000, 1, &id), RUNNEL_ERR_ENTRY_TOO_LARGE);
    CHECK_EQ_INT(add_value("n", 5000, 1, &id), RUNNEL_ERR_ENTRY_TOO_LARGE);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("n")), 0);
    CHECK_EQ_U64(fx_len(&F, "m"), 1);

    /* the ring: three blocks and the reserves stay out of reach */
    open_store(4096, 32, RUNNEL_FULL_DROP_OLDEST);
    span_max = runnel__log_span_max(&F.r->log);
    CHECK(span_max > 20u * 4096u && span_max < 32u * 4096u);
    n = value_for(F.now, span_max);
    CHECK_EQ_INT(add_value("r", n + 1u, 2, &id), RUNNEL_ERR_ENTRY_TOO_LARGE);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("r")), 0);
    CHECK_EQ_INT(add_value("r", n, 2, &id), 1);
    {
        reader_t rd;
        memset(&rd, 0, sizeof rd);
        rd.want_len = n;
        rd.seed = 2;
        rd.chunk = 3000;
        CHECK_EQ_INT(runnel_xrange(F.r, fx_s("r"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                                   check_entry, &rd), 1);
        CHECK_EQ_U64(rd.ok, 1);
    }
    CHECK_EQ_INT(runnel_mount(&F.r, &F.cfg), 0);
    CHECK_EQ_U64(fx_len(&F, "r"), 1);
    /* and again: the ring gives back the blocks of the first one */
    F.now++;
    CHECK_EQ_INT(add_value("r", n, 3, &id), 1);
    CHECK_EQ_U64(fx_len(&F, "r"), 1);
    CHECK_EQ_INT(runnel_mount(&F.r, &F.cfg), 0);
    CHECK_EQ_U64(fx_len(&F, "r"), 1);
}

/* A span whose last piece never reached flash: mount leaves it out (and
 * the stream its XADD created), and the writes after it do not bring it
 * back. */
static void test_cut_short(void)
{
    runnel_id_t id;
    runnel_pos_t end;
    uint64_t last_blk;

    open_store(4096, 32, RUNNEL_FULL_REFUSE);
    CHECK_EQ_INT(fx_add(&F, "a", RUNNEL_XADD_AUTO, 0, 0, "f", "v", &id), 1);
    F.now++;
    CHECK_EQ_INT(add_value("a", 3u * 4096u, 7, &id), 1);
    CHECK_EQ_INT(add_value("new", 3u * 4096u, 8, &id), 1);
    end = F.r->log.head;
    last_blk = (end - 1u) / 4096u;
    CHECK_EQ_U64(fx_len(&F, "a"), 2);
    /* the power went before the last piece's page was programmed */
    memset(fx_storage + (last_blk % 32u) * 4096u, 0xFF, 4096u);
    CHECK_EQ_INT(runnel_mount(&F.r, &F.cfg), 0);
    CHECK_EQ_U64(fx_len(&F, "a"), 2);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("new")), 0);
    /* later writes, another mount: still not there */
    F.now++;
    CHECK_EQ_INT(fx_add(&F, "a", RUNNEL_XADD_AUTO, 0, 0, "f", "w", &id), 1);
    CHECK_EQ_INT(add_value("b", 5000, 9, &id), 1);
    CHECK_EQ_INT(runnel_mount(&F.r, &F.cfg), 0);
    CHECK_EQ_U64(fx_len(&F, "a"), 3);
    CHECK_EQ_INT(runnel_exists(F.r, fx_s("new")), 0);
    CHECK_EQ_U64(fx_len(&F, "b"), 1);
    {
        reader_t rd;
        memset(&rd, 0, sizeof rd);
        rd.want_len = 5000;
        rd.seed = 9;
        rd.chunk = 100;
        CHECK_EQ_INT(runnel_xrange(F.r, fx_s("b"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                                   check_entry, &rd), 1);
        CHECK_EQ_U64(rd.ok, 1);
    }
}

static uint64_t turn_base;
static unsigned turn_ok, turn_bad;

static size_t turn_size(uint32_t i)
{
    return i % 3u == 0 ? 2048u * (1u + i % 4u) + i : 10u + i;
}

/* Entry i of turn_ring (its ID's ms says which) must read back whole. */
static int check_turned(void *ctx, const runnel_entry_t *e)
{
    uint32_t i = (uint32_t)(e->id.ms - turn_base);
    size_t n = turn_size(i), off = 0;

    (void)ctx;
    if (e->nfields != 1 || e->fv[1].len != n) {
        turn_bad++;
        return 0;
    }
    while (off < n) {
        size_t take = n - off < 777u ? n - off : 777u;
        if (runnel_entry_value_read(e, 1, off, got + off, take) != 0) {
            turn_bad++;
            return 0;
        }
        off += take;
    }
    pattern(big, n, i);
    if (memcmp(big, got, n) == 0)
        turn_ok++;
    else
        turn_bad++;
    return 0;
}

static void check_turn(const char *key)
{
    int rc = runnel_xrange(F.r, fx_s(key), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false,
                           check_turned, NULL);
    CHECK(rc >= 0);
}

/* Rings turned by spanning entries among small ones: every entry that is
 * there reads back whole, before and after mount. */
static void turn_ring(runnel_full_policy_t policy)
{
    uint32_t i, kept = 0, refused = 0;
    runnel_id_t id;

    open_store(2048, 48, policy);
    turn_base = F.now;
    turn_ok = turn_bad = 0;
    for (i = 0; i < 200; i++) {
        const char *key = i % 5u == 0 ? "long" : "short";
        int rc;

        F.now = turn_base + i;
        rc = add_value(key, turn_size(i), i, &id);

        if (rc == 1)
            kept++;
        else
            refused++;
        if (strcmp(key, "short") == 0) {
            runnel_trim_t t;
            uint64_t del;
            memset(&t, 0, sizeof t);
            t.strategy = RUNNEL_TRIM_MAXLEN;
            t.maxlen = 3;
            (void)runnel_xtrim(F.r, fx_s("short"), &t, &del);
        }
    }
    CHECK(kept > 150u);
    check_turn("long");
    check_turn("short");
    {
        uint64_t before = fx_len(&F, "long") + 1000u * fx_len(&F, "short");
        unsigned ok = turn_ok;
        CHECK_EQ_INT(runnel_mount(&F.r, &F.cfg), 0);
        CHECK_EQ_U64(fx_len(&F, "long") + 1000u * fx_len(&F, "short"), before);
        check_turn("long");
        check_turn("short");
        CHECK_EQ_U64(turn_ok, 2u * ok);
        CHECK_EQ_U64(ok, before / 1000u + before % 1000u);
    }
    CHECK_EQ_U64(turn_bad, 0);
    printf("    %s: %u XADDs kept, %u refused, %u in \"long\"\n",
           policy == RUNNEL_FULL_RELOCATE ? "relocate" : "drop-oldest", (unsigned)kept,
           (unsigned)refused, (unsigned)fx_len(&F, "long"));
}

static void test_policies(void)
{
    turn_ring(RUNNEL_FULL_DROP_OLDEST);
    turn_ring(RUNNEL_FULL_RELOCATE);
}

TEST_MAIN(
    RUN(test_boundaries);
    RUN(test_block_sized_links);
    RUN(test_head_place);
    RUN(test_value_read);
    RUN(test_limits);
    RUN(test_cut_short);
    RUN(test_policies);
)
