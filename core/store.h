/*
 * store.h - struct runnel (the whole state of one open store) and the seams
 * between the stream-half files.
 *
 * Everything below lives in the caller's arena, carved once by
 * runnel_format() (core/open.c). Nothing is ever allocated later, so every
 * pool has a fixed capacity and running out of one is an error that names
 * the pool (RUNNEL_ERR_POOL_*), checked before anything is changed.
 *
 * The stream half keeps indexes in RAM and payloads only in the log:
 *
 *   stream table   one slot per key: name, database, the Redis counters
 *                  (last_id, first_id, max_deleted, entries_added, length)
 *                  and our own `dropped`. Found by (db, name) through a small
 *                  open-addressing hash of slot numbers (stream_table.c).
 *
 *   node pool      Redis keeps a stream as a radix tree of listpacks
 *                  ("nodes"); node boundaries are visible to users through
 *                  XINFO radix-tree-keys, `~` trimming and LIMIT. We keep
 *                  the same nodes, but a node here is only a descriptor: ID
 *                  range, counts, the log positions of its first and last
 *                  record, a model of the listpack size Redis would have,
 *                  and a deletion bitmap (node.c).
 *
 *   node order     one array of node slots sorted by (stream slot, first
 *                  ID): a stream's nodes are contiguous and sorted, so a
 *                  read binary-searches to its first node and never scans
 *                  the log to find it.
 *
 * The group half (core/group.h) lives inside as `groups`.
 */
#ifndef RUNNEL_STORE_H
#define RUNNEL_STORE_H

#include "internal.h"
#include "util.h"
#include "log.h"
#include "group.h"

/* ---- record types of the stream half (FORMAT.md, "Entry records") ---- */
#define RUNNEL_REC_ENTRY_NODE_START 0x10u /* first entry of a node: absolute ID */
#define RUNNEL_REC_ENTRY            0x11u /* next entry of a node: ID as delta */
#define RUNNEL_REC_STREAM_CREATE    0x12u /* {slot, db, name} */
#define RUNNEL_REC_STREAM_DELETE    0x13u /* {slot} */
#define RUNNEL_REC_XDEL             0x14u /* {slot, ids...} */
#define RUNNEL_REC_TRIM             0x15u /* {slot, flags, cut id} */
#define RUNNEL_REC_XSETID           0x16u /* {slot, flags, last id, [added], [maxdel]} */
#define RUNNEL_REC_RENAME           0x17u /* {slot, new name} */
#define RUNNEL_REC_FLUSH            0x18u /* {flags, db} */
#define RUNNEL_REC_ENTRY_SAME_FIELDS 0x19u /* next entry of a node, values only:
                                               field names are the master's */
/* 0x1A was ENTRY_RESUME in format 1; format 2 links entries instead. */
#define RUNNEL_REC_ENTRY_SEQ0       0x1Bu /* 0x11 whose seq is 0 (not stored) */
#define RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0 0x1Cu /* 0x19 whose seq is 0 (not stored) */
/* RELOCATE policy (relocate.c): a node's first record copied forward (the
 * 0x10 body unchanged), and the record that moves the node to its copies. */
#define RUNNEL_REC_RELOC_MASTER     0x1Du /* as 0x10: a relocated master */
#define RUNNEL_REC_RELOC_DONE       0x1Eu /* {slot, master id, first_pos, span} */
/* A relocated copy of entry i >= 1 (format 5): the type of the entry
 * record it copies (0x11, 0x19, 0x1B, 0x1C) with this bit set, and its
 * body with links coded for the copy's place. Entry records code link 0
 * against the node's spacing (runnel__link_code), so a copy decoded as
 * another node's next entry could land on that node's last record: its
 * own type keeps a replay from mistaking it for an XADD. */
#define RUNNEL_REC_RELOC_ENTRY_BIT  0x40u

/* The entry record type a relocated copy stands for; any other type as it is. */
static inline uint8_t runnel__entry_type_base(uint8_t type)
{
    uint8_t base = (uint8_t)(type & ~RUNNEL_REC_RELOC_ENTRY_BIT);

    if ((type & RUNNEL_REC_RELOC_ENTRY_BIT) != 0 &&
        (base == RUNNEL_REC_ENTRY || base == RUNNEL_REC_ENTRY_SAME_FIELDS ||
         base == RUNNEL_REC_ENTRY_SEQ0 || base == RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0))
        return base;
    return type;
}

/* A relocated copy of a node's entry i >= 1 (0x51, 0x59, 0x5B, 0x5C). */
static inline bool runnel__is_reloc_entry_type(uint8_t type)
{
    return runnel__entry_type_base(type) != type;
}

/* A node's first record: written by XADD, or copied by RELOCATE. */
static inline bool runnel__is_master_type(uint8_t type)
{
    return type == RUNNEL_REC_ENTRY_NODE_START || type == RUNNEL_REC_RELOC_MASTER;
}

/* ---- sync cursors (FORMAT.md, "Sync cursors"; stream_cursor.c) ---- */
#define RUNNEL_REC_SYNC_CURSOR      0x40u /* {slot, flags, cursor, backlog,
                                             forwarded, skipped, dropped} */

#define RUNNEL__NONE UINT32_MAX
/* Most bytes of mount's read window (runnel__log_window). */
#define RUNNEL__MOUNT_WINDOW 4096u
/* Steps of runnel_mount counted apart (runnel_t.mount_phase_*). */
enum { RUNNEL__MOUNT_LOG, RUNNEL__MOUNT_FIND, RUNNEL__MOUNT_LOAD, RUNNEL__MOUNT_REPLAY,
       RUNNEL__MOUNT_PHASES };
#define RUNNEL__NO_POS UINT64_MAX

/* ---- checkpoint records (FORMAT.md, "Checkpoints"; checkpoint.c) ---- */
#define RUNNEL_REC_CKPT_BEGIN       0x30u /* {seq, streams, nodes} */
#define RUNNEL_REC_CKPT_STREAM      0x31u /* one stream's table entry */
#define RUNNEL_REC_CKPT_NODES       0x32u /* node descriptors (format 2's:
                                             read, no longer written) */
#define RUNNEL_REC_CKPT_NODE_RUN    0x35u /* node descriptors, delta-coded */
#define RUNNEL_REC_CKPT_PEL_RUN     0x36u /* one group's NACK_STATEs, delta-coded */
#define RUNNEL_REC_BLOCK_SUMMARY    0x37u /* what the block before did
                                             (stream_summary.c) */
#define RUNNEL_REC_CKPT_NODE_DIR    0x38u /* where runs written ahead are */
#define RUNNEL_REC_CKPT_DIR_REF     0x39u /* older CKPT_NODE_DIRs named again */
#define RUNNEL_REC_CKPT_NODE_MORE   0x3Au /* {previous part's position,
                                             descriptors}: a run's next
                                             part (checkpoint_stub.c) */
#define RUNNEL_REC_CKPT_END         0x33u /* {seq, records}: complete */
#define RUNNEL_REC_CKPT_GROUP       0x34u /* {type, body}: a group snapshot
                                             record, wrapped so that it can
                                             never pass for a journal one */

struct runnel__stream {
    runnel_id_t last_id;        /* last-generated-id */
    runnel_id_t first_id;       /* recorded-first-entry-id (0-0 when empty) */
    runnel_id_t max_deleted;    /* max-deleted-entry-id (XDEL, XSETID only) */
    runnel_id_t last_valid;     /* newest live entry (0-0 when empty): kept
                                   here because every XREAD/XREADGROUP asks */
    uint64_t entries_added;
    uint64_t length;            /* live entries */
    uint64_t dropped;           /* entries lost to the DROP_OLDEST policy */
    uint32_t db;
    uint32_t name_len;
    /* Slot of the stream's newest node, or RUNNEL__NONE: every XADD needs it,
     * so runnel__node_insert/_remove keep it instead of XADD searching. */
    uint32_t tail_node;
    /* Its nodes, a stub's run counted whole (XINFO radix-tree-keys; which
     * streams a checkpoint keeps in runs, checkpoint_stub.c). */
    uint32_t nodes;
    /* What XADD needs of the tail node to append without reading flash
     * (stream_add.c). Both are keyed by the node's first_pos (positions are
     * never reused), so a stale cache is recognised, never trusted:
     *   links  r->tail_links[sidx * link_levels + k] is the position of the
     *          node's newest entry whose index is a multiple of 2^k, valid
     *          while links_first == first_pos and links_count == count;
     *   names  the master's field names as `len:varint bytes` strings in
     *          r->tail_names[sidx * names_cap ...], valid while names_first
     *          == first_pos (names_len 0 with names_first set: too long). */
    runnel_pos_t links_first;
    runnel_pos_t names_first;
    uint32_t links_count;
    uint32_t names_len;
    uint32_t names_nfields;
    /* The forwarder's persisted position (stream_cursor.c): tracked,
     * cursor, backlog (live entries after the cursor), counters. Zeroed
     * with the slot; a RENAME keeps it. */
    runnel_stream_cursor_t sync;
    bool used;
    bool first_stale;           /* first_id needs runnel__refresh_first_id
                                   (set by the full-ring drop, which may not
                                   read the log while the log is appending) */
};

struct runnel__node {
    runnel_id_t first;          /* master ID: first entry ever added */
    runnel_id_t last;           /* entry appended last (live or deleted),
                                   Redis's "last ID" of a listpack. After an
                                   XSETID rewind it may be lower than earlier
                                   deleted entries of the node, but it is
                                   never lower than a live one */
    runnel_pos_t first_pos;     /* log position of the first record */
    runnel_pos_t last_pos;      /* log position of the newest record */
    uint32_t sidx;              /* owning stream; RUNNEL__NONE = free slot */
    uint32_t count;             /* entries added (live + deleted) */
    uint32_t live;
    uint32_t lp_rest;           /* modelled listpack bytes minus header,
                                   EOF and the master count/deleted ints */
    uint32_t fields_hash;       /* master field names, for the lp model */
    uint32_t first_size;        /* bytes of the first record (header +
                                   body): read in one call */
    runnel_pos_t read_at;       /* the log head when a journalled change
                                   last read the node's records (0: not
                                   since mount): if that was after the
                                   newest checkpoint, its replay reads them
                                   again, so their block is not given back
                                   until a newer checkpoint (reclaim.c) */
    bool unordered : 1;         /* an entry below an earlier one was
                                   appended (XSETID rewind): IDs do not
                                   rise with the index, so readers scan
                                   the node instead of seeking (node.c) */
    /* A stub (checkpoint_stub.c): a run of this stream's nodes that mount
     * left on flash, in one slot until something needs them. Its fields
     * then describe the run: first (first node's master ID), last (last
     * node's last ID), first_pos (the lowest first_pos of its nodes),
     * last_pos (the run's newest record: a CKPT_NODE_RUN, or the
     * CKPT_NODE_MORE of its last part), read_at (the highest first_pos of
     * its nodes), first_size (the body bytes of all its records), count,
     * live and lp_rest (sums over its nodes), fields_hash (how many
     * nodes), unordered (any of them is), run_parts (its records) and
     * run_origin (last_pos minus the position of its first record, its
     * floor: the blocks from there on hold it; a CKPT_NODE_RUN, or a
     * CKPT_NODE_MORE whose part before is no longer the run's). Only readers of
     * whole descriptors may see one: everything else loads it first
     * (runnel__stub_load). */
    bool stub : 1;
    /* A node loaded from a stub's run (checkpoint_stub.c): the run's
     * position, its low 32 bits, so that a checkpoint that finds the run's
     * nodes unchanged names that run again instead of writing it (the
     * fields fill the struct's padding: 88 bytes on x86-64 and Cortex-M
     * as before; reuse is decided by comparing bytes, so a stale or
     * ambiguous origin only costs the rewrite). */
    bool from_run : 1;
    bool run_reused : 1;        /* this checkpoint names the run again as
                                   it is: a loaded run's first node, or a
                                   stub whose DIR record it names again */
    bool run_grows : 1;         /* a stub this checkpoint extends with a
                                   part holding its stream's new nodes */
    bool run_inline : 1;        /* a loaded run's node before the parts
                                   this checkpoint names again: kept in
                                   its body (checkpoint_stub.c) */
    uint8_t run_parts;          /* a stub's records (1 to 16) */
    uint32_t run_origin;
};

/* Nodes a slot stands for: a stub's run, else 1 (radix-tree-keys). */
#define RUNNEL__NODE_KEYS(n) ((n)->stub ? (n)->fields_hash : 1u)

/* One entry of a node as a reader found it in the log (pos 0 = not yet:
 * no record ever lives at position 0, which is a block header). */
struct runnel__slot_entry {
    runnel_pos_t pos;
    runnel_id_t id;
    uint32_t size;              /* header + body bytes, so the entry is
                                   read whole in one call (0: unknown) */
    bool id_known;              /* pos may come from a link alone: the ID
                                   is known once the record was read */
};

/* Links per entry record at most: entry i links back to i - 2^k for
 * k = 0 .. ctz(i), and i < node_entries_cap <= 65536. */
#define RUNNEL__LINKS_MAX 17u

/* Nodes a mutation is about to remove (see reclaim.c): while its record is
 * appended, the full-ring check treats them as already gone, so XTRIM, DEL
 * and FLUSH can free a full ring under the REFUSE policy. */
struct runnel__doom {
    bool active;
    int flush;                  /* -1 none, 0 database `db`, 1 everything */
    uint32_t db;
    uint32_t sidx;              /* RUNNEL__NONE: no single stream */
    bool all;                   /* every node of sidx ... */
    uint32_t nodes;             /* ... else its first `nodes` nodes */
};

/* Block summaries (stream_summary.c, FORMAT.md "Block summaries"). */
#define RUNNEL__SUM_PTR       0x01u   /* item: a record mount reads */
#define RUNNEL__SUM_PTR_FIRST 0x02u   /* ... the block's first after the summary */
#define RUNNEL__SUM_NODE      0x10u   /* item: a node after a run of XADDs,
                                         its flags in the tag's low 4 bits */
#define RUNNEL__SUM_GROWN     0x20u   /* item: a NODE item with no flags of a
                                         stream slot < 32, the slot in the
                                         tag's low 5 bits (0x20-0x3F) */
#define RUNNEL__SUM_NEW       0x01u   /* NODE flags: the run started it */
#define RUNNEL__SUM_UNORDERED 0x02u
#define RUNNEL__SUM_FIRST     0x04u   /* the stream's first entry is here */
#define RUNNEL__SUM_ABOVE     0x08u   /* not every entry is above the cursor */
/* Most runs open at once (one per stream written since the last pointer). */
#define RUNNEL__SUM_RUNS_MAX  16u

struct runnel__sum_run {
    struct runnel__node snap;   /* the node after the run's newest entry */
    runnel_id_t first_entry;    /* the run's first entry */
    uint32_t sidx;
    uint32_t added;             /* entries in the run */
    uint32_t above;             /* ... above the stream's sync cursor */
    /* the node before the run's first entry (not is_new), what a NODE
     * item is coded against: its count, listpack bytes and last ID */
    uint32_t base_count, base_lp;
    runnel_id_t base_last;
    bool used, is_new, has_first, tracked;
};

struct runnel__summary {
    uint8_t *buf;               /* the encoded body so far (NULL: none kept) */
    uint32_t cap, len;
    struct runnel__sum_run *runs;
    uint32_t runs_cap, evict;
    uint64_t seq;               /* the block it describes */
    uint32_t pointed;           /* bytes of the records it points at */
    uint32_t last_off;          /* the last NODE item's last_off, what the
                                   next one is coded against */
    bool valid;                 /* false: no summary for this block */
    bool any;                   /* a record was appended to the block */
};

struct runnel {
    runnel_config_t cfg;        /* with every default applied */
    runnel_log_t log;
    runnel_stats_t stats;       /* log counters + dropped_entries */
    uint32_t db;                /* SELECTed database */
    uint32_t node_max_entries, node_max_bytes;  /* current (CONFIG SET) */

    /* stream table */
    struct runnel__stream *streams;
    uint8_t *names;             /* streams_cap * name_max */
    uint32_t *hash;             /* slot + 1, 0 empty, RUNNEL__NONE tombstone */
    uint32_t hash_cap, hash_tombs;
    uint32_t streams_cap, streams_used;
    uint32_t streams_free_hint;  /* no free stream slot below this one */

    /* node pool and index */
    struct runnel__node *nodes;
    uint8_t *bitmaps;           /* nodes_cap * bitmap_bytes: deletion bits */
    uint32_t bitmap_bytes;
    uint32_t *node_order;       /* nodes_used slots sorted by (sidx, first) */
    uint32_t *node_free;        /* stack of free node slots */
    uint32_t nodes_cap, nodes_used;
    uint32_t node_gen;          /* bumped whenever nodes are removed */
    /* Stubs (checkpoint_stub.c): how many slots are stubs, and the slots
     * their nodes will take beyond the one each holds now (kept free:
     * runnel__nodes_full counts them as used). */
    uint32_t stubs, stub_extra;
    uint8_t *stub_buf;          /* a CKPT_NODE_RUN body being loaded */
    uint32_t stub_cap;          /* its size, the longest run written ahead */
    runnel_pos_t stub_horizon;  /* the checkpoint being written keeps the
                                   nodes starting below it in its body */
    /* The CKPT_NODE_DIR records the newest checkpoint named (written or
     * named again): the next one names again those whose every entry
     * still holds (checkpoint_dir.c). Past dirs_cap a record is not
     * remembered, and its entries are written again. */
    runnel_pos_t *dirs;
    uint32_t dirs_n, dirs_cap;

    /* scratch */
    uint8_t *scratch;           /* one record body */
    uint32_t scratch_cap;
    /* The master (first record) of the node whose 0x19 records were last
     * decoded or of the node XADD last started: its body as written, or as
     * read back with its CRC checked. Kept apart from `scratch` so the
     * field names stay valid while later records of the node are read.
     * Keyed by log position, which is never reused (log.h). */
    uint8_t *master;            /* scratch_cap bytes */
    runnel_pos_t master_pos;
    uint32_t master_nfields;
    uint32_t master_fv_off;     /* body offset of the first field name */
    uint32_t master_len;
    bool master_valid;
    runnel_str_t *fv;           /* 2 * max_fields decoded strings */
    /* The spanning entry (stream_span.c) whose head r->master holds (it
     * then holds no node master: master_valid is false), and the string
     * runnel_entry_value_read found last in it, so a value streamed in
     * many calls is found once. */
    runnel__span_t span;
    bool span_valid;
    uint32_t span_fv_off;       /* logical offset of the first string */
    uint32_t span_str;          /* index of the string found last ... */
    uint64_t span_str_off;      /* ... and where its length varint starts */
    /* Entries of one node found so far (node.c): scan[i] for entry i,
     * filled on demand by following the records' links, so a read touches
     * only the entries it returns plus a logarithmic seek. */
    struct runnel__slot_entry *scan; /* node_entries_cap entries */
    uint32_t scan_node;         /* node slot scan[] belongs to, or NONE */
    uint32_t scan_gen;          /* node_gen when it was bound */
    uint32_t scan_hi;           /* scan[scan_hi ..] are all unset */

    /* XADD's per-stream tail caches (struct runnel__stream says how). */
    runnel_pos_t *tail_links;   /* streams_cap * link_levels */
    uint8_t *tail_names;        /* streams_cap * names_cap */
    uint32_t link_levels;       /* 1 + ctz of the largest entry index */
    uint32_t names_cap;

    struct runnel__doom doom;

    /* commit policy bookkeeping */
    uint64_t last_commit_ms;
    uint64_t bytes_at_commit;

    /* Durability (checkpoint.c, mount.c) */
    runnel_pos_t ckpt_pos;      /* BEGIN of the newest complete checkpoint,
                                   or RUNNEL__NO_POS: the reclaim policy
                                   never gives its block back */
    uint64_t ckpt_seq;          /* its number (the next one is + 1) */
    runnel_pos_t ckpt_floor;    /* its first record: the node runs written
                                   ahead of its BEGIN (checkpoint_stub.c),
                                   or the BEGIN; the reclaim policy never
                                   gives back a block from here on */
    bool replaying;             /* mount: no events, no checkpoints */
    bool in_checkpoint;         /* writing one: no nested trigger */
    bool relocating;            /* copying a node forward (relocate.c) */
    uint32_t appending_to;      /* the node XADD's record is planned for
                                   (links to its records), or NONE: not
                                   moved until the record is written */
    bool creating;              /* XADD journalled a stream's creation and
                                   not yet its first entry: no checkpoint
                                   now (it would hold the stream empty, and
                                   keep it if the entry then fails) */
    bool ckpt_due;              /* write one before the next append */
    bool ckpt_due_release;      /* ... into the reserve, then a block switch */
    bool ckpt_due_lazy;         /* ... at the next block switch (periodic) */
    uint64_t replay_debt;       /* bytes mount would read, beyond the records
                                   themselves, to replay those since the
                                   newest checkpoint: deliveries it walks
                                   again (group_read.c); past a budget a
                                   checkpoint is due (checkpoint.c) */
    uint64_t link_seals;        /* entries that opened a block where their
                                   links were planned (stream_add.c's
                                   plan; tests count them) */
    uint64_t ckpt_sized_items;  /* state_items() then (checkpoint.c) */
    uint64_t ckpt_sized_blk;    /* 1 + the head block the reserve was last
                                   sized in (checkpoint.c), 0 = never */
    uint32_t ckpt_need;         /* blocks the next checkpoint was then
                                   measured to take: the reserve beyond it
                                   is slack RELOCATE may borrow (relocate.c) */
    uint32_t ckpt_reserve_now;  /* the reserve the next checkpoint alone
                                   would need, without the runs later ones
                                   may write again: four times it is the
                                   shortest checkpoint interval */
    runnel_pos_t pin_floor;     /* lowest first_pos of a node removed after
                                   a journalled read since the newest
                                   checkpoint (its read_at goes with it, the
                                   pin must not), RUNNEL__NO_POS: none */
    uint32_t lock_depth;        /* nesting of runnel__lock (commit.c) */
    bool journalled;            /* the running API call appended a record:
                                   from then on its reads are ones a replay
                                   of that record repeats (node.c) */
    uint32_t cancel_slot;       /* mount dropped a creation cut in half;
                                   the first append records its STREAM_
                                   DELETE (commit.c), or RUNNEL__NONE */
    uint64_t mount_bytes_read, mount_read_calls, mount_records;
    /* What each step of the last mount read from the device (mount.c):
     * calls and bytes of the log's search, of finding the checkpoint, of
     * loading it, and of the records after it. */
    uint64_t mount_phase_calls[RUNNEL__MOUNT_PHASES], mount_phase_bytes[RUNNEL__MOUNT_PHASES];
    uint8_t *replay;            /* scratch_cap bytes: a record being replayed */
    uint8_t *mount_win;         /* mount's read window (log.h) */
    uint32_t mount_win_cap;

    struct runnel__summary sum; /* the head block's summary (stream_summary.c) */
    bool mount_no_summaries;    /* tests: mount replays every record */
    uint64_t mount_summaries;   /* closed blocks mount applied by summary */
    uint64_t mount_dir_refs;    /* DIR records mount read through a DIR_REF */

    struct runnel__stream_hooks hooks;  /* into the group half (internal.h) */
    struct runnel_groups groups;
};

/* ---- commit path (commit.c; runnel__now and runnel__journal are in
 * internal.h, for the group half too) ---- */
void runnel__lock(runnel_t *r);
void runnel__unlock(runnel_t *r);
/* Appends a record without committing (NOSPC, ENTRY_TOO_LARGE, IO). */
int runnel__append(runnel_t *r, uint8_t type, const void *body, size_t len,
                   runnel_pos_t *pos);
/* runnel__append of a record whose body was planned for position `at`:
 * AGAIN, with nothing appended, when the hooks before it (a checkpoint,
 * RELOCATE's copies) leave it to land elsewhere. */
int runnel__append_at(runnel_t *r, uint8_t type, const void *body, size_t len, runnel_pos_t at,
                      runnel_pos_t *pos);
/* A record just journalled will cost mount `bytes` of reads beyond its
 * own to replay (runnel_t.replay_debt): past a budget the durability hook
 * writes a checkpoint before the next append. */
void runnel__replay_debt(runnel_t *r, uint64_t bytes);
/* runnel__journal, telling where the record went (*pos). */
int runnel__journal_at(runnel_t *r, uint8_t type, const void *body, size_t len,
                       runnel_pos_t *pos);
/* Appends a record larger than a block as a spanning record (log_span.c),
 * after the same hooks as runnel__append; its body comes from src. */
int runnel__append_span(runnel_t *r, uint8_t type, uint64_t total, runnel__span_src_fn src,
                        void *ctx, runnel_pos_t *pos);
/* Appends the STREAM_DELETE of a creation mount dropped (r->cancel_slot),
 * if one is still owed; runnel__append does it before anything else. */
int runnel__append_cancel(runnel_t *r);
/* Lets the engine make room for an append of a len-byte body before it is
 * planned (a checkpoint the block switch needs; XADD calls it before it
 * plans its links, runnel__append always). */
void runnel__prepare_append(runnel_t *r, size_t len);
/* Applies the commit policy after a mutation. */
int runnel__after_mutation(runnel_t *r);
/* Restarts the commit policy's interval and byte count from now (format,
 * and every commit). */
void runnel__commit_mark(runnel_t *r);

/* ---- opening a store (open.c): arena, layout, log bound to the device;
 * format and mount (mount.c) build on it ---- */
int runnel__open(runnel_t **out, const runnel_config_t *cfg);
/* runnel_mount replaying every record, block summaries ignored (mount.c):
 * what tests compare a mount through the summaries with. */
int runnel__mount_no_summaries(runnel_t **out, const runnel_config_t *cfg);

/* ---- block summaries (stream_summary.c) ---- */
/* Starts the summary of block seq (valid false: none will be written). */
void runnel__summary_start(runnel_t *r, uint64_t seq, bool valid);
/* XADD wrote an entry of stream sidx (new_node: it started the tail node;
 * else `before` is the tail node as it was before the entry). */
void runnel__summary_entry(runnel_t *r, uint32_t sidx, bool new_node, runnel_id_t id,
                           const struct runnel__node *before);
/* The log owner's callbacks (log.h). */
void runnel__summary_note(void *ctx, uint8_t type, runnel_pos_t pos);
uint32_t runnel__summary_first(void *ctx, uint64_t closing, const uint8_t **body);
void runnel__summary_opened(void *ctx, uint64_t seq, bool summarised);
/* Records of this type are pointed at by a summary (mount reads them). */
bool runnel__summary_points_at(uint8_t type);
/* Applies one NODE item (after its tag, a RUNNEL__SUM_NODE or _GROWN one)
 * of a summary of the block at blk; *last_off is the item before's
 * last_off (0 before the first), and becomes this one's. */
int runnel__summary_apply_node(runnel_t *r, runnel__reader_t *b, runnel_pos_t blk, uint8_t tag,
                               uint32_t *last_off);

/* ---- replay of the stream half's records (stream_replay.c) ---- */
/* Applies one record of types 0x10..0x1E to RAM exactly as the command
 * that wrote it did (nothing is journalled). CORRUPT when it does not fit
 * the state (a slot that is not bound, a body that does not parse); 1 for
 * a record that changed no stream's contents (an orphan entry, a
 * relocated copy or RELOC_DONE), else 0. */
int runnel__stream_replay(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body);
/* Entry records (stream_add.c): the XADD it was; 1 for an orphan. */
int runnel__replay_entry(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body);
/* Mount: a spanning entry's node start (stream_span.c parsed it): id, its
 * field count and the listpack-model bytes of its names and values. */
int runnel__replay_span_start(runnel_t *r, runnel_pos_t pos, uint32_t slot, runnel_id_t id,
                              uint32_t nfields, uint32_t lp_names, uint32_t lp_values);

/* ---- entries larger than a block (stream_span.c) ---- */

/* Is an entry body of len bytes written as a spanning record? */
bool runnel__span_body(const runnel_t *r, uint64_t len);
/* Entry 0 of a node whose master spans blocks (first_size 0), as a
 * partial entry (runnel.h). */
int runnel__span_entry(runnel_t *r, uint32_t nslot, runnel_entry_t *e);
/* Mount: a SPAN head met by the replay. 0 applied, 1 not an entry's
 * change (pieces missing: the append was cut short; or a relocated
 * copy), or an error. */
int runnel__span_replay(runnel_t *r, const runnel__rec_t *rec);
/* XDEL of one ID, RAM only (stream_del.c): 1 deleted, 0 not there. */
int runnel__xdel_one(runnel_t *r, uint32_t sidx, runnel_id_t id);
/* The apply step of a TRIM record (trim.c). */
int runnel__trim_apply(runnel_t *r, uint32_t sidx, bool all, uint32_t nodes, runnel_id_t cut,
                       uint64_t *deleted);
/* RAM side of deleting a stream (keyspace.c). */
void runnel__stream_forget(runnel_t *r, uint32_t sidx);
/* Binds slot to (db, name) as a STREAM_CREATE record says (stream_table.c):
 * CORRUPT when the slot is taken or out of range, NAME_TOO_LONG. */
int runnel__stream_bind(runnel_t *r, uint32_t slot, uint32_t db, runnel_str_t name);
/* The full-ring policy's drop of every node starting before `end` (reclaim.c),
 * counted as dropped: what DROP_OLDEST did when the log reclaimed a block. */
int runnel__drop_before(runnel_t *r, runnel_pos_t end);
/* A node starting before `end` was read since the newest checkpoint. */
bool runnel__read_since_checkpoint(const runnel_t *r, runnel_pos_t end);

/* ---- checkpoints (checkpoint.c, engine layer) ---- */
/* Writes a checkpoint when one is due (the hooks' maintain). */
void runnel__checkpoint_maybe(runnel_t *r);
/* Writes one before an append whose block switch needs it (the hooks'
 * before_append). */
void runnel__checkpoint_before_append(runnel_t *r, size_t len, const void **body);
/* Writes one now: BEGIN, every stream, node and group, END. */
int runnel__checkpoint_write(runnel_t *r);
/* Mount: applies one record of a checkpoint being loaded (0x30..0x33 and
 * the group snapshot records between them). */
int runnel__checkpoint_load(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body);

/* The node descriptor codec (checkpoint.c) that stubs share. */
typedef struct runnel__node_base {
    bool any;
    uint32_t sidx, fields_hash;
    runnel_id_t first;
    runnel_pos_t first_pos;
    uint64_t extent, count, lp_rest;   /* last_pos - first_pos, entries */
} runnel__node_base_t;
/* What a run of descriptors decoded to without placing them (dry). */
typedef struct runnel__run_sum {
    uint32_t sidx, nodes;
    uint64_t count, live, lp_rest;
    runnel_id_t first, last;
    runnel_pos_t min_first_pos, max_first_pos;
    bool unordered, any;
} runnel__run_sum_t;
/* An ID as the descriptors code it: {ms - base.ms, seq - base.seq when
 * the ms are equal, else seq}, put at b + k (b NULL: counted), returning
 * the new length; read back (c->bad when it would be below base). */
size_t runnel__ckpt_put_id(uint8_t *b, size_t k, runnel_id_t id, runnel_id_t base);
runnel_id_t runnel__ckpt_rd_id(runnel__reader_t *c, runnel_id_t base);
/* One descriptor coded against base into b (NULL: measured only). */
size_t runnel__ckpt_node_encode(const runnel_t *r, uint32_t nslot, runnel__node_base_t *base,
                                uint8_t *b);
/* Most bytes one descriptor takes. */
size_t runnel__ckpt_node_max(const runnel_t *r);
/* A CKPT_NODE_RUN body (or a CKPT_NODE_MORE's descriptors): its nodes
 * placed, or (dry != NULL) only checked and added to *dry, which the
 * caller zeroes before a run's first record and passes on to the next. */
int runnel__ckpt_run_load(runnel_t *r, const uint8_t *body, uint32_t len,
                          runnel__run_sum_t *dry);

/* ---- stubs (checkpoint_stub.c; loading where needed: node_stub.c) ---- */
/* No free node slot for a new node (stubs' nodes count as used). */
bool runnel__nodes_full(const runnel_t *r);
/* Writes the node runs a checkpoint keeps out of its body, ahead of its
 * BEGIN; *first is the first one's position (NO_POS: none written), and
 * *records counts the runs written and the loaded ones it names again
 * unchanged (either needs a directory). */
int runnel__stub_write_runs(runnel_t *r, runnel_pos_t *first, uint32_t *records);
/* Writes the directory (checkpoint_dir.c): the DIR_REFs naming the last
 * checkpoint's DIR records that still hold, entries for the other stubs
 * and the loaded runs named again, and for the runs written from `first`,
 * whose nodes then become stubs; *floor is the lowest run named. */
int runnel__stub_write_dir(runnel_t *r, runnel_pos_t first, uint32_t *records,
                           runnel_pos_t *floor);
/* Does the checkpoint write node nslot in its body (not in a run)? Plan
 * first: it sets the horizon and loads the stubs to write again. */
bool runnel__stub_inline(const runnel_t *r, uint32_t nslot);
int runnel__stub_plan(runnel_t *r);
/* Bytes the next checkpoint (later: every checkpoint until the reserve
 * is measured again) may write for stub nslot (checkpoint.c's reserve). */
uint64_t runnel__stub_measure(const runnel_t *r, uint32_t nslot, bool later);
/* The shortest interval between periodic checkpoints, in blocks: the
 * configured one, at least four times the reserve the next one needs. */
uint64_t runnel__checkpoint_interval(const runnel_t *r);
/* Mount: the stubs a CKPT_NODE_DIR names; those of the older DIR records
 * a CKPT_DIR_REF names. */
int runnel__stub_dir_load(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body);
int runnel__stub_dir_ref_load(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body);
/* Loads a stub's nodes in its place (the first at its position): through
 * the durability hook (node_stub.c), which is runnel__stub_fault. */
int runnel__stub_load(runnel_t *r, uint32_t nslot);
int runnel__stub_fault(runnel_t *r, uint32_t nslot);
/* Loads every stub with a node starting before `end`; every stub. */
int runnel__stubs_load_below(runnel_t *r, runnel_pos_t end);
/* ... every stub among the first n node positions of stream sidx. */
int runnel__stubs_load_head(runnel_t *r, uint32_t sidx, uint32_t n);
int runnel__stubs_load_all(runnel_t *r);
/* In a walk over stream sidx's nodes at node_order position *p, a stub:
 * loads it, refreshes the range [*lo, *hi) and steps *p back one, so the
 * walk's p++ looks at its first node, which takes the stub's place. */
int runnel__stub_load_walk(runnel_t *r, uint32_t sidx, uint32_t *p, uint32_t *lo,
                           uint32_t *hi);
/* Loads the stream's tail node if it is a stub (XADD appends to it). */
int runnel__stub_tail(runnel_t *r, uint32_t sidx);

/* ---- id helpers (id.c) ---- */
runnel_id_t runnel__id_incr(runnel_id_t id, bool *overflow);
runnel_id_t runnel__id_decr(runnel_id_t id, bool *underflow);

/* ---- stream table (stream_table.c) ---- */
const uint8_t *runnel__stream_name(const runnel_t *r, uint32_t sidx);
int runnel__find(const runnel_t *r, uint32_t db, runnel_str_t key, uint32_t *sidx);
/* Takes a free slot for (db, key) in RAM only (no journal, no event). */
int runnel__stream_alloc(runnel_t *r, uint32_t db, runnel_str_t key, uint32_t *sidx);
void runnel__stream_free(runnel_t *r, uint32_t sidx);
int runnel__stream_set_name(runnel_t *r, uint32_t sidx, runnel_str_t key);
/* Journals the creation of an allocated slot. */
int runnel__journal_create(runnel_t *r, uint32_t sidx);
/* The hooks into the group half (struct runnel__stream_hooks): a stream is
 * being deleted; how many groups a stream has (0 without a hook). */
void runnel__stream_gone(runnel_t *r, uint32_t sidx);
uint32_t runnel__stream_groups(runnel_t *r, uint32_t sidx);

/* ---- nodes (node.c) ---- */
uint32_t runnel__node_alloc(runnel_t *r);     /* RUNNEL__NONE when full */
void runnel__node_insert(runnel_t *r, uint32_t nslot);  /* into node_order */
/* The node of sidx whose master ID is `first` (loaded, if a stub held it),
 * or RUNNEL__NONE, in *twin; < 0 when a stub failed to load (node.c). */
int runnel__node_twin(runnel_t *r, uint32_t sidx, runnel_id_t first, uint32_t *twin);
void runnel__node_remove(runnel_t *r, uint32_t nslot);  /* from order + free */
/* Range [*lo, *hi) in node_order of stream sidx's nodes. */
void runnel__stream_nodes(const runnel_t *r, uint32_t sidx, uint32_t *lo, uint32_t *hi);
bool runnel__node_deleted(const runnel_t *r, uint32_t nslot, uint32_t i);
void runnel__node_mark(runnel_t *r, uint32_t nslot, uint32_t i);
/* Entry i of node nslot: finds it (following links from the nearest
 * entry already found, or from the node's last) and gives its ID. */
int runnel__node_id(runnel_t *r, uint32_t nslot, uint32_t i, runnel_id_t *id);
/* Finds entries [from, to) of the node, walking down from to - 1 (an even
 * entry's links give the two below it, so about one read per two entries;
 * the odd ones' IDs come when they are read). Readers call it for the
 * entries they are about to return. */
int runnel__node_fill(runnel_t *r, uint32_t nslot, uint32_t from, uint32_t to);
/* True when entry i of the node has been found (its r->scan[i].pos is
 * set); its ID may still be unknown (a link gave the position alone). */
bool runnel__node_found(const runnel_t *r, uint32_t nslot, uint32_t i);
/* True when entry i's position and ID are both in r->scan[i]. */
bool runnel__node_id_known(const runnel_t *r, uint32_t nslot, uint32_t i);
/* The first index whose entry ID is >= id (count when none), found with a
 * logarithmic number of record reads. In an unordered node it is 0: the
 * caller's walk then compares every entry. */
int runnel__node_seek(runnel_t *r, uint32_t nslot, runnel_id_t id, uint32_t *idx);
/* Finds every entry of the node (the unordered fallback). Returns the
 * number of entries or a negative error. */
int runnel__node_scan(runnel_t *r, uint32_t nslot);
/* Decodes the front of the body of entry idx's record of node nslot (as
 * node.c's readers do): its ID, its link 0 (distance to entry idx - 1),
 * and the body offset of its fields (nfields, or the values of a same-
 * fields record). Returns 0 or CORRUPT. */
int runnel__entry_prefix(const runnel_t *r, uint32_t nslot, uint32_t idx,
                         const runnel__rec_t *rec, const uint8_t *body, runnel_id_t *id,
                         uint64_t *link0, uint32_t *body_off);
/* Reads and decodes entry i (found) of node nslot into *e (fields point
 * into r->scratch / r->fv). */
int runnel__node_entry(runnel_t *r, uint32_t nslot, uint32_t i, runnel_entry_t *e);
/* ctz(i) + 1 for i > 0: how many links entry i of a node carries. */
uint32_t runnel__node_links(uint32_t i);
/* Link k of entry i >= 1 as stored, and back (node.c says how): `span` is
 * the record's position minus its node's first position, link0 the
 * entry's link 0 (the distance, decoded first; unused for k = 0). */
uint64_t runnel__link_code(uint64_t link, uint64_t link0, uint64_t span, uint32_t i, uint32_t k);
uint64_t runnel__link_decode(uint64_t code, uint64_t link0, uint64_t span, uint32_t i, uint32_t k);
/* Makes r->master the body of the entry record just appended as the first
 * record of node nslot (its descriptor set up): the next XADDs to that node
 * compare their field names against RAM, and readers need not load it. */
void runnel__node_master_adopt(runnel_t *r, uint32_t nslot, const uint8_t *body, uint32_t len,
                               uint8_t type);
/* Modelled listpack bytes of a node (Redis's lpBytes). */
uint32_t runnel__node_lp_bytes(const struct runnel__node *n);
uint32_t runnel__lp_int_size(int64_t v);
uint32_t runnel__lp_str_size(const char *p, size_t len);
/* Removes the whole node, updating the stream's length. Returns the live
 * entries removed. */
uint64_t runnel__node_drop(runnel_t *r, uint32_t nslot);
/* Recomputes first_id of a stream from its head node. */
int runnel__refresh_first_id(runnel_t *r, uint32_t sidx);
/* first_id, refreshed first when stale. */
runnel_id_t runnel__first_id(runnel_t *r, uint32_t sidx);
/* Newest live entry of a stream (0-0 when empty), from the cache. */
int runnel__last_valid_id(runnel_t *r, uint32_t sidx, runnel_id_t *out);
/* Recomputes the cache from the nodes (after XDEL took the newest). */
int runnel__refresh_last_valid(runnel_t *r, uint32_t sidx);
/* Mount only: the node's records lie before the log's tail (the block was
 * given back after the checkpoint that lists the node, and the replay has
 * not reached the drop yet). Readers then see no entries in it: what a
 * replayed record read there at run time is gone. The checkpoint policy
 * makes this rare (ref_block); XPENDING may then miss dangling IDs of
 * entries that are dropped anyway. */
bool runnel__node_ghost(const runnel_t *r, uint32_t nslot);
/* Position in node_order of the node of stream sidx holding id (first <=
 * id <= last), loaded if a stub held it: 1 and *pos, 0 (none), or < 0. */
int runnel__node_find(runnel_t *r, uint32_t sidx, runnel_id_t id, uint32_t *pos);
/* Last position in [lo, hi) whose node has first <= id; else lo, or
 * RUNNEL__NONE when the range is empty (Redis's "<=" seek, then "^"). */
uint32_t runnel__node_seek_rev(const runnel_t *r, uint32_t lo, uint32_t hi, runnel_id_t id);
/* Position in node_order of an indexed node, or RUNNEL__NONE. */
uint32_t runnel__node_pos(const runnel_t *r, uint32_t nslot);
/* Removes every node of a stream (DEL, FLUSH). */
void runnel__stream_nodes_clear(runnel_t *r, uint32_t sidx);

/* ---- sync cursors (stream_cursor.c) ---- */
/* Keep a tracked stream's backlog (live entries after its cursor) exact as
 * entries come and go: an entry appended; an entry deleted by XDEL (was
 * live); the oldest live entries removed (trims, full-ring drops: with IDs
 * rising, the entries at or below the cursor go first, so the backlog is
 * at most the length). clip returns the backlog entries that went. */
void runnel__cursor_added(runnel_t *r, uint32_t sidx, runnel_id_t id);
void runnel__cursor_deleted(runnel_t *r, uint32_t sidx, runnel_id_t id);
uint64_t runnel__cursor_clip(runnel_t *r, uint32_t sidx);
/* Mount: applies a SYNC_CURSOR record. */
int runnel__cursor_replay(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body);
/* Checkpoint: appends one SYNC_CURSOR record per tracked stream through
 * put (the checkpoint writer, before its END; checkpoint_load applies them
 * with runnel__cursor_replay); bytes: what they take, for the reserve. */
int runnel__cursor_snapshot(runnel_t *r, int (*put)(void *ctx, uint8_t type, const void *body,
                                                    size_t len), void *ctx);
uint64_t runnel__cursor_snapshot_bytes(const runnel_t *r);

/* ---- trimming (trim.c) ---- */
/* Trims stream sidx; *deleted = entries removed. Returns 1 when anything
 * changed (a TRIM record was journalled), 0 when nothing had to go. */
int runnel__trim(runnel_t *r, uint32_t sidx, const runnel_trim_t *t, uint64_t *deleted);

/* ---- full ring (reclaim.c) ---- */
int runnel__reclaim(void *ctx, runnel_pos_t start, runnel_pos_t end);
/* The running append is about to remove node n (struct runnel__doom). */
bool runnel__node_doomed(const runnel_t *r, const struct runnel__node *n);

/* ---- RELOCATE (relocate.c) ---- */
/* Before an append of a len-byte body: copies forward the live nodes that
 * start in the blocks its block switch must reclaim (the hooks' relocate). */
void runnel__relocate_before_append(runnel_t *r, size_t len, const void **body);
/* Mount: applies a RELOC_DONE record. */
int runnel__relocate_replay(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body);
/* Appends a record while the given nodes count as gone (struct runnel__doom). */
int runnel__append_dooming(runnel_t *r, const struct runnel__doom *d, uint8_t type,
                           const void *body, size_t len);

#endif /* RUNNEL_STORE_H */
