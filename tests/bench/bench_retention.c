/*
 * bench_retention.c - the three full-ring policies on the mixed-retention
 * workload: one stream kept long (XADD ... MAXLEN 100000), nine trimmed
 * short (MAXLEN ~ 1000), written round-robin with 32-byte entries.
 *
 *   cmake --build build --target bench_retention && build/bench_retention [--quick]
 *
 * A RAM device formatted as NOR flash (4 KiB blocks, program unit 1 B),
 * durable (checkpoints included), commit policy NONE. Each policy writes
 * until the payload is three times the store and the long stream has
 * been full for a while (120,000 of its entries written), or until the
 * ring refuses an XADD (REFUSE and RELOCATE then stop there). Reported
 * per policy:
 *   programmed / payload B   bytes handed to the device per payload byte
 *   erases / MiB             block erases per MiB of payload
 *   wear                     erases per block, min..max
 *   relocated                record bytes RELOCATE copied (per payload B)
 *   long stream              entries the long stream holds at the end and
 *                            how many it should hold (min(written, 100000))
 *   dropped / refused        entries DROP_OLDEST dropped from the long
 *                            stream; the XADD at which the ring refused
 * Stores of 4, 8 and 64 MiB: the long stream's 100,000 entries (about
 * 4 MiB of records) do not fit the first, fill half of the second, and in
 * the third are trimmed before the ring comes back to them (the ten
 * streams write 40 MiB while the long one turns over once). --quick runs
 * the 4 MiB store only. Benchmarks are not tests: nothing here fails on a
 * number.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_store.h"

#define STREAMS 10u
#define LONG_KEEP 100000u
#define SHORT_KEEP 1000u

/* bench_tune_fn: room for a full ring of 32 B nodes; ctx = the policy. */
static void tune(runnel_config_t *c, uint32_t blocks, const void *ctx)
{
    c->max_streams = 16;
    c->max_nodes = blocks * 4u + 4096u;
    c->max_groups = 4;
    c->max_consumers = 8;
    c->max_pending = 64;
    c->full_policy = *(const runnel_full_policy_t *)ctx;
}

static const char *policy_name(runnel_full_policy_t p)
{
    return p == RUNNEL_FULL_REFUSE ? "refuse" : p == RUNNEL_FULL_DROP_OLDEST ? "drop-oldest"
                                                                             : "relocate";
}

static void run(uint32_t mib, runnel_full_policy_t policy)
{
    uint32_t blocks = mib * 1024u * 1024u / BLOCK, k, wmin = UINT32_MAX, wmax = 0;
    uint32_t *erases = calloc(blocks, sizeof(uint32_t));
    bench_store_t b;
    runnel_t *r;
    runnel_stats_t st;
    runnel_stream_info_t si;
    char val[31];
    runnel_str_t fv[2];
    runnel_xadd_args_t a;
    runnel_id_t id;
    uint64_t payload = 0, n = 0, long_written = 0, refused_at = 0, target;
    double t0, secs;
    int rc;

    if (erases == NULL)
        die("malloc", RUNNEL_ERR_NOMEM);
    bench_open(&b, mib, erases, tune, &policy);
    r = b.r;
    bench_entry(&a, fv, val);
    a.trim.strategy = RUNNEL_TRIM_MAXLEN;
    a.trim.limit = -1;
    /* three times the store, and at least until the long stream is full */
    target = 3ull * mib * 1024u * 1024u;
    if (target < 32ull * STREAMS * (LONG_KEEP + LONG_KEEP / 5u))
        target = 32ull * STREAMS * (LONG_KEEP + LONG_KEEP / 5u);
    t0 = wall();
    while (payload < target) {
        static const char *const keys[STREAMS] = { "long", "s1", "s2", "s3", "s4",
                                                   "s5", "s6", "s7", "s8", "s9" };
        uint32_t s = (uint32_t)(n % STREAMS);

        a.key = str(keys[s]);
        a.trim.maxlen = s == 0 ? LONG_KEEP : SHORT_KEEP;
        a.trim.approx = s != 0;
        if (n % 64u == 0)
            clock_ms++;
        rc = runnel_xadd(r, &a, &id);
        if (rc == RUNNEL_ERR_NOSPC) {
            refused_at = n + 1u;
            break;
        }
        if (rc < 0)
            die("xadd", rc);
        payload += 32u;
        long_written += s == 0;
        n++;
    }
    secs = wall() - t0;
    if ((rc = runnel_commit(r)) < 0)
        die("commit", rc);
    runnel_stats(r, &st);
    for (k = 0; k < blocks; k++) {
        wmin = erases[k] < wmin ? erases[k] : wmin;
        wmax = erases[k] > wmax ? erases[k] : wmax;
    }
    if (runnel_stream_info(r, str("long"), &si) < 0)
        memset(&si, 0, sizeof si);
    printf("| %2u MiB | %-11s | %9.3f M | %5.3f | %6.1f | %u..%u | %5.3f | %7llu / %7llu | ",
           (unsigned)mib, policy_name(policy), (double)n / 1e6,
           (double)st.bytes_programmed / (double)payload,
           (double)st.blocks_erased / ((double)payload / 1048576.0), (unsigned)wmin,
           (unsigned)wmax, (double)st.relocated_bytes / (double)payload,
           (unsigned long long)si.length,
           (unsigned long long)(long_written < LONG_KEEP ? long_written : LONG_KEEP));
    if (policy == RUNNEL_FULL_DROP_OLDEST)
        printf("%llu dropped from the long stream | ", (unsigned long long)si.dropped);
    else if (refused_at != 0)
        printf("refused XADD %llu (%.1f MiB of payload) | ", (unsigned long long)refused_at,
               (double)payload / 1048576.0);
    else
        printf("never refused | ");
    printf("%.2f |\n", secs);
    bench_close(&b);
    free(erases);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;

    bench_name = "bench_retention";
    static const runnel_full_policy_t policies[3] = { RUNNEL_FULL_REFUSE,
                                                      RUNNEL_FULL_DROP_OLDEST,
                                                      RUNNEL_FULL_RELOCATE };
    uint32_t p;

    printf("bench_retention: 1 stream MAXLEN 100000 + 9 streams MAXLEN ~ 1000, round-robin, "
           "32 B entries, NOR flash (4 KiB blocks, program unit 1 B), durable, until 3x the "
           "store and 120,000 long-stream entries are written, or the ring refuses\n\n");
    printf("| store | policy | entries written | programmed / payload B | erases / MiB | "
           "wear | relocated / payload B | long stream holds / should | what it cost | "
           "seconds |\n");
    printf("|---:|---|---:|---:|---:|---|---:|---:|---|---:|\n");
    for (p = 0; p < 3; p++)
        run(4, policies[p]);
    if (!quick) {
        for (p = 0; p < 3; p++)
            run(8, policies[p]);
        for (p = 0; p < 3; p++)
            run(64, policies[p]);
    }
    return 0;
}
