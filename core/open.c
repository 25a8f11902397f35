/*
 * open.c - configuration defaults, carving the arena, formatting a store,
 * and the small public calls about the whole store (select, node limits,
 * stats).
 *
 * One layout function serves runnel_arena_size() and runnel_format(): the
 * arena's counting mode (base == NULL) measures exactly what the real run
 * takes, so the two can never disagree.
 *
 * Layer: this is the top of the engine. Formatting sets up every layer
 * below it (log, commit path, stream half, group half) and wires the
 * stream half's hooks to the group half (struct runnel__stream_hooks in
 * internal.h), so it may call all of them and nothing below calls it.
 * The commit path it used to hold is core/commit.c.
 */
#include <string.h>

#include "store.h"

#define DEFAULT_MAX_STREAMS 16u
#define DEFAULT_MAX_NODES 256u
#define DEFAULT_MAX_GROUPS 16u
#define DEFAULT_MAX_CONSUMERS 64u
#define DEFAULT_MAX_PENDING 1024u
#define DEFAULT_NAME_MAX 64u
#define DEFAULT_MAX_FIELDS 32u
#define DEFAULT_NODE_MAX_ENTRIES 100u
#define DEFAULT_NODE_MAX_BYTES 4096u
#define DEFAULT_NODE_ENTRIES_CAP 128u
#define DEFAULT_COMMIT_INTERVAL_MS 1000u
#define DEFAULT_NAMES_CACHE_BYTES 32u
#define DEFAULT_CHECKPOINT_BLOCKS 64u

/* Fills in every zero field and checks the rules a store relies on.
 * Returns INVAL when a rule is broken. */
static int apply_defaults(runnel_config_t *c, const runnel_config_t *in)
{
    const runnel_bd_geometry_t *g;

    if (in == NULL || in->bd == NULL || in->clock == NULL || in->clock->now_ms == NULL)
        return RUNNEL_ERR_INVAL;
    *c = *in;
    g = &c->bd->geometry;
    if (g->prog_size == 0 || g->read_size == 0 || g->block_size == 0 || g->block_count < 4 ||
        g->block_size % g->prog_size != 0 || g->block_size % g->read_size != 0)
        return RUNNEL_ERR_INVAL;
    if (c->page_size == 0) {
        uint32_t p = g->prog_size > 256u ? g->prog_size : 256u;
        c->page_size = (p + g->prog_size - 1u) / g->prog_size * g->prog_size;
    }
    if (c->page_size % g->prog_size != 0 || c->page_size > g->block_size)
        return RUNNEL_ERR_INVAL;
    if (c->max_streams == 0)
        c->max_streams = DEFAULT_MAX_STREAMS;
    if (c->max_nodes == 0)
        c->max_nodes = DEFAULT_MAX_NODES;
    if (c->max_groups == 0)
        c->max_groups = DEFAULT_MAX_GROUPS;
    if (c->max_consumers == 0)
        c->max_consumers = DEFAULT_MAX_CONSUMERS;
    if (c->max_pending == 0)
        c->max_pending = DEFAULT_MAX_PENDING;
    if (c->name_max == 0)
        c->name_max = DEFAULT_NAME_MAX;
    if (c->max_fields == 0)
        c->max_fields = DEFAULT_MAX_FIELDS;
    if (c->node_max_entries == 0)
        c->node_max_entries = DEFAULT_NODE_MAX_ENTRIES;
    if (c->node_max_bytes == 0)
        c->node_max_bytes = DEFAULT_NODE_MAX_BYTES;
    if (c->node_entries_cap == 0)
        c->node_entries_cap = c->node_max_entries > DEFAULT_NODE_ENTRIES_CAP
                                  ? c->node_max_entries
                                  : DEFAULT_NODE_ENTRIES_CAP;
    if (c->checkpoint_blocks == 0)
        c->checkpoint_blocks = DEFAULT_CHECKPOINT_BLOCKS;
    if (c->names_cache_bytes == 0)
        c->names_cache_bytes = DEFAULT_NAMES_CACHE_BYTES;
    if (c->mount_window_bytes == 0)
        c->mount_window_bytes = RUNNEL__MOUNT_WINDOW;
    if (c->databases == 0)
        c->databases = 1;
    if (c->commit_interval_ms == 0)
        c->commit_interval_ms = DEFAULT_COMMIT_INTERVAL_MS;
    if (c->node_max_entries > c->node_entries_cap || c->node_entries_cap > 65536u)
        return RUNNEL_ERR_INVAL;
    if (c->max_streams > (UINT32_MAX / 4u) || c->max_nodes > (UINT32_MAX / 4u) ||
        c->max_fields > 65536u || c->name_max > 65536u || c->names_cache_bytes > 65536u)
        return RUNNEL_ERR_INVAL;
    if ((unsigned)c->full_policy > RUNNEL_FULL_RELOCATE ||
        (unsigned)c->commit_policy > RUNNEL_COMMIT_NONE)
        return RUNNEL_ERR_INVAL;
    return 0;
}

static uint32_t hash_capacity(uint32_t streams)
{
    uint32_t cap = 8;
    while (cap < streams * 2u)
        cap <<= 1;
    return cap;
}

/* Takes every table from the arena. In counting mode (a->base == NULL) the
 * pointers are placeholders that must not be written; r is then a scratch
 * struct that only carries the configuration. */
static int layout(runnel_t *r, runnel__arena_t *a)
{
    const runnel_config_t *c = &r->cfg;
    uint32_t bs = c->bd->geometry.block_size;

    r->streams_cap = c->max_streams;
    r->hash_cap = hash_capacity(c->max_streams);
    r->nodes_cap = c->max_nodes;
    r->bitmap_bytes = (c->node_entries_cap + 7u) / 8u;
    r->scratch_cap = bs;
    /* Entry i of a node links to i - 2^k for k <= ctz(i): the largest
     * index below node_entries_cap decides how many levels XADD tracks. */
    r->link_levels = 1;
    while (r->link_levels < RUNNEL__LINKS_MAX && (1u << r->link_levels) < c->node_entries_cap)
        r->link_levels++;
    r->names_cap = c->names_cache_bytes;

    r->streams = runnel__arena_take(a, sizeof(*r->streams) * (size_t)r->streams_cap, 8);
    r->names = runnel__arena_take(a, (size_t)c->name_max * r->streams_cap, 1);
    r->hash = runnel__arena_take(a, sizeof(uint32_t) * (size_t)r->hash_cap, 4);
    r->nodes = runnel__arena_take(a, sizeof(*r->nodes) * (size_t)r->nodes_cap, 8);
    r->bitmaps = runnel__arena_take(a, (size_t)r->bitmap_bytes * r->nodes_cap, 1);
    r->node_order = runnel__arena_take(a, sizeof(uint32_t) * (size_t)r->nodes_cap, 4);
    r->node_free = runnel__arena_take(a, sizeof(uint32_t) * (size_t)r->nodes_cap, 4);
    r->scratch = runnel__arena_take(a, r->scratch_cap, 8);
    /* The node master's body for decoding ENTRY_SAME_FIELDS records (node.c):
     * a second record body, since both are needed at once. */
    r->master = runnel__arena_take(a, r->scratch_cap, 8);
    /* Mount reads each record's body here: replaying it may read other
     * records into scratch and master (mount.c). */
    r->replay = runnel__arena_take(a, r->scratch_cap, 8);
    /* Mount reads the log through a window of up to mount_window_bytes
     * (log.h): a block's records in one call rather than two per record. */
    r->mount_win_cap = bs < c->mount_window_bytes ? bs : c->mount_window_bytes;
    r->mount_win = runnel__arena_take(a, r->mount_win_cap, 8);
    r->fv = runnel__arena_take(a, sizeof(runnel_str_t) * 2u * (size_t)c->max_fields, 8);
    r->scan = runnel__arena_take(a, sizeof(*r->scan) * (size_t)c->node_entries_cap, 8);
    r->log.page = runnel__arena_take(a, c->page_size, 8);
    r->tail_links = runnel__arena_take(
        a, sizeof(runnel_pos_t) * (size_t)r->link_levels * r->streams_cap, 8);
    r->tail_names = runnel__arena_take(a, (size_t)r->names_cap * r->streams_cap, 1);
    /* A durable store keeps the head block's summary (stream_summary.c):
     * a quarter of a block at most, 64..1024 bytes (a block whose
     * summary would be longer is replayed record by record), and a run
     * per stream written between two pointers, up to RUNNEL__SUM_RUNS_MAX. */
    if (c->durable != NULL) {
        uint32_t cap = bs / 4u;
        cap = cap < 64u ? 64u : cap > 1024u ? 1024u : cap;
        r->sum.cap = cap;
        r->sum.runs_cap = r->streams_cap < RUNNEL__SUM_RUNS_MAX ? r->streams_cap
                                                                 : RUNNEL__SUM_RUNS_MAX;
        r->sum.buf = runnel__arena_take(a, cap, 8);
        r->sum.runs = runnel__arena_take(a, sizeof(*r->sum.runs) * (size_t)r->sum.runs_cap, 8);
        if (!r->sum.buf || !r->sum.runs)
            return RUNNEL_ERR_NOMEM;
        /* A node run a stub stands for is read here (checkpoint_stub.c).
         * Its bound follows from the block size alone, so that any
         * configuration mounts what another wrote: half a block, at most
         * 1 KiB. A writer whose longest descriptor does not fit it (small
         * blocks, a large node_entries_cap) writes no run. */
        r->stub_cap = bs / 2u < 1024u ? bs / 2u : 1024u;
        r->stub_buf = runnel__arena_take(a, r->stub_cap, 8);
        /* The DIR records a checkpoint may name again (checkpoint_dir.c):
         * a record names about 40 runs of at least one node each, so
         * max_nodes / 32 of them, and 16 for short ones, hold any
         * directory; one not remembered is only written again. */
        r->dirs_cap = c->max_nodes / 32u + 16u;
        r->dirs = runnel__arena_take(a, sizeof(runnel_pos_t) * (size_t)r->dirs_cap, 8);
        if (!r->stub_buf || !r->dirs)
            return RUNNEL_ERR_NOMEM;
    }
    if (!r->streams || !r->names || !r->hash || !r->nodes || !r->bitmaps || !r->node_order ||
        !r->node_free || !r->scratch || !r->master || !r->fv || !r->scan || !r->log.page ||
        !r->tail_links || !r->tail_names || !r->replay)
        return RUNNEL_ERR_NOMEM;
    return runnel__groups_init(r, a);
}

size_t runnel_arena_size(const runnel_config_t *cfg)
{
    /* Counting mode needs a runnel_t to hold the configuration; it lives on
     * the stack only for this call. */
    runnel_t tmp;
    runnel__arena_t a = {NULL, 0, 0};

    memset(&tmp, 0, sizeof(tmp));
    if (apply_defaults(&tmp.cfg, cfg) < 0)
        return 0;
    if (runnel__arena_take(&a, sizeof(runnel_t), 8) == NULL)
        return 0;
    if (layout(&tmp, &a) < 0)
        return 0;
    return a.used + 8u;  /* slack for an arena that is not 8-aligned */
}

/* Carves the arena and binds the log to the device, without touching the
 * device: what format and mount share. */
int runnel__open(runnel_t **out, const runnel_config_t *cfg)
{
    runnel_config_t c;
    runnel__arena_t a;
    runnel_t *r;
    int err;

    if (out == NULL)
        return RUNNEL_ERR_INVAL;
    *out = NULL;
    err = apply_defaults(&c, cfg);
    if (err < 0)
        return err;
    if (c.arena == NULL)
        return RUNNEL_ERR_INVAL;
    a.base = c.arena;
    a.size = c.arena_size;
    a.used = 0;
    r = runnel__arena_take(&a, sizeof(*r), 8);
    if (r == NULL)
        return RUNNEL_ERR_NOMEM;
    r->cfg = c;
    err = layout(r, &a);
    if (err < 0)
        return err;

    /* The node pool is left as the arena gives it (zero): the free stack
     * reads zero as its initial order (node.c) and a slot is set up when
     * it is allocated, so only the nodes in use are ever touched. */
    r->scan_node = RUNNEL__NONE;
    r->ckpt_pos = RUNNEL__NO_POS;
    r->ckpt_floor = RUNNEL__NO_POS;
    r->pin_floor = RUNNEL__NO_POS;
    r->cancel_slot = RUNNEL__NONE;
    r->appending_to = RUNNEL__NONE;
    /* The stream half reaches the group half only through these. */
    r->hooks.stream_gone = runnel__groups_drop_stream;
    r->hooks.groups_count = runnel__groups_count;
    if (c.durable != NULL) {
        r->hooks.maintain = c.durable->maintain;
        r->hooks.before_append = c.durable->before_append;
        r->hooks.stub_load = c.durable->stub_load;
    }
    if (c.full_policy == RUNNEL_FULL_RELOCATE)
        r->hooks.relocate = runnel__relocate_before_append;
    r->node_max_entries = c.node_max_entries;
    r->node_max_bytes = c.node_max_bytes;

    err = runnel__log_init(&r->log, c.bd, r->log.page, c.page_size, runnel__reclaim, r,
                           &r->stats);
    if (err < 0)
        return err;
    if (runnel__log_max_body(&r->log) > r->scratch_cap)
        return RUNNEL_ERR_INVAL;
    if (r->sum.buf != NULL) {
        r->log.owner.first = runnel__summary_first;
        r->log.owner.opened = runnel__summary_opened;
        r->log.owner.note = runnel__summary_note;
        r->log.owner.ctx = r;
        r->log.owner.first_type = RUNNEL_REC_BLOCK_SUMMARY;
    }
    *out = r;
    return 0;
}

int runnel_format(runnel_t **out, const runnel_config_t *cfg)
{
    runnel_t *r;
    int err = runnel__open(&r, cfg);

    if (out != NULL)
        *out = NULL;
    if (err < 0)
        return err;
    err = runnel__log_format(&r->log);
    if (err < 0)
        return err;
    runnel__summary_start(r, r->log.tail / r->log.block_size, true);
    runnel__commit_mark(r);
    *out = r;
    return 0;
}

const runnel_config_t *runnel__config(const runnel_t *r)
{
    return &r->cfg;
}

int runnel_select(runnel_t *r, uint32_t db)
{
    if (r == NULL || db >= r->cfg.databases)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    r->db = db;
    runnel__unlock(r);
    return 0;
}

uint32_t runnel_current_db(const runnel_t *r)
{
    return r->db;
}

int runnel_set_node_limits(runnel_t *r, uint32_t entries, uint32_t bytes)
{
    if (r == NULL || entries > r->cfg.node_entries_cap)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    r->node_max_entries = entries;
    r->node_max_bytes = bytes;
    runnel__unlock(r);
    return 0;
}

int runnel_set_max_entry_bytes(runnel_t *r, uint64_t bytes)
{
    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    r->cfg.max_entry_bytes = bytes;
    runnel__unlock(r);
    return 0;
}

void runnel_stats(runnel_t *r, runnel_stats_t *out)
{
    if (r == NULL || out == NULL)
        return;
    runnel__lock(r);
    *out = r->stats;
    out->block_count = r->log.block_count;
    out->blocks_used = runnel__log_blocks_used(&r->log);
    out->streams_used = r->streams_used;
    out->streams_cap = r->streams_cap;
    out->nodes_used = r->nodes_used + r->stub_extra;  /* a stub's nodes too */
    out->nodes_cap = r->nodes_cap;
    runnel__groups_stats(r, out);
    runnel__unlock(r);
}
