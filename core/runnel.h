/*
 * runnel.h - the one public header of the runnel library.
 *
 * runnel is an embedded event log with Redis Streams semantics. All state
 * lives in memory the caller hands over at open time (the arena); the
 * library never allocates, never touches an OS, and keeps no global mutable
 * state. Stream data lives in a ring of erase blocks on a block device
 * (port/runnel_port.h): RAM, NOR flash or a file, through one code path.
 *
 * Conventions:
 *   - 0 is success, positive values are counts, negative values are
 *     RUNNEL_ERR_* codes (runnel_err.h); runnel_strerror() gives the exact
 *     Redis 7.0.15 reply text for Redis error conditions.
 *   - Strings are counted (runnel_str_t) and binary safe.
 *   - Reads hand entries to a callback; pointers inside a runnel_entry_t are
 *     valid only during that callback. A callback returning a negative value
 *     stops the read and that value is returned.
 *   - A mutation either fully applies or returns an error and changes
 *     nothing (pools are checked before anything is written).
 *   - Keys live in numbered databases (0 .. databases-1, as Redis's SELECT);
 *     runnel_select() picks the one later calls use. Firmware ignores it.
 *
 * The semantics of every call are those of the Redis command it is named
 * after; docs/redis-streams-7.0.md is the reference (docs/redis-compat.md:
 * what differs).
 */
#ifndef RUNNEL_H
#define RUNNEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "runnel_port.h"
#include "runnel_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RUNNEL_VERSION_STRING "0.1.0"
/* On-flash format version (FORMAT.md). */
#define RUNNEL_FORMAT_VERSION 5u

/* ------------------------------------------------------------------ */
/* Basic types                                                         */
/* ------------------------------------------------------------------ */

typedef struct runnel_str {
    const char *p;
    size_t len;
} runnel_str_t;

/* A stream entry ID: milliseconds and sequence, ordered as a pair. */
typedef struct runnel_id {
    uint64_t ms;
    uint64_t seq;
} runnel_id_t;

#define RUNNEL_ID_MIN ((runnel_id_t){0, 0})
#define RUNNEL_ID_MAX ((runnel_id_t){UINT64_MAX, UINT64_MAX})
/* Longest formatted ID "18446744073709551615-18446744073709551615" + NUL. */
#define RUNNEL_ID_STRLEN 42

int runnel_id_cmp(runnel_id_t a, runnel_id_t b);
/* Writes "<ms>-<seq>" and a NUL into buf (RUNNEL_ID_STRLEN bytes); returns
 * the length without the NUL. */
size_t runnel_id_format(runnel_id_t id, char *buf);

/* How an ID argument may be spelled in a given command context. */
enum runnel_id_parse_flags {
    RUNNEL_ID_STRICT = 0,          /* plain <ms>[-<seq>] only */
    RUNNEL_ID_ALLOW_MINMAX = 1u,   /* "-" = 0-0, "+" = max */
    RUNNEL_ID_MISSING_SEQ_MAX = 2u,/* "<ms>" alone means <ms>-UINT64_MAX (range ends) */
    RUNNEL_ID_ALLOW_SEQ_AUTO = 4u  /* "<ms>-*" (XADD) */
};
/* Parses an ID with Redis's rules and quirks (leading '+'/space accepted,
 * leading zeros, at most 127 bytes, ...). With ALLOW_SEQ_AUTO, "<ms>-*"
 * sets *seq_auto (may be NULL otherwise). Errors: RUNNEL_ERR_ID_INVALID. */
int runnel_id_parse(const char *s, size_t len, unsigned flags,
                    runnel_id_t *out, bool *seq_auto);
/* Range bounds as XRANGE/XREVRANGE/XPENDING/XAUTOCLAIM take them: "-", "+",
 * missing-seq defaults and the exclusive "(" prefix, already applied.
 * Errors: ID_INVALID, INVALID_START ("(max"), INVALID_END ("(0-0"). */
int runnel_id_parse_start(const char *s, size_t len, runnel_id_t *out);
int runnel_id_parse_end(const char *s, size_t len, runnel_id_t *out);

/* One entry handed to a read callback. fv holds 2*nfields strings:
 * field1, value1, field2, value2, ... in the order they were added.
 * deleted is set (and nfields is 0) only by XREADGROUP history reads and
 * XCLAIM-style replies for an ID that is pending but no longer in the
 * stream (Redis replies [id, nil] for those). */
typedef struct runnel_entry {
    runnel_id_t id;
    uint32_t nfields;
    const runnel_str_t *fv;
    bool deleted;
    /* Set for an entry larger than a store block (a spanning entry,
     * FORMAT.md "Spanning records"): it is not in RAM whole. fv[i].len is
     * every string's true length; a string that lies in the entry's first
     * block has fv[i].p set as usual, any other has fv[i].p == NULL and is
     * read piecewise with runnel_entry_value_read(). An entry that fits a
     * block never sets it and costs what it always did. */
    bool partial;
    /* For runnel_entry_value_read: the store the entry was read from,
     * where it lies (opaque), and the reader itself, set for a partial
     * entry so that code which must not link the engine (the RESP writer)
     * can call it. */
    struct runnel *store;
    uint64_t handle;
    int (*read)(const struct runnel_entry *e, uint32_t i, uint64_t off, void *buf, size_t len);
} runnel_entry_t;

typedef int (*runnel_entry_fn)(void *ctx, const runnel_entry_t *entry);

/* Copies len bytes of string i of an entry (i = 0 .. 2*nfields-1: field1,
 * value1, field2, ...) from byte off of that string into buf. For any
 * entry handed to a read callback, during that callback: a resident
 * string (fv[i].p set) is copied from RAM; a string of a partial entry is
 * read from the store, each of its flash pieces CRC-checked the first
 * time it is touched, so a caller with a small buffer streams a value of
 * any size in as many calls as it likes. Returns 0; INVAL when i, off or
 * len lie outside the string; CORRUPT (a piece does not check), IO. */
int runnel_entry_value_read(const runnel_entry_t *e, uint32_t i, uint64_t off, void *buf,
                            size_t len);

/* ------------------------------------------------------------------ */
/* Configuration (zero means default; one paragraph per field)         */
/* ------------------------------------------------------------------ */

typedef enum runnel_full_policy {
    /* The ring is full and its oldest block still holds live entries: refuse
     * the write with RUNNEL_ERR_NOSPC. Nothing already stored is lost. */
    RUNNEL_FULL_REFUSE = 0,
    /* Drop the oldest entries (whole nodes, oldest first) to make room. Each
     * dropped entry is counted (runnel_stats_t.dropped_entries and the
     * stream's own counter, shown by XINFO STREAM). */
    RUNNEL_FULL_DROP_OLDEST = 1,
    /* Copy the live entries of the oldest blocks forward, IDs, deletion
     * marks and node boundaries unchanged (invisible to clients), so that a
     * stream with long retention does not pin the ring while others are
     * trimmed. The log keeps a few blocks free for the copies (the
     * headroom, about one node); a write fails with RUNNEL_ERR_NOSPC, as
     * under REFUSE and with nothing lost, only when the copies the append
     * needs do not fit in it (README "Durable stores" gives the rule).
     * Copies are counted in runnel_stats_t.relocated_*. */
    RUNNEL_FULL_RELOCATE = 2
} runnel_full_policy_t;

typedef enum runnel_commit_policy {
    RUNNEL_COMMIT_ALWAYS = 0,   /* every mutation is committed before it returns */
    RUNNEL_COMMIT_INTERVAL = 1, /* commit when commit_interval_ms or _bytes is reached */
    RUNNEL_COMMIT_NONE = 2      /* commit only when a page fills or runnel_commit() */
} runnel_commit_policy_t;

/* Key-space events, reported synchronously through runnel_config.notify so a
 * server can wake clients blocked on a key once the current command ends. */
typedef enum runnel_key_event {
    RUNNEL_EV_XADD = 1,          /* entries were added to the stream */
    RUNNEL_EV_CREATED = 2,       /* a stream was created at the key (incl. MKSTREAM) */
    RUNNEL_EV_DELETED = 3,       /* the stream at the key was deleted/overwritten */
    RUNNEL_EV_GROUP_DESTROYED = 4
} runnel_key_event_t;

typedef struct runnel_config {
    /* Block device holding the ring of log blocks. Required. Its geometry
     * decides program/erase granularity; block_count >= 4. */
    const runnel_bd_t *bd;

    /* Clock for IDs, idle times and delivery times. Required. */
    const runnel_clock_t *clock;

    /* Optional lock taken around every public call. NULL = caller serialises. */
    const runnel_lock_t *lock;

    /* All memory the library uses: tables, indexes, write page, scratch.
     * runnel_arena_size() says how much a configuration needs. Must be
     * aligned to 8 bytes. Required. */
    void *arena;
    size_t arena_size;

    /* Size of the write page buffer, a multiple of the device's prog_size.
     * Appends collect here and are programmed when the page fills or at a
     * commit. 0 = max(prog_size, 256) rounded up to a prog_size multiple. */
    uint32_t page_size;

    /* Capacity of the stream table (keys across all databases). 0 = 16. */
    uint32_t max_streams;

    /* Capacity of the node index (stream nodes, each up to node_max_entries
     * entries, across all streams). 0 = 256. */
    uint32_t max_nodes;

    /* Capacity of the consumer-group table. 0 = 16. */
    uint32_t max_groups;

    /* Capacity of the consumer table. 0 = 64. */
    uint32_t max_consumers;

    /* Capacity of the pending-entries list, all groups together. 0 = 1024. */
    uint32_t max_pending;

    /* Longest key, group or consumer name in bytes. 0 = 64. */
    uint32_t name_max;

    /* Most field/value pairs in one entry. 0 = 32. */
    uint32_t max_fields;

    /* Redis's stream-node-max-entries: a new node starts when the tail node
     * holds this many entries (live + deleted). 0 = 100. Changeable at run
     * time with runnel_set_node_limits() up to node_entries_cap. */
    uint32_t node_max_entries;

    /* Redis's stream-node-max-bytes (listpack bytes model). 0 = 4096. */
    uint32_t node_max_bytes;

    /* Upper bound for node_max_entries over the store's life: sizes the
     * per-node deletion bitmap. 0 = max(node_max_entries, 128). */
    uint32_t node_entries_cap;

    /* RAM per stream holding the field names of its tail node's first
     * entry, so XADD can tell whether an entry repeats them (and store
     * only its values) without reading flash. Names that do not fit are
     * compared against flash instead. 0 = 32 bytes (each name costs its
     * length plus one). */
    uint32_t names_cache_bytes;

    /* RAM for mount's read window over the block it walks, so that a
     * block's records come in one device read rather than two per record.
     * The window is min(this, block_size). 0 = 4096. A board short of RAM
     * sets less (down to 1): mount then makes more, smaller reads. */
    uint32_t mount_window_bytes;

    /* &runnel_durability: the store can be opened again with
     * runnel_mount() after a restart or power cut. Checkpoints of the
     * whole state are written into the log (checkpoint.c), a few blocks
     * stay reserved for them, and the full-ring policy never gives back
     * the block of the newest one. NULL (the default while mount is being
     * completed): a store lives as long as its runnel_t, as before;
     * runnel_mount() refuses it. A pointer rather than a flag so that a
     * firmware that never mounts does not link the checkpoint code. */
    const struct runnel_durability *durable;

    /* How many blocks the log may grow past the newest checkpoint before
     * another is written (checkpoint.c): it bounds what runnel_mount()
     * replays, at the cost of writing the state again (its size grows with
     * streams, nodes and pending entries). 0 = 64; UINT32_MAX = only when
     * the ring needs the block holding the checkpoint. */
    uint32_t checkpoint_blocks;

    /* Largest entry XADD accepts: the sum of its field and value lengths
     * (Redis's totelelen). An entry larger
     * than a block is stored across blocks (FORMAT.md, "Spanning
     * records"); none may exceed the ring's usable space (the ring minus
     * the checkpoint reserve, the RELOCATE headroom and three blocks),
     * whatever this says. 0 = that bound only. Larger entries get
     * RUNNEL_ERR_ENTRY_TOO_LARGE and nothing is written. runneld sets it
     * from proto-max-bulk-len. */
    uint64_t max_entry_bytes;

    /* Number of databases (SELECT 0..n-1). 0 = 1. */
    uint32_t databases;

    /* What happens when the ring is full. */
    runnel_full_policy_t full_policy;

    /* When appends become durable (like Redis's appendfsync). */
    runnel_commit_policy_t commit_policy;
    uint32_t commit_interval_ms;     /* INTERVAL: 0 = 1000 */
    uint32_t commit_interval_bytes;  /* INTERVAL: 0 = no byte trigger */

    /* Optional key-space event sink (see runnel_key_event_t). Called from
     * inside mutations; it must not call back into the library. */
    void *notify_ctx;
    void (*notify)(void *ctx, uint32_t db, runnel_str_t key, runnel_key_event_t ev);
} runnel_config_t;

typedef struct runnel runnel_t;

/* What runnel_config_t.durable points at: the checkpoint hooks. Opaque to
 * users; take its address. */
struct runnel_durability {
    void (*maintain)(runnel_t *r);
    void (*before_append)(runnel_t *r, size_t len, const void **body);
    int (*stub_load)(runnel_t *r, uint32_t nslot);
};
extern const struct runnel_durability runnel_durability;

/* Bytes of arena a configuration needs (after defaults are applied);
 * 0 if the configuration is invalid. */
size_t runnel_arena_size(const runnel_config_t *cfg);

/* Formats the block device as an empty store and opens it. The runnel_t
 * lives inside the arena; *out points there. Errors: INVAL (a config rule is
 * broken), NOMEM (arena too small), IO. */
int runnel_format(runnel_t **out, const runnel_config_t *cfg);

/* Opens the store already on the block device: finds the log's tail and
 * head (FORMAT.md section 6), then rebuilds every stream, node, group,
 * consumer and pending entry from the newest checkpoint and the records
 * after it, so every command answers as it did before the restart or power
 * cut (everything committed is there; a torn last record is not). Never
 * writes or erases anything: a device that does not hold a store is an
 * error, and runnel_format() stays the only call that erases.
 * Errors: NOT_FORMATTED (no store on the device: blank or foreign),
 * GEOMETRY (formatted with another block size), FORMAT_VERSION (another
 * format version), CORRUPT (a record the store needs does not check),
 * NOMEM / POOL_* (the configuration is smaller than what the store holds),
 * INVAL, IO. */
int runnel_mount(runnel_t **out, const runnel_config_t *cfg);
/* (cfg->durable must be &runnel_durability, as at runnel_format: INVAL
 * else.) */

/* Makes everything appended so far durable (programs the partial page,
 * syncs the device). */
int runnel_commit(runnel_t *r);

/* Programs the partial write page without syncing the device: every record
 * appended so far has been handed to bd->prog (a file: it is in the kernel
 * and survives a crash of the process, not a power cut). A host calls it
 * before replying to writes under commit policies INTERVAL and NONE.
 * Costs padding to prog_size per call on devices with a large program
 * unit. Returns 1 when records appended since the last commit wait for a
 * sync (runnel_commit), 0 when everything is committed, or IO. */
int runnel_flush(runnel_t *r);

/* Drives time-based work (INTERVAL commits). Call from the poll loop. */
int runnel_poll(runnel_t *r);

/* Selects the database later key arguments refer to. INVAL if out of range. */
int runnel_select(runnel_t *r, uint32_t db);
uint32_t runnel_current_db(const runnel_t *r);

/* Redis's CONFIG SET stream-node-max-entries / -bytes. entries may not exceed
 * node_entries_cap (INVAL); 0 entries = no count limit (cap applies). */
int runnel_set_node_limits(runnel_t *r, uint32_t entries, uint32_t bytes);

/* runnel_config_t.max_entry_bytes at run time (runneld: CONFIG SET
 * proto-max-bulk-len). 0 = the ring bound only. */
int runnel_set_max_entry_bytes(runnel_t *r, uint64_t bytes);

/* ------------------------------------------------------------------ */
/* Stream commands                                                     */
/* ------------------------------------------------------------------ */

typedef enum runnel_trim_strategy {
    RUNNEL_TRIM_NONE = 0,
    RUNNEL_TRIM_MAXLEN = 1,
    RUNNEL_TRIM_MINID = 2
} runnel_trim_strategy_t;

typedef struct runnel_trim {
    runnel_trim_strategy_t strategy;
    bool approx;          /* '~': remove whole nodes only */
    uint64_t maxlen;      /* MAXLEN threshold */
    runnel_id_t minid;    /* MINID threshold */
    /* LIMIT (only meaningful with approx): -1 = not given (Redis default
     * 100 * node_max_entries, clamped to 10000..1000000), 0 = unlimited. */
    int64_t limit;
} runnel_trim_t;

typedef enum runnel_xadd_id_mode {
    RUNNEL_XADD_AUTO = 0,      /* "*" */
    RUNNEL_XADD_EXPLICIT = 1,  /* "<ms>-<seq>" */
    RUNNEL_XADD_SEQ_AUTO = 2   /* "<ms>-*": only id.ms is used */
} runnel_xadd_id_mode_t;

typedef struct runnel_xadd_args {
    runnel_str_t key;
    runnel_xadd_id_mode_t id_mode;
    runnel_id_t id;
    bool nomkstream;
    runnel_trim_t trim;
    const runnel_str_t *fv;  /* field1, value1, ... */
    uint32_t nfields;        /* pairs, >= 1 */
} runnel_xadd_args_t;

/* XADD. Returns 1 and the new ID, or 0 when NOMKSTREAM and the key does not
 * exist (nothing created). Errors: XADD_ID_ZERO, XADD_ID_SMALL,
 * ID_EXHAUSTED, ELEMENTS_TOO_LARGE, ENTRY_TOO_LARGE, TOO_MANY_FIELDS,
 * NAME_TOO_LONG, POOL_*, NOSPC, IO. */
int runnel_xadd(runnel_t *r, const runnel_xadd_args_t *a, runnel_id_t *out_id);

/* XRANGE / XREVRANGE over [start, end] (bounds already resolved, see
 * runnel_id_parse_start/_end). count < 0 = no limit; count == 0 returns 0
 * without calling fn. Returns the number of entries handed to fn (0 for a
 * missing key). */
int runnel_xrange(runnel_t *r, runnel_str_t key, runnel_id_t start, runnel_id_t end,
                  int64_t count, bool reverse, runnel_entry_fn fn, void *ctx);

/* XRANGE's walk by IDs only: how many entries of [start, end] an XRANGE /
 * XREVRANGE with this count would return (*n) and the ID of the last one
 * it would return (*last, in walk order), without reading any payload.
 * Returns 0 (also for a missing key: *n = 0). */
int runnel_xrange_count(runnel_t *r, runnel_str_t key, runnel_id_t start, runnel_id_t end,
                        int64_t count, bool reverse, uint64_t *n, runnel_id_t *last);

/* XLEN (0 for a missing key). */
int runnel_xlen(runnel_t *r, runnel_str_t key, uint64_t *len);

/* XDEL: *deleted = entries actually deleted (duplicates count once). */
int runnel_xdel(runnel_t *r, runnel_str_t key, const runnel_id_t *ids, size_t n,
                uint64_t *deleted);

/* XTRIM: *deleted = entries removed. Missing key: 0. */
int runnel_xtrim(runnel_t *r, runnel_str_t key, const runnel_trim_t *trim,
                 uint64_t *deleted);

typedef struct runnel_xsetid_args {
    runnel_str_t key;
    runnel_id_t last_id;
    bool has_entries_added;
    uint64_t entries_added;
    bool has_max_deleted;
    runnel_id_t max_deleted;
} runnel_xsetid_args_t;

/* XSETID. Errors: NO_SUCH_KEY, XSETID_SMALL, XSETID_ENTRIES_ADDED,
 * XSETID_MAXDELETED. */
int runnel_xsetid(runnel_t *r, const runnel_xsetid_args_t *a);

/* The non-blocking part of XREAD for one key: entries with ID > after, up to
 * count (<= 0 = no limit). Returns entries delivered; 0 when the key is
 * missing or has nothing newer (the key is then omitted from the reply). */
int runnel_xread(runnel_t *r, runnel_str_t key, runnel_id_t after, int64_t count,
                 runnel_entry_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Consumer groups                                                     */
/* ------------------------------------------------------------------ */

/* XGROUP CREATE. use_last_id = "$". entries_read = ENTRIESREAD or -1. */
int runnel_xgroup_create(runnel_t *r, runnel_str_t key, runnel_str_t group,
                         runnel_id_t id, bool use_last_id, bool mkstream,
                         int64_t entries_read);
/* XGROUP SETID. */
int runnel_xgroup_setid(runnel_t *r, runnel_str_t key, runnel_str_t group,
                        runnel_id_t id, bool use_last_id, int64_t entries_read);
/* XGROUP DESTROY: 1 destroyed, 0 no such group. */
int runnel_xgroup_destroy(runnel_t *r, runnel_str_t key, runnel_str_t group);
/* XGROUP CREATECONSUMER: 1 created, 0 existed. */
int runnel_xgroup_createconsumer(runnel_t *r, runnel_str_t key, runnel_str_t group,
                                 runnel_str_t consumer);
/* XGROUP DELCONSUMER: the deleted consumer's pending count (0 if absent). */
int runnel_xgroup_delconsumer(runnel_t *r, runnel_str_t key, runnel_str_t group,
                              runnel_str_t consumer, uint64_t *pending);

/* 1 if the key holds a stream with that group, 0 otherwise. */
int runnel_group_exists(runnel_t *r, runnel_str_t key, runnel_str_t group);

typedef struct runnel_xreadgroup_args {
    runnel_str_t key, group, consumer;
    bool new_entries;  /* ">" ; otherwise a history read after `after` */
    runnel_id_t after;
    int64_t count;     /* <= 0 = no limit */
    bool noack;
} runnel_xreadgroup_args_t;

/* XREADGROUP for one key. Returns entries delivered (history reads may
 * deliver deleted placeholders). NOGROUP_XREADGROUP if key or group is
 * missing. For ">" a return of 0 means "not served" (key omitted); a
 * history read is always served. */
int runnel_xreadgroup(runnel_t *r, const runnel_xreadgroup_args_t *a,
                      runnel_entry_fn fn, void *ctx);

/* XACK: *acked = IDs removed from the PEL. Missing key/group: 0. */
int runnel_xack(runnel_t *r, runnel_str_t key, runnel_str_t group,
                const runnel_id_t *ids, size_t n, uint64_t *acked);

typedef struct runnel_pending {
    runnel_id_t id;
    runnel_str_t consumer;
    uint64_t delivery_time_ms;  /* unix ms of the last delivery */
    uint64_t idle_ms;           /* now - delivery_time, >= 0 */
    uint64_t delivery_count;
} runnel_pending_t;
typedef int (*runnel_pending_fn)(void *ctx, const runnel_pending_t *p);
typedef int (*runnel_name_count_fn)(void *ctx, runnel_str_t name, uint64_t count);

/* XPENDING summary: total, min and max pending IDs, and per consumer with
 * >= 1 pending (name order) a call to fn. NOGROUP_KEY_OR_GROUP if missing. */
int runnel_xpending_summary(runnel_t *r, runnel_str_t key, runnel_str_t group,
                            uint64_t *total, runnel_id_t *min, runnel_id_t *max,
                            runnel_name_count_fn fn, void *ctx);

/* XPENDING extended: PEL entries in [start, end] in ID order, at most count,
 * only idle >= min_idle_ms when min_idle_ms >= 0, only `consumer` when
 * consumer.p != NULL. Returns entries delivered. */
int runnel_xpending(runnel_t *r, runnel_str_t key, runnel_str_t group,
                    runnel_id_t start, runnel_id_t end, int64_t count,
                    int64_t min_idle_ms, runnel_str_t consumer,
                    runnel_pending_fn fn, void *ctx);

typedef struct runnel_xclaim_args {
    runnel_str_t key, group, consumer;
    uint64_t min_idle_ms;
    const runnel_id_t *ids;
    size_t nids;
    bool has_idle;   int64_t idle_ms;       /* IDLE */
    bool has_time;   int64_t time_ms;       /* TIME */
    bool has_retrycount; int64_t retrycount;
    bool force;
    bool justid;
    bool has_lastid; runnel_id_t lastid;
} runnel_xclaim_args_t;

/* XCLAIM: fn gets each claimed entry (JUSTID: entries with nfields 0 and
 * deleted false). Returns the number claimed. NOGROUP_KEY_OR_GROUP. */
int runnel_xclaim(runnel_t *r, const runnel_xclaim_args_t *a,
                  runnel_entry_fn fn, void *ctx);

typedef struct runnel_xautoclaim_args {
    runnel_str_t key, group, consumer;
    uint64_t min_idle_ms;
    runnel_id_t start;
    uint64_t count;       /* >= 1 (default 100) */
    bool justid;
    /* Caller scratch for the IDs found deleted (Redis's third reply
     * element); count larger than deleted_cap gives COUNT_TOO_HIGH. */
    runnel_id_t *deleted;
    size_t deleted_cap;
} runnel_xautoclaim_args_t;

/* XAUTOCLAIM: fn gets claimed entries; *ndeleted IDs are written to
 * a->deleted; *next is the cursor (0-0 when the scan reached the end). */
int runnel_xautoclaim(runnel_t *r, const runnel_xautoclaim_args_t *a,
                      runnel_id_t *next, size_t *ndeleted,
                      runnel_entry_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Introspection (XINFO)                                               */
/* ------------------------------------------------------------------ */

typedef struct runnel_stream_info {
    uint64_t length;
    uint64_t nodes;              /* radix-tree-keys */
    runnel_id_t last_id;         /* last-generated-id */
    runnel_id_t max_deleted;     /* max-deleted-entry-id */
    uint64_t entries_added;
    runnel_id_t first_id;        /* recorded-first-entry-id */
    uint64_t groups;
    uint64_t dropped;            /* entries dropped by the full-ring policy */
} runnel_stream_info_t;

/* NO_SUCH_KEY if missing. */
int runnel_stream_info(runnel_t *r, runnel_str_t key, runnel_stream_info_t *out);

/* ------------------------------------------------------------------ */
/* Sync cursor (the forwarder's persisted position, core/stream_cursor.c) */
/* ------------------------------------------------------------------ */

/* A stream's sync cursor: engine state, journalled (log record 0x40,
 * FORMAT.md "Sync cursors"), written into every checkpoint and restored by
 * runnel_mount, so a forwarder knows after a restart where it was before it
 * connects. The cursor is a hint, never the authority: the forwarder still
 * asks the upstream for its last ID at each connect (core/sync.h), so a
 * cursor record lost in a power cut costs neither a duplicate nor a gap.
 *
 * While a stream is tracked, its entries after the cursor are its sync
 * backlog: under RUNNEL_FULL_REFUSE a write whose space only the backlog's
 * block could give is refused with RUNNEL_ERR_SYNC_BACKLOG (nothing lost);
 * under RUNNEL_FULL_DROP_OLDEST they are dropped as any other entry and
 * counted in `dropped` here. Everything is keyed on entry IDs, never on log
 * positions. XDEL and trims of backlog entries are the application's
 * choice: they leave the backlog and the forwarder counts them as skipped. */
typedef struct runnel_stream_cursor {
    bool tracked;            /* a forwarder follows this stream */
    runnel_id_t cursor;      /* the upstream is known to hold everything up to here */
    uint64_t backlog;        /* live entries after the cursor */
    uint64_t forwarded;      /* the forwarder's counters, as it last saved them */
    uint64_t skipped;
    uint64_t dropped;        /* backlog entries the full ring dropped (DROP_OLDEST) */
} runnel_stream_cursor_t;

/* The cursor of `key` in the current database (tracked false when no
 * forwarder saved one). NO_SUCH_KEY if missing. */
int runnel_stream_cursor_get(runnel_t *r, runnel_str_t key, runnel_stream_cursor_t *out);

/* Starts tracking `key` (if it was not) and records that the upstream holds
 * everything up to `cursor`, with the forwarder's counters: one record of
 * about 20-40 bytes, committed by the commit policy like any change. The
 * cursor may move back (the upstream lost entries). NO_SUCH_KEY, or the
 * append's error (NOSPC, SYNC_BACKLOG, IO): then the cursor moved in RAM
 * only, as runnel_stream_cursor_note does, and the counters did not. */
int runnel_stream_cursor_save(runnel_t *r, runnel_str_t key, runnel_id_t cursor,
                              uint64_t forwarded, uint64_t skipped);

/* Moves the cursor of a tracked `key` in RAM only (no record): what the
 * protection and the dropped count go by between saves. The next save or
 * checkpoint makes it durable; a power cut before that restores the last
 * saved one. NO_SUCH_KEY; 0 and nothing when `key` is not tracked. */
int runnel_stream_cursor_note(runnel_t *r, runnel_str_t key, runnel_id_t cursor);

/* Stops tracking `key` (its backlog is no longer protected): one record.
 * NO_SUCH_KEY; 0 when it was not tracked (nothing written). */
int runnel_stream_cursor_clear(runnel_t *r, runnel_str_t key);

/* What a key costs (MEMORY USAGE; core/group_usage.c says how it is
 * counted): its slots in the arena's pools, and its live entries' bytes in
 * the store. NO_SUCH_KEY if missing. */
typedef struct runnel_key_usage {
    uint64_t ram_bytes;
    uint64_t store_bytes;
} runnel_key_usage_t;
int runnel_key_usage(runnel_t *r, runnel_str_t key, runnel_key_usage_t *out);

typedef struct runnel_group_info {
    runnel_str_t name;
    uint64_t consumers;
    uint64_t pending;
    runnel_id_t last_id;          /* last-delivered-id */
    bool has_entries_read;        /* false -> nil */
    uint64_t entries_read;
    bool has_lag;                 /* false -> nil */
    uint64_t lag;                 /* read as int64_t: negative when ENTRIESREAD
                                     exceeds entries-added, as Redis replies */
} runnel_group_info_t;
typedef int (*runnel_group_fn)(void *ctx, const runnel_group_info_t *g);

/* XINFO GROUPS: fn per group in name order. NO_SUCH_KEY if missing. */
int runnel_groups(runnel_t *r, runnel_str_t key, runnel_group_fn fn, void *ctx);

typedef struct runnel_consumer_info {
    runnel_str_t name;
    uint64_t pending;
    uint64_t seen_time_ms;
    uint64_t idle_ms;             /* now - seen_time */
} runnel_consumer_info_t;
typedef int (*runnel_consumer_fn)(void *ctx, const runnel_consumer_info_t *c);

/* XINFO CONSUMERS: fn per consumer in name order. NO_SUCH_KEY,
 * NOGROUP_FOR_KEY. */
int runnel_consumers(runnel_t *r, runnel_str_t key, runnel_str_t group,
                     runnel_consumer_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Key space (what a Redis-compatible server needs around streams)      */
/* ------------------------------------------------------------------ */

/* 1 if the key exists in the current database, else 0. */
int runnel_exists(runnel_t *r, runnel_str_t key);
/* Deletes the stream (entries, groups, PEL). 1 if it existed. */
int runnel_del(runnel_t *r, runnel_str_t key);
/* RENAME: NO_SUCH_KEY if from is missing; to is overwritten. */
int runnel_rename(runnel_t *r, runnel_str_t from, runnel_str_t to);
/* Keys in the current database. */
uint64_t runnel_dbsize(runnel_t *r);
typedef int (*runnel_key_fn)(void *ctx, runnel_str_t key);
/* Visits keys of the current database starting at cursor; stops after
 * `count` keys (0 = all). Returns the next cursor (0 when done) in *next. */
int runnel_scan(runnel_t *r, uint64_t cursor, uint64_t count, uint64_t *next,
                runnel_key_fn fn, void *ctx);
/* FLUSHDB (current database) / FLUSHALL. */
int runnel_flushdb(runnel_t *r);
int runnel_flushall(runnel_t *r);

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

typedef struct runnel_stats {
    uint64_t bytes_appended;      /* record bytes appended to the log */
    uint64_t bytes_programmed;    /* bytes handed to bd->prog (incl. padding, headers) */
    uint64_t blocks_erased;
    uint64_t commits;
    uint64_t dropped_entries;     /* full-ring DROP_OLDEST */
    uint64_t relocated_nodes;     /* full-ring RELOCATE: nodes copied forward, */
    uint64_t relocated_entries;   /* their entries (deleted ones too), */
    uint64_t relocated_bytes;     /* and the record bytes the copies took */
    uint32_t block_count, blocks_used;
    uint32_t streams_used, streams_cap;
    uint32_t nodes_used, nodes_cap;
    uint32_t groups_used, groups_cap;
    uint32_t consumers_used, consumers_cap;
    uint32_t pending_used, pending_cap;
    /* What the last mount read from the device (bounded: a few headers
     * and the newest blocks, never the whole ring). */
    uint64_t mount_bytes_read;
    uint32_t mount_read_calls;
    /* Node runs mount left on flash (a checkpoint's CKPT_NODE_DIR) that
     * were read since, when something needed their nodes. */
    uint64_t stub_loads;
    /* Of those, runs a checkpoint named again where they were, their
     * nodes unchanged, instead of writing them anew. */
    uint64_t stub_reuses;
} runnel_stats_t;

void runnel_stats(runnel_t *r, runnel_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif /* RUNNEL_H */
