/*
 * test_read_bound.c - reads of one stream among many interleaved ones cost
 * what they return, not the log between the stream's records.
 *
 * The gateway shape: 100 streams written round-robin, so every stream's
 * entries are spread over the whole ring among the other 99's. For every
 * read command shape (XRANGE and XREVRANGE from an ID in the middle,
 * XREAD, XREADGROUP with '>' and from history, XCLAIM), on the first touch
 * of each stream, the flash bytes read (counted by port/ram, read unit 1)
 * must stay within
 *
 *     2 bytes per payload byte returned + one bounded seek (SEEK_BYTES)
 *     for each node the read returns entries from
 *
 * and the read calls within a few per entry plus the seek. With format 1
 * the same reads cost about 14,000 bytes per payload byte. Also: XADD to
 * the interleaved streams reads no flash at all in the steady state.
 * Three geometries (NOR 1 B / 4 KiB, ECC-flash 16 B / 2 KiB, 256 B pages
 * in 64 KiB blocks) and nodes of 32 entries, so reads cross nodes.
 */
#include "stream_fixture.h"

#define STREAMS 100u
#define PER_STREAM 60u
#define COUNT 10
/* The seek: a descent over the links of one node (about 2 log2(32) record
 * prefixes of 6-20 bytes), the master for ENTRY_SAME_FIELDS names (one
 * record of about 40 bytes) and the record ahead of the range. */
#define SEEK_BYTES 400u
#define SEEK_CALLS 24u

static fx_t F;
static char value[32];
static uint32_t node_entries;

typedef struct tally {
    uint64_t entries, payload;
    runnel_id_t ids[COUNT];
    size_t n;
} tally_t;

static int tally_fn(void *ctx, const runnel_entry_t *e)
{
    tally_t *t = ctx;
    uint32_t i;

    t->entries++;
    for (i = 0; i < 2u * e->nfields; i++)
        t->payload += e->fv[i].len;
    if (t->n < COUNT)
        t->ids[t->n++] = e->id;
    return 0;
}

static runnel_str_t key_of(char *buf, uint32_t i)
{
    runnel_str_t k;

    k.len = (size_t)snprintf(buf, 16, "dev%03u", (unsigned)i);
    k.p = buf;
    return k;
}

/* ID of entry j of stream s: the clock advances 1 ms per XADD. */
static runnel_id_t id_of(uint32_t s, uint32_t j)
{
    return fx_id(1000u + 1u + (uint64_t)j * STREAMS + s, 0);
}

static int add_round(uint32_t j)
{
    uint32_t s;
    char kb[16];

    for (s = 0; s < STREAMS; s++) {
        runnel_xadd_args_t a;
        runnel_str_t fv[2];
        runnel_id_t id;
        int rc;

        memset(&a, 0, sizeof(a));
        fv[0] = fx_s("temp_c");
        memset(value, 'a' + (int)((s + j) % 26u), 26);
        fv[1].p = value;
        fv[1].len = 26;
        a.key = key_of(kb, s);
        a.id_mode = RUNNEL_XADD_AUTO;
        a.fv = fv;
        a.nfields = 1;
        F.now++;
        rc = runnel_xadd(F.r, &a, &id);
        if (rc != 1)
            return rc;
        if (runnel_id_cmp(id, id_of(s, j)) != 0)
            return -1000;
    }
    return 1;
}

/* Nodes a read returned entries from (node_max_entries is NODE_ENTRIES,
 * and the entries' indexes follow from their IDs). */
static uint32_t nodes_entered(uint32_t s, const tally_t *t)
{
    uint32_t k, n = 0, last = UINT32_MAX;

    for (k = 0; k < t->n; k++) {
        uint32_t j = (uint32_t)((t->ids[k].ms - 1001u - s) / STREAMS) / node_entries;
        if (j != last)
            n++;
        last = j;
    }
    return n;
}

/* Checks one read: bytes and calls against the bound (one seek for each
 * node the read enters: each has its own links and master), and the
 * entries. */
static void check_bound(const char *what, uint32_t s, const tally_t *t, uint64_t bytes,
                        uint64_t calls, uint64_t *worst_x100)
{
    uint32_t nodes = nodes_entered(s, t);
    uint64_t limit = 2u * t->payload + SEEK_BYTES * nodes;

    CHECK(t->entries > 0);
    if (bytes > limit || calls > 3u * t->entries + SEEK_CALLS * nodes)
        printf("    %s stream %u: %lu bytes, %lu calls for %lu entries / %lu payload bytes\n",
               what, (unsigned)s, (unsigned long)bytes, (unsigned long)calls,
               (unsigned long)t->entries, (unsigned long)t->payload);
    CHECK(bytes <= limit);
    CHECK(calls <= 3u * t->entries + SEEK_CALLS * nodes);
    if (t->payload != 0 && bytes * 100u / t->payload > *worst_x100)
        *worst_x100 = bytes * 100u / t->payload;
}

#define MEASURE(what, s, call)                                                         \
    do {                                                                               \
        uint64_t mb0_ = F.rb.bytes_read, mc0_ = F.rb.read_calls;                         \
        int rc_;                                                                       \
        memset(&t, 0, sizeof(t));                                                      \
        rc_ = (call);                                                                  \
        CHECK(rc_ >= 0);                                                               \
        check_bound(what, s, &t, F.rb.bytes_read - mb0_, F.rb.read_calls - mc0_, &worst);\
    } while (0)

static void run_geometry(uint32_t prog, uint32_t block, uint32_t count)
{
    uint32_t s, j;
    uint64_t worst = 0, b0;
    runnel_id_t last0 = id_of(0, PER_STREAM - 1u);
    char kb[16];
    tally_t t;

    fx_setup(&F, prog, block, count);
    F.cfg.max_streams = STREAMS;
    F.cfg.max_nodes = STREAMS * (PER_STREAM / 32u + 2u);
    F.cfg.max_groups = STREAMS;
    F.cfg.max_consumers = STREAMS;
    F.cfg.max_pending = STREAMS * COUNT * 2u;
    F.cfg.node_max_entries = node_entries = 32;
    F.cfg.commit_policy = RUNNEL_COMMIT_NONE;
    CHECK_EQ_INT(fx_open(&F), 0);
    for (j = 0; j < PER_STREAM - 1u; j++)
        CHECK_EQ_INT(add_round(j), 1);
    /* steady state: a whole round of XADDs reads nothing */
    b0 = F.rb.bytes_read;
    CHECK_EQ_INT(add_round(PER_STREAM - 1u), 1);
    CHECK_EQ_U64(F.rb.bytes_read - b0, 0);

    for (s = 0; s < STREAMS; s++) {
        runnel_id_t mid = id_of(s, PER_STREAM / 2u + s % 7u);

        switch (s % 5u) {
        case 0:
            MEASURE("XRANGE <mid> + COUNT 10", s,
                    runnel_xrange(F.r, key_of(kb, s), mid, RUNNEL_ID_MAX, COUNT, false,
                                  tally_fn, &t));
            CHECK_EQ_U64(t.entries, COUNT);
            CHECK_ID(t.ids[0], mid.ms, 0);
            break;
        case 1:
            MEASURE("XREVRANGE <mid> - COUNT 10", s,
                    runnel_xrange(F.r, key_of(kb, s), RUNNEL_ID_MIN, mid, COUNT, true,
                                  tally_fn, &t));
            CHECK_EQ_U64(t.entries, COUNT);
            CHECK_ID(t.ids[0], mid.ms, 0);
            break;
        case 2:
            MEASURE("XREAD COUNT 10 <mid>", s,
                    runnel_xread(F.r, key_of(kb, s), mid, COUNT, tally_fn, &t));
            CHECK_EQ_U64(t.entries, COUNT);
            CHECK_ID(t.ids[0], mid.ms + STREAMS, 0);
            break;
        case 3: {
            runnel_xreadgroup_args_t a;

            CHECK_EQ_INT(runnel_xgroup_create(F.r, key_of(kb, s), fx_s("g"), mid, false,
                                              false, -1), 0);
            memset(&a, 0, sizeof(a));
            a.key = key_of(kb, s);
            a.group = fx_s("g");
            a.consumer = fx_s("c");
            a.new_entries = true;
            a.count = COUNT;
            MEASURE("XREADGROUP COUNT 10 >", s, runnel_xreadgroup(F.r, &a, tally_fn, &t));
            CHECK_EQ_U64(t.entries, COUNT);
            /* history: the same entries again, from the PEL */
            a.new_entries = false;
            a.after = RUNNEL_ID_MIN;
            MEASURE("XREADGROUP COUNT 10 0", s, runnel_xreadgroup(F.r, &a, tally_fn, &t));
            CHECK_EQ_U64(t.entries, COUNT);
            break;
        }
        default: {
            runnel_xreadgroup_args_t a;
            runnel_xclaim_args_t c;
            runnel_id_t ids[COUNT];
            tally_t got;
            uint32_t i;

            /* deliver the first 10 entries of the stream, then touch
             * another stream, then XCLAIM them: the reply reads them */
            CHECK_EQ_INT(runnel_xgroup_create(F.r, key_of(kb, s), fx_s("g"), RUNNEL_ID_MIN,
                                              false, false, -1), 0);
            memset(&a, 0, sizeof(a));
            a.key = key_of(kb, s);
            a.group = fx_s("g");
            a.consumer = fx_s("c");
            a.new_entries = true;
            a.count = COUNT;
            memset(&got, 0, sizeof(got));
            CHECK_EQ_INT(runnel_xreadgroup(F.r, &a, tally_fn, &got), COUNT);
            for (i = 0; i < COUNT; i++)
                ids[i] = got.ids[i];
            CHECK_EQ_INT(fx_range(&F, "dev000", last0, last0, 1, false), 1);
            memset(&c, 0, sizeof(c));
            c.key = key_of(kb, s);
            c.group = fx_s("g");
            c.consumer = fx_s("d");
            c.ids = ids;
            c.nids = COUNT;
            MEASURE("XCLAIM 10 IDs", s, runnel_xclaim(F.r, &c, tally_fn, &t));
            CHECK_EQ_U64(t.entries, COUNT);
            break;
        }
        }
    }
    printf("    prog %u, block %u: %u streams interleaved, worst read %lu.%02lu B per payload B "
           "(bound 2 + %u B seek per node entered)\n",
           (unsigned)prog, (unsigned)block, (unsigned)STREAMS, (unsigned long)(worst / 100u),
           (unsigned long)(worst % 100u), (unsigned)SEEK_BYTES);
    CHECK_EQ_U64(F.rb.prog_violations, 0);
}

static void test_read_bound_nor(void)
{
    run_geometry(1, 4096, 128);
}

static void test_read_bound_ecc(void)
{
    run_geometry(16, 2048, 256);
}

static void test_read_bound_pages(void)
{
    run_geometry(256, 65536, 8);
}

/* A long node (node_entries_cap entries) read from every offset: the seek
 * stays logarithmic, and every entry is found and correct. */
static void test_seek_every_offset(void)
{
    uint32_t s, j;
    char kb[16];
    tally_t t;
    uint64_t worst = 0;

    fx_setup(&F, 1, 4096, 128);
    F.cfg.max_streams = STREAMS;
    F.cfg.node_max_entries = node_entries = 100;
    F.cfg.commit_policy = RUNNEL_COMMIT_NONE;
    CHECK_EQ_INT(fx_open(&F), 0);
    for (j = 0; j < PER_STREAM; j++)
        CHECK_EQ_INT(add_round(j), 1);
    s = 42;
    for (j = 0; j < PER_STREAM; j++) {
        MEASURE("XRANGE <j> + COUNT 1", s,
                runnel_xrange(F.r, key_of(kb, s), id_of(s, j), RUNNEL_ID_MAX, 1, false,
                              tally_fn, &t));
        CHECK_EQ_U64(t.entries, 1);
        CHECK_ID(t.ids[0], id_of(s, j).ms, 0);
        MEASURE("XREVRANGE <j> - COUNT 1", s,
                runnel_xrange(F.r, key_of(kb, s), RUNNEL_ID_MIN, id_of(s, j), 1, true,
                              tally_fn, &t));
        CHECK_EQ_U64(t.entries, 1);
        CHECK_ID(t.ids[0], id_of(s, j).ms, 0);
    }
    printf("    one entry from every offset of a %u-entry node: worst %lu.%02lu B per payload B\n",
           (unsigned)PER_STREAM, (unsigned long)(worst / 100u), (unsigned long)(worst % 100u));
}

TEST_MAIN(
    RUN(test_read_bound_nor);
    RUN(test_read_bound_ecc);
    RUN(test_read_bound_pages);
    RUN(test_seek_every_offset);
)
