/*
 * bench_mount.c - what a durable store costs to open again, and what
 * durability costs while writing.
 *
 *   cmake --build build --target bench_mount && build/bench_mount [--quick]
 *
 * For each shape (store size x streams) a RAM device formatted as NOR
 * flash (4 KiB blocks, program unit 1 B) is filled with 32-byte entries
 * until the ring has turned once (DROP_OLDEST), with one consumer group on
 * the first stream holding 1,000 pending entries read near the end. Then:
 *   write    bytes programmed per payload byte and erases per MiB of
 *            payload, checkpoints included (durable store, the default
 *            checkpoint_blocks and 8: fewer blocks to replay at mount,
 *            more checkpoints written);
 *   mount    runnel_mount into a fresh arena: every device read it made
 *            (block headers, the walk back to the newest checkpoint, the
 *            checkpoint and the records after it), wall time;
 *   1st XADD the reads the first XADD after the mount makes.
 * BENCH_MOUNT_PHASES=1 adds, on stderr, the mount's reads per step (the
 * log's search, finding the checkpoint, loading it, replaying the records
 * after it) and what the newest checkpoint holds by record type.
 * What one mount reads depends on where the newest checkpoint fell when
 * the fill stopped, so BENCH_MOUNT_SAMPLES=n also mounts a second
 * instance (its own arena, read-only) at n points spread over the last
 * tenth of the fill and prints, on stderr, the mean and the largest (and
 * the largest one's reads per step).
 * BENCH_MOUNT_CONSUME=1 adds a group on every stream whose consumer takes
 * its new entries every 100 per stream and acknowledges them (a forwarder
 * that keeps up): what a group's records cost to write and to replay.
 * `--shape MIB STREAMS [CHECKPOINT_BLOCKS]` runs one shape.
 * `--intervals` runs the 4 MiB one-stream shape with checkpoint_blocks
 * 8 .. 256 (with BENCH_MOUNT_SAMPLES): what mount costs against what the
 * checkpoints cost to write. `--catch-up` measures what a reader going
 * through old entries costs the writes (catch_up below).
 * Anchors from the issue: FlashDB reads 66 KB to open 4 MiB and grows with
 * the sectors; littlefs 7.5-14 KB, then 19-106 KB on its first write.
 * Benchmarks are not tests: nothing here fails on a number.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_store.h"
#include "store.h"      /* the log's read counters for the first XADD */

/* bench_tune_fn: a full ring of 32 B entries in nodes of the default
 * size, one group with room for 1,000 pending; ctx = checkpoint_blocks. */
static void tune(runnel_config_t *c, uint32_t blocks, const void *ctx)
{
    c->max_streams = 32;
    c->max_nodes = blocks * 4u + 1024u;
    c->max_groups = 40;
    c->max_consumers = 48;
    c->max_pending = 2048;
    c->full_policy = RUNNEL_FULL_DROP_OLDEST;
    c->checkpoint_blocks = *(const uint32_t *)ctx;
}

static int count_cb(void *ctx, const runnel_entry_t *e)
{
    (void)e;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* BENCH_MOUNT_CONSUME: a group "w" on every stream takes its new entries
 * every 100 per stream and acknowledges them, as a forwarding consumer
 * that keeps up does. */
typedef struct consumed {
    runnel_id_t ids[128];
    size_t n;
} consumed_t;

static int collect_cb(void *ctx, const runnel_entry_t *e)
{
    consumed_t *c = ctx;
    if (c->n < sizeof c->ids / sizeof c->ids[0])
        c->ids[c->n++] = e->id;
    return 0;
}

static void consume_all(runnel_t *r, uint32_t streams)
{
    char key[16];
    for (uint32_t s = 0; s < streams; s++) {
        runnel_xreadgroup_args_t ra;
        consumed_t got;
        uint64_t acked;
        int rc;
        snprintf(key, sizeof key, "s%u", (unsigned)s);
        memset(&ra, 0, sizeof ra);
        ra.key = str(key);
        ra.group = str("w");
        ra.consumer = str("fwd");
        ra.new_entries = true;
        ra.count = 128;
        got.n = 0;
        if ((rc = runnel_xreadgroup(r, &ra, collect_cb, &got)) < 0)
            die("consume xreadgroup", rc);
        if (got.n > 0 && (rc = runnel_xack(r, str(key), str("w"), got.ids, got.n, &acked)) < 0)
            die("consume xack", rc);
    }
}

/* Record bytes of the newest checkpoint by type (BENCH_MOUNT_PHASES). */
static void checkpoint_types(runnel_t *r)
{
    uint64_t bytes[256] = { 0 }, count[256] = { 0 };
    runnel__rec_t rec;
    runnel_pos_t p = r->ckpt_pos;
    int t;

    while (p != RUNNEL__NO_POS && runnel__log_next(&r->log, p, &rec) == 1) {
        bytes[rec.type] += rec.next - rec.pos;
        count[rec.type]++;
        p = rec.type == RUNNEL_REC_CKPT_END ? RUNNEL__NO_POS : rec.next;
    }
    fprintf(stderr, "checkpoint (%u nodes, %u pending):", (unsigned)r->nodes_used,
            (unsigned)r->groups.pel_used);
    for (t = 0; t < 256; t++)
        if (count[t] > 0)
            fprintf(stderr, " 0x%02X %lu x %lu B", (unsigned)t, (unsigned long)count[t],
                    (unsigned long)bytes[t]);
    fprintf(stderr, "\n");
}

/* Mount samples (BENCH_MOUNT_SAMPLES): a second instance mounts the
 * committed store into its own arena; mount only reads. */
typedef struct mount_samples {
    uint32_t every;             /* blocks erased between samples, 0: off */
    uint64_t next;              /* blocks_erased of the next sample */
    uint32_t n;
    double kib_sum, kib_max, replay_sum, replay_max, stubs_sum;
    double max_phases[4];       /* KiB by mount phase of the largest sample */
    void *arena;
} mount_samples_t;

static void sample_mount(bench_store_t *b, mount_samples_t *ms)
{
    runnel_config_t c = b->c;
    runnel_t *m = NULL;
    double kib, replay;
    int rc;

    if ((rc = runnel_commit(b->r)) < 0)
        die("commit", rc);
    c.arena = ms->arena;
    memset(ms->arena, 0, b->arena_size);
    if ((rc = runnel_mount(&m, &c)) < 0)
        die("sample mount", rc);
    kib = (double)m->log.bytes_read / 1024.0;
    replay = m->mount_phase_bytes[3] / 1024.0;
    ms->n++;
    ms->kib_sum += kib;
    ms->replay_sum += replay;
    ms->stubs_sum += (double)m->stats.stub_loads;
    if (kib > ms->kib_max) {
        ms->kib_max = kib;
        for (int k = 0; k < 4; k++)
            ms->max_phases[k] = (double)m->mount_phase_bytes[k] / 1024.0;
    }
    if (replay > ms->replay_max)
        ms->replay_max = replay;
}

static void shape(uint32_t mib, uint32_t streams, uint32_t ckpt_blocks)
{
    mount_samples_t ms;
    const char *samples = getenv("BENCH_MOUNT_SAMPLES");
    bool consume = getenv("BENCH_MOUNT_CONSUME") != NULL;
    char ckpt_col[16];
    bench_store_t b;
    runnel_t *r;
    runnel_stats_t st;
    char val[31], key[16];
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_id_t id;
    uint64_t payload = 0, n = 0, reads0, bytes0, pending = 0;
    uint32_t blocks;
    double t0, mount_s;
    int rc;

    bench_open(&b, mib, NULL, tune, &ckpt_blocks);
    r = b.r;
    blocks = b.blocks;
    memset(&ms, 0, sizeof ms);
    if (samples != NULL && atoi(samples) > 0) {
        ms.every = blocks / 10u / (uint32_t)atoi(samples);
        if (ms.every == 0)
            ms.every = 1;
        ms.next = blocks;
        ms.arena = malloc(b.arena_size);
        if (ms.arena == NULL)
            die("malloc", RUNNEL_ERR_NOMEM);
    }
    (void)runnel_xgroup_create(r, str("s0"), str("g"), RUNNEL_ID_MIN, false, true, -1);
    if (consume)
        for (uint32_t s = 0; s < streams; s++) {
            snprintf(key, sizeof key, "s%u", (unsigned)s);
            (void)runnel_xgroup_create(r, str(key), str("w"), RUNNEL_ID_MIN, false, true, -1);
        }
    bench_entry(&a, fv, val);
    for (;;) {
        runnel_stats(r, &st);
        if (st.blocks_erased > blocks + blocks / 10u)
            break;              /* the ring has turned once, and some */
        if (ms.every != 0 && st.blocks_erased >= ms.next) {
            sample_mount(&b, &ms);
            ms.next = st.blocks_erased + ms.every;
        }
        snprintf(key, sizeof key, "s%u", (unsigned)(n % streams));
        a.key = str(key);
        if (n % 64u == 0)
            clock_ms++;
        if ((rc = runnel_xadd(r, &a, &id)) < 0)
            die("xadd", rc);
        payload += 32u;
        n++;
        if (consume && n % (100u * streams) == 0)
            consume_all(r, streams);
        /* 1,000 pending, read from the newest entries of s0 near the end */
        if (pending == 0 && st.blocks_erased >= blocks + blocks / 20u) {
            runnel_xreadgroup_args_t ra;
            memset(&ra, 0, sizeof ra);
            ra.key = str("s0");
            ra.group = str("g");
            ra.consumer = str("c");
            ra.new_entries = true;
            ra.count = 1000;
            (void)runnel_xgroup_setid(r, str("s0"), str("g"), id, false, -1);
            for (uint32_t k = 0; k < 1000u * streams + 16u; k++) {
                a.key = str(k % streams == 0 ? "s0" : "s1");
                (void)runnel_xadd(r, &a, &id);
                payload += 32u;
                n++;
            }
            rc = runnel_xreadgroup(r, &ra, count_cb, &pending);
            if (rc < 0)
                die("xreadgroup", rc);
        }
    }
    if ((rc = runnel_commit(r)) < 0)
        die("commit", rc);
    runnel_stats(r, &st);
    if (ckpt_blocks == 0)
        snprintf(ckpt_col, sizeof ckpt_col, "default");
    else
        snprintf(ckpt_col, sizeof ckpt_col, "%u", (unsigned)ckpt_blocks);
    printf("| %3u MiB | %2u | %s | %9.2f M | %5.3f | %6.1f | ",
           (unsigned)mib, (unsigned)streams, ckpt_col, (double)n / 1e6,
           (double)st.bytes_programmed / (double)payload,
           (double)st.blocks_erased / ((double)payload / 1048576.0));

    /* mount into a fresh arena */
    memset(b.arena, 0, b.arena_size);
    t0 = wall();
    if ((rc = runnel_mount(&r, &b.c)) < 0)
        die("mount", rc);
    mount_s = wall() - t0;
    runnel_stats(r, &st);
    /* everything the mount read: the log's search (runnel_stats_t's
     * mount_* fields), the walk back to the checkpoint, its replay */
    printf("%7lu | %10.1f | %7.1f | ", (unsigned long)r->log.read_calls,
           (double)r->log.bytes_read / 1024.0, mount_s * 1000.0);
    if (getenv("BENCH_MOUNT_PHASES") != NULL) {
        fprintf(stderr, "phases (calls/KiB): log %lu/%.1f find %lu/%.1f load %lu/%.1f "
                "replay %lu/%.1f (%lu records, %lu blocks by summary)\n",
                (unsigned long)r->mount_phase_calls[0], r->mount_phase_bytes[0] / 1024.0,
                (unsigned long)r->mount_phase_calls[1], r->mount_phase_bytes[1] / 1024.0,
                (unsigned long)r->mount_phase_calls[2], r->mount_phase_bytes[2] / 1024.0,
                (unsigned long)r->mount_phase_calls[3], r->mount_phase_bytes[3] / 1024.0,
                (unsigned long)r->mount_records, (unsigned long)r->mount_summaries);
        checkpoint_types(r);
    }
    reads0 = r->log.read_calls;
    bytes0 = r->log.bytes_read;
    a.key = str("s0");
    if ((rc = runnel_xadd(r, &a, &id)) < 0)
        die("xadd after mount", rc);
    printf("%5lu | %7.1f | %4lu |\n", (unsigned long)(r->log.read_calls - reads0),
           (double)(r->log.bytes_read - bytes0) / 1024.0, (unsigned long)st.pending_used);
    if (ms.n > 0) {
        fprintf(stderr, "samples (%u MiB, %u streams, checkpoint_blocks %s): %u mounts, "
                "KiB mean %.1f max %.1f, of it replay mean %.1f max %.1f; node runs loaded "
                "mean %.1f\n",
                (unsigned)mib, (unsigned)streams, ckpt_col, (unsigned)ms.n,
                ms.kib_sum / ms.n, ms.kib_max, ms.replay_sum / ms.n, ms.replay_max,
                ms.stubs_sum / ms.n);
        fprintf(stderr, "largest sample by phase (KiB): log %.1f find %.1f load %.1f replay %.1f\n",
                ms.max_phases[0], ms.max_phases[1], ms.max_phases[2], ms.max_phases[3]);
        free(ms.arena);
    }
    bench_close(&b);
}

/* runnel_xrange callback of the catch-up reader: the last ID read. */
static int last_cb(void *ctx, const runnel_entry_t *e)
{
    *(runnel_id_t *)ctx = e->id;
    return 0;
}

/*
 * `--catch-up`: what readers of old entries cost the writes. The 16-stream
 * store is filled until the ring turned; then a quarter ring more of XADDs
 * with one of three readers:
 *   none     to compare with;
 *   catch-up a forwarder after its link came back: it goes through s0
 *            from its oldest entry, 4 entries for each one written to s0,
 *            until it has caught up;
 *   scan     all of s0 read (XRANGE - +) every 64 blocks written, about
 *            once between two checkpoints.
 * The runs their reads load are what the checkpoints would otherwise
 * write again.
 */
enum reader_kind { READER_NONE, READER_CATCH_UP, READER_SCAN };

static void catch_up(uint32_t mib, uint32_t streams, enum reader_kind reader)
{
    static const char *const names[] = { "none", "catch-up, 4 x s0's rate",
                                         "scan of s0 every 64 blocks" };
    uint64_t next_scan = 0;
    uint32_t ckpt = 0;
    bench_store_t b;
    runnel_stats_t st, st0;
    runnel_xadd_args_t a;
    runnel_str_t fv[2];
    runnel_id_t id, cursor = RUNNEL_ID_MIN;
    char val[31], key[16];
    uint64_t n = 0, payload = 0, read = 0, end = 0;
    bool started = false;
    int rc;

    bench_open(&b, mib, NULL, tune, &ckpt);
    bench_entry(&a, fv, val);
    for (;;) {
        runnel_stats(b.r, &st);
        if (!started && st.blocks_erased > b.blocks) {
            started = true;
            st0 = st;
            payload = 0;
            end = st.blocks_erased + b.blocks / 4u;
        }
        if (started && st.blocks_erased >= end)
            break;
        snprintf(key, sizeof key, "s%u", (unsigned)(n % streams));
        a.key = str(key);
        if (n % 64u == 0)
            clock_ms++;
        if ((rc = runnel_xadd(b.r, &a, &id)) < 0)
            die("xadd", rc);
        payload += 32u;
        if (started && reader == READER_SCAN && st.blocks_erased >= next_scan) {
            next_scan = st.blocks_erased + 64u;
            rc = runnel_xrange(b.r, str("s0"), RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, NULL,
                               NULL);
            if (rc < 0)
                die("xrange", rc);
            read += (uint64_t)rc;
        }
        if (started && reader == READER_CATCH_UP && n % streams == 0) {
            runnel_id_t from = cursor, last = cursor;

            if (from.seq == UINT64_MAX) {
                from.ms++;
                from.seq = 0;
            } else if (runnel_id_cmp(from, RUNNEL_ID_MIN) != 0) {
                from.seq++;
            }
            rc = runnel_xrange(b.r, str("s0"), from, RUNNEL_ID_MAX, 4, false, last_cb, &last);
            if (rc < 0)
                die("xrange", rc);
            read += (uint64_t)rc;
            cursor = last;
        }
        n++;
    }
    if ((rc = runnel_commit(b.r)) < 0)
        die("commit", rc);
    runnel_stats(b.r, &st);
    printf("| %3u MiB | %2u | %s | %5.3f | %6.1f | %8lu | %5lu | %5lu |\n", (unsigned)mib,
           (unsigned)streams, names[reader],
           (double)(st.bytes_programmed - st0.bytes_programmed) / (double)payload,
           (double)(st.blocks_erased - st0.blocks_erased) / ((double)payload / 1048576.0),
           (unsigned long)read, (unsigned long)(st.stub_loads - st0.stub_loads),
           (unsigned long)(st.stub_reuses - st0.stub_reuses));
    bench_close(&b);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int intervals = argc > 1 && strcmp(argv[1], "--intervals") == 0;

    if (argc > 1 && strcmp(argv[1], "--catch-up") == 0) {
        bench_name = "bench_mount";
        printf("bench_mount --catch-up: a quarter ring of XADDs after the ring turned, with and "
               "without readers of s0's old entries (NOR, 4 KiB blocks, 32 B entries)\n\n");
        printf("| store | streams | reader | programmed / payload B | erases / MiB | entries read "
               "| node runs loaded | named again |\n");
        printf("|---:|---:|---|---:|---:|---:|---:|---:|\n");
        for (int mib = 4; mib <= 64; mib *= 16)
            for (int k = READER_NONE; k <= READER_SCAN; k++)
                catch_up((uint32_t)mib, 16, (enum reader_kind)k);
        return 0;
    }

    bench_name = "bench_mount";

    printf("bench_mount: durable stores on NOR flash (4 KiB blocks, program unit 1 B), 32 B "
           "entries, filled until the ring turned, one group with 1,000 pending\n\n");
    printf("| store | streams | checkpoint_blocks | entries | programmed / payload B | erases / MiB | "
           "mount reads | mount KiB | mount ms | 1st XADD reads | 1st XADD KiB | pending |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    if (argc > 3 && strcmp(argv[1], "--shape") == 0) {
        /* one shape: --shape MIB STREAMS [CHECKPOINT_BLOCKS] */
        shape((uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]),
              argc > 4 ? (uint32_t)atoi(argv[4]) : 0u);
        return 0;
    }
    if (intervals) {
        static const uint32_t each[] = { 8, 16, 32, 64, 128, 256 };
        for (size_t k = 0; k < sizeof each / sizeof each[0]; k++)
            shape(4, 1, each[k]);
        return 0;
    }
    shape(4, 1, 0);
    shape(4, 16, 0);
    shape(4, 1, 8);
    if (!quick) {
        shape(64, 1, 0);
        shape(64, 16, 0);
        shape(64, 1, 8);
    }
    return 0;
}
