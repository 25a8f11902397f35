/*
 * cmd_info.c - INFO [section ...] with Redis 7.0.15's section names, line
 * format ("key:value\r\n", "# Section" headers, a blank line between
 * sections) and section selection (default, all, everything, or a list).
 *
 * Core writes what core knows: versions, uptime, command and error
 * statistics, blocked clients, the key space and the store ("# Runnel").
 * The host adds what only it knows (pid, port, memory, connections, cpu)
 * through ops->info(), which writes its lines straight into the reply.
 */
#include <string.h>

#include "cmd.h"
#include "internal.h"

#define REDIS_VERSION_TEXT "7.0.15"

enum {
    SEC_SERVER = 1u << 0,
    SEC_CLIENTS = 1u << 1,
    SEC_MEMORY = 1u << 2,
    SEC_PERSISTENCE = 1u << 3,
    SEC_STATS = 1u << 4,
    SEC_REPLICATION = 1u << 5,
    SEC_CPU = 1u << 6,
    SEC_MODULES = 1u << 7,
    SEC_ERRORSTATS = 1u << 8,
    SEC_CLUSTER = 1u << 9,
    SEC_KEYSPACE = 1u << 10,
    SEC_COMMANDSTATS = 1u << 11,
    SEC_RUNNEL = 1u << 12,
    SEC_LATENCYSTATS = 1u << 13,
    SEC_SYNC = 1u << 14
};

#define SEC_DEFAULT (SEC_SERVER | SEC_CLIENTS | SEC_MEMORY | SEC_PERSISTENCE | SEC_STATS | \
                     SEC_REPLICATION | SEC_CPU | SEC_MODULES | SEC_ERRORSTATS | SEC_CLUSTER | \
                     SEC_KEYSPACE | SEC_RUNNEL | SEC_SYNC)
#define SEC_ALL (SEC_DEFAULT | SEC_COMMANDSTATS | SEC_LATENCYSTATS)

typedef struct section_name {
    const char *name;
    unsigned bit;
} section_name_t;

static const section_name_t section_names[] = {
    {"server", SEC_SERVER},       {"clients", SEC_CLIENTS},
    {"memory", SEC_MEMORY},       {"persistence", SEC_PERSISTENCE},
    {"stats", SEC_STATS},         {"replication", SEC_REPLICATION},
    {"cpu", SEC_CPU},             {"modules", SEC_MODULES},
    {"errorstats", SEC_ERRORSTATS}, {"cluster", SEC_CLUSTER},
    {"keyspace", SEC_KEYSPACE},   {"commandstats", SEC_COMMANDSTATS},
    {"runnel", SEC_RUNNEL},       {"latencystats", SEC_LATENCYSTATS},
    {"sync", SEC_SYNC},
    {NULL, 0},
};

typedef struct info {
    runnel_cmd_t *cmd;
    runnel__text_t t;
    bool first;
} info_t;

static void put(info_t *in, const char *s)
{
    runnel__text_str(&in->t, s);
}

static void kv_u64(info_t *in, const char *key, uint64_t v)
{
    put(in, key);
    runnel__text_put(&in->t, ":", 1);
    runnel__text_u64(&in->t, v);
    runnel__text_put(&in->t, "\r\n", 2);
}

static void kv_str(info_t *in, const char *key, const char *v)
{
    put(in, key);
    runnel__text_put(&in->t, ":", 1);
    put(in, v);
    runnel__text_put(&in->t, "\r\n", 2);
}

static void header(info_t *in, const char *title)
{
    if (!in->first)
        runnel__text_put(&in->t, "\r\n", 2);
    in->first = false;
    put(in, "# ");
    put(in, title);
    runnel__text_put(&in->t, "\r\n", 2);
}

/* Lets the host write its lines for a section directly into the reply. */
static void host_lines(info_t *in, const char *section)
{
    const runnel_server_ops_t *ops = in->cmd->srv->ops;
    if (ops == NULL || ops->info == NULL)
        return;
    size_t cap;
    char *room = runnel__text_room(&in->t, &cap);
    if (room == NULL)
        return;
    size_t n = ops->info(ops->ctx, section, room, cap);
    if (n >= cap && cap != 0) {
        in->t.overflow = true;    /* the host may have been cut short */
        return;
    }
    runnel__text_commit(&in->t, n);
}

static uint64_t uptime_s(const info_t *in)
{
    const runnel_server_t *s = in->cmd->srv;
    return in->cmd->now_ms > s->start_ms ? (in->cmd->now_ms - s->start_ms) / 1000 : 0;
}

static void sec_server(info_t *in)
{
    header(in, "Server");
    kv_str(in, "redis_version", REDIS_VERSION_TEXT);
    kv_str(in, "redis_git_sha1", "00000000");
    kv_str(in, "redis_git_dirty", "0");
    kv_str(in, "redis_build_id", "0");
    kv_str(in, "redis_mode", "standalone");
    host_lines(in, "server");
    kv_u64(in, "uptime_in_seconds", uptime_s(in));
    kv_u64(in, "uptime_in_days", uptime_s(in) / 86400);
    kv_str(in, "runnel_version", RUNNEL_VERSION_STRING);
}

typedef struct count_ctx {
    uint64_t n;
} count_ctx_t;

static void count_client(void *arg, runnel_client_t *c)
{
    (void)c;
    ((count_ctx_t *)arg)->n++;
}

static void sec_clients(info_t *in)
{
    const runnel_server_t *s = in->cmd->srv;
    count_ctx_t cc = {0};
    if (s->ops != NULL && s->ops->foreach_client != NULL)
        s->ops->foreach_client(s->ops->ctx, count_client, &cc);
    else
        cc.n = 1;
    header(in, "Clients");
    kv_u64(in, "connected_clients", cc.n);
    kv_u64(in, "cluster_connections", 0);
    host_lines(in, "clients");
    kv_u64(in, "blocked_clients", s->blocked_count);
    kv_u64(in, "tracking_clients", 0);
    kv_u64(in, "clients_in_timeout_table", s->blocked_count);
}

static void sec_memory(info_t *in)
{
    header(in, "Memory");
    host_lines(in, "memory");
}

static void sec_persistence(info_t *in)
{
    header(in, "Persistence");
    kv_u64(in, "loading", 0);
    kv_u64(in, "async_loading", 0);
    host_lines(in, "persistence");
}

static void sec_stats(info_t *in)
{
    const runnel_server_t *s = in->cmd->srv;
    header(in, "Stats");
    kv_u64(in, "total_connections_received", s->total_connections);
    kv_u64(in, "total_commands_processed", s->total_commands);
    kv_u64(in, "instantaneous_ops_per_sec", 0);
    host_lines(in, "stats");
    kv_u64(in, "rejected_connections", s->rejected_connections);
    kv_u64(in, "expired_keys", 0);
    kv_u64(in, "evicted_keys", 0);
    kv_u64(in, "keyspace_hits", s->keyspace_hits);
    kv_u64(in, "keyspace_misses", s->keyspace_misses);
    kv_u64(in, "pubsub_channels", 0);
    kv_u64(in, "pubsub_patterns", 0);
    kv_u64(in, "total_error_replies", s->total_error_replies);
}

static void sec_replication(info_t *in)
{
    header(in, "Replication");
    kv_str(in, "role", "master");
    kv_u64(in, "connected_slaves", 0);
    kv_str(in, "master_failover_state", "no-failover");
    kv_str(in, "master_replid", "0000000000000000000000000000000000000000");
    kv_str(in, "master_replid2", "0000000000000000000000000000000000000000");
    kv_u64(in, "master_repl_offset", 0);
    kv_str(in, "second_repl_offset", "-1");
    kv_u64(in, "repl_backlog_active", 0);
    kv_u64(in, "repl_backlog_size", 0);
    kv_u64(in, "repl_backlog_first_byte_offset", 0);
    kv_u64(in, "repl_backlog_histlen", 0);
}

static void sec_cpu(info_t *in)
{
    header(in, "CPU");
    host_lines(in, "cpu");
}

static void sec_modules(info_t *in)
{
    header(in, "Modules");
}

/* usec_per_call with two decimals, rounded, without floating point. */
static void put_per_call(info_t *in, uint64_t usec, uint64_t calls)
{
    uint64_t hundredths = 0;
    if (calls != 0) {
        if (usec <= UINT64_MAX / 200)
            hundredths = (usec * 200 + calls) / (2 * calls);
        else
            hundredths = usec / calls * 100;
    }
    runnel__text_u64(&in->t, hundredths / 100);
    char frac[3] = {'.', (char)('0' + (hundredths / 10) % 10), (char)('0' + hundredths % 10)};
    runnel__text_put(&in->t, frac, 3);
}

/* One cmdstat line per command slot that saw any call; a subcommand slot
 * is named "<container>|<sub>" as Redis 7.0 does. */
static void sec_commandstats(info_t *in)
{
    const runnel_server_t *s = in->cmd->srv;
    header(in, "Commandstats");
    if (s->cmdstats == NULL)
        return;
    size_t n = runnel_cmd_count();
    for (size_t idx = 0; idx < n; idx++) {
        const runnel_cmd_def_t *parent = NULL;
        const runnel_cmd_def_t *d = runnel__cmd_at(idx, &parent);
        if (d == NULL)
            break;
        const runnel_cmdstat_t *st = &s->cmdstats[idx];
        if (st->calls == 0 && st->failed_calls == 0 && st->rejected_calls == 0)
            continue;
        put(in, "cmdstat_");
        if (parent != NULL) {
            put(in, parent->name);
            put(in, "|");
        }
        put(in, d->name);
        put(in, ":calls=");
        runnel__text_u64(&in->t, st->calls);
        put(in, ",usec=");
        runnel__text_u64(&in->t, st->usec);
        put(in, ",usec_per_call=");
        put_per_call(in, st->usec, st->calls);
        put(in, ",rejected_calls=");
        runnel__text_u64(&in->t, st->rejected_calls);
        put(in, ",failed_calls=");
        runnel__text_u64(&in->t, st->failed_calls);
        runnel__text_put(&in->t, "\r\n", 2);
    }
}

static void sec_errorstats(info_t *in)
{
    const runnel_server_t *s = in->cmd->srv;
    header(in, "Errorstats");
    for (size_t i = 0; i < RUNNEL_MAX_ERROR_CODES; i++) {
        if (s->error_codes[i][0] == '\0' || s->error_counts[i] == 0)
            continue;
        size_t n = 0;
        while (n < sizeof s->error_codes[i] && s->error_codes[i][n] != '\0')
            n++;
        put(in, "errorstat_");
        runnel__text_put(&in->t, s->error_codes[i], n);
        put(in, ":count=");
        runnel__text_u64(&in->t, s->error_counts[i]);
        runnel__text_put(&in->t, "\r\n", 2);
    }
}

static void sec_cluster(info_t *in)
{
    header(in, "Cluster");
    kv_u64(in, "cluster_enabled", 0);
}

static void sec_keyspace(info_t *in)
{
    runnel_t *r = in->cmd->r;
    header(in, "Keyspace");
    uint32_t saved = runnel_current_db(r);
    uint32_t dbs = runnel__config(r)->databases;
    for (uint32_t db = 0; db < dbs; db++) {
        if (runnel_select(r, db) != 0)
            break;
        uint64_t keys = runnel_dbsize(r);
        if (keys == 0)
            continue;
        put(in, "db");
        runnel__text_u64(&in->t, db);
        put(in, ":keys=");
        runnel__text_u64(&in->t, keys);
        put(in, ",expires=0,avg_ttl=0\r\n");
    }
    (void)runnel_select(r, saved);
}

static void sec_runnel(info_t *in)
{
    runnel_t *r = in->cmd->r;
    runnel_stats_t st;
    runnel_stats(r, &st);
    const runnel_config_t *cfg = runnel__config(r);
    uint64_t bsize = cfg->bd != NULL ? cfg->bd->geometry.block_size : 0;
    header(in, "Runnel");
    kv_str(in, "runnel_version", RUNNEL_VERSION_STRING);
    kv_u64(in, "runnel_format_version", RUNNEL_FORMAT_VERSION);
    kv_u64(in, "runnel_store_block_size", bsize);
    kv_u64(in, "runnel_store_blocks", st.block_count);
    kv_u64(in, "runnel_store_blocks_used", st.blocks_used);
    kv_u64(in, "runnel_store_bytes", bsize * st.block_count);
    kv_u64(in, "runnel_store_bytes_used", bsize * st.blocks_used);
    kv_u64(in, "runnel_bytes_appended", st.bytes_appended);
    kv_u64(in, "runnel_bytes_programmed", st.bytes_programmed);
    kv_u64(in, "runnel_blocks_erased", st.blocks_erased);
    kv_u64(in, "runnel_commits", st.commits);
    kv_u64(in, "runnel_dropped_entries", st.dropped_entries);
    kv_u64(in, "runnel_relocated_nodes", st.relocated_nodes);
    kv_u64(in, "runnel_relocated_entries", st.relocated_entries);
    kv_u64(in, "runnel_relocated_bytes", st.relocated_bytes);
    kv_u64(in, "runnel_node_runs_loaded", st.stub_loads);
    kv_u64(in, "runnel_node_runs_named_again", st.stub_reuses);
    kv_str(in, "runnel_full_policy",
           cfg->full_policy == RUNNEL_FULL_DROP_OLDEST ? "drop-oldest"
           : cfg->full_policy == RUNNEL_FULL_RELOCATE  ? "relocate"
                                                       : "refuse");
    kv_str(in, "runnel_commit_policy",
           cfg->commit_policy == RUNNEL_COMMIT_ALWAYS     ? "always"
           : cfg->commit_policy == RUNNEL_COMMIT_INTERVAL ? "interval"
                                                           : "none");
    kv_u64(in, "runnel_streams_used", st.streams_used);
    kv_u64(in, "runnel_streams_cap", st.streams_cap);
    kv_u64(in, "runnel_nodes_used", st.nodes_used);
    kv_u64(in, "runnel_nodes_cap", st.nodes_cap);
    kv_u64(in, "runnel_groups_used", st.groups_used);
    kv_u64(in, "runnel_groups_cap", st.groups_cap);
    kv_u64(in, "runnel_consumers_used", st.consumers_used);
    kv_u64(in, "runnel_consumers_cap", st.consumers_cap);
    kv_u64(in, "runnel_pending_used", st.pending_used);
    kv_u64(in, "runnel_pending_cap", st.pending_cap);
    host_lines(in, "runnel");
}

/* The upstream forwarder (core/sync.h) belongs to the host, which writes
 * its lines (runneld: tools/runneld/sync.c); a host without one says so. */
static void sec_sync(info_t *in)
{
    header(in, "Sync");
    size_t before = in->t.len;
    host_lines(in, "sync");
    if (in->t.len == before)
        kv_str(in, "sync_state", "off");
}

/* Which sections a list of arguments asks for (genInfoSectionDict). */
static unsigned select_sections(const runnel_cmd_t *cmd)
{
    if (cmd->argc == 1)
        return SEC_DEFAULT;
    unsigned mask = 0;
    for (int i = 1; i < cmd->argc; i++) {
        runnel_str_t a = cmd->argv[i];
        if (runnel__arg_is(a, "default")) {
            mask |= SEC_DEFAULT;
        } else if (runnel__arg_is(a, "all") || runnel__arg_is(a, "everything")) {
            mask |= SEC_ALL;
        } else {
            for (size_t k = 0; section_names[k].name != NULL; k++)
                if (runnel__arg_is(a, section_names[k].name))
                    mask |= section_names[k].bit;
        }
    }
    return mask;
}

runnel_cmd_result_t runnel__cmd_info(runnel_cmd_t *cmd)
{
    info_t in;
    in.cmd = cmd;
    in.first = true;
    unsigned mask = select_sections(cmd);
    runnel__text_begin(&in.t, cmd->w);
    if (mask & SEC_SERVER) sec_server(&in);
    if (mask & SEC_CLIENTS) sec_clients(&in);
    if (mask & SEC_MEMORY) sec_memory(&in);
    if (mask & SEC_PERSISTENCE) sec_persistence(&in);
    if (mask & SEC_STATS) sec_stats(&in);
    if (mask & SEC_REPLICATION) sec_replication(&in);
    if (mask & SEC_CPU) sec_cpu(&in);
    if (mask & SEC_MODULES) sec_modules(&in);
    if (mask & SEC_COMMANDSTATS) sec_commandstats(&in);
    if (mask & SEC_ERRORSTATS) sec_errorstats(&in);
    if (mask & SEC_LATENCYSTATS) header(&in, "Latencystats");
    if (mask & SEC_CLUSTER) sec_cluster(&in);
    if (mask & SEC_KEYSPACE) sec_keyspace(&in);
    if (mask & SEC_RUNNEL) sec_runnel(&in);
    if (mask & SEC_SYNC) sec_sync(&in);
    runnel__text_end(&in.t, true);
    return RUNNEL_CMD_DONE;
}
