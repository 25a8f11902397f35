/*
 * internal.h - the seams between core modules (not part of the public API).
 *
 * The engine has two halves:
 *   - the stream half (stream table, node index, entries in the log,
 *     trimming, key space): core/stream*.c, core/keyspace.c, ...
 *   - the group half (consumer groups, consumers, PEL, lag): core/group*.c
 * and shared utilities (arena, crc32c, little-endian, varints: core/util*.c)
 * and the log layer (core/log.c).
 *
 * struct runnel itself is defined in core/store.h (stream half), which embeds
 * struct runnel_groups from core/group.h (group half). Functions named
 * runnel__* are internal; the double underscore keeps them out of the
 * public namespace.
 *
 * Calls go one way only, each layer calling those below it
 * (tools/check-layers.sh enforces it on the object files):
 *
 *   util    util_*.c, errors.c, id.c
 *   log     log.c
 *   commit  commit.c          append, commit policy, clock, lock
 *   stream  stream_*.c, node.c, node_stub.c, trim.c, keyspace.c, reclaim.c
 *   group   group*.c
 *   engine  open.c            config, arena layout, format: wires the rest
 *           checkpoint.c      the whole state written to the log
 *           checkpoint_stub.c node runs kept on flash, and their stubs
 *           mount.c           a store opened again: checkpoint + replay
 *   resp    resp_*.c
 *   cmd     cmd*.c
 *   sync    sync*.c           the upstream forwarder (uses cmd's glob)
 *
 * Where the stream half needs something only the group half knows (drop a
 * deleted stream's groups, count them for XINFO STREAM), it calls through
 * struct runnel__stream_hooks below, which open.c fills in at format.
 */
#ifndef RUNNEL_INTERNAL_H
#define RUNNEL_INTERNAL_H

#include "runnel.h"
#include "util.h"

/* ---- arena: a bump allocator over the caller's memory (init only) ---- */
typedef struct runnel__arena {
    uint8_t *base;
    size_t size;
    size_t used;
} runnel__arena_t;

/* Returns size bytes aligned to `align` (a power of two, <= 8), zeroed, or
 * NULL when the arena is exhausted (or align is not a power of two <= 8).
 *
 * Counting mode (base == NULL), which is how runnel_arena_size() measures a
 * configuration: take() only advances `used` (by padding + size) and never
 * fails, except when `used` would overflow size_t. It then returns a non-NULL
 * placeholder that points at a read-only dummy object: callers must not
 * write through it (on the host that faults), so an init function that runs
 * in both modes tests runnel__arena_counting() before it initialises what it
 * took. In counting mode alignment padding is computed on the offset, as if
 * base were 8-byte aligned; a real buffer that is not 8-byte aligned may need
 * up to RUNNEL__ARENA_SLACK more bytes than counted. */
#define RUNNEL__ARENA_SLACK 7u
void *runnel__arena_take(runnel__arena_t *a, size_t size, size_t align);

/* True when the arena only counts (see runnel__arena_take). */
static inline bool runnel__arena_counting(const runnel__arena_t *a)
{
    return a->base == NULL;
}

/* ---- reading a record body (util_reader.c): a sticky `bad` flag is set
 * by any field that does not fit; check it once at the end ---- */
typedef struct runnel__reader {
    const uint8_t *p;
    uint32_t len, off;
    bool bad;
} runnel__reader_t;

void runnel__reader_init(runnel__reader_t *rd, const uint8_t *p, uint32_t len);
uint64_t runnel__rd_varint(runnel__reader_t *rd);
runnel_id_t runnel__rd_id(runnel__reader_t *rd);
uint8_t runnel__rd_u8(runnel__reader_t *rd);
/* The rest of the body (a name at a record's end). */
runnel_str_t runnel__rd_rest(runnel__reader_t *rd);

/* The configuration with every default applied (set by runnel_format in
 * open.c, for the command layer: the engine layers read r->cfg). */
const runnel_config_t *runnel__config(const runnel_t *r);

/* ---- commit path (commit.c), used by both halves ---- */

/* Clock: milliseconds from the port. */
uint64_t runnel__now(runnel_t *r);

/* Appends one metadata record (group create, delivery, ack, claim, ...) to
 * the log under the store's commit policy; the record types are listed in
 * FORMAT.md. May reclaim the oldest block; NOSPC when the ring is full and
 * the policy refuses (the caller must then change nothing). */
int runnel__journal(runnel_t *r, uint8_t type, const void *body, size_t len);

/* ---- stream half, used by the group half ---- */

/* Finds the stream `key` in the current database. 0 and *sidx, or
 * RUNNEL_ERR_NO_SUCH_KEY. */
int runnel__lookup(runnel_t *r, runnel_str_t key, uint32_t *sidx);

/* Creates an empty stream at `key` (XGROUP CREATE ... MKSTREAM). Journals
 * the creation and notifies RUNNEL_EV_CREATED. NAME_TOO_LONG, POOL_STREAMS. */
int runnel__create_stream(runnel_t *r, runnel_str_t key, uint32_t *sidx);

typedef struct runnel__stream_state {
    uint32_t db;
    runnel_str_t key;
    uint64_t length;
    runnel_id_t last_id;        /* last generated */
    runnel_id_t first_id;       /* first live, 0-0 when empty */
    runnel_id_t last_valid_id;  /* newest live entry, 0-0 when empty */
    runnel_id_t max_deleted;
    uint64_t entries_added;
} runnel__stream_state_t;

void runnel__stream_state(runnel_t *r, uint32_t sidx, runnel__stream_state_t *out);

/* Iterates live entries of stream sidx in [start, end], ascending or
 * descending, at most count (< 0 = all). Returns the number delivered. */
int runnel__entries(runnel_t *r, uint32_t sidx, runnel_id_t start, runnel_id_t end,
                    int64_t count, bool reverse, runnel_entry_fn fn, void *ctx);

/* As runnel__entries forward, but fn gets only each entry's ID (nfields 0,
 * no payload read): for a caller that plans by ID before it delivers. */
int runnel__entry_ids(runnel_t *r, uint32_t sidx, runnel_id_t start, runnel_id_t end,
                      int64_t count, runnel_entry_fn fn, void *ctx);

/* Delivers the live entry with exactly this ID to fn. 1 if it exists
 * (fn called), 0 if not (fn not called), negative on error. fn may be NULL
 * to test existence only. */
int runnel__entry_get(runnel_t *r, uint32_t sidx, runnel_id_t id,
                      runnel_entry_fn fn, void *ctx);

/* Reports a key-space event for stream sidx to config.notify, if set
 * (stream_table.c: the event carries the stream's name). */
void runnel__notify(runnel_t *r, uint32_t sidx, runnel_key_event_t ev);

/* ---- the stream half's calls into the group half, inverted ----
 *
 * The stream half sits below the group half, yet deleting a stream must
 * free its groups and XINFO STREAM reports how many it has. Rather than
 * call up, the stream half calls these pointers (through
 * runnel__stream_gone / runnel__stream_groups, store.h), and open.c points
 * them at the group half when it formats the store. A NULL hook means
 * nothing hangs off streams. */
struct runnel__stream_hooks {
    /* Stream sidx is being deleted (DEL, FLUSH*, RENAME over it), after its
     * deletion was journalled and before its slot is freed: free whatever
     * belongs to it. Blocked-client wake-ups are the caller's business. */
    void (*stream_gone)(runnel_t *r, uint32_t sidx);
    /* Number of consumer groups of stream sidx (XINFO STREAM). */
    uint32_t (*groups_count)(runnel_t *r, uint32_t sidx);
    /* After every mutation (commit.c): the engine's upkeep, which writes a
     * checkpoint when one is due (checkpoint.c). May be NULL. */
    void (*maintain)(runnel_t *r);
    /* Before an append of a len-byte body (commit.c): writes a checkpoint
     * first when the block switch the append needs could not reclaim
     * without one (checkpoint.c). May be NULL. */
    void (*before_append)(runnel_t *r, size_t len, const void **body);
    /* Before an append, around before_append: the RELOCATE policy copies
     * live nodes out of the blocks the append's block switch must reclaim
     * (relocate.c). NULL under the other policies. */
    void (*relocate)(runnel_t *r, size_t len, const void **body);
    /* Loads the nodes a stub stands for in its place (checkpoint_stub.c,
     * an engine file the stream half reaches only through this, from
     * node_stub.c). NULL without durability: no stub then. */
    int (*stub_load)(runnel_t *r, uint32_t nslot);
};

#endif /* RUNNEL_INTERNAL_H */
